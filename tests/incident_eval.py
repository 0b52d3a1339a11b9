"""The incident evaluation corpus: reports of invented acts in six languages, with their answer key.

Every incident is one act (type, place, day) reported by 2-5 outlets in two or
more of en, ru, hy, az, tr, fr: the first claim by an outlet of the side that was
hit, syndicated copies, reports written independently in other languages,
denials by the other side, reports by international outlets or by both sides.
Hard negatives resemble an incident without being it: the same place another
day, the same place and day but another act, the neighbouring town the same
day, a retrospective about an earlier act at the same place. The texts are
composed from templates written for this test (varied by language, date form,
casualty line and attribution); the acts, outlets and figures are invented.

score() compares what newsmon filed (article -> incident, status) with the key.
"""
from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

# place: (country, {language: name as written}): every name is in the gazetteer; in Armenian, Lachin
# and Kalbajar go by their Armenian names (Berdzor, Karvachar)
PLACES = {
    "Tartar": ("AZ", dict(en="Tartar", ru="Тертер", hy="Թարթառ", az="Tərtər", tr="Terter", fr="Tartar")),
    "Aghdam": ("AZ", dict(en="Aghdam", ru="Агдам", hy="Աղդամ", az="Ağdam", tr="Ağdam", fr="Aghdam")),
    "Fuzuli": ("AZ", dict(en="Fuzuli", ru="Физули", hy="Ֆիզուլի", az="Füzuli", tr="Füzuli", fr="Fuzuli")),
    "Lachin": ("AZ", dict(en="Lachin", ru="Лачин", hy="Բերձոր", az="Laçın", tr="Laçın", fr="Latchine")),
    # each side's name (Khankendi, Ստեփանակերտ); the French reports place it at Shusha, 6 km away
    "Stepanakert": ("AZ", dict(en="Stepanakert", ru="Ханкенди", hy="Ստեփանակերտ", az="Xankəndi", tr="Hankendi",
                               fr="Chouchi")),
    "Tovuz": ("AZ", dict(en="Tovuz", ru="Товуз", hy="Տովուզ", az="Tovuz", tr="Tovuz", fr="Tovuz")),
    "Ganja": ("AZ", dict(en="Ganja", ru="Гянджа", hy="Գանձակ", az="Gəncə", tr="Gence", fr="Gandja")),
    "Kalbajar": ("AZ", dict(en="Kalbajar", ru="Кельбаджар", hy="Քարվաճառ", az="Kəlbəcər", tr="Kelbecer",
                            fr="Kalbajar")),
    "Zangilan": ("AZ", dict(en="Zangilan", ru="Зангелан", hy="Զանգելան", az="Zəngilan", tr="Zengilan",
                            fr="Zangilan")),
    "Goris": ("AM", dict(en="Goris", ru="Горис", hy="Գորիս", az="Gorus", tr="Goris", fr="Goris")),
    "Sotk": ("AM", dict(en="Sotk", ru="Сотк", hy="Սոթք", az="Sotk", tr="Sotk", fr="Sotk")),
    "Jermuk": ("AM", dict(en="Jermuk", ru="Джермук", hy="Ջերմուկ", az="Cermuk", tr="Cermuk", fr="Jermuk")),
    "Ijevan": ("AM", dict(en="Ijevan", ru="Иджеван", hy="Իջևան", az="Ijevan", tr="Ijevan", fr="Ijevan")),
    "Kapan": ("AM", dict(en="Kapan", ru="Капан", hy="Կապան", az="Qafan", tr="Kapan", fr="Kapan")),
}
# each incident place's neighbour, 15-35 km away: "the neighbouring town the same day"
NEIGHBOURS = {
    "Tartar": ("Barda", dict(en="Barda", ru="Барда", hy="Բարդա", az="Bərdə", tr="Berde", fr="Barda")),
    "Aghdam": ("Khojaly", dict(en="Khojaly", ru="Ходжалы", hy="Խոջալու", az="Xocalı", tr="Hocalı", fr="Khojaly")),
    "Fuzuli": ("Jabrayil", dict(en="Jabrayil", ru="Джебраил", hy="Ջաբրայիլ", az="Cəbrayıl", tr="Cebrayıl",
                                fr="Jabrayil")),
    "Lachin": ("Kubatly", dict(en="Kubatly", ru="Кубатлы", hy="Կուբաթլու", az="Qubadlı", tr="Kubadlı",
                               fr="Kubatly")),
    "Tovuz": ("Gadabay", dict(en="Gadabay", ru="Гедабек", hy="Գետաբեկ", az="Gədəbəy", tr="Gedebey", fr="Gadabay")),
    "Sotk": ("Vardenis", dict(en="Vardenis", ru="Варденис", hy="Վարդենիս", az="Basarkeçər", tr="Vardenis",
                              fr="Vardenis")),
}

