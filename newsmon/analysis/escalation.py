"""Escalation lexicon: find escalation and de-escalation language in news text.

How a match is found
- config/escalation.yaml holds the concepts (regex patterns per language), a place
  gazetteer and the cue lists used by the rules below.
- Text and patterns are folded alike, one character for one: Latin diacritics go
  (Gəncə -> Gence, Tərtər -> Terter, é -> e), ı -> i, ё -> е, typographic apostrophes
  -> '. Case is ignored, except inside (?-i:...) groups (LORA, Barda).
- A pattern matches only where a word starts and may run on into any suffix
  (обстрел -> обстрелом, Gəncə -> Gəncəyə, Ganja -> Ganja'ya); a pattern that must not
  take a suffix ends with \\b.
- One scan finds everything: each word is looked up by its first letters in a table
  of the first letters of every pattern (concepts, places, cues, years), and only the
  patterns listed there are tried. Every rule below is arithmetic on what it found.

When a match does not count (a sentence-level window rule, the same for every concept)
- negation: a `negation` cue in the match's clause (commas and semicolons split
  clauses) at most WINDOW_BEFORE words before or WINDOW_AFTER words after it, the
  matched words included;
  `negation_before` cues ("without", без, sans, առանց) only before it;
  `negation_suffix` patterns (az/tr negative verbs: pozulmayıb, yaşanmadı) are
  searched inside words, and count as `negation` cues.
- denial: a `denial` cue anywhere in the sentence ("denied reports", опроверг, հերքել,
  təkzib, yalanladı, démenti).
- history: a `history` cue ("30 years ago", "в 90-х", "44-day war") or a year before
  the article's year, in the match's clause or in the sentence's opening clause ("In
  2016, ..." scopes over the whole sentence), or in the clause before a semicolon
  ("captured in 1992; hundreds were killed"). Anniversaries, memories and routine
  events ("one year since", "il ötür", "remembers", "would continue as planned") are
  history cues too. Cues and years inside a `since` phrase do not count: "the
  heaviest shelling since 2020" is news.

Known limits
- Clauses are punctuation-delimited: a negation or a year past a comma is missed
  ("Reports, spread online, that Baku shelled Tartar are false" is caught only because
  denial is sentence-wide); a number before a counted noun ("2000 shots") is no year.
- Any negation near a match cancels it, even one of another verb: "Baku has not
  stopped shelling Tartar" does not count; "не только обстрел, но и ..." neither.
- Without `published`, the reference year is the current one, so the dates inside an
  old article read as history.
- az/tr/hy `since` phrases are recognised after a year only ("2020-ci ildən bəri"), not
  after a named war.
- Hypothetical, conditional, future and reported claims count as they are ("could
  lead to war", "threatened to use Iskander", "Baku accused Yerevan of shelling").
- Matching starts at word starts: compounds need their own pattern (артобстрел).
- Sentences end at . ! ? … ։ (or an Armenian word's ':') before a space, and at line
  breaks: abbreviations ("Gen.", "г.") end a sentence early.
"""
from __future__ import annotations

import bisect
import json
import functools
import itertools
import re
import re._parser as sre_parser   # to read a pattern's possible first letters
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path


from newsmon.core.config import ConfigError, config_path, read_yaml
from newsmon.core.errors import one_line

LANGUAGES = ("en", "ru", "hy", "az", "tr", "fr")
# Language detectors confuse Azerbaijani and Turkish: either hint uses both lexicons.
_RELATED = {"az": ("tr",), "tr": ("az",)}
KINDS = ("escalation", "de_escalation")
PLACE_KINDS = ("city", "town", "village", "district", "province", "region", "capital", "country")
_REGIONS = ("region", "province")   # better than a wrong town when the sentence names no town
_CAPITALS = ("capital",)           # often a metonym ("Baku said"): a fallback only
# Where an event happens is a place, except for acts of a state (mobilization,
# martial law): their place is the country that acts.
SCOPES = ("place", "country")
CUE_KINDS = ("negation", "negation_before", "negation_suffix", "denial", "history", "since")
# Words a negation reaches before and after a match: predicates come late in
# ru/hy/az/tr ("обстрелов со стороны Армении за сутки не зафиксировано").
WINDOW_BEFORE, WINDOW_AFTER = 4, 6
# A word selects its candidate patterns by its first three letters, or two.
_KEY_LENGTH, _SHORT_KEY = 3, 2
_PLACEHOLDERS = {"{gap}": r"(?:\W+\w+){0,3}?\W+"}   # up to three words in between
EVIDENCE_SENTENCES, EVIDENCE_CHARS = 2, 300   # what an alert quotes of the article
# A year, unless it counts something: "fired over 2000 shots" tells no history.
_COUNTED = ("shots|rounds|shells|bullets|troops|soldiers|times|people|выстрел|снаряд|мин|раз|человек|"
            "военн|կրակոց|արկ|անգամ|մարդ|defe|gulle|atis|mermi|kez|asker|coups|obus|balles|fois|tirs|soldats")
