"""A real HTTP server on 127.0.0.1 for the tests and the offline demo.

It serves a directory (URL path -> file) plus routes defined at run time, speaks
conditional GET (strong ETag, Last-Modified, 304) like a well-behaved news site,
and can misbehave on demand (hang, delay, huge streamed bodies, gzip) so the
fetch code is tested against a real socket, not a mock. Stdlib only.
"""
from __future__ import annotations

import argparse
import gzip as gzip_module
import hashlib
import mimetypes
import signal
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

Chunks = Iterable[bytes] | Callable[[], Iterable[bytes]]

_TEXT_TYPES = {
    ".xml": "application/rss+xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
    ".json": "application/json",
    ".csv": "text/csv",
    ".yaml": "application/yaml",
}


class Headers(dict):
    """Request headers; lookups ignore case because clients differ in how they spell names."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()):
        super().__init__()
        for name, value in items:
            key = name.lower()
            self[key] = f"{self[key]}, {value}" if key in self else value

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default=None):
        return super().get(name.lower(), default)


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str            # as requested, query string included
    headers: Headers
    time: float          # time.time() when the request line arrived
    body: bytes = b""    # request body (POST/PUT), e.g. what a webhook sent


@dataclass
class _Route:
    body: bytes
    status: int
    content_type: str
    headers: dict[str, str]
    delay: float
    hang: bool
    gzip: bool
    chunks: Chunks | None
    last_modified: int            # whole seconds: HTTP dates have no finer resolution
    etag: str = field(init=False)

    def __post_init__(self):
        if self.gzip and self.chunks is None:
            self.body = gzip_module.compress(self.body, mtime=0)
        self.etag = _etag(self.body)


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def guess_content_type(path: str) -> str:
    """Content-Type by extension; text types say charset=utf-8 (the snapshot is UTF-8)."""
    if path.endswith("/"):
        return "text/html; charset=utf-8"   # a directory URL serves its index.html
    suffix = Path(path).suffix.lower()
    if suffix == ".xml" and "sitemap" in Path(path).name.lower():
        return "application/xml; charset=utf-8"   # a sitemap is not a feed
    if suffix in _TEXT_TYPES:
        return _TEXT_TYPES[suffix] + "; charset=utf-8"
    if suffix == ".gz":
        return "application/gzip"
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def _not_modified(headers: Headers, etag: str, last_modified: int) -> bool:
    """RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since when both are sent."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = headers.get("If-Modified-Since")
    if if_modified_since:
        try:
            return last_modified <= parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError):
            return False
    return False


