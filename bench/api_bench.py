"""API search benchmark: GET /api/search over HTTP against the CLI's search, same corpus, same run.

Usage:
    python bench/api_bench.py [--rows N] [--only sqlite|postgresql] [--repeats N] [--reuse] [--keep]
                               [--sqlite-path FILE] [--pg-schema NAME]

Builds bench/query_bench.py's synthetic corpus (its own SQLite file and
PostgreSQL schema, so it never meets a query_bench run), starts `newsmon
serve --port 0` in a subprocess and times, for the same queries (words of four
document frequencies, the domain words, boolean queries, word + filter, the
newest listing):
  - cli:  `search_page`, what `newsmon search` runs (rows plus the capped total), in process;
  - api:  GET /api/search?q=...&limit=20 through a kept-alive HTTP connection (JSON encoding,
          HTTP, uvicorn included).
Prints p50 / p95 per case and overall, and the ratio api / cli.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import query_bench as corpus  # noqa: E402
from models.engine import make_engine, session_scope  # noqa: E402
from newsmon.interface.query import Filters, search_page  # noqa: E402

corpus.PG_SCHEMA = "newsmon_api_bench"
BOOLEAN = ("Karabakh OR Карабах", "Karabakh -ceasefire", '"Armenia Azerbaijan"', "Stepan*",
           "NEAR(Karabakh ceasefire, 5)", "(Lachin OR Zangezur) -drone")


def cases(rows: int) -> list[tuple[str, dict]]:
    """(label, API parameters); the CLI gets the same as Filters."""
    found = [(f"word in ~{label}", {"q": word}) for label, words in corpus.pick_words(rows).items()
             for word, _ in words]
    found += [("domain word", {"q": word}) for word in corpus.DOMAIN_WORDS]
    found += [("boolean", {"q": query}) for query in BOOLEAN]
    found += [("word + lang", {"q": word, "lang": lang}) for word, lang in corpus.WORD_AND_LANGUAGE]
    found += [("newest", {})]
    return found


def cli_filters(params: dict) -> Filters:
    return Filters(language=params.get("lang"))


def time_cli(url: str, params: dict, repeats: int) -> list[float]:
    samples = []
    for attempt in range(repeats + 1):
        with session_scope(url) as session:
            started = time.perf_counter()
            search_page(session, params.get("q"), cli_filters(params), limit=20)
            if attempt:
                samples.append((time.perf_counter() - started) * 1000)
    return samples


def time_api(client: httpx.Client, params: dict, repeats: int) -> list[float]:
    samples = []
    for attempt in range(repeats + 1):
        started = time.perf_counter()
        response = client.get("/api/search", params={**params, "limit": 20})
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        if attempt:
            samples.append(elapsed)
    return samples


def serve(url: str) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen([sys.executable, "-m", "newsmon", "--database", url, "serve", "--port", "0"],
                              stderr=subprocess.PIPE, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = server.stderr.readline()
    if not line.startswith("newsmon web app on "):
        server.kill()
        raise RuntimeError(f"newsmon serve did not start: {line}{server.stderr.read()}")
    return server, line.split()[4].rstrip("/")


def measure(name: str, url: str, rows: int, repeats: int) -> list[str]:
    server, base = serve(url)
    lines, every_cli, every_api = [], [], []
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            for label, params in cases(rows):
                cli, api = time_cli(url, params, repeats), time_api(client, params, repeats)
                every_cli += cli
                every_api += api
                shown = " ".join(f"{key}={value}" for key, value in params.items()) or "(no query)"
                lines.append(f"| {name} | {label}: {shown} | {_p(cli)} | {_p(api)} |")
                print(lines[-1], file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    cli95, api95 = corpus.percentiles(every_cli)[1], corpus.percentiles(every_api)[1]
    lines.append(f"| {name} | **all cases** | {_p(every_cli)} | {_p(every_api)} (p95 ratio api/cli "
                 f"{api95 / cli95:.2f}) |")
    return lines


def _p(samples: list[float]) -> str:
    p50, p95 = corpus.percentiles(samples)
    return f"{p50:.1f} / {p95:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--sqlite-path", type=Path, default=Path("/tmp/newsmon_api_bench.db"))
    parser.add_argument("--pg-url", default=corpus.DEFAULT_PG_URL)
    parser.add_argument("--pg-schema", default=corpus.PG_SCHEMA, help="keeps concurrent runs apart")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    corpus.PG_SCHEMA = args.pg_schema
    targets = {"SQLite": f"sqlite:///{args.sqlite_path}", "PostgreSQL": corpus.pg_schema_url(args.pg_url)}
    lines = [f"| {args.rows:,} articles | case | cli search p50 / p95 | API search p50 / p95 |", "|---|---|---|---|"]
    try:
        for name, url in targets.items():
            if args.only and name.lower() != args.only:
                continue
            if not (args.reuse and corpus.article_count(url) == args.rows):
                print(f"building {args.rows:,} articles in {name}", file=sys.stderr)
                if name == "SQLite":
                    corpus.load_sqlite(args.sqlite_path, args.rows)
                else:
                    corpus.load_postgres(args.pg_url, args.rows)
            lines += measure(name, url, args.rows, args.repeats)
            make_engine(url).dispose()
    finally:
        if not args.keep:
            corpus.remove_sqlite(args.sqlite_path)
            corpus.drop_postgres(args.pg_url)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; times p50 / p95 over {args.repeats} runs")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