_YEAR_PATTERN = rf"(?:19|20)\d\d(?!\d)(?![.,]\d)(?!\W+(?:{_COUNTED}))"

_WORD = re.compile(r"\w+")
_WORD_REST = re.compile(r"\w*")
# Armenian often ends a sentence with ':' (for ։); every branch starts with a literal, to scan fast.
_SENTENCE_END = re.compile(r"[.!?…։]+[\"'»”)\]]*(?=\s)|\n+|:(?<=[\u0531-\u0587]:)(?=\s)")
_CLAUSE_END = re.compile(r"[,;՝]")
# "ЕРЕВАН, 16 сен — Sputnik.", "BAKU, Sept 16 (Reuters) -": where the report was filed,
# at the start of the text (after the title line), is not where the event happened.
_DATELINE = re.compile(r"\A[^\n]*\n\s*([^\W\d][^\n,.]{1,30},[^\n]{1,40}?\s[—–-]\s)")


@dataclass(frozen=True)
class Place:
    name: str       # in English
    country: str    # AM or AZ
    lat: float
    lon: float


@dataclass(frozen=True)
class ConceptMatch:
    concept: str                 # concept id
    label: str
    severity: int                # 1..3; 0 for de-escalation
    kind: str                    # "escalation" | "de_escalation"
    terms: tuple[str, ...]       # surface forms matched, as written in the text
    places: tuple[Place, ...]    # near the match, else the article's main place, else ()
    evidence: tuple[str, ...] = ()   # the sentences that matched (at most EVIDENCE_SENTENCES)
    rule: str = ""                   # the pattern that fired, e.g. "shelling/ru: обстрел"


def _strip_marks(char: str) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return bare if len(bare) == 1 else char


# One character for one, so that spans in the folded text are spans in the original.
_FOLD = str.maketrans({
    **{chr(code): _strip_marks(chr(code)) for code in range(0xC0, 0x250)},
    "ə": "e", "Ə": "E", "ı": "i", "ё": "е", "Ё": "Е",
    "’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "\u2011": "-",
    "\xa0": " ", "\u2009": " ", "\u202f": " ", "\t": " ",
})
_ESCAPE_OR_TEXT = re.compile(r"\\.|[^\\]+", re.S)


def _fold_pattern(pattern: str) -> str:
    """Fold a regex's literal text, leaving escapes such as \\W or \\S alone."""
    return _ESCAPE_OR_TEXT.sub(
        lambda m: m.group() if m.group().startswith("\\") else m.group().translate(_FOLD), pattern)


# ---------------------------------------------------------------- configuration

def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_keys(what: str, entry, required: tuple, optional: tuple = ()) -> None:
    _require(isinstance(entry, dict), f"{what}: expected a mapping")
    for key in entry:
        _require(key in required or key in optional, f"{what}: unknown key '{key}'")
    for key in required:
        _require(key in entry, f"{what}: missing key '{key}'")


def _pattern_list(what: str, value) -> list[str]:
    _require(isinstance(value, list) and value and all(isinstance(p, str) and p for p in value),
             f"{what}: expected a non-empty list of patterns")
    return value


def _class_letters(items) -> set[str] | None:
    letters: set[str] = set()
    for op, av in items:
        if op is sre_parser.LITERAL:
            letters.add(chr(av).lower())
        elif op is sre_parser.RANGE and av[1] - av[0] < 40:
            letters.update(chr(code).lower() for code in range(av[0], av[1] + 1))
        else:    # a category, a negation or a wide range: any letter may follow
            return None
    return letters


