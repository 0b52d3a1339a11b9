"""A PostgreSQL cluster of the test's own, on a free port, that the test may stop, start and freeze.

Debian's server binaries (``initdb``, ``pg_ctl``) run as the ``postgres`` user
(PostgreSQL refuses root) with the data folder in a temp folder it owns. The
cluster is always stopped and removed at the end, also when the test fails.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

def _server_binaries() -> Path:
    """NEWSMON_TEST_PG_BIN, else the newest of Debian's /usr/lib/postgresql/N/bin."""
    if os.environ.get("NEWSMON_TEST_PG_BIN"):
        return Path(os.environ["NEWSMON_TEST_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
                   if p.parts[-3].isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


BIN = _server_binaries()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PgCluster:
    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120, check=check)

    def init(self) -> None:
        self._as_postgres(str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off")
        self._as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                          str(self.folder / "server.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def processes(self) -> list[int]:
        """The postmaster and every process it started."""
        try:
            postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        children = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    children.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
        return [postmaster, *children]

    def freeze(self) -> None:
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, sig: int) -> None:
        for pid in self.processes():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


@contextmanager
def own_cluster() -> Iterator[PgCluster]:
    if not (BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL server binaries not found in {BIN} (apt-get install postgresql)") \
            if os.environ.get("CI") else pytest.skip(f"no PostgreSQL server binaries in {BIN}")
    folder = Path(tempfile.mkdtemp(prefix="newsmon-pg-"))
    shutil.chown(folder, "postgres", "postgres") if os.geteuid() == 0 else None
    cluster = PgCluster(folder)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.thaw()
        cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
