"""Delivery of alerts to their channels (JSON webhook, e-mail): at least once, at most twice.

The `alerts` table is the record; `alert_deliveries` holds one row per (alert,
channel), created with INSERT ... ON CONFLICT DO NOTHING, so a re-run never
queues an alert twice. A row is claimed before anything is sent:

    UPDATE alert_deliveries SET status='sending', attempts=attempts+1, claimed_by='host:pid'
    WHERE id=? AND <claimable>

in its own committed transaction. Only the process whose UPDATE changed the
row sends; a retried task, a repeated run or two deliverers at once find the
row taken. Then one of three outcomes is committed:

- `delivered`: the receiver confirmed (HTTP 2xx, SMTP accepted the message);
- `failed`: it certainly did not take the alert (no connection, an HTTP error
  status, SMTP refused): retried at the next run, as often as it takes;
- `unknown`: the alert was sent but no answer came (a read timeout, a
  connection dropped after sending), or the process that was sending it died
  (its row is still `sending`: seen at once on the same host, where its pid
  is gone, else after SENDING_LEASE). The receiver may have it. An unknown
  delivery is sent again once, never more (`uncertain_attempts` counts such
  sends; after two the row stays `unknown`).

So, as strong as HTTP allows: every alert reaches a receiver that comes back
at least once, and no receiver gets it more than twice, both times with the
same idempotency key: the alert's `dedup_key` as `idempotency_key` in the body
and as the `Idempotency-Key` header, and in each e-mail's Message-ID (mail
clients and list servers collapse equal Message-IDs). `newsmon alerts` shows
failed and unknown deliveries with their reason. After the first failure or
unknown outcome on a channel, the rest of that channel's queue waits for the
next run (marked failed, untried), so a channel that hangs costs one timeout
per run, not one per alert; channels are served in parallel, so a slow one
never holds the others.

Channels come from the environment (channels_from_env):
- webhook: NEWSMON_WEBHOOK_URL; JSON POST with a Slack-compatible `text` field
  plus the alert fields.
- e-mail: NEWSMON_SMTP_HOST, NEWSMON_SMTP_PORT (25), NEWSMON_SMTP_FROM,
  NEWSMON_SMTP_TO (comma-separated), optional NEWSMON_SMTP_USER,
  NEWSMON_SMTP_PASSWORD, NEWSMON_SMTP_STARTTLS (1/true/yes).
- NEWSMON_DELIVERY_TIMEOUT: seconds a channel may take to answer (10).
"""
from __future__ import annotations

import hashlib
import os
import smtplib
import socket
import ssl
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum
from typing import Mapping, Protocol, Sequence
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, case, literal, or_, select, true, update
from sqlalchemy.orm import Session

from models import Alert, AlertDelivery, Article
from models.dialect import insert
from models.engine import session_scope
from newsmon.core.config import ConfigError
from newsmon.core.jsonable import to_jsonable
from newsmon.core.records import utcnow
from newsmon.core.errors import NewsmonError, one_line

TIMEOUT_S = 10.0
# A row left in 'sending' this long belongs to a deliverer that died (on another host: on this
# one a vanished pid says so at once); its outcome is unknown.
SENDING_LEASE = timedelta(minutes=10)
# Sends whose outcome was unknown, after which a delivery is not sent again: the first and one repeat.
MAX_UNCERTAIN = 2
# A channel configured later gets the alerts of the last days, not the whole history.
DELIVERY_HORIZON = timedelta(days=2)


class DeliveryStatus(StrEnum):
    """Where one alert stands on one channel (alert_deliveries.status)."""

    PENDING = "pending"
    SENDING = "sending"       # claimed by a deliverer
    DELIVERED = "delivered"
    FAILED = "failed"         # retried on the next run
    UNKNOWN = "unknown"       # sent, no answer: re-sent at most once, with the same idempotency key


CLAIMABLE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


class DeliveryError(NewsmonError):
    """The channel answered, but refused the alert."""