def _prefixes(items: list, prefix: str = "") -> set[str]:
    """The lower-cased starts (up to _KEY_LENGTH letters) that every match of items begins with."""
    if len(prefix) == _KEY_LENGTH or not items:
        return {prefix}
    (op, av), rest = items[0], list(items[1:])
    if op is sre_parser.LITERAL:
        return _prefixes(rest, prefix + chr(av).lower())
    if op is sre_parser.IN:
        letters = _class_letters(av)
        return {prefix} if letters is None else set().union(*(_prefixes(rest, prefix + c) for c in letters))
    if op is sre_parser.BRANCH:
        return set().union(*(_prefixes(list(branch) + rest, prefix) for branch in av[1]))
    if op is sre_parser.SUBPATTERN:
        return _prefixes(list(av[-1]) + rest, prefix)
    if op is sre_parser.ATOMIC_GROUP:
        return _prefixes(list(av) + rest, prefix)
    if op in (sre_parser.AT, sre_parser.ASSERT, sre_parser.ASSERT_NOT):
        return _prefixes(rest, prefix)
    if op in (sre_parser.MAX_REPEAT, sre_parser.MIN_REPEAT, sre_parser.POSSESSIVE_REPEAT):
        low, _high, repeated = av
        first = _prefixes(list(repeated), prefix)    # what follows a repeat is not followed
        return first if low else first | _prefixes(rest, prefix)
    return {prefix}


def _keys(what: str, pattern: str) -> frozenset[str]:
    try:
        keys = _prefixes(list(sre_parser.parse(pattern)))
    except re.error as exc:
        raise ValueError(f"{what}: bad pattern {pattern!r}: {exc}") from exc
    _require(all(len(key) >= _SHORT_KEY and _WORD.match(key) for key in keys),
             f"{what}: pattern {pattern!r} must start with two letters or digits")
    return frozenset(keys)


@dataclass(frozen=True)
class _Gazetteer:
    place: Place
    tier: str      # "specific", "region", "capital" or "country"


@dataclass(frozen=True)
class _Rule:
    """Patterns found by the scan; exactly one of concept, place and cue is set."""
    regex: re.Pattern
    keys: frozenset[str]
    language: str               # "any" for places and years
    concept: str | None = None
    place: _Gazetteer | None = None
    cue: str | None = None
    written: tuple[str, ...] = ()   # the patterns as the file writes them, to name the one that fired
    compiled: tuple[str, ...] = ()  # the same, placeholders expanded and folded

    def which(self, folded: str, start: int) -> str:
        """The pattern, as written, that matches at start: only asked for the evidence of an alert."""
        for written, pattern in zip(self.written, self.compiled):
            if _compiled(pattern).match(folded, start):
                return written
        return ""


@functools.lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern:
    """One pattern of a rule on its own, compiled once (re's own cache is too small for the lexicon)."""
    return re.compile(pattern, re.I)


def _rule(what: str, patterns: list[str], language: str, written: list[str] | None = None, **target) -> _Rule:
    keys = frozenset().union(*(_keys(what, p) for p in patterns))
    return _Rule(re.compile("|".join(f"(?:{p})" for p in patterns), re.I), keys, language, **target,
                 written=tuple(written or ()), compiled=tuple(patterns) if written else ())


def _named(section: str, index: int, entry, name_key: str) -> str:
    """How an error names an entry: by its name when it has one."""
    if isinstance(entry, dict) and isinstance(entry.get(name_key), str):
        return f"{section} '{entry[name_key]}'"
    return f"{section}[{index}]"


def _place_rule(index: int, entry) -> tuple[_Rule, list[str]]:
    what = _named("place", index, entry, "name")
    _check_keys(what, entry, ("name", "country", "kind", "lat", "lon", "names"), ("note",))
    _require(entry["kind"] in PLACE_KINDS, f"{what}: kind must be one of {', '.join(PLACE_KINDS)}")
    _require(isinstance(entry["country"], str) and re.fullmatch(r"[A-Z]{2}", entry["country"]) is not None,
             f"{what}: country must be a two-letter code")
    for axis, limit in (("lat", 90), ("lon", 180)):
        _require(isinstance(entry[axis], (int, float)) and abs(entry[axis]) <= limit,
                 f"{what}: {axis} must be a number within ±{limit}")
    names = [_fold_pattern(p) for p in _pattern_list(f"{what} names", entry["names"])]
    place = Place(entry["name"], entry["country"], float(entry["lat"]), float(entry["lon"]))
    kind = entry["kind"]
    tier = ("country" if kind == "country" else "region" if kind in _REGIONS
            else "capital" if kind in _CAPITALS else "specific")
    # a country is not a {place} of the concept patterns: "attacks on Armenia" names no target
    return _rule(what, names, "any", place=_Gazetteer(place, tier)), [] if tier == "country" else names


