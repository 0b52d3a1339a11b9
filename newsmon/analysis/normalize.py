"""Normalization shared by the feed path and the spiders.

Pure functions: no database, no network. ``normalize_record`` is the one
entry point the pipeline uses; the helpers are public because extractors and
spiders need them on their own (URLs, dates, HTML fragments).
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import re
import time
import unicodedata
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import dateparser
from lxml import etree
from lxml import html as lxml_html
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from w3lib.url import canonicalize_url

from newsmon.core.records import ArticleRecord

# --- URLs -------------------------------------------------------------------

_TRACKING_PARAMS = frozenset("""
    fbclid gclid gclsrc dclid gbraid wbraid msclkid yclid ysclid twclid ttclid
    igshid li_fat_id mc_cid mc_eid _ga _gl _hsenc _hsmi mkt_tok ref ref_src
    ref_url cmpid icid ocid ncid s_cid spm at_medium at_campaign _openstat
    __twitter_impression
""".split())
_TRACKING_PREFIXES = ("utm_", "ns_", "mtm_", "pk_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """The identity of an article URL, for deduplication (not for fetching).

    Two URLs that a reader would call "the same page" map to one string:
    https (http is folded into it: news sites serve both), host lower-cased,
    IDN in punycode, a leading "www." dropped, default port, fragment,
    credentials and tracking parameters removed, the other parameters sorted,
    percent-encoding normalized, no trailing slash (the root path stays "/").
    Anything that is not an absolute http(s) URL comes back stripped.
    """
    stripped = url.strip()
    try:
        return _canonicalize_http_url(stripped)
    except ValueError:  # bad port, bad IPv6 literal, bad IDN label...
        return stripped


def _canonicalize_http_url(url: str) -> str:
    original_scheme = urlsplit(url).scheme.lower()
    if original_scheme not in _DEFAULT_PORTS:
        return url
    # w3lib: IDNA host, percent-encoding, dot segments, sorted query, no fragment
    parts = urlsplit(canonicalize_url(url))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return url
    if host.startswith("www.") and "." in host[4:]:
        host = host[4:]
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[original_scheme]) else f"{host}:{port}"
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", netloc, path, _without_tracking(parts.query), ""))


def _without_tracking(query: str) -> str:
    kept = []
    for pair in query.split("&"):
        name = pair.split("=", 1)[0].lower()
        if pair and name not in _TRACKING_PARAMS and not name.startswith(_TRACKING_PREFIXES):
            kept.append(pair)
    return "&".join(kept)


# --- text -------------------------------------------------------------------

_DROPPED_ELEMENTS = ("script", "style", "noscript", "template", "head", "iframe",
                     "object", "svg", "math", "button", "select")
_BLOCK_TAGS = frozenset("""
    address article aside blockquote br caption dd details div dl dt figcaption
    figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section
    summary table tbody td tfoot th thead tr ul
""".split())
# C0/C1 controls (tab and line breaks excepted: they are whitespace),
# invisible format characters (soft hyphen, zero-width, bidi marks, BOM) and
# lone surrogates (from JSON escapes; no database can store them).
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u061c\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb]"
)
_BLOCK_BREAK = "\ue000"   # a private-use character: no text means anything by it
_LOOKS_LIKE_MARKUP = re.compile(r"<[a-zA-Z/!]|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+\d*);")


def clean_text(text: str) -> str:
    """NFC, invisible characters removed, each line one paragraph.

    Every line break starts a paragraph: extractors emit one paragraph per
    line, and html_to_text emits a line per block. Paragraphs come back
    separated by a blank line, whitespace inside them collapsed to one space.
    """
    visible = unicodedata.normalize("NFC", _INVISIBLE.sub("", text))
    lines = (" ".join(line.split()) for line in visible.splitlines())
    return "\n\n".join(line for line in lines if line)


def clean_title(title: str) -> str:
    """One line of text; markup and entities (common in feed titles) decoded."""
    text = html_to_text(title) if looks_like_html(title) else clean_text(title)
    return " ".join(text.split())


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment or page, a paragraph per block element."""
    if not html.strip():
        return ""
    parser = lxml_html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        root = lxml_html.document_fromstring(html.encode("utf-8", "ignore"), parser=parser)
    except etree.ParserError:  # nothing but whitespace/comments once parsed
        return ""
    etree.strip_elements(root, *_DROPPED_ELEMENTS, with_tail=False)
    # A marker where each block starts and ends, then lxml's own text serializer
    # (C, not a Python walk): source line breaks inside text are plain spaces,
    # the markers become the line breaks.
    for element in root.iter(*_BLOCK_TAGS):
        element.text = _BLOCK_BREAK + (element.text or "")
        element.tail = _BLOCK_BREAK + (element.tail or "")
    text = " ".join(etree.tostring(root, method="text", encoding="unicode").split())
    return clean_text(text.replace(_BLOCK_BREAK, "\n"))


