"""Incremental incident building: the cost per new escalation report with 10k and 100k incidents stored.

Usage:
    python bench/incidents_bench.py [--sizes 10000 100000] [--reports 300] [--rounds 5] [--only sqlite|postgresql]

Fills the incidents table through the real migrations with synthetic incidents
(one report each) over a fixed two years at the gazetteer's places, so 100k
incidents are ten times as dense as 10k: ~140 a day instead of ~14. Then files
new escalation reports (the evaluation corpus of tests/incident_eval.py, in six
languages, dated inside the stored period) one at a time with record_incidents,
as the alert evaluation does, in a transaction that is rolled back, so both
sizes see the same reports against the same kind of table. One database per
size, measured in turn for several rounds, so the load of a shared machine
falls on both alike. Reported (median over rounds): per report, the median and
p95 wall time of the whole step, its CPU time in this process (on SQLite that is
all of the work, and it does not count time spent waiting for a busy CPU), and
reading the facts alone (the lexicon and incident_facts, no database); and the
100k/10k ratios measured in this one run.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from incident_eval import build  # noqa: E402
from models import Article  # noqa: E402
from models.engine import make_engine, session_scope  # noqa: E402
from models.incidents import Incident, IncidentReport  # noqa: E402
from newsmon.alerting.incidents import record_incidents  # noqa: E402
from newsmon.alerting.rules import default_lexicon  # noqa: E402
from newsmon.analysis.incident_facts import TYPES, read_report  # noqa: E402
from newsmon.storage.migrate import upgrade  # noqa: E402

DEFAULT_PG_URL = os.environ.get("NEWSMON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
SPAN_DAYS = 730
CHUNK = 5000


class Row:
    """An article as the evaluation hands it to record_incidents."""

    def __init__(self, article_id: int, report):
        self.id, self.title, self.text, self.language = article_id, report.title, report.text, report.language
        self.source, self.story_id = report.source, None
        self.published_at = self.fetched_at = report.published


def gazetteer() -> list[tuple[str, str, float, float]]:
    lexicon = default_lexicon()
    names = ("Tartar Aghdam Fuzuli Lachin Tovuz Ganja Kalbajar Zangilan Goris Sotk Jermuk Ijevan Kapan Barda Khojaly "
             "Jabrayil Kubatly Gadabay Vardenis Stepanakert Hadrut Martakert Shusha Mingachevir").split()
    return [(p.name, p.country, p.lat, p.lon) for name in names for p in lexicon.places(name)[:1]]


def fill(url: str, have: int, want: int, rng: random.Random) -> None:
    """Add incidents (with one article and one report each) until `want` are stored."""
    places, kinds = gazetteer(), list(TYPES.values())
    engine = make_engine(url)
    for start in range(have, want, CHUNK):
        articles, incidents, reports = [], [], []
        for n in range(start, min(start + CHUNK, want)):
            name, country, lat, lon = rng.choice(places)
            kind = rng.choice(kinds)
            day = (START + timedelta(days=rng.randrange(SPAN_DAYS))).date()
            at = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=rng.randint(6, 22))
            article_id = 10_000_000 + n
            articles.append(dict(id=article_id, canonical_url=f"https://bench.example/{n}", url=f"https://bench.example/{n}",
                                 source="bench", title=f"{kind.name} at {name}", text="", authors=[], fetched_at=at,
                                 published_at=at, relevance=0.9))
            place = dict(place_id=name, place_country=country, latitude=lat, longitude=lon, place_precision="town")
            incidents.append(dict(id=n + 1, key=f"article={article_id}", type=kind.name,
                                  acled_event_type=kind.acled_event_type, acled_sub_event_type=kind.acled_sub_event_type,
                                  event_date=day, date_precision="day", first_reported_at=at, last_reported_at=at,
                                  place_name=name, severity=2, status="claimed", actor=None, casualties={},
                                  created_at=at, updated_at=at, **place))
            reports.append(dict(incident_id=n + 1, article_id=article_id, role="report", source="bench", outlet="bench",
                                side=country, outlet_type=None, language="en", type=kind.name, concepts=["shelling"],
                                severity=2, event_date=day, date_precision="day", killed=None, wounded=None,
                                weapons=[], actor=None, evidence="", link_reason="bench", reported_at=at, **place))
        with engine.begin() as connection:
            connection.execute(insert(Article), articles)
            connection.execute(insert(Incident), incidents)
            connection.execute(insert(IncidentReport), reports)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE incidents, incident_reports"))
            connection.execute(text("SELECT setval(pg_get_serial_sequence('incidents', 'id'), max(id)) FROM incidents"))
        else:
            connection.execute(text("ANALYZE"))


def new_reports(count: int, rng: random.Random) -> list:
    """Escalation reports of the evaluation corpus, moved to random days inside the stored period."""
    corpus = [r for r in build(incidents=64).reports if r.role == "report"]
    chosen = [rng.choice(corpus) for _ in range(count)]
    for report in chosen:
        shift = START + timedelta(days=rng.randrange(30, SPAN_DAYS)) - report.published
        report.published += timedelta(days=shift.days)
    return chosen


def measure(url: str, reports: list) -> dict:
    lexicon = default_lexicon()
    whole, cpu, facts_only = [], [], []
    now = datetime.now(timezone.utc)
    try:
        with session_scope(url, write=True) as session:
            _file_all(session, reports, lexicon, now, whole, cpu, facts_only)
            raise _RollBack   # leave the table as it was, for the next round and the next size
    except _RollBack:
        pass
    return {"median": statistics.median(whole), "cpu": statistics.median(cpu),
            "p95": statistics.quantiles(whole, n=20)[18], "facts": statistics.median(facts_only)}


class _RollBack(Exception):
    pass


def _file_all(session, reports: list, lexicon, now: datetime, whole: list, cpu: list, facts_only: list) -> None:
    first_id = (session.scalar(select(func.max(Article.id))) or 0) + 1
    for offset, report in enumerate(reports):      # articles the reports can point to (rolled back after)
        session.execute(insert(Article).values(
            id=first_id + offset, canonical_url=f"https://new.example/{uuid.uuid4()}", url="https://new.example/",
            source=report.source, title=report.title, text=report.text, authors=[], language=report.language,
            published_at=report.published, fetched_at=report.published, relevance=0.9))
    for offset, report in enumerate(reports):
        row = Row(first_id + offset, report)
        started = time.perf_counter()
        read_report(lexicon, row.title, row.text, row.language, row.published_at.date())
        facts_only.append(time.perf_counter() - started)
        started, started_cpu = time.perf_counter(), time.process_time()
        record_incidents(session, [row], lexicon, now)
        whole.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)


def run(urls: dict[int, str], count: int, rounds: int) -> None:
    """Fill one database per size, then measure them in turn, round after round, so that the load of
    the shared machine falls on every size alike. Figures: the median over rounds."""
    rng = random.Random(16)
    reports = new_reports(count, rng)
    for size, url in urls.items():
        upgrade(url)
        fill(url, 0, size, random.Random(size))
        measure(url, reports[:20])                       # warm-up: lexicon compiled, caches filled
    results: dict[int, list[dict]] = {size: [] for size in urls}
    for _round in range(rounds):
        for size, url in urls.items():
            results[size].append(measure(url, reports))
    typical = {size: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
               for size, runs in results.items()}
    for size, result in typical.items():
        print(f"  {size:>7,} incidents: per report median {result['median'] * 1000:.2f} ms wall, "
              f"{result['cpu'] * 1000:.2f} ms CPU of this process, p95 {result['p95'] * 1000:.2f} ms "
              f"(reading the facts alone: {result['facts'] * 1000:.2f} ms)")
    smallest, largest = min(typical), max(typical)
    ratio = {key: typical[largest][key] / typical[smallest][key] for key in ("median", "cpu")}
    print(f"  cost at {largest:,} / cost at {smallest:,}: {ratio['median']:.2f}x wall, {ratio['cpu']:.2f}x CPU",
          flush=True)


@contextmanager
def postgresql_schemas(count: int):
    """URLs of `count` new schemas on the test server, dropped afterwards."""
    admin = create_engine(DEFAULT_PG_URL)
    schemas = [f"nm_bench_{uuid.uuid4().hex[:8]}" for _ in range(count)]
    urls = []
    for schema in schemas:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(DEFAULT_PG_URL)
        urls.append(url.set(query={**url.query, "options": f"-csearch_path={schema}"})
                    .render_as_string(hide_password=False))
    try:
        yield urls
    finally:
        for schema, url in zip(schemas, urls):
            make_engine(url).dispose()
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as folder:
            print("SQLite")
            run({size: f"sqlite:///{folder}/incidents-{size}.db" for size in args.sizes}, args.reports, args.rounds)
    if args.only != "sqlite":
        with postgresql_schemas(len(args.sizes)) as urls:
            print("PostgreSQL")
            run(dict(zip(args.sizes, urls)), args.reports, args.rounds)


if __name__ == "__main__":
    main()
