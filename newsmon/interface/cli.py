"""The `newsmon` command line (Typer + Rich). Commands are thin: logic lives in the modules.

User mistakes (bad dates, unknown ids, unreachable database, bad config) print
one line on stderr and exit non-zero; they never show a traceback.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError

from models.engine import DatabaseSettingError, database_url, session_scope
from newsmon.interface import render as output
from newsmon.core.errors import NewsmonError, one_line

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Monitor the news about the Armenia-Azerbaijan conflict over Nagorno-Karabakh.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")


@app.callback()
def database_option(database: Optional[str] = typer.Option(
        None, "--database", metavar="URL", help="SQLAlchemy URL of the database, for every command "
        "(default: NEWSMON_DATABASE_URL, else var/newsmon.db)")) -> None:
    if database:  # through the environment, so subprocesses (crawls) use it too
        os.environ["NEWSMON_DATABASE_URL"] = database


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = typer.Option(None, "--format", "-f", help="table (default on a terminal), json or csv")
SinceOption = typer.Option(None, "--since", help="a date (2026-11-20), a UTC time, or an age such as 24h or 7d")
UntilOption = typer.Option(None, "--until", help="same forms as --since; exclusive")


class UserError(NewsmonError):
    """A bad option value; shown as one line."""


def say_if_cut(page) -> None:
    """A listing never cuts silently: "showing 20 of 37 (--limit)" on stderr."""
    if page.is_cut:
        typer.echo(page.footer(), err=True)


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"newsmon: {message}", err=True)
    raise typer.Exit(code)


def _fmt(fmt: Format | None) -> str:
    return fmt.value if fmt else output.default_format()


AGE = re.compile(r"^(\d+)([hdw])$")


def parse_when(value: str | None, option: str) -> datetime | None:
    """--since/--until values: ISO date or datetime (UTC unless it says), or an age like 24h/7d/2w."""
    if not value:
        return None
    age = AGE.match(value.strip())
    try:
        if age:
            unit = {"h": "hours", "d": "days", "w": "weeks"}[age.group(2)]
            return datetime.now(timezone.utc) - timedelta(**{unit: int(age.group(1))})
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    except (OverflowError, ValueError):   # an age beyond year 1, a malformed date
        raise UserError(f"{option}: not a date, time or age after year 1: {value!r} "
                        f"(try 2026-11-20 or 24h)") from None


def describe_database(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def check_database_exists(url: str) -> None:
    """Reading commands on a missing SQLite file would silently create an empty one."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        if not Path(parsed.database).exists():
            raise UserError(f"no database at {parsed.database}: run `newsmon db upgrade` first")


def run_guarded(action) -> None:
    """Run a command body, turning the errors a user can cause into one line."""
    url = database_url()
    try:
        action()
    except (NewsmonError, DatabaseSettingError) as error:
        fail(one_line(error))
    except ArgumentError:
        fail(f"not a valid database URL: {describe_database(url)}")
    except (OperationalError, ProgrammingError) as error:
        fail(_database_problem(url, error))
    except ModuleNotFoundError as error:
        fail(f"a dependency is missing ({error.name}): run `make demo` or `pip install -e .`")


def _database_problem(url: str, error: Exception) -> str:
    from newsmon.storage.errors import is_missing_schema

    if is_missing_schema(error):
        return f"the database at {describe_database(url)} has no newsmon schema: run `newsmon db upgrade`"
    return f"cannot use the database at {describe_database(url)}: {one_line(getattr(error, 'orig', None) or error)}"


# --- db ---------------------------------------------------------------------------------

