"""What one escalation report says about an act of violence, read without translation.

An incident is one act (a shelling, a drone strike, a clash) however many outlets
report it in however many languages. Reports are linked by what survives
translation: the kind of act (a family of lexicon concepts), the gazetteer place,
the day, casualty figures and weapon names. This module reads those facts from one
article (pure: text in, facts out); newsmon.alerting.incidents groups them.

- Type: the family of the article's strongest escalation concept (see TYPES),
  with its ACLED event_type / sub_event_type. Concepts that only qualify an act
  (civilian casualties, an attack on a town) take the family of the concept
  they come with, else count as shelling. Acts of a state (mobilization, martial
  law, a troop build-up) are not acts of violence: no incident.
- Place: the lexicon's place of that concept; the gazetteer kind gives the
  precision (town, district, region, country).
- Event day: a date the text states ("on 3 December", "3 декабря", "dekabrın
  3-də", "yesterday"), precision "day"; else the publication day, precision
  "reported" (the act happened that day or the day before).
- Casualties: the number nearest a killed or wounded word in its sentence
  (digits or number words, six languages).
- Denial: a denial cue ("denied", опроверг, հերքել, təkzib, yalanladı, dément)
  in a sentence that, without the cue, reports an act: the article answers an
  incident instead of reporting one.
- Actor: the side named with "forces/army/units" ("Armenian forces",
  "ВС Азербайджана", "Ermənistan silahlı qüvvələri").

Known limits: weekdays ("on Tuesday") are not read as dates; a number word used
as an article ("one of the soldiers") may read as a figure; an act of one side
described in a denial by the other is linked like any denial, whoever is named.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from math import asin, cos, radians, sin, sqrt
from pathlib import Path

from newsmon.analysis.escalation import ConceptMatch, Lexicon, Place
from newsmon.core.config import config_path, read_yaml


@dataclass(frozen=True)
class IncidentType:
    name: str
    acled_event_type: str
    acled_sub_event_type: str


REMOTE = "Explosions/Remote violence"
TYPES = {
    "shelling": IncidentType("shelling", REMOTE, "Shelling/artillery/missile attack"),
    "air_drone_strike": IncidentType("air_drone_strike", REMOTE, "Air/drone strike"),
    "armed_clash": IncidentType("armed_clash", "Battles", "Armed clash"),
    "shoot_down": IncidentType("shoot_down", "Strategic developments", "Disrupted weapons use"),
}
# Lexicon concept -> incident type. Concepts not listed raise no incident.
CONCEPT_TYPES = {
    "shelling": "shelling", "missile_strike": "shelling", "cluster_munitions": "shelling",
    "incendiary_weapons": "shelling", "weapon_smerch": "shelling", "weapon_polonez": "shelling",
    "weapon_lora": "shelling", "weapon_iskander": "shelling", "weapon_tochka": "shelling",
    "drone_strike": "air_drone_strike", "air_strike": "air_drone_strike",
    "weapon_bayraktar": "air_drone_strike", "weapon_harop": "air_drone_strike",
    "ceasefire_violation": "armed_clash", "downed_aircraft": "shoot_down",
}
QUALIFIERS = {"civilian_casualties": "shelling", "settlement_attack": "shelling"}
SIDES = ("AM", "AZ")
PRECISIONS = {"city": "town", "town": "town", "village": "town", "capital": "town", "district": "district",
              "province": "region", "region": "region", "country": "country"}


@dataclass(frozen=True)
class ReportFacts:
    type: IncidentType
    concepts: tuple[str, ...]
    severity: int
    place: Place
    place_precision: str
    event_date: date
    date_precision: str              # "day" (stated) | "reported" (publication day, ±1)
    killed: int | None
    wounded: int | None
    weapons: tuple[str, ...]         # named weapon systems (lexicon concepts of group weapon_system)
    actor: str | None                # AM | AZ: the side named as attacking
    denial: bool
    evidence: str                    # the sentence of the match


def read_report(lexicon: Lexicon, title: str, text: str, language: str | None,
                published: date, matches: list[ConceptMatch] | None = None) -> ReportFacts | None:
    """The incident facts of one article, or None when it reports (or denies) no act of violence.

    `matches`: lexicon.escalation of the same arguments, when the caller already has them.
    """
    body = f"{title or ''}\n{text or ''}"
    if matches is None:
        matches = lexicon.escalation(title, text, language, published)
    denial = False
    if not _violent(matches) and may_deny(body):
        masked, cues = DENIAL.subn(lambda m: " " * len(m.group()), body)
        if cues:
            matches, denial = lexicon.escalation("", masked, language, published), True
    primary = _violent(matches)
    if primary is None:
        return None
    place = primary.places[0] if primary.places else next(iter(lexicon.places(body)), None)
    if place is None:
        return None
    event_date, precision = event_day(body, published)
    killed, wounded = casualties(body)
    return ReportFacts(
        type=TYPES[_type_name(matches)], concepts=tuple(m.concept for m in matches),
        severity=max(m.severity for m in matches), place=place,
        place_precision=PRECISIONS.get(place_kinds().get(place.name, "town"), "town"),
        event_date=event_date, date_precision=precision, killed=killed, wounded=wounded,
        weapons=tuple(m.concept for m in matches if m.concept.startswith("weapon_")),
        actor=attacking_side(body), denial=denial, evidence=evidence_sentence(title, text, primary))


def _violent(matches: list[ConceptMatch]) -> ConceptMatch | None:
    """The strongest match that is an act of violence (the lexicon ranks by severity, then position)."""
    return next((m for m in matches if m.concept in CONCEPT_TYPES or m.concept in QUALIFIERS), None)


def _type_name(matches: list[ConceptMatch]) -> str:
    typed = [CONCEPT_TYPES[m.concept] for m in matches if m.concept in CONCEPT_TYPES]
    return typed[0] if typed else next(QUALIFIERS[m.concept] for m in matches if m.concept in QUALIFIERS)


@lru_cache(maxsize=4)
def place_kinds(path: str | Path | None = None) -> dict[str, str]:
    """Gazetteer name -> kind (town, district, ...), from escalation.yaml."""
    data = read_yaml(config_path("escalation.yaml", path), "escalation lexicon")
    return {entry["name"]: entry.get("kind", "town") for entry in data.get("places", []) if "name" in entry}


def distance_km(a: Place, b: Place) -> float:
    """Great-circle distance (haversine)."""
    dlat, dlon = radians(b.lat - a.lat), radians(b.lon - a.lon)
    h = sin(dlat / 2) ** 2 + cos(radians(a.lat)) * cos(radians(b.lat)) * sin(dlon / 2) ** 2
    return 2 * 6371.0 * asin(sqrt(h))


# ---------------------------------------------------------------- denial

_DENIAL_PATTERNS = [
    r"\bden(?:y|ies|ied|ying|ial)\b", r"\brefut\w*", r"\brebuff\w*", r"\bfalse\b", r"\bfake\b",
    r"\b(?:dis|mis)information\b", r"\bunfounded\b", r"\bbaseless\b", r"\buntrue\b",
    r"\b(?:dismiss|reject)\w*", r"опроверг\w*", r"дезинформац\w*", r"\bложн\w*", r"фейк\w*",
    r"голословн\w*", r"не\W+соответству\w*\W+действительност\w*", r"հերք\w*", r"ապատեղեկատվ\w*",
    r"կեղծ\w*", r"իրականությանը\W+չի\W+համապատասխան\w*", r"təkzib\w*", r"\brədd\W+et\w*",
    r"\byalan\w*", r"dezinformasiya\w*", r"əsassız\w*", r"həqiqətə\W+uyğun\W+deyil\w*", r"\breddet\w*",
    r"asılsız\w*", r"dezenformasyon\w*", r"gerçeği\W+yansıtmı\w*", r"\bdément\w*", r"\bdémenti\w*",
    r"\bfausses?\W+(?:informations?|nouvelles?|allégations?)", r"\binfox\b", r"désinformation",
    r"\binfondée?s?\b", r"\bnie\b", r"\bnient\b",
]


def _first_letters(pattern: str) -> set[str]:
    """The letters a match of one of the patterns above can start with (checked: each starts with a letter)."""
    pattern = pattern.removeprefix(r"\b")
    heads = pattern[3:pattern.index(")")].split("|") if pattern.startswith("(?:") else [pattern]
    letters = {head[0] for head in heads}
    if not all(letter.isalpha() for letter in letters):
        raise ValueError(f"denial pattern {pattern!r} must start with a letter")
    return letters


def _ahead(patterns) -> str:
    """A lookahead on the letters the patterns start with: put before their alternation, it rejects most
    positions with one test instead of trying every alternative there (the matches are the same)."""
    return "(?=[" + "".join(sorted(set().union(*map(_first_letters, patterns)))) + "])"


DENIAL = re.compile(_ahead(_DENIAL_PATTERNS) + "(?:" + "|".join(_DENIAL_PATTERNS) + ")", re.I)


# A word starting like one of these may be a denial; checking word starts first spares most texts the
# regex above, which tries every alternative at every position.
_DENIAL_STARTS = tuple(sorted({
    "den", "refut", "rebuff", "false", "fake", "disinform", "misinform", "unfounded", "baseless", "untrue",
    "dismiss", "reject", "опроверг", "дезинформ", "ложн", "фейк", "голословн", "соответству", "հերք",
    "ապատեղեկատվ", "կեղծ", "իրականությանը", "təkzib", "rədd", "yalan", "dezinformasiya", "əsassız", "həqiqətə",
    "reddet", "asılsız", "dezenformasyon", "gerçeği", "dément", "démenti", "fausse", "infox", "désinformation",
    "infondé", "nie", "nient"}))
# one search of the lowered text (all the starts are word characters: a match after a non-word
# character is a word starting so); faster than listing the words and testing each
_DENIAL_START = re.compile(_ahead(_DENIAL_STARTS) + r"(?<!\w)(?:" + "|".join(map(re.escape, _DENIAL_STARTS)) + ")")


def may_deny(text: str) -> bool:
    """Whether some word of the text starts like a denial cue (a fast test before DENIAL)."""
    return _DENIAL_START.search(text.lower()) is not None


# ---------------------------------------------------------------- the event day

_MONTHS = {
    "en": ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"],
    "ru": ["январ", "феврал", "март", "апрел", "ма[яй]", "июн", "июл", "август", "сентябр", "октябр", "ноябр",
           "декабр"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"],
    "tr": ["ocak", "şubat", "mart", "nisan", "mayıs", "haziran", "temmuz", "ağustos", "eylül", "ekim", "kasım",
           "aralık"],
    "az": ["yanvar", "fevral", "mart", "aprel", "may", "iyun", "iyul", "avqust", "sentyabr", "oktyabr", "noyabr",
           "dekabr"],
    "hy": ["հունվար", "փետրվար", "մարտ", "ապրիլ", "մայիս", "հունիս", "հուլիս", "օգոստոս", "սեպտեմբեր",
           "հոկտեմբեր", "նոյեմբեր", "դեկտեմբեր"],
}
_MONTH_WORDS = [(re.compile(rf"^(?:{stem})", re.I), number)
                for stems in _MONTHS.values() for number, stem in enumerate(stems, 1)]
_MONTH_ANY = "|".join(sorted({stem for stems in _MONTHS.values() for stem in stems}, key=len, reverse=True))
# "3 December", "3 декабря", "1er décembre", "3 Aralık"; "December 3", "dekabrın 3-də", "դեկտեմբերի 3-ին"
# a month word is its stem and a short ending (dekabrın, декабря): "Martakert" is not March
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:er)?\s+((?:{_MONTH_ANY})\w{{0,4}})(?!\w)", re.I)
_MONTH_DAY = re.compile(_ahead(_MONTH_ANY.split("|"))
                        + rf"(?<!\w)((?:{_MONTH_ANY})\w{{0,4}})\s+(\d{{1,2}})(?!\d)(?!\s*(?:%|km|км))", re.I)
_DIGIT = re.compile(r"\d")
_YESTERDAY = re.compile(r"\byesterday\b|\bвчера\b|երեկ|\bdünən\b|\bdün\b|\bhier\b", re.I)


def event_day(text: str, published: date) -> tuple[date, str]:
    """The day the text gives for the act (precision "day"), else the publication day ("reported")."""
    stated = _stated_dates(text, published)
    if stated:
        return stated[0], "day"
    if _YESTERDAY.search(text):
        return published - timedelta(days=1), "day"
    return published, "reported"


def _stated_dates(text: str, published: date) -> list[date]:
    if not _DIGIT.search(text):        # both patterns need a day number: spares the texts without one
        return []
    found = []
    for match in _DAY_MONTH.finditer(text):
        found.append((match.start(), match.group(1), match.group(2)))
    for match in _MONTH_DAY.finditer(text):
        found.append((match.start(), match.group(2), match.group(1)))
    dates = []
    for _start, day, month_word in sorted(found):
        month = next((number for pattern, number in _MONTH_WORDS if pattern.match(month_word)), None)
        stated = _in_year_before(published, month, int(day)) if month else None
        if stated:
            dates.append(stated)
    return dates


def _in_year_before(published: date, month: int, day: int) -> date | None:
    """The date in the publication's year, or the year before when that would be in the future."""
    try:
        stated = date(published.year, month, day)
        return stated if stated <= published + timedelta(days=1) else date(published.year - 1, month, day)
    except ValueError:
        return None


