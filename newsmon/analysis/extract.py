"""Article extraction: the main text and the declared metadata of one HTML page.

trafilatura finds the main text; the page's own declarations (JSON-LD,
OpenGraph, <link rel=canonical>, <html lang>) give the metadata. The HTML is
parsed once, into the tree trafilatura would make of it (faster, see
_parse_html), and the tree is handed to trafilatura. Around trafilatura
(each step measured with bench/extract_quality.py):

- passes: precision mode in fast mode first (drops more boilerplate, and costs
  less than one default trafilatura.extract); a short result is rerun with
  trafilatura's readability/jusText comparison (unless the page declares
  itself no article); then a much longer JSON-LD articleBody wins; a page
  declared an article that still yields little gets a balanced pass;
- before: an article body split into sibling containers of one class (one
  chunk per ad slot) is joined, trafilatura keeps the first container only;
  embedded posts (tweets) are freed from "social" wrappers it discards;
  scripts and styles are dropped once instead of in every pass;
- after: short blocks that are mostly link text ("Related: ...") and copies
  of the headline atop the text are dropped.

Run ``python -m newsmon.analysis.extract PATH...`` to print one JSON line per file.
"""
from __future__ import annotations

import gzip
import html as html_entities
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import lxml.html
from htmldate import find_date
from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction
from trafilatura import bare_extraction, load_html
from w3lib.encoding import html_to_unicode

from newsmon.analysis.thirdparty import DOCTYPE_TAG, delete_element, extract_title, xmltotxt

LOGGER = logging.getLogger(__name__)

# schema.org types that declare a page to be an article
ARTICLE_TYPES = frozenset({
    "Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle",
    "OpinionNewsArticle", "BackgroundNewsArticle", "ReviewNewsArticle",
    "AskPublicNewsArticle", "BlogPosting", "LiveBlogPosting", "Report",
    "TechArticle", "ScholarlyArticle", "SatiricalArticle",
})
# schema.org and og:type values that declare some other kind of page
LISTING_TYPES = frozenset({"CollectionPage", "ItemList", "SearchResultsPage", "ProfilePage"})
NON_ARTICLE_OG_TYPES = frozenset({"website", "profile", "product", "video.other", "music.song"})
# text below this many characters may lack part of the article: rerun the fast
# pass with trafilatura's comparison against readability and jusText
RECHECK_TEXT_CHARS = 1500
# text below this many characters probably misses the article altogether
SHORT_TEXT_CHARS = 500
# a fallback replaces the text only when it is this many times longer
FALLBACK_GAIN = 2.0
# blocks at least this share link text and at most this long are link teasers
LINK_BLOCK_SHARE = 0.7
LINK_BLOCK_MAX_CHARS = 300
# short labels (kicker, section name) standing above a headline inside the text
KICKER_CHARS = 40
MAX_KICKERS = 2
# sibling containers of one class, each with this much <p> text, are one body split up
SPLIT_BODY_MIN_CHARS = 200
SPLIT_BODY_MAX_DEPTH = 2
# a page with this much main text counts as an article, declared or not
ARTICLE_TEXT_CHARS = 500
# more elements than this (news pages have a few thousand) get a single pass
MAX_TREE_ELEMENTS = 30000
# charset detection reads the start of the page only: enough text, bounded time
DETECT_BYTES = 65536
TEXT_BLOCKS = ("p", "head", "item", "quote")
SOCIAL_POST_XPATH = '//blockquote[contains(@class, "twitter-tweet") or contains(@class, "instagram-media")]'
WRAPPER_TAGS = frozenset({"div", "span", "figure", "section", "aside", "center"})
# trafilatura's parser, but with every element an HtmlElement looked up in C:
# lxml.html's lookup calls Python for each element touched (2% of extraction)
# to give form controls their classes, which no reader of the tree uses.
HTML_PARSER = etree.HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8",
                               remove_comments=True, remove_pis=True)
HTML_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity))
# characters XML forbids, in UTF-8: control bytes, U+FFFE and U+FFFF
XML_FORBIDDEN_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
XML_FORBIDDEN_SEQUENCES = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")
LINE_BREAK = re.compile(r"\s*\n\s*")
MARKUP = re.compile(r"<[^>]*>")  # tags some sites leave in meta values
WORD = re.compile(r"\w+")


