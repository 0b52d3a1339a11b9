"""The one orchestrator: units of work shared by `newsmon run` and the Airflow DAGs.

Each unit takes plain arguments (source names, a database URL, a sources file)
and returns a small JSON-able summary, so an Airflow task is one call and its
XCom stays small; `run_cycle` chains them for `newsmon run`. A source that
fails never stops the others: its failure is in its outcome and in the fetch
log. The cycle itself fails only when nothing can run (bad config, database
unreachable), with a one-line reason. Nothing here imports Airflow.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from models.engine import database_url as resolve_database_url, session_scope
from newsmon.core.config import ConfigError, SourceConfig, load_silence, load_sources, source_named, sources_path
from newsmon.core.errors import one_line
from newsmon.core.records import utcnow
from newsmon.sources.health import FetchOutcome, FetchStatus, due_sources, sync_sources
from newsmon.storage.errors import database_problem, is_database_problem, is_missing_schema


# Telegram channels are polled like feeds: the feeds DAG and `--only feeds` read them too.
POLLED_LIKE_FEEDS = ("rss", "telegram")


def due_source_names(kind: str, *, database_url: str | None = None, sources_file: str | Path | None = None,
                     every: bool = False, grace: timedelta = timedelta(0)) -> list[str]:
    """Names of the enabled sources of this kind that are due now (or within `grace`): "site", or
    "rss" for every source polled like a feed (feeds and Telegram channels)."""
    configs = [s for s in load_sources(sources_file) if s.kind in _kinds(kind)]
    try:
        with session_scope(database_url, write=True) as session:
            sync_sources(session, configs)
            return [s.name for s in due_sources(session, configs, every=every, now=utcnow() + grace)]
    except (ProgrammingError, OperationalError) as error:
        if not is_missing_schema(error):
            raise
        where = make_url(resolve_database_url(database_url)).render_as_string(hide_password=True)
        raise ConfigError(f"the newsmon database at {where} has no schema: "
                          "run `newsmon db upgrade` (or `newsmon airflow-setup`)") from None


def _kinds(kind: str) -> tuple[str, ...]:
    return POLLED_LIKE_FEEDS if kind == "rss" else (kind,)


# Failures that another try cannot fix: the task fails without retries.
PERMANENT_HTTP = frozenset({400, 401, 403, 404, 405, 406, 410, 414, 451})
PERMANENT_PREFIXES = ("not a feed", "refused", "invalid URL", "unsupported Content-Encoding")
# The most mapped tasks a feeds run is dealt into: more than the cores that poll only adds task
# starts (each costs seconds of CPU for the interpreter, Airflow and newsmon's imports).
MAX_FEED_BATCHES = 8
# A feed polled late in the last run (task start, a slow batch) is due in this one, not the next:
# with the DAG every 5 minutes a feed at the 5-minute minimum is then polled every 5 minutes, not 10.
DUE_GRACE = timedelta(minutes=2)


def feed_batches(*, names: list[str] | None = None, every: bool = False, batches: int | None = None,
                 database_url: str | None = None, sources_file: str | Path | None = None) -> list[list[str]]:
    """The feeds to poll now, dealt into at most `batches` groups (one Airflow task each;
    default: feed_batch_count()).

    Named feeds are polled whether due or not; otherwise the due ones (all with every=True).
    Each task polls its batch concurrently; a feed that fails gets a task of its own
    afterwards (`failed_sources`), so batches can be few and large."""
    chosen = selected_source_names("rss", names, database_url=database_url, sources_file=sources_file,
                                   every=every, grace=DUE_GRACE)
    count = min(len(chosen), max(1, batches or feed_batch_count()))
    return [chosen[index::count] for index in range(count)]


def feed_batch_count() -> int:
    """NEWSMON_FEED_BATCHES, else this machine's cores (at most MAX_FEED_BATCHES): one task per
    core polls as fast as the machine can, and every extra task is a process start."""
    setting = os.environ.get("NEWSMON_FEED_BATCHES", "").strip()
    if not setting:
        return max(1, min(MAX_FEED_BATCHES, os.cpu_count() or 1))
    if not setting.isdigit() or int(setting) < 1:
        raise ConfigError(f"NEWSMON_FEED_BATCHES must be a positive whole number, not {setting!r}")
    return int(setting)


def selected_source_names(kind: str, names: list[str] | None, *, database_url: str | None = None,
                          sources_file: str | Path | None = None, every: bool = False,
                          grace: timedelta = timedelta(0)) -> list[str]:
    """`names` checked against sources.yaml (an unknown one is a ConfigError), else the due sources."""
    if not names:
        return due_source_names(kind, database_url=database_url, sources_file=sources_file, every=every,
                                grace=grace)
    known = {s.name for s in load_sources(sources_file) if s.kind in _kinds(kind)}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(f"no {kind} source named {', '.join(map(repr, unknown))} in {sources_path(sources_file)}")
    return list(dict.fromkeys(names))


def poll_feed_batch(names: list[str], *, database_url: str | None = None,
                    sources_file: str | Path | None = None) -> dict:
    """Poll these feeds and Telegram channels now, concurrently; per-source outcomes plus which failed and how."""
    from newsmon.sources import feeds, telegram

    wanted = set(names)
    configs = [s for s in load_sources(sources_file) if s.name in wanted]
    channels = [s for s in configs if s.kind == "telegram"]
    feeds_only = [s for s in configs if s.kind != "telegram"]
    outcomes = feeds.poll_feeds(feeds_only, database_url=database_url, every=True) if feeds_only else []
    if channels:
        outcomes += telegram.poll_channels(channels, database_url=database_url, every=True)
    return batch_summary(outcomes)


def failed_feed(failure: dict, *, poll_again: bool, database_url: str | None = None,
                sources_file: str | Path | None = None) -> dict:
    """A feed that failed in its batch, as its own task: its failure as it was (a first try), or
    polled once more (a retry, worth it for transient failures only)."""
    if poll_again:
        return poll_feed_batch([failure["source"]], database_url=database_url, sources_file=sources_file)
    return summarize([failure])


def crawl_site(name: str, *, database_url: str | None = None, sources_file: str | Path | None = None) -> dict:
    from newsmon.sources import crawl

    outcome = crawl.crawl_site(source_named(name, sources_file), sources_file=sources_path(sources_file),
                               database_url=resolve_database_url(database_url))
    return batch_summary([outcome])


def failure_kind(outcome: FetchOutcome) -> str | None:
    """None for a success; "permanent" (404, not a feed, refused URL: retrying cannot help)
    or "transient" (5xx, timeouts, connection errors, anything unexpected)."""
    if outcome.status != "error":
        return None
    if outcome.http_status in PERMANENT_HTTP or (outcome.error or "").startswith(PERMANENT_PREFIXES):
        return "permanent"
    return "transient"


def batch_summary(outcomes: list[FetchOutcome]) -> dict:
    """What a task returns: every source's outcome, the failed ones with their kind, and
    `failure`: None, "permanent" (all failures permanent) or "transient" (worth a retry)."""
    return summarize([outcome_summary(o) | {"failure": failure_kind(o)} for o in outcomes])


def failed_sources(summaries: list[dict]) -> list[dict]:
    """The failed sources' outcomes across batch summaries: one Airflow task each."""
    return [source for summary in summaries for source in summary["sources"] if source["failure"]]


