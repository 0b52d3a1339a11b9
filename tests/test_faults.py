"""The fault suite: kill -9 at random moments, a database that stops or freezes, and what is left.

- `newsmon run` is killed with SIGKILL at 12 moments (seeded: 8 random, 2 on the
  first webhook POST, 2 on the first page of a crawl), each run bringing new
  articles and alerts; a recovery run then finishes the work. Asserted: every
  article stored, none twice, no crawl process left, every alert received by the
  webhook at least once and at most twice.
- A PostgreSQL cluster of the test's own is stopped, then frozen (SIGSTOP),
  in the middle of a run: the run ends within a bound, prints one line per
  failed source and a summary line (no traceback), its JSON report is complete,
  and a run after the database is back stores everything.

The figures (kills, receipts per alert, run times) are printed: `pytest -s tests/test_faults.py`.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from models import Alert, Article
from models.engine import make_engine, session_scope
from newsmon.testing.loopback import LoopbackServer
from faultsite import crawl_processes, serve_site, wait_until
from pgcluster import free_port, own_cluster

pytestmark = pytest.mark.faults
SEED = 18
NEW_PER_ROUND = 8                      # new articles per round, half on the site, half in the feed


def sources(folder: Path, base: str) -> Path:
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [
        {"name": "fault-site", "kind": "site", "start_urls": [f"{base}/fault-site/news/"],
         "article_url_pattern": r"/fault-site/news/\d+\.html$", "topic_specific": True},
        {"name": "fault-feed", "kind": "rss", "url": f"{base}/fault-feed.xml", "topic_specific": True},
    ]}), encoding="utf-8")
    return path


def start_run(db: str, sources_file: Path, extra_env: dict | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env |= {"NEWSMON_DATABASE_URL": db, **(extra_env or {})}
    return subprocess.Popen([sys.executable, "-m", "newsmon", "run", "--all", "--quiet", "--format", "json",
                             "--sources", str(sources_file)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stored(db: str) -> list[str]:
    with session_scope(db) as session:
        return list(session.scalars(select(Article.url)))


def alert_keys(db: str) -> set[str]:
    with session_scope(db) as session:
        return set(session.scalars(select(Alert.dedup_key)))


class Round:
    """A round of the server: the articles of every round so far (the last ones new), and its requests."""

    def __init__(self, server: LoopbackServer, number: int):
        self.server, self.since = server, len(server.requests)
        self.urls = serve_site(server, NEW_PER_ROUND * (number + 1), delay=0.2, split=True)

    def requests(self):
        return self.server.requests[self.since:]

    def crawl_page_fetched(self) -> bool:
        """The crawler (Scrapy's user agent) asked for an article page in this round."""
        return any("/fault-site/news/" in r.path and r.path.endswith(".html")
                   and "Scrapy" in (r.headers.get("user-agent") or "") for r in self.requests())


def kill_moments(rounds: int) -> list[tuple[str, float]]:
    """Seeded: what each round's kill waits for (a delay, or an event with a delay as fallback)."""
    rng = random.Random(SEED)
    triggered = {0: "delivery", 3: "crawl", 6: "delivery", 9: "crawl"}
    return [(triggered.get(n, "time"), round(rng.uniform(0.5, 9.0), 2)) for n in range(rounds)]


def receipts(receiver: LoopbackServer) -> Counter:
    return Counter(json.loads(r.body)["idempotency_key"] for r in receiver.requests if r.method == "POST")


def test_sigkill_at_twelve_moments_then_recovery_loses_nothing_and_repeats_nothing(tmp_path):
    db = f"sqlite:///{tmp_path / 'faults.db'}"
    with LoopbackServer(port=free_port()) as server, LoopbackServer(port=free_port()) as receiver:
        receiver.route("/hook", "ok", content_type="text/plain", delay=0.3)
        path = sources(tmp_path, server.url)
        env = {"NEWSMON_WEBHOOK_URL": receiver.url + "/hook", "NEWSMON_DELIVERY_TIMEOUT": "5"}
        moments, log = kill_moments(12), []
        for number, (trigger, delay) in enumerate(moments):
            current = Round(server, number)
            receiver_since = len(receiver.requests)
            run = start_run(db, path, env)
            started = time.monotonic()
            event = {"delivery": lambda: len(receiver.requests) > receiver_since,
                     "crawl": current.crawl_page_fetched}.get(trigger)
            hit = wait_until(event, timeout=60) if event else wait_until(lambda: run.poll() is not None, delay)
            if run.poll() is None:
                run.send_signal(signal.SIGKILL)
            run.communicate(timeout=60)
            log.append((trigger, round(time.monotonic() - started, 2), bool(hit), run.returncode))
        final = current.urls
        recovery = start_run(db, path, env)
        out, err = recovery.communicate(timeout=600)
        left = wait_until(lambda: not crawl_processes(str(path)), timeout=5)
        counts = receipts(receiver)
    print(f"\nkills (trigger, seconds into the run, event seen or run ended before the kill, exit code): {log}")
    print(f"recovery run: exit {recovery.returncode}; receipts per alert: {sorted(Counter(counts.values()).items())}")
    assert sum(1 for entry in log if entry[3] == -signal.SIGKILL) >= 10, log
    assert recovery.returncode == 0, err
    rows = stored(db)
    assert len(rows) == len(set(rows)), "an article was stored twice"
    assert set(final) <= set(rows), f"lost: {sorted(set(final) - set(rows))}"
    assert left, "a crawl process outlived the runs"
    keys = alert_keys(db)
    assert keys and set(counts) == keys, "an alert never reached the webhook"
    assert max(counts.values()) <= 2, counts


def one_line_report(result_err: str) -> list[str]:
    lines = [line for line in result_err.splitlines() if line.strip()]
    assert "Traceback" not in result_err
    return lines


@pytest.mark.parametrize("fault", ["stop", "freeze"])
def test_a_database_that_stops_or_freezes_mid_run_costs_a_bounded_wait_and_one_line_each(tmp_path, fault):
    limits = {"NEWSMON_DB_STATEMENT_TIMEOUT": "3", "NEWSMON_DB_CONNECT_TIMEOUT": "3"}
    with own_cluster() as cluster, LoopbackServer(port=free_port()) as server:
        db = cluster.url
        current = Round(server, 0)
        path = sources(tmp_path, server.url)
        run = start_run(db, path, limits)
        started = time.monotonic()
        assert wait_until(lambda: any("/fault-site/news/" in r.path or "/fault-feed" in r.path
                                      for r in current.requests()), timeout=60)
        time.sleep(0.5)
        cluster.stop("immediate") if fault == "stop" else cluster.freeze()
        out, err = run.communicate(timeout=300)
        seconds = time.monotonic() - started
        make_engine(db).dispose()
        cluster.thaw() if fault == "freeze" else cluster.start()
        recovery = start_run(db, path, limits)
        recovered_out, recovered_err = recovery.communicate(timeout=300)
        rows = stored(db)
        make_engine(db).dispose()
    lines = one_line_report(err)
    print(f"\ndatabase {fault} mid-run: exit {run.returncode} after {seconds:.1f} s; stderr: {lines}")
    report = json.loads(out)
    assert run.returncode in (0, 1) and seconds < 120
    assert len(lines) <= len(report["sources"]) + 1 and all(line.startswith("newsmon: ") for line in lines)
    assert recovery.returncode == 0, recovered_err
    assert sorted(rows) == sorted(set(rows)) and set(current.urls) <= set(rows)