@dataclass
class Extracted:
    title: str | None
    text: str                  # main text, paragraphs separated by "\n\n"; "" when none
    published_at: datetime | None   # timezone-aware UTC
    authors: list[str]
    language: str | None       # ISO 639-1 from <html lang>/og:locale/JSON-LD, else None
    canonical_url: str | None  # absolute, from <link rel=canonical> or og:url
    description: str | None    # meta/og description
    is_article: bool           # declared an article, or has a substantial main text


def _empty() -> Extracted:
    return Extracted(None, "", None, [], None, None, None, False)


# --- decoding -----------------------------------------------------------------

def decode_html(body: bytes, declared_encoding: str | None = None) -> str:
    """Decode a page: BOM, then the HTTP charset, then <meta charset>, then detection."""
    header = f"text/html; charset={declared_encoding}" if declared_encoding else None
    return html_to_unicode(header, body, auto_detect_fun=_detect_encoding)[1]


def _detect_encoding(body: bytes) -> str | None:
    sample = body[:DETECT_BYTES]
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as err:
        if err.start >= len(sample) - 3:  # a character cut by the sample boundary
            return "utf-8"
    best = charset_normalizer.from_bytes(sample).best()
    return best.encoding if best else None


# --- public entry points --------------------------------------------------------

def extract(html: str | bytes, url: str | None = None) -> Extracted:
    """Extract the main text and metadata of a page; never raises on bad input."""
    try:
        text = decode_html(html) if isinstance(html, bytes) else html
        tree = _parse_html(text) if text.strip() else None
        return _extract_tree(tree, url) if tree is not None else _empty()
    except Exception:  # hostile input must not stop a crawl
        LOGGER.warning("extraction failed for %s", url, exc_info=True)
        return _empty()


def _parse_html(text: str) -> HtmlElement | None:
    """The tree trafilatura's load_html makes of a page, or None where it makes none.

    load_html runs repair_faulty_html, whose regex over the whole page costs
    0.4 ms and rarely finds anything: checks of the UTF-8 bytes and of the
    first lines tell when it can, and only such pages take load_html's path.
    Others are parsed as bytes, as load_html does when it must.
    """
    beginning = text[:50].lower()
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: lxml's reading of a str decides
        return load_html(text)
    if _has_forbidden_chars(data) or _has_faulty_start(text, beginning):
        return load_html(text)
    try:
        tree = lxml.html.fromstring(data, parser=HTML_PARSER)
    except etree.LxmlError:  # nothing but whitespace and comments
        return None
    # as load_html: what does not start like HTML must parse into a page
    if "html" not in beginning and len(tree) < 2:
        return None
    return tree


def _has_forbidden_chars(data: bytes) -> bool:
    return (len(data.translate(None, XML_FORBIDDEN_BYTES)) < len(data)
            or any(sequence in data for sequence in XML_FORBIDDEN_SEQUENCES))


def _has_faulty_start(text: str, beginning: str) -> bool:
    """The start repair_faulty_html mends: a DOCTYPE with a slash, or after it no
    line break (it adds one), or <html .../> in the first lines."""
    if "doctype" in beginning:
        line_end = text.find("\n")
        if line_end < 0 or DOCTYPE_TAG.match(text, 0, line_end):
            return True
    return any("<html" in line and line.endswith("/>") for line in text[:4096].splitlines()[:4])


def extract_file(path: str | Path) -> dict:
    """The `newsmon extract` JSON record of a saved .html or .html.gz file."""
    path = Path(path)
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    result = extract(raw)
    return {
        "path": str(path),
        "title": result.title,
        "text": result.text,
        "published_at": result.published_at.isoformat() if result.published_at else None,
        "authors": result.authors,
        "language": result.language,
    }


# --- what the page declares -------------------------------------------------------

@dataclass
class _Declared:
    meta: dict[str, str] = field(default_factory=dict)   # lower-cased name/property -> content
    article: dict[str, Any] = field(default_factory=dict)  # the JSON-LD article object
    jsonld_types: set[str] = field(default_factory=set)

    def declares_article(self) -> bool | None:
        """True: an article; False: some other kind of page; None: says nothing."""
        og_type = self.meta.get("og:type", "").lower()
        if self.jsonld_types & ARTICLE_TYPES or og_type == "article":
            return True
        if og_type in NON_ARTICLE_OG_TYPES or self.jsonld_types & LISTING_TYPES:
            return False
        return None


