"""`newsmon sources discover URL` and `newsmon rescore`: commands about what the sources bring."""
from __future__ import annotations

import sys
from enum import Enum
from typing import Optional

import typer
import yaml

from models.engine import database_url
from newsmon.interface import render as output
from newsmon.interface.cli import (Format, FormatOption, SinceOption, _fmt, app, check_database_exists, parse_when,
                                   run_guarded, sources_app)


class DiscoverFormat(str, Enum):
    yaml = "yaml"
    json = "json"


@sources_app.command("discover")
def discover(url: str = typer.Argument(..., help="a site's address, e.g. https://news.example/"),
             fmt: DiscoverFormat = typer.Option(DiscoverFormat.yaml, "--format", "-f", help="yaml or json")) -> None:
    """Find a site's feeds and sitemaps; print ready-to-paste sources.yaml entries."""
    def action():
        from newsmon.sources.discover import discover as find

        found = find(url)
        entries = found.sources_yaml_entries()
        if fmt == DiscoverFormat.json:
            output.render_object({"url": found.url, "feeds": [vars(f) for f in found.feeds],
                                  "sitemaps": found.sitemaps, "sources": entries}, "json")
            return
        typer.echo(f"{found.url}: {len(found.feeds)} feed(s), {len(found.sitemaps)} sitemap(s) "
                   f"({found.checked} URLs checked)", err=True)
        if not entries:
            raise typer.Exit(1)
        feeds = "".join(f"#   {f.url}: {f.entries} entries{f' ({f.title})' if f.title else ''}\n" for f in found.feeds)
        sys.stdout.write(f"# found by `newsmon sources discover {url}`: paste under `sources:`\n{feeds}"
                         + yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=120))

    run_guarded(action)


@app.command()
def rescore(since: Optional[str] = SinceOption,
            no_pages: bool = typer.Option(False, "--no-pages", help="do not fetch article pages: score the kept text"),
            fmt: Optional[Format] = FormatOption) -> None:
    """Apply the current topic.yaml to recently rejected entries; store those that pass now."""
    def action():
        from newsmon.sources.rescore import rescore as run

        check_database_exists(database_url())
        report = run(since=parse_when(since, "--since"), fetch_pages=not no_pages)
        output.render_rows(report.entries, _fmt(fmt), ["source", "title", "url", "status"],
                           title="entries that pass the topic now")
        summary = report.as_dict()
        typer.echo(f"{summary['examined']} kept entries examined: {summary['passing']} pass now, "
                   f"{summary['stored']} stored, {summary['still_rejected']} still rejected"
                   + (f", not stored: {summary['failed']}" if summary["failed"] else ""), err=True)

    run_guarded(action)
