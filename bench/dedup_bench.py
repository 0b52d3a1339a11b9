"""Cost of the near-duplicate check as the table grows: time per article and memory.

    python bench/dedup_bench.py                        # SQLite: 10k, 100k and 1M stored articles
    python bench/dedup_bench.py --sizes 10000 100000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

The check is what the store does for every new article: ``similarity.signature``
and ``band_keys``, then ``store.find_near_duplicate`` (band-index lookup,
signatures of the candidates, texts of those that pass, number check).

Each database holds the 213 real texts of tests/dedup_eval.py (stored through
``store_article``, so with their stories), 20 topical neighbours of each (a
signature agreeing with it on a fifth of its positions, like a same-template
article: sometimes a candidate, always rejected on its signature), and
synthetic articles loaded in bulk up to the size: a random signature, which is
what an unrelated text looks like to the index. Half the queries are edited
copies of the real texts (the hit path: texts loaded and compared), half new
synthetic texts (the miss path: index probes only).

Every size is measured in a fresh process (so the RSS is that of the check
alone), after a warm-up, ``--rounds`` times in turn; the table keeps each
size's best round, which is the one least disturbed by other processes.
SQLite files go to var/bench/ (kept with --keep, reused with --reuse);
PostgreSQL tables to schemas dedup_bench_<size>, dropped at the end.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]   # run from a checkout; the texts of tests/dedup_eval.py

import numpy as np  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from dedup_eval import corpus_articles, edited_copy_pair, hand_written_texts  # noqa: E402
from models import Article, ArticleBand, ArticleSignature  # noqa: E402
from models.engine import make_engine, session_scope  # noqa: E402
from newsmon.analysis import similarity# noqa: E402
from newsmon.storage.migrate import upgrade  # noqa: E402
from newsmon.core.records import ArticleRecord, utcnow  # noqa: E402
from models.dialect import lock_for_ingest  # noqa: E402
from newsmon.storage.store import PreparedArticle, find_near_duplicate, store_articles  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"
LOAD_CHUNK = 20_000
NEIGHBOURS_PER_TEXT = 20
NEIGHBOUR_AGREEMENT = 0.2
WARM_UP_QUERIES = 50


# ---------------------------------------------------------------- databases

def sqlite_path(size: int) -> Path:
    return BENCH_DIR / f"dedup_bench_{size}.db"


def database_url(base_url: str | None, size: int) -> str:
    if base_url is None:
        return f"sqlite:///{sqlite_path(size)}"
    parsed = make_url(base_url)
    return parsed.set(query={**parsed.query, "options": f"-csearch_path=dedup_bench_{size}"}).render_as_string(
        hide_password=False)


def drop(base_url: str | None, size: int) -> None:
    if base_url is None:
        make_engine(database_url(None, size)).dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_path(size)}{suffix}").unlink(missing_ok=True)
        return
    with create_engine(base_url).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS dedup_bench_{size} CASCADE"))


def build(base_url: str | None, size: int, texts: list[str]) -> float:
    """A fresh database of `size` articles; returns the seconds it took."""
    started = time.perf_counter()
    drop(base_url, size)
    if base_url is None:
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
    else:
        with create_engine(base_url).begin() as connection:
            connection.execute(text(f"CREATE SCHEMA dedup_bench_{size}"))
    url = database_url(base_url, size)
    upgrade(url)
    real_signatures = store_real_texts(url, texts)
    load_synthetic(url, len(texts) + 1, size + 1, real_signatures)
    refresh_statistics(url)
    return time.perf_counter() - started


def refresh_statistics(url: str) -> None:
    """What the daily maintenance runs, limited on PostgreSQL to the bench's own
    tables (a plain ANALYZE would walk every schema of a shared server)."""
    engine = make_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA optimize" if engine.dialect.name == "sqlite"
                                   else "ANALYZE articles, article_bands, article_signatures")
        connection.commit()


def store_real_texts(url: str, texts: list[str]) -> np.ndarray:
    signatures = []
    with session_scope(url, write=True) as session:
        lock_for_ingest(session)
        for n, body in enumerate(texts):
            signature = similarity.signature(body)
            record = ArticleRecord(url=f"https://real.example/{n}", canonical_url=f"https://real.example/{n}",
                                   source=f"outlet-{n % 7}", title=f"Real {n}", text=body)
            store_articles(session, [PreparedArticle(
                record=record, relevance=1.0, content_hash=f"real-{n}", signature=signature,
                bands=similarity.band_keys(signature) if signature is not None else [])])
            if signature is not None:
                signatures.append(signature)
    return np.stack(signatures)


def load_synthetic(url: str, first_id: int, stop_id: int, real_signatures: np.ndarray) -> None:
    """Articles first_id..stop_id-1 with their signature and band rows, in bulk;
    the first ones are the real texts' neighbours."""
    rng = np.random.default_rng(first_id)
    neighbours = np.repeat(real_signatures, NEIGHBOURS_PER_TEXT, axis=0)
    engine = make_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":   # a bulk load: keep the index pages it updates in memory
            connection.exec_driver_sql("PRAGMA cache_size=-1000000")
        for start in range(first_id, stop_id, LOAD_CHUNK):
            ids = range(start, min(start + LOAD_CHUNK, stop_id))
            signatures = rng.integers(0, 2**32, size=(len(ids), similarity.NUM_PERM), dtype=np.uint32)
            models = neighbours[start - first_id : start - first_id + len(ids)]
            agree = rng.random(models.shape) < NEIGHBOUR_AGREEMENT
            signatures[: len(models)] = np.where(agree, models, signatures[: len(models)])
            insert_chunk(connection, ids, signatures)


