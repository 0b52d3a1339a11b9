"""A Telegram channel's public web preview (``t.me/s/<channel>``) as article records.

The preview is an HTML page of the newest ~20 posts, oldest first; each post
is a ``tgme_widget_message`` block with ``data-post="channel/id"``, its text,
a ``<time datetime>`` inside the permalink, and, for a forwarded post, a
"Forwarded from" line. Older posts are on ``?before=<id>``, linked from the
page. Pure: bytes in, records out, no network.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.html

from newsmon.analysis.feed import FeedEntry, NotAFeed
from newsmon.analysis.normalize import clean_text
from newsmon.core.config import SourceConfig
from newsmon.core.records import ArticleRecord

TITLE_CHARS = 140          # a post has no headline: its first line, cut here, stands in
POST = "//div[contains(concat(' ', normalize-space(@class), ' '), ' tgme_widget_message ')][@data-post]"


@dataclass
class PreviewPage:
    entries: list[FeedEntry]                              # oldest first, as the page lists them
    rejected: Counter = field(default_factory=Counter)
    before: int | None = None                             # the id to ask older posts with, if any

    @property
    def post_ids(self) -> list[int]:
        return [post_id(entry.record.guid) for entry in self.entries]


def parse_preview(body: bytes, page_url: str, source: SourceConfig) -> PreviewPage:
    """One preview page -> its posts as records; raises NotAFeed when it is no channel preview."""
    if not body.strip():
        raise NotAFeed("not a channel preview: empty page")
    document = lxml.html.document_fromstring(body)
    posts = document.xpath(POST)
    if not posts and not document.xpath("//*[contains(@class, 'tgme_channel_info')]"):
        raise NotAFeed("not a channel preview: no tgme_widget_message posts and no channel header")
    page = PreviewPage(entries=[], before=_older_page(document))
    for post in posts:
        record = _post_record(post, page_url, source)
        if record is None:
            page.rejected["invalid: post without text"] += 1
            continue
        page.entries.append(FeedEntry(record, record.published_at))
    return page


def post_id(guid: str | None) -> int:
    """The number of ``channel/123``."""
    return int((guid or "").rpartition("/")[2] or 0)


def _post_record(post, page_url: str, source: SourceConfig) -> ArticleRecord | None:
    guid = post.get("data-post", "")
    if not re.fullmatch(r"[\w]+/\d+", guid):
        return None
    text = _text(post, "tgme_widget_message_text")
    if not text:   # a photo or a poll without a caption: nothing to read
        return None
    link = _first(post.xpath(".//a[contains(@class, 'tgme_widget_message_date')]/@href"))
    return ArticleRecord(
        url=urljoin(page_url, link) if link else f"https://t.me/{guid}",
        source=source.name,
        title=_title(text),
        text=text,
        authors=[name] if (name := _text(post, "tgme_widget_message_owner_name")) else [],
        published_at=_time(_first(post.xpath(".//time/@datetime"))),
        guid=guid,
        forwarded_from=_forwarded_from(post),
    )


def _text(post, css_class: str) -> str:
    """The text of the first element with that class, <br> as line breaks."""
    nodes = post.xpath(f".//*[contains(concat(' ', normalize-space(@class), ' '), ' {css_class} ')]")
    if not nodes:
        return ""
    node = _copy(nodes[0])
    for br in node.iter("br"):
        br.tail = "\n" + (br.tail or "")
    return clean_text(node.text_content())


def _copy(node):
    return lxml.html.fromstring(lxml.html.tostring(node))


def _forwarded_from(post) -> str | None:
    """"Forwarded from" a channel: its link (t.me/other/45) when it has one, else its name."""
    block = post.xpath(".//*[contains(@class, 'tgme_widget_message_forwarded_from')]")
    if not block:
        return None
    link = _first(block[0].xpath(".//a/@href"))
    name = clean_text(_first(block[0].xpath(".//*[contains(@class, 'forwarded_from_name')]//text()")) or "")
    return link or name or None


def _title(text: str) -> str:
    first_line = text.split("\n", 1)[0].strip()
    return first_line if len(first_line) <= TITLE_CHARS else first_line[:TITLE_CHARS - 1].rstrip() + "…"


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _older_page(document) -> int | None:
    """The ``before`` id of the link to older posts (rel=prev, or the "load more" link)."""
    for href in document.xpath("//link[@rel='prev']/@href | //a[contains(@class, 'messages_more')]/@href"):
        values = parse_qs(urlsplit(href).query).get("before")
        if values and values[0].isdigit():
            return int(values[0])
    return None


def _first(values: list):
    return values[0] if values else None
