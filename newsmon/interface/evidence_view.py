"""What `newsmon show` adds from history and the evidence archive: how a backfilled article's
date is known, the archived captures of its page, and (`--raw`) one capture as archived."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import EvidenceCapture, Sighting
from newsmon.core.errors import NewsmonError
from newsmon.storage.evidence import captures, read_record
from newsmon.storage.history import provenance_of


def history_fields(session: Session, record: dict) -> dict:
    backfill = provenance_of(session, [record["id"]]).get(record["id"])
    return {
        "backfill": None if backfill is None else {
            "job": backfill.job, "origin": backfill.origin, "published_from": backfill.published_from,
            "captured_at": backfill.captured_at},
        "captures": [{"captured_at": c.captured_at, "url": c.url, "payload_digest": c.payload_digest,
                      "warc": f"{c.warc_path}#{c.offset}"} for c in _captures(session, record)],
    }


def raw_capture(session: Session, record: dict, number: int | None) -> bytes:
    """Capture `number` (1 = the first; default the latest) of the article's page, as archived."""
    found = _captures(session, record)
    if not found:
        raise NewsmonError(f"article {record['id']} has no archived page (the evidence archive is "
                           "on when NEWSMON_EVIDENCE_DIR is set)")
    if number is not None and not 1 <= number <= len(found):
        raise NewsmonError(f"--capture: article {record['id']} has {len(found)} capture(s)")
    return read_record(found[-1 if number is None else number - 1])


def _captures(session: Session, record: dict) -> list[EvidenceCapture]:
    urls = {record["url"], record["canonical_url"]}
    urls.update(session.scalars(select(Sighting.url).where(Sighting.article_id == record["id"])))
    return captures(session, sorted(url for url in urls if url))