def _gzip_stream(chunks: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(wbits=31)   # 31: gzip container
    for chunk in chunks:
        if out := compressor.compress(chunk):
            yield out
    yield compressor.flush()


class LoopbackServer:
    """ThreadingHTTPServer on loopback in a daemon thread; use as a context manager."""

    def __init__(self, root: Path | None = None, host: str = "127.0.0.1", port: int = 0):
        self.root = Path(root).resolve() if root is not None else None
        self._address = (host, port)
        self._routes: dict[str, _Route] = {}
        self._route_versions: dict[str, tuple[str, int]] = {}   # path -> (body hash, stamp)
        self._log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> "LoopbackServer":
        self._stopping.clear()
        self._httpd = _QuietServer(self._address, _handler_for(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="loopback-http",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Return promptly: wake hung/delayed handlers and cut open keep-alive connections."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            for conn in self._connections:
                _force_close(conn)
            self._connections.clear()
        self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("LoopbackServer is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -- routes --------------------------------------------------------------

    def route(self, path: str, body: bytes | str = b"", *, status: int = 200,
              content_type: str | None = None, headers: dict[str, str] | None = None,
              delay: float = 0, hang: bool = False, gzip: bool = False,
              chunks: Chunks | None = None) -> None:
        """Define what `path` serves. A route without a query string answers every query of
        its path; one with a query string (``/s/chan?before=20``) answers only that query.

        `chunks` streams a body generated on the fly; a callable is called per
        request, so unlike a bare generator it can be served more than once.
        """
        path = _route_key(path)
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        with self._lock:
            stamp = self._route_stamp(path, data)
            self._routes[path] = _Route(
                body=data, status=status,
                content_type=content_type or guess_content_type(urlsplit(path).path),
                headers=dict(headers or {}), delay=delay, hang=hang, gzip=gzip,
                chunks=chunks, last_modified=stamp)

    def _route_stamp(self, path: str, data: bytes) -> int:
        """Keep the timestamp for an unchanged body; otherwise move it strictly forward,
        so If-Modified-Since never mistakes a body changed within the same second for old."""
        digest = _etag(data)
        previous = self._route_versions.get(path)
        if previous is not None and previous[0] == digest:
            return previous[1]
        stamp = max(int(time.time()), previous[1] + 1 if previous else 0)
        self._route_versions[path] = (digest, stamp)
        return stamp

    def remove(self, path: str) -> None:
        with self._lock:
            self._routes.pop(_route_key(path), None)

    # -- request log ---------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    # -- used by the handler -------------------------------------------------

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._log.append(record)

    def _lookup_route(self, path: str) -> _Route | None:
        with self._lock:
            return self._routes.get(path)

    def _connection_opened(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _connection_closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64   # a crawler opens many connections at once

    def handle_error(self, request, client_address) -> None:
        """Clients that hang up mid-answer are normal in these tests; anything else is a bug."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def _force_close(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _route_key(path: str) -> str:
    parts = urlsplit(path)
    key = parts.path or "/"
    key = key if key.startswith("/") else "/" + key
    return f"{key}?{parts.query}" if parts.query else key


def _handler_for(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        loopback = server
    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"    # keep-alive and chunked streaming, like real sites
    disable_nagle_algorithm = True   # headers and body go out in separate writes: avoid a 40 ms stall
    server_version = "newsmon-loopback/1"
    loopback: LoopbackServer

    def setup(self) -> None:
        super().setup()
        self.loopback._connection_opened(self.connection)

    def finish(self) -> None:
        self.loopback._connection_closed(self.connection)
        super().finish()

    def log_message(self, format, *args) -> None:
        """No per-request noise on stderr; the request log is the evidence."""

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_POST(self) -> None:
        self._serve(send_body=True)

    do_PUT = do_POST

    # -- dispatch ------------------------------------------------------------

    def _serve(self, send_body: bool) -> None:
        body = self._read_request_body()
        self.request_headers = Headers(self.headers.items())
        self.loopback._record(RequestRecord(self.command, self.path, self.request_headers,
                                            time.time(), body))
        self.send_body = send_body
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        route = (parts.query and self.loopback._lookup_route(f"{path}?{parts.query}")) \
            or self.loopback._lookup_route(path)
        if route is not None:
            self._serve_route(route)
        else:
            self._serve_file(path)

    def _read_request_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve_route(self, route: _Route) -> None:
        if route.hang:
            self.loopback._stopping.wait()
            self.close_connection = True
            return
        if route.delay and self.loopback._stopping.wait(route.delay):
            self.close_connection = True
            return
        extra = dict(route.headers)
        if route.gzip:
            extra.setdefault("Content-Encoding", "gzip")
        if route.chunks is not None:
            chunks = route.chunks() if callable(route.chunks) else route.chunks
            self._stream(route.status, route.content_type, extra,
                         _gzip_stream(chunks) if route.gzip else chunks)
        elif route.status == 200:
            self._answer_static(route.body, route.content_type, route.etag,
                                route.last_modified, extra)
        else:
            self._answer(route.status, route.body, route.content_type, extra)

    def _serve_file(self, path: str) -> None:
        file = self._resolve_file(path)
        if file is None:
            self._answer(404, b"not found\n", "text/plain; charset=utf-8")
        elif file.is_dir():
            # like any web server: /section -> /section/ so relative links resolve
            self._answer(301, b"", "text/plain; charset=utf-8", {"Location": path + "/"})
        else:
            data = file.read_bytes()   # fixture files are small
            self._answer_static(data, guess_content_type(file.name), _etag(data),
                                int(file.stat().st_mtime), {})

    def _resolve_file(self, path: str) -> Path | None:
        root = self.loopback.root
        if root is None:
            return None
        file = (root / path.lstrip("/")).resolve()
        if not file.is_relative_to(root) or not file.exists():
            return None
        if file.is_dir() and path.endswith("/"):
            index = file / "index.html"
            return index if index.is_file() else None
        return file

    # -- writing answers -----------------------------------------------------

    def _answer_static(self, body: bytes, content_type: str, etag: str,
                       last_modified: int, extra: dict[str, str]) -> None:
        validators = {"ETag": etag, "Last-Modified": formatdate(last_modified, usegmt=True)}
        if self.command in ("GET", "HEAD") and _not_modified(self.request_headers, etag, last_modified):
            self._answer(304, b"", None, {**validators, **extra})
        else:
            self._answer(200, body, content_type, {**validators, **extra})

    def _answer(self, status: int, body: bytes, content_type: str | None,
                extra: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": content_type} if content_type and status != 304 else {}
        headers.update(extra or {})
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304 and not _has(headers, "Content-Length"):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.send_body and status != 304:
            self._write(body)

    def _stream(self, status: int, content_type: str, extra: dict[str, str],
                chunks: Iterable[bytes]) -> None:
        """Chunked transfer encoding, unless the route announces its own Content-Length
        (then the raw bytes follow, as a server that promises a size would send them)."""
        framed = not _has(extra, "Content-Length")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in extra.items():
            self.send_header(name, value)
        if framed:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if not self.send_body:
            return
        for chunk in chunks:
            if self.loopback._stopping.is_set():
                self.close_connection = True   # no terminator: the body is cut, not complete
                return
            if not chunk:
                continue   # an empty chunk would end a chunked body early
            data = b"%x\r\n%s\r\n" % (len(chunk), chunk) if framed else chunk
            if not self._write(data):
                return
        if framed:
            self._write(b"0\r\n\r\n")

    def _write(self, data: bytes) -> bool:
        """False once the client has gone away (it stopped reading a huge body, say)."""
        try:
            self.wfile.write(data)
            return True
        except OSError:
            self.close_connection = True
            return False


def _has(headers: dict[str, str], name: str) -> bool:
    return any(key.lower() == name.lower() for key in headers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m newsmon.testing.loopback",
                                     description="Serve a directory on loopback until killed.")
    parser.add_argument("--root", type=Path, required=True, help="directory to serve")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with LoopbackServer(args.root, host=args.host, port=args.port) as server:
        print(server.url, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