@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations (idempotent; creates the SQLite file if needed)."""
    def action():
        from newsmon.storage.migrate import upgrade

        revision = upgrade()
        typer.echo(f"database {describe_database(database_url())} is at revision {revision}")

    run_guarded(action)


# --- run --------------------------------------------------------------------------------

class Only(str, Enum):
    feeds = "feeds"
    sites = "sites"


@app.command()
def run(
    sources: Optional[Path] = typer.Option(None, "--sources", help="sources file (default: NEWSMON_SOURCES or config/sources.yaml)"),
    only: Optional[Only] = typer.Option(None, "--only", help="only feeds or only sites"),
    every: bool = typer.Option(False, "--all", help="poll every source now, due or not"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress display"),
    fmt: Optional[Format] = FormatOption,
) -> None:
    """One monitoring cycle: poll feeds, crawl sites, store, evaluate and deliver alerts."""
    def action():
        from newsmon.orchestrator import run_cycle

        # The report says what failed, one line each; the library's tracebacks are for Airflow's logs.
        logging.getLogger().addHandler(logging.NullHandler())
        report = run_cycle(sources_file=sources, only=only.value if only else None, every=every,
                           progress=not quiet and sys.stderr.isatty())
        if _fmt(fmt) == "json":
            output.render_object(report.as_dict(), "json")
        else:
            report.print_summary()
        if not report.ran:
            fail(report.reason)
        for line in report.problem_lines():
            typer.echo(f"newsmon: {line}", err=True)
        if report.database_error:
            raise typer.Exit(1)

    run_guarded(action)


# --- reading ----------------------------------------------------------------------------

@app.command()
def search(
    query: Optional[str] = typer.Argument(None, help='words, "a phrase", prefix*; none: newest articles'),
    since: Optional[str] = SinceOption,
    until: Optional[str] = UntilOption,
    source: Optional[str] = typer.Option(None, "--source", help="source name"),
    lang: Optional[str] = typer.Option(None, "--lang", help="language code, e.g. ru"),
    story: Optional[int] = typer.Option(None, "--story", help="only this story's articles"),
    min_relevance: Optional[float] = typer.Option(None, "--min-relevance", help="0..1"),
    every_copy: bool = typer.Option(False, "--all", help="every stored article, near-duplicates included"),
    limit: int = typer.Option(20, "--limit", min=1, help="at most this many rows"),
    save: Optional[str] = typer.Option(None, "--save", metavar="NAME", help="also save this search as NAME"),
    alert: bool = typer.Option(False, "--alert", help="with --save: new matches raise alerts"),
    fmt: Optional[Format] = FormatOption,
) -> None:
    """Full-text search: words, OR, -word/NOT, "phrases", prefix*, NEAR(a b, 5); one row per story unless --all."""
    def action():
        from newsmon.interface.cli_searches import save_search
        from newsmon.interface.query import ARTICLE_FIELDS, Filters, check_filter_values, search_page

        if alert and not save:
            raise UserError("--alert goes with --save NAME: it makes the saved search an alert channel")
        filters = Filters(since=parse_when(since, "--since"), until=parse_when(until, "--until"),
                          source=source, language=lang, story=story, min_relevance=min_relevance)
        check_database_exists(database_url())
        with session_scope() as session:
            check_filter_values(session, filters)
            page = search_page(session, query, filters, every_copy=every_copy, limit=limit)
        if save:
            save_search(save, query, dict(source=source, lang=lang, since=since, until=until,
                                          min_relevance=min_relevance, all=every_copy), alert=alert)
        output.render_rows(page.rows, _fmt(fmt), ["id", "published_at", "source", "language", "title", "story_id"],
                           title=f"search: {query}" if query else "newest articles", fields=ARTICLE_FIELDS)
        say_if_cut(page)

    run_guarded(action)


@app.command()
def show(article_id: int = typer.Argument(..., help="article id"), fmt: Optional[Format] = FormatOption,
         raw: bool = typer.Option(False, "--raw", help="print the archived page (WARC record) instead"),
         capture: Optional[int] = typer.Option(None, "--capture", help="with --raw: which capture (1 = first)"),
         ) -> None:
    """One article with every field, text included."""
    def action():
        from newsmon.interface.evidence_view import history_fields, raw_capture
        from newsmon.interface.query import NotFound, show as load

        check_database_exists(database_url())
        with session_scope() as session:
            try:
                record = load(session, article_id)
            except NotFound as error:
                raise UserError(str(error)) from None
            if raw:
                sys.stdout.buffer.write(raw_capture(session, record, capture))
                return
            record.update(history_fields(session, record))
        output.render_object(record, _fmt(fmt))

    run_guarded(action)


sources_app = typer.Typer(help="Per-source health; `sources discover URL` finds a site's feeds.")
app.add_typer(sources_app, name="sources")


@sources_app.callback(invoke_without_command=True)
def sources(
    ctx: typer.Context,
    sources_file: Optional[Path] = typer.Option(None, "--sources", help="sources file"),
    check: bool = typer.Option(False, "--check", help="probe each source over the network: reachable, valid feed, articles found"),
    fmt: Optional[Format] = FormatOption,
) -> None:
    """Per-source health: last poll, status, last error, articles stored, last new item, next poll."""
    if ctx.invoked_subcommand:
        return

    def action():
        from newsmon.core.config import load_sources

        configured = load_sources(sources_file)
        if check:
            from newsmon.sources.probe import check_sources

            rows = check_sources(configured)
            output.render_rows(rows, _fmt(fmt), list(rows[0]) if rows else [], title="source check")
            return
        from newsmon.interface.query import sources_health

        check_database_exists(database_url())
        with session_scope() as session:
            rows = sources_health(session, [s.name for s in configured])
        output.render_rows(rows, _fmt(fmt), ["name", "kind", "status", "articles", "last_polled_at",
                                              "last_new_item_at", "next_poll_at", "consecutive_failures",
                                              "last_error"], title="sources")

    run_guarded(action)


@app.command()
def alerts(
    since: Optional[str] = SinceOption,
    min_severity: int = typer.Option(1, "--min-severity", min=1, max=3, help="1 low .. 3 high"),
    limit: int = typer.Option(100, "--limit", min=1),
    fmt: Optional[Format] = FormatOption,
) -> None:
    """Escalation alerts, newest first."""
    def action():
        from newsmon.alerting.delivery import evidence_text
        from newsmon.alerting.rules import list_alerts
        from newsmon.interface.query import Page, count_alerts

        check_database_exists(database_url())
        after = parse_when(since, "--since")
        with session_scope() as session:
            rows = list_alerts(session, since=after, min_severity=min_severity, limit=limit)
            total = count_alerts(session, after, min_severity) if len(rows) == limit else len(rows)
        if _fmt(fmt) == "table":    # the evidence quoted in one cell; JSON and CSV keep its fields
            rows = [{**row, "evidence": evidence_text(row["evidence"])} for row in rows]
        output.render_rows(rows, _fmt(fmt), ["id", "created_at", "kind", "severity", "message", "location",
                                              "evidence", "delivered", "failed"], title="alerts")
        say_if_cut(Page(rows, 0, total))

    run_guarded(action)


# --- analysis ---------------------------------------------------------------------------

@app.command()
def stats(since: Optional[str] = SinceOption, until: Optional[str] = UntilOption,
          fmt: Optional[Format] = FormatOption) -> None:
    """Articles and stories per day, source and language; rejected entries by reason."""
    def action():
        from newsmon.interface.stats import collect, render

        period = parse_when(since, "--since"), parse_when(until, "--until")
        check_database_exists(database_url())
        with session_scope() as session:
            report = collect(session, *period)
        render(report, _fmt(fmt))

    run_guarded(action)


class ExportFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


@app.command()
def export(
    fmt: Optional[ExportFormat] = typer.Option(None, "--format", "-f", help="csv, jsonl or parquet (default: from --out's extension; jsonl on stdout)"),
    out: Path = typer.Option(..., "--out", "-o", help="the file to write; - for stdout"),
    since: Optional[str] = SinceOption,
    until: Optional[str] = UntilOption,
    source: Optional[str] = typer.Option(None, "--source", help="source name"),
    lang: Optional[str] = typer.Option(None, "--lang", help="language code, e.g. ru"),
    saved: Optional[str] = typer.Option(None, "--saved", metavar="NAME", help="the articles of a saved search (`newsmon searches`)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Export articles (every field, story and duplicate links) for pandas, DuckDB, spreadsheets."""
    def action():
        from newsmon.interface.export import count_rows, export as write, format_for, progress_bar
        from newsmon.interface.query import Filters, check_filter_values

        target = None if str(out) == "-" else out
        kind = format_for(target, fmt.value if fmt else None)
        filters = Filters(since=parse_when(since, "--since"), until=parse_when(until, "--until"),
                          source=source, language=lang)
        if target:
            check_output_folder(target)
        check_database_exists(database_url())
        show_progress = target is not None and not quiet and sys.stderr.isatty()
        with session_scope() as session:
            query = None
            if saved:
                from newsmon.interface.saved import load

                search = load(session, saved)
                filters, query = search.combined(filters), search.query
            check_filter_values(session, filters)
            total = count_rows(session, filters, query) if show_progress else None
            with progress_bar(total, show_progress) as advance:
                try:
                    written = write(session, target, kind, filters, on_batch=advance, query=query)
                except OSError as error:
                    raise cannot_write(out, error) from None
        if show_progress:
            typer.echo(f"exported {written:,} articles to {out}", err=True)

    run_guarded(action)


