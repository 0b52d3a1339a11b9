"""Query benchmark: search, filtered listing and export on N synthetic articles (default 1,000,000).

Usage:
    python bench/query_bench.py [--rows N] [--only sqlite|postgresql] [--repeats N] [--no-export]
                                [--reuse] [--keep] [--sqlite-path FILE] [--pg-url URL]

Builds the same synthetic corpus in SQLite (a file under /tmp) and in
PostgreSQL (a dedicated schema, dropped afterwards unless --keep), both through
the real migrations; secondary indexes, FTS triggers and the FTS index are
dropped for the bulk load and recreated from their own DDL afterwards, and
`alembic check` confirms the final schema is the migrations'. Then measures,
through newsmon's own functions: one-word full-text search over words of
several document frequencies, a filtered listing (source + since), and
`newsmon export` (rows/s, peak RSS of the export process) on a tenth of the
rows and on all of them, to show that memory stays flat.

--reuse keeps a database that already holds --rows articles (iterate on the
queries without rebuilding); --keep leaves both databases in place.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.engine import make_engine, session_scope  # noqa: E402
from newsmon.storage.migrate import alembic_config, upgrade  # noqa: E402
from newsmon.interface.query import Filters, search  # noqa: E402

DEFAULT_PG_URL = os.environ.get("NEWSMON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_SCHEMA = "newsmon_bench"
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
SPAN = timedelta(days=365)
BATCH = 20_000
SEED = 20201927  # the war started on 27 September 2020

# --- synthetic corpus --------------------------------------------------------------------

# Domain words per language with the share of that language's articles they appear in.
DOMAIN = {
    "en": {"Karabakh": 0.85, "Armenia": 0.7, "Azerbaijan": 0.7, "ceasefire": 0.22, "Stepanakert": 0.15,
           "Lachin": 0.06, "Pashinyan": 0.2, "Aliyev": 0.2, "drone": 0.08, "shelling": 0.05,
           "refugees": 0.07, "OSCE": 0.03, "Khankendi": 0.02, "Zangezur": 0.03},
    "ru": {"Карабах": 0.8, "Армения": 0.6, "Азербайджан": 0.6, "Степанакерт": 0.2, "перемирие": 0.15,
           "обстрел": 0.05, "беженцы": 0.06, "граница": 0.2},
    "hy": {"Արցախ": 0.7, "Հայաստան": 0.7, "Ադրբեջան": 0.6, "Ստեփանակերտ": 0.3, "հրադադար": 0.1,
           "սահման": 0.2, "փախստականներ": 0.05},
    "az": {"Qarabağ": 0.85, "Azərbaycan": 0.8, "Ermənistan": 0.6, "Xankəndi": 0.2, "atəşkəs": 0.1,
           "sərhəd": 0.2, "Şuşa": 0.1},
    "tr": {"Karabağ": 0.8, "Azerbaycan": 0.8, "Ermenistan": 0.6, "ateşkes": 0.12, "sınır": 0.2},
    "fr": {"Karabakh": 0.85, "Arménie": 0.7, "Azerbaïdjan": 0.7, "cessez": 0.1, "frontière": 0.2,
           "réfugiés": 0.06},
}
ALPHABETS = {
    "en": "abcdefghiklmnoprstuvwy", "fr": "abcdefgilmnoprstuvéèàç",
    "ru": "абвгдеёжзийклмнопрстуфхцчшщыэюя", "hy": "աբգդեզէըթժիլխծկհձղճմյնշոչպջռսվտրցւփքօֆ",
    "az": "abcçdeəfgğhxıijkqlmnoöprsştuüvyz", "tr": "abcçdefgğhıijklmnoöprsştuüvyz",
}
COUNTRIES = {"AM": ("hy", "en", "ru"), "AZ": ("az", "en", "ru"), "RU": ("ru",), "TR": ("tr",),
             "INT": ("en", "fr"), None: ("en",)}
COUNTRY_SHARE = {"AM": 0.3, "AZ": 0.3, "RU": 0.15, "TR": 0.1, "INT": 0.1, None: 0.05}
FILLER_WORDS = 30_000
MEAN_WORDS = 220          # ~1.6 KB of text per article
NEAR_DUPLICATE_SHARE = 0.15
OPEN_STORIES = 400        # near-duplicates attach to one of the most recent stories


@dataclass
class Language:
    words: list[str]
    cdf: np.ndarray

    def sample(self, rng: np.random.Generator, count: int) -> list[str]:
        return [self.words[i] for i in np.searchsorted(self.cdf, rng.random(count)).tolist()]


def per_token_probability(document_share: float) -> float:
    """The chance per word that makes a word appear in `document_share` of the articles."""
    return 1 - (1 - document_share) ** (1 / MEAN_WORDS)


def build_language(code: str, rng: np.random.Generator) -> Language:
    domain = DOMAIN[code]
    domain_probabilities = [per_token_probability(share) for share in domain.values()]
    filler = filler_words(ALPHABETS[code], rng)
    zipf = 1 / np.arange(1, len(filler) + 1) ** 1.07
    zipf *= (1 - sum(domain_probabilities)) / zipf.sum()
    probabilities = np.concatenate([domain_probabilities, zipf])
    return Language(list(domain) + filler, np.cumsum(probabilities) / probabilities.sum())


def filler_words(alphabet: str, rng: np.random.Generator) -> list[str]:
    words: set[str] = set()
    letters = list(alphabet)
    while len(words) < FILLER_WORDS:
        length = int(rng.integers(3, 11))
        words.add("".join(rng.choice(letters, length)))
    return sorted(words)


@dataclass
class OpenStory:
    id: int
    title: str
    first_article_id: int
    first_seen: datetime
    last_seen: datetime
    text_words: list[str]
    article_count: int = 1
    sources: set[str] = field(default_factory=set)


@dataclass
class Corpus:
    """Deterministic synthetic articles and stories, generated in batches."""

    rows: int
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(SEED))

    def __post_init__(self):
        self.languages = {code: build_language(code, self.rng) for code in DOMAIN}
        self.sources = self._sources()
        self.open_stories: list[OpenStory] = []
        self.next_story_id = 1

    def _sources(self) -> list[dict]:
        countries = list(COUNTRY_SHARE)
        picks = self.rng.choice(len(countries), 300, p=list(COUNTRY_SHARE.values()))
        sources = []
        for number, pick in enumerate(picks.tolist(), 1):
            country = countries[pick]
            language = COUNTRIES[country][number % len(COUNTRIES[country])]
            settings = {"name": f"outlet-{number:03d}", "kind": "rss", "language": language}
            if country:
                settings["country"] = country
            sources.append({"name": settings["name"], "language": language, "country": country,
                            "settings": settings, "weight": float(self.rng.lognormal(0, 0.7))})
        return sources

    def source_weights(self) -> np.ndarray:
        weights = np.array([s["weight"] for s in self.sources])
        return weights / weights.sum()

    def batches(self) -> Iterator[tuple[list[tuple], list[tuple]]]:
        """(articles, closed stories) per batch; every story is closed by the last batch."""
        weights = self.source_weights()
        for start in range(0, self.rows, BATCH):
            count = min(BATCH, self.rows - start)
            picks = self.rng.choice(len(self.sources), count, p=weights).tolist()
            articles = [self._article(start + offset + 1, self.sources[pick]) for offset, pick in enumerate(picks)]
            closed = self._close_stories(keep=0 if start + count >= self.rows else OPEN_STORIES)
            yield articles, closed

    def _article(self, article_id: int, source: dict) -> tuple:
        moment = START + SPAN * (article_id / self.rows) + timedelta(minutes=float(self.rng.normal(0, 90)))
        if self.open_stories and self.rng.random() < NEAR_DUPLICATE_SHARE:
            return self._near_duplicate(article_id, source, moment)
        language = self.languages[source["language"]]
        words = language.sample(self.rng, max(60, int(self.rng.normal(MEAN_WORDS, 60))))
        title = " ".join(language.sample(self.rng, int(self.rng.integers(6, 13)))).capitalize()
        story = OpenStory(self.next_story_id, title, article_id, moment, moment, words, sources={source["name"]})
        self.next_story_id += 1
        self.open_stories.append(story)
        return self._row(article_id, source, title, words, moment, story.id, None, None, source["language"])

    def _near_duplicate(self, article_id: int, source: dict, moment: datetime) -> tuple:
        story = self.open_stories[int(self.rng.integers(max(0, len(self.open_stories) - OPEN_STORIES),
                                                        len(self.open_stories)))]
        words = list(story.text_words)
        for position in self.rng.integers(0, len(words), max(1, len(words) // 20)).tolist():
            words[position] = words[(position * 7) % len(words)]
        moment = max(moment, story.first_seen + timedelta(minutes=5))
        story.article_count += 1
        story.sources.add(source["name"])
        story.last_seen = max(story.last_seen, moment)
        similarity = round(0.8 + 0.2 * float(self.rng.random()), 3)
        return self._row(article_id, source, story.title, words, moment, story.id, story.first_article_id,
                         similarity, None)

    def _row(self, article_id, source, title, words, moment, story_id, duplicate_of, similarity, language):
        published = None if self.rng.random() < 0.03 else moment
        url = f"https://{source['name']}.example/{moment:%Y/%m/%d}/{article_id}"
        return (article_id, url, url, f"urn:{article_id}", source["name"], title, " ".join(words),
                None, json.dumps([f"Author {article_id % 97}"]), language or source["language"],
                published, moment + timedelta(minutes=7), None, f"{article_id:064x}",
                round(0.5 + 0.5 * float(self.rng.random()), 3), story_id, duplicate_of, similarity)

    def _close_stories(self, keep: int) -> list[tuple]:
        cut = max(0, len(self.open_stories) - keep)
        closed, self.open_stories = self.open_stories[:cut], self.open_stories[cut:]
        return [(s.id, s.title, s.first_article_id, s.first_seen, s.last_seen, s.article_count, len(s.sources))
                for s in closed]


ARTICLE_COLUMNS = ("id", "canonical_url", "url", "guid", "source", "title", "text", "summary", "authors",
                   "language", "published_at", "fetched_at", "updated_at", "content_hash", "relevance",
                   "story_id", "duplicate_of", "similarity")
STORY_COLUMNS = ("id", "title", "first_article_id", "first_seen_at", "last_seen_at", "article_count",
                 "outlet_count")
SOURCE_COLUMNS = ("name", "kind", "url", "language", "settings", "enabled", "status", "consecutive_failures")


def source_rows(corpus: Corpus) -> list[tuple]:
    return [(s["name"], "rss", f"https://{s['name']}.example/feed", s["language"], json.dumps(s["settings"]),
             True, "ok", 0) for s in corpus.sources]


# --- loading -----------------------------------------------------------------------------

def sqlite_time(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DateTime stores (naive UTC with microseconds)."""
    return None if value is None else value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def load_sqlite(path: Path, rows: int) -> None:
    remove_sqlite(path)
    url = f"sqlite:///{path}"
    upgrade(url)
    make_engine(url).dispose()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous=OFF")
    deferred = connection.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'articles' AND sql IS NOT NULL "
        "AND type IN ('index', 'trigger')").fetchall()
    for kind, name, _ in deferred:
        connection.execute(f"DROP {kind.upper()} {name}")
    corpus = Corpus(rows)
    connection.execute("BEGIN")
    connection.executemany(insert_sql("sources", SOURCE_COLUMNS), source_rows(corpus))
    for articles, stories in progress(corpus.batches(), rows, "sqlite load"):
        connection.executemany(insert_sql("articles", ARTICLE_COLUMNS),
                               [row[:10] + (sqlite_time(row[10]), sqlite_time(row[11])) + row[12:]
                                for row in articles])
        connection.executemany(insert_sql("stories", STORY_COLUMNS),
                               [row[:3] + (sqlite_time(row[3]), sqlite_time(row[4])) + row[5:] for row in stories])
    connection.execute("COMMIT")
    timed("sqlite indexes", lambda: [connection.execute(sql) for kind, _, sql in deferred if kind == "index"])
    timed("sqlite fts rebuild", lambda: connection.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')"))
    for kind, _, sql in deferred:
        if kind == "trigger":
            connection.execute(sql)
    timed("sqlite analyze", lambda: connection.execute("ANALYZE"))
    connection.close()


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def pg_schema_url(base: str) -> str:
    url = make_url(base)
    return url.set(query={**url.query, "options": f"-csearch_path={PG_SCHEMA}"}).render_as_string(hide_password=False)


def load_postgres(base_url: str, rows: int) -> None:
    drop_postgres(base_url)
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    admin.dispose()
    url = pg_schema_url(base_url)
    upgrade(url)
    make_engine(url).dispose()
    raw = create_engine(url).raw_connection()
    try:
        copy_into_postgres(raw.driver_connection, Corpus(rows), rows)
    finally:
        raw.close()


def copy_into_postgres(connection, corpus: Corpus, rows: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'articles' "
                       "AND indexname NOT IN (SELECT conname FROM pg_constraint)", (PG_SCHEMA,))
        deferred = cursor.fetchall()
        for name, _ in deferred:
            cursor.execute(f'DROP INDEX "{name}"')
        # Foreign keys are circular (stories <-> articles) and right by construction: skip their triggers.
        cursor.execute("SET session_replication_role = replica")
        copy_rows(cursor, "sources", SOURCE_COLUMNS, source_rows(corpus))
        for articles, stories in progress(corpus.batches(), rows, "postgresql load"):
            copy_rows(cursor, "articles", ARTICLE_COLUMNS, articles)
            copy_rows(cursor, "stories", STORY_COLUMNS, stories)
        connection.commit()
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for name, definition in deferred:
            timed(f"postgresql {name}", lambda: cursor.execute(definition))
        connection.commit()
        for table in ("articles_id_seq", "stories_id_seq", "sources_id_seq"):
            base = table.removesuffix("_id_seq")
            cursor.execute(f"SELECT setval('{table}', (SELECT max(id) FROM {base}))")
        connection.commit()
    connection.autocommit = True
    timed("postgresql vacuum analyze", lambda: connection.execute("VACUUM ANALYZE"))


def copy_rows(cursor, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def drop_postgres(base_url: str) -> None:
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    admin.dispose()


def progress(batches, rows: int, label: str):
    started = time.perf_counter()
    for done, batch in enumerate(batches, 1):
        yield batch
        if done % 10 == 0:
            print(f"  {label}: {min(done * BATCH, rows):,} rows, {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)


def timed(label: str, action) -> None:
    started = time.perf_counter()
    action()
    print(f"  {label}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


def article_count(url: str) -> int:
    try:
        with make_engine(url).connect() as connection:
            return connection.execute(text("SELECT count(*) FROM articles")).scalar_one()
    except Exception:  # no database or no schema yet: build it
        return -1


def check_schema(url: str) -> str:
    from alembic import command

    command.check(alembic_config(url))
    return "schema = migrations (alembic check passed)"


# --- measuring ---------------------------------------------------------------------------

FREQUENCY_TARGETS = (0.0003, 0.003, 0.03, 0.3)   # share of articles a benchmark word appears in
WORDS_PER_CLASS = 4
SAMPLE_ARTICLES = 20_000


def pick_words(rows: int) -> dict[str, list[tuple[str, float]]]:
    """Benchmark words by document frequency, estimated on the corpus's first articles (same seed)."""
    documents = Counter()
    for articles, _ in Corpus(min(rows, SAMPLE_ARTICLES)).batches():
        for row in articles:
            documents.update(set(row[6].casefold().split()))
    sample = min(rows, SAMPLE_ARTICLES)
    classes = {}
    for target in FREQUENCY_TARGETS:
        nearest = sorted(documents, key=lambda word: (abs(documents[word] / sample - target), word))
        classes[f"{target:.2%}"] = [(word, documents[word] / sample) for word in nearest[:WORDS_PER_CLASS]]
    return classes


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def time_searches(url: str, cases: list[tuple[str | None, Filters]], repeats: int) -> list[float]:
    samples = []
    for query, filters in cases:
        for attempt in range(repeats + 1):
            with session_scope(url) as session:
                started = time.perf_counter()
                search(session, query, filters, limit=20)
                if attempt:  # the first run warms the caches
                    samples.append((time.perf_counter() - started) * 1000)
    return samples


def filtered_listing_cases(sources: list[str]) -> list[tuple[None, Filters]]:
    rng = random.Random(SEED)
    return [(None, Filters(source=rng.choice(sources), since=START + SPAN * rng.uniform(0.5, 0.95)))
            for _ in range(10)]


def export_run(url: str, fmt: str, since: datetime | None) -> tuple[int, float, float]:
    """(rows, seconds, peak RSS in MB) of `newsmon export` in a subprocess."""
    out = Path(f"/tmp/newsmon_bench_export.{fmt}")
    command = [sys.executable, "-m", "newsmon", "export", "--format", fmt, "--out", str(out), "--quiet"]
    if since:
        command += ["--since", since.isoformat()]
    started = time.perf_counter()
    process = subprocess.Popen(command, env={**os.environ, "NEWSMON_DATABASE_URL": url}, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"export failed with status {status}")
    rows = count_exported(out, fmt)
    out.unlink()
    return rows, elapsed, usage.ru_maxrss / 1024


def count_exported(path: Path, fmt: str) -> int:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


DOMAIN_WORDS = ("Karabakh", "Карабах", "Степанакерт", "Ստեփանակերտ", "Lachin", "OSCE")
WORD_AND_LANGUAGE = (("Karabakh", "en"), ("Карабах", "hy"), ("Lachin", "ru"), ("Ստեփանակերտ", "hy"))


def measure(name: str, url: str, rows: int, repeats: int, exports: bool) -> list[tuple[str, str]]:
    """(what, result) rows for the report table."""
    results = []

    def timed_cases(what: str, cases: list[tuple[str | None, Filters]]) -> None:
        p50, p95 = percentiles(time_searches(url, cases, repeats))
        results.append((what, f"{p50:.1f} / {p95:.1f} ms"))
        print(f"  {name}: {results[-1]}", file=sys.stderr, flush=True)

    for label, words in pick_words(rows).items():
        shown = ", ".join(word for word, _ in words[:2])
        timed_cases(f"search, one word in ~{label} of articles ({shown}, ...)", [(w, Filters()) for w, _ in words])
    timed_cases(f"search, domain words ({', '.join(DOMAIN_WORDS)})", [(w, Filters()) for w in DOMAIN_WORDS])
    sources = [source["name"] for source in Corpus(1).sources]
    timed_cases("listing, --source X --since DATE (no words)", filtered_listing_cases(sources))
    timed_cases("listing, newest (no words, no filters)", [(None, Filters())])
    timed_cases("search, one word + --lang", [(w, Filters(language=lang)) for w, lang in WORD_AND_LANGUAGE])
    timed_cases("search, one word + --source",
                [(w, Filters(source=source)) for w in ("Karabakh", "Карабах", "Lachin") for source in sources[:3]])
    for fmt in ("parquet", "jsonl") if exports else ():
        for since in (START + SPAN * 0.9, None):
            exported, seconds, peak = export_run(url, fmt, since)
            results.append((f"export {fmt}, {exported:,} rows",
                            f"{exported / seconds:,.0f} rows/s, peak RSS {peak:.0f} MB"))
            print(f"  {name}: {results[-1]}", file=sys.stderr, flush=True)
    return results


def report(rows: int, measured: dict[str, list[tuple[str, str]]]) -> str:
    names = list(measured)
    lines = [f"| {rows:,} articles | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for index, (what, _) in enumerate(next(iter(measured.values()))):
        lines.append(f"| {what} | " + " | ".join(measured[name][index][1] for name in names) + " |")
    return "\n".join(lines)


def database_size(name: str, url: str, sqlite_path: Path) -> str:
    if name == "sqlite":
        return f"{sqlite_path.stat().st_size / 1e9:.1f} GB"
    with make_engine(url).connect() as connection:
        return connection.execute(text(
            "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relkind = 'r'"),
            {"schema": PG_SCHEMA}).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--sqlite-path", type=Path, default=Path("/tmp/newsmon_bench.db"))
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--repeats", type=int, default=10, help="timed runs of each search")
    parser.add_argument("--no-export", action="store_true", help="measure the searches only")
    parser.add_argument("--reuse", action="store_true", help="keep a database that already has --rows articles")
    parser.add_argument("--keep", action="store_true", help="leave the databases in place afterwards")
    args = parser.parse_args()
    targets = {"sqlite": f"sqlite:///{args.sqlite_path}", "postgresql": pg_schema_url(args.pg_url)}
    measured = {}
    for name, url in targets.items():
        if args.only and name != args.only:
            continue
        if not (args.reuse and article_count(url) == args.rows):
            print(f"building {args.rows:,} articles in {name}", file=sys.stderr)
            started = time.perf_counter()
            load_sqlite(args.sqlite_path, args.rows) if name == "sqlite" else load_postgres(args.pg_url, args.rows)
            print(f"  {name} built in {time.perf_counter() - started:.0f} s; {check_schema(url)}", file=sys.stderr)
        label = f"{'SQLite' if name == 'sqlite' else 'PostgreSQL'} ({database_size(name, url, args.sqlite_path)})"
        measured[label] = measure(name, url, args.rows, args.repeats, not args.no_export)
        make_engine(url).dispose()
    if not args.keep:
        remove_sqlite(args.sqlite_path)
        drop_postgres(args.pg_url)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; times p50 / p95")
    print(report(args.rows, measured))


if __name__ == "__main__":
    main()
