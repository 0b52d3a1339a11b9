"""`newsmon incidents`: one record per act of violence; `incidents show ID`: its reports side by side."""
from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from models.engine import database_url, session_scope
from newsmon.core.jsonable import to_jsonable
from newsmon.interface import render as output
from newsmon.interface.cli import (
    Format, FormatOption, SinceOption, UntilOption, UserError, _fmt, cannot_write, check_database_exists, parse_when,
    run_guarded,
)

app = typer.Typer(no_args_is_help=False, help="Incidents: one record per act of violence across outlets and languages.")


class IncidentFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    geojson = "geojson"
    acled = "acled"


class Status(str, Enum):
    claimed = "claimed"
    disputed = "disputed"
    corroborated = "corroborated"


TABLE_COLUMNS = ["id", "event_date", "type", "place", "status", "severity", "killed", "wounded", "reports",
                 "denials", "languages"]


@app.callback(invoke_without_command=True)
def incidents(
    context: typer.Context,
    since: Optional[str] = SinceOption,
    until: Optional[str] = UntilOption,
    place: Optional[str] = typer.Option(None, "--place", help="a place in any of its names (Khankendi, Ганджа, ...)"),
    status: Optional[Status] = typer.Option(None, "--status", help="claimed, disputed or corroborated"),
    min_severity: int = typer.Option(1, "--min-severity", min=1, max=3, help="1 low .. 3 high"),
    limit: int = typer.Option(100, "--limit", min=1, help="at most this many incidents"),
    fmt: Optional[IncidentFormat] = typer.Option(
        None, "--format", "-f", help="table (default on a terminal), json, csv, geojson or acled (ACLED-style CSV)"),
) -> None:
    """Incidents by event day, latest first (filters select by event day)."""
    if context.invoked_subcommand is not None:
        return

    def action():
        from newsmon.interface.incidents import IncidentFilters, count_incidents, list_incidents

        filters = IncidentFilters(since=parse_when(since, "--since"), until=parse_when(until, "--until"),
                                  place=gazetteer_name(place), status=status.value if status else None,
                                  min_severity=min_severity)
        check_database_exists(database_url())
        with session_scope() as session:
            rows = list_incidents(session, filters, limit)
            total = count_incidents(session, filters) if len(rows) == limit else len(rows)
        render(rows, fmt.value if fmt else output.default_format())
        if total > len(rows):
            typer.echo(f"newsmon: showing {len(rows):,} of {total:,} incidents: use --limit or narrow the filters",
                       err=True)

    run_guarded(action)


def gazetteer_name(place: str | None) -> str | None:
    """The gazetteer place a name means, in any language or alias; a name it lacks is a user error."""
    if not place:
        return None
    from newsmon.alerting.rules import default_lexicon

    found = default_lexicon().places(place)
    if not found:
        raise UserError(f"--place: {place!r} is not a place in the gazetteer (config/escalation.yaml)")
    return found[0].name


def render(rows: list[dict], fmt: str) -> None:
    from newsmon.interface.incidents import acled_rows, geojson, table_rows

    if fmt == "geojson":
        sys.stdout.write(json.dumps(to_jsonable(geojson(rows)), ensure_ascii=False, indent=2) + "\n")
    elif fmt == "acled":
        sys.stdout.write(output.rows_to_csv(acled_rows(rows)))
    elif fmt == "csv":
        sys.stdout.write(output.rows_to_csv(table_rows(rows)))
    elif fmt == "json":
        output.render_rows(rows, "json", [])
    else:
        output.render_rows(table_rows(rows), "table", TABLE_COLUMNS, title="incidents")


@app.command("show")
def show(incident_id: int = typer.Argument(..., help="incident id"), fmt: Optional[Format] = FormatOption) -> None:
    """One incident with its reports side by side: outlet, side, language, evidence sentence, why it was linked."""
    def action():
        from newsmon.interface.incidents import incident_detail

        check_database_exists(database_url())
        with session_scope() as session:
            incident = incident_detail(session, incident_id)
        if _fmt(fmt) == "table":
            print_incident(incident)
        else:
            output.render_object(incident, _fmt(fmt))

    run_guarded(action)


def print_incident(incident: dict) -> None:
    console = Console()
    place = incident["place"]
    console.print(f"[bold]incident {incident['id']}[/bold]: {incident['acled_sub_event_type']} at {place['name']} "
                  f"({place['country']}, {place['precision']}) on {incident['event_date']} "
                  f"({incident['date_precision']}) · status [bold]{incident['status']}[/bold] · severity "
                  f"{incident['severity']} · attacking side {incident['actor'] or '-'}")
    for name, figures in incident["casualties"].items():
        sources = ", ".join(f"{f['figure']} ({f['outlet']}, article {f['article_id']})" for f in figures["reports"])
        console.print(f"{name}: {figures['min']}–{figures['max']}: {sources}")
    table = Table(header_style="bold", show_lines=True)
    for column in ("article", "role", "outlet", "side", "lang", "reported", "evidence", "linked because"):
        table.add_column(column, overflow="fold")
    for report in incident["reports"] + incident["denials"]:
        table.add_row(str(report["article_id"]), report["role"], report["outlet"] or report["source"],
                      report["side"] or "-", report["language"] or "-", f"{report['reported_at']:%Y-%m-%d %H:%M}",
                      report["evidence"].replace("[", r"\["), report["link_reason"])
    console.print(table)


def plot_map(session, out, since, until) -> None:
    """`newsmon plot --map`."""
    from newsmon.interface.incident_map import NoIncidents, plot_map as draw

    try:
        drawn = draw(session, out, since, until)
    except NoIncidents as error:
        raise UserError(str(error)) from None
    except OSError as error:
        raise cannot_write(out, error) from None
    typer.echo(f"wrote {out}: {drawn:,} incidents")
