"""The classifier's curated cue lexicon: English, Persian (Arabic script) and Finglish. Pure data.

Each *channel* (a category, or a signal used for priority and stance) maps a weight to cues. A category
fires when the weights of its distinct cues found in a post add up to at least 1: a ``1.0`` cue is enough
on its own, ``0.5`` cues need company, negative cues cancel (``-1``) or veto (``-3``).

Cue syntax, matched against the normalizer's tokens (so spell cues the way it folds text: lower case,
no ZWNJ, ``can't`` -> ``cant``, ``sit-in`` -> ``sit in``, Persian ی/ک):

* ``word``      the token itself;
* ``stem*``     any token starting with ``stem``; a token takes only its *longest* matching stem among all
                single-word cues (``فیلترشکن*`` circumvention wins over ``فیلتر*`` censorship);
* ``a b``       consecutive tokens (each may be a ``stem*``);
* ``a ~ b``     ``b`` within four tokens after ``a``;
* ``fl:cue``    only in Finglish posts (``fa-Latn``): Finglish words that are also English words;
* ``en:cue``    not in Finglish posts: English words that are also Finglish words (``jam``).

Cues are separated by ``|`` or new lines; ``#`` starts a comment only at the start of a line.
"""

from __future__ import annotations

# Signals besides the nine categories: priority (urgent, lethal, safety, now, report), stance (pro_*),
# and context (abroad: the diaspora and foreign places; official: foreign governments and bodies).
SIGNALS = (
    "chatter",
    "urgent",
    "lethal",
    "safety",
    "now",
    "report",
    "abroad",
    "official",
    "pro_mousavi",
    "pro_ahmadinejad",
)

# Words that talk *about* words (filtered terms, evasion spellings): they veto topic categories.
_METALINGUISTIC = """
words like | words such as | terms like | the words | misspell* | the word violence | the word unrest
کلماتی مثل | کلمات | کلمه violence | کلمه unrest | kalamati mesle | kalamat | kalame ha | kalameha
kalame violence | kalame unrest
"""

# Clock times announce gatherings: "ساعت ۵" / "saat 5" / "at 5" (digits are folded to ASCII).
_CLOCK = " | ".join(f"ساعت {hour} | saat {hour} | at {hour}" for hour in range(1, 13))