def _concept_rules(index: int, entry, place_pattern: str) -> tuple[dict, list[_Rule]]:
    what = _named("concept", index, entry, "id")
    _check_keys(what, entry, ("id", "label", "severity", "kind", "patterns"), ("group", "scope"))
    concept = entry["id"]
    _require(isinstance(concept, str) and re.fullmatch(r"[a-z][a-z0-9_]*", concept) is not None,
             f"{what}: id must be lower_snake_case")
    _require(isinstance(entry["label"], str) and entry["label"] != "", f"{what}: label must be text")
    _require(entry["kind"] in KINDS, f"{what}: kind must be one of {', '.join(KINDS)}")
    _require(entry.get("scope", "place") in SCOPES, f"{what}: scope must be one of {', '.join(SCOPES)}")
    severities = (0,) if entry["kind"] == "de_escalation" else (1, 2, 3)
    _require(entry["severity"] in severities, f"{what}: severity must be one of {severities}")
    patterns = entry["patterns"]
    _require(isinstance(patterns, dict), f"{what}: patterns must map languages to lists")
    for language in patterns:
        _require(language in LANGUAGES or language == "any", f"{what}: unknown language '{language}'")
    for language in LANGUAGES:
        _require(language in patterns or "any" in patterns, f"{what}: no patterns for language '{language}'")
    expansions = {**_PLACEHOLDERS, "{place}": place_pattern}
    rules = []
    for language, raw in patterns.items():
        expanded = []
        for pattern in _pattern_list(f"{what} ({language})", raw):
            for placeholder, expansion in expansions.items():
                pattern = pattern.replace(placeholder, expansion)
            expanded.append(_fold_pattern(pattern))
        rules.append(_rule(f"{what} ({language})", expanded, language, raw, concept=concept))
    info = {"label": entry["label"], "severity": entry["severity"], "kind": entry["kind"],
            "group": entry.get("group"), "scope": entry.get("scope", "place")}
    return info, rules


def _cue_rules(cues) -> tuple[list[_Rule], dict[str, re.Pattern]]:
    """Cue rules for the scan, and the negative-suffix regex of each language."""
    _check_keys("cues", cues, CUE_KINDS)
    rules, suffixes = [], {}
    for kind in CUE_KINDS:
        _check_keys(f"cues.{kind}", cues[kind], (), LANGUAGES)
        for language, raw in cues[kind].items():
            what = f"cues.{kind}.{language}"
            patterns = [_fold_pattern(p) for p in _pattern_list(what, raw)]
            if kind == "negation_suffix":    # inside words: searched in the lower-cased text
                try:
                    suffixes[language] = re.compile("|".join(f"(?:{p})" for p in patterns))
                except re.error as exc:
                    raise ValueError(f"{what}: bad pattern: {exc}") from exc
            else:
                rules.append(_rule(what, patterns, language, cue=kind))
    return rules, suffixes


# ---------------------------------------------------------------- matching

@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    rule: _Rule
    matched_end: int = 0    # where the pattern itself stopped, before the word's suffix


class _Index:
    """The rules of one language selection, reached through the first letters of a word."""

    def __init__(self, rules: list[_Rule], negative_suffix: re.Pattern, names: "_Names | None" = None):
        self.names = names
        by_key: dict[str, list[_Rule]] = {}
        for rule in rules:
            for key in rule.keys:
                by_key.setdefault(key, []).append(rule)
        # A word is looked up by its first letters, then by fewer: a key's entry
        # also holds the rules of its short prefix.
        self.rules = {key: tuple(dict.fromkeys([*by_key.get(key[:_SHORT_KEY], ()), *rules]))
                      for key, rules in by_key.items()}
        self.negative_suffix = negative_suffix

    def scan(self, folded: str, lowered: str) -> list[_Hit]:
        find = self.rules.get
        name_starts = self.names.starts if self.names else frozenset()
        hits = []
        for word in _WORD.finditer(lowered):
            start = word.start()
            key = lowered[start:start + _KEY_LENGTH]
            for rule in find(key) or find(lowered[start:start + _SHORT_KEY], ()):
                match = rule.regex.match(folded, start)
                if match:    # a stem's surface form is the whole word
                    hits.append(_Hit(start, _WORD_REST.match(folded, match.end()).end(), rule, match.end()))
            if key in name_starts:    # checked here: most words start no generated name
                named = self.names.find(lowered, word)
                if named:
                    hits.append(named)
        return hits


def _words_back(text: str, position: int, floor: int, count: int) -> int:
    """Where the `count` words before position start, not before floor."""
    for _ in range(count):
        space = text.rfind(" ", floor, max(position - 1, floor))
        if space < 0:
            return floor
        position = space + 1
    return position


