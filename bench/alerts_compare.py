"""Alert evaluation of two checkouts back to back: this tree against another (e.g. the code before a change).

Usage:
    git archive 8267774 | tar -x -C /tmp/alerts_orig
    python bench/alerts_compare.py /tmp/alerts_orig [--rounds 2] [--articles N] [--only sqlite|postgresql]

Alternates the two trees (other, this, other, this, ...), each in its own process
with its own code first on the path, each building its own bench corpus
(bench/alerts_bench.py, same seed) and timing its first evaluate_and_deliver:
wall time and the process's CPU time (the machine is shared: CPU time moves less
with the load; with PostgreSQL the server's CPU is not in it). Prints each run
and the ratios this/other of the sums.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = re.compile(r"wall ([\d.]+) s, cpu ([\d.]+) s")


def measure_tree(tree: str, only: str, count: int) -> None:
    """In the child: build the corpus of `tree`'s bench and time one evaluation."""
    spec = importlib.util.spec_from_file_location("alerts_bench", f"{tree}/bench/alerts_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    if only == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            bench.upgrade(url)
            _time(bench, url, tree, count)
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    schema = f"nm_alerts_compare_{uuid.uuid4().hex[:8]}"
    admin = create_engine(bench.DEFAULT_PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    base = make_url(bench.DEFAULT_PG_URL)
    url = base.set(query={**base.query, "options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        bench.upgrade(url)
        _time(bench, url, tree, count)
    finally:
        bench.make_engine(url).dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _time(bench, url: str, tree: str, count: int) -> None:
    bench.build_corpus(url, count)
    wall, cpu = time.perf_counter(), time.process_time()
    report = bench.evaluate_and_deliver(database_url=url, now=bench.END, channels=[])
    print(f"{tree}: {report.evaluated_articles} articles, wall {time.perf_counter() - wall:.2f} s, "
          f"cpu {time.process_time() - cpu:.2f} s, {dict(report.by_kind)}", flush=True)


def run(tree: str, only: str, count: int) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": tree}
    out = subprocess.run([sys.executable, __file__, "--child", tree, "--only", only, "--articles", str(count)],
                         cwd=tree, env=env, capture_output=True, text=True, check=True).stdout.strip()
    print(out, flush=True)
    wall, cpu = RESULT.search(out).groups()
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", nargs="?", help="the other checkout")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure_tree(args.child, args.only, args.articles)
        return
    totals = {"other": [0.0, 0.0], "this": [0.0, 0.0]}
    for _round in range(args.rounds):
        for name, tree in (("other", str(Path(args.other).resolve())), ("this", str(ROOT))):
            wall, cpu = run(tree, args.only, args.articles)
            totals[name][0] += wall
            totals[name][1] += cpu
    (other_wall, other_cpu), (wall, cpu) = totals["other"], totals["this"]
    print(f"this/other: wall {wall / other_wall:.2f}x ({wall:.1f} vs {other_wall:.1f} s), "
          f"cpu {cpu / other_cpu:.2f}x ({cpu:.1f} vs {other_cpu:.1f} s) over {args.rounds} rounds")


if __name__ == "__main__":
    main()