LEXICON: dict[str, dict[float, str]] = {
    # -------------------------------------------------------------------------------------------------
    "protest": {
        1.0: """
        protest | protests | protesting | protested | rally | rallies | rallying | rallied
        march | marches | marching | marched | marchers | demonstration* | demonstrators | demonstrated
        gathering | gatherings | gather | gathered | gathers | gather at | sit in | sitin | sit ins
        general strike | strike called | strikes | on strike | strike on | from the roofs | on the roofs
        on the rooftops | spoke to the crowd | human chain | stopped work | stop work | walkout | uprising
        allahu akbar | allah akbar | allaho akbar | allah o akbar | allahoakbar | allahuakbar | #allahuakbar
        chant* | took to the streets | take to the streets | taking to the streets | to the streets
        silent march | mass protest* | street protest* | boycott* | day of mourning | #iranstrike
        join the rally | bring water | cover your face | charging the crowd | into the crowd
        # Persian
        تظاهرات* | تجمع* | راهپیمایی* | راه پیمایی | اعتراض* | الله اکبر | اللهاکبر | برای مردم صحبت کرد
        اعتصاب* | تحصن* | شعار میدادند | سردادند | جمع شده* | جمع شو* | جمع شد* | جمع میشو* | جمع شویم
        زنجیره انسانی | دست از کار | عزای عمومی | سوگواری | همه بیایید
        # Finglish
        tajamo* | rahpeymayi* | rahpeymaee | tazahorat* | eteraz* | moteraz* | etesab* | tahason*
        allaho akbar | allah akbar | jam shodan | jam shodand | jam shin | jam mishim | jam mishan | jam shim
        hame biain | hame biayid
        zanjire ensani | dast az kar
        chanting | chants | converge* | assembled | gathered at | bazaar ~ closed | bazaar strike | car horns
        honking
        راهپیمایان | تظاهرکنندگان | شعار دادند | بازار ~ بسته | بوق میزنند | tazahorat konandegan
        shoar midadan
        bazar ~ baste
        huge crowd | massive crowd | streets are full | join us | come out | everyone out | everybody out
        هزاران | صدها هزار | سبز بپوشید | hezaran | sad ha hezar | sadha hezar | sabz bepooshid | hame berim
        rahpeimaei | rahpeymai | rahpeimayi
        """,
        0.5: """
        protester* | protestor* | crowd | crowds | thousand | thousands | millions | a million
        hundreds of thousands | mobiliz* | slogan* | death to | down with | where is my vote
        ya hossein mir hossein | wear green | riots | riot | sea of green | in green | the streets
        on the street
        on the streets | in the streets | demo | rooftop* | roof top* | roofs | shouting
        we want democracy | we will not give up | people keep coming | keep coming | is full | in silence
        walking | wear black | bring candles | mourning | martyrs | at the crowd | on the crowd
        the crowd | million people | sq
        1pm | 2pm | 3pm | 4pm | 5pm | 6pm | 7pm | 8pm | 9pm | 10pm | 11pm | 12pm | noon | tomorrow noon
        funeral | green wave | #greenwave | silent | candles | sea of people | marchers | occupy | معترضان
        اجتماع
        حضور | میلیونی | موج سبز | بوق | فریاد | moj e sabz | moje sabz | boogh | faryad
        hundreds | demos | join | be there | see you at | walk | strike | huge crowds | آدم | لباس سبز | برویم
        میرویم
        adam | lebas sabz | berim | mirim
        فردا ظهر | farda zohr | ساعت ~ عصر | saat ~ asr | ساعت ~ شب | saat ~ shab
        """
        + _CLOCK
        + """
        # Persian
        شعار* | مرگ بر | رای من کو | رای ما کو | جمعیت* | به جمعیت* | هواداران | بیایید | بیاید
        ناآرامی* | معترض* | ما democracy میخواهیم | یا حسین میرحسین | یا حسین میر حسین | از رای خود نمیگذریم
        بام* | ساکت | سکوت | راه میروند | جا ندارد | مردم ~ میآیند | لباس سیاه | شهدا | عزا* | میلیونها
        # Finglish
        shoar* | marg bar | raye man koo | jamiat* | biayid | biaid | biain | bian | naaram* | sokoot
        ma democracy mikhaym | ma democracy mikhaim | sohbat kard | nemigozarim | unrest* | shologh*
        meshki | lebas e siah | lebase siah | siah bepooshid | shohada | vasat e jamiat | milion ha | khiaboon
        """,
        0.25: """
        tonight | tomorrow | today | square | meet | امشب | فردا | امروز | میدان | ظهر | عصر | emshab | farda
        emrooz | meydan* | meydoon* | zohr | asr | panjshanbe | پنجشنبه | thursday | ساعت | saat
        خیابان* | khiaboon* | kheyaboon* | streets
        """,
        -1.0: """
        riot police | ضد شورش | zede shooresh | since ~ rally | after the rally | after ~ rally
        بعد از راهپیمایی
        rally cancelled | wrong ~ rally | rally times | غلط ~ تجمع | اشتباه ~ تجمع | eshtebahe tajamo
        photos ~ protests | covering ~ demonstration* | coverage | پوشش | film of | فیلم تظاهرات
        ساعت ~ صبح | saat ~ sob | in the morning | am
        """,
        -3.0: _METALINGUISTIC,
    },
    # -------------------------------------------------------------------------------------------------
    "violence": {
        1.0: """
        beat | beats | beating | beatings | beaten | tear gas | teargas | tear gassed | gassed | shot | shots
        shooting | shootings | shoot | gunfire | gunshot* | gunmen | opened fire | fired on | fired at
        shots fired | killed | killing | killings | kills | murder* | attack | attacked | attacking | attacks
        clubs and chains | knife | knives | stabbed | stabbing | clash | clashes | clashed | bloodshed
        brutal*
        violen* | pepper spray | water cannon* | rubber bullet* | bullet* | assault* | death toll | were hit
        being hit | hit with | bludgeon* | whipped | thrashed | burned | burnt | set fire | set on fire
        torched | arson | stones thrown | throwing stones | threw stones | war zone | electric baton*
        lost count of ~ tear gas | broke into
        # Persian
        حمله* | کتک* | ضرب و شتم | گاز اشکآور | اشکآور* | اشک آور | تیراندازی* | تیر اندازی | شلیک*
        کشته* | کشتن* | کشتند | به قتل | قتل* | خشونت* | درگیری* | چماق* | چاقو* | صدای تیر | را زدند
        خونین | آتش زدند | به آتش | سنگ پرانی | سنگ میزنند | تیر خورد* | را میزنند | افتاده به جان
        # Finglish
        hamle* | kotak* | zarb o shatm | gaz ashkavar | gaz ashk avar | ashkavar* | ashk avar | tirandazi*
        tir andazi
        sedaye tir | shelik* | koshte* | koshtan* | koshtand | ghatl* | khoshoonat* | khoshunat* | dargiri*
        chomagh* | chaghoo* | ro zadan | ro ~ mizan* | ro zadand | haro zadan | atish zadan
        sang o ajor | tir khord* | tir zadan
        sniper* | live fire | live rounds | opened fire on | punched | kicked and beaten | tortur* | raped
        rape
        stormed | storming | machete* | beaten up | shot by | killed by | wounded by | injured by | brutally
        مضروب | کتک خورد* | شکنجه* | تک تیرانداز* | گلوله* | هجوم* | یورش* | تجاوز
        golole* | hojoom* | yoresh* | shekanje* | kotak khord* | tak tirandaz*
        beat up | beating up | gas canister* | canister* | bloodied | bodies | corpse* | martyred | run over
        ran over
        burning | molotov* | punch* | gunman | rifle* | pistol* | ak47 | fired tear gas | shot at
        attacked by
        # blasts and bombings state the force as plainly as a shot does (REALDATA.md maps blast casualties
        # to violence); "photobomb" and "bombshell" are other words, so no prefix
        explosion | explosions | exploded | explode | explodes | blast | blasts | bomb | bombs | bombing
        bombings | bombed | bomber | bombers | grenade* | shootout* | massacre* | gunshot wound*
        انفجار* | بمب | بمبگذاری* | نارنجک* | enfejar* | bomb gozari | narenjak*
        جسد* | جنازه* | اسپری فلفل | تفنگ* | سوزاندند | زیر گرفت* | زد و خورد | کوبیدند | لگد*
        jasad* | jenaze* | espray felfel | tofang* | soozoondan | zir gereftan | zir gereft* | zad o khord
        laghad*
        """,
        0.5: """
        kill | dead | died | dying | martyr* | bloody | chains | clubs | club | plainclothes
        plain clothes | thugs | raid* | crackdown | hurt | violently | unrest* | ambush* | militia* | chased
        running | people running | stones | fire | baton* | batons | smash* | gets hit | get hit | hit
        motorbike* | riot police | broke | charging | using ~ batons | zede shooresh | ضد شورش
        # Persian
        شهید* | لباس شخصی* | سرکوب* | زنجیر | میزنند | میزند | زدند | ناآرامی* | فرار | باتوم* | چوب | ریختند
        شکستند | سنگ | موتوری* | با موتور | انصار* | محاصره*
        # Finglish
        shahid* | lebas shakhsi* | sarkoob* | zanjir | zadan | zadand | mizanan | mizane | mizanand | naaram*
        farar | fl:tir | batom* | rikhtan | shekastan | sang | mindazan | ansar* | ba motor | motori* | ajor
        guns | armed | pushed | kicked | dorm* | wounded | injured | اسلحه* | مسلح* | mosalah* | aslahe*
        body | casualt* | acid | hit by | motorcycles | hezbollah | chaos | rocks | bricks | threw | throwing
        broken
        dragged | ammunition | pepper
        شهادت | گاز | آتش | باتون | موتورسوار* | درگیر | پرتاب* | مشت
        khooni | gaz | atish | motor savar* | dargir | mizadan | shahadat
        """,
        -1.0: """
        zang mizan* | zang zad* | harf mizan* | harf zad* | dor zadan | dor bezan* | sar zad* | sar mizan*
        زنگ میزن* | زنگ زد* | حرف میزن* | دور زدن | دور بزن* | cyber attack* | ddos attack* | hacktivist*
        attack* ~ site* | attack* ~ website* | attack* ~ server* | fl:haft e tir | fl:hafte tir
        violence ~ stop | violence ~ end | violence ~ tamoom
        violence ~ تمام | for tear gas | against tear gas | baraye gaz | برای گاز | ba sar zad
        """,
        -3.0: _METALINGUISTIC,
    },
    # -------------------------------------------------------------------------------------------------
    "arrest": {
        1.0: """
        arrest* | detain* | detention* | jailed | imprison* | evin | custody | abduct* | kidnap*
        taken away | took him | took her | took them | took my | were taken | was taken | been taken
        taken from | took ~ away | hauled off | rounded up | round up | captured | picked up by | dragged away
        dragged off | taken to prison | taken to jail | behind bars | political prisoner* | prisoners
        dozens taken | many taken | people taken | pulled into
        # Persian
        بازداشت* | دستگیر* | اوین | زندان* | ربود* | حصر خانگی | حصر | بردندش | بردنش | ربودند | را بردند
        را میبرند | را میگیرند | انداختند توی | انداختند داخل
        # Finglish
        bazdasht* | dastgir* | zendan* | hasr* | bordanshoon | bordanesh | ro ~ migiran | ro bordan
        haro bordan | ro mibaran | ro mibarand | haro mibaran | ro gereftan | haro gereftan
        locked up | whereabouts unknown | bundled into | thrown into ~ van* | taken into custody | being held
        arrested | detained | زندانی* | بازداشتگاه* | bazdashtgah* | zendani*
        interrogat* | bail | sentenced | solitary | held without | بازجویی* | وثیقه | gereftanesh | bazjooyi*
        vasighe
        """,
        0.5: """
        prison | jail | missing | disappeared | no news since | no news of | raid* | loading people
        into buses | tracking | tracked | names at | families waiting | prisoner | plainclothes
        plain clothes
        agents | taking names | taking people | taking ~ men | taking ~ women | taking ~ students | taken
        house to house | off the bus
        # Persian
        بردند | بردن | هیچ خبری نیست | خبری نیست | ناپدید* | خانوادهها | منتظر خبر | ردیابی* | لباس شخصی*
        اسم مینویسند | را گرفتند | میبرند | خانه به خانه | پیاده کردند | ریختند | برنگشته
        # Finglish
        bordan | bordand | migiran | hich khabari nist | khabari nist | napadid* | radyabi* | lebas shakhsi*
        esm minevisan | mibaran | khoone be khoone | rikhtan | gereftan | barnagashte
        van | vans | held | seized | summoned | احضار* | ون | ehzar*
        took | cell | released | freed | trial | court | charged | warrant | آزاد شد* | بدون حکم | محاکمه*
        دادگاه*
        گرفتند | azad shod* | bedoone hokm | dadgah* | mohakeme*
        """,
        -1.0: """
        photo* ~ taken | picture* ~ taken | video* ~ taken | taken today | عکس* ~ گرفت* | aks* ~ gereft*
        """,
    },
    # -------------------------------------------------------------------------------------------------
    "medical": {
        1.0: """
        doctor* | nurse | nurses | nursing | hospital* | ambulance* | medical | medic | medics | medicine
        blood donor* | donate blood | blood type | o negative | o positive | type o | bandage* | saline
        gauze
        first aid | emergency room | surgeon* | clinic | clinics | paramedic* | need blood | needs blood
        stitches | physician* | treat the injured | treat the wounded | first-aid | er
        # Persian
        پزشک* | دکتر* | بیمارستان* | آمبولانس* | اهدای خون | خون نیاز | پرستار* | اورژانس* | درمانگاه*
        کمک پزشکی | کمکهای اولیه | گروه خونی | جراحت* | درمان کنید | خون گروه
        # Finglish
        pezeshk* | bimarestan* | parastar* | orjans* | amboolans* | komake pezeshki | komak haye avalie
        komakhaye avalie | goroohe khooni | khoon lazem | darmangah*
        red crescent | blood bank* | stretcher* | medical supplies | هلال احمر | بانک خون | امداد* | پانسمان*
        helal ahmar | amdad* | pansman*
        """,
        0.5: """
        treat | treatment | hurt | blood | pharmacy | drugs | medication* | urgent need | wounded | injured
        injuries | injury | wounds | bleeding | casualties | vinegar | rinse | dont rub | unconscious
        # Persian
        خون | درمان* | دارو* | زخمی* | مجروح* | خونریزی* | سرکه | نمالید | بشویید | بیهوش
        # Finglish
        khoon | darman* | daroo* | zakhmi* | majrooh* | khoonrizi* | sirke | nemalid | beshoorid | bihoosh
        donate | pharmacies | supplies | اهدا* | باند | ahda*
        treated | treating | patient | patients | drug | vaccine* | intensive care | icu | critical condition
        """,
        -1.0: """
        blood on | bloodshed | bloody | doctor ahmadinejad | dr ahmadinejad | دکتر ahmadinejad
        not at any hospital | هیچ بیمارستانی | hich bimarestani
        """,
    },
    # -------------------------------------------------------------------------------------------------
    "censorship": {
        1.0: """
        censor* | filter | filters | filtered | filtering | blocked | blocking | banned | bans | banning
        ban on
        en:jam | jammed | jamming | unreachable | inaccessible | cant reach | cannot reach | can not reach
        cant access | cannot access | not accessible | no access | blackout | media blackout | shut off
        remove all | ordered ~ remove | remove ~ material | removing ~ content | create tension
        satellite* ~ down | dishes ~ down | taking satellites | confiscat* | expelled | kicked out
        cut off | were cut | was cut | been cut | is cut | cut sms | disconnected | internet down
        cracking down on ~ communication | not allowed to ~ cover | banned from | restrictions on | throttl*
        slowed down | posts ~ disappear | no sms | no internet | no phone | no phones | no reporting
        must delete | ordered to delete | forced to delete | ordered not to | not to release | wont load
        # Persian
        سانسور* | فیلتر | فیلتر شد | فیلتر شده | فیلتر شدند | فیلتر میکنند | فیلترینگ | فیلترش | مسدود*
        پارازیت* | ممنوع* | قطع شد | قطع شده | قطع است | ماهوارهها را | ماهواره ~ جمع | اجازه ~ ندارند
        باز نمیشود | ناپدید میشوند | اینترنت نداریم | اینترنت نیست | پیامک نداریم | قطع میشود
        دستور داده* ~ ندهند | توقیف*
        # Finglish
        filter shod | filter shodan | filter shode | filter mikonan | filter mishe | sansoor* | parazit*
        mamnoo* | ghat shod | ghat shode | ghate | ghat e | ghat mishe | baz nemishe | kond shode
        mahvareha ro
        internet nadarim | internet nist | sms nadarim | fl:filter | filter nashan
        seized ~ newspaper* | newspaper* ~ seized | newspaper* ~ shut | shut down ~ newspaper*
        closed ~ newspaper*
        network down | sms down | phones dead | text messages blocked | internet cut | deported ~ journalist*
        journalist* ~ deported | press card* | revoked ~ accreditation | accreditation | توقیف*
        روزنامه* ~ بسته
        tavghif*
        cannot load | doesnt load | not loading | phones ~ down | باز نمیشه | بسته شده | blocked*
        """,
        0.5: """
        block | blocks | shut down | shutting down | cut | down | slow | slowed | offline | outage
        not working
        sms | text messaging | text messages | texting | internet | mobile | mobiles | phones | phone lines
        landline* | satellite | satellites | dish | dishes | websites | web sites | website | sites
        journalists | foreign journalists | foreign media | foreign press | bbc persian | voa | disappear
        remove | removed | state sites | only state | cracking down | crackdown | restrict* | sanctions
        figures | orders ~ journalists | stay in their offices | face prosecution | signal
        # Persian
        قطع | پیامک* | اساماس | اینترنت* | موبایل* | تلفن* | ماهواره* | بیبیسی فارسی | خبرنگاران خارجی
        خبرنگارهای خارجی | کند است | کند شده | بسته میشود | بسته شد | دستور داده* | آمار | تماس*
        # Finglish
        ghat | internet | mobile | mahvare* | bbc farsi | kond | tamas* | beinolmelali
        no signal | newspaper* | deported | visas | اخراج* | روزنامه* | آنتن | ekhraj* | antan
        timed out | bandwidth | mobile network | cell phones | texts | press | reporters | press freedom
        dish
        دیش | بشقاب | کار نمیکند | کار نمیکنه | خبرنگار* | سرعت | اس ام اس | kar nemikone | roozname*
        khabarnegar*
        sorat
        """,
        -1.0: """
        filtershekan* | فیلترشکن* | set up | setup | taking down iranian | taking down ~ government
        power cut | bargh | برق | دور زدن فیلتر | dor zadan filter | dor zadane filter | filter shekan
        filter ~ dor zad* | filter ~ dor bezan* | فیلتر ~ دور زد* | فیلتر ~ دور بزن*
        """,
    },
    # -------------------------------------------------------------------------------------------------
    "circumvention": {
        1.0: """
        proxy | proxies | proxys | proxy* | vpn* | tor | tor bridges | freegate | ultrasurf | psiphon
        web proxy | mirror site* | mirror* | circumvent* | bypass* | get around | ways around | way around
        set your location | location ~ tehran | time zone | timezone | 0330 | delete ~ tweets
        delete ~ photos
        delete ~ posts | delete ~ pictures | delete ~ videos | delete all | dm only | via dm
        send them via dm
        dont publish | do not publish | dont tweet it | do not tweet it | encrypt* | spoof* | anonymiz*
        hide your ip | access ~ blocked | access ~ censored | google talk | gtalk | find it safe | #iranproxy
        #tor4iran | bluetooth | word of mouth | misspell* | get past the filter | past the filter
        geotag* | change ~ password* | change ~ pwd | upload first
        # Persian
        پروکسی* | پراکسی* | فیلترشکن* | فیلتر شکن | وی پی ان | ویپیان | تور | فریگیت* | فری گیت
        دور زدن | دور بزنید | پیام خصوصی | منتشر نکنید | آلتراسرف* | اولتراسرف* | آینه* | بلوتوث*
        دهان به دهان | منطقه زمانی | رمز ~ عوض | پاک کنید
        # Finglish
        filtershekan* | filter shekan | dor zadan | dor bezanid | dm konid | public nazarid | emtehan konid
        bluetooth | dahan be dahan | pak konid | ramz ~ avaz
        use ~ https | tor browser | dynaweb | gpass | hotspot shield | your freedom | anonymouse | thuraya
        satellite phone* | proxy list* | ssh tunnel* | socks proxy
        """,
        0.5: """
        bridges | relays | anonym* | dms | dm me | direct message* | publicly | https | secure | safe | safer
        trace | track | tracking | location | gmt | confuse | setting | delete | deleting | usernames
        instructions | links | access | tunnel* | skype | yahoo chat | encrypted | real name | revoke
        codeword | password* | pwd | phone to phone | dont post | try | write | spell* | works
        # Persian
        امن | حذف کنید | عمومی | رمز | گوشی به گوشی | بنویسید
        # Finglish
        hazf konid | public | emtehan | goshi be goshi | benevisid | kar mikone
        ssh | socks | ip address* | onion | port | dial up | fax | ساکس | تونل* | آیپی | tunel
        ip | آدرس جدید | address
        """,
        -1.0: """
        must delete | ordered to delete | forced to delete
        """,
    },
    # -------------------------------------------------------------------------------------------------
    "disinformation": {
        1.0: """
        disinformation | misinformation | misinform* | fake | fakes | faked | false | falsely | lies | lying
        liar* | rumor* | rumour* | hoax* | doctored | photoshop* | posing as | pose as | impersonat*
        fake accounts | dont spread | do not spread | not true | untrue | debunk* | misleading | refute*
        total lies | spread lies | state tv says | state tv claims | state media claims | state radio claims
        propaganda | went berserk | check your sources | verify first | not from his office | staged
        old photo* | old video* | old pictures | recycled | honeypot* | until verified | dont rt | do not rt
        before you rt | is lying | are lying | media ~ lying | invent stories | invents stories
        # Persian
        شایعه* | جعلی* | دروغ* | پخش نکنید | جا میزنند | خبر نادرست | نادرست | تکذیب* | فتوشاپ* | قصه میسازد
        صدا و سیما میگوید | تلویزیون ~ میگوید
        # Finglish
        shayee* | shaye | jaali* | doroogh* | dorough* | pakhsh nakonid | takzib* | seda o sima mige
        tv dolati mige | photoshop*
        false flag | fabricated | impostor* | imposter* | sock puppet* | agent provocateur* | provocateur*
        ساختگی | صحت ندارد | واقعیت ندارد | sakhtegi | sehat nadare | vaghiat nadare
        old footage | disinfo | dont trust | do not trust | dont believe | do not believe | dont fall for
        not him
        باور نکنید | اعتماد نکنید | فیلم قدیمی | عکس قدیمی | پروپاگاندا | bavar nakonid | etemad nakonid
        aks ghadimi | film ghadimi | akse ghadimi
        """,
        0.5: """
        unconfirmed | not confirmed | unverified | cant confirm | cannot confirm | verify | verified | claims
        claim | claimed | state tv | state television | state media | state radio | beware | wrong | inventing
        spreading | accounts | no evidence | allegedly | alleged | rumors | press tv | irib | kayhan | lie
        dont match | as if | logging | check the source | check dates | trap
        # Persian
        تایید نشده | تلویزیون دولتی | صدا و سیما | رسانه دولتی | چک کنید | منبع | مراقب باشید | اشتباه | غلط
        پرس تیوی | ادعا میکن* | ادعا کرد* | مال سال | تله | ثبت میکن* | قدیمی
        # Finglish
        taid nashode | tv dolati | manba | check konid | movazeb bashid | eshtebah* | press tv | male sal
        tale | sabt mikone | seda o sima | ghalat
        made up | not real | troll* | planted | infiltrat* | نفوذی* | کیهان | صحت | nofoozi* | kayhan
        spin | denied | denies | deny | source | sources | spy | parody | footage | تبلیغات | جاسوس* | ghadimi
        jasoos*
        """,
        -1.0: """
        i cant confirm | i cannot confirm
        """,
    },
    # -------------------------------------------------------------------------------------------------
    "election": {
        1.0: """
        ballot* | fraud | fraudulent | rigged | rigging | recount* | annul* | guardian council | landslide
        official result* | election result* | declared ~ winner | divine assessment | victory speech
        turnout | irregularities | electoral | polling station* | stolen election | vote was stolen
        votes than voters | more votes | vote count* | counting ~ votes | reelection | re election
        stolen vote* | vote rigging | election fraud | their annulment | results of ~ election
        million votes | mousavi lost | lost the election | cancel* ~ vote | vote ~ cancel* | illegitimate
        voted for | i voted | we voted | people voted | رای دادم | رای دادند | رای دادیم | ray dadam
        ray dadan
        ray dadim
        # Persian
        تقلب* | شورای نگهبان | ابطال* | بازشماری* | تعرفه* | رای گیری | رایگیری | نتیجه رسمی | نتایج رسمی
        شمارش آرا | آرای | انتخابات ریاست جمهوری | دزدیده شد | میلیون رای | برگه رای | برگهی رای
        mousavi باخت
        پیروزی ahmadinejad | مشارکت
        # Finglish
        taghalob* | shoraye negahban | ebtal* | baz shomari | natije rasmi | dozdidan | raye ma ro
        piroozie ahmadinejad | piroozi ahmadinejad | milion ray | million ray | mousavi bakht
        ahmadinejad victory | victory of ahmadinejad | ahmadinejad win* | ahmadinejad won
        endorses ahmadinejad
        reelected
        exit poll* | second round | runoff | run off | re run | new election | polling day
        ballot box* | دور دوم | انتخابات مجدد | صندوق رای | صندوقهای رای | dore dovom | entekhabate mojadad
        sandoogh e ray | sandooghe ray
        mousavi won | mousavi win* | won the election | cheat* | stole | they stole | دزدیدند | تقلب شده
        """,
        0.5: """
        election | elections | vote | votes | voting | voter | voters | result
        results | poll | polls | candidate* | campaign* | victory | winner | stolen | interior ministry
        karroubi
        karoubi | rezaee | rezaei | rezai | endorse* | percent | complaint* | presidential | reject the result
        counts | observers | where is my vote | accept the result | accept it | voted
        # Persian
        انتخابات* | رای | آرا | نتیجه* | نتایج | صندوق* | کاندید* | نامزد* | پیروزی* | وزارت کشور | کروبی
        رضایی
        درصد | شکایت | قبول ندارند | تایید کرد | رای داد | شمرده* | شمارش* | برگه*
        رای من کجاست | #رای_من_کجاست | قبول کند | باخت
        # Finglish
        entekhabat* | raye | ray | rai | natije* | sandogh* | sandoog* | kandid* | piroozi* | karroubi
        darsad | shekayat | ghabool nadaran | taid kard | ray dad | shemorde*
        ray e man kojast | raye man kojast
        count | counted | margin | won | invalid | line to vote | queue* | برنده | barande | election day
        nation has spoken | congratulat* | ملت حرفش را زد | تبریک* | mellat harfesho zad | mobarak*
        counting | steal* | دزدی | dozdi | shemaresh | bakht | bord
        """,
        -1.0: """
        not a stolen election | نه تقلب | na taghalob | lost count
        """,
    },
    # -------------------------------------------------------------------------------------------------
    "solidarity": {
        1.0: """
        solidarity | show support | show your support | in support of | support for | stand with
        standing with | we stand | world is watching | vigil* | candlelight | candle light | green ribbon*
        green overlay | avatar* | thoughts and prayers | praying for | pray for | prayers go out
        heart goes out | thoughts ~ go out | diaspora | iranians abroad | condemn* | not alone | sympathy
        everyone fight | everyones fight | the people of iran | turn ~ green | go green | amnesty
        human rights watch | green wristband* | wristbands | ich bin
        # Persian
        همبستگی* | تنها نیستیم | دنیا ~ میبیند | صدای ما باشید | ایرانیان خارج | مبارزه همه | مچبند سبز
        دلمان با شماست | شمعروشن | شمع روشن
        # Finglish
        hambastegi* | tanha nistim | donya ~ mibine | donya ~ negah | sedaye ma bashid | iraniaye kharej
        mobarezeye hame | mochband e sabz | mochbande sabz | ma ba shomaim
        we are with you | we support you | thoughts are with | love from | godspeed | stay strong
        support iran
        twibbon | با شما هستیم | همراه شما | ایرانیان مقیم | ba shoma hastim | hamrahe shoma
        people of iran | freedom for iran | green for iran | we are all neda | i am neda | in solidarity
        stand by you
        with the people of | در کنار شما | کنار شما هستیم | دل ما با شماست | برای مردم ایران | محکوم*
        kenare shoma
        kenaretoon | delemoon ba shomast | baraye mardome iran | mahkoom*
        condolence* | prayfor* | pray4* | #prayfor* | #pray4* | #prayers* | prayers for | prayers to
        # Sympathy in the Romance languages and French of the crisis feeds (words of dictionaries, not
        # taken from posts; REALDATA.md): condolences, prayers, rest in peace, strength to ..., solidarity
        condolencias | condolências | condoglianze | condoléances | pésame | pêsames | oremos | oramos
        rezamos | rezando por | rezar por | orando por | orar por | preghiamo | pregate | pregando per
        preghiere per | prions | prières | priez | descanse en paz | descanse em paz | riposa in pace
        riposino in pace | repose en paix | reposent en paix | en paz descanse | d e p | qepd | fuerza a
        fuerza para | mucha fuerza | força a | força para | muita força | forza a
        forza ragazzi | courage à | solidaridad | solidariedade | solidarietà | solidarité | luto | lutto
        deuil | ánimo a | animo a | ánimo para | uniti per | unidos por | unidos con | siamo con | estamos con
        estamos contigo | estamos com | avec vous | nos pensées | nuestros pensamientos | nossos pensamentos
        i nostri pensieri | vicini a | vicinanza | abbraccia* | abrazo a | abraço a | tristeza | tristezza
        tristesse | mis oraciones | minhas orações | oraciones por | orações por | mi cuore
        #fuerza* | #forza* | #força* | #forca* | #animo* | #ánimo* | #oremos* | #oração* | #prega*
        """,
        0.5: """
        support | supporting | we are all | all iranians | embassy | embassies | outside iran | prayers
        # "RIP MJ" is no crisis: RIP takes a second cue
        rest in peace | rip | r i p | #rip
        free iran | #freeiran | #helpiran | fight for | human rights | international community | ribbon*
        overlay | thinking of | the world | worldwide | around the world | breaks my heart | time zone
        timezone | together | independent investigation | calls on | must stop | green band*
        # Persian
        حمایت* | خارج از کشور | سفارت* | شمع* | ممنونیم | روبان سبز | هموطنان | منطقه زمانی | مبارزه
        # Finglish
        hemayat* | kharej az keshvar | merci | mobareze
        hugs | respect | brave | bravery | courage | inspired | proud of | درود بر | dorood bar
        with you | stand by | for iran | proud | freedom for | statement | world leaders | resolution
        players
        برای ایران | بیانیه | baraye iran | bayaniye
        """,
        -1.0: """
        supporters of | supporters | his supporters | support through | supporter of | supporter
        support of the protest* | in support of the protest* | حمایت از اعتراض* | hemayat az eteraz*
        """,
    },
    # -------------------------------------------------------------------------------------------------
    # Signals.
    "urgent": {
        1.0: """
        urgent* | immediately | asap | emergency | please come | please go | come here | dont leave us
        do not leave us | sos | calling out | right now | need doctors | need a doctor | need ~ doctor*
        need ~ nurse* | need ~ blood | need of medical | urgent need | any doctors | any doctor | no doctor
        cant take her | cant take him | help
        # Persian
        فوری* | همین الان | تنها نگذارید | لطفا بروید | نیاز داریم | نیاز دارند | نیاز دارد | دکتری ~ هست
        دکتر نداریم | کمک | نمیتوانیم ببریمش
        # Finglish
        fori | foran | hamin alan | tanha nazarid | lotfan berid | lazem darim | lazem dare | mikhan | komak
        """,
        -1.0: """
        komak haye avalie | komakhaye avalie | کمکهای اولیه | کمک های اولیه | first aid
        """,
        0.5: """
        now | needed | please | need
        # Persian
        الان | لطفا | نیاز*
        # Finglish
        alan | lotfan | lazem
        """,
    },
    "chatter": {
        1.0: """
        going crazy | lol | seriously | in my life | i voted | where is my vote | so much noise | omg | wtf
        cant believe | who else | جدی | در عمرم | دیوانه* | رای دادم | رای من کو | رای من کجاست | divoone*
        ray dadam | raye man koo | ray e man kojast | raye man kojast | jeddi
        """,
    },
    "lethal": {
        1.0: """
        shot | shot dead | shots | shooting | shots fired | gunfire | gunshot* | opened fire | live ammunition
        bleeding | dying | killed | dead | stabbed | critical condition | shot in the | unconscious | trapped
        locked themselves in | cornered | surrounded
        # Persian
        تیراندازی* | تیر خورد | تیر خورده | شلیک* | کشته* | خونریزی* | در حال مرگ | صدای تیر | بیهوش
        گیر افتاده*
        # Finglish
        tirandazi* | tir khord* | shelik* | koshte* | khoonrizi* | sedaye tir | bihoosh | gir oftad*
        tir zadan
        """,
        -3.0: """
        shot of | screenshot*
        """,
    },
    "safety": {
        1.0: """
        delete ~ tweets | delete ~ photos | delete ~ posts | delete all | they are watching | being watched
        taking names | dont publish | do not publish | stay away | stay safe | are watching
        dm only | avoid the area | avoid ~ square | avoid ~ street | dont go
        do not go | dont come
        do not come | dont use | do not use | geotag* | change ~ password* | change ~ pwd | honeypot* | trap
        vinegar | somewhere else to go | dont take ~ hospital | do not take ~ hospital
        # Persian
        اسم مینویسند | زیر نظر* | منتشر نکنید | ردیابی* | نیایید | نروید | نبرید | تله
        پاک کنید | رمز ~ عوض | سرکه
        # Finglish
        esm minevisan | zir nazar* | public nazarid | radyabi* | nayaid | be ~ narid | nabarid
        rad nashid | tale | estefade nakonid | pak konid | sirke | jaye dige berid | hoshdar
        """,
        0.5: """
        be careful | careful | مراقب باشید | movazeb bashid | warning | هشدار | tracking | tracked | traced
        """,
        -1.0: """
        must delete | ordered to delete | forced to delete
        """,
    },
    "now": {
        1.0: """
        right now | now | happening | at the moment | as we speak | currently | tonight | this evening
        we are | they are | are waiting | i saw | in our street | our street
        # Persian
        الان | همین الان | امشب | هماکنون | در حال | دارند | هنوز
        # Finglish
        alan | hamin alan | emshab | daran | dare
        """,
        0.5: """
        today | beating | attacking | arresting | taking | using | smashing | raiding | charging | firing
        امروز | میزنند | میکنند | میبرند | میگیرند | emrooz | mizanan | mibaran | migiran | mindazan
        """,
    },
    "report": {
        1.0: """
        ap | reuters | afp | bbc says | cnn | fars | fars news | irna | isna | according to | reports that
        reported | amnesty says | police chief | officials say | officials said | a friend says | says
        news agency | newsweek | remember her | remember him | rip | rest in peace | her name was
        his name was | camp says | campaigns site | site says | khabar
        # Persian
        خبرگزاری* | به گزارش | گزارش شده | فرمانده | ستاد موسوی | میگوید | گفتند | یادش | اسمش
        # Finglish
        khabargozari* | gozaresh | mige | setad | yadesh | esmesh
        """,
        0.5: """
        said | say | announce* | statement | told | مگوید | گفت | goft | gofte
        """,
    },
    "abroad": {
        1.0: """
        london | berlin | toronto | paris | los angeles | new york | washington | hamburg | stockholm
        amsterdam | vancouver | sydney | seoul | korea | korean | canada | germany | france | french
        british | europe | european | australia | embassy | embassies | consulate | abroad | outside iran
        diaspora | trafalgar | trocadero | brandenburg
        # Persian
        لندن | برلین | تورنتو | پاریس | لسآنجلس | نیویورک | واشنگتن | هامبورگ | استکهلم | سئول | کره
        سفارت* | کنسولگری* | خارج از کشور | ایرانیان خارج
        # Finglish
        kharej az keshvar | consulgari | konsulgari | safarat* | iraniaye kharej
        rome | madrid | brussels | vienna | geneva | zurich | oslo | copenhagen | dublin | montreal | ottawa
        chicago
        san francisco | boston | seattle | melbourne | tokyo | frankfurt | munich | cologne | glasgow
        manchester
        irvine | tehrangeles | westwood | la | the hague | us congress | senate | america | american | germans
        آمریکا | اروپا | آلمان | فرانسه | انگلیس | کانادا | استرالیا | سوئد | هلند | ایتالیا | آمستردام
        سیدنی | ونکوور
        amrika | oroopa | alman | faranse | engelis | kanada | ostoralia | khareje keshvar | iraniane kharej
        irooniaye kharej
        """,
    },
    "official": {
        1.0: """
        obama | clinton | white house | state department | eu | european union | en:un | united nations
        amnesty | human rights watch | merkel | sarkozy | gordon brown | foreign ministers | foreign minister
        ban ki moon | ministers | g8 | prime minister | president obama | secretary
        # Persian
        اوباما | اتحادیه اروپا | سازمان ملل | عفو بینالملل
        united states | congress | senate | white house | downing street | foreign office | g8 | nato
        vatican
        وزیر خارجه | کاخ سفید | پارلمان اروپا
        """,
    },
    "pro_mousavi": {
        1.0: """
        where is my vote | ya hossein mir hossein | mousavi is our president | death to the dictator
        death to dictator | down with the dictator | stolen election | vote was stolen | stolen vote*
        wear green
        for mousavi | our vote | not my president | down with ahmadinejad | death to khamenei | liar
        we will not give up | not a stolen | total lies | are criminals | rigged | vote for mousavi
        voted for mousavi | bastards | cant believe it | scared of the truth | heartbreaking | murderers
        regime | dictator | spread the word | pass it on | keep the lie | heroes
        # Persian
        رای من کو | رای من کجاست | #رای_من_کجاست | یا حسین میرحسین | یا حسین میر حسین | موسوی رئیس جمهور
        موسوی رئیسجمهور | مرگ بر دیکتاتور | از رای خود نمیگذریم | رای ما دزدیده | دروغ محض | مرگ بر خامنهای
        مرگ بر ahmadinejad | باورم نمیشود | دیوانه میشوم | پخش کنید | رحم نکردند | قهرمان*
        # Finglish
        raye man koo | ray e man kojast | raye man kojast | ya hossein mir hossein
        mousavi raees jomhoore mast
        marg bar dictator | az rayemoon nemigozarim | raye ma ro dozdidan | dorooghe mahz | marg bar khamenei
        marg bar ahmadinejad | tarafdaraye mousavi | pakhsh konid | az haghighat mitarsan | divoone misham
        be mir hossein ray
        """,
        0.5: """
        fraud | green | sabz | سبز | تقلب* | taghalob* | democracy | we | us | our | ما | ma | they | them
        #gr88 | please rt | rt | pass | حمایت | cant | basiji | basij | lebas shakhsi*
        """,
    },
    "pro_ahmadinejad": {
        1.0: """
        long live ahmadinejad | ahmadinejad is our president | zende bad ahmadinejad | زنده باد ahmadinejad
        velvet revolution | foreign agents | foreign backed | congratulat* ~ ahmadinejad | support ahmadinejad
        vote for ahmadinejad | voted for ahmadinejad | nation has spoken | ملت حرفش را زد
        mellat harfesho zad
        showed restraint | order must be restored | امنیت باید برگردد | amniat bayad bargarde
        celebrate their choice
        جشن پیروزی | mobarak e doctor ahmadinejad | mobarak | تبریک | be ahmadinejad ray | به ahmadinejad رای
        sabr kard | صبر کرد | western media | رسانههای غربی | rasane haye gharbi | accept it like a man
        مردانه قبول
        """,
        0.5: """
        criminals | dust | divine | rioters | hooligans | اغتشاشگر* | eghteshashgar* | آشوبگر* | ashoobgar*
        اشرار | ashrar | move on | time to move on | صدای اکثریت | accept it | قبول کند
        """,
    },
}