def _words_forward(text: str, position: int, ceiling: int, count: int) -> int:
    """Where the `count` words after position end, not past ceiling."""
    for _ in range(count):
        space = text.find(" ", position + 1, ceiling)
        if space < 0:
            return ceiling
        position = space
    return position


class _Reading:
    """One text folded and scanned once; the rules are then arithmetic on positions."""

    def __init__(self, text: str, index: _Index, year: int):
        self.text = unicodedata.normalize("NFC", text)
        self.folded = self.text.translate(_FOLD)
        self.lowered = self.folded.lower()    # same length: folding already turned İ into I
        self.sentence_starts = [0] + [m.end() for m in _SENTENCE_END.finditer(self.folded)]
        clause_ends = [m.end() for m in _CLAUSE_END.finditer(self.folded)]
        self.clause_starts = sorted({*self.sentence_starts, *clause_ends})
        hits = index.scan(self.folded, self.lowered)
        self.concept_hits = [hit for hit in hits if hit.rule.concept]
        dateline = _DATELINE.search(self.folded)
        self.place_hits = _longest_names([hit for hit in hits if hit.rule.place
                                          and not (dateline and dateline.start(1) <= hit.start < dateline.end(1))])
        self.places_by_sentence: dict[int, list[_Gazetteer]] = {}
        for hit in self.place_hits:
            self.places_by_sentence.setdefault(self.sentence_of(hit.start), []).append(hit.rule.place)
        self.cues = self._cue_positions([hit for hit in hits if hit.rule.cue], year)
        suffixed = [m.start() for m in index.negative_suffix.finditer(self.lowered)]
        self.cues["negation"] = sorted(self.cues["negation"] + suffixed)

    def _cue_positions(self, hits: list[_Hit], year: int) -> dict[str, list[int]]:
        since = [(hit.start, hit.end) for hit in hits if hit.rule.cue == "since"]
        positions: dict[str, list[int]] = {"negation": [], "negation_before": [], "denial": [], "history": []}
        for hit in hits:
            kind = hit.rule.cue
            if kind == "year":
                kind = "history" if int(self.folded[hit.start:hit.start + 4]) < year else None
            if kind == "history" and any(start <= hit.start < end for start, end in since):
                continue    # "since 2020" compares with the past, it does not tell it
            if kind in positions:
                positions[kind].append(hit.start)
        return positions     # starts in scan order, which is text order

    def sentence_of(self, position: int) -> int:
        return bisect.bisect_right(self.sentence_starts, position) - 1

    def _span(self, starts: list[int], position: int) -> tuple[int, int]:
        at = bisect.bisect_right(starts, position) - 1
        return starts[at], starts[at + 1] if at + 1 < len(starts) else len(self.folded)

    def _cue_between(self, kind: str, start: int, end: int) -> bool:
        positions = self.cues[kind]
        at = bisect.bisect_left(positions, start)
        return at < len(positions) and positions[at] < end

    def counts(self, hit: _Hit) -> bool:
        """Whether the match reports something happening now, rather than denied or past."""
        sentence = self._span(self.sentence_starts, hit.start)
        clause = self._span(self.clause_starts, hit.start)
        opening = self._span(self.clause_starts, sentence[0])
        # "It was captured in 1992; hundreds were killed": a semicolon goes on with the same time
        joined = self._span(self.clause_starts, clause[0] - 1) \
            if clause[0] > sentence[0] and self.folded[clause[0] - 1] == ";" else clause
        return not (self._cue_between("denial", *sentence)
                    or self._cue_between("history", joined[0], clause[1]) or self._cue_between("history", *opening)
                    or self._negated(hit, clause))

    def _negated(self, hit: _Hit, clause: tuple[int, int]) -> bool:
        if not (self._cue_between("negation", *clause) or self._cue_between("negation_before", *clause)):
            return False    # the common case, decided without measuring the window
        start = _words_back(self.folded, hit.start, clause[0], WINDOW_BEFORE)
        end = _words_forward(self.folded, hit.end, clause[1], WINDOW_AFTER)
        return self._cue_between("negation", start, end) or self._cue_between("negation_before", start, hit.start)

    def surface(self, hit: _Hit) -> str:
        return " ".join(self.text[hit.start:hit.end].split()).strip("«»\"'“”()")


def _longest_names(hits: list[_Hit]) -> list[_Hit]:
    """Of the places named at one position, those whose name covers most of the word:
    "Chinari" is the village Chinari, not Chinar + a suffix."""
    longest: dict[int, int] = {}
    for hit in hits:
        longest[hit.start] = max(longest.get(hit.start, 0), hit.matched_end)
    return [hit for hit in hits if hit.matched_end == longest[hit.start]]