def _extract_tree(tree: HtmlElement, url: str | None) -> Extracted:
    declared = _read_declarations(tree)
    declared_article = declared.declares_article()
    description = _first_text(declared.meta.get("description"), declared.meta.get("og:description"),
                              declared.meta.get("twitter:description"), declared.article.get("description"))
    published_at = _published_at(tree, declared, url)   # before _main_text drops the scripts it reads
    text = _main_text(tree, _title_candidates(tree, declared), _words(description or ""),
                      _jsonld_text(declared.article.get("articleBody")), declared_article)
    canonical = _canonical_url(tree, declared, url)
    return Extracted(
        title=_title(tree, declared),
        text=text,
        published_at=published_at,
        authors=_authors(declared),
        language=_language(tree, declared),
        canonical_url=canonical,
        description=description,
        is_article=declared_article is True or (len(text) >= ARTICLE_TEXT_CHARS
                                                and not _listing_page(declared_article, canonical, url)),
    )


def _listing_page(declared_article: bool | None, canonical: str | None, url: str | None) -> bool:
    """A page that says it is no article (og:type website) and names another page as its
    canonical one (the section it lists): its long text is teasers, not an article."""
    if declared_article is not False or not canonical or not url:
        return False
    return urlsplit(canonical).path.rstrip("/") != urlsplit(url).path.rstrip("/")


def _read_declarations(tree: HtmlElement) -> _Declared:
    declared = _Declared()
    for meta in tree.iter("meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop") or meta.get("http-equiv")
        content = meta.get("content")
        if key and content and content.strip():
            declared.meta.setdefault(key.strip().lower(), content.strip())
    for obj in _jsonld_objects(tree):
        types = _jsonld_types(obj)
        declared.jsonld_types |= types
        if not declared.article and types & ARTICLE_TYPES:
            declared.article = obj
    return declared


def _jsonld_objects(tree: HtmlElement) -> Iterator[dict]:
    """Every JSON object in the page's JSON-LD, nested ones included."""
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "", strict=False)
        except ValueError:
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            elif isinstance(node, dict):
                yield node
                stack.extend(v for v in reversed(node.values()) if isinstance(v, (dict, list)))


def _jsonld_types(obj: dict) -> set[str]:
    types = obj.get("@type")
    types = types if isinstance(types, list) else [types]
    return {t for t in types if isinstance(t, str)}


def _first_text(*values: Any) -> str | None:
    """The first non-empty value as one line of plain text."""
    for value in values:
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, str) and (text := " ".join(MARKUP.sub(" ", html_entities.unescape(value)).split())):
            return text
    return None