def looks_like_html(text: str) -> bool:
    return bool(_LOOKS_LIKE_MARKUP.search(text))


# --- dates ------------------------------------------------------------------

_EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=timezone.utc)
_FUTURE_TOLERANCE = timedelta(days=2)  # time-zone slips and embargoed posts
_DATEPARSER_LANGUAGES = ["en", "ru", "hy", "az", "tr", "fr", "uk", "de", "es"]
_DATEPARSER_SETTINGS = {
    "TIMEZONE": "UTC",
    "TO_TIMEZONE": "UTC",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "PREFER_DATES_FROM": "past",
    # "September" or "15" alone is not a publication date
    "REQUIRE_PARTS": ["day", "month", "year"],
}


def parse_datetime(value) -> datetime | None:
    """Aware UTC datetime from a string, a feedparser struct_time (UTC) or a
    datetime (naive means UTC); None for anything unparseable or implausible
    (before 1990, or more than two days ahead)."""
    parsed = _to_datetime(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    parsed = parsed.astimezone(timezone.utc)
    if not _EARLIEST_PLAUSIBLE <= parsed <= datetime.now(timezone.utc) + _FUTURE_TOLERANCE:
        return None
    return parsed


def _to_datetime(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, time.struct_time):
        try:  # leap seconds (tm_sec 60/61) are legal in struct_time only
            return datetime(*value[:5], min(value.tm_sec, 59), tzinfo=timezone.utc)
        except ValueError:
            return None
    if isinstance(value, str) and value.strip():
        return _parse_date_string(value.strip())
    return None


def _parse_date_string(value: str) -> datetime | None:
    # exact formats first: fast, and no guessing about day/month order
    for parse in (datetime.fromisoformat, parsedate_to_datetime):
        try:
            return parse(value)
        except (ValueError, TypeError, IndexError):
            pass
    return dateparser.parse(value, languages=_DATEPARSER_LANGUAGES,
                            settings=_DATEPARSER_SETTINGS)


# --- language ---------------------------------------------------------------

_ISO_639_1 = frozenset("""
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co
    cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd
    gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv
    ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg
    mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os
    pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss
    st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo
    wa wo xh yi yo za zh zu
""".split())
# Measured on news titles in the six project languages: the full 140-label
# model mislabels some short English titles (as "pcm", "la"); restricted to
# the languages this news actually comes in, every title was right.
_PLAUSIBLE_LANGUAGES = """
    en ru hy az tr fr de es it pt nl pl uk be ka fa ar he el kk uz ky tk tg zh
    ja ko hi bg ro cs sk sv no da fi hu sr hr lt lv et sq mk ur
""".split()
_MIN_LETTERS = 15
_LETTER = re.compile(r"[^\W\d_]")
# Correct labels on those titles scored >= 0.61; wrong ones <= 0.31.
_MIN_CONFIDENCE = 0.5
# A declared language gives way only to a sure detection of another project language
# (az and tr, which the model confuses, never overrule each other: both lexicons apply).
_PROJECT_LANGUAGES = frozenset({"en", "ru", "hy", "az", "tr", "fr"})
_OVERRULE_CONFIDENCE = 0.99
_DETECTION_SAMPLE_CHARS = 1000  # more text does not change the answer, only the cost


def detect_language(text: str, hint: str | None = None) -> str | None:
    """ISO 639-1 code: a valid hint ("en-US", "ru_RU") wins unless the text is
    surely in another of the project's languages (a feed declaring "en" at channel
    level that carries Armenian items); otherwise the text decides. None when the
    text is too short or the model unsure."""
    hinted = _language_from_hint(hint)
    detected = _detected(text)
    if hinted and detected and detected[0] != hinted and detected[0] in _PROJECT_LANGUAGES \
            and {hinted, detected[0]} != {"az", "tr"}:
        # another script than the declared language's is proof enough; the same script needs a sure model
        sure = _OVERRULE_CONFIDENCE if _script(text) == _SCRIPTS.get(hinted, "latin") else _MIN_CONFIDENCE
        return detected[0] if detected[1] >= sure else hinted
    if hinted:
        return hinted
    return detected[0] if detected and detected[1] >= _MIN_CONFIDENCE else None


_SCRIPTS = {"ru": "cyrillic", "uk": "cyrillic", "be": "cyrillic", "bg": "cyrillic", "hy": "armenian"}


def _script(text: str) -> str:
    """The script most letters of the sample are written in: latin, cyrillic, armenian or other."""
    counts = {"latin": 0, "cyrillic": 0, "armenian": 0, "other": 0}
    for letter in itertools.islice(_LETTER.finditer(text[:_DETECTION_SAMPLE_CHARS]), 200):
        code = ord(letter.group())
        script = ("latin" if code < 0x250 else "cyrillic" if 0x400 <= code < 0x530
                  else "armenian" if 0x530 <= code < 0x590 else "other")
        counts[script] += 1
    return max(counts, key=counts.__getitem__)


def _detected(text: str) -> tuple[str, float] | None:
    sample = text[:_DETECTION_SAMPLE_CHARS]
    if len(list(itertools.islice(_LETTER.finditer(sample), _MIN_LETTERS))) < _MIN_LETTERS:
        return None
    return _language_identifier().classify(sample)


def _language_from_hint(hint: str | None) -> str | None:
    if not hint:
        return None
    code = re.split(r"[-_]", hint.strip().lower(), maxsplit=1)[0]
    return code if code in _ISO_639_1 else None


@functools.cache
def _language_identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(_PLAUSIBLE_LANGUAGES)
    return identifier


# --- identity -----------------------------------------------------------------

MIN_HASHED_CHARS = 200  # below this a "text" is a teaser, not an article
_WORD = re.compile(r"\w+")


def content_hash(title: str, text: str) -> str | None:
    """sha256 of the text with case, punctuation and spacing folded away.

    The title is only used to drop a headline that an extractor repeated as
    the first line, so the same article hashes alike with or without it.
    None when the text is too short to tell articles apart.
    """
    body, headline = _fold(text), _fold(title)
    if headline and (body == headline or body.startswith(headline + " ")):
        body = body[len(headline):].lstrip()
    if len(body) < MIN_HASHED_CHARS:
        return None
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _fold(text: str) -> str:
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


# --- records ----------------------------------------------------------------

_BYLINE_PREFIX = re.compile(r"^by\s+", re.IGNORECASE)


def normalize_record(record: ArticleRecord) -> ArticleRecord:
    """A cleaned copy of the record; the input is left untouched."""
    title = clean_title(record.title)
    text = clean_text(record.text)
    summary = _clean_summary(record.summary)
    return replace(
        record,
        url=record.url.strip(),
        canonical_url=canonical_url(record.canonical_url or record.url),
        title=title,
        text=text,
        summary=summary,
        authors=_clean_authors(record.authors),
        language=detect_language(f"{title}\n\n{text or summary or ''}", hint=record.language),
        published_at=parse_datetime(record.published_at),
    )


def _clean_summary(summary: str | None) -> str | None:
    if summary is None:
        return None
    cleaned = html_to_text(summary) if looks_like_html(summary) else clean_text(summary)
    return cleaned or None


def _clean_authors(authors: list[str]) -> list[str]:
    """Stripped, "By " dropped, duplicates (ignoring case) removed, order kept."""
    seen: dict[str, str] = {}
    for author in authors:
        name = _BYLINE_PREFIX.sub("", clean_title(author or ""))
        if name:
            seen.setdefault(name.casefold(), name)
    return list(seen.values())
