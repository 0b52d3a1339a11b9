"""Telegram public channels, read from their web preview and polled like feeds.

A channel's preview (``https://t.me/s/<channel>``, or the source's
``preview_url``) lists its newest posts; each post becomes an article record
(text, date, permalink, forwarded-from) and goes through the same path after
fetching as a feed entry (``Pipeline.ingest``), with the same conditional GET,
body hash, adaptive schedule, politeness limits, URL safety and fetch log
(``FeedPoller``). When every post on the page is newer than the newest post
seen before (the first poll, or a burst between two polls), older pages are
read through the preview's ``before`` link, up to the source's ``max_pages``.
Posts carry their whole text: no article page is fetched.
"""
from __future__ import annotations

from collections import Counter

from models import PipelineState
from models.engine import session_scope
from newsmon.analysis.feed import NotAFeed, ParsedFeed
from newsmon.analysis.telegram import PreviewPage, parse_preview, post_id
from newsmon.core.config import SourceConfig
from newsmon.core.records import ArticleRecord, utcnow
from newsmon.sources.feeds import (FeedPoller, FeedState, PAGE_ACCEPT, poll_feed, poll_feeds, read_again,
                                   with_default_language)
from newsmon.sources.fetch import Fetched, FetchError
from newsmon.sources.health import FetchOutcome
from models.dialect import insert


class TelegramPoller(FeedPoller):
    """A FeedPoller whose "feed" is a channel preview, with its older pages on demand."""

    def parse(self, source: SourceConfig, fetched: Fetched, allow_private: bool) -> ParsedFeed:
        page = parse_preview(fetched.body, fetched.url, source)
        newest_seen = self._newest_seen(source)
        parsed = ParsedFeed(entries=list(page.entries), rejected=Counter(page.rejected))
        for _ in range(source.max_pages - 1):
            if not _older_posts_unseen(page, newest_seen):
                break
            older_url = f"{source.url}?before={page.before}"
            try:
                older = self.fetcher.get(older_url, allow_private=allow_private, accept=PAGE_ACCEPT)
                page = parse_preview(older.body, older.url, source)
            except (FetchError, NotAFeed) as error:   # what was read is kept; the next poll goes on
                parsed.problem = f"older posts ({older_url}): {error}"
                break
            parsed.entries[:0] = page.entries
            parsed.rejected.update(page.rejected)
        return parsed

    def complete(self, source: SourceConfig, parsed: ParsedFeed, allow_private: bool) -> list[ArticleRecord]:
        return with_default_language([entry.record for entry in parsed.entries], source)

    def _store(self, source: SourceConfig, state: FeedState, outcome: FetchOutcome,
               parsed: ParsedFeed, records: list[ArticleRecord]) -> FetchOutcome:
        if parsed.problem:   # an older page failed: the next poll reads the channel again, back to the gap
            read_again(outcome)
        outcome = super()._store(source, state, outcome, parsed, records)
        ids = [post_id(entry.record.guid) for entry in parsed.entries]
        if ids and parsed.problem is None:
            self._remember_newest(source, max(ids))
        return outcome

    # the newest post id read from each channel, relevant or not: where catching up stops

    def _newest_seen(self, source: SourceConfig) -> int:
        with session_scope(self.database_url) as session:
            state = session.get(PipelineState, _state_key(source))
            return int(state.value.get("newest_post", 0)) if state else 0

    def _remember_newest(self, source: SourceConfig, newest: int) -> None:
        with session_scope(self.database_url, write=True) as session:
            statement = insert(session, PipelineState.__table__).values(
                key=_state_key(source), value={"newest_post": newest}, updated_at=utcnow())
            session.execute(statement.on_conflict_do_update(
                index_elements=["key"], set_={"value": statement.excluded.value,
                                              "updated_at": statement.excluded.updated_at}))


def poll_channels(sources: list[SourceConfig], *, database_url: str | None = None,
                  every: bool = False) -> list[FetchOutcome]:
    """Poll the due channels (all with every=True); one outcome per channel."""
    return poll_feeds(sources, database_url=database_url, every=every, poller_type=TelegramPoller)


def poll_channel(source: SourceConfig, *, database_url: str | None = None) -> FetchOutcome:
    return poll_feed(source, database_url=database_url, poller_type=TelegramPoller)


def _older_posts_unseen(page: PreviewPage, newest_seen: int) -> bool:
    """Read further back only while the whole page is new: the gap may go on below it."""
    return bool(page.before and page.post_ids and min(page.post_ids) > newest_seen)


def _state_key(source: SourceConfig) -> str:
    return f"telegram:{source.name}"