# name: (country, outlet_type, languages)
OUTLETS = {
    "am-mod": ("AM", "official", ("hy", "en", "ru")),
    "armenpress": ("AM", "state", ("hy", "en", "ru")),
    "yerevan-daily": ("AM", None, ("hy", "ru", "en")),
    "az-mod": ("AZ", "official", ("az", "en", "ru")),
    "azertag": ("AZ", "state", ("az", "en", "ru")),
    "baku-post": ("AZ", None, ("az", "ru", "en")),
    "anadolu-like": ("TR", "state", ("tr",)),
    "france-monde": ("FR", "international", ("fr",)),
    "caucasus-watch": ("INT", "independent", ("en", "ru")),
}
SIDE_OUTLETS = {"AM": ("am-mod", "armenpress", "yerevan-daily"), "AZ": ("az-mod", "azertag", "baku-post")}
OTHER = {"AM": "AZ", "AZ": "AM"}

MONTHS = {
    "en": ["October", "November", "December"], "ru": ["октября", "ноября", "декабря"],
    "hy": ["հոկտեմբերի", "նոյեմբերի", "դեկտեմբերի"], "az": ["oktyabrın", "noyabrın", "dekabrın"],
    "tr": ["Ekim", "Kasım", "Aralık"], "fr": ["octobre", "novembre", "décembre"],
}
NIGHT = dict(en="overnight", ru="ночью", hy="գիշերը", az="gecə", tr="gece", fr="dans la nuit")
ACTORS = {
    "AM": dict(en="Armenian forces", ru="ВС Армении", hy="հայկական զինուժը", az="Ermənistan silahlı qüvvələri",
               tr="Ermeni güçleri", fr="les forces arméniennes"),
    "AZ": dict(en="Azerbaijani forces", ru="ВС Азербайджана", hy="ադրբեջանական զինուժը",
               az="Azərbaycan silahlı qüvvələri", tr="Azerbaycan güçleri", fr="les forces azerbaïdjanaises"),
}


def when(language: str, day: date | None) -> str:
    """A stated date ("on 2 November", "2 ноября", "noyabrın 2-də") or, for None, "overnight"."""
    if day is None:
        return NIGHT[language]
    month = MONTHS[language][day.month - 10]
    return {"en": f"on {day.day} {month}", "ru": f"{day.day} {month}", "hy": f"{month} {day.day}-ին",
            "az": f"{month} {day.day}-də", "tr": f"{day.day} {month} günü", "fr": f"le {day.day} {month}"}[language]


def casualty_line(language: str, killed: int | None, wounded: int | None) -> str:
    if killed is None:
        return ""
    return {"en": f"{killed} civilians were killed and {wounded} were wounded.",
            "ru": f"Погибли {killed} мирных жителя, {wounded} человека ранены.",
            "hy": f"{killed} խաղաղ բնակիչ զոհվել է, {wounded} հոգի վիրավորվել է։",
            "az": f"{killed} mülki şəxs həlak olub, {wounded} nəfər yaralanıb.",
            "tr": f"{killed} sivil hayatını kaybetti, {wounded} kişi yaralandı.",
            "fr": f"{killed} civils ont été tués et {wounded} blessés."}[language]


