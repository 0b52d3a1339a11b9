"""Rendering command output: a Rich table on a terminal, JSON or CSV for programs."""
from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any, Iterable, Sequence

from rich.console import Console
from rich.table import Table

from newsmon.core.jsonable import to_jsonable

FORMATS = ("table", "json", "csv")   # what every listing takes with --format


def default_format() -> str:
    return "table" if sys.stdout.isatty() else "json"


def render_rows(rows: Sequence[dict], fmt: str, columns: Sequence[str], title: str | None = None,
                fields: Sequence[str] | None = None) -> None:
    """Print a listing in the chosen format; `columns` picks what a table shows, `fields` heads an empty CSV."""
    if fmt == "json":
        _print_json([to_jsonable(row) for row in rows])
    elif fmt == "csv":
        sys.stdout.write(rows_to_csv(rows, fields))
    else:
        _print_table(rows, columns, title)


def render_object(obj: dict, fmt: str) -> None:
    if fmt == "json":
        _print_json(to_jsonable(obj))
    elif fmt == "csv":
        sys.stdout.write(rows_to_csv([obj]))
    else:
        table = Table(show_header=False, box=None)
        for key, value in obj.items():
            table.add_row(f"[bold]{key}[/bold]", _cell(value, width=None))
        Console().print(table)


def rows_to_csv(rows: Iterable[dict], fields: Sequence[str] | None = None) -> str:
    rows = list(rows)
    if not rows and not fields:
        return ""
    buffer = io.StringIO()
    # RFC 4180 line ends: the csv module quotes a cell holding any character of the line
    # terminator, and a title with a bare CR must be quoted, not split into two rows.
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else list(fields), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: csv_cell(value) for key, value in row.items()})
    return buffer.getvalue()


# A spreadsheet runs a cell that begins with one of these as a formula: a hostile feed could
# put =HYPERLINK(...) into an analyst's sheet. OWASP's advice: prefix such text cells with '.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: lists and objects as JSON, text that a spreadsheet would run defused."""
    value = to_jsonable(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _print_table(rows: Sequence[dict], columns: Sequence[str], title: str | None) -> None:
    console = Console()
    if not rows:
        console.print("[dim]nothing to show[/dim]")
        return
    table = Table(title=title, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    console.print(table)


def _cell(value: Any, width: int | None = 80) -> str:
    value = to_jsonable(value)
    if value is None:
        return "[dim]-[/dim]"
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    text = str(value).replace("[", r"\[")
    return text if width is None or len(text) <= width else text[: width - 1] + "…"
