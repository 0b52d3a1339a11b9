"""Bounded waits on PostgreSQL: a server that stops answering costs a timeout, not the whole run.

A stopped server refuses connections, which ``connect_timeout`` and TCP
keepalives bound. A frozen one (SIGSTOP, a hung host whose kernel still
acknowledges packets) accepts bytes and never answers: neither keepalives nor
the server's own ``statement_timeout`` can end that wait, and psycopg has no
read timeout. So a watchdog thread cuts (``shutdown``) the socket of any
connection that has waited longer than ``limit_s`` for a statement, a commit
or the liveness check at checkout; the waiting call then fails with an
ordinary ``OperationalError`` naming the lost connection, and SQLAlchemy drops
the connection from its pool.

The clock runs while a statement or a commit is in flight: it starts before
each statement and each COMMIT/ROLLBACK and stops when a statement returns or
the connection goes back to the pool. (Rows fetched later from a server-side
cursor are not timed, so a long export is never cut.)
"""
from __future__ import annotations

import os
import socket
import threading
import time

from sqlalchemy import Engine, event, exc

CHECK_EVERY_S = 0.25


class StatementWatchdog:
    def __init__(self, limit_s: float):
        self.limit_s = limit_s
        self._deadlines: dict[int, tuple[float, object]] = {}   # id(dbapi connection) -> (deadline, it)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def install(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", lambda conn, *_: self.arm(conn.connection.dbapi_connection))
        event.listen(engine, "after_cursor_execute", lambda conn, *_: self.disarm(conn.connection.dbapi_connection))
        event.listen(engine, "commit", lambda conn: self.arm(conn.connection.dbapi_connection))
        event.listen(engine, "rollback", lambda conn: self.arm(conn.connection.dbapi_connection))
        event.listen(engine, "checkout", self._ping)
        event.listen(engine, "checkin", lambda dbapi_connection, _record: self.disarm(dbapi_connection))

    def arm(self, dbapi_connection) -> None:
        if dbapi_connection is None:
            return
        with self._lock:
            self._deadlines[id(dbapi_connection)] = (time.monotonic() + self.limit_s, dbapi_connection)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="newsmon-db-watchdog", daemon=True)
                self._thread.start()

    def disarm(self, dbapi_connection) -> None:
        with self._lock:
            self._deadlines.pop(id(dbapi_connection), None)

    def _ping(self, dbapi_connection, _record, _proxy) -> None:
        """Pessimistic liveness check at checkout, under the clock (SQLAlchemy's pre-ping is not timed)."""
        self.arm(dbapi_connection)
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as error:   # the pool retries with a fresh connection
            raise exc.DisconnectionError(f"connection check failed: {error}") from error
        finally:
            self.disarm(dbapi_connection)

    def _watch(self) -> None:
        while True:
            time.sleep(CHECK_EVERY_S)
            now = time.monotonic()
            with self._lock:
                expired = [key for key, (deadline, _) in self._deadlines.items() if deadline <= now]
                connections = [self._deadlines.pop(key)[1] for key in expired]
            for connection in connections:
                _cut(connection)


def _cut(dbapi_connection) -> None:
    """Shut the connection's socket down: the call waiting on it returns with an error."""
    try:
        descriptor = dbapi_connection.pgconn.socket
        with socket.socket(fileno=os.dup(descriptor)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except Exception:   # already closed: nothing is waiting on it
        pass