# (title, text) per type and language; {a} actor, {p} place, {w} when, {c} casualties
TEMPLATES = {
    "shelling": {
        "en": [("{A} shell {p}", "{A} shelled {p} {w} with mortars and artillery, the defence ministry said. {c} "
                "Emergency crews were at the scene and the district head said damaged houses would be repaired."),
               ("Artillery fire hits {p}", "{p} came under artillery fire {w}, local officials said, blaming {a}. "
                "{c} The bombardment lasted about forty minutes and damaged a school and several homes.")],
        "ru": [("Обстрел населенного пункта {p}", "{A} {w} подвергли населенный пункт {p} минометному обстрелу, "
                "сообщило военное ведомство. {c} На месте работают спасатели, повреждены жилые дома."),
               ("{p} под артиллерийским огнем", "Населенный пункт {p} {w} попал под артиллерийский обстрел. По "
                "данным военных, огонь вели {a}. {c} Снаряды повредили линию электропередачи.")],
        "hy": [("{p}ը հրետակոծվել է", "{A} {w} հրետակոծել է {p}ը, հայտնում է պաշտպանության նախարարությունը։ {c} "
                "Վնասվել են մի քանի բնակելի տներ։"),
               ("Հրետակոծություն {p}ում", "{w} {p}ը ենթարկվել է հրետակոծության։ Ըստ զինվորականների՝ կրակը վարել է "
                "{a}։ {c}")],
        "az": [("{p} atəşə tutulub", "{A} {w} {p} ərazisini minaatanlardan atəşə tutub. {c} "
                "Müdafiə Nazirliyi bildirib ki, bir neçə ev zədələnib."),
               ("{p} artilleriya atəşinə məruz qalıb", "{w} {p} istiqamətində artilleriyadan atəş açılıb, "
                "atəşi {a} açıb. {c}")],
        "tr": [("{p}'e topçu saldırısı", "{A} {w} {p} bölgesine topçu atışı yaptı. {c} Azerbaycan Savunma "
                "Bakanlığı evlerin hasar gördüğünü açıkladı.")],
        "fr": [("{p} bombardée", "{A} ont bombardé {p} {w} à l'artillerie, selon les autorités locales. {c} "
                "Plusieurs maisons ont été endommagées.")],
    },
    "air_drone_strike": {
        "en": [("Drone strike hits {p}", "A drone strike hit a position near {p} {w}, the defence ministry said, "
                "blaming {a}. {c} The ministry said air defence units were put on alert."),
               ("Kamikaze drones target {p}", "{A} used kamikaze drones against {p} {w}, officials said. {c}")],
        "ru": [("Удар беспилотника у населенного пункта {p}", "{A} {w} нанесли удар беспилотником по позициям у "
                "населенного пункта {p}. {c} Пострадали хозяйственные постройки.")],
        "hy": [("Անօդաչու սարքի հարված {p}ում", "{w} {a} անօդաչու սարքով հարված է հասցրել {p}ի մոտ գտնվող "
                "դիրքերին։ {c}")],
        "az": [("{p} istiqamətində PUA zərbəsi", "{A} {w} {p} istiqamətində PUA zərbəsi endirib. {c} "
                "Müdafiə Nazirliyi məlumat yayıb.")],
        "tr": [("{p}'de İHA saldırısı", "{A} {w} {p} bölgesine İHA saldırısı düzenledi. {c}")],
        "fr": [("Frappe de drone à {p}", "Une frappe de drone a touché {p} {w}, attribuée à {a}. {c}")],
    },
    "armed_clash": {
        "en": [("Clashes near {p}", "{A} opened fire on positions near {p} {w}, the defence ministry said. {c} "
                "The exchange lasted several hours.")],
        "ru": [("Перестрелка у населенного пункта {p}", "{A} {w} открыли огонь по позициям в районе населенного "
                "пункта {p}. {c}")],
        "hy": [("Կրակոցներ {p}ի ուղղությամբ", "{A} {w} կրակ է բացել {p}ի ուղղությամբ։ {c}")],
        "az": [("{p} istiqamətində atışma", "{A} {w} {p} istiqamətində mövqelərimizi atəşə tutub. {c}")],
        "tr": [("{p} bölgesinde çatışma", "{A} {w} {p} bölgesinde ateş açtı. {c}")],
        "fr": [("Échanges de tirs près de {p}", "{A} ont ouvert le feu {w} près de {p}. {c}")],
    },
}
# a denial by the other side: (title, text); {p} place, {w} when
DENIALS = {
    "shelling": {
        "en": ("Defence ministry denies shelling claims", "The defence ministry denied reports that its units shelled "
               "{p} {w}, calling them disinformation."),
        "ru": ("Минобороны опровергло сообщения", "Военное ведомство опровергло сообщения об обстреле населенного "
               "пункта {p} {w}."),
        "hy": ("ՊՆ-ն հերքում է", "Պաշտպանության նախարարությունը հերքում է, որ մեր ստորաբաժանումները {w} "
               "հրետակոծել են {p}ը։"),
        "az": ("Müdafiə Nazirliyi təkzib edib", "Müdafiə Nazirliyi {p} ərazisinin {w} minaatanlardan atəşə tutulması "
               "barədə iddiaları təkzib edib."),
    },
    "air_drone_strike": {
        "en": ("Ministry denies drone strike", "The defence ministry denied that its forces carried out a drone strike "
               "near {p} {w}."),
        "ru": ("Минобороны опровергает", "Военное ведомство опровергает информацию об ударе беспилотника по позициям "
               "у населенного пункта {p} {w}."),
        "hy": ("ՊՆ-ն հերքում է", "Պաշտպանության նախարարությունը հերքում է, որ {w} անօդաչու սարքի հարված է "
               "հասցվել {p}ի մոտ։"),
        "az": ("Müdafiə Nazirliyi təkzib edib", "Müdafiə Nazirliyi {w} {p} istiqamətində PUA zərbəsi endirilməsi "
               "barədə məlumatı təkzib edib."),
    },
    "armed_clash": {
        "en": ("Ministry denies opening fire", "The defence ministry denied that its units opened fire near {p} {w}, "
               "calling the report false."),
        "ru": ("Минобороны опровергло", "Военное ведомство опровергло информацию о том, что подразделения открыли "
               "огонь в районе населенного пункта {p} {w}."),
        "hy": ("ՊՆ-ն հերքում է", "Պաշտպանության նախարարությունը հերքում է, որ {w} կրակ է բացվել {p}ի ուղղությամբ։"),
        "az": ("Müdafiə Nazirliyi təkzib edib", "Müdafiə Nazirliyi {w} {p} istiqamətində atəş açılması barədə "
               "iddiaları təkzib edib."),
    },
}
RETROSPECTIVES = {
    "en": ("A month of repairs in {p}", "Residents of {p} are still repairing homes damaged in the shelling of "
           "the town {w}. The district head said most windows had been replaced."),
    "ru": ("Восстановление населенного пункта {p}", "Жители населенного пункта {p} до сих пор восстанавливают "
           "дома, поврежденные при обстреле {w}."),
    "az": ("{p} bərpa olunur", "{p} sakinləri {w} minaatanlardan atəşə tutulan evləri hələ də bərpa edir."),
}
COPY_PREFIX = dict(en="UPDATED: ", ru="ОБНОВЛЕНО: ", hy="ԹԱՐՄԱՑՎԱԾ՝ ", az="YENİLƏNİB: ", tr="GÜNCELLENDİ: ",
                   fr="MISE À JOUR : ")
