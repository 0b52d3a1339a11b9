"""Which URLs the fetchers may request (shared by the feed fetcher and the spiders).

Feeds and pages are untrusted input: a link or a redirect can point at the
cloud metadata service or at services on the private network. Only http(s)
is allowed; link-local and cloud-metadata addresses are always refused;
loopback and private addresses only when the caller allows them (tests and
the offline demo serve their sources on 127.0.0.1).

Host names are resolved to check where they point. The fetch resolves them
again, so a name that changes its answer in between (DNS rebinding) is not
caught here; what this blocks is every plain link to an internal address.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
import time
from urllib.parse import SplitResult, urljoin, urlsplit

from newsmon.core.errors import NewsmonError

ALLOWED_SCHEMES = ("http", "https")
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata"})
METADATA_ADDRESSES = frozenset(map(ipaddress.ip_address, ["100.100.100.200", "fd00:ec2::254"]))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")   # reaches the embedded IPv4 address
DNS_TIMEOUT_SECONDS = 2.0

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(NewsmonError, ValueError):
    """A URL the fetchers must not request; the message says why, on one line."""


def check_url(url: str, *, base: str | None = None, allow_private: bool = False) -> str:
    """The absolute URL, when it is safe to fetch; UnsafeURL otherwise.

    A relative URL is resolved against base. A host name that does not
    resolve is not refused: the fetch will fail with its own error.
    """
    absolute = _absolute(url, base)
    parts = _split(absolute)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeURL(f"scheme {parts.scheme!r} is not allowed: {_shorten(absolute)}")
    host = _host(parts)
    if host in METADATA_HOSTS:
        raise UnsafeURL(f"{host} is a cloud-metadata host")
    for address in _addresses(host):
        if _always_refused(address):
            raise UnsafeURL(f"{host} is a link-local or cloud-metadata address ({address})")
        if not allow_private and _is_private(address):
            raise UnsafeURL(f"{host} is a loopback or private address ({address})")
    return absolute


def source_allows_private(source_url: str) -> bool:
    """True when the source itself is served from a loopback/private host, so
    that its links may point there too."""
    try:
        addresses = _addresses(_host(_split(source_url.strip())))
    except UnsafeURL:
        return False
    return bool(addresses) and all(_is_private(address) for address in addresses)


def _absolute(url: str, base: str | None) -> str:
    url = url.strip()
    if not url:
        raise UnsafeURL("empty URL")
    if _split(url).scheme:
        return url
    if base is None:
        raise UnsafeURL(f"relative URL without a base: {_shorten(url)}")
    joined = urljoin(base.strip(), url)
    if not _split(joined).scheme:
        raise UnsafeURL(f"relative URL and a relative base: {_shorten(joined)}")
    return joined


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError as error:   # e.g. an unclosed IPv6 bracket
        raise UnsafeURL(f"malformed URL {_shorten(url)}: {error}") from None


def _host(parts: SplitResult) -> str:
    # a backslash or a space in the authority makes parsers disagree on the host
    if any(char == "\\" or char.isspace() for char in parts.netloc):
        raise UnsafeURL(f"malformed host in {_shorten(parts.geturl())}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL(f"no host in {_shorten(parts.geturl())}")
    return host


def _addresses(host: str) -> tuple[Address, ...]:
    if host == "localhost" or host.endswith(".localhost"):   # RFC 6761: always loopback
        return (ipaddress.ip_address("127.0.0.1"),)
    try:
        return (ipaddress.ip_address(host),)
    except ValueError:
        return DNS_CACHE.addresses(host)


class DnsCache:
    """Addresses of host names for `seconds` each, at most `size` hosts (the oldest
    answers go first): one check per host of a crawl or a poll round, not one per URL.
    Lives as long as the process, like the resolver's own cache would."""

    def __init__(self, seconds: float = 300.0, size: int = 4096, resolve=None):
        self.seconds, self.size = seconds, size
        self._resolve = resolve or _getaddrinfo
        self._answers: dict[str, tuple[float, tuple[Address, ...]]] = {}   # host -> (expires, addresses)
        self._lock = threading.Lock()

    def addresses(self, host: str) -> tuple[Address, ...]:
        """The host's addresses; () when it does not resolve in time."""
        now = time.monotonic()
        with self._lock:
            cached = self._answers.get(host)
        if cached and cached[0] > now:
            return cached[1]
        addresses = self._resolve(host)
        with self._lock:
            self._answers.pop(host, None)   # re-inserted last: the dict's order is the answers' age
            while len(self._answers) >= self.size:
                del self._answers[next(iter(self._answers))]
            self._answers[host] = (now + self.seconds, addresses)
        return addresses


def _getaddrinfo(host: str) -> tuple[Address, ...]:
    # getaddrinfo has no timeout: run it in a throw-away daemon thread (a
    # pool would not survive the fork of an Airflow task) and stop waiting
    found: list[Address] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return
        found.extend(ipaddress.ip_address(info[4][0]) for info in infos)

    worker = threading.Thread(target=lookup, name="newsmon-dns", daemon=True)
    worker.start()
    worker.join(DNS_TIMEOUT_SECONDS)
    return tuple(dict.fromkeys(found)) if not worker.is_alive() else ()


DNS_CACHE = DnsCache()


def _embedded_ipv4(address: Address) -> Address:
    if address.version == 6:
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.ip_address(int(address) & 0xFFFFFFFF)
    return address


def _always_refused(address: Address) -> bool:
    address = _embedded_ipv4(address)
    return address.is_link_local or address in METADATA_ADDRESSES


def _is_private(address: Address) -> bool:
    # not globally routable: loopback, RFC 1918, fc00::/7, CGNAT, unspecified...
    return not _embedded_ipv4(address).is_global


def _shorten(url: str, limit: int = 200) -> str:
    """The URL for a one-line message."""
    flat = " ".join(url.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."