def insert_chunk(connection, ids: range, signatures: np.ndarray) -> None:
    now = utcnow()
    connection.execute(insert(Article), [
        {"id": i, "canonical_url": f"https://synthetic.example/{i}", "url": f"https://synthetic.example/{i}",
         "source": f"synthetic-{i % 50}", "title": f"Synthetic {i}", "text": f"Synthetic article {i}.",
         "fetched_at": now} for i in ids])
    connection.execute(insert(ArticleSignature), [
        {"article_id": i, "signature": similarity.to_bytes(sig)} for i, sig in zip(ids, signatures)])
    # Sorted like the index, so the load appends to it instead of splitting pages at random.
    bands = sorted((band, key, i) for i, sig in zip(ids, signatures) for band, key in similarity.band_keys(sig))
    connection.execute(insert(ArticleBand), [{"band": b, "band_hash": k, "article_id": i} for b, k, i in bands])


def table_bytes(url: str) -> dict[str, int]:
    """On-disk bytes of the sketch tables, indexes included."""
    engine = make_engine(url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.execute(text(
                "SELECT CASE WHEN name = 'article_signatures' THEN 'signatures' ELSE 'bands' END, sum(pgsize) "
                "FROM dbstat WHERE name IN ('article_bands', 'sqlite_autoindex_article_bands_1', "
                "'article_signatures') GROUP BY 1"))
        else:
            rows = connection.execute(text(
                "SELECT 'bands', pg_total_relation_size('article_bands') "
                "UNION ALL SELECT 'signatures', pg_total_relation_size('article_signatures')"))
        return dict(rows.all())


# ---------------------------------------------------------------- the check

def real_texts() -> list[str]:
    return [body for _, body in corpus_articles()] + hand_written_texts()


def queries(texts: list[str], count: int) -> list[tuple[str, str]]:
    """(kind, text): edited copies of stored texts, and new synthetic texts."""
    rng = random.Random(7)
    sketched = [t for t in texts if similarity.signature(t) is not None]
    vocabulary = [word for t in texts for word in t.split()]
    copies = [("copy", edited_copy_pair(rng.choice(sketched), rng).arriving) for _ in range(count // 2)]
    new = [("new", " ".join(rng.choices(vocabulary, k=450))) for _ in range(count - count // 2)]
    return [(kind, body) for kind, body in copies + new if similarity.signature(body) is not None]


def measure(url: str, workload: list[tuple[str, str]]) -> dict:
    """Run in a fresh process: time the check per article, then read this process's RSS."""
    timings = {"copy": [], "new": []}
    found = 0
    with session_scope(url) as session:
        for _, body in workload[:WARM_UP_QUERIES]:
            duplicate_check(session, body)
        for kind, body in workload:
            started = time.perf_counter()
            match = duplicate_check(session, body)
            timings[kind].append(time.perf_counter() - started)
            found += kind == "copy" and match is not None
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {"timings": timings, "found": found, "rss_mb": _kilobytes(status["VmRSS"]) / 1024,
            "peak_rss_mb": _kilobytes(status["VmHWM"]) / 1024}


def duplicate_check(session, body: str):
    """What the store does for a new article (exact-duplicate lookups aside)."""
    signature = similarity.signature(body)
    record = ArticleRecord(url="https://query.example/", source="bench", text=body)
    prepared = PreparedArticle(record, 1.0, None, signature, similarity.band_keys(signature))
    return find_near_duplicate(session, prepared)


def _kilobytes(value: str) -> int:
    return int(value.split()[0])


def median_ms(values: list[float]) -> float:
    return 1000 * statistics.median(values)


# ---------------------------------------------------------------- the report

HEADER = ("| stored articles | per article, median | p95 | copies (hit) | new texts (miss) | copies found "
          "| RSS MB | peak RSS MB | band rows B/article | signatures B/article | build s |\n"
          "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def every_timing(result: dict) -> list[float]:
    return result["timings"]["copy"] + result["timings"]["new"]


def report_line(size: int, result: dict, sizes: dict[str, int], build_seconds: float) -> str:
    every = every_timing(result)
    p95 = 1000 * statistics.quantiles(every, n=20)[18]
    copies = result["timings"]["copy"]
    return (f"| {size:,} | {median_ms(every):.2f} ms | {p95:.2f} ms | {median_ms(copies):.2f} ms | "
            f"{median_ms(result['timings']['new']):.2f} ms | {result['found']}/{len(copies)} | "
            f"{result['rss_mb']:.0f} | {result['peak_rss_mb']:.0f} | {sizes['bands'] / size:.0f} | "
            f"{sizes['signatures'] / size:.0f} | {build_seconds:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite files under var/bench/)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files")
    parser.add_argument("--reuse", action="store_true", help="reuse the SQLite files a --keep run left")
    args = parser.parse_args()

    texts = real_texts()
    workload = queries(texts, args.queries)
    build_seconds = {}
    for size in args.sizes:
        reusable = args.reuse and args.database_url is None and sqlite_path(size).exists()
        build_seconds[size] = 0.0 if reusable else build(args.database_url, size, texts)
    rounds = {size: [] for size in args.sizes}
    for _ in range(args.rounds):
        for size in args.sizes:
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                rounds[size].append(pool.submit(measure, database_url(args.database_url, size), workload).result())
    best = {size: min(results, key=lambda r: median_ms(every_timing(r))) for size, results in rounds.items()}
    print(f"{make_engine(database_url(args.database_url, args.sizes[0])).dialect.name}: "
          f"{len(workload)} checks per size, best of {args.rounds} rounds")
    print(HEADER)
    for size in args.sizes:
        url = database_url(args.database_url, size)
        print(report_line(size, best[size], table_bytes(url), build_seconds[size]))
    if args.database_url is not None or not args.keep:
        for size in args.sizes:
            drop(args.database_url, size)


if __name__ == "__main__":
    main()
