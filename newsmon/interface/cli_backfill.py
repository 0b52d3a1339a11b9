"""`newsmon backfill`: ingest a past period; its alerts are recorded as historical, never delivered."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from models.engine import session_scope
from newsmon.interface import render as output
from newsmon.interface.cli import Format, UserError, _fmt, parse_when, run_guarded


class Origin(str, Enum):
    sitemaps = "sitemaps"
    wayback = "wayback"
    warc = "warc"
    urls = "urls"


def backfill(
    since: str = typer.Option(..., "--since", help="first day of the period (2020-09-27)"),
    until: str = typer.Option(..., "--until", help="end of the period, exclusive (2020-11-10)"),
    source: Optional[list[str]] = typer.Option(None, "--source", help="only this source (repeatable)"),
    origin: Origin = typer.Option(Origin.sitemaps, "--from", help="sitemaps, wayback, warc or urls"),
    inputs: Optional[list[Path]] = typer.Option(None, "--input", help="a WARC file (--from warc) or "
                                                "URL list (--from urls); repeatable"),
    delay: float = typer.Option(1.0, "--delay", min=0, help="seconds between two requests to one host"),
    sources_file: Optional[Path] = typer.Option(None, "--sources", help="sources.yaml to use"),
    fmt: Optional[Format] = typer.Option(None, "--format", "-f", help="table, json or csv"),
) -> None:
    """Ingest a past period through the same path as the news (resumable: run it again after a kill)."""
    def action():
        from newsmon.alerting.rules import evaluate
        from newsmon.core.config import load_sources
        from newsmon.orchestrator import check_topic_and_lexicon
        from newsmon.storage.migrate import upgrade
        from newsmon.sources.backfill import Period, backfill as run

        period = Period(parse_when(since, "--since"), parse_when(until, "--until"))
        configs = [s for s in load_sources(sources_file) if not source or s.name in source]
        unknown = sorted(set(source or ()) - {s.name for s in configs})
        if unknown:
            raise UserError(f"--source: no source named {', '.join(map(repr, unknown))}")
        check_topic_and_lexicon()
        upgrade()   # idempotent: a first backfill into a new database just works
        report = run(period, origin.value, configs, inputs=inputs or (), delay=delay)
        with session_scope(write=True) as session:   # history raises history: recorded, never delivered
            alerts = evaluate(session)
        summary = {**report.as_dict(), "alerts": len(alerts),
                   "historical_alerts": sum(1 for alert in alerts if alert.historical)}
        output.render_object(summary, _fmt(fmt))

    run_guarded(action)
