"""HTTP fetching for feeds and article pages: polite, bounded, conditional.

One ``HttpFetcher`` serves a whole poll: one httpx client (connections are
reused), at most ``max_concurrency`` requests in flight overall and
``per_host`` per host, a connect timeout and a total one (a watchdog cuts a
body that is still trickling in when the time is up), a cap on the
*decompressed* size (a gzip bomb stops at the cap), and redirects followed by
hand so that every hop passes the URL safety check and a chain of permanent
redirects can move the stored feed URL.
"""
from __future__ import annotations

import hashlib
import socket
import threading
import time
import zlib
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import urljoin, urlsplit

import httpx

from newsmon import USER_AGENT
from newsmon.sources.safety import UnsafeURL, check_url
from newsmon.core.errors import NewsmonError, one_line

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
# only what _Inflater can decode with a bounded output
ACCEPT_ENCODING = "gzip, deflate"


@dataclass
class FetchSettings:
    connect_timeout: float = 10
    total_timeout: float = 30
    max_bytes: int = 10 * 1024 * 1024
    max_concurrency: int = 8
    per_host: int = 2
    user_agent: str = USER_AGENT
    max_redirects: int = 5
    full_text: bool = True


class FetchError(NewsmonError):
    """A fetch that produced no usable body; ``str()`` is the one-line reason."""

    def __init__(self, reason: str, *, http_status: int | None = None, retry_after: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status
        self.retry_after = retry_after   # the raw Retry-After header of a 429/503


@dataclass
class Fetched:
    url: str                              # final URL, after redirects
    status: int                           # a 2xx, or 304
    headers: dict[str, str] = field(default_factory=dict)   # lower-case names
    body: bytes = b""                     # decompressed
    permanent_url: str | None = None      # set when every hop was a permanent redirect

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def body_hash(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class HttpFetcher:
    """Thread-safe: feed and page workers share one fetcher (and its politeness limits)."""

    def __init__(self, settings: FetchSettings | None = None):
        self.settings = settings or FetchSettings()
        self._client = httpx.Client(
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=False,
            limits=httpx.Limits(max_connections=self.settings.max_concurrency,
                                max_keepalive_connections=self.settings.max_concurrency),
        )
        self._overall = threading.BoundedSemaphore(self.settings.max_concurrency)
        self._hosts: dict[str, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(self.settings.per_host))
        self._hosts_lock = threading.Lock()

    def __enter__(self) -> "HttpFetcher":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            allow_private: bool = False, accept: str | None = None) -> Fetched:
        """GET with validators; raises FetchError (and nothing else) when there is no body to use."""
        headers = _request_headers(etag, last_modified, accept)
        url = start_url = _checked(url, None, allow_private)
        deadline: _Deadline | None = None
        permanent = True
        for _hop in range(self.settings.max_redirects + 1):
            with self._slot(url):
                deadline = deadline or _Deadline(self.settings.total_timeout)
                with self._open(url, headers, deadline) as response:
                    if response.status_code not in REDIRECT_STATUSES:
                        fetched = self._finish(response, url, deadline)
                        fetched.permanent_url = url if permanent and url != start_url else None
                        return fetched
                    permanent = permanent and response.status_code in PERMANENT_REDIRECTS
                    url = _redirect_target(response, url, allow_private)
        raise FetchError(f"too many redirects (more than {self.settings.max_redirects})")

    @contextmanager
    def _slot(self, url: str) -> Iterator[None]:
        # host first: a request queued for a busy host holds no overall slot
        with self._hosts_lock:
            host = self._hosts[_host_key(url)]
        with host, self._overall:
            yield

    @contextmanager
    def _open(self, url: str, headers: dict[str, str], deadline: "_Deadline") -> Iterator[httpx.Response]:
        remaining = deadline.remaining()
        timeout = httpx.Timeout(remaining, connect=min(self.settings.connect_timeout, remaining))
        try:
            request = self._client.build_request("GET", url, headers=headers, timeout=timeout)
            response = self._client.send(request, stream=True)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise _as_fetch_error(error, deadline, self.settings) from None
        deadline.watch(response)
        try:
            yield response
        except httpx.HTTPError as error:
            raise _as_fetch_error(error, deadline, self.settings) from None
        finally:
            deadline.stop()
            response.close()

    def _finish(self, response: httpx.Response, url: str, deadline: "_Deadline") -> Fetched:
        headers = {name.lower(): value for name, value in response.headers.items()}
        status = response.status_code
        if status == 304:
            return Fetched(url, status, headers)
        if not 200 <= status < 300:
            raise FetchError(f"HTTP {status} {response.reason_phrase}".strip(), http_status=status,
                             retry_after=headers.get("retry-after"))
        body = self._read_body(response, headers)
        if deadline.expired.is_set():  # the watchdog cut it: what came is not the whole body
            raise FetchError(f"timeout: not finished within {self.settings.total_timeout:g}s", http_status=status)
        return Fetched(url, status, headers, body)

    def _read_body(self, response: httpx.Response, headers: dict[str, str]) -> bytes:
        limit = self.settings.max_bytes
        oversize = FetchError(f"oversize: more than {limit} bytes", http_status=response.status_code)
        inflater = _Inflater(headers.get("content-encoding"))
        if inflater.identity and _declared_length(headers) > limit:
            raise oversize
        body = bytearray()
        for raw in response.iter_raw():
            # ask for one byte more than fits: getting it proves the body is too big
            body += inflater.inflate(raw, limit - len(body) + 1)
            if len(body) > limit:
                raise oversize
        return bytes(body)


class _Deadline:
    """The total time budget of one fetch, redirects included.

    httpx only has per-operation timeouts, so a server that sends a byte now
    and then would never time out; when the budget is spent the watchdog
    shuts the socket down, which wakes the blocked read.
    """

    def __init__(self, seconds: float):
        self._at = time.monotonic() + seconds
        self.expired = threading.Event()
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        left = self._at - time.monotonic()
        if left <= 0:
            self.expired.set()
            raise FetchError("timeout: redirects took the whole time budget")
        return left

    def watch(self, response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        self._timer = threading.Timer(max(self._at - time.monotonic(), 0), self._cut, [sock])
        self._timer.daemon = True
        self._timer.start()

    def _cut(self, sock: socket.socket) -> None:
        self.expired.set()
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed: nothing to cut
            pass

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class _Inflater:
    """Decodes a gzip/deflate body a piece at a time, never producing more than asked for."""

    def __init__(self, content_encoding: str | None):
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(f"unsupported Content-Encoding: {content_encoding}")
        self.identity = not codings
        self._raw_deflate_allowed = codings == ["deflate"]
        self._decoder = None if self.identity else zlib.decompressobj(
            zlib.MAX_WBITS | 16 if codings[0] != "deflate" else zlib.MAX_WBITS)

    def inflate(self, data: bytes, limit: int) -> bytes:
        if self.identity:
            return data
        out = bytearray()
        while data and len(out) < limit and not self._decoder.eof:
            out += self._decompress(data, limit - len(out))
            data = self._decoder.unconsumed_tail
        return bytes(out)

    def _decompress(self, data: bytes, limit: int) -> bytes:
        try:
            return self._decoder.decompress(data, limit)
        except zlib.error as error:
            # "deflate" is zlib-wrapped by the RFC, raw deflate by some servers
            if self._raw_deflate_allowed:
                self._raw_deflate_allowed = False
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                return self._decompress(data, limit)
            raise FetchError(f"corrupt compressed body: {error}") from None


def _request_headers(etag: str | None, last_modified: str | None, accept: str | None) -> dict[str, str]:
    headers = {}
    # a validator with bytes httpx cannot send back would fail every poll of the feed: skip it
    if etag and etag.isascii():
        headers["If-None-Match"] = etag
    if last_modified and last_modified.isascii():
        headers["If-Modified-Since"] = last_modified
    if accept:
        headers["Accept"] = accept
    return headers


def _checked(url: str, base: str | None, allow_private: bool) -> str:
    try:
        return check_url(url, base=base, allow_private=allow_private)
    except UnsafeURL as refusal:
        raise FetchError(f"refused: {refusal}") from None


def _redirect_target(response: httpx.Response, url: str, allow_private: bool) -> str:
    location = response.headers.get("location")
    if not location:
        raise FetchError(f"HTTP {response.status_code} redirect without a Location",
                         http_status=response.status_code)
    return _checked(urljoin(url, location.strip()), url, allow_private)


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    return (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")


def _declared_length(headers: dict[str, str]) -> int:
    value = headers.get("content-length", "").strip()
    return int(value) if value.isdigit() else 0


def _as_fetch_error(error: Exception, deadline: _Deadline, settings: FetchSettings) -> FetchError:
    if deadline.expired.is_set() or isinstance(error, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)):
        return FetchError(f"timeout: not finished within {settings.total_timeout:g}s")
    if isinstance(error, httpx.ConnectTimeout):
        return FetchError(f"timeout: no connection within {settings.connect_timeout:g}s")
    if isinstance(error, httpx.ConnectError):
        return FetchError(f"connection failed: {one_line(error)}")
    if isinstance(error, httpx.InvalidURL):   # e.g. a Location header httpx cannot parse
        return FetchError(f"invalid URL: {one_line(error)}")
    if isinstance(error, httpx.RemoteProtocolError):
        return FetchError(f"truncated or malformed HTTP response: {one_line(error)}")
    return FetchError(f"{type(error).__name__}: {one_line(error)}")
