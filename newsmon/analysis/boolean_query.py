"""The search language, parsed by newsmon and compiled to SQLite FTS5 and PostgreSQL tsquery.

    ganja missile            both words (AND is implied; writing it is allowed)
    ganja OR gyanja          either word
    ganja -football          ganja, not football (also: NOT football)
    "missile strike"         a phrase
    Brussel*                 a prefix
    NEAR(ganja strike, 5)    two words or phrases at most 5 words apart (default 10)
    "ganja strike"~5         the same, written the Lucene way
    (ganja OR gyanja) -fc    parentheses group

Operators are the upper-case words AND, OR, NOT, NEAR; lower-case "or" is a
word. Each word is reduced to its letters and digits and written into the
compiled expression quoted, so no user text is ever read as syntax by the
database. A query that cannot run is one QueryError line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence, Union

from newsmon.analysis.spellings import lower_case, spellings
from newsmon.core.errors import NewsmonError

WORD = re.compile(r"\w+", re.UNICODE)
DEFAULT_NEAR = 10
MAX_NEAR = 20  # tsquery has no "within N": NEAR becomes 2*N exact-distance alternatives
TOKEN = re.compile(r"""
     (?P<near>NEAR\((?P<near_body>[^()]*)\))
    |(?P<phrase>"(?P<phrase_body>[^"]*)"(?:~(?P<slop>\d+))?)
    |(?P<open>\()
    |(?P<close>\))
    |(?P<minus>-(?=[^\s\-]))
    |(?P<bare>[^\s()"]+)
""", re.VERBOSE)
NEAR_DISTANCE = re.compile(r",\s*(\d+)\s*$")


class QueryError(NewsmonError, ValueError):
    """A search the user wrote that cannot be run, with a one-line reason."""


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]     # several words: a phrase
    prefix: bool = False       # written with a trailing *
    variants: tuple[str, ...] = ()   # other spellings of a one-word term, any of which matches ("stem*")


@dataclass(frozen=True)
class Near:
    first: Term
    second: Term
    distance: int = DEFAULT_NEAR


@dataclass(frozen=True)
class Not:
    node: "Node"


@dataclass(frozen=True)
class And:
    nodes: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    nodes: tuple["Node", ...]


Node = Union[Term, Near, Not, And, Or]


def parse_query(query: str) -> Node:
    """The query's syntax tree; QueryError when it cannot run."""
    if query.count('"') % 2:
        raise QueryError("unbalanced quotes in the search text")
    tokens = list(_tokens(query))
    if not any(kind in ("word", "near") for kind, _ in tokens):
        raise QueryError("the search text has no words to look for")
    parser = _Parser(tokens)
    node = parser.parse()
    if not _looks_for_something(node):
        raise QueryError("a search cannot only exclude: add a word to look for (e.g. ganja -football)")
    return node


def _tokens(query: str) -> Iterator[tuple[str, object]]:
    for match in TOKEN.finditer(query):
        if match["near"] is not None:
            yield "near", _near(match["near_body"])
        elif match["phrase"] is not None:
            yield from _phrase(match["phrase_body"], match["slop"])
        elif match["open"] or match["close"]:
            yield match[0], None
        elif match["minus"]:
            yield "NOT", None
        elif match["bare"] in ("AND", "OR", "NOT"):
            yield match["bare"], None
        else:
            term = _with_spellings(_term(match["bare"], prefix=match["bare"].endswith("*")), match["bare"])
            if term:  # punctuation alone ("*", ":") looks for nothing
                yield "word", term


def _term(text: str, prefix: bool = False) -> Term | None:
    words = tuple(WORD.findall(lower_case(text)))
    return Term(words, prefix) if words else None


def _with_spellings(term: Term | None, token: str) -> Term | None:
    """A place's other names (Ganja: Gəncə, Гянджа, Գանձակ) and Turkish I forms also match."""
    if term is None or term.prefix or len(term.words) != 1:
        return term
    others = [v for v in spellings(token.strip("*")) if WORD.fullmatch(v.rstrip("*")) and v != term.words[0]]
    return Term(term.words, variants=tuple(others)) if others else term


def _phrase(body: str, slop: str | None) -> Iterator[tuple[str, object]]:
    term = _term(body)
    if term is None:
        return
    if slop is None:
        yield "word", term
        return
    if len(term.words) != 2:
        raise QueryError(f'"..."~{slop} compares exactly two words')
    yield "near", Near(Term(term.words[:1]), Term(term.words[1:]), _distance(slop))


def _near(body: str) -> Near:
    distance = NEAR_DISTANCE.search(body)
    inner = body[:distance.start()] if distance else body
    terms = [Term(token.words, token.prefix) for kind, token in _tokens(inner) if kind == "word"]
    if len(terms) != 2 or any(kind != "word" for kind, _ in _tokens(inner)):
        raise QueryError("NEAR(...) takes two words or phrases and an optional distance: NEAR(ganja strike, 5)")
    return Near(terms[0], terms[1], _distance(distance.group(1)) if distance else DEFAULT_NEAR)


def _distance(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_NEAR:
        raise QueryError(f"a NEAR distance is 0 to {MAX_NEAR} words, not {value}")
    return value


class _Parser:
    """Recursive descent: OR binds loosest, then AND (implied between terms), then NOT."""

    def __init__(self, tokens: list[tuple[str, object]]):
        self.tokens = tokens
        self.position = 0

    def parse(self) -> Node:
        node = self._or()
        if self._peek() == ")":
            raise QueryError("unbalanced parentheses in the search text")
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, object]:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _or(self) -> Node:
        nodes = [self._and()]
        while self._peek() == "OR":
            self._take()
            nodes.append(self._and())
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def _and(self) -> Node:
        nodes = []
        while self._peek() not in (None, ")", "OR"):
            if self._peek() == "AND":
                self._take()
                continue
            nodes.append(self._unary())
        if not nodes:
            after_or = self.position and self.tokens[self.position - 1][0] == "OR"
            raise QueryError("OR needs a word on both sides" if after_or or self._peek() == "OR"
                             else "the search text has no words to look for")
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def _unary(self) -> Node:
        kind, value = self._take()
        if kind == "NOT":
            if self._peek() in (None, ")", "OR", "AND"):
                raise QueryError("NOT (or -) needs a word after it")
            return Not(self._unary())
        if kind == "(":
            if self._peek() == ")":
                raise QueryError("empty parentheses in the search text")
            node = self._or()
            if self._peek() != ")":
                raise QueryError("unbalanced parentheses in the search text")
            self._take()
            return node
        if kind == ")":
            raise QueryError("unbalanced parentheses in the search text")
        return value


def _looks_for_something(node: Node) -> bool:
    """Full-text indexes find rows by what they contain: every branch needs a word that is not excluded."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_looks_for_something(child) for child in node.nodes)
    if isinstance(node, Or):
        return all(_looks_for_something(child) for child in node.nodes)
    return True


def _split(node: And) -> tuple[list[Node], list[Node]]:
    wanted = [child for child in node.nodes if not isinstance(child, Not)]
    excluded = [child.node for child in node.nodes if isinstance(child, Not)]
    return wanted, excluded


# --- FTS5 MATCH -------------------------------------------------------------------------

PrefixWords = Callable[[str], "Sequence[str] | None"]


def fts5_expression(node: Node, prefix_words: PrefixWords | None = None) -> str:
    """An FTS5 MATCH expression; every word is inside double quotes, so it is never an operator.

    `prefix_words(stem)`: the indexed words a one-word prefix stands for (None: too
    many to list), written as alternatives instead of the prefix itself.
    """
    if isinstance(node, Term):
        return _fts5_any(_fts5_alternatives(node, prefix_words))
    if isinstance(node, Near):  # NEAR takes phrases, not alternatives
        return f"NEAR({fts5_expression(node.first)} {fts5_expression(node.second)}, {node.distance})"
    if isinstance(node, Or):   # terms' spellings are merged: a word written twice is read (and ranked) once
        return _fts5_any([alternative for child in node.nodes for alternative in (
            _fts5_alternatives(child, prefix_words) if isinstance(child, Term)
            else [fts5_expression(child, prefix_words)])])
    if isinstance(node, And):
        wanted, excluded = _split(node)
        expression = "(" + " AND ".join(fts5_expression(child, prefix_words) for child in wanted) + ")"
        for child in excluded:  # FTS5's NOT is binary: "A NOT B"
            expression = f"({expression} NOT {fts5_expression(child, prefix_words)})"
        return expression
    raise QueryError("a search cannot only exclude: add a word to look for")


def _fts5_any(alternatives: list[str]) -> str:
    unique = list(dict.fromkeys(alternatives))
    return unique[0] if len(unique) == 1 else "(" + " OR ".join(unique) + ")"


def _fts5_alternatives(term: Term, prefix_words: PrefixWords | None) -> list[str]:
    spelled = [(" ".join(term.words), term.prefix)] + [(v.rstrip("*"), v.endswith("*")) for v in term.variants]
    written: list[str] = []
    for text, prefix in spelled:
        listed = prefix_words(text) if prefix and prefix_words and len(text.split()) == 1 else None
        if listed is None:
            written.append(f'"{text}"' + ("*" if prefix else ""))
        else:   # no indexed word has that prefix: the alternative matches nothing and is left out
            written += [_fts5_phrase(word) for word in listed]
    return written or [f'"{term.words[0]}"']


def _fts5_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


# --- PostgreSQL tsquery -----------------------------------------------------------------

def tsquery_expression(node: Node) -> str:
    """A to_tsquery('simple', ...) expression with every lexeme quoted."""
    if isinstance(node, Term):
        last = len(node.words) - 1
        phrase = " <-> ".join(_lexeme(word, node.prefix and i == last) for i, word in enumerate(node.words))
        variants = [_lexeme(v.rstrip("*"), v.endswith("*")) for v in node.variants]
        # A word that is also one of its own prefixes ("lachin" and "lachin"*) is looked up once, as the prefix.
        alternatives = [phrase] if f"{phrase}:*" not in variants else []
        return "(" + " | ".join(dict.fromkeys(alternatives + variants)) + ")"
    if isinstance(node, Near):
        first, second = tsquery_expression(node.first), tsquery_expression(node.second)
        # "at most N words between", in either order: <1> .. <N+1> both ways
        gaps = range(1, node.distance + 2)
        return "(" + " | ".join([f"{first} <{gap}> {second}" for gap in gaps]
                                + [f"{second} <{gap}> {first}" for gap in gaps]) + ")"
    if isinstance(node, Or):
        return "(" + " | ".join(tsquery_expression(child) for child in node.nodes) + ")"
    if isinstance(node, And):
        wanted, excluded = _split(node)
        return "(" + " & ".join([tsquery_expression(child) for child in wanted]
                                + ["!" + tsquery_expression(child) for child in excluded]) + ")"
    raise QueryError("a search cannot only exclude: add a word to look for")


def _lexeme(word: str, prefix: bool) -> str:
    return "'" + word.replace("'", "''").replace("\\", "") + "'" + (":*" if prefix else "")


def wanted_terms(node: Node) -> list[Term]:
    """The terms a match contains (not the excluded ones): what a result page highlights."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Near):
        return [node.first, node.second]
    if isinstance(node, Not):
        return []
    return [term for child in node.nodes for term in wanted_terms(child)]


def uses_positions(node: Node) -> bool:
    """Phrases and NEAR compare word positions: an index tells which texts have the words, not where."""
    if isinstance(node, Term):
        return len(node.words) > 1
    if isinstance(node, Near):
        return True
    if isinstance(node, Not):
        return uses_positions(node.node)
    return any(uses_positions(child) for child in node.nodes)
