"""Property-based tests (hypothesis): whatever the input, only the documented error comes out.

- sources.yaml: a list of entries with any of the known keys and any YAML values
  is loaded or refused with one ConfigError line;
- the search-text parser: any text gives terms or a one-line QueryError;
- --since/--until: any text gives a UTC datetime or a one-line UserError;
- URL canonicalisation: any text gives a string (never raises), idempotently.
"""
from __future__ import annotations

from datetime import timezone

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from newsmon.analysis.normalize import canonical_url
from newsmon.core.config import COMMON_KEYS, KIND_KEYS, ConfigError, load_sources
from newsmon.core.records import utcnow
from newsmon.sources import schedule
from newsmon.interface.cli import UserError, parse_when
from newsmon.analysis.boolean_query import QueryError, fts5_expression, parse_query, tsquery_expression

KEYS = sorted(COMMON_KEYS | KIND_KEYS["rss"] | KIND_KEYS["site"]) + ["colour"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
                    st.floats(allow_nan=True), st.text(max_size=30),
                    st.sampled_from(["rss", "site", "http://x.example/feed", "https://y.example/", "false",
                                     "state", "([", "3600", "-1", ""]))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=5), SCALARS,
                                                                            max_size=2))
ENTRY = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=8)
DOCUMENT = st.one_of(st.dictionaries(st.just("sources"), st.lists(st.one_of(ENTRY, SCALARS), max_size=4)),
                     SCALARS, st.lists(SCALARS, max_size=3))


def one_line(error: Exception) -> bool:
    return bool(str(error)) and "\n" not in str(error)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(document=DOCUMENT)
def test_the_sources_loader_returns_sources_or_one_config_error(tmp_path, document):
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    try:
        sources = load_sources(path)
    except ConfigError as error:
        assert one_line(error)
        return
    for source in sources:
        assert 1 <= source.min_interval <= source.max_interval and isinstance(source.enabled, bool)
        schedule.next_poll_at(utcnow(), source.max_interval)     # a usable interval: no overflow later


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(text=st.binary(max_size=200).map(lambda raw: raw.decode("utf-8", "replace")))
def test_the_sources_loader_survives_any_bytes(tmp_path, text):
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_sources(path)
    except ConfigError as error:
        assert one_line(error)


@given(query=st.text(max_size=80))
def test_the_search_parser_gives_a_query_both_databases_run_or_one_query_error(query):
    try:
        node = parse_query(query)
    except QueryError as error:
        assert one_line(error)
        return
    assert fts5_expression(node) and tsquery_expression(node)


AGES = st.builds(lambda n, unit: f"{n}{unit}", st.integers(min_value=0, max_value=10**25), st.sampled_from("hdw"))


@given(value=st.one_of(st.text(max_size=40), AGES, st.datetimes().map(lambda d: d.isoformat())))
def test_the_date_and_age_parser_gives_a_utc_time_or_one_user_error(value):
    try:
        parsed = parse_when(value, "--since")
    except UserError as error:
        assert one_line(error) and error.args[0].startswith("--since")
        return
    assert parsed is None or parsed.tzinfo == timezone.utc


URLS = st.one_of(st.text(max_size=80),
                 st.builds(lambda scheme, host, rest: f"{scheme}://{host}{rest}",
                           st.sampled_from(["http", "https", "HTTP", "ftp"]),
                           st.text(max_size=25), st.text(max_size=40)))


@given(url=URLS)
def test_url_canonicalisation_never_raises_and_is_idempotent(url):
    once = canonical_url(url)
    assert isinstance(once, str)
    assert canonical_url(once) == once