def summarize(sources: list[dict]) -> dict:
    """batch_summary of sources already summarized (outcome_summary plus their `failure`)."""
    failed = [s for s in sources if s["failure"]]
    kinds = {s["failure"] for s in failed}
    return {"sources": sources, "stored": sum(s["stored"] for s in sources),
            "failed": [f"{s['source']}: {s['error']}" for s in failed],
            "failure": None if not failed else "transient" if "transient" in kinds else "permanent"}


def evaluate_alerts(*, database_url: str | None = None, sources_file: str | Path | None = None) -> dict:
    """Raise the alerts for what arrived since the last evaluation (and, when sources.yaml asks
    for them, silence alerts), then deliver pending ones."""
    from newsmon.alerting import rules as alerts

    silences = raise_silence_alerts(database_url=database_url, sources_file=sources_file)
    report = alerts.evaluate_and_deliver(database_url=database_url).as_dict()
    if silences:
        report["raised"] += silences
        report["by_kind"]["silence"] = silences
    return report


def raise_silence_alerts(*, database_url: str | None = None, sources_file: str | Path | None = None,
                         now=None) -> int:
    """How many `silence` alerts were raised now (none unless sources.yaml has `silence:`)."""
    from newsmon.alerting.silence import raise_silence_alerts as raise_alerts
    from newsmon.core.records import utcnow

    rule = load_silence(sources_file)
    if rule is None:
        return 0
    with session_scope(database_url, write=True) as session:
        return len(raise_alerts(session, load_sources(sources_file), rule, now or utcnow()))