# ---------------------------------------------------------------- casualties

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "один": 1, "одна": 1, "одного": 1, "двое": 2, "два": 2, "две": 2, "двух": 2, "трое": 3, "три": 3, "трех": 3,
    "трёх": 3, "четверо": 4, "четыре": 4, "пятеро": 5, "пять": 5, "шестеро": 6, "шесть": 6, "семь": 7,
    "восемь": 8, "девять": 9, "десять": 10,
    "մեկ": 1, "երկու": 2, "երեք": 3, "չորս": 4, "հինգ": 5, "վեց": 6, "յոթ": 7, "ութ": 8, "ինը": 9, "տասը": 10,
    "bir": 1, "iki": 2, "üç": 3, "dörd": 4, "dört": 4, "beş": 5, "altı": 6, "yeddi": 7, "yedi": 7, "səkkiz": 8,
    "sekiz": 8, "doqquz": 9, "dokuz": 9,
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
}
_KILLED_STEMS = "killed|dead|died|погиб|убит|զոհ|սպանվ|həlak|şəhid|şehit|öldü|öldürül|tué|décédé|hayatını"
_WOUNDED_STEMS = "wounded|injured|hurt|ранен|ранени|пострада|վիրավոր|yaralan|yaralı|xəsarət|blessé"
_KILLED = re.compile(rf"^(?:{_KILLED_STEMS}|morts?$)", re.I)     # mort(s) whole: not mortier
_WOUNDED = re.compile(rf"^(?:{_WOUNDED_STEMS})", re.I)
# any casualty stem anywhere: a sentence without one has no token matching _KILLED or _WOUNDED, so its
# tokens need not be tried one by one
_CASUALTY_STEM = re.compile(_ahead([*_KILLED_STEMS.split("|"), "mort", *_WOUNDED_STEMS.split("|")])
                            + rf"(?:{_KILLED_STEMS}|mort|{_WOUNDED_STEMS})", re.I)