def _jsonld_text(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    paragraphs = (" ".join(line.split()) for line in html_entities.unescape(value).splitlines())
    return "\n\n".join(p for p in paragraphs if p)


def _title(tree: HtmlElement, declared: _Declared) -> str | None:
    meta = declared.meta
    declared_title = _first_text(declared.article.get("headline"), meta.get("og:title"), meta.get("twitter:title"))
    return declared_title or _first_text(extract_title(tree))


def _title_candidates(tree: HtmlElement, declared: _Declared) -> set[str]:
    """Every way the page spells its headline, normalised, to spot it atop the text."""
    values = [declared.article.get("headline"), declared.meta.get("og:title"), declared.meta.get("twitter:title")]
    values += [title.text_content() for title in tree.iter("title", "h1")]
    return {words for v in values if isinstance(v, str) and (words := _words(v))}


def _words(text: str) -> str:
    return " ".join(WORD.findall(text.lower()))


def _published_at(tree: HtmlElement, declared: _Declared, url: str | None) -> datetime | None:
    article, meta = declared.article, declared.meta
    for value in (article.get("datePublished"), meta.get("article:published_time"), meta.get("datepublished"),
                  meta.get("og:published_time"), meta.get("pubdate"), meta.get("publishdate"),
                  article.get("dateCreated")):
        if isinstance(value, str) and (parsed := _parse_datetime(value)):
            return parsed
    # nothing declared: htmldate's quick search (other markup, URL patterns)
    found = find_date(tree, url=url, extensive_search=False, original_date=True,
                      outputformat="%Y-%m-%dT%H:%M:%S%z")
    return _parse_datetime(found) if found else None


def _parse_datetime(value: str) -> datetime | None:
    """ISO 8601 or RFC 2822 to aware UTC; a time without zone is taken as UTC."""
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _authors(declared: _Declared) -> list[str]:
    names = list(_jsonld_names(declared.article.get("author")))
    if not names:
        for key in ("author", "article:author", "byl", "dc.creator", "parsely-author", "sailthru.author"):
            names += _split_names(declared.meta.get(key, ""))
    unique: dict[str, str] = {}
    for name in names:
        name = re.sub(r"^by\s+", "", " ".join(name.split()), flags=re.IGNORECASE)
        # article:author is often a profile URL, not a name
        if name and len(name) <= 100 and not urlsplit(name).scheme and "@" not in name:
            unique.setdefault(name.lower(), name)
    return list(unique.values())


def _jsonld_names(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield from _split_names(value)
    elif isinstance(value, list):
        for item in value:
            yield from _jsonld_names(item)
    elif isinstance(value, dict):
        yield from _jsonld_names(value.get("name"))


def _split_names(value: str) -> list[str]:
    """Split 'A and B', 'A & B', 'A; B'; not commas, which also separate 'Name, Agency'."""
    parts = re.split(r"\s*(?:;|\||&|\band\b)\s*", html_entities.unescape(value))
    return [part.strip() for part in parts if part.strip()]


def _language(tree: HtmlElement, declared: _Declared) -> str | None:
    for value in (tree.get("lang"), tree.get("xml:lang"), declared.meta.get("content-language"),
                  declared.meta.get("og:locale"), declared.article.get("inLanguage")):
        if isinstance(value, str) and (match := re.match(r"\s*([a-zA-Z]{2})(?:[-_]|\s*$)", value)):
            return match.group(1).lower()
    return None


def _canonical_url(tree: HtmlElement, declared: _Declared, url: str | None) -> str | None:
    links = [link.get("href") for link in tree.iter("link") if (link.get("rel") or "").lower() == "canonical"]
    for href in [*links, declared.meta.get("og:url")]:
        if not href or not href.strip():
            continue
        absolute = urljoin(url or "", href.strip())
        parts = urlsplit(absolute)
        if parts.scheme in ("http", "https") and parts.netloc:
            return absolute
    return None


# --- main text ----------------------------------------------------------------------

def _small_enough(tree: HtmlElement) -> bool:
    """trafilatura slows down superlinearly on huge trees: one pass only there.

    Counted only when a further pass is considered (counting costs ~0.6 ms a page).
    """
    return next(islice(tree.iter(), MAX_TREE_ELEMENTS, None), None) is None

def _main_text(tree: HtmlElement, titles: set[str], description: str, jsonld_body: str,
               declared_article: bool | None) -> str:
    """The article text.

    titles and description are normalised with _words; declared_article is
    what the page says it is (_Declared.declares_article).
    """
    _join_split_bodies(tree)
    _unwrap_social_posts(tree)
    _drop_scripts(tree)
    text = _extracted_text(tree, titles, description, precision=True, fast=True)
    if len(text) < RECHECK_TEXT_CHARS and declared_article is not False and _small_enough(tree):
        text = _extracted_text(tree, titles, description, precision=True, fast=False)
    if len(jsonld_body) > FALLBACK_GAIN * len(text):
        return jsonld_body
    # balanced mode may dump a whole page: only where an article is promised
    if len(text) < SHORT_TEXT_CHARS and declared_article is True and _small_enough(tree):
        balanced = _extracted_text(tree, titles, description, precision=False, fast=False)
        if len(balanced) > FALLBACK_GAIN * len(text):
            text = balanced
    return text


def _join_split_bodies(tree: HtmlElement) -> None:
    """Merge an article body cut into sibling containers of one class into the first.

    Some sites close and reopen the body container around each ad slot.
    Containers must be close relatives (a common ancestor within
    SPLIT_BODY_MAX_DEPTH), which keeps apart whole articles appended below.
    """
    paragraph_chars: dict[HtmlElement, int] = defaultdict(int)
    for paragraph in tree.iter("p"):
        parent = paragraph.getparent()
        if parent is not None:
            paragraph_chars[parent] += len(paragraph.text_content())
    groups: dict[tuple[str, str], list[HtmlElement]] = defaultdict(list)
    for container, chars in paragraph_chars.items():
        if chars >= SPLIT_BODY_MIN_CHARS and container.get("class"):
            groups[(container.tag, container.get("class"))].append(container)
    for first, *others in (group for group in groups.values() if len(group) > 1):
        near = set(_ancestors(first))
        for other in others:
            other_near = _ancestors(other)
            if near.intersection(other_near) and first not in other_near and other not in near:
                _remove(other)
                other.tail = None  # _remove left it where the container was
                first.append(other)


def _ancestors(element: HtmlElement) -> list[HtmlElement]:
    return [ancestor for _, ancestor in zip(range(SPLIT_BODY_MAX_DEPTH), element.iterancestors())]


def _unwrap_social_posts(tree: HtmlElement) -> None:
    """Free embedded posts (tweets, Instagram) from the wrappers trafilatura discards.

    Officials often make statements as posts, which articles then embed.
    """
    for post in tree.xpath(SOCIAL_POST_XPATH):
        del post.attrib["class"]
        wrapper, chars = post, len(post.text_content().strip())
        while (parent := wrapper.getparent()) is not None and parent.tag in WRAPPER_TAGS \
                and len(parent.text_content().strip()) == chars:
            wrapper = parent
        if wrapper is not post:
            post.tail = wrapper.tail
            wrapper.getparent().replace(wrapper, post)


def _drop_scripts(tree: HtmlElement) -> None:
    """Drop scripts and styles once, not in each pass as trafilatura does after
    copying the tree three times: they are half a page's bytes (3% of
    extraction). JSON-LD stays: trafilatura reads it."""
    for element in list(tree.iter("script", "style")):
        if element.get("type") != "application/ld+json":   # trafilatura's exact test
            delete_element(element)


def _extracted_text(tree: HtmlElement, titles: set[str], description: str,
                    precision: bool, fast: bool) -> str:
    """The text of one trafilatura pass, cleaned."""
    document = bare_extraction(tree, fast=fast, favor_precision=precision, include_comments=False,
                               include_links=True, include_tables=True)
    if document is None or document.body is None:
        return ""
    _drop_link_blocks(document.body)
    _drop_leading_title(document.body, titles, description)
    return _render(document.body)


def _drop_link_blocks(body: etree._Element) -> None:
    """Drop short blocks that are mostly link text: teasers, 'Related: ...' lines."""
    for block in list(body.iter(*TEXT_BLOCKS)):
        chars = len("".join(block.itertext()).strip())
        if not chars or chars > LINK_BLOCK_MAX_CHARS or block.getparent() is None:
            continue
        # a <ref> without target was an in-page anchor, not a link
        link_chars = sum(len("".join(ref.itertext()).strip()) for ref in block.iter("ref") if ref.get("target"))
        if link_chars >= LINK_BLOCK_SHARE * chars:
            _remove(block)


def _drop_leading_title(body: etree._Element, titles: set[str], description: str) -> None:
    """Drop the headline, and a heading repeating the description (a standfirst), atop the text.

    Both are fields of their own; a paragraph repeating the description is
    usually the lead of the article and stays. Short labels above the
    headline (kicker, section name) go with it.
    """
    labels: list[etree._Element] = []
    for block in list(body.iter(*TEXT_BLOCKS)):  # document order, inside wrappers too
        words = _words("".join(block.itertext()))
        if not words:
            continue
        is_title = any(words == title or (len(words) > 20 and words in title) for title in titles)
        is_standfirst = block.tag == "head" and bool(description) and _nearly_same(words, description)
        if is_title or is_standfirst:
            for label in [*labels, block]:
                _remove(label)
            labels = []
        elif len(words) <= KICKER_CHARS and len(labels) < MAX_KICKERS:
            labels.append(block)
        else:
            return


def _nearly_same(words: str, other: str) -> bool:
    """One contains the other and they differ little in length (a truncated copy)."""
    shorter, longer = sorted((words, other), key=len)
    return shorter in longer and len(shorter) >= 0.8 * len(longer)


def _render(body: etree._Element) -> str:
    """Plain text with a blank line between blocks; source line breaks are not paragraphs."""
    etree.strip_tags(body, "ref")
    for element in body.iter():
        element.text = _join_lines(element.text)
        element.tail = _join_lines(element.tail)
    lines = (line.strip() for line in xmltotxt(body, False).splitlines())
    return "\n\n".join(line for line in lines if line)


def _join_lines(text: str | None) -> str | None:
    return LINE_BREAK.sub(" ", text) if text and "\n" in text else text


def _remove(element: etree._Element) -> None:
    """Remove an element, keeping its tail text in place."""
    parent = element.getparent()
    if element.tail and element.tail.strip():
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)
