"""URL safety rules. Host names used here resolve without a DNS server
(localhost, numeric forms) or are in the reserved .invalid domain."""
from __future__ import annotations

import ipaddress

import pytest

from newsmon.sources.safety import DnsCache, UnsafeURL, check_url, source_allows_private

ALWAYS_REFUSED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.1.2/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[::ffff:169.254.169.254]/",          # IPv4-mapped
    "http://[64:ff9b::a9fe:a9fe]/",              # NAT64
    "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud
    "http://[fd00:ec2::254]/",                   # AWS over IPv6
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.google.internal./",
]

PRIVATE = [
    "http://127.0.0.1:8000/feed.xml",
    "http://127.9.9.9/",
    "http://localhost/",
    "http://news.localhost/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://[::1]:8080/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://0.0.0.0/",
    "http://2130706433/",        # 127.0.0.1 as one number, resolved by getaddrinfo
    "http://0x7f.1/",
    "http://100.64.1.1/",        # carrier-grade NAT: not globally routable either
    "http://203.0.113.7/",       # documentation range
]

BAD_SCHEME = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "ftp://example.com/file",
    "mailto:editor@example.com",
]


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
@pytest.mark.parametrize("allow_private", [False, True])
def test_link_local_and_metadata_are_always_refused(url, allow_private):
    with pytest.raises(UnsafeURL, match="metadata"):
        check_url(url, allow_private=allow_private)


@pytest.mark.parametrize("url", PRIVATE)
def test_private_addresses_need_permission(url):
    with pytest.raises(UnsafeURL, match="loopback or private"):
        check_url(url)
    assert check_url(url, allow_private=True) == url


@pytest.mark.parametrize("url", BAD_SCHEME)
def test_only_http_and_https(url):
    with pytest.raises(UnsafeURL, match="is not allowed"):
        check_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["https://93.184.215.14/news", "http://8.8.8.8/",
                                 "HTTPS://93.184.215.14/a?b=1#c"])
def test_public_addresses_pass_unchanged(url):
    assert check_url(url) == url


def test_unresolvable_host_is_not_unsafe():
    assert check_url("https://no-such-host.invalid/article") == "https://no-such-host.invalid/article"


def test_relative_url_needs_a_base():
    with pytest.raises(UnsafeURL, match="relative URL without a base"):
        check_url("/news/1.html")
    joined = check_url("../2.html?x=1", base="https://93.184.215.14/news/a/")
    assert joined == "https://93.184.215.14/news/2.html?x=1"
    assert check_url("//93.184.215.14/x", base="https://151.101.1.69/") == "https://93.184.215.14/x"


def test_relative_url_is_checked_after_joining():
    with pytest.raises(UnsafeURL, match="loopback or private"):
        check_url("//127.0.0.1/admin", base="https://93.184.215.14/")
    local = check_url("/feed", base="http://127.0.0.1:8000/", allow_private=True)
    assert local == "http://127.0.0.1:8000/feed"
    with pytest.raises(UnsafeURL, match="relative base"):
        check_url("a.html", base="news/")


@pytest.mark.parametrize("url,problem", [
    ("", "empty URL"),
    ("   ", "empty URL"),
    ("http:///path", "no host"),
    ("http://[::1", "malformed URL"),
    ("http://169.254.169.254\\@93.184.215.14/", "malformed host"),   # parsers disagree on the host
])
def test_malformed_urls(url, problem):
    with pytest.raises(UnsafeURL, match=problem):
        check_url(url, allow_private=True)


def test_unsafe_url_is_a_value_error_with_one_line():
    with pytest.raises(ValueError) as error:
        check_url("gopher://example.com/a\nb" + "x" * 500)
    assert "\n" not in str(error.value) and len(str(error.value)) < 300


@pytest.mark.parametrize("source_url,allowed", [
    ("http://127.0.0.1:8123/feed.xml", True),
    ("http://localhost/rss", True),
    ("http://[::1]/rss", True),
    ("http://192.168.0.10/rss", True),
    ("https://93.184.215.14/rss", False),
    ("https://no-such-host.invalid/rss", False),
    ("not a url", False),
    ("", False),
])
def test_source_allows_private(source_url, allowed):
    assert source_allows_private(source_url) is allowed


def test_dns_answers_are_kept_for_their_time_and_the_oldest_go_first():
    asked = []

    def resolve(host):   # the real resolver would need DNS beyond loopback
        asked.append(host)
        return (ipaddress.ip_address("127.0.0.1"),) if host != "gone.test" else ()

    cache = DnsCache(seconds=60, size=2, resolve=resolve)
    assert cache.addresses("a.test") == cache.addresses("a.test") == (ipaddress.ip_address("127.0.0.1"),)
    assert cache.addresses("gone.test") == ()
    assert asked == ["a.test", "gone.test"]
    cache.addresses("b.test")            # full: the oldest answer (a.test) makes room
    cache.addresses("gone.test")
    cache.addresses("a.test")
    assert asked == ["a.test", "gone.test", "b.test", "a.test"]
    expired = DnsCache(seconds=0, resolve=resolve)
    expired.addresses("a.test")
    expired.addresses("a.test")
    assert asked[-2:] == ["a.test", "a.test"]
