"""One feed cycle at scale through `newsmon run` and through the real Airflow scheduler, and the
freshness of alerts under the scheduler.

    python bench/deployment_bench.py                       # 500 feeds: CLI, LocalExecutor, Celery x1, x2
    python bench/deployment_bench.py --only freshness --minutes 10

Scale: N local feeds (10 entries each: 2 about the conflict with full text, 8 unrelated) served on
127.0.0.1; every figure is a cold cycle (every feed new, 2N articles stored) into a fresh PostgreSQL
database. CLI: wall time of `newsmon run --only feeds --all` (process start included). Airflow: the
deployment of deploy/start-airflow (PostgreSQL metadata DB) is started and the feeds DAG unpaused;
its first scheduled run polls every feed; the figure is that run's start-to-end time. Celery: the
same with 1 and 2 workers (concurrency 2 each).

Freshness: 20 feeds under the LocalExecutor deployment with both DAGs unpaused and a local webhook
receiver; for --minutes, an escalation report appears in a random feed every 20-60 s; the figure is,
per report, the time from its appearance in the feed to its alert reaching the webhook.
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newsmon.testing.deployment import (AirflowDeployment, create_databases, database_url,  # noqa: E402
                                        drop_databases)
from newsmon.testing.loopback import LoopbackServer  # noqa: E402

RNG = random.Random(15)
WORDS = ["".join(RNG.choice("aeioubcdfgklmnprstvz") for _ in range(RNG.randint(3, 9))) for _ in range(3000)]
PLACES = ["Jermuk", "Ganja", "Tovuz", "Goris", "Kapan", "Lachin", "Shusha", "Agdam", "Tavush", "Sotk"]


def filler(sentences: int) -> str:
    return " ".join(" ".join(RNG.choice(WORDS) for _ in range(12)).capitalize() + "." for _ in range(sentences))


def relevant_item(base: str, feed: int, number: int, escalation: bool = False, token: str = "") -> dict:
    place = RNG.choice(PLACES)
    title = (f"Artillery shelling near {place} reported {token}" if escalation
             else f"Nagorno-Karabakh talks: delegations meet over {place} {feed}-{number}")
    body = (f"Armenian and Azerbaijani officials discussed Nagorno-Karabakh and the Lachin corridor. "
            + (f"Azerbaijani forces shelled positions near {place} overnight, the Armenian defence ministry said. "
               if escalation else f"Delegations met to discuss the border near {place}. ")
            + filler(14))
    return {"title": title, "link": f"{base}/f{feed}/{number}-{token or 'a'}.html", "text": body}


def unrelated_item(base: str, feed: int, number: int) -> dict:
    return {"title": f"Local market news {feed}-{number}", "link": f"{base}/f{feed}/u{number}.html",
            "text": filler(2)}


def rss(base: str, feed: int, items: list[dict]) -> str:
    now = format_datetime(datetime.now(timezone.utc))
    entries = "".join(
        f"<item><title>{i['title']}</title><link>{i['link']}</link><guid>{i['link']}</guid>"
        f"<pubDate>{i.get('date', now)}</pubDate><description><![CDATA[{i['text']}]]></description></item>"
        for i in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>feed {feed}</title>'
            f"<link>{base}/f{feed}/</link>{entries}</channel></rss>")


def serve_feeds(server: LoopbackServer, count: int, folder: Path, relevant: int = 2,
                unrelated: int = 8) -> tuple[Path, dict]:
    feeds = {}
    for feed in range(count):
        feeds[feed] = ([relevant_item(server.url, feed, n) for n in range(relevant)]
                       + [unrelated_item(server.url, feed, n) for n in range(unrelated)])
        server.route(f"/f{feed}/rss.xml", rss(server.url, feed, feeds[feed]), content_type="application/rss+xml")
    sources = folder / "sources.yaml"
    sources.write_text("sources:\n" + "".join(
        f"  - name: feed-{feed:04d}\n    kind: rss\n    url: {server.url}/f{feed}/rss.xml\n"
        for feed in range(count)), encoding="utf-8")
    return sources, feeds


def cli_cycle(sources: Path) -> float:
    name = f"newsmon_bench_{secrets.token_hex(4)}"
    create_databases(name)
    env = {**os.environ, "NEWSMON_DATABASE_URL": database_url(name)}
    try:
        subprocess.run([sys.executable, "-m", "newsmon", "db", "upgrade"], env=env, check=True, capture_output=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "newsmon", "run", "--only", "feeds", "--all", "--sources", str(sources)],
                       env=env, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        print(f"  CLI stored {article_count(env['NEWSMON_DATABASE_URL'])} articles", flush=True)
        return seconds
    finally:
        drop_databases(name)


def airflow_cycle(sources: Path, folder: Path, executor: str, workers: int = 0) -> tuple[float, dict]:
    with AirflowDeployment(folder, sources, executor=executor, workers=workers) as deployment:
        deployment.unpause("newsmon_feeds")
        run = deployment.wait_for_runs("newsmon_feeds", 1, timeout=1800)[0]
        instances = deployment.task_instances("newsmon_feeds", run["dag_run_id"])
        tasks = [ti for ti in instances if ti["task_id"] == "poll_feeds"]
        print_timeline(run, instances)
        print(f"  Airflow stored {article_count(deployment.newsmon_url)} articles", flush=True)
    seconds = (_when(run["end_date"]) - _when(run["start_date"])).total_seconds()
    return seconds, {"state": run["state"], "tasks": len(tasks), "hosts": sorted({t["hostname"] for t in tasks})}


def print_timeline(run: dict, instances: list[dict]) -> None:
    """When each task was queued, started and ended, in seconds from the run's start: where the time goes."""
    def at(stamp: str | None) -> str:
        return f"{(_when(stamp) - _when(run['start_date'])).total_seconds():6.1f}" if stamp else "     -"

    for ti in sorted(instances, key=lambda ti: (ti["start_date"] or "", ti["map_index"])):
        print(f"    {ti['task_id']}[{ti['map_index']}]: queued {at(ti.get('queued_when'))} "
              f"started {at(ti['start_date'])} ended {at(ti['end_date'])}", flush=True)


