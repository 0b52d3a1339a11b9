"""The boolean search language: parsed by newsmon, compiled to FTS5 and tsquery, run on both databases."""
from __future__ import annotations

import pytest

from newsmon.analysis.boolean_query import (
    And, Near, Not, Or, QueryError, Term, fts5_expression, parse_query, tsquery_expression, uses_positions,
)
from test_query import corpus, run_search, titles


def test_parse_tree():
    assert parse_query("drone missile") == And((Term(("drone",)), Term(("missile",))))
    assert parse_query("drone AND missile") == parse_query("drone missile")
    assert parse_query("a OR b c") == Or((Term(("a",)), And((Term(("b",)), Term(("c",))))))
    assert parse_query("a -b NOT c") == And((Term(("a",)), Not(Term(("b",))), Not(Term(("c",)))))
    assert parse_query('"Missile strike" brussel*') == And((Term(("missile", "strike")),
                                                            Term(("brussel",), prefix=True)))
    assert parse_query("Nagorno-Karabakh") == Term(("nagorno", "karabakh"))
    assert parse_query("NEAR(drone \"the strike\", 3)") == Near(Term(("drone",)), Term(("the", "strike")), 3)
    assert parse_query('"drone strike"~4') == Near(Term(("drone",)), Term(("strike",)), 4)
    assert parse_query("(a OR b) -c") == And((Or((Term(("a",)), Term(("b",)))), Not(Term(("c",)))))
    assert parse_query("war or peace") == And((Term(("war",)), Term(("or",)), Term(("peace",))))


@pytest.mark.parametrize("query, message", [
    ('"open', "unbalanced quotes"),
    ("(ganja", "unbalanced parentheses"),
    ("ganja)", "unbalanced parentheses"),
    ("ganja ()", "empty parentheses"),
    ("ganja OR", "OR needs a word on both sides"),
    ("OR ganja", "OR needs a word on both sides"),
    ("ganja NOT", "NOT (or -) needs a word after it"),
    ("-ganja", "cannot only exclude"),
    ("ganja OR -baku", "cannot only exclude"),
    ("NEAR(ganja, 3)", "NEAR(...) takes two words"),
    ("NEAR(a b, 99)", "0 to 20"),
    ('"a b c"~2', "exactly two words"),
    ("* : ( )", "no words"),
])
def test_bad_queries_are_one_clear_line(query, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        parse_query(query)
    assert "\n" not in str(error.value)


def test_compiled_expressions_quote_every_word():
    node = parse_query('(drone OR "missile strike") -football brussel*')
    assert fts5_expression(node) == \
        '((("drone" OR "missile strike") AND "brussel"*) NOT "football")'
    assert tsquery_expression(node) == \
        "((('drone') | ('missile' <-> 'strike')) & ('brussel':*) & !('football'))"
    assert tsquery_expression(parse_query("NEAR(a b, 1)")) == \
        "(('a') <1> ('b') | ('a') <2> ('b') | ('b') <1> ('a') | ('b') <2> ('a'))"
    # Operator characters of either database never survive: words are letters and digits only.
    hostile = parse_query("drone OR x: & !y | 'z' NEAR/2 \\ {}")
    assert fts5_expression(hostile) == '("drone" OR ("x" AND "y" AND "z" AND "near 2"))'
    assert tsquery_expression(hostile) == "(('drone') | (('x') & ('y') & ('z') & ('near' <-> '2')))"


def test_a_place_also_matches_its_other_spellings_in_both_languages():
    node = parse_query("Ganja")
    assert {"gəncə*", "гяндж*"} <= set(node.variants)
    assert fts5_expression(node).startswith('("ganja" OR ') and '"gəncə"*' in fts5_expression(node)
    # "ganja" is also one of Ganja's stems: PostgreSQL looks it up once, as the prefix
    assert {"'ganja':*", "'gəncə':*"} <= set(tsquery_expression(node).strip("()").split(" | "))
    assert parse_query('"Ganja"').variants == ()          # a quoted word is that spelling only


def test_sqlite_prefixes_are_written_as_the_indexed_words_they_stand_for():
    def indexed(stem: str) -> tuple[str, ...] | None:   # None: too many to list; no other stem is indexed
        return {"ganja": ("ganja", "ganjada"), "brussel": None}.get(stem, ())

    node = parse_query("(Ganja OR ganja*) brussel* NEAR(missile ganja*, 3)")
    assert fts5_expression(node, indexed) == \
        '(("ganja" OR "ganjada") AND "brussel"* AND NEAR("missile" "ganja"*, 3))'   # NEAR takes phrases only
    assert fts5_expression(parse_query("gəncə*"), indexed) == '"gəncə"'   # no word has it: matches nothing


def test_which_queries_compare_positions():
    assert not uses_positions(parse_query("ganja OR (missile -strike) brussel*"))
    assert uses_positions(parse_query('ganja -"missile strike"'))
    assert uses_positions(parse_query("ganja OR NEAR(a b)"))
    assert uses_positions(parse_query("Nagorno-Karabakh"))


@pytest.fixture
def stored(db_url):
    corpus(db_url)
    return db_url


@pytest.mark.parametrize("query, expected", [
    ("ganja OR Степанакерт", {"Missile strike on Ganja", "Ceasefire talks in Brussels", "Обстрел Степанакерта",
                              "Ստեփանակերտ"}),   # a place in any of its spellings
    ("ganja -brussels", {"Missile strike on Ganja"}),
    ("ganja NOT missile", {"Ceasefire talks in Brussels"}),
    ("(brussels OR missile) NOT talks", {"Missile strike on Ganja"}),
    ('NEAR(missile residential, 3)', {"Missile strike on Ganja"}),
    ('NEAR(residential missile, 3)', {"Missile strike on Ganja"}),  # either order
    ('"missile area"~1', set()),  # "missile struck a residential area": 3 words between
    ('"missile area"~3', {"Missile strike on Ganja"}),
    ("negotiat* -ganja", set()),
    ("negotiat* ceasefire", {"Ceasefire talks in Brussels"}),
])
def test_boolean_search_finds_the_same_on_both_databases(stored, query, expected):
    found = {title.replace("hits", "on") for title in titles(run_search(stored, query))}
    assert found == expected


def test_totals_are_exact_or_say_they_are_a_lower_bound(stored, monkeypatch):
    from models.engine import session_scope
    from newsmon.interface import query

    with session_scope(stored) as session:
        whole = query.search_page(session, "ganja", limit=5)
        cut = query.search_page(session, "ganja", limit=1)
        monkeypatch.setattr(query, "COUNT_CAP", 1)
        capped = query.search_page(session, "ganja", limit=1)
        monkeypatch.setattr(query, "COUNT_CAP", 1000)
        # PostgreSQL counts a phrase's matches among the ids its walk read: a lower bound when not all
        monkeypatch.setattr(query, "POSITIONAL_WINDOW", 1)
        phrase = query.search_page(session, '"strike on"', limit=1)
        postgres = session.get_bind().dialect.name == "postgresql"
    assert (whole.total, whole.capped, whole.footer()) == (2, False, "showing 2 of 2 (--limit)")
    assert (cut.total, cut.capped, cut.is_cut, cut.footer()) == (2, False, True, "showing 1 of 2 (--limit)")
    assert capped.capped and capped.is_cut and capped.total_text.endswith("+")
    assert (phrase.total_text, phrase.is_cut) == (("1+", True) if postgres else ("2", True))
