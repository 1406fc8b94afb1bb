"""The generator's text data: watchlist spellings, slot fillers and post templates per category and
language, hashtag and slogan suffixes, author names, and the mixes (categories, regions, languages,
platforms) they are drawn in. Data only: :mod:`.vocabulary` renders it."""

from __future__ import annotations

from collections.abc import Sequence

LANGS = ("en", "fa", "fa-Latn")
EN, FA, FL = 0, 1, 2  # indices into LANGS and into every per-language tuple below


# Terms: the spellings that count as each watchlist term (deliberately broad, so anything a detector
# could count as the term is suppressed during filtering); vocabulary.term_pattern matches them.

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


# ---------------------------------------------------------------------------------------------------
# Vocabulary: slot fillers per language (index EN, FA, FL) and templates per category and language.

FILL: dict[str, tuple[Sequence[str], Sequence[str], Sequence[str]]] = {
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
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

TEMPLATES: dict[str, tuple[Sequence[str], Sequence[str], Sequence[str]]] = {
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
CATEGORY_WEIGHTS = {
    "IR": (19, 12, 10, 5, 10, 4, 6, 16, 3, 15),
    "other": (12, 8, 8, 3, 8, 12, 6, 14, 18, 11),
}
# Control regions and their share of the non-IR traffic.
OTHER_REGIONS = (
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
LANG_WEIGHTS = {"IR": (30, 45, 25), "other": (78, 12, 10)}
PLATFORM_WEIGHTS = (("twitter", 85), ("facebook", 10), ("blog", 5))
RETWEET_SHARE = {"IR": 0.08, "other": 0.30}

# Hashtags and slogans appended to posts, per language, with weights in per cent.
SUFFIXES: tuple[Sequence[tuple[str, float]], ...] = (
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
SURGE_SUFFIXES = {
    "#neda": (
        (" #neda", " #neda #iranelection", " — RIP Neda #neda", " — the world saw what they did #neda"),
        (" #neda", " ندا #neda", " #neda #iranelection"),
        (" #neda", " — neda ro koshtan #neda", " #neda #iranelection"),
    ),
    # The tactics scenario's hashtag campaign (#CNNfail, June 13-14, 2009): many accounts add the tag to
    # posts in their own words, and the slogans around it vary.
    "#cnnfail": (
        (
            " #cnnfail",
            " #cnnfail #iranelection",
            " — CNN shows reruns while Iran burns #cnnfail",
            " — where is the news? twitter is faster #cnnfail",
            " — cable news asleep #cnnfail",
        ),
        (" #cnnfail", " — سی‌ان‌ان کجاست؟ #cnnfail", " #iranelection #cnnfail"),
        (" #cnnfail", " — cnn koja boodi? #cnnfail", " #iranelection #cnnfail"),
    ),
}


IR_NAMES = _words(
    "ali reza mohammad hossein mehdi amir arash babak saeed hamid kaveh omid pouya nima sina farhad "
    "dariush maryam sara shirin leila nazanin azadeh parisa shahrzad samereh roya mina golnaz yasaman "
    "setareh taraneh fatemeh zahra niloufar bahar hoda elham mahsa behrouz kourosh payam siavash"
)
IR_WORDS = _words(
    "sabz azadi iran tehran mosafer daneshjoo khabar sedaye javan green 88 1388 vote shiraz esfahan "
    "tabriz free persian watch sahar baran"
)
OTHER_NAMES = _words(
    "john mike sarah emily david chris jen kate tom anna lisa mark paul laura ben nina julia max lukas "
    "sophie marie pierre hannah jonas emma liam noah olivia dan rachel steve amy"
)
OTHER_WORDS = _words("in_la nyc london berlin toronto green 4iran solidarity news blog watch uk de fr")
DIASPORA_WORDS = _words("london la toronto berlin irani azad sabz paris hamburg nyc in_exile 4iran")
# Accounts named in the seed documents (and two of the best-known of June 2009), busiest first.
FAMOUS = {
    "IR": (
        ("persiankiwi", "IR", EN, "twitter"),
        ("Change_for_Iran", "IR", EN, "twitter"),
        ("mousavi1388", "IR", FA, "twitter"),
    ),
    "other": (("oxfordgirl", "GB", EN, "twitter"), ("madtownbabe", "US", EN, "twitter")),
}

IRAN_CITIES = _words(
    "shiraz isfahan tabriz mashhad rasht ahvaz kermanshah zahedan qazvin karaj qom yazd kerman hamedan "
    "urmia ardabil arak zanjan sanandaj bandarabbas sari gorgan babol kashan khorramabad birjand bushehr "
    "semnan ilam yasuj shahrekord bojnurd amol dezful abadan khoy saveh najafabad varamin"
)
EXTRA_TAGS = _words(
    "freeiran helpiran greenrevolution iranrevolution sea_of_green azadi whereismyvote iranvotes iran88 "
    "khatami karroubi rezaee rafsanjani bbcpersian freemedia evin azadisquare allahuakbar iranstrike "
    "tehranuniversity 24khordad 25khordad 28khordad 30khordad 18tir mirhossein persiankiwi greenwave "
    "iranfreedom stopahmadi voiceofiran irantalks iranproxy tor4iran"
)


# ---------------------------------------------------------------------------------------------------
# The tactics scenario (issue 18): what the accounts of its injected clusters write.

# A sockpuppet campaign: one claim, posed as a protester's warning, in near-identical wordings: each
# slot keeps its first wording with probability SOCKPUPPET_KEEP, else takes one of the others.
SOCKPUPPET_CLAIM: tuple[tuple[str, ...], ...] = (
    ("Mousavi supporters", "Mousavi's supporters", "Mousavi people"),
    (" are attacking", " attacked", " are beating"),
    (" police", " the police", " police officers"),
    (" in Vanak square", " at Vanak square", " in Vanak sq"),
    (", do not trust them", ", don't trust them", ". Do not trust them!"),
    ("", " #iranelection", " #tehran"),
)
SOCKPUPPET_KEEP = 0.8
SOCKPUPPET_FOLLOWERS = (0, 12)  # few followers, inclusive
SOCKPUPPET_AGE_DAYS = (2.0, 6.0)  # accounts made this many days before the campaign

# An organic retweet cascade: one post of a famous IR account, retweeted word for word by established
# accounts. Every word of it is common in the background, so the cascade is no surge of any term.
CASCADE_ORIGINAL = "Tehran tonight - people want their vote back, everyone to the square #iranelection"


# Background accounts: how long before the run each was made (days; most are years old) and followers.
ACCOUNT_AGE_DAYS = ((30, 365, 0.25), (365, 1100, 0.75))  # (from, to, share)
FAMOUS_FOLLOWERS = (8000, 40000)
