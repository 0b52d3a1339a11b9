"""Delivery to receivers that are slow, down or whose deliverer dies: at least once, at most twice.

Each test prints how many times the receiver got each alert (run pytest with -s
to see the counts); the kill -9 case through `newsmon run` is in test_faults.py.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections import Counter

from sqlalchemy import select

from models import AlertDelivery
from models.engine import session_scope
from newsmon.alerting.delivery import MAX_UNCERTAIN, WebhookChannel, deliver_pending
from newsmon.alerting.rules import evaluate_and_deliver
from newsmon.testing.loopback import LoopbackServer
from test_delivery import REPORTS, SmtpServer, alert_rows, free_port, store_reports


def receipts(receiver: LoopbackServer) -> Counter:
    return Counter(json.loads(r.body)["idempotency_key"] for r in receiver.requests if r.method == "POST")


def report(case: str, counts: Counter, alerts: int) -> None:
    print(f"\n{case}: {alerts} alerts, receipts per alert {sorted(counts.values())}")


def statuses(url: str) -> list[tuple[str, int]]:
    with session_scope(url) as session:
        return sorted(session.execute(select(AlertDelivery.status, AlertDelivery.uncertain_attempts)).all())


def test_a_receiver_answering_after_the_timeout_gets_each_alert_at_most_twice(db_url):
    store_reports(db_url)
    evaluate_and_deliver(database_url=db_url, channels=[])
    alerts = len(alert_rows(db_url))
    with LoopbackServer(port=free_port()) as receiver:
        receiver.route("/hook", "ok", content_type="text/plain", delay=1.5)
        channel = WebhookChannel(receiver.url + "/hook", timeout=0.5)
        runs = [deliver_pending(db_url, [channel]) for _run in range(alerts * 2 + 2)]
        counts = receipts(receiver)
    report("slow receiver", counts, alerts)
    assert set(counts.values()) == {MAX_UNCERTAIN} and len(counts) == alerts
    assert runs[-1] == {"delivered": {}, "failed": {}, "unknown": {}}      # nothing is sent a third time
    assert statuses(db_url) == [("unknown", MAX_UNCERTAIN)] * alerts
    shown = [row["failed"]["webhook"] for row in alert_rows(db_url)]
    assert all(line.startswith("outcome unknown: no answer from") and "not sent again" in line for line in shown)


def test_a_receiver_that_is_down_gets_each_alert_once_when_it_is_back(db_url):
    store_reports(db_url)
    evaluate_and_deliver(database_url=db_url, channels=[])
    alerts, port = len(alert_rows(db_url)), free_port()
    channel = WebhookChannel(f"http://127.0.0.1:{port}/hook", timeout=2)
    down = [deliver_pending(db_url, [channel]) for _run in range(3)]
    assert all(run["failed"] == {"webhook": alerts} for run in down)
    assert all("ConnectError" in row["failed"]["webhook"] for row in alert_rows(db_url))
    with LoopbackServer(port=port) as receiver:
        receiver.route("/hook", "ok", content_type="text/plain")
        back = deliver_pending(db_url, [channel])
        deliver_pending(db_url, [channel])
        counts = receipts(receiver)
    report("receiver down, then back", counts, alerts)
    assert back["delivered"] == {"webhook": alerts} and set(counts.values()) == {1} and len(counts) == alerts


def test_a_delivery_whose_sender_died_is_sent_again_at_once_and_only_once(db_url):
    store_reports(db_url, REPORTS[:1])
    evaluate_and_deliver(database_url=db_url, channels=[])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with session_scope(db_url, write=True) as session:    # claimed by a process that is gone
        for row in alert_rows(db_url):
            session.add(AlertDelivery(alert_id=row["id"], channel="webhook", status="sending", attempts=1,
                                      claimed_by=f"{socket.gethostname()}:{dead.pid}"))
    with LoopbackServer(port=free_port()) as receiver:
        receiver.route("/hook", "ok", content_type="text/plain")
        channel = WebhookChannel(receiver.url + "/hook", timeout=2)
        first, second = deliver_pending(db_url, [channel]), deliver_pending(db_url, [channel])
        counts = receipts(receiver)
    report("deliverer died while sending", counts, len(counts))
    assert first["delivered"] == {"webhook": len(counts)} and second["delivered"] == {}
    assert set(counts.values()) == {1}
    assert {status for status, _ in statuses(db_url)} == {"delivered"}


def test_a_slow_channel_costs_one_timeout_and_never_holds_the_other(db_url):
    store_reports(db_url)
    evaluate_and_deliver(database_url=db_url, channels=[])
    alerts = len(alert_rows(db_url))
    smtp = SmtpServer().start()
    try:
        with LoopbackServer(port=free_port()) as receiver:
            receiver.route("/hook", "ok", content_type="text/plain", delay=2)
            result = deliver_pending(db_url, [WebhookChannel(receiver.url + "/hook", timeout=0.5),
                                              smtp.channel()])
            webhook_requests = len(receipts(receiver))
    finally:
        smtp.stop()
    assert result["delivered"] == {"email": alerts} and len(smtp.inbox.messages) == alerts
    assert webhook_requests == 1 and result["unknown"] == {"webhook": 1}
    assert result["failed"] == {"webhook": alerts - 1}     # the rest of its queue waits for the next run