def check_output_folder(out: Path) -> None:
    if not out.parent.is_dir():
        raise UserError(f"cannot write {out}: no such folder {out.parent}")


def cannot_write(out: Path, error: OSError) -> UserError:
    return UserError(f"cannot write {out}: {error.strerror or error}")


@app.command()
def plot(
    out: Path = typer.Option(..., "--out", "-o", help="the PNG file to write"),
    since: Optional[str] = SinceOption,
    until: Optional[str] = UntilOption,
    incident_map: bool = typer.Option(False, "--map", help="a map of the incidents by place and severity instead"),
) -> None:
    """Timeline chart: new stories per day by outlet country, escalation alerts marked by severity."""
    def action():
        from newsmon.interface.plot import NothingToPlot, plot as draw

        period = parse_when(since, "--since"), parse_when(until, "--until")
        check_output_folder(out)
        check_database_exists(database_url())
        with session_scope() as session:
            if incident_map:
                return cli_incidents.plot_map(session, out, *period)
            try:
                timeline = draw(session, out, *period)
            except NothingToPlot as error:
                raise UserError(str(error)) from None
            except OSError as error:
                raise cannot_write(out, error) from None
        typer.echo(f"wrote {out}: {sum(timeline.stories.values()):,} stories, "
                   f"{sum(timeline.alerts.values()):,} alerts")

    run_guarded(action)


@app.command()
def extract(paths: list[Path] = typer.Argument(..., help=".html or .html.gz files")) -> None:
    """Run the article extractor on saved pages; prints JSON Lines."""
    from newsmon.analysis.extract import extract_file

    for path in paths:
        if not path.is_file():
            fail(f"no such file: {path}")
        sys.stdout.write(json.dumps(extract_file(path), ensure_ascii=False) + "\n")


from newsmon.interface import cli_backfill  # noqa: E402  (it imports this module's helpers)

app.command("backfill")(cli_backfill.backfill)
from newsmon.interface import cli_sources  # noqa: E402,F401  (sources discover, rescore)
from newsmon.interface import cli_searches, cli_serve  # noqa: E402  (commands in modules of their own)

cli_searches.register(app)
cli_serve.register(app)
from newsmon.interface.cli_airflow import airflow_setup  # noqa: E402  (its own module, one hook)

app.command("airflow-setup")(airflow_setup)


def main() -> None:
    app()


from newsmon.interface import cli_incidents  # noqa: E402  (it builds on the helpers above)

app.add_typer(cli_incidents.app, name="incidents")

if __name__ == "__main__":
    main()