def _places_near(reading: _Reading, hits: list[_Hit], scope: str) -> tuple[Place, ...]:
    """Places in the match's sentence, else the sentences around it, else the article's most
    mentioned one; towns first, then a region named near the match (better than a town of
    another sentence), capitals last (often metonyms).
    An act of a state (scope "country") takes the country acting in its sentence when
    that sentence names no specific place: "le gouvernement arménien a décrété la
    mobilisation" is Armenia's, whatever town the sentence before was about."""
    own = sorted({reading.sentence_of(hit.start) for hit in hits})
    around = sorted({s + step for s in own for step in (-1, 1)} - set(own))

    def named_in(sentences: list[int], tier: str) -> tuple[Place, ...]:
        return tuple(dict.fromkeys(entry.place for s in sentences for entry in reading.places_by_sentence.get(s, ())
                                   if entry.tier == tier))

    def most_mentioned(tier: str) -> tuple[Place, ...]:
        mentions = Counter(hit.rule.place for hit in reading.place_hits if hit.rule.place.tier == tier)
        return (max(mentions, key=mentions.__getitem__).place,) if mentions else ()   # ties: first mentioned

    searches = (
        lambda: named_in(own, "specific"),
        lambda: _acting_country(reading, hits) if scope == "country" else (),
        lambda: named_in(own, "region"),
        lambda: named_in(around, "specific"),
        lambda: named_in(around, "region"),
        lambda: most_mentioned("specific"),
        lambda: most_mentioned("region"),
        lambda: named_in(own, "capital"),
        lambda: named_in(around, "capital"),
        lambda: most_mentioned("capital"),
    )
    return next((found for search in searches if (found := search())), ())


def _acting_country(reading: _Reading, hits: list[_Hit]) -> tuple[Place, ...]:
    """The country named nearest before the match in its sentence (the subject comes
    first in all six languages: "Azerbaijan says Armenia declared mobilization"), else
    the first one after it ("mobilization was declared in Armenia")."""
    for hit in hits:    # the first match whose sentence names a country (a title often names none)
        start, sentence = hit.start, reading.sentence_of(hit.start)
        countries = [place for place in reading.place_hits
                     if place.rule.place.tier == "country" and reading.sentence_of(place.start) == sentence]
        chosen = [p for p in countries if p.end <= start][-1:] or [p for p in countries if p.start >= start][:1]
        if chosen:
            return (chosen[0].rule.place.place,)
    return ()


def _outermost(hits: list[_Hit]) -> list[_Hit]:
    """Drop the hits that lie inside an earlier, longer hit of the same concept."""
    kept: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if not kept or hit.end > kept[-1].end:
            kept.append(hit)
    return kept


def _terms(reading: _Reading, hits: list[_Hit]) -> tuple[str, ...]:
    terms: dict[str, str] = {}
    for hit in _outermost(hits):
        surface = reading.surface(hit)
        terms.setdefault(surface.casefold(), surface)
    return tuple(terms.values())


def _evidence(reading: _Reading, hits: list[_Hit]) -> tuple[str, ...]:
    """The sentences of the first matches, whitespace collapsed, each cut at EVIDENCE_CHARS."""
    sentences = dict.fromkeys(reading.sentence_of(hit.start) for hit in hits)
    found = []
    for number in list(sentences)[:EVIDENCE_SENTENCES]:
        start = reading.sentence_starts[number]
        end = reading.sentence_starts[number + 1] if number + 1 < len(reading.sentence_starts) else len(reading.text)
        sentence = " ".join(reading.text[start:end].split())
        found.append(sentence if len(sentence) <= EVIDENCE_CHARS else sentence[:EVIDENCE_CHARS - 1] + "…")
    return tuple(found)


def _reference_year(published: date | None) -> int:
    return (published or datetime.now(timezone.utc)).year


def _place_rules(entries: list) -> tuple[list[_Rule], list[str]]:
    rules, all_names = [], []
    for index, entry in enumerate(entries):
        rule, names = _place_rule(index, entry)
        _require(all(r.place.place.name != rule.place.place.name for r in rules),
                 f"place '{rule.place.place.name}': duplicate name")
        rules.append(rule)
        all_names += names
    return rules, all_names


def _concepts(entries: list, place_names: list[str]) -> tuple[dict[str, dict], list[_Rule]]:
    concepts: dict[str, dict] = {}
    rules: list[_Rule] = []
    for index, entry in enumerate(entries):
        info, concept_rules = _concept_rules(index, entry, "(?:" + "|".join(place_names) + ")")
        _require(entry["id"] not in concepts, f"concept '{entry['id']}': duplicate id")
        concepts[entry["id"]] = info
        rules += concept_rules
    return concepts, rules


