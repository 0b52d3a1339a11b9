"""The evidence archive: the raw HTTP response of every stored article page, in WARC files.

Optional: on when NEWSMON_EVIDENCE_DIR names a folder (relative paths are under
the project root). Each process appends to its own gzipped WARC file of the day
(`evidence-YYYYMMDD-<pid>.warc.gz`: writers never interleave), one gzip member
per record, so that `evidence_captures` can point at a record by offset and
length and `newsmon show ID --raw` can print it. A page is captured again only
when its body changed (unique URL + payload digest): an edited or deleted
article can be cited as it was. The body is stored as decoded (no
Content-Encoding): what the reader saw, not the transfer bytes.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from models import EvidenceCapture
from newsmon.core.config import PROJECT_ROOT
from newsmon.core.errors import NewsmonError
from newsmon.core.records import utcnow
from newsmon.storage.lookup import stored_pages
from models.dialect import insert

ENV = "NEWSMON_EVIDENCE_DIR"
# Describe the stored body, which is decoded and whole: these would describe the wire.
WIRE_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


class EvidenceError(NewsmonError):
    """A capture that cannot be read back (file moved or damaged)."""


@dataclass(frozen=True)
class RawResponse:
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class EvidenceArchive:
    def __init__(self, directory: Path):
        self.directory = directory
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> "EvidenceArchive | None":
        value = os.environ.get(ENV)
        if not value:
            return None
        directory = Path(value) if Path(value).is_absolute() else PROJECT_ROOT / value
        return cls(directory)

    def capture_stored(self, session: Session, source: str, responses: dict[str, RawResponse]) -> int:
        """Capture the responses whose URL is now a stored article (in the caller's transaction)."""
        if not responses:
            return 0
        stored = stored_pages(session, source, list(responses))
        return sum(self.capture(session, url, responses[url]) for url in stored)

    def capture(self, session: Session, url: str, response: RawResponse) -> bool:
        """Append the response to the archive unless this very body is archived for the URL."""
        digest = "sha256:" + hashlib.sha256(response.body).hexdigest()
        known = session.scalar(select(EvidenceCapture.id).where(EvidenceCapture.url == url,
                                                                EvidenceCapture.payload_digest == digest))
        if known is not None:
            return False
        path, offset, length, captured_at = self._append(response)
        session.execute(insert(session, EvidenceCapture).values(
            url=url, warc_path=str(path), offset=offset, length=length, payload_digest=digest,
            captured_at=captured_at).on_conflict_do_nothing())
        return True

    def _append(self, response: RawResponse) -> tuple[Path, int, int, datetime]:
        captured_at = utcnow()
        headers = [(name, value) for name, value in response.headers if name.lower() not in WIRE_HEADERS]
        headers.append(("Content-Length", str(len(response.body))))
        status = StatusAndHeaders(f"{response.status} {_reason(response.status)}", headers, protocol="HTTP/1.1")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"evidence-{captured_at:%Y%m%d}-{os.getpid()}.warc.gz"
        with self._lock, open(path, "ab") as stream:
            offset = stream.tell()
            writer = WARCWriter(stream, gzip=True)
            record = writer.create_warc_record(   # the URL fetched (after redirects); the index has the link
                response.url, "response", payload=io.BytesIO(response.body), http_headers=status,
                warc_headers_dict={"WARC-Date": captured_at.strftime("%Y-%m-%dT%H:%M:%SZ")})
            writer.write_record(record)
            return path, offset, stream.tell() - offset, captured_at


def captures(session: Session, urls: list[str]) -> list[EvidenceCapture]:
    """The captures of an article's URLs, oldest first."""
    return list(session.scalars(select(EvidenceCapture).where(EvidenceCapture.url.in_(urls))
                                .order_by(EvidenceCapture.captured_at, EvidenceCapture.id)))


def read_record(capture: EvidenceCapture) -> bytes:
    """The WARC record as archived: its WARC headers, then the HTTP response (status, headers, body)."""
    try:
        with open(capture.warc_path, "rb") as stream:
            stream.seek(capture.offset)
            return gzip.decompress(stream.read(capture.length))
    except (OSError, EOFError) as error:
        raise EvidenceError(f"cannot read the capture in {capture.warc_path}: {error}") from None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