STATUSES = ("claimed", "disputed", "corroborated", "corroborated-both")


@dataclass
class Report:
    label: str                # the act it tells of (negatives: a label of their own)
    role: str                 # report | denial
    source: str
    language: str
    title: str
    text: str
    published: datetime
    negative_of: str | None = None   # the incident a hard negative resembles


@dataclass
class Corpus:
    reports: list[Report] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)   # incident label -> expected status


def _fill(template: tuple[str, str], language: str, place: str, day: date | None, actor: str | None,
          casualties: tuple[int | None, int | None]) -> tuple[str, str]:
    actor_text = ACTORS[actor][language] if actor else ""
    values = dict(p=place, w=when(language, day), a=actor_text, A=actor_text[:1].upper() + actor_text[1:],
                  c=casualty_line(language, *casualties))
    title, text = (part.format(**values) for part in template)
    return title[:1].upper() + title[1:], " ".join(text.split())[:1].upper() + " ".join(text.split())[1:]


def build(seed: int = 7, incidents: int = 64, start: date = date(2026, 10, 25)) -> Corpus:
    rng = random.Random(seed)
    corpus = Corpus()
    places, kinds = list(PLACES), list(TEMPLATES)
    for number in range(incidents):
        place = places[number % len(places)]
        kind = kinds[(number // len(places) + number) % len(kinds)]
        day = start + timedelta(days=number)
        _incident(corpus, rng, f"i{number}", kind, place, day, STATUSES[number % len(STATUSES)])
        if number % 4 == 0:
            _negatives(corpus, rng, f"i{number}", kind, place, day, number)
    corpus.reports.sort(key=lambda r: r.published)
    return corpus


def _published(rng: random.Random, day: date, stated: bool) -> datetime:
    """Reports with a stated date may come a day later; a few others come the next morning."""
    later = rng.random() < (0.4 if stated else 0.15)
    return datetime.combine(day + timedelta(days=later), time(rng.randint(7, 21), rng.randint(0, 59)), timezone.utc)


def _incident(corpus: Corpus, rng: random.Random, label: str, kind: str, place: str, day: date, plan: str) -> None:
    side, names = PLACES[place]
    attacker = OTHER[side]
    casualties = (rng.randint(1, 4), rng.randint(2, 9)) if rng.random() < 0.5 else (None, None)
    own = list(SIDE_OUTLETS[side])
    rng.shuffle(own)
    languages = list(OUTLETS[own[0]][2])
    rng.shuffle(languages)
    first_language = languages[0]
    writers = [(own[0], first_language), (own[1], next(l for l in OUTLETS[own[1]][2] if l != first_language))]
    if side == "AZ" and rng.random() < 0.5:
        writers.append(("anadolu-like", "tr"))       # a third-country state outlet: not corroboration
    if plan == "corroborated":
        writers.append(rng.choice([("france-monde", "fr"), ("caucasus-watch", rng.choice(["en", "ru"]))]))
    if plan == "corroborated-both":
        other = rng.choice(SIDE_OUTLETS[attacker])
        writers.append((other, rng.choice(OUTLETS[other][2])))
    for number, (source, language) in enumerate(writers):
        stated = rng.random() < 0.6
        template = rng.choice(TEMPLATES[kind][language])
        figures = casualties
        if number and casualties[0] is not None and rng.random() < 0.25:    # a later, higher toll
            figures = (casualties[0] + 1, casualties[1])
        title, text = _fill(template, language, names[language], day if stated else None, attacker, figures)
        corpus.reports.append(Report(label, "report", source, language, title, text, _published(rng, day, stated)))
    if rng.random() < 0.5 and len(writers) < 5:    # a syndicated copy of the first report
        first = corpus.reports[-len(writers)]
        copier = next(o for o in SIDE_OUTLETS[side] if o not in {w[0] for w in writers})
        corpus.reports.append(Report(label, "report", copier, first.language, COPY_PREFIX[first.language] + first.title,
                                     first.text, first.published + timedelta(hours=2)))
    if plan == "disputed":
        denier = SIDE_OUTLETS[attacker][0]
        language = rng.choice([l for l in OUTLETS[denier][2] if l in DENIALS[kind]])
        title, text = _fill(DENIALS[kind][language], language, names[language], day, None, (None, None))
        corpus.reports.append(Report(label, "denial", denier, language, title, text,
                                     datetime.combine(day, time(22, 30), timezone.utc)))
    corpus.statuses[label] = "corroborated" if plan.startswith("corroborated") else plan


def _negatives(corpus: Corpus, rng: random.Random, label: str, kind: str, place: str, day: date, number: int) -> None:
    """One of each hard negative for this incident, each in a language the incident was not told in first."""
    side, names = PLACES[place]
    attacker = OTHER[side]
    writer = SIDE_OUTLETS[side][2]
    other_kind = next(k for k in TEMPLATES if k != kind)

    def add(suffix: str, kind_: str, name_by_language: dict, event_day: date, published_day: date) -> None:
        language = rng.choice(OUTLETS[writer][2])
        template = rng.choice(TEMPLATES[kind_][language])
        title, text = _fill(template, language, name_by_language[language], event_day, attacker, (None, None))
        published = datetime.combine(published_day, time(rng.randint(8, 20)), timezone.utc)
        corpus.reports.append(Report(f"{label}-{suffix}", "report", writer, language, title, text, published,
                                     negative_of=label))

    add("another-day", kind, names, day + timedelta(days=3), day + timedelta(days=3))
    add("another-act", other_kind, names, day, day)
    if place in NEIGHBOURS:
        add("neighbour", kind, NEIGHBOURS[place][1], day, day)
    language = rng.choice([l for l in RETROSPECTIVES if l in OUTLETS[SIDE_OUTLETS[side][0]][2]])
    retro_writer = next(o for o in SIDE_OUTLETS[side] if language in OUTLETS[o][2])
    title, text = _fill(RETROSPECTIVES[language], language, names[language], day - timedelta(days=20), None,
                        (None, None))
    corpus.reports.append(Report(f"{label}-retrospective", "report", retro_writer, language, title, text,
                                 datetime.combine(day, time(12), timezone.utc), negative_of=label))


# ---------------------------------------------------------------- scoring

@dataclass
class Scores:
    purity: float
    completeness: float
    cross_language_recall: float
    cross_language_pairs: int
    false_cross_language_merges: int
    status_accuracy: float
    incidents: int
    reports: int
    languages: Counter
    unfiled: list[Report]

    def lines(self) -> list[str]:
        return [f"incidents (answer key): {self.incidents}, reports: {self.reports} "
                f"({', '.join(f'{l} {n}' for l, n in sorted(self.languages.items()))}), unfiled: {len(self.unfiled)}",
                f"purity {self.purity:.3f}, completeness {self.completeness:.3f}",
                f"cross-language linking recall {self.cross_language_recall:.3f} over "
                f"{self.cross_language_pairs} pairs; false cross-language merges of negatives: "
                f"{self.false_cross_language_merges}",
                f"status right for {self.status_accuracy:.3f} of the incidents"]


def score(corpus: Corpus, assignment: list[int | None], predicted_status: dict[int, str]) -> Scores:
    """assignment[i]: the incident id the i-th report was filed under (None: not filed)."""
    clusters = [a if a is not None else f"unfiled-{i}" for i, a in enumerate(assignment)]
    labels = [r.label for r in corpus.reports]
    total = len(labels)
    by_cluster: dict = defaultdict(Counter)
    by_label: dict = defaultdict(Counter)
    for cluster, label in zip(clusters, labels):
        by_cluster[cluster][label] += 1
        by_label[label][cluster] += 1
    purity = sum(max(c.values()) for c in by_cluster.values()) / total
    completeness = sum(max(c.values()) for c in by_label.values()) / total
    pairs = linked = 0
    for i, j in itertools.combinations(range(total), 2):
        a, b = corpus.reports[i], corpus.reports[j]
        if a.label == b.label and a.language != b.language and a.negative_of is None:
            pairs += 1
            linked += clusters[i] == clusters[j]
    false_merges = sum(1 for i, report in enumerate(corpus.reports) if report.negative_of is not None
                       and any(clusters[i] == clusters[j] and other.label != report.label
                               and other.language != report.language
                               for j, other in enumerate(corpus.reports)))
    right = 0
    for label, expected in corpus.statuses.items():
        cluster = by_label[label].most_common(1)[0][0]
        right += predicted_status.get(cluster) == expected
    return Scores(purity, completeness, linked / pairs if pairs else 0.0, pairs, false_merges,
                  right / len(corpus.statuses), len(corpus.statuses), total,
                  Counter(r.language for r in corpus.reports),
                  [r for r, a in zip(corpus.reports, assignment) if a is None])