def article_count(url: str) -> int:
    from sqlalchemy import func, select

    from models import Article
    from models.engine import make_engine, session_scope

    with session_scope(url) as session:
        count = session.scalar(select(func.count(Article.id)))
    make_engine(url).dispose()
    return count


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def scale(args, folder: Path) -> None:
    """Each Airflow cycle between two CLI cycles, compared to their mean: the machine's load
    (shared, 2 cores) changes over minutes, so a ratio only holds within one stretch of time."""
    with LoopbackServer() as server:
        sources, _ = serve_feeds(server, args.feeds, folder)
        cli = cli_cycle(sources)
        print(f"newsmon run, {args.feeds} feeds: {cli:.1f} s", flush=True)
        setups = [("LocalExecutor", 0)] + ([] if args.skip_celery else [("CeleryExecutor", 1), ("CeleryExecutor", 2)])
        for executor, workers in setups:
            seconds, info = airflow_cycle(sources, folder / f"{executor}-{workers}", executor, workers)
            after = cli_cycle(sources)
            print(f"newsmon run, {args.feeds} feeds: {after:.1f} s", flush=True)
            label = executor + (f", {workers} worker(s)" if workers else "")
            print(f"Airflow {label}: {seconds:.1f} s = {seconds / ((cli + after) / 2):.2f}x the CLI runs "
                  f"before and after ({cli:.1f} s, {after:.1f} s; {info}; load average {os.getloadavg()[0]:.1f})",
                  flush=True)
            cli = after


def freshness(args, folder: Path) -> None:
    with LoopbackServer() as server:
        server.route("/hook", "ok")
        sources, feeds = serve_feeds(server, 20, folder, relevant=2, unrelated=1)
        with AirflowDeployment(folder / "fresh", sources, extra_env={"NEWSMON_WEBHOOK_URL": f"{server.url}/hook"}) \
                as deployment:
            deployment.unpause("newsmon_feeds", "newsmon_alerts")
            deployment.wait_for_runs("newsmon_feeds", 1, timeout=900)
            appeared = {}
            deadline = time.time() + args.minutes * 60
            while time.time() < deadline:
                time.sleep(RNG.uniform(20, 60))
                feed, token = RNG.randrange(20), f"r{secrets.token_hex(3)}"
                item = relevant_item(server.url, feed, len(feeds[feed]), escalation=True, token=token)
                feeds[feed].insert(0, item)
                server.route(f"/f{feed}/rss.xml", rss(server.url, feed, feeds[feed]),
                             content_type="application/rss+xml")
                appeared[token] = time.time()
            drain = time.time() + args.drain_minutes * 60
            while time.time() < drain and len(_delivered(server, appeared)) < len(appeared):
                time.sleep(10)
        delivered = _delivered(server, appeared)
    latencies = sorted(delivered[token] - appeared[token] for token in delivered)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))] if latencies else float("nan")
    print(f"freshness over {len(appeared)} reports ({len(delivered)} delivered): median "
          f"{statistics.median(latencies):.0f} s, p95 {p95:.0f} s, min {latencies[0]:.0f} s, max {latencies[-1]:.0f} s")


def _delivered(server: LoopbackServer, appeared: dict) -> dict:
    found = {}
    for request in server.requests:
        if request.method == "POST" and request.path == "/hook":
            body = request.body.decode("utf-8", "replace")
            for token in appeared:
                if token in body and token not in found:
                    found[token] = request.time
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--only", choices=["scale", "freshness"])
    parser.add_argument("--skip-celery", action="store_true")
    parser.add_argument("--batches", type=int, default=None, help="NEWSMON_FEED_BATCHES for the deployments")
    parser.add_argument("--minutes", type=float, default=10, help="freshness: how long reports keep appearing")
    parser.add_argument("--drain-minutes", type=float, default=10, help="freshness: wait for the last alerts")
    args = parser.parse_args()
    if args.batches:
        os.environ["NEWSMON_FEED_BATCHES"] = str(args.batches)
    with tempfile.TemporaryDirectory(prefix="newsmon-deploy-bench-") as tmp:
        if args.only != "freshness":
            scale(args, Path(tmp))
        if args.only != "scale":
            freshness(args, Path(tmp))


if __name__ == "__main__":
    main()