def _language_indexes(shared: list[_Rule], by_language: list[_Rule], suffixes: dict[str, re.Pattern],
                      generated: "_Names") -> dict[str | None, _Index]:
    """One index per language hint, and one (None) with every language for unknown or mixed text."""
    indexes = {}
    for language in (*LANGUAGES, None):
        allowed = {language, *_RELATED.get(language, ()), "any"} if language else {*LANGUAGES, "any"}
        chosen = [rule for rule in by_language if rule.language in allowed]
        suffix = "|".join(rx.pattern for lang, rx in suffixes.items() if lang in allowed)
        indexes[language] = _Index(shared + chosen, re.compile(suffix or "(?!)"), generated)
    return indexes


class Lexicon:
    """The compiled lexicon; build it with load_lexicon()."""

    def __init__(self, data, gazetteer: list[dict] | None = None):
        """data: escalation.yaml; gazetteer: the generated places (gazetteer.json), found by name
        but never part of {place} in the patterns (the curated places are)."""
        _check_keys("lexicon", data, ("concepts", "places", "cues"), ("gazetteer",))
        for section in ("concepts", "places"):
            _require(isinstance(data[section], list) and data[section], f"{section}: expected a non-empty list")
        place_rules, place_names = _place_rules(data["places"])
        generated = _generated_places(gazetteer or [], place_rules)
        self.concepts, concept_rules = _concepts(data["concepts"], place_names)
        cue_rules, suffixes = _cue_rules(data["cues"])
        year = _rule("year", [_YEAR_PATTERN], "any", cue="year")
        self._indexes = _language_indexes(place_rules + [year], concept_rules + cue_rules, suffixes, generated)
        self._place_index = _Index(place_rules, _NO_MATCH, generated)

    def analyze(self, title: str, text: str, language: str | None = None,
                published: date | None = None) -> list[ConceptMatch]:
        """Escalation matches that report something new, and de-escalation matches.

        published (the article's date) sets which years count as history; default: this year.
        """
        language = (language or "").lower()[:2] or None
        index = self._indexes.get(language, self._indexes[None])
        reading = _Reading(f"{title or ''}\n{text or ''}", index, _reference_year(published))
        by_concept: dict[str, list[_Hit]] = {}
        for hit in reading.concept_hits:
            if reading.counts(hit):
                by_concept.setdefault(hit.rule.concept, []).append(hit)
        ranked = sorted(by_concept.items(), key=lambda item: (-self.concepts[item[0]]["severity"], item[1][0].start))
        return [self._match(reading, concept, hits) for concept, hits in ranked]

    def escalation(self, title: str, text: str, language: str | None = None,
                   published: date | None = None) -> list[ConceptMatch]:
        return [m for m in self.analyze(title, text, language, published) if m.kind == "escalation"]

    def places(self, text: str) -> list[Place]:
        """Places the text names (countries aside), the most mentioned first (ties: first mentioned first)."""
        reading = _Reading(text or "", self._place_index, _reference_year(None))
        mentions = Counter(hit.rule.place.place for hit in reading.place_hits if hit.rule.place.tier != "country")
        return [place for place, _count in mentions.most_common()]

    def _match(self, reading: _Reading, concept: str, hits: list[_Hit]) -> ConceptMatch:
        info = self.concepts[concept]
        first = hits[0]
        rule = f"{concept}/{first.rule.language}: {first.rule.which(reading.folded, first.start)}"
        return ConceptMatch(concept, info["label"], info["severity"], info["kind"],
                            _terms(reading, hits), _places_near(reading, hits, info["scope"]),
                            _evidence(reading, hits), rule)


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """Load and compile the lexicon; a bad file is a ConfigError naming the file and the key.
    Its `gazetteer:` key names the generated place file, relative to the lexicon."""
    path = config_path("escalation.yaml", path)
    data = read_yaml(path, "escalation lexicon")
    try:
        return Lexicon(data, read_gazetteer(path, data))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ConfigError(f"{path}: {one_line(exc)}") from None


# ---------------------------------------------------------------- the generated gazetteer

