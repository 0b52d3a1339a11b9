"""Is an article about the Armenia–Azerbaijan conflict?

The vocabulary and the weights live in config/topic.yaml (its header explains
the scoring); this module loads and validates that file, compiles it into one
regex per language, and scores title + text in a single pass over each.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


from newsmon.core.config import ConfigError, config_path, read_yaml

KINDS = ("strong", "weak", "context", "negative")
ANY_LANGUAGE = "any"

_TOP_KEYS = {"threshold", "title_weight", "max_repeats", "weak_cap", "terms", "combos"}
_TERM_KEYS = {"kind", "weight", "group", "unless", "patterns"}
_COMBO_KEYS = {"all_of", "weight"}
_ESCAPE = re.compile(r"\\.")


@dataclass(frozen=True)
class Relevance:
    score: float                # 0..1
    passed: bool
    matched: tuple[str, ...]    # ids of the terms and combos that matched
    reason: str                 # one line


@dataclass(frozen=True, eq=False)   # identity hash: terms key the match counters
class Term:
    id: str
    kind: str
    weight: float
    labels: frozenset[str]      # what combos and "unless" can name it by: id, kind, group
    unless: tuple[str, ...]     # labels that cancel a negative term
    patterns: dict[str, tuple[str, ...]]   # language (or "any") -> regexes


@dataclass(frozen=True)
class Combo:
    id: str
    all_of: tuple[str, ...]     # labels
    weight: float


class Topic:
    def __init__(self, *, threshold: float, title_weight: float, max_repeats: int,
                 weak_cap: float, terms: list[Term], combos: list[Combo]):
        self.threshold = threshold
        self.title_weight = title_weight
        self.max_repeats = max_repeats
        self.weak_cap = weak_cap
        self.terms = terms
        self.combos = combos
        self.languages = {lang for term in terms for lang in term.patterns} - {ANY_LANGUAGE}
        # every pattern gets an empty marker group; lastgroup names it after a match
        every_pattern = [(term, language, pattern) for term in terms
                         for language, patterns in term.patterns.items() for pattern in patterns]
        self._patterns = [(f"p{number}", *entry) for number, entry in enumerate(every_pattern)]
        self._term_of = {marker: term for marker, term, _, _ in self._patterns}
        self._position = {term: position for position, term in enumerate(terms)}
        # compiled up front: scoring must never pay for it
        self._matchers = {lang: self._compile({lang, ANY_LANGUAGE}) for lang in self.languages}
        self._all_languages = self._compile(self.languages | {ANY_LANGUAGE})

    def _compile(self, languages: set[str]) -> re.Pattern:
        """One regex for all patterns of these languages, scanned once per text.

        Patterns are grouped under their first character, so at each word
        start the engine skips every group whose first letter differs instead
        of trying hundreds of alternatives (5x faster). Within a group the
        file order decides when two patterns match at the same position.
        """
        by_first_char: dict[str, list[str]] = {}
        for marker, _term, language, pattern in self._patterns:
            if language in languages:
                pattern = pattern.replace("ı", "i")    # as fold_case reads the text
                by_first_char.setdefault(pattern[0], []).append(f"{pattern[1:]}(?P<{marker}>)")
        branches = [f"{re.escape(first)}(?:{'|'.join(rests)})" for first, rests in by_first_char.items()]
        return re.compile(rf"\b(?:{'|'.join(branches)})")

    def _matcher(self, language: str | None) -> re.Pattern:
        return self._matchers.get(language or "", self._all_languages)

    def _find(self, matcher: re.Pattern, text: str) -> Counter[Term]:
        return Counter(self._term_of[m.lastgroup] for m in matcher.finditer(fold_case(text)))

    def score(self, title: str, text: str, language: str | None = None,
              own_country: str | None = None) -> Relevance:
        """Score title + text; with a known language only its patterns (and
        the language-neutral ones) are tried. own_country: the outlet's country,
        a side of the conflict when AM or AZ ("our armed forces" in a Baku outlet)."""
        matcher = self._matcher(language)
        in_title, in_body = self._find(matcher, title), self._find(matcher, text)
        matched = sorted(in_title.keys() | in_body.keys(), key=self._position.__getitem__)   # file order
        labels = frozenset().union(*(term.labels for term in matched), _OWN_SIDE.get(own_country or "", ()),
                                   _LANGUAGE_SIDE.get(language or "", ()))
        combos = [combo for combo in self.combos if labels.issuperset(combo.all_of)]
        negatives = [t for t in matched if t.kind == "negative" and not labels.intersection(t.unless)]

        def total(kind: str) -> float:
            return sum(term.weight * self._evidence(in_title[term], in_body[term])
                       for term in matched if term.kind == kind)

        positive = (total("strong") + min(total("weak") + total("context"), self.weak_cap)
                    + sum(combo.weight for combo in combos))
        penalty = sum(t.weight * self._evidence(in_title[t], in_body[t]) for t in negatives)
        score = round(1 - math.exp(-max(positive - penalty, 0.0)), 3)
        passed = score >= self.threshold
        return Relevance(
            score=score,
            passed=passed,
            matched=tuple(term.id for term in matched) + tuple(combo.id for combo in combos),
            reason=self._reason(passed, matched, combos, negatives, positive),
        )

    def _evidence(self, title_count: int, body_count: int) -> float:
        # repeats in the body add less and less: a long article says "Baku" often
        return (self.title_weight if title_count else 0.0) + math.sqrt(min(body_count, self.max_repeats))

    def _reason(self, passed: bool, matched: list[Term], combos: list[Combo],
                negatives: list[Term], positive: float) -> str:
        def ids(items) -> str:
            return ", ".join(item.id for item in items)

        strong = [t for t in matched if t.kind == "strong"]
        weak = [t for t in matched if t.kind in ("weak", "context")]
        also_negative = f"; negative: {ids(negatives)}" if negatives else ""
        if passed:
            verdict = f"strong: {ids(strong)}" if strong else f"combination: {ids(combos)} ({ids(weak)})"
            return verdict + also_negative
        if not strong and not weak:
            return "no topic terms" + also_negative
        if negatives and 1 - math.exp(-positive) >= self.threshold:
            return f"below threshold: negative context ({ids(negatives)}) outweighs ({ids(strong + weak)})"
        if not strong:
            return f"below threshold: only weak terms ({ids(weak)})" + also_negative
        return f"below threshold: {ids(strong + weak)}" + also_negative

    def precheck(self, title: str, summary: str | None) -> bool:
        """Cheap and permissive: is the full text worth fetching?

        True when title or summary has any topic term, one weak or context
        term included ("Ceasefire violated overnight": the full text may name
        the sides). Everything that passes on title + summary has one.
        """
        found = self._find(self._all_languages, f"{title}\n{summary or ''}")
        return any(term.kind != "negative" for term in found)


# The group a country's outlets speak for: their "our army" names that side.
_OWN_SIDE = {"AM": {"armenia_side"}, "AZ": {"azerbaijan_side"}}
# Armenian and Azerbaijani are written from one side: "the enemy fired on our positions".
_LANGUAGE_SIDE = {"hy": {"armenia_side"}, "az": {"azerbaijan_side"}}


def fold_case(text: str) -> str:
    """Lower case with Turkish I folded: "İHA", "SALDIRISI" and "saldırısı" all read as
    "iha", "saldirisi" ("İ".lower() is "i" + a combining dot, "I".lower() is "i", not "ı").
    Patterns are folded the same way when compiled."""
    return text.replace("İ", "i").lower().replace("ı", "i")


_METACHARACTERS = set("\\.^$*+?{}[]|()")


def _starts_plainly(pattern: str) -> bool:
    """Its first character is a literal that every match starts with."""
    return pattern[0] not in _METACHARACTERS and pattern[1:2] not in ("*", "+", "?", "{")


def _has_top_level_alternation(pattern: str) -> bool:
    depth, in_class, escaped = 0, False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == "|" and depth == 0:
            return True
    return False


# --- loading ------------------------------------------------------------------

def load_topic(path: str | Path | None = None) -> Topic:
    """Load and validate topic.yaml; any problem is a ConfigError naming the file and the key."""
    path = config_path("topic.yaml", path)
    try:
        return _build_topic(read_yaml(path, "topic"))
    except _KeyProblem as exc:
        raise ConfigError(f"{path}: {exc}") from None


class _KeyProblem(Exception):
    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")


def _build_topic(raw) -> Topic:
    _require_mapping(raw, "", _TOP_KEYS, required={"threshold", "terms"})
    threshold = _number(raw, "threshold", "", low=0.0, high=1.0)
    weak_cap = _number(raw, "weak_cap", "", default=0.6, low=0.0)
    if 1 - math.exp(-weak_cap) >= threshold:
        raise _KeyProblem("weak_cap", f"{weak_cap} lets weak terms alone reach the threshold {threshold}")
    _require_mapping(raw["terms"], "terms", None)
    terms = [_build_term(term_id, spec) for term_id, spec in raw["terms"].items()]
    if not terms:
        raise _KeyProblem("terms", "no terms")
    combos_raw = raw.get("combos") or {}
    _require_mapping(combos_raw, "combos", None)
    combos = [_build_combo(combo_id, spec) for combo_id, spec in combos_raw.items()]
    _check_labels(terms, combos)
    return Topic(
        threshold=threshold,
        title_weight=_number(raw, "title_weight", "", default=2.0, low=0.0),
        max_repeats=int(_number(raw, "max_repeats", "", default=4, low=1)),
        weak_cap=weak_cap,
        terms=terms,
        combos=combos,
    )


def _build_term(term_id, spec) -> Term:
    key = f"terms.{term_id}"
    _require_mapping(spec, key, _TERM_KEYS, required={"kind", "patterns"})
    if spec["kind"] not in KINDS:
        raise _KeyProblem(f"{key}.kind", f"must be one of {', '.join(KINDS)}, not {spec['kind']!r}")
    group = spec.get("group")
    unless = spec.get("unless") or []
    if not isinstance(unless, list) or not all(isinstance(label, str) for label in unless):
        raise _KeyProblem(f"{key}.unless", "must be a list of labels")
    if unless and spec["kind"] != "negative":
        raise _KeyProblem(f"{key}.unless", "only negative terms can have it")
    labels = {str(term_id), spec["kind"]} | ({str(group)} if group else set())
    return Term(
        id=str(term_id),
        kind=spec["kind"],
        weight=_number(spec, "weight", key, default=1.0, low=0.0),
        labels=frozenset(labels),
        unless=tuple(unless),
        patterns=_build_patterns(spec["patterns"], f"{key}.patterns"),
    )


def _build_patterns(spec, key: str) -> dict[str, tuple[str, ...]]:
    _require_mapping(spec, key, None)
    patterns = {}
    for language, items in spec.items():
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list) or not items:
            raise _KeyProblem(f"{key}.{language}", "must be a non-empty list of regexes")
        for index, pattern in enumerate(items):
            _check_pattern(pattern, f"{key}.{language}[{index}]")
        patterns[str(language)] = tuple(items)
    if not patterns:
        raise _KeyProblem(key, "no patterns")
    return patterns


def _check_pattern(pattern, key: str) -> None:
    if not isinstance(pattern, str) or not pattern:
        raise _KeyProblem(key, "must be a non-empty string")
    if "(?P" in pattern:
        raise _KeyProblem(key, "named groups are reserved; use (?:...)")
    if _has_top_level_alternation(pattern):
        raise _KeyProblem(key, f"{pattern!r}: list each alternative as its own pattern")
    if not _starts_plainly(pattern):
        raise _KeyProblem(key, f"{pattern!r} must start with a plain letter or digit "
                                "(write [kq]arabağ as karabağ and qarabağ)")
    if any(char.isupper() for char in _ESCAPE.sub("", pattern)):
        raise _KeyProblem(key, f"{pattern!r} must be lower case (text is lower-cased before matching)")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise _KeyProblem(key, f"invalid regex {pattern!r}: {exc}") from None


def _build_combo(combo_id, spec) -> Combo:
    key = f"combos.{combo_id}"
    _require_mapping(spec, key, _COMBO_KEYS, required={"all_of"})
    all_of = spec["all_of"]
    if not isinstance(all_of, list) or len(all_of) < 2 or not all(isinstance(x, str) for x in all_of):
        raise _KeyProblem(f"{key}.all_of", "must list at least two labels")
    return Combo(str(combo_id), tuple(all_of), _number(spec, "weight", key, default=1.0, low=0.0))


def _check_labels(terms: list[Term], combos: list[Combo]) -> None:
    kinds_by_label: dict[str, set[str]] = {}
    for term in terms:
        for label in term.labels:
            kinds_by_label.setdefault(label, set()).add(term.kind)
    for term in terms:
        for label in term.unless:
            if label not in kinds_by_label:
                raise _KeyProblem(f"terms.{term.id}.unless", f"unknown label {label!r}")
    for combo in combos:
        for label in combo.all_of:
            if label not in kinds_by_label:
                raise _KeyProblem(f"combos.{combo.id}.all_of", f"unknown label {label!r}")
        # a combo must need a positive term, or precheck could miss what it lets pass
        if not any("negative" not in kinds_by_label[label] for label in combo.all_of):
            raise _KeyProblem(f"combos.{combo.id}.all_of", "must name a term that is not negative")


def _child(key: str, name) -> str:
    return f"{key}.{name}" if key else str(name)


def _require_mapping(value, key: str, allowed: set[str] | None, required: frozenset | set = frozenset()):
    if not isinstance(value, dict):
        raise _KeyProblem(key or "top level", "must be a mapping")
    for name in value:
        if allowed is not None and name not in allowed:
            raise _KeyProblem(_child(key, name), "unknown key")
    for name in required:
        if name not in value:
            raise _KeyProblem(_child(key, name), "missing")


def _number(spec: dict, name: str, parent_key: str, *, default=None, low=None, high=None) -> float:
    key = _child(parent_key, name)
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _KeyProblem(key, f"must be a number, not {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise _KeyProblem(key, f"{value} is out of range")
    return float(value)
