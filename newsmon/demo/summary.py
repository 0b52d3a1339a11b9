"""What a user wants to see after a cycle: stored, collapsed, rejected, alerted, and where to look."""
from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from models import Alert, Article, FetchEvent, Sighting, Source, Story
from models.engine import session_scope


def print_summary(database_url: str, demo_dir: Path, console: Console) -> None:
    with session_scope(database_url) as session:
        console.print(_sources_table(session))
        console.print(_collapsed_line(session))
        console.print(_rejected_line(session))
        console.print(_alerts_table(session))
    chart = _plot(database_url, demo_dir / "timeline.png")
    database = database_url.removeprefix("sqlite:///")
    console.print(f"\n[bold]database[/bold]  {database}")
    console.print(f"[bold]chart[/bold]     {chart or 'not drawn (see ' + str(demo_dir / 'logs') + ')'}")
    console.print(f"[bold]try[/bold]       NEWSMON_DATABASE_URL=sqlite:///{database} .venv/bin/newsmon search Ganja")


def _sources_table(session) -> Table:
    stored = dict(session.execute(select(Sighting.source, func.count(func.distinct(Sighting.article_id)))
                                  .group_by(Sighting.source)).all())
    table = Table(title="sources", header_style="bold")
    for column in ("source", "kind", "status", "articles", "last error"):
        table.add_column(column, overflow="fold")
    for source in session.scalars(select(Source).order_by(Source.name)):
        status = f"[red]{source.status}[/red]" if source.status == "error" else source.status
        table.add_row(source.name, source.kind, status, str(stored.get(source.name, 0)), source.last_error or "")
    return table


def _collapsed_line(session) -> str:
    articles = session.scalar(select(func.count(Article.id)))
    stories = session.scalar(select(func.count(Story.id)))
    near = session.scalar(select(func.count(Article.id)).where(Article.duplicate_of.is_not(None)))
    exact = session.scalar(select(func.count(Sighting.id))) - articles
    return (f"\n[bold]{articles}[/bold] articles in [bold]{stories}[/bold] stories: "
            f"{near} near-duplicate copies linked to their story, {exact} exact duplicates kept as sightings")


def _rejected_line(session) -> str:
    reasons: Counter = Counter()
    for rejected in session.scalars(select(FetchEvent.rejected_reasons)):
        reasons.update(rejected or {})
    listed = ", ".join(f"{reason}: {count}" for reason, count in reasons.most_common()) or "none"
    return f"rejected entries: {listed}"


def _alerts_table(session) -> Table:
    table = Table(title="alerts (newsmon alerts shows terms, places and delivery)", header_style="bold")
    for column in ("sev", "kind", "message"):
        table.add_column(column, overflow="fold")
    for alert in session.scalars(select(Alert).order_by(Alert.severity.desc(), Alert.id)):
        table.add_row(str(alert.severity), alert.kind, alert.message)
    return table


def _plot(database_url: str, out: Path) -> Path | None:
    env = {**os.environ, "NEWSMON_DATABASE_URL": database_url}
    result = subprocess.run([sys.executable, "-m", "newsmon", "plot", "--out", str(out)], env=env,
                            capture_output=True, text=True)
    return out if result.returncode == 0 and out.exists() else None