def read_gazetteer(lexicon_path: Path, data) -> list[dict]:
    """The generated places the lexicon's `gazetteer:` key names (JSON, next to the lexicon)."""
    if not (isinstance(data, dict) and isinstance(data.get("gazetteer"), str)):
        return []
    path = Path(lexicon_path).parent / data["gazetteer"]
    try:
        return json.loads(path.read_text(encoding="utf-8"))["places"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{path}: cannot read the gazetteer: {one_line(error)}") from None


_NEAR_DEGREES = 0.03    # about 3 km: a generated place this close to a curated one is that place


_STEM_LETTERS = 6       # a generated name this long takes suffixes (Gəncəyə); shorter ones must end there
_NO_MATCH = re.compile("(?!)")


class _Names:
    """The generated places, found by a dictionary lookup of the word (or its first letters,
    or the phrase it starts) instead of one regex per name: 850 places cost little per word."""

    def __init__(self):
        self.exact: dict[str, _Rule] = {}     # folded lower-case name (words joined by one space) -> place
        self.stems: dict[str, _Rule] = {}     # names that take suffixes
        self.stem_heads: set[str] = set()     # their first _STEM_LETTERS letters: most words need no stem lookup
        self.phrase_starts: set[str] = set()  # first words of several-word names
        self.starts: set[str] = set()         # first _KEY_LENGTH letters of every name: the scan's first check

    def add(self, name: str, rule: _Rule) -> None:
        words = _WORD.findall(name.translate(_FOLD).lower())
        key = " ".join(words)
        self.exact.setdefault(key, rule)
        self.starts.add(key[:_KEY_LENGTH])
        if len(words) > 1:
            self.phrase_starts.add(words[0])
        elif len(key) >= _STEM_LETTERS:
            self.stems.setdefault(key, rule)
            self.stem_heads.add(key[:_STEM_LETTERS])

    def find(self, lowered: str, word: re.Match) -> _Hit | None:
        text, start = word.group(), word.start()
        if text in self.phrase_starts:
            following = list(itertools.islice(_WORD.finditer(lowered, start, start + 80), 3))
            for count in (3, 2):
                phrase = " ".join(m.group() for m in following[:count])
                rule = self.exact.get(phrase) if len(following) >= count else None
                if rule:
                    return _Hit(start, following[count - 1].end(), rule, following[count - 1].end())
        rule = self.exact.get(text)
        if rule:
            return _Hit(start, word.end(), rule, word.end())
        if text[:_STEM_LETTERS] not in self.stem_heads:
            return None
        for length in range(len(text) - 1, _STEM_LETTERS - 1, -1):
            rule = self.stems.get(text[:length])
            if rule:
                return _Hit(start, word.end(), rule, start + length)
        return None


def _generated_places(entries: list[dict], curated: list[_Rule]) -> _Names:
    """The generated places' names; a curated place wins its names and its neighbourhood."""
    names = _Names()
    for entry in entries:
        place = Place(entry["name"], entry["country"], float(entry["lat"]), float(entry["lon"]))
        if any(abs(place.lat - c.place.place.lat) < _NEAR_DEGREES and abs(place.lon - c.place.place.lon) < _NEAR_DEGREES
               for c in curated):
            continue
        rule = _Rule(_NO_MATCH, frozenset(), "any", place=_Gazetteer(place, "specific"))
        # scholarly transliterations (Kʻanakʻerr) and long official forms are not what news writes
        for name in (n for forms in entry["names"].values() for n in forms):
            if not re.search(r"[ʻʼ’']", name) and 1 <= len(name.split()) <= 3 \
                    and not any(c.regex.fullmatch(name.translate(_FOLD)) for c in curated):
                names.add(name, rule)
    return names


def place_aliases(curated: list[dict], generated: list[dict]) -> dict[str, tuple[str, ...]]:
    """Every plain spelling of a place -> all its spellings (search across spellings)."""
    groups = [[entry["name"], *(n for forms in entry["names"].values() for n in forms)] for entry in generated]
    groups += [[entry["name"], *(n for n in entry["names"] if re.fullmatch(r"[\w' -]+", n))] for entry in curated]
    aliases: dict[str, set[str]] = {}
    for group in groups:
        for name in group:
            aliases.setdefault(alias_key(name), set()).update(group)
    return {key: tuple(sorted(names)) for key, names in aliases.items()}


def alias_key(name: str) -> str:
    """How a place name is looked up across spellings: folded (Gəncə = Gence), lower case."""
    return unicodedata.normalize("NFC", name).translate(_FOLD).lower().replace("ǝ", "e")


def describe(match: ConceptMatch) -> str:
    """One line for an alert, e.g. "missile strike reported in Ganja (AZ)"."""
    where = ", ".join(f"{place.name} ({place.country})" for place in match.places)
    return f"{match.label} reported in {where}" if where else f"{match.label} reported"