def maintenance(*, database_url: str | None = None, days: int = 3, keep_fetch_log_days: int = 90) -> dict:
    """Re-check recent stories (alerts follow a merged story) and incidents, refresh planner statistics,
    prune the old fetch log."""
    from newsmon.alerting.incidents import revisit_recent
    from newsmon.alerting.rules import follow_merged_stories
    from newsmon.storage import maintenance as upkeep

    report = upkeep.run(database_url=database_url, recluster_days=days, keep_fetch_log_days=keep_fetch_log_days,
                        story_followers=[follow_merged_stories])
    return report | revisit_recent(database_url=database_url, days=days)


def outcome_summary(outcome: FetchOutcome) -> dict:
    report = outcome.report
    return {
        "source": outcome.source, "status": outcome.status, "error": outcome.error,
        "http_status": outcome.http_status, "bytes": outcome.bytes, "seen": report.seen,
        "stored": report.stored, "duplicates": report.duplicates, "unchanged": report.unchanged,
        "rejected": dict(report.rejected),
    }


def url_from_airflow_uri(uri: str) -> str:
    """An Airflow connection URI as a SQLAlchemy URL (postgres:// -> postgresql+psycopg://)."""
    scheme, _, rest = uri.partition("://")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return uri


@dataclass
class CycleReport:
    ran: bool = True
    reason: str | None = None
    outcomes: list[FetchOutcome] = field(default_factory=list)
    alerts: dict = field(default_factory=dict)
    database_error: str | None = None      # the database failed during the cycle: it is incomplete

    def as_dict(self) -> dict:
        return {"ran": self.ran, "reason": self.reason, "database_error": self.database_error,
                "sources": [outcome_summary(o) for o in self.outcomes], "alerts": self.alerts}

    def problem_lines(self) -> list[str]:
        """One line per source that failed, then one summary line (none when all went well)."""
        failed = [o for o in self.outcomes if o.status in (FetchStatus.ERROR, FetchStatus.SKIPPED)]
        lines = [f"source {o.source}: {o.status}: {o.error}" for o in failed]
        if self.database_error:
            lines.append(f"cycle incomplete: {self.database_error}")
        elif failed:
            lines.append(f"cycle finished: {len(failed)} of {len(self.outcomes)} sources failed "
                         f"(see `newsmon sources`)")
        return lines

    def print_summary(self) -> None:
        console = Console(stderr=False)
        if not self.ran:
            return
        table = Table(title="newsmon run", header_style="bold")
        for column in ("source", "status", "seen", "stored", "duplicates", "rejected", "error"):
            table.add_column(column, overflow="fold")
        for outcome in self.outcomes:
            report = outcome.report
            rejected = ", ".join(f"{reason}: {n}" for reason, n in sorted(report.rejected.items())) or "-"
            table.add_row(outcome.source, outcome.status, str(report.seen), str(report.stored),
                          str(report.duplicates), rejected, outcome.error or "")
        console.print(table if self.outcomes else "[dim]no source was due (use --all to poll every source)[/dim]")
        if self.alerts:
            console.print(f"alerts raised: {self.alerts.get('raised', 0)}, "
                          f"delivered: {self.alerts.get('delivered', {})}")