class OutcomeUnknown(NewsmonError):
    """The alert was sent but no answer came back: the receiver may or may not have it."""


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
        "dedup_key": alert.dedup_key, "historical": alert.historical, "evidence": alert.evidence,
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
    message["Subject"] = one_line(f"[newsmon] severity {alert['severity']} {alert['kind']}: {alert['message']}", 200)
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
        try:
            response = httpx.post(self.url, json=webhook_payload(alert), timeout=self.timeout,
                                  headers={"Idempotency-Key": alert["dedup_key"]})
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            raise                                   # nothing was sent
        except httpx.TransportError as error:       # sent, or partly sent, and no answer
            raise OutcomeUnknown(f"no answer from {self.url}: {type(error).__name__}: {error}") from None
        if not response.is_success:
            raise DeliveryError(f"HTTP {response.status_code} from {self.url}: {one_line(response.text, 200)}")


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
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password or "")
            try:
                smtp.send_message(email_message(alert, self.sender, self.recipients))
            except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
                raise                               # the server answered: refused
            except OSError as error:                # cut off or silent during the transfer
                raise OutcomeUnknown(f"no answer from {self.host}:{self.port}: "
                                     f"{type(error).__name__}: {error}") from None
        finally:
            _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    """QUIT politely; a server that fails now has already answered for the message."""
    try:
        smtp.quit()
    except OSError:
        smtp.close()


def channels_from_env(environ: Mapping[str, str] | None = None) -> list[Channel]:
    """The channels the environment configures; a half-configured one is a ConfigError."""
    env = os.environ if environ is None else environ
    channels: list[Channel] = []
    timeout = _timeout_from_env(env)
    if env.get("NEWSMON_WEBHOOK_URL"):
        url = env["NEWSMON_WEBHOOK_URL"].strip()
        if urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError(f"NEWSMON_WEBHOOK_URL: not an http(s) URL: {url!r}")
        channels.append(WebhookChannel(url, timeout=timeout))
    if env.get("NEWSMON_SMTP_HOST"):
        channels.append(_email_from_env(env, timeout))
    return channels


def _timeout_from_env(env: Mapping[str, str]) -> float:
    value = env.get("NEWSMON_DELIVERY_TIMEOUT", "").strip()
    if not value:
        return TIMEOUT_S
    try:
        timeout = float(value)
    except ValueError:
        timeout = 0.0
    if not 0 < timeout <= 3600:
        raise ConfigError(f"NEWSMON_DELIVERY_TIMEOUT: not a number of seconds between 0 and 3600: {value!r}")
    return timeout


def _email_from_env(env: Mapping[str, str], timeout: float) -> EmailChannel:
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
        timeout=timeout,
    )


# ---------------------------------------------------------------- delivery

def deliver_pending(database_url: str | None, channels: Sequence[Channel], *,
                    now: datetime | None = None) -> dict:
    """Queue recent alerts on every channel, then send what is due, the channels in parallel.

    Returns {"delivered": {channel: n}, "failed": {channel: n}, "unknown": {channel: n}} for this call.
    """
    with session_scope(database_url, write=True) as session:
        for channel in channels:
            _queue(session, channel.name, (now or utcnow()) - DELIVERY_HORIZON)
    totals = {"delivered": Counter(), "failed": Counter(), "unknown": Counter()}
    if channels:
        with ThreadPoolExecutor(len(channels), thread_name_prefix="newsmon-delivery") as workers:
            for channel, counts in zip(channels, workers.map(
                    lambda channel: _deliver_channel(database_url, channel), channels)):
                for outcome, count in counts.items():
                    totals[outcome][channel.name] += count
    return {outcome: {name: n for name, n in counts.items() if n} for outcome, counts in totals.items()}


def _queue(session: Session, channel: str, since: datetime) -> None:
    """One pending row per (alert, channel); existing rows are left as they are."""
    # In id order, so two deliverers queueing at once take the unique-index locks in the same order.
    recent = (select(Alert.id, literal(channel), literal(DeliveryStatus.PENDING.value), literal(0))
              .where(Alert.created_at >= since, Alert.historical.is_(False)).order_by(Alert.id))
    session.execute(insert(session, AlertDelivery)
                    .from_select(["alert_id", "channel", "status", "attempts"], recent)
                    .on_conflict_do_nothing())


def _claimable():
    return or_(AlertDelivery.status.in_(CLAIMABLE),
               and_(AlertDelivery.status == "unknown", AlertDelivery.uncertain_attempts < MAX_UNCERTAIN))


def _deliver_channel(database_url: str | None, channel: Channel) -> Counter:
    counts = Counter()
    _settle_abandoned(database_url, channel.name)
    queue = _due(database_url, channel.name)
    for position, delivery_id in enumerate(queue):
        alert = _claim(database_url, delivery_id)
        if alert is None:  # another deliverer took it
            continue
        try:
            channel.send(alert)
        except OutcomeUnknown as error:
            outcome, reason = "unknown", one_line(f"outcome unknown: {error}")
        except (DeliveryError, httpx.HTTPError, OSError) as error:  # smtplib errors are OSErrors
            outcome, reason = "failed", one_line(f"{type(error).__name__}: {error}")
        else:
            _finish(database_url, delivery_id, "delivered", None)
            counts["delivered"] += 1
            continue
        _finish(database_url, delivery_id, outcome, reason)
        counts[outcome] += 1
        counts["failed"] += _defer(database_url, queue[position + 1:], reason)
        break
    return counts


