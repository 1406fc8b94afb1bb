"""Synthetic scenario feeds with exact ground truth (``python -m replay generate``). Pure: no Kafka.

A scenario is a stream of posts in English, Persian (Arabic script) and Finglish (Persian in Latin
letters) built from templates in the spirit of the seed documents, with a diurnal cycle on Tehran time,
authors in Iran (IR) and elsewhere, and *episodes* injected at known times:

* ``filtering`` (``term:<t>``, region IR): IR posts containing the term are dropped inside the window;
  other IR posts and the term elsewhere go on. A few IR posts slip through with an evasion spelling
  (``d3mocracy``, ``дemocracy``, ``de.mocracy``) that no longer contains the term.
* ``outage`` (``*``, region IR): IR volume drops to a few per cent (SMS/Internet cut).
* ``surge``: overall volume ×k (``*``), a hashtag's share jumps (``term:#tag``), or a category's
  volume ×k (``category:<c>``); region null, every region alike.

Decoys must raise nothing and are listed apart from the episodes: a term fading everywhere alike
(``fade``) and a slow overall ``trend``.

Arrivals are a Poisson process whose rate is constant within each UTC minute; episodes start and end
on whole minutes, so every effect is exact inside its window ``[start, end)`` and absent outside.
Everything is deterministic given the scenario, seed, hours, rate and start.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any

import orjson

from feed.model import Post, format_ts, parse_ts
from feed.taxonomy import ALERT_TYPES, CATEGORIES

TEHRAN_OFFSET_S = 4 * 3600 + 30 * 60  # Iran Standard Time, UTC+04:30 (no DST in June 2009)
JUNE_12_2009 = 1244764800.0  # 2009-06-12T00:00:00Z, election day

LANGS = ("en", "fa", "fa-Latn")
EN, FA, FL = 0, 1, 2
EPISODE_TYPES = ALERT_TYPES  # an injected episode is what detection should raise
DECOY_TYPES = ("fade", "trend")
MIN_EPISODE_S = 10 * 60
TABLE = 8192  # size of the lookup tables used to draw weighted choices with one random()
EVASION_SHARE = 0.03  # share of would-be-filtered IR posts that slip through with an evasion spelling

# ---------------------------------------------------------------------------------------------------
# Terms: how the generator decides that a text contains a watchlist term (deliberately broad, so
# anything a detector could count as the term is suppressed during filtering).

WORD_TERMS: dict[str, tuple[str, ...]] = {
    "mousavi": ("mousavi", "moussavi", "mossavi", "moosavi", "musavi", "موسوی"),
    "ahmadinejad": (
        "ahmadinejad",
        "ahmadi-nejad",
        "ahmadi nejad",
        "ahmadinezhad",
        "احمدی‌نژاد",
        "احمدی نژاد",
        "احمدینژاد",
    ),
    "democracy": ("democra", "demokra", "دموکرا", "دمکرا"),
    "violence": ("violen", "خشونت", "khoshoonat", "khoshunat"),
    "unrest": ("unrest", "ناآرام", "نا آرام", "naaram", "na-aram"),
    "khamenei": ("khamenei", "khameneyi", "خامنه"),
    "basij": ("basij", "بسیج"),
}
CORE_HASHTAGS = ("#iranelection", "#gr88", "#tehran", "#neda", "#iran")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def term_pattern(term: str) -> re.Pattern[str]:
    """A regex over lower-cased text: word terms match any listed spelling, hashtags as whole tokens."""
    if term.startswith("#"):
        return re.compile(r"(?<![\w#])" + re.escape(term.lower()) + r"(?!\w)")
    try:
        spellings = WORD_TERMS[term]
    except KeyError:
        raise ValueError(f"unknown term {term!r}; known: {', '.join(WORD_TERMS)} or any #hashtag") from None
    return re.compile("|".join(re.escape(s) for s in spellings))


# ---------------------------------------------------------------------------------------------------
# Vocabulary: slot fillers per language (index EN, FA, FL) and templates per category and language.

_FILL: dict[str, tuple[Sequence[str], Sequence[str], Sequence[str]]] = {
    "M": (
        ["Mousavi"] * 5 + ["Moussavi"] * 2 + ["Mossavi", "Moosavi", "Musavi", "Mir Hossein Mousavi"],
        ["موسوی"] * 4 + ["میرحسین موسوی", "میر حسین موسوی"],
        ["mousavi"] * 3 + ["Mousavi", "moosavi", "musavi", "mir hossein mousavi"],
    ),
    "A": (
        ["Ahmadinejad"] * 5 + ["Ahmadi-Nejad", "President Ahmadinejad"],
        ["احمدی‌نژاد"] * 4 + ["احمدی نژاد"],
        ["ahmadinejad"] * 3 + ["Ahmadinejad", "ahmadi nejad"],
    ),
    "K": (
        ["Khamenei", "Khamenei", "Ayatollah Khamenei", "Supreme Leader Khamenei"],
        ["خامنه‌ای", "خامنه‌ای", "آیت‌الله خامنه‌ای"],
        ["khamenei", "khamenei", "khameneyi"],
    ),
    "B": (
        ["Basij", "Basij", "basijis", "Basij militia"],
        ["بسیج", "بسیجی‌ها", "نیروهای بسیج"],
        ["basij", "basijia", "basiji ha"],
    ),
    "D": (
        ["democracy", "democracy", "democracy", "freedom and democracy"],
        ["دموکراسی"],
        ["demokrasi", "demokrasi", "democracy"],
    ),
    "V": (["violence"], ["خشونت"], ["khoshoonat", "khoshunat"]),
    "U": (["unrest"], ["ناآرامی", "ناآرامی‌ها"], ["naarami", "na-arami"]),
    "P": (
        [
            "Azadi Square",
            "Enghelab Square",
            "Vanak Square",
            "Haft-e Tir Square",
            "Baharestan Square",
            "Tehran University",
            "Valiasr Square",
            "Imam Hossein Square",
            "Ferdowsi Square",
            "Tajrish",
        ],
        [
            "میدان آزادی",
            "میدان انقلاب",
            "میدان ونک",
            "میدان هفت تیر",
            "میدان بهارستان",
            "دانشگاه تهران",
            "میدان ولیعصر",
            "میدان امام حسین",
            "میدان فردوسی",
            "تجریش",
        ],
        [
            "meydan azadi",
            "meydane enghelab",
            "vanak",
            "haft-e tir",
            "baharestan",
            "daneshgah tehran",
            "valiasr",
            "meydan imam hossein",
            "ferdowsi",
            "tajrish",
        ],
    ),
    "S": (
        [
            "Valiasr Street",
            "Enghelab Street",
            "Keshavarz Boulevard",
            "Azadi Street",
            "Jomhouri Street",
            "Karegar Street",
            "Fatemi Street",
        ],
        ["خیابان ولیعصر", "خیابان انقلاب", "بلوار کشاورز", "خیابان آزادی", "خیابان جمهوری", "خیابان کارگر"],
        ["kheyaboon valiasr", "kheyaboone enghelab", "keshavarz", "kheyaboon azadi", "jomhouri", "karegar"],
    ),
    "C": (
        [
            "Tehran",
            "Tehran",
            "Shiraz",
            "Isfahan",
            "Tabriz",
            "Mashhad",
            "Rasht",
            "Ahvaz",
            "Kermanshah",
            "Qazvin",
        ],
        ["تهران", "تهران", "شیراز", "اصفهان", "تبریز", "مشهد", "رشت", "اهواز", "کرمانشاه", "قزوین"],
        [
            "tehran",
            "tehran",
            "shiraz",
            "esfahan",
            "tabriz",
            "mashhad",
            "rasht",
            "ahvaz",
            "kermanshah",
            "qazvin",
        ],
    ),
    "W": (
        [
            "London",
            "Berlin",
            "Toronto",
            "Paris",
            "Los Angeles",
            "New York",
            "Washington",
            "Hamburg",
            "Stockholm",
            "Amsterdam",
            "Vancouver",
            "Sydney",
        ],
        ["لندن", "برلین", "تورنتو", "پاریس", "لس‌آنجلس", "نیویورک", "واشنگتن", "هامبورگ", "استکهلم"],
        ["london", "berlin", "toronto", "paris", "LA", "new york", "washington", "hamburg", "stockholm"],
    ),
    "H": (
        [
            "Rasoul Akram hospital",
            "Sina hospital",
            "Imam Khomeini hospital",
            "Shohada hospital",
            "Loghman hospital",
            "Taleghani hospital",
            "Firouzgar hospital",
        ],
        [
            "بیمارستان رسول اکرم",
            "بیمارستان سینا",
            "بیمارستان امام خمینی",
            "بیمارستان شهدا",
            "بیمارستان لقمان",
            "بیمارستان طالقانی",
        ],
        [
            "bimarestan rasool akram",
            "bimarestan sina",
            "bimarestan emam khomeini",
            "bimarestan shohada",
            "bimarestan loghman",
            "bimarestan taleghani",
        ],
    ),
    "T": (
        ["5pm", "4pm today", "tomorrow 4pm", "tonight 9pm", "Thursday 5pm", "Saturday 4pm", "tomorrow noon"],
        ["ساعت ۵ عصر", "امروز ساعت ۴", "فردا ساعت ۴", "امشب ساعت ۹", "پنجشنبه ساعت ۵", "فردا ظهر"],
        ["saat 5 asr", "emrooz saat 4", "farda saat 4", "emshab saat 9", "panjshanbe saat 5", "farda zohr"],
    ),
    "SITE": (
        ["facebook", "youtube", "twitter", "gmail", "bbcpersian.com", "balatarin", "his website"],
        ["فیسبوک", "یوتیوب", "توییتر", "جیمیل", "بی‌بی‌سی فارسی", "بالاترین"],
        ["facebook", "youtube", "twitter", "gmail", "bbc farsi", "balatarin"],
    ),
    "PCT": (["62.6", "63", "62.63", "64"], ["۶۲٫۶", "۶۳", "۶۲٫۶۳"], ["62.6", "63", "62.63"]),
}
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

_TEMPLATES: dict[str, tuple[Sequence[str], Sequence[str], Sequence[str]]] = {
    "protest": (
        [
            "Huge crowd marching from {P} to {P2} right now, silent, almost everyone in green",
            "Rally at {P} {T}. Spread the word. Wear green for {M}",
            "Thousands on {S} chanting 'where is my vote?'",
            "People on rooftops shouting Allahu Akbar again tonight, the whole neighbourhood in {C}",
            "{M} supporters gathering at {P}, police watching but not moving yet",
            "We want {D}, not a stolen election. Marching to {P} {T}",
            "Students at Tehran University refuse to leave, the sit-in continues",
            "Protest confirmed for {T} at {P}, bring water and cover your face",
            "'Death to the dictator' at {P}, the crowd is bigger than yesterday",
            "{M} spoke to the crowd at {P}: we will not give up our vote",
            "Silent march from {P} to {P2}. Millions. This is what {D} looks like",
            "General strike called for {T}, shops closed on {S}",
        ],
        [
            "تجمع بزرگ در {P} {T}، همه با لباس سبز بیایید",
            "راهپیمایی سکوت از {P} تا {P2}، جمعیت خیلی زیاد است",
            "امشب دوباره صدای الله اکبر از پشت بام‌ها در {C}",
            "هواداران {M} در {P} جمع شده‌اند، پلیس فعلا کاری نمی‌کند",
            "رای من کو؟ {T} در {P}",
            "ما {D} می‌خواهیم، نه تقلب. {T} در {P}",
            "دانشجوها در دانشگاه تهران تحصن کرده‌اند",
            "شعار مرگ بر دیکتاتور در {P}، جمعیت از دیروز بیشتر است",
            "{M} در {P} برای مردم صحبت کرد: از رای خود نمی‌گذریم",
            "اعتصاب عمومی {T}، مغازه‌های {S} بسته‌اند",
        ],
        [
            "tajamo dar {P} {T}, hame ba lebas sabz biayid",
            "rahpeymayi sokoot az {P} ta {P2}, jamiat kheili ziade",
            "emshab dobare allaho akbar az posht bamha too {C}",
            "tarafdaraye {M} too {P} jam shodan, police kari nemikone",
            "raye man koo? {T} {P}",
            "ma {D} mikhaym, na taghalob. {T} {P}",
            "daneshjooha too daneshgah tehran tahason kardan",
            "shoare marg bar dictator too {P}, jamiat az dirooz bishtare",
            "{M} too {P} sohbat kard: az rayemoon nemigozarim",
        ],
    ),
    "violence": (
        [
            "{B} on motorbikes attacking people with batons near {P}",
            "Shots fired at {P}, people running. This {V} must stop",
            "Tear gas everywhere on {S}, my eyes are burning",
            "Riot police beating women near {P}, I saw it with my own eyes",
            "{B} raided the dorms at Tehran University last night, students beaten",
            "Reports of gunfire near the {B} base at {P}. Stay away from there",
            "They are using clubs and chains. Pure {V} against unarmed people",
            "Clashes in {C}, {U} spreading, {B} everywhere",
            "Plainclothes men with knives on {S}, people beaten in the street",
            "Bastards just attacked us for no reason, lost count of the tear gas they fired",
        ],
        [
            "{B} با موتور و باتوم به مردم در {P} حمله کردند",
            "صدای تیراندازی از {P}، مردم در حال فرارند. این {V} باید تمام شود",
            "گاز اشک‌آور در {S}، چشم‌هایم می‌سوزد",
            "پلیس ضد شورش زن‌ها را نزدیک {P} کتک می‌زند، با چشم خودم دیدم",
            "حمله {B} به کوی دانشگاه، دانشجوها را زدند",
            "{V} علیه مردم بی‌دفاع با چماق و زنجیر",
            "درگیری در {C}، {U} گسترش پیدا کرده",
            "لباس شخصی‌ها با چاقو در {S} به مردم حمله کردند",
        ],
        [
            "{B} ba motor o batom be mardom too {P} hamle kardan",
            "sedaye tir az {P}, mardom daran farar mikonan. in {V} bayad tamoom beshe",
            "gaz ashkavar too {S}, cheshmam misooze",
            "police zede shooresh zanha ro nazdike {P} mizane, ba cheshme khodam didam",
            "hamleye {B} be kooye daneshgah, daneshjooha ro zadan",
            "dargiri too {C}, {U} bishtar shode",
            "{V} alayhe mardome bidefa ba chomagh o zanjir",
        ],
    ),
    "arrest": (
        [
            "My friend says more than {N} students arrested, can't confirm but the numbers are high",
            "{N} people detained at {P} today, taken to Evin",
            "Plainclothes agents arresting anyone with a camera near {P}",
            "They took my cousin from his home at 3am. No news since",
            "Several arrests today after tracking thru twitter proxies",
            "Journalists arrested in {C}, {N} so far. Reformist leaders detained",
            "{M} aides arrested overnight, his office raided",
            "Lists of names at Evin, families waiting outside for news of the detained",
            "Mass arrests on {S}: they are loading people into buses",
        ],
        [
            "بیش از {N} دانشجو بازداشت شدند، هنوز تایید نشده ولی تعداد زیاد است",
            "{N} نفر در {P} دستگیر شدند و به اوین منتقل شدند",
            "لباس شخصی‌ها هر کسی را که دوربین دارد در {P} دستگیر می‌کنند",
            "پسرعمویم را ساعت ۳ صبح از خانه بردند، هیچ خبری نیست",
            "امروز چند نفر را از طریق پروکسی‌های توییتر ردیابی و بازداشت کردند",
            "روزنامه‌نگاران در {C} بازداشت شدند، تا حالا {N} نفر",
            "چند نفر از نزدیکان {M} شب گذشته بازداشت شدند",
            "خانواده‌ها جلوی اوین منتظر خبر از بازداشتی‌ها هستند",
        ],
        [
            "bish az {N} daneshjoo bazdasht shodan, hanooz ta'id nashode",
            "{N} nafar too {P} dastgir shodan, bordanshoon evin",
            "lebas shakhsiha har kasi doorbin dare ro too {P} migiran",
            "pesar amoomo saat 3 sob az khoone bordan, hich khabari nist",
            "roznamenegara too {C} bazdasht shodan, ta hala {N} nafar",
            "chand nafar az nazdikane {M} dishab bazdasht shodan",
        ],
    ),
    "medical": (
        [
            "URGENT: need doctors at {H}, many wounded",
            "{H} asking for blood donors, type O negative, please go now",
            "We have students in urgent need of medical attention, doctors please come, don't leave us",
            "Wounded protesters afraid to go to hospitals, security forces taking names at {H}",
            "Doctors: treat the injured at home if you can, hospitals are being watched",
            "Any nurses near {P}? People injured by tear gas and batons",
            "{H} emergency room full, {N} injured brought in tonight",
            "Need a doctor on {S}, a young man shot in the leg, bleeding badly",
            "Medical volunteers: bandages and saline needed at {H}",
        ],
        [
            "فوری: در {H} به پزشک نیاز داریم، زخمی‌ها زیادند",
            "{H} به خون نیاز دارد، گروه خونی O منفی، لطفا بروید",
            "دانشجوهای زخمی فوری به کمک پزشکی نیاز دارند، ما را تنها نگذارید",
            "زخمی‌ها از رفتن به بیمارستان می‌ترسند، ماموران در {H} اسم می‌نویسند",
            "پزشکان: اگر می‌توانید زخمی‌ها را در خانه درمان کنید، بیمارستان‌ها زیر نظرند",
            "پرستار یا پزشک نزدیک {P} هست؟ چند نفر زخمی شده‌اند",
            "اورژانس {H} پر است، امشب {N} زخمی آوردند",
        ],
        [
            "fori: too {H} doctor lazem darim, zakhmi ziade",
            "{H} khoon lazem dare, O manfi, lotfan berid",
            "daneshjooye zakhmi fori komake pezeshki mikhan, ma ro tanha nazarid",
            "zakhmiha mitarsan beran bimarestan, mamoora too {H} esm minevisan",
            "kasi doctor ya parastar nazdike {P} hast? chand nafar zakhmi shodan",
            "orjanse {H} pore, emshab {N} ta zakhmi avordan",
        ],
    ),
    "censorship": (
        [
            "Internet very slow in {C}, facebook and youtube blocked since this morning",
            "SMS cut off again across the country, mobile lines down",
            "They filter words like {V}, {U} and {D}, posts just disappear",
            "BBC Persian jammed, satellite dishes being taken down from rooftops",
            "Websites of {M} blocked, can't reach {SITE}",
            "Iran has ordered people to remove all material that could 'create tension' from Twitter",
            "Foreign journalists banned from covering the demonstrations",
            "Gmail and {SITE} unreachable in {C}, only state sites load",
            "Censors are filtering posts that mention {M}",
        ],
        [
            "اینترنت در {C} خیلی کند است، فیسبوک و یوتیوب از صبح فیلتر شده",
            "پیامک دوباره در کل کشور قطع شد، موبایل‌ها هم کار نمی‌کنند",
            "کلماتی مثل {V} و {U} و {D} را فیلتر می‌کنند، پست‌ها ناپدید می‌شوند",
            "بی‌بی‌سی فارسی پارازیت دارد، ماهواره‌ها را از پشت بام‌ها جمع می‌کنند",
            "سایت {M} فیلتر شد، {SITE} باز نمی‌شود",
            "خبرنگاران خارجی اجازه پوشش تظاهرات را ندارند",
            "هر پستی که اسم {M} در آن باشد فیلتر می‌شود",
        ],
        [
            "internet too {C} kheili kond shode, facebook o youtube filter shodan",
            "SMS dobare ghat shod, mobile ham kar nemikone",
            "kalamati mesle {V} o {U} o {D} ro filter mikonan",
            "BBC farsi parazit dare, mahvareha ro az posht bamha jam mikonan",
            "site {M} filter shod, {SITE} baz nemishe",
            "har posti ke esme {M} toosh bashe filter mishe",
        ],
    ),
    "circumvention": (
        [
            "New proxy for Iran: {IP}, DM only, do not tweet it publicly",
            "Tor works in {C}, use it. Bridges help when the relays are blocked",
            "Set your location to Tehran and your time zone to +0330 to protect Iranian tweeters",
            "GO BACK & DELETE ALL PAST TWEETS that may have Iran usernames",
            "Freegate works again, try it if {SITE} is blocked",
            "Don't publish proxy addresses, send them via DM, they are watching",
            "Set up a proxy on your home connection for people in Iran: {IP}",
        ],
        [
            "پروکسی جدید: {IP} فقط با پیام خصوصی بفرستید، عمومی منتشر نکنید",
            "تور در {C} کار می‌کند، امتحان کنید",
            "فیلترشکن فری‌گیت دوباره کار می‌کند، اگر {SITE} باز نمی‌شود امتحان کنید",
            "آدرس پروکسی‌ها را عمومی منتشر نکنید، مراقب باشید",
            "برای دور زدن فیلتر از وی‌پی‌ان استفاده کنید: {IP}",
        ],
        [
            "proxy jadid: {IP} faghat DM konid, public nazarid",
            "tor too {C} kar mikone, emtehan konid",
            "freegate dobare kar mikone, age {SITE} baz nemishe emtehan konid",
            "address proxy ha ro public nazarid, movazeb bashid",
        ],
    ),
    "disinformation": (
        [
            "Security forces are setting up twitter accounts to spread disinformation "
            "by posing as Iranian protesters",
            "Beware: fake {M} statement circulating, not from his office",
            "Unconfirmed: {A} to resign? Don't spread rumors, verify first",
            "State TV says {M} supporters are criminals, total lies",
            "Rumor that {K} has left the country, NOT confirmed",
            "Fake accounts tweeting the wrong rally times, check your sources",
            "State radio claims no evidence of fraud, foreign media 'inventing' the protests",
        ],
        [
            "مراقب باشید: بیانیه جعلی از طرف {M} پخش شده",
            "شایعه استعفای {A}، تایید نشده، پخش نکنید",
            "تلویزیون دولتی می‌گوید هواداران {M} اغتشاشگرند، دروغ محض",
            "شایعه: {K} از کشور رفته، تایید نشده",
            "حساب‌های جعلی ساعت اشتباه تجمع را پخش می‌کنند، منبع را چک کنید",
            "نیروهای امنیتی با حساب‌های جعلی خود را معترض جا می‌زنند",
        ],
        [
            "movazeb bashid: bayaniye jaali az taraf {M} pakhsh shode",
            "shaye'e este'faye {A}, ta'id nashode, pakhsh nakonid",
            "TV dolati mige tarafdaraye {M} eghteshashgaran, dorooghe mahz",
            "hesabhaye jaali saate eshtebahe tajamo ro pakhsh mikonan, manba ro check konid",
        ],
    ),
    "election": (
        [
            "Official result: {A} {PCT}%. How can {M} lose in his own hometown?",
            "{M} asks the Guardian Council to annul the election",
            "Ballot papers ran out in {C}, polls extended",
            "Interior Ministry announced results before the polls closed",
            "{K} endorses {A} victory, calls it a 'divine assessment'",
            "Guardian Council says it will review {N} complaints, no recount",
            "{A} victory speech calls the protesters 'dust'",
            "{M} and Karroubi reject the result: the vote was stolen",
            "More votes than voters in {N} cities, says the {M} campaign",
        ],
        [
            "نتیجه رسمی: {A} {PCT} درصد. چطور {M} در شهر خودش باخت؟",
            "{M} خواستار ابطال انتخابات شد",
            "تعرفه‌ها در {C} تمام شد، زمان رای‌گیری تمدید شد",
            "وزارت کشور نتیجه را قبل از بسته شدن صندوق‌ها اعلام کرد",
            "{K} پیروزی {A} را تایید کرد",
            "شورای نگهبان می‌گوید {N} شکایت را بررسی می‌کند",
            "{M} و کروبی نتیجه را قبول ندارند: رای ما دزدیده شد",
        ],
        [
            "natije rasmi: {A} {PCT} darsad. chetor {M} too shahre khodesh bakht?",
            "{M} khastare ebtale entekhabat shod",
            "{K} piroozie {A} ro ta'id kard",
            "shoraye negahban mige {N} shekayat ro barresi mikone",
            "{M} o karroubi natije ro ghabool nadaran: raye ma ro dozdidan",
        ],
    ),
    "solidarity": (
        [
            "Show support for {D} in Iran, add a green overlay to your Twitter avatar",
            "Solidarity rally in {W} today for the people of Iran",
            "We are all Iranians tonight. Stand with Tehran",
            "Thinking of everyone in {C}. The world is watching",
            "Green ribbons in {W}, hundreds outside the Iranian embassy",
            "Iran's fight for {D} is everyone's fight",
            "Candlelight vigil in {W} tonight for the people of Iran",
        ],
        [
            "از همه ایرانیان خارج از کشور ممنونیم، صدای ما باشید",
            "تجمع همبستگی در {W} برای مردم ایران",
            "دنیا ما را می‌بیند، تنها نیستیم",
            "روبان سبز در {W}، صدها نفر جلوی سفارت",
            "مبارزه برای {D} در ایران مبارزه همه است",
        ],
        [
            "merci az hame iraniaye kharej az keshvar, sedaye ma bashid",
            "donya ma ro mibine, tanha nistim",
            "tajamo hambastegi too {W} baraye mardome iran",
            "mobareze baraye {D} too iran mobarezeye hame ast",
        ],
    ),
    "other": (
        [
            "Anyone know if flights out of IKA are still running?",
            "Can't sleep, following the news all night",
            "Twitter postponed its maintenance so Iranians can keep tweeting, good call",
            "CNN coverage of Iran is so weak tonight",
            "Long day. Power cut again in our area",
            "My mom keeps calling from {C}, phone lines terrible",
            "Exams postponed at the university, nobody knows until when",
            "Traffic in {C} is impossible today",
        ],
        [
            "امشب خوابم نمی‌برد، همه‌اش اخبار می‌خوانم",
            "برق محله ما دوباره رفت",
            "کسی می‌داند پروازهای فرودگاه امام هنوز برقرار است؟",
            "مادرم مدام از {C} زنگ می‌زند، خط‌ها خیلی بد است",
            "امتحانات دانشگاه عقب افتاد",
            "ترافیک {C} امروز وحشتناک است",
        ],
        [
            "emshab khabam nemibare, hamash akhbar mikhoonam",
            "bargh dobare raft",
            "kasi midoone parvazaye foroodgah emam hanooz hast?",
            "maman hey az {C} zang mizane, khatta kheili bade",
        ],
    ),
}

# Category mix by region group (IR, elsewhere), in per cent.
_CATEGORY_WEIGHTS = {
    "IR": (19, 12, 10, 5, 10, 4, 6, 16, 3, 15),
    "other": (12, 8, 8, 3, 8, 12, 6, 14, 18, 11),
}
# Control regions and their share of the non-IR traffic.
_OTHER_REGIONS = (
    ("US", 36),
    ("GB", 16),
    ("DE", 10),
    ("CA", 10),
    ("FR", 8),
    ("NL", 4),
    ("SE", 4),
    ("AE", 4),
    ("TR", 4),
    ("AU", 4),
)
_LANG_WEIGHTS = {"IR": (30, 45, 25), "other": (78, 12, 10)}
_PLATFORM_WEIGHTS = (("twitter", 85), ("facebook", 10), ("blog", 5))
_RETWEET_SHARE = {"IR": 0.08, "other": 0.30}

# Hashtags and slogans appended to posts, per language, with weights in per cent.
_SUFFIXES: tuple[Sequence[tuple[str, float]], ...] = (
    [
        ("", 50),
        (" #iranelection", 16),
        (" #iranelection #gr88", 5),
        (" #gr88", 3),
        (" #tehran", 3),
        (" #iran #iranelection", 3),
        (" #iran", 2),
        (" #iranelection #tehran", 2),
        (" #cnnfail", 1),
        (" — We want democracy! #iranelection", 6),
        (" — Democracy now.", 2),
        (" — Where is my vote? #iranelection", 3),
        (" — Death to the dictator!", 1.5),
        (" — Ya Hossein, Mir Hossein!", 1.5),
        (" — Mousavi is our president #iranelection", 2),
        (" #iranelection #neda", 0.1),
    ],
    [
        ("", 62),
        (" #iranelection", 8),
        (" #gr88", 2),
        (" #iranelection #gr88", 2),
        (" — ما دموکراسی می‌خواهیم", 8),
        (" — رای من کو؟", 5),
        (" — مرگ بر دیکتاتور", 3),
        (" — یا حسین، میرحسین", 3),
        (" — موسوی رئیس‌جمهور ماست", 3),
    ],
    [
        ("", 54),
        (" #iranelection", 12),
        (" #gr88", 3),
        (" #iranelection #gr88", 3),
        (" — ma demokrasi mikhaym", 8),
        (" — raye man koo?", 5),
        (" — marg bar dictator", 2),
        (" — ya hossein, mir hossein", 3),
        (" — mousavi raees jomhoore mast", 3),
    ],
)
_SURGE_SUFFIXES = {
    "#neda": (
        (" #neda", " #neda #iranelection", " — RIP Neda #neda", " — the world saw what they did #neda"),
        (" #neda", " ندا #neda", " #neda #iranelection"),
        (" #neda", " — neda ro koshtan #neda", " #neda #iranelection"),
    )
}


_IR_NAMES = _words(
    "ali reza mohammad hossein mehdi amir arash babak saeed hamid kaveh omid pouya nima sina farhad "
    "dariush maryam sara shirin leila nazanin azadeh parisa shahrzad samereh roya mina golnaz yasaman "
    "setareh taraneh fatemeh zahra niloufar bahar hoda elham mahsa behrouz kourosh payam siavash"
)
_IR_WORDS = _words(
    "sabz azadi iran tehran mosafer daneshjoo khabar sedaye javan green 88 1388 vote shiraz esfahan "
    "tabriz free persian watch sahar baran"
)
_OTHER_NAMES = _words(
    "john mike sarah emily david chris jen kate tom anna lisa mark paul laura ben nina julia max lukas "
    "sophie marie pierre hannah jonas emma liam noah olivia dan rachel steve amy"
)
_OTHER_WORDS = _words("in_la nyc london berlin toronto green 4iran solidarity news blog watch uk de fr")
_DIASPORA_WORDS = _words("london la toronto berlin irani azad sabz paris hamburg nyc in_exile 4iran")
# Accounts named in the seed documents (and two of the best-known of June 2009), busiest first.
_FAMOUS = {
    "IR": (
        ("persiankiwi", "IR", EN, "twitter"),
        ("Change_for_Iran", "IR", EN, "twitter"),
        ("mousavi1388", "IR", FA, "twitter"),
    ),
    "other": (("oxfordgirl", "GB", EN, "twitter"), ("madtownbabe", "US", EN, "twitter")),
}

_IRAN_CITIES = _words(
    "shiraz isfahan tabriz mashhad rasht ahvaz kermanshah zahedan qazvin karaj qom yazd kerman hamedan "
    "urmia ardabil arak zanjan sanandaj bandarabbas sari gorgan babol kashan khorramabad birjand bushehr "
    "semnan ilam yasuj shahrekord bojnurd amol dezful abadan khoy saveh najafabad varamin"
)
_EXTRA_TAGS = _words(
    "freeiran helpiran greenrevolution iranrevolution sea_of_green azadi whereismyvote iranvotes iran88 "
    "khatami karroubi rezaee rafsanjani bbcpersian freemedia evin azadisquare allahuakbar iranstrike "
    "tehranuniversity 24khordad 25khordad 28khordad 30khordad 18tir mirhossein persiankiwi greenwave "
    "iranfreedom stopahmadi voiceofiran irantalks iranproxy tor4iran"
)


# ---------------------------------------------------------------------------------------------------
# Scenario specification and ground truth.


@dataclass(frozen=True, slots=True)
class EpisodeSpec:
    """An episode (or decoy) as designed: placed at ``at`` hours into a run of the nominal length."""

    type: str  # filtering | outage | surge; decoys: fade | trend
    key: str  # "*" | "term:<t>" | "category:<c>"
    region: str | None
    at: float  # nominal start, hours after the scenario start (scaled for other run lengths)
    minutes: float  # nominal duration
    # surge "*"/category: volume factor; surge term: share of posts carrying the hashtag;
    # outage: fraction of the region's posts kept; fade: final level of the term; trend: end/start ratio.
    magnitude: float


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    description: str
    hours: float  # default (and nominal) length
    rate: float  # default mean posts per second over the run
    start: float  # default start, epoch seconds
    episodes: tuple[EpisodeSpec, ...] = ()
    decoys: tuple[EpisodeSpec, ...] = ()
    ir_share: float = 0.5
    ir_authors: int = 3000
    other_authors: int = 3000
    renders: int = 24  # rendered variants per template
    extra_hashtags: bool = False  # a large extra hashtag vocabulary ("many terms")
    extra_hashtag_share: float = 0.0  # share of posts carrying some of those extra hashtags


@dataclass(frozen=True, slots=True)
class Episode:
    """One window of ground truth, ``[start, end)`` in epoch seconds."""

    type: str
    key: str
    region: str | None
    start: float
    end: float

    def contains(self, ts: float) -> bool:
        return self.start <= ts < self.end

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "key": self.key,
            "region": self.region,
            "start": format_ts(self.start),
            "end": format_ts(self.end),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Episode:
        return cls(
            type=data["type"],
            key=data["key"],
            region=data["region"],
            start=parse_ts(data["start"]),
            end=parse_ts(data["end"]),
        )


@dataclass(frozen=True)
class Truth:
    """What was injected: the episodes detectors must find, and the decoys that must raise nothing."""

    scenario: str
    seed: int
    start: float
    end: float
    rate: float
    episodes: tuple[Episode, ...] = ()
    decoys: tuple[Episode, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "start": format_ts(self.start),
            "end": format_ts(self.end),
            "hours": (self.end - self.start) / 3600,
            "rate": self.rate,
            "episodes": [episode.to_dict() for episode in self.episodes],
            "decoys": [{**decoy.to_dict(), "decoy": True} for decoy in self.decoys],
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2) + b"\n"

    @classmethod
    def from_json(cls, data: bytes | str) -> Truth:
        raw = orjson.loads(data)
        return cls(
            scenario=raw["scenario"],
            seed=raw["seed"],
            start=parse_ts(raw["start"]),
            end=parse_ts(raw["end"]),
            rate=raw["rate"],
            episodes=tuple(Episode.from_dict(item) for item in raw["episodes"]),
            decoys=tuple(Episode.from_dict(item) for item in raw.get("decoys", ())),
        )


def _h(day: int, utc_hour: float) -> float:
    """Hours after 2009-06-12T00:00Z for a day offset and a UTC hour (Tehran = UTC + 4.5)."""
    return day * 24 + utc_hour


SCENARIOS: dict[str, ScenarioSpec] = {
    "iran2009": ScenarioSpec(
        name="iran2009",
        description="A week from election day, 2009-06-12: an Internet cut, the censor filtering "
        "'democracy' then the candidate's name, the great march, #neda, a call for doctors.",
        hours=168,
        rate=1.5,
        start=JUNE_12_2009,
        episodes=(
            EpisodeSpec("outage", "*", "IR", _h(1, 9.5), 120, 0.03),  # 14:00 Tehran, June 13
            EpisodeSpec("filtering", "term:democracy", "IR", _h(2, 8.5), 180, 0),  # 13:00, June 14
            EpisodeSpec("surge", "*", None, _h(3, 11.0), 60, 4.0),  # 15:30, June 15: the silent march
            EpisodeSpec("filtering", "term:mousavi", "IR", _h(4, 7.5), 150, 0),  # 12:00, June 16
            EpisodeSpec("surge", "term:#neda", None, _h(5, 16.0), 90, 0.3),  # 20:30, June 17
            EpisodeSpec("surge", "category:medical", None, _h(6, 10.0), 60, 5.0),  # 14:30, June 18
        ),
        decoys=(
            EpisodeSpec("fade", "term:unrest", None, _h(4, 18.0), 24 * 60, 0.15),
            EpisodeSpec("trend", "*", None, 0, 168 * 60, 1.5),
        ),
    ),
    "stress": ScenarioSpec(
        name="stress",
        description="Six busy hours at 200 posts/s with a large hashtag vocabulary and many episodes.",
        hours=6,
        rate=200,
        start=JUNE_12_2009 + _h(3, 6.0) * 3600,  # 10:30 Tehran, June 15
        episodes=(
            EpisodeSpec("filtering", "term:democracy", "IR", 0.6, 20, 0),
            EpisodeSpec("outage", "*", "IR", 1.2, 20, 0.03),
            EpisodeSpec("surge", "*", None, 1.8, 20, 3.0),
            EpisodeSpec("filtering", "term:#iranelection", "IR", 2.4, 20, 0),
            EpisodeSpec("surge", "term:#neda", None, 3.0, 20, 0.3),
            EpisodeSpec("filtering", "term:violence", "IR", 3.6, 20, 0),
            EpisodeSpec("surge", "category:medical", None, 4.2, 20, 4.0),
            EpisodeSpec("filtering", "term:khamenei", "IR", 4.8, 20, 0),
            EpisodeSpec("surge", "category:arrest", None, 5.4, 20, 4.0),
        ),
        decoys=(
            EpisodeSpec("fade", "term:unrest", None, 2.0, 180, 0.15),
            EpisodeSpec("trend", "*", None, 0, 6 * 60, 1.3),
        ),
        ir_authors=30000,
        other_authors=30000,
        renders=64,
        extra_hashtags=True,
        extra_hashtag_share=0.35,
    ),
    "quiet": ScenarioSpec(
        name="quiet",
        description="Three ordinary days: no episodes, only the decoys (a fading term, a slow trend).",
        hours=72,
        rate=1.5,
        start=JUNE_12_2009,
        decoys=(
            EpisodeSpec("fade", "term:unrest", None, 30, 24 * 60, 0.15),
            EpisodeSpec("trend", "*", None, 0, 72 * 60, 1.5),
        ),
    ),
}


def _spec(name: str) -> ScenarioSpec:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}") from None


# ---------------------------------------------------------------------------------------------------
# Layout: where the episodes fall for a given run length.


@dataclass(frozen=True, slots=True)
class _Placed:
    spec: EpisodeSpec
    episode: Episode


def _layout(spec: ScenarioSpec, seed: int, start: float, hours: float) -> tuple[list[_Placed], list[_Placed]]:
    """Episodes scaled to the run: starts in proportion, never overlapping, each with a clean lead-in.

    Each episode lasts its nominal length but at most 60% of the time to the next one (or to the end),
    so a quiet stretch always precedes the next; episodes that would last under 10 minutes are left out.
    Starts get a small per-seed jitter and land on whole UTC minutes.
    """
    span = hours * 3600.0
    end = start + span
    scale = hours / spec.hours
    rng = Random(f"layout:{spec.name}:{seed}")
    lead = min(3600.0, 0.1 * span)
    chain = sorted(spec.episodes, key=lambda item: item.at)
    jitter = int(min(30.0, 0.04 * span / 60.0 / max(1, len(chain))))
    starts = []
    for item in chain:
        moment = start + item.at * 3600.0 * scale + rng.randint(-jitter, jitter) * 60
        starts.append(math.ceil(max(moment, start + lead) / 60.0) * 60.0)
    placed = []
    for index, item in enumerate(chain):
        begin = starts[index]
        limit = (starts[index + 1] if index + 1 < len(chain) else end) - begin
        length = math.floor(min(item.minutes * 60.0, 0.6 * limit) / 60.0) * 60.0
        if length < MIN_EPISODE_S or begin + length > end:
            continue
        placed.append(_Placed(item, Episode(item.type, item.key, item.region, begin, begin + length)))
    decoys = []
    for item in spec.decoys:
        if item.type == "trend":
            decoys.append(_Placed(item, Episode("trend", item.key, item.region, start, end)))
            continue
        begin = math.ceil((start + item.at * 3600.0 * scale) / 60.0) * 60.0
        length = max(item.minutes * 60.0 * min(1.0, scale), 1800.0)
        finish = min(begin + math.floor(length / 60.0) * 60.0, math.floor(end / 60.0) * 60.0)
        if finish - begin >= MIN_EPISODE_S:
            decoys.append(_Placed(item, Episode(item.type, item.key, item.region, begin, finish)))
    return placed, decoys


# ---------------------------------------------------------------------------------------------------
# Vocabulary built once per run: texts with their term masks, pools, tables.

_SLOT = re.compile(r"\{(\w+?)2?\}")
_TOKEN = re.compile(r"[^\s,.!?:;،؟'\"()]+")
_HOMOGLYPHS = {"d": "д", "a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "i": "і", "s": "ѕ", "y": "у"}
_LEET = {"e": "3", "o": "0", "a": "4", "i": "1", "s": "5"}


def _evade(word: str, how: int) -> str:
    """A spelling that a keyword filter misses: leet, a Cyrillic letter, or a dot inside the word."""
    if not word.isascii():
        middle = max(1, len(word) // 2)
        return word[:middle] + ("." if how % 2 else " ") + word[middle:]
    if how == 0:
        for index in range(1, len(word)):
            if word[index] in _LEET:
                return word[:index] + _LEET[word[index]] + word[index + 1 :]
    if how in (0, 1):
        for index, char in enumerate(word):
            if char in _HOMOGLYPHS:
                return word[:index] + _HOMOGLYPHS[char] + word[index + 1 :]
    return word[:2] + "." + word[2:]


def _esc(text: str) -> bytes:
    """JSON string content (without quotes); concatenating escaped pieces escapes the concatenation."""
    return orjson.dumps(text)[1:-1]


def _table(weights: Sequence[float], size: int = TABLE) -> list[int]:
    """A lookup table of ``size`` indices in proportion to the weights (largest remainders)."""
    total = float(sum(weights))
    exact = [w / total * size for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: size - sum(counts)]:
        counts[i] += 1
    table: list[int] = []
    for index, count in enumerate(counts):
        table.extend([index] * count)
    return table


class _Vocab:
    """Texts, prefixes (retweets), suffixes (hashtags, slogans), authors and their lookup tables."""

    def __init__(self, spec: ScenarioSpec, seed: int, terms: Sequence[str]) -> None:
        rng = Random(f"vocab:{spec.name}:{seed}")
        self.terms = list(dict.fromkeys([*terms, *WORD_TERMS, *CORE_HASHTAGS]))
        self.patterns = [term_pattern(term) for term in self.terms]
        self.bit = {term: 1 << index for index, term in enumerate(self.terms)}

        # Texts: pools[cat * 3 + lang] -> text indices.
        self.text: list[str] = []
        self.text_json: list[bytes] = []
        self.text_mask: list[int] = []
        self.pools: list[list[int]] = []
        for category in CATEGORIES:
            for lang in range(3):
                pool: list[int] = []
                for template in _TEMPLATES[category][lang]:
                    if "{" in template:
                        pool.extend(
                            self._add_text(self._render(template, lang, rng)) for _ in range(spec.renders)
                        )
                    else:  # every template equally likely
                        pool.extend([self._add_text(template)] * spec.renders)
                self.pools.append(pool)

        # Prefixes: "" or a retweet of an IR author; per region group a table of prefix indices.
        self.authors = _Authors(spec, rng)
        retweeted = self.authors.handles[: min(300, spec.ir_authors)]
        self.prefix = ["", *(f"RT @{handle}: " for handle in retweeted)]
        self.prefix_json = [_esc(p) for p in self.prefix]
        self.prefix_mask = [self.mask(p) for p in self.prefix]
        rt_weights = [1.0 / (rank + 3) for rank in range(len(retweeted))]
        self.prefix_tables = []
        for group in ("IR", "other"):
            share = _RETWEET_SHARE[group]
            total = sum(rt_weights)
            self.prefix_tables.append(_table([1 - share] + [w / total * share for w in rt_weights]))

        # Suffixes per language, and the extra hashtag vocabulary for the stress scenario.
        self.suffix: list[str] = []
        self.suffix_json: list[bytes] = []
        self.suffix_mask: list[int] = []
        self.suffix_tables: list[list[int]] = []
        self.hashtags = list(CORE_HASHTAGS)
        extra_combos: list[str] = []
        if spec.extra_hashtags:
            extra = [f"#{city}{ending}" for city in _IRAN_CITIES for ending in ("", "88", "protest", "news")]
            extra += [f"#free{city}" for city in _IRAN_CITIES] + [f"#{tag}" for tag in _EXTRA_TAGS]
            self.hashtags += extra
            tag_weights = [1.0 / (rank + 2) for rank in range(len(extra))]
            for _ in range(4096):
                count = rng.choice((1, 1, 1, 2, 2, 3))
                tags = dict.fromkeys(rng.choices(extra, tag_weights, k=count))
                extra_combos.append(" " + " ".join(tags))
        for lang in range(3):
            indices, weights = [], []
            base = _SUFFIXES[lang]
            base_total = sum(w for _, w in base)
            share = spec.extra_hashtag_share
            for text, weight in base:
                indices.append(self._add_suffix(text))
                weights.append(weight / base_total * (1 - share))
            for combo in extra_combos:
                indices.append(self._add_suffix(combo))
                weights.append(share / len(extra_combos))
            self.suffix_tables.append([indices[i] for i in _table(weights)])

        # Category tables per region group.
        self.category_tables = [_table(_CATEGORY_WEIGHTS[group]) for group in ("IR", "other")]
        self._surge_suffixes: dict[str, list[list[int]]] = {}
        self._without: dict[tuple[int, int], list[int]] = {}
        self._evasion: dict[int, dict[int, int]] = {}

    # -- building blocks --------------------------------------------------------------------------
    def mask(self, text: str) -> int:
        lowered = text.lower()
        bits = 0
        for index, pattern in enumerate(self.patterns):
            if pattern.search(lowered):
                bits |= 1 << index
        return bits

    def _render(self, template: str, lang: int, rng: Random) -> str:
        def fill(match: re.Match[str]) -> str:
            slot = match.group(1)
            if slot == "N":
                number = str(rng.choice((rng.randint(3, 60), rng.randint(10, 400))))
                return number.translate(_PERSIAN_DIGITS) if lang == FA else number
            if slot == "IP":
                octets = [rng.randint(62, 220)] + [rng.randint(1, 254) for _ in range(3)]
                return ".".join(map(str, octets)) + f":{rng.choice((80, 443, 3128, 8080))}"
            return rng.choice(_FILL[slot][lang])

        return _SLOT.sub(fill, template)

    def _add_text(self, text: str) -> int:
        self.text.append(text)
        self.text_json.append(_esc(text))
        self.text_mask.append(self.mask(text))
        return len(self.text) - 1

    def _add_suffix(self, text: str) -> int:
        self.suffix.append(text)
        self.suffix_json.append(_esc(text))
        self.suffix_mask.append(self.mask(text))
        return len(self.suffix) - 1

    def surge_suffix_tables(self, hashtag: str) -> list[list[int]]:
        """Per language, suffix indices that carry ``hashtag`` (for a hashtag surge)."""
        if hashtag not in self._surge_suffixes:
            variants = (
                _SURGE_SUFFIXES.get(hashtag)
                or ((f" {hashtag}", f" {hashtag} #iranelection", f" #iranelection {hashtag}"),) * 3
            )
            self._surge_suffixes[hashtag] = [[self._add_suffix(text) for text in per] for per in variants]
            bit = self.bit[hashtag]
            assert all(self.suffix_mask[i] & bit for per in self._surge_suffixes[hashtag] for i in per)
        return self._surge_suffixes[hashtag]

    def pools_without(self, bit: int) -> list[list[int]]:
        """The text pools with every text containing the term (bit) left out."""
        result = []
        for index, pool in enumerate(self.pools):
            key = (bit, index)
            if key not in self._without:
                kept = [t for t in pool if not self.text_mask[t] & bit]
                if not kept:
                    raise ValueError("every template of a pool contains the term; cannot fade it")
                self._without[key] = kept
            result.append(self._without[key])
        return result

    def evasions(self, bit: int, rng: Random) -> dict[int, int]:
        """For texts containing the term (bit): the index of a variant spelled to evade a filter."""
        if bit not in self._evasion:
            pattern = self.patterns[bit.bit_length() - 1]
            table: dict[int, int] = {}
            for index in range(len(self.text)):
                if not self.text_mask[index] & bit:
                    continue
                how = rng.randrange(3)

                def evade(match: re.Match[str], how: int = how) -> str:
                    word = match.group(0)
                    return _evade(word, how) if pattern.search(word.lower()) else word

                evaded = _TOKEN.sub(evade, self.text[index])
                if not self.mask(evaded) & bit:
                    table[index] = self._add_text(evaded)
            self._evasion[bit] = table
        return self._evasion[bit]


class _Authors:
    """Handles with a fixed region, language and platform each, and activity tables per region group."""

    def __init__(self, spec: ScenarioSpec, rng: Random) -> None:
        self.handles: list[str] = []
        self.tail: list[bytes] = []  # the JSON record from "author" to the end of the line
        self.lang: list[int] = []
        self.platform: list[str] = []
        self.region: list[str] = []
        seen: set[str] = set()
        self.tables: list[list[int]] = []
        for group, count in (("IR", spec.ir_authors), ("other", spec.other_authors)):
            first = len(self.handles)
            famous = _FAMOUS[group]
            region_table = _table([w for _, w in _OTHER_REGIONS], 1000)
            lang_table = _table(_LANG_WEIGHTS[group], 1000)
            platform_table = _table([w for _, w in _PLATFORM_WEIGHTS], 1000)
            for index in range(count):
                region = "IR" if group == "IR" else _OTHER_REGIONS[rng.choice(region_table)][0]
                lang = rng.choice(lang_table)
                platform = _PLATFORM_WEIGHTS[rng.choice(platform_table)][0]
                if index < len(famous):
                    handle, region, lang, platform = famous[index]
                elif group == "IR":
                    handle = self._handle(_IR_NAMES, _IR_WORDS, rng)
                elif lang == EN:
                    handle = self._handle(_OTHER_NAMES, _OTHER_WORDS, rng)
                else:  # the diaspora
                    handle = self._handle(_IR_NAMES, _DIASPORA_WORDS, rng)
                while handle in seen:
                    handle = f"{handle}{rng.randint(0, 9)}"
                seen.add(handle)
                self.handles.append(handle)
                self.lang.append(lang)
                self.platform.append(platform)
                self.region.append(region)
                self.tail.append(
                    b'"author":'
                    + orjson.dumps(handle)
                    + b',"platform":'
                    + orjson.dumps(platform)
                    + b',"lang":'
                    + orjson.dumps(LANGS[lang])
                    + b',"region":'
                    + orjson.dumps(region)
                    + b"}\n"
                )
            # Activity: a few very busy accounts and a long tail.
            weights = [1.0 / (rank + 8) for rank in range(count)]
            self.tables.append([first + i for i in _table(weights, max(TABLE, 4 * count))])

    @staticmethod
    def _handle(names: Sequence[str], words: Sequence[str], rng: Random) -> str:
        name, word = rng.choice(names), rng.choice(words)
        style = rng.randrange(6)
        if style == 0:
            return f"{name}{rng.randint(1, 99)}"
        if style == 1:
            return f"{name}_{word}"
        if style == 2:
            return f"{word}_{name}"
        if style == 3:
            return f"{name.capitalize()}{word.capitalize()}"
        if style == 4:
            return f"{word}{name}{rng.randint(1, 9)}"
        return f"{name}{word}"


# ---------------------------------------------------------------------------------------------------
# The diurnal cycle and the per-minute state.


def _diurnal_table() -> list[float]:
    """Activity by minute of the day in Tehran: low 3-6 am, peak in the evening; mean 1."""
    anchors = [
        (0, 0.95),
        (2, 0.55),
        (3, 0.28),
        (4.5, 0.18),
        (6, 0.25),
        (8, 0.6),
        (10, 0.9),
        (12, 1.0),
        (14, 1.05),
        (16, 1.2),
        (18, 1.45),
        (20, 1.7),
        (22, 1.5),
        (24, 0.95),
    ]
    values = []
    for minute in range(1440):
        hour = (minute + 0.5) / 60.0
        for (h0, v0), (h1, v1) in itertools.pairwise(anchors):
            if h0 <= hour <= h1:
                values.append(v0 + (v1 - v0) * (hour - h0) / (h1 - h0))
                break
    mean = sum(values) / len(values)
    return [v / mean for v in values]


_DIURNAL = _diurnal_table()


def diurnal_factor(ts: float) -> float:
    """The activity level (mean 1 over a day) at an epoch time, by the minute of the day in Tehran."""
    return _DIURNAL[int((ts + TEHRAN_OFFSET_S) // 60) % 1440]


@dataclass(slots=True)
class _Minute:
    rate: float = 0.0  # posts per second, all components
    ir_keep: float = 1.0  # outage: fraction of IR posts kept
    filter_mask: int = 0  # filtering: IR posts with these terms are suppressed
    evasions: list[dict[int, int]] = field(default_factory=list)  # per filtered term
    extra_share: float = 0.0  # category surge: share of arrivals that are the forced category
    extra_category: int = 0
    hashtag_share: float = 0.0  # hashtag surge: share of posts given a surge suffix
    hashtag_tables: list[list[int]] | None = None
    fade_mask: int = 0
    fade_drop: float = 0.0  # probability that a post with the fading term is rewritten without it
    fade_pools: list[list[int]] | None = None


def _term_of(key: str) -> str:
    if not key.startswith("term:"):
        raise ValueError(f"expected a term key, got {key!r}")
    return key[5:]


class _Plan:
    """Per-minute rates and effects of one run."""

    def __init__(
        self,
        spec: ScenarioSpec,
        seed: int,
        start: float,
        hours: float,
        rate: float,
        placed: list[_Placed],
        decoys: list[_Placed],
    ) -> None:
        terms = [_term_of(p.spec.key) for p in [*placed, *decoys] if p.spec.key.startswith("term:")]
        self.vocab = _Vocab(spec, seed, terms)
        self.start, self.end = start, start + hours * 3600.0
        self.placed, self.decoys = placed, decoys
        self.spec = spec
        self.evasion_rng = Random(f"evasion:{spec.name}:{seed}")
        ir, other = spec.ir_share, 1 - spec.ir_share
        weights = [_CATEGORY_WEIGHTS["IR"], _CATEGORY_WEIGHTS["other"]]
        self.category_share = [
            ir * weights[0][c] / sum(weights[0]) + other * weights[1][c] / sum(weights[1])
            for c in range(len(CATEGORIES))
        ]
        # Buckets: whole UTC minutes (the first and last may be partial).
        self.buckets: list[tuple[float, float]] = []
        moment = start
        while moment < self.end:
            stop = min(math.floor(moment / 60.0) * 60.0 + 60.0, self.end)
            self.buckets.append((moment, stop))
            moment = stop
        base = [self._base(lo, hi) for lo, hi in self.buckets]
        weighted = sum(b * (hi - lo) for b, (lo, hi) in zip(base, self.buckets, strict=True))
        self.norm = rate * (self.end - start) / weighted if weighted > 0 else 0.0
        self.base = base

    def _base(self, lo: float, hi: float) -> float:
        middle = (lo + hi) / 2
        level = diurnal_factor(middle)
        for item in self.decoys:
            if item.spec.type == "trend":
                ep = item.episode
                progress = min(1.0, max(0.0, (middle - ep.start) / (ep.end - ep.start)))
                level *= 1 + (item.spec.magnitude - 1) * progress
        return level

    def minute(self, index: int) -> _Minute:
        lo, hi = self.buckets[index]
        middle = (lo + hi) / 2
        state = _Minute(rate=self.base[index] * self.norm)
        vocab = self.vocab
        for item in self.placed:
            ep, sp = item.episode, item.spec
            if not ep.contains(middle):
                continue
            if sp.type == "outage":
                state.ir_keep = sp.magnitude
            elif sp.type == "filtering":
                bit = vocab.bit[_term_of(sp.key)]
                state.filter_mask |= bit
                state.evasions.append(vocab.evasions(bit, self.evasion_rng))
            elif sp.key == "*":
                state.rate *= sp.magnitude
            elif sp.key.startswith("category:"):
                category = CATEGORIES.index(sp.key.split(":", 1)[1])
                extra = (sp.magnitude - 1) * self.category_share[category]
                state.extra_share = extra / (1 + extra)
                state.extra_category = category
                state.rate *= 1 + extra
            else:
                state.hashtag_share = sp.magnitude
                state.hashtag_tables = vocab.surge_suffix_tables(_term_of(sp.key))
        for item in self.decoys:
            ep, sp = item.episode, item.spec
            if sp.type != "fade" or middle < ep.start:
                continue
            progress = min(1.0, (middle - ep.start) / (ep.end - ep.start))
            bit = vocab.bit[_term_of(sp.key)]
            state.fade_mask |= bit
            state.fade_drop = (1 - sp.magnitude) * progress
            state.fade_pools = vocab.pools_without(bit)
        return state


# Post tuples: (ts_ms, author, prefix, text, suffix, category).
_Row = tuple[int, int, int, int, int, int]


def _minutes(plan: _Plan, seed: int) -> Iterator[tuple[float, list[_Row]]]:
    """Per bucket: its start and the posts in it, in time order."""
    rng = Random(f"stream:{plan.spec.name}:{seed}")
    random = rng.random
    log = math.log
    vocab = plan.vocab
    authors = vocab.authors
    ir_table, other_table = authors.tables
    n_ir, n_other = len(ir_table), len(other_table)
    author_lang = authors.lang
    cat_ir, cat_other = vocab.category_tables
    pre_ir, pre_other = vocab.prefix_tables
    n_pre = len(pre_ir)
    pools = vocab.pools
    suffix_tables = vocab.suffix_tables
    n_suf = len(suffix_tables[0])
    text_mask, prefix_mask, suffix_mask = vocab.text_mask, vocab.prefix_mask, vocab.suffix_mask
    ir_share = plan.spec.ir_share
    for index, (lo, hi) in enumerate(plan.buckets):
        state = plan.minute(index)
        rows: list[_Row] = []
        if state.rate <= 0:
            yield lo, rows
            continue
        inverse = 1.0 / state.rate
        ir_keep = state.ir_keep
        filter_mask = state.filter_mask
        evasions = state.evasions
        extra_share, extra_category = state.extra_share, state.extra_category
        hashtag_share, hashtag_tables = state.hashtag_share, state.hashtag_tables
        fade_mask, fade_drop, fade_pools = state.fade_mask, state.fade_drop, state.fade_pools
        append = rows.append
        moment = lo
        while True:
            moment -= log(1.0 - random()) * inverse
            if moment >= hi:
                break
            if random() < ir_share:
                is_ir = True
                if ir_keep < 1.0 and random() >= ir_keep:
                    continue
                author = ir_table[int(random() * n_ir)]
                prefix = pre_ir[int(random() * n_pre)]
                category = cat_ir[int(random() * TABLE)]
            else:
                is_ir = False
                author = other_table[int(random() * n_other)]
                prefix = pre_other[int(random() * n_pre)]
                category = cat_other[int(random() * TABLE)]
            if extra_share and random() < extra_share:
                category = extra_category
            lang = author_lang[author]
            pool = pools[category * 3 + lang]
            text = pool[int(random() * len(pool))]
            if hashtag_share and random() < hashtag_share:
                options = hashtag_tables[lang]  # type: ignore[index]
                suffix = options[int(random() * len(options))]
            else:
                suffix = suffix_tables[lang][int(random() * n_suf)]
            if fade_mask and text_mask[text] & fade_mask and random() < fade_drop:
                kept = fade_pools[category * 3 + lang]  # type: ignore[index]
                text = kept[int(random() * len(kept))]
            if is_ir and filter_mask:
                around = prefix_mask[prefix] | suffix_mask[suffix]
                if (text_mask[text] | around) & filter_mask:
                    if around & filter_mask or random() >= EVASION_SHARE:
                        continue
                    for table in evasions:
                        text = table.get(text, text)
                    if text_mask[text] & filter_mask:
                        continue
            append((int(moment * 1000.0), author, prefix, text, suffix, category))
        yield lo, rows


# ---------------------------------------------------------------------------------------------------
# Public API.


def _resolve(
    name: str, seed: int, hours: float | None, rate: float | None, start: float | None
) -> tuple[ScenarioSpec, float, float, float]:
    spec = _spec(name)
    hours = spec.hours if hours is None else float(hours)
    rate = spec.rate if rate is None else float(rate)
    start = spec.start if start is None else float(start)
    if not hours > 0 or not math.isfinite(hours):
        raise ValueError(f"hours must be positive, not {hours!r}")
    if not rate > 0 or not math.isfinite(rate):
        raise ValueError(f"rate must be positive, not {rate!r}")
    if not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, not {seed!r}")
    return spec, hours, rate, start


def plan_truth(
    name: str, *, seed: int, hours: float | None = None, rate: float | None = None, start: float | None = None
) -> Truth:
    """The ground truth of a run without generating it."""
    spec, hours, rate, start = _resolve(name, seed, hours, rate, start)
    placed, decoys = _layout(spec, seed, start, hours)
    return _truth(spec, seed, start, hours, rate, placed, decoys)


def _truth(
    spec: ScenarioSpec,
    seed: int,
    start: float,
    hours: float,
    rate: float,
    placed: list[_Placed],
    decoys: list[_Placed],
) -> Truth:
    return Truth(
        scenario=spec.name,
        seed=seed,
        start=start,
        end=start + hours * 3600.0,
        rate=rate,
        episodes=tuple(p.episode for p in placed),
        decoys=tuple(p.episode for p in decoys),
    )


def _prepare(
    name: str, seed: int, hours: float | None, rate: float | None, start: float | None
) -> tuple[_Plan, Truth]:
    spec, hours, rate, start = _resolve(name, seed, hours, rate, start)
    placed, decoys = _layout(spec, seed, start, hours)
    plan = _Plan(spec, seed, start, hours, rate, placed, decoys)
    return plan, _truth(spec, seed, start, hours, rate, placed, decoys)


def generate(
    name: str, *, seed: int, hours: float | None = None, rate: float | None = None, start: float | None = None
) -> tuple[Iterator[Post], Truth]:
    """The scenario's posts (streamed, in non-decreasing event time) and its ground truth.

    ``rate`` is the mean posts per second over the run before episodes (default per scenario),
    ``hours`` the length and ``start`` the first instant (epoch seconds).
    """
    plan, truth = _prepare(name, seed, hours, rate, start)
    return _posts(plan, seed), truth


def _posts(plan: _Plan, seed: int) -> Iterator[Post]:
    for post, _category in _labelled(plan, seed):
        yield post


def _labelled(plan: _Plan, seed: int) -> Iterator[tuple[Post, str]]:
    vocab = plan.vocab
    authors = vocab.authors
    number = 0
    for _, rows in _minutes(plan, seed):
        for ts_ms, author, prefix, text, suffix, category in rows:
            post = Post(
                id=f"gen-{seed}-{number}",
                ts=ts_ms / 1000.0,
                text=vocab.prefix[prefix] + vocab.text[text] + vocab.suffix[suffix],
                author=authors.handles[author],
                platform=authors.platform[author],
                lang=LANGS[authors.lang[author]],
                region=authors.region[author],
            )
            yield post, CATEGORIES[category]
            number += 1


def labelled_posts(
    name: str, *, seed: int, hours: float | None = None, rate: float | None = None, start: float | None = None
) -> Iterator[tuple[Post, str]]:
    """The same posts as ``generate``, each with the category it was generated from (for evaluation)."""
    plan, _ = _prepare(name, seed, hours, rate, start)
    return _labelled(plan, seed)


def _seconds_table() -> list[bytes]:
    """``SS.mmmZ`` (or ``SSZ`` on a whole second, like ``format_ts``) for each millisecond of a minute."""
    table = []
    for offset in range(60000):
        seconds, millis = divmod(offset, 1000)
        table.append(f"{seconds:02d}Z".encode() if millis == 0 else f"{seconds:02d}.{millis:03d}Z".encode())
    return table


def write_scenario(
    name: str,
    *,
    seed: int,
    hours: float | None = None,
    rate: float | None = None,
    feed_path: str | os.PathLike[str],
    truth_path: str | os.PathLike[str] | None = None,
    start: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, Truth]:
    """Write the feed as JSON Lines (byte-identical to ``Post.to_json``) and the truth; returns the count.

    ``progress``, if given, is called with the number of posts written so far, once per minute of
    event time.
    """
    plan, truth = _prepare(name, seed, hours, rate, start)
    vocab = plan.vocab
    text_json, prefix_json, suffix_json = vocab.text_json, vocab.prefix_json, vocab.suffix_json
    tails = vocab.authors.tail
    seconds = _seconds_table()
    id_prefix = b'{"id":"gen-' + str(seed).encode() + b"-"
    count = 0
    with Path(feed_path).open("wb", buffering=1 << 20) as handle:
        for lo, rows in _minutes(plan, seed):
            if not rows:
                continue
            minute_ms = int(math.floor(lo / 60.0) * 60000)
            minute = datetime.fromtimestamp(minute_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:").encode()
            lines = []
            add = lines.append
            for ts_ms, author, prefix, text, suffix, _category in rows:
                add(
                    b"".join(
                        (
                            id_prefix,
                            str(count).encode(),
                            b'","ts":"',
                            minute,
                            seconds[ts_ms - minute_ms],
                            b'","text":"',
                            prefix_json[prefix],
                            text_json[text],
                            suffix_json[suffix],
                            b'",',
                            tails[author],
                        )
                    )
                )
                count += 1
            handle.write(b"".join(lines))
            if progress is not None:
                progress(count)
    if truth_path is not None:
        Path(truth_path).write_bytes(truth.to_json())
    return count, truth
