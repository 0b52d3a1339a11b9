"""The crawl subprocess: it dies with its parent, one at a time per source, and reports back in a file.

A crawl runs Scrapy in a child process (its reactor cannot restart in one
process). Three things make that safe to kill at any moment:

- the child asks the kernel for SIGKILL when its parent dies
  (``PR_SET_PDEATHSIG``), so a parent killed with SIGKILL or SIGTERM (a
  cancelled Airflow task, kill -9 of ``newsmon run``) leaves no crawl behind;
  a parent that raises kills the child's process group itself;
- a per-source lock (``flock`` on a file under the temp folder, keyed by
  database and source) is held by the parent and inherited by the child, so
  two crawls of one source never run at once; the kernel drops it when both
  are gone, so a dead holder never keeps it;
- the child writes its outcome as JSON to a result file named by the parent
  (``NEWSMON_RESULT_FILE``): the parent reads what this crawl did, not the
  newest fetch-log row.
"""
from __future__ import annotations

import ctypes
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import tempfile
from collections import Counter
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

from newsmon.sources.health import FetchOutcome
from newsmon.storage.ingest import IngestReport

PR_SET_PDEATHSIG = 1
LIBC = ctypes.CDLL(None, use_errno=True)    # loaded here: the child between fork and exec only calls it
LOCK_FOLDER = Path(tempfile.gettempdir()) / "newsmon-crawl-locks"
RESULT_FILE_SETTING = "NEWSMON_RESULT_FILE"


class CrawlBusy(Exception):
    """Another crawl of the same source (same database) is running."""


@contextmanager
def source_lock(database_url: str, source: str) -> Iterator[int]:
    """Hold the source's crawl lock (its file descriptor, for the child to inherit) or raise CrawlBusy."""
    LOCK_FOLDER.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{database_url}\n{source}".encode()).hexdigest()[:32]
    descriptor = os.open(LOCK_FOLDER / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CrawlBusy(f"a crawl of {source!r} is already running") from None
        yield descriptor
    finally:
        os.close(descriptor)


def _die_with_parent(parent_pid: int):
    """preexec_fn: SIGKILL this child when the parent dies (Linux); exit if it is already gone."""
    def prepare() -> None:
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:      # the parent died before the request took effect
            os._exit(1)
    return prepare


def run(command: list[str], *, cwd: Path, env: dict[str, str], stderr, timeout: float,
        keep_fds: tuple[int, ...] = ()) -> int | None:
    """The exit code, or None when the crawl had to be killed (with everything it started)."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
                               pass_fds=keep_fds, preexec_fn=_die_with_parent(os.getpid()))
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        return None
    except BaseException:   # the caller is going away (Ctrl-C, task killed): take the crawl along
        _kill_group(process)
        raise


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


# --- the result file ---------------------------------------------------------------

def write_result(path: str | Path, outcome: FetchOutcome) -> None:
    """The child's outcome as JSON, written to a temporary name and renamed: never half a file."""
    report = outcome.report
    document = {
        "source": outcome.source, "url": outcome.url, "status": outcome.status,
        "started_at": outcome.started_at.isoformat(),
        "finished_at": outcome.finished_at.isoformat() if outcome.finished_at else None,
        "http_status": outcome.http_status, "bytes": outcome.bytes, "error": outcome.error,
        "seen": report.seen, "stored": report.stored, "duplicates": report.duplicates,
        "unchanged": report.unchanged, "rejected": dict(report.rejected),
    }
    partial = Path(f"{path}.partial")
    partial.write_text(json.dumps(document), encoding="utf-8")
    os.replace(partial, path)


def read_result(path: str | Path) -> FetchOutcome | None:
    """The outcome the child wrote, or None when it wrote none (it died, or failed before the end)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    report = IngestReport(seen=document["seen"], stored=document["stored"],
                          duplicates=document["duplicates"], unchanged=document["unchanged"],
                          rejected=Counter(document["rejected"]))
    finished = document["finished_at"]
    return FetchOutcome(source=document["source"], url=document["url"], status=document["status"],
                        started_at=datetime.fromisoformat(document["started_at"]),
                        finished_at=datetime.fromisoformat(finished) if finished else None,
                        http_status=document["http_status"], bytes=document["bytes"],
                        error=document["error"], report=report)
