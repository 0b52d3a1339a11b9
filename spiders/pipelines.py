"""The item pipeline: pages -> ArticleRecords -> newsmon's shared ingest, one fetch-log row per crawl.

Articles are ingested in batches, one write transaction per batch
(NEWSMON_INGEST_BATCH), the rest when the spider closes. Every candidate page
is counted: stored, duplicate, or rejected with a reason. The fetch-log row is
written on spider_closed, the one moment that knows why the crawl ended.
"""
from __future__ import annotations

import logging

from scrapy import signals
from sqlalchemy.exc import SQLAlchemyError

from models.engine import session_scope
from newsmon.core.errors import one_line
from newsmon.sources import crawl, crawl_process
from newsmon.storage.errors import database_problem
from newsmon.storage.evidence import EvidenceArchive, RawResponse
from newsmon.storage.ingest import Pipeline
from spiders.items import PageItem, RejectedPage

LOGGER = logging.getLogger(__name__)


class IngestPipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.batch_size = crawler.settings.getint("NEWSMON_INGEST_BATCH")
        self.pending = []
        self.pipeline: Pipeline | None = None
        self.evidence = EvidenceArchive.from_env()     # None: no evidence archive
        self.responses: dict[str, RawResponse] = {}    # the pending articles' pages, for the archive
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @property
    def tally(self) -> crawl.CrawlTally:
        return self.crawler.spider.tally

    def open_spider(self) -> None:
        self.pipeline = Pipeline()

    def process_item(self, item: PageItem | RejectedPage):
        if isinstance(item, RejectedPage):
            self.reject(item.reason)
        elif not item.is_article:
            self.reject("not an article")
        else:
            self.pending.append(crawl.article_record(item.url, item.final_url, self.tally.source, item.page))
            if self.evidence is not None and item.raw is not None:
                self.responses[item.url] = item.raw
            if len(self.pending) >= self.batch_size:
                self.flush()
        return item

    def reject(self, reason: str, count: int = 1) -> None:
        self.tally.report.seen += count
        self.tally.report.rejected[reason] += count

    def flush(self) -> None:
        records, self.pending = self.pending, []
        if not records:
            return
        responses, self.responses = self.responses, {}
        try:
            with session_scope(write=True) as session:
                self.tally.report.add(self.pipeline.ingest(session, records))
                if self.evidence is not None:
                    self.evidence.capture_stored(session, self.tally.source.name, responses)
        except SQLAlchemyError as error:
            # The crawl goes on (the next batch may succeed); the row says it failed.
            LOGGER.error("storing %d articles failed: %s", len(records), error)
            self.tally.store_error = one_line(getattr(error, "orig", None) or error)
            self.reject("store failed", len(records))

    def close_spider(self) -> None:
        self.flush()

    def spider_closed(self, spider, reason: str) -> None:
        settings = self.crawler.settings
        outcome = self.tally.outcome(
            bytes_received=self.crawler.stats.get_value("downloader/response_bytes", 0),
            close_reason=reason, time_limit_s=settings.getfloat("CLOSESPIDER_TIMEOUT"))
        try:
            crawl.record_crawl(outcome, self.tally.source, schedules_source=spider.schedules_source)
        except SQLAlchemyError as error:   # the database went away: the caller still learns why
            outcome.status = "error"
            outcome.error = database_problem(error)
        if settings.get(crawl_process.RESULT_FILE_SETTING):
            crawl_process.write_result(settings[crawl_process.RESULT_FILE_SETTING], outcome)
