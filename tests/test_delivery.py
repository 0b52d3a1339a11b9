"""Alert delivery against a real HTTP receiver and a real SMTP server on 127.0.0.1."""
from __future__ import annotations

import email
import json
import socket
from datetime import datetime, timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update
from typer.testing import CliRunner

from models import AlertDelivery
from models.dialect import lock_for_ingest
from models.engine import session_scope
from newsmon.alerting.rules import evaluate_and_deliver, list_alerts
from newsmon.interface.cli import app
from newsmon.core.config import ConfigError
from newsmon.testing.loopback import LoopbackServer
from newsmon.alerting.delivery import SENDING_LEASE, EmailChannel, WebhookChannel, channels_from_env, deliver_pending
from newsmon.core.records import ArticleRecord, utcnow
from newsmon.storage.store import PreparedArticle, store_articles
from threads import run_at_once

REPORTS = [
    ("en", "Drone strike hits Goris", "An Azerbaijani drone strike hit the outskirts of Goris on Saturday."),
    ("ru", "Джермук под обстрелом", "Армянские позиции у Джермука подверглись артиллерийскому обстрелу."),
    ("fr", "Des roquettes tombent sur Gandja", "Plusieurs roquettes sont tombées sur Gandja dans la nuit."),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps every message the server accepted."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on a fixed loopback port, so it can go down and come back."""

    def __init__(self):
        self.inbox, self.port, self.controller = Inbox(), free_port(), None

    def start(self) -> "SmtpServer":
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def channel(self) -> EmailChannel:
        return EmailChannel(host="127.0.0.1", port=self.port, sender="newsmon@example.org",
                            recipients=("desk@example.org", "duty@example.org"), timeout=5)


@pytest.fixture
def receiver():
    with LoopbackServer(port=free_port()) as server:
        server.route("/hook", "ok", content_type="text/plain")
        yield server


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def webhook(receiver: LoopbackServer) -> WebhookChannel:
    return WebhookChannel(receiver.url + "/hook", timeout=5)


def posted(receiver: LoopbackServer) -> list[dict]:
    return [json.loads(r.body) for r in receiver.requests if r.method == "POST"]


def store_reports(url: str, reports=REPORTS, published: datetime | None = None) -> None:
    published = published or utcnow() - timedelta(hours=1)
    with session_scope(url, write=True) as session:
        lock_for_ingest(session)
        for number, (language, title, text) in enumerate(reports):
            page = f"https://outlet-{language}.example/{published:%Y%m%d%H%M}/{number}"
            record = ArticleRecord(url=page, canonical_url=page, source=f"outlet-{language}", title=title,
                                   text=text, language=language, published_at=published, fetched_at=published)
            store_articles(session, [PreparedArticle(record=record, relevance=0.9, content_hash=page)])


def alert_rows(url: str) -> list[dict]:
    with session_scope(url) as session:
        return list_alerts(session, limit=1000)


def test_every_alert_arrives_once_per_channel(db_url, receiver, smtp):
    store_reports(db_url)
    channels = [webhook(receiver), smtp.channel()]
    report = evaluate_and_deliver(database_url=db_url, channels=channels)
    alerts = alert_rows(db_url)
    assert report.raised == len(alerts) >= len(REPORTS)
    assert report.delivered == {"webhook": len(alerts), "email": len(alerts)} and report.failed == {}
    bodies = posted(receiver)
    assert sorted(b["id"] for b in bodies) == sorted(a["id"] for a in alerts)
    body = bodies[0]
    assert body["text"].startswith("[newsmon] severity") and body["idempotency_key"] == body["dedup_key"]
    assert receiver.requests[0].headers["Idempotency-Key"] == body["dedup_key"]
    assert {"kind", "severity", "terms", "story_id", "article_id", "location", "created_at", "message"} <= set(body)
    messages = smtp.inbox.messages
    assert sorted(m["X-Newsmon-Alert"] for m in messages) == sorted(a["dedup_key"] for a in alerts)
    assert messages[0]["To"] == "desk@example.org, duty@example.org" and "[newsmon]" in messages[0]["Subject"]
    assert all(a["delivered"] == ["email", "webhook"] and a["failed"] == {} for a in alerts)
    for body in [b for b in bodies if b["kind"] in ("keyword", "new_term")]:   # why: the sentence and the rule
        sentence = body["evidence"]["sentences"][0]
        assert f"«{sentence}»" in body["text"] and body["evidence"]["rule"] in body["text"]
    mail = messages[0].get_body(("plain",)).get_content()
    assert "evidence: «" in mail and "[rule " in mail

    again = evaluate_and_deliver(database_url=db_url, channels=channels)   # a repeated run or retried task
    assert (again.raised, again.delivered, again.failed) == (0, {}, {})
    assert len(posted(receiver)) == len(alerts) and len(smtp.inbox.messages) == len(alerts)


def test_receiver_error_keeps_the_alert_failed_then_delivers_it_next_run(db_url, receiver):
    store_reports(db_url)
    receiver.route("/hook", "upstream broken", status=500, content_type="text/plain")
    report = evaluate_and_deliver(database_url=db_url, channels=[webhook(receiver)])
    alerts = alert_rows(db_url)
    assert report.failed == {"webhook": len(alerts)} and report.delivered == {}
    assert len(posted(receiver)) == 1     # after the first failure the channel is not hammered
    assert all("HTTP 500" in a["failed"]["webhook"] and a["delivered"] == [] for a in alerts)

    receiver.route("/hook", "ok", content_type="text/plain")
    receiver.clear_log()
    recovered = evaluate_and_deliver(database_url=db_url, channels=[webhook(receiver)])
    assert recovered.delivered == {"webhook": len(alerts)} and recovered.raised == 0
    assert sorted(b["id"] for b in posted(receiver)) == sorted(a["id"] for a in alerts)
    assert all(a["delivered"] == ["webhook"] and a["failed"] == {} for a in alert_rows(db_url))


def test_servers_down_then_back(sqlite_url, receiver, smtp, monkeypatch):
    store_reports(sqlite_url, REPORTS[:1])
    channels = [webhook(receiver), smtp.channel()]
    receiver.stop()
    smtp.stop()
    report = evaluate_and_deliver(database_url=sqlite_url, channels=channels)
    assert set(report.failed) == {"webhook", "email"} and report.delivered == {}
    failure = alert_rows(sqlite_url)[0]["failed"]
    assert "ConnectError" in failure["webhook"] and "ConnectionRefused" in failure["email"]

    # `newsmon alerts` shows the channel that is down
    monkeypatch.setenv("NEWSMON_DATABASE_URL", sqlite_url)
    shown = CliRunner().invoke(app, ["alerts", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert "ConnectError" in json.loads(shown.output)[0]["failed"]["webhook"]

    receiver.start()   # the same address: the fixture picked a fixed port
    smtp.start()
    receiver.route("/hook", "ok", content_type="text/plain")
    back = evaluate_and_deliver(database_url=sqlite_url, channels=channels)
    count = len(alert_rows(sqlite_url))
    assert back.delivered == {"webhook": count, "email": count}
    assert len(posted(receiver)) == count and len(smtp.inbox.messages) == count


def test_forced_retries_and_concurrent_deliveries_send_nothing_twice(db_url, receiver, smtp):
    store_reports(db_url)
    evaluate_and_deliver(database_url=db_url, channels=[])     # raise only
    receiver.route("/hook", "ok", content_type="text/plain", delay=0.05)   # so the two deliverers overlap
    channels = [webhook(receiver), smtp.channel()]
    results, errors = run_at_once(deliver_pending, [(db_url, channels)] * 2)
    assert not errors
    count = len(alert_rows(db_url))
    for channel in ("webhook", "email"):
        assert sum(r["delivered"].get(channel, 0) for r in results) == count
    for _retry in range(2):
        assert deliver_pending(db_url, channels) == {"delivered": {}, "failed": {}, "unknown": {}}
    assert sorted(b["id"] for b in posted(receiver)) == sorted(a["id"] for a in alert_rows(db_url))
    assert len(smtp.inbox.messages) == count


def test_a_delivery_left_sending_by_a_dead_process_is_sent_again_after_the_lease(db_url, receiver):
    store_reports(db_url, REPORTS[:1])
    evaluate_and_deliver(database_url=db_url, channels=[])
    with session_scope(db_url, write=True) as session:   # a deliverer claimed them, then died before sending
        ids = [row["id"] for row in list_alerts(session)]
        session.add_all(AlertDelivery(alert_id=i, channel="webhook", status="sending", attempts=1,
                                      updated_at=utcnow()) for i in ids)
    assert deliver_pending(db_url, [webhook(receiver)])["delivered"] == {}   # it may still be alive
    assert posted(receiver) == []
    with session_scope(db_url, write=True) as session:
        session.execute(update(AlertDelivery).values(updated_at=utcnow() - SENDING_LEASE - timedelta(seconds=1)))
    assert deliver_pending(db_url, [webhook(receiver)])["delivered"] == {"webhook": len(ids)}
    with session_scope(db_url) as session:
        assert set(session.scalars(select(AlertDelivery.attempts))) == {2}


def test_a_channel_added_later_gets_recent_alerts_only(sqlite_url, receiver):
    store_reports(sqlite_url, REPORTS[:1], published=utcnow() - timedelta(days=10))
    evaluate_and_deliver(database_url=sqlite_url, now=utcnow() - timedelta(days=10), channels=[])
    store_reports(sqlite_url, REPORTS[1:2])
    report = evaluate_and_deliver(database_url=sqlite_url, channels=[webhook(receiver)])
    recent = [a for a in alert_rows(sqlite_url) if a["created_at"] > utcnow() - timedelta(days=1)]
    assert report.delivered == {"webhook": len(recent)} and len(posted(receiver)) == len(recent) > 0


def test_channels_from_the_environment():
    assert channels_from_env({}) == []
    hook, mail = channels_from_env({
        "NEWSMON_WEBHOOK_URL": "https://hooks.example.org/T1", "NEWSMON_SMTP_HOST": "mail.example.org",
        "NEWSMON_SMTP_PORT": "587", "NEWSMON_SMTP_FROM": "newsmon@example.org",
        "NEWSMON_SMTP_TO": "a@example.org, b@example.org", "NEWSMON_SMTP_STARTTLS": "true",
        "NEWSMON_SMTP_USER": "newsmon", "NEWSMON_SMTP_PASSWORD": "secret"})
    assert hook == WebhookChannel("https://hooks.example.org/T1")
    assert (mail.port, mail.recipients, mail.starttls, mail.user) == (587, ("a@example.org", "b@example.org"),
                                                                      True, "newsmon")
    for broken, name in (({"NEWSMON_WEBHOOK_URL": "hooks.example.org"}, "NEWSMON_WEBHOOK_URL"),
                         ({"NEWSMON_SMTP_HOST": "mail.example.org"}, "NEWSMON_SMTP_TO"),
                         ({"NEWSMON_SMTP_HOST": "m", "NEWSMON_SMTP_FROM": "f@x", "NEWSMON_SMTP_TO": "t@x",
                           "NEWSMON_SMTP_PORT": "smtp"}, "NEWSMON_SMTP_PORT")):
        with pytest.raises(ConfigError, match=name):
            channels_from_env(broken)