def _due(database_url: str | None, channel: str) -> list[int]:
    with session_scope(database_url) as session:
        return list(session.scalars(
            select(AlertDelivery.id).where(AlertDelivery.channel == channel, _claimable())
            .order_by(AlertDelivery.alert_id)))


def _claim(database_url: str | None, delivery_id: int) -> dict | None:
    """Take the row for this process (committed before sending); the alert to send, or None."""
    with session_scope(database_url, write=True) as session:
        taken = session.execute(
            update(AlertDelivery).where(AlertDelivery.id == delivery_id, _claimable())
            .values(status="sending", attempts=AlertDelivery.attempts + 1, updated_at=utcnow(),
                    claimed_by=THIS_PROCESS)
        ).rowcount
        if not taken:
            return None
        alert, url = session.execute(
            select(Alert, Article.url).join(AlertDelivery, AlertDelivery.alert_id == Alert.id)
            .outerjoin(Article, Article.id == Alert.article_id).where(AlertDelivery.id == delivery_id)
        ).one()
        return alert_fields(alert, url)


def _finish(database_url: str | None, delivery_id: int, status: str, error: str | None, *,
            claimed_at: datetime | None = None) -> None:
    """Commit a claimed row's outcome (`claimed_at`: only if the claim is still that one)."""
    now = utcnow()
    values = dict(status=status, last_error=error, updated_at=now, claimed_by=None,
                  delivered_at=now if status == "delivered" else None)
    if status == "unknown":
        values["uncertain_attempts"] = AlertDelivery.uncertain_attempts + 1
        values["last_error"] = _unknown_note(error)
    claim = AlertDelivery.updated_at == claimed_at if claimed_at is not None else true()
    with session_scope(database_url, write=True) as session:
        session.execute(update(AlertDelivery)
                        .where(AlertDelivery.id == delivery_id, AlertDelivery.status == "sending", claim)
                        .values(**values))


def _unknown_note(reason: str):
    """The row's last error after one more unknown outcome: says whether it will be sent again."""
    return case((AlertDelivery.uncertain_attempts + 1 < MAX_UNCERTAIN,
                 literal(f"{reason}; will be sent once more with the same idempotency key")),
                else_=literal(f"{reason}; sent twice, not sent again"))


def _settle_abandoned(database_url: str | None, channel: str) -> None:
    """Rows left in 'sending' by a deliverer that is gone become 'unknown': the receiver may have them."""
    now = utcnow()
    with session_scope(database_url) as session:
        sending = session.execute(
            select(AlertDelivery.id, AlertDelivery.claimed_by, AlertDelivery.updated_at)
            .where(AlertDelivery.channel == channel, AlertDelivery.status == "sending")).all()
    for delivery_id, claimed_by, updated_at in sending:
        if _gone(claimed_by) or (updated_at is not None and updated_at < now - SENDING_LEASE):
            _finish(database_url, delivery_id, "unknown",
                    f"outcome unknown: the deliverer {claimed_by or '(unknown)'} stopped while sending",
                    claimed_at=updated_at)


THIS_PROCESS = f"{socket.gethostname()}:{os.getpid()}"[:100]


def _gone(claimed_by: str | None) -> bool:
    """Whether the claim is of a process on this host that no longer runs."""
    host, _, pid = (claimed_by or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:     # it exists, under another user
        return False
    return False


def _defer(database_url: str | None, delivery_ids: Sequence[int], reason: str) -> int:
    """Mark the rest of a channel's queue failed, untried: visible now, retried next run.

    Unknown rows keep their status: they are still owed their one repeat.
    """
    if not delivery_ids:
        return 0
    with session_scope(database_url, write=True) as session:
        return session.execute(
            update(AlertDelivery).where(AlertDelivery.id.in_(delivery_ids), AlertDelivery.status.in_(CLAIMABLE))
            .values(last_error=one_line(f"not tried after an earlier failure: {reason}", 500),
                    status=DeliveryStatus.FAILED, updated_at=utcnow())
        ).rowcount