def run_cycle(*, sources_file: Path | None = None, only: str | None = None, every: bool = False,
              progress: bool = False, database_url: str | None = None) -> CycleReport:
    """Poll due feeds, crawl due sites, evaluate and deliver alerts."""
    url = resolve_database_url(database_url)
    try:
        configs = load_sources(sources_file)
        load_silence(sources_file)   # a bad `silence:` section stops the cycle before, not after, polling
        check_topic_and_lexicon()
        _prepare_database(url)
    except ConfigError as error:
        return CycleReport(ran=False, reason=str(error))
    except SQLAlchemyError as error:
        return CycleReport(ran=False, reason=f"database unreachable: {one_line(error.orig or error)}")
    report = CycleReport()
    with _status(progress) as status:
        if only != "sites":
            status.update("polling the due feeds ...")
            report.outcomes += _stage(report, lambda: _poll_feeds(configs, url, every), [])
        if only != "feeds":
            report.outcomes += _stage(
                report, lambda: _crawl_sites(configs, url, every, sources_path(sources_file), status), [])
        status.update("evaluating and delivering alerts ...")
        report.alerts = _stage(report, lambda: _alerts(url, sources_file), {})
    if any(is_database_problem(o.error) for o in report.outcomes) and not report.database_error:
        report.database_error = next(o.error for o in report.outcomes if is_database_problem(o.error))
    return report


def _stage(report: CycleReport, work, nothing):
    """Run one stage of the cycle; a database failure ends the stage, is noted once, and the rest goes on."""
    try:
        return work()
    except (SQLAlchemyError, OSError) as error:
        report.database_error = report.database_error or database_problem(error)
        return nothing




def check_topic_and_lexicon() -> None:
    """Read topic.yaml and escalation.yaml before anything runs: a bad file is one ConfigError line."""
    from newsmon.analysis.escalation import load_lexicon
    from newsmon.analysis.relevance import load_topic

    load_topic()
    load_lexicon()


class _NoStatus:
    def update(self, _message: str) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *_exc) -> None:
        pass


def _status(progress: bool):
    """A live status line on a terminal; nothing when output is piped or --quiet."""
    return Console(stderr=True).status("starting ...") if progress else _NoStatus()


def _prepare_database(url: str) -> None:
    from newsmon.storage.migrate import upgrade

    upgrade(url)  # idempotent: a first run on a new SQLite file just works


def _poll_feeds(configs: list[SourceConfig], url: str, every: bool) -> list[FetchOutcome]:
    from newsmon.sources.feeds import poll_feeds
    from newsmon.sources.telegram import poll_channels

    feeds = [c for c in configs if c.kind == "rss"]
    channels = [c for c in configs if c.kind == "telegram"]
    return ((poll_feeds(feeds, database_url=url, every=every) if feeds else [])
            + (poll_channels(channels, database_url=url, every=every) if channels else []))


def _crawl_sites(configs: list[SourceConfig], url: str, every: bool, sources_file: Path,
                 status) -> list[FetchOutcome]:
    from newsmon.sources.crawl import crawl_site

    sites = {c.name: c for c in configs if c.kind == "site"}
    if not sites:
        return []
    due = due_source_names("site", database_url=url, sources_file=sources_file, every=every)
    outcomes = []
    for number, name in enumerate(due, 1):
        status.update(f"crawling {name} ({number}/{len(due)}) ...")
        try:
            outcomes.append(crawl_site(sites[name], sources_file=sources_file, database_url=url))
        except SQLAlchemyError as error:    # recording the crawl failed: say so, go on with the next
            outcomes.append(FetchOutcome(name, sites[name].first_url, "error", error=database_problem(error)))
    return outcomes


def _alerts(url: str, sources_file: Path | None) -> dict:
    return evaluate_alerts(database_url=url, sources_file=sources_file)