_TOKEN = re.compile(r"\d+|\w+")
_SENTENCES = re.compile(r"(?<=[.!?։:])\s+|\n+")
MAX_FIGURE = 500      # above this a number is a year, a distance or a count of shells


def casualties(text: str) -> tuple[int | None, int | None]:
    """(killed, wounded): the largest figure given for each in any sentence, None when none is given."""
    killed: list[int] = []
    wounded: list[int] = []
    if not _CASUALTY_STEM.search(text):
        return None, None
    for sentence in _SENTENCES.split(text):
        if not _CASUALTY_STEM.search(sentence):
            continue
        tokens = _TOKEN.findall(sentence)
        for at, token in enumerate(tokens):
            target = killed if _KILLED.match(token) else wounded if _WOUNDED.match(token) else None
            if target is not None:
                figure = _nearest_figure(tokens, at)
                if figure is not None:
                    target.append(figure)
    return (max(killed) if killed else None), (max(wounded) if wounded else None)


def _nearest_figure(tokens: list[str], at: int) -> int | None:
    """The nearest number up to 4 words before tokens[at] ("two soldiers were killed"), else up to 3
    after it ("погибли двое"); neither side looks past another casualty word."""
    for window in (range(at - 1, max(at - 5, -1), -1), range(at + 1, min(at + 4, len(tokens)))):
        for index in window:
            if _KILLED.match(tokens[index]) or _WOUNDED.match(tokens[index]):
                break
            value = _figure(tokens[index])
            if value is not None:
                return value
    return None


