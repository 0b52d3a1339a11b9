"""Delivery of alerts to their channels (JSON webhook, e-mail), exactly once per channel.

The `alerts` table is the record; `alert_deliveries` holds one row per (alert,
channel), created with INSERT ... ON CONFLICT DO NOTHING, so a re-run never
queues an alert twice. A row is claimed before anything is sent:

    UPDATE alert_deliveries SET status='sending', attempts=attempts+1
    WHERE id=? AND status IN ('pending', 'failed')     -- or a stale 'sending', see below

in its own committed transaction. Only the process whose UPDATE changed the
row sends; a retried task, a repeated run or two deliverers at once find the
row taken. Success marks it `delivered`; an error marks it `failed` with a
one-line `last_error` (shown by `newsmon alerts`), and the next run retries it.
After the first failure on a channel, the rest of that channel's queue is
marked failed with the same error without being tried, so a channel that hangs
costs one timeout per run, not one per alert.

What remains at-least-once: a process that dies after the receiver accepted the
alert but before `delivered` is committed leaves the row in `sending`; after
SENDING_LEASE it is claimed again and sent a second time. Receivers can drop
the repeat: the webhook carries the alert's `dedup_key` as `idempotency_key` in
the body and as the `Idempotency-Key` header, and each e-mail's Message-ID is
derived from it (mail clients and list servers collapse equal Message-IDs).

Channels come from the environment (channels_from_env):
- webhook: NEWSMON_WEBHOOK_URL; JSON POST with a Slack-compatible `text` field
  plus the alert fields.
- e-mail: NEWSMON_SMTP_HOST, NEWSMON_SMTP_PORT (25), NEWSMON_SMTP_FROM,
  NEWSMON_SMTP_TO (comma-separated), optional NEWSMON_SMTP_USER,
  NEWSMON_SMTP_PASSWORD, NEWSMON_SMTP_STARTTLS (1/true/yes).
"""
from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Mapping, Protocol, Sequence
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, literal, or_, select, update
from sqlalchemy.orm import Session

from models import Alert, AlertDelivery, Article
from models.engine import session_scope
from newsmon.core.config import ConfigError
from newsmon.core.jsonable import to_jsonable
from newsmon.core.records import utcnow
from newsmon.storage.store import insert
from newsmon.core.errors import NewsmonError

TIMEOUT_S = 10.0
# A row left in 'sending' this long belongs to a deliverer that died: claim it again.
SENDING_LEASE = timedelta(minutes=10)
# A channel configured later gets the alerts of the last days, not the whole history.
DELIVERY_HORIZON = timedelta(days=2)
CLAIMABLE = ("pending", "failed")


class DeliveryError(NewsmonError):
    """The channel answered, but refused the alert."""


class Channel(Protocol):
    name: str

    def send(self, alert: dict) -> None:
        """Deliver one alert (alert_fields) or raise."""


# ---------------------------------------------------------------- what is sent

def alert_fields(alert: Alert, url: str | None) -> dict:
    """The alert as DESIGN.md's JSON fields, plus its message, article URL and dedup key."""
    return {
        "id": alert.id, "kind": alert.kind, "severity": alert.severity, "concept": alert.concept,
        "terms": list(alert.terms or []), "message": alert.message, "story_id": alert.story_id,
        "article_id": alert.article_id, "url": url, "location": alert.location,
        "latitude": alert.latitude, "longitude": alert.longitude, "created_at": alert.created_at,
        "dedup_key": alert.dedup_key, "evidence": alert.evidence,
    }


def summary_line(alert: dict) -> str:
    line = f"[newsmon] severity {alert['severity']} {alert['kind']}: {alert['message']}"
    line = f"{line} {alert['url']}" if alert.get("url") else line
    evidence = evidence_text(alert.get("evidence"))
    return f"{line}\n{evidence}" if evidence else line


def evidence_text(evidence: dict | None) -> str:
    """The matched sentences quoted, then the rule: what an analyst reads to judge an alert."""
    if not evidence:
        return ""
    quoted = " / ".join(f"«{sentence}»" for sentence in evidence.get("sentences", []))
    return f"evidence: {quoted} [rule {evidence.get('rule', '')}]"


def webhook_payload(alert: dict) -> dict:
    return {"text": summary_line(alert), **to_jsonable(alert), "idempotency_key": alert["dedup_key"]}


def email_message(alert: dict, sender: str, recipients: Sequence[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"[newsmon] severity {alert['severity']} {alert['kind']}: {alert['message']}"[:200]
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    # Equal Message-IDs let mail clients collapse a repeat sent after a crash.
    digest = hashlib.sha256(alert["dedup_key"].encode("utf-8")).hexdigest()[:32]
    message["Message-ID"] = f"<alert-{digest}@newsmon>"
    message["X-Newsmon-Alert"] = alert["dedup_key"]
    lines = [summary_line(alert), ""]
    lines += [f"{key}: {value}" for key, value in webhook_payload(alert).items() if key != "text"]
    message.set_content("\n".join(lines))
    return message


# ---------------------------------------------------------------- channels

@dataclass(frozen=True)
class WebhookChannel:
    url: str
    timeout: float = TIMEOUT_S
    name: str = "webhook"

    def send(self, alert: dict) -> None:
        response = httpx.post(self.url, json=webhook_payload(alert), timeout=self.timeout,
                              headers={"Idempotency-Key": alert["dedup_key"]})
        if not response.is_success:
            raise DeliveryError(f"HTTP {response.status_code} from {self.url}: {response.text[:200]}")


@dataclass(frozen=True)
class EmailChannel:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = TIMEOUT_S
    name: str = "email"

    def send(self, alert: dict) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(email_message(alert, self.sender, self.recipients))


def channels_from_env(environ: Mapping[str, str] | None = None) -> list[Channel]:
    """The channels the environment configures; a half-configured one is a ConfigError."""
    env = os.environ if environ is None else environ
    channels: list[Channel] = []
    if env.get("NEWSMON_WEBHOOK_URL"):
        url = env["NEWSMON_WEBHOOK_URL"].strip()
        if urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError(f"NEWSMON_WEBHOOK_URL: not an http(s) URL: {url!r}")
        channels.append(WebhookChannel(url))
    if env.get("NEWSMON_SMTP_HOST"):
        channels.append(_email_from_env(env))
    return channels


def _email_from_env(env: Mapping[str, str]) -> EmailChannel:
    recipients = tuple(a.strip() for a in env.get("NEWSMON_SMTP_TO", "").split(",") if a.strip())
    if not env.get("NEWSMON_SMTP_FROM") or not recipients:
        raise ConfigError("NEWSMON_SMTP_HOST is set: NEWSMON_SMTP_FROM and NEWSMON_SMTP_TO are needed too")
    port = env.get("NEWSMON_SMTP_PORT", "25").strip()
    if not port.isdigit():
        raise ConfigError(f"NEWSMON_SMTP_PORT: not a port number: {port!r}")
    return EmailChannel(
        host=env["NEWSMON_SMTP_HOST"].strip(), port=int(port), sender=env["NEWSMON_SMTP_FROM"].strip(),
        recipients=recipients, user=env.get("NEWSMON_SMTP_USER") or None,
        password=env.get("NEWSMON_SMTP_PASSWORD") or None,
        starttls=env.get("NEWSMON_SMTP_STARTTLS", "").strip().lower() in ("1", "true", "yes", "on"),
    )


# ---------------------------------------------------------------- delivery

def deliver_pending(database_url: str | None, channels: Sequence[Channel], *,
                    now: datetime | None = None) -> dict:
    """Queue recent alerts on every channel, then send what is pending or failed.

    Returns {"delivered": {channel: n}, "failed": {channel: n}} for this call.
    """
    delivered, failed = Counter(), Counter()
    with session_scope(database_url, write=True) as session:
        for channel in channels:
            _queue(session, channel.name, (now or utcnow()) - DELIVERY_HORIZON)
    for channel in channels:
        _deliver_channel(database_url, channel, delivered, failed)
    return {"delivered": dict(delivered), "failed": dict(failed)}


def _queue(session: Session, channel: str, since: datetime) -> None:
    """One pending row per (alert, channel); existing rows are left as they are."""
    # In id order, so two deliverers queueing at once take the unique-index locks in the same order.
    recent = (select(Alert.id, literal(channel), literal("pending"), literal(0))
              .where(Alert.created_at >= since).order_by(Alert.id))
    session.execute(insert(session, AlertDelivery)
                    .from_select(["alert_id", "channel", "status", "attempts"], recent)
                    .on_conflict_do_nothing())


def _claimable(now: datetime):
    stale = and_(AlertDelivery.status == "sending", AlertDelivery.updated_at < now - SENDING_LEASE)
    return or_(AlertDelivery.status.in_(CLAIMABLE), stale)


def _deliver_channel(database_url: str | None, channel: Channel, delivered: Counter, failed: Counter) -> None:
    queue = _due(database_url, channel.name)
    for position, delivery_id in enumerate(queue):
        alert = _claim(database_url, delivery_id)
        if alert is None:  # another deliverer took it
            continue
        try:
            channel.send(alert)
        except (DeliveryError, httpx.HTTPError, OSError) as error:  # smtplib errors are OSErrors
            reason = one_line(f"{type(error).__name__}: {error}")
            _finish(database_url, delivery_id, "failed", reason)
            failed[channel.name] += 1 + _defer(database_url, queue[position + 1:], reason)
            return
        _finish(database_url, delivery_id, "delivered", None)
        delivered[channel.name] += 1


def _due(database_url: str | None, channel: str) -> list[int]:
    with session_scope(database_url) as session:
        return list(session.scalars(
            select(AlertDelivery.id).where(AlertDelivery.channel == channel, _claimable(utcnow()))
            .order_by(AlertDelivery.alert_id)))


def _claim(database_url: str | None, delivery_id: int) -> dict | None:
    """Take the row for this process (committed before sending); the alert to send, or None."""
    with session_scope(database_url, write=True) as session:
        now = utcnow()
        taken = session.execute(
            update(AlertDelivery).where(AlertDelivery.id == delivery_id, _claimable(now))
            .values(status="sending", attempts=AlertDelivery.attempts + 1, updated_at=now)
        ).rowcount
        if not taken:
            return None
        alert, url = session.execute(
            select(Alert, Article.url).join(AlertDelivery, AlertDelivery.alert_id == Alert.id)
            .outerjoin(Article, Article.id == Alert.article_id).where(AlertDelivery.id == delivery_id)
        ).one()
        return alert_fields(alert, url)


def _finish(database_url: str | None, delivery_id: int, status: str, error: str | None) -> None:
    with session_scope(database_url, write=True) as session:
        now = utcnow()
        session.execute(
            update(AlertDelivery).where(AlertDelivery.id == delivery_id, AlertDelivery.status == "sending")
            .values(status=status, last_error=error, updated_at=now,
                    delivered_at=now if status == "delivered" else None))


def _defer(database_url: str | None, delivery_ids: Sequence[int], reason: str) -> int:
    """Mark the rest of a failing channel's queue failed, untried: visible now, retried next run."""
    if not delivery_ids:
        return 0
    with session_scope(database_url, write=True) as session:
        return session.execute(
            update(AlertDelivery).where(AlertDelivery.id.in_(delivery_ids), AlertDelivery.status.in_(CLAIMABLE))
            .values(last_error=f"not tried after an earlier failure: {reason}"[:500], status="failed",
                    updated_at=utcnow())
        ).rowcount


def one_line(text: str, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]