def _figure(token: str) -> int | None:
    if token.isdigit():
        value = int(token)
        return value if 0 < value <= MAX_FIGURE else None
    return _NUMBER_WORDS.get(token.lower().replace("i\u0307", "i"))    # Turkish İki lowers to i + dot


# ---------------------------------------------------------------- actor and evidence

_DEMONYMS = {
    "AM": r"armeni\w*|арм(?:ян|ени)\w*|հայկական\w*|հայաստան\w*|erməni\w*|ermeni\w*|arméni\w*",
    "AZ": r"azerbaija\w*|azeri\w*|azéri\w*|азербайджан\w*|ադրբեջան\w*|azərbaycan\w*|azerbaycan\w*|azerbaïdjan\w*",
}
_FORCES = (r"forces|army|armed|troops|units|soldiers|military|вс|вооруж\w*|арми\w*|подразделени\w*|"
           r"военн\w*|զինուժ\w*|զինված\w*|ստորաբաժան\w*|բանակ\w*|զ[օո]ւ|silahlı|qoşun\w*|bölmə\w*|ordu\w*|"
           r"hərbçi\w*|kuvvet\w*|güç\w*|birlik\w*|asker\w*|armée\w*|troupes|unités|militaires")
_ACTORS = {side: re.compile(_ahead(names.split("|") + _FORCES.split("|"))
                            + rf"(?<!\w)(?:(?:{names})(?:\W+\w+)?\W+(?:{_FORCES})|(?:{_FORCES})\W+(?:\w+\W+)?"
                            rf"(?:{names}))(?!\w)", re.I)
           for side, names in _DEMONYMS.items()}


def attacking_side(text: str) -> str | None:
    """The side whose forces the text names first (AM or AZ), or None."""
    found = [(match.start(), side) for side, pattern in _ACTORS.items() if (match := pattern.search(text))]
    return min(found)[1] if found else None


def evidence_sentence(title: str, text: str, match: ConceptMatch) -> str:
    """The sentence of the text holding one of the match's terms (else the title), at most 400 characters."""
    terms = [term.casefold() for term in match.terms]
    for sentence in _SENTENCES.split(text or ""):
        if any(term in sentence.casefold() for term in terms):
            return " ".join(sentence.split())[:400]
    return " ".join((title or text or "").split())[:400]
