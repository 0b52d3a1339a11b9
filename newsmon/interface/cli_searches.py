"""`newsmon searches`: the saved searches (`newsmon search ... --save NAME` saves one)."""
from __future__ import annotations

from typing import Optional

import typer

from models.engine import database_url, session_scope

searches_app = typer.Typer(help="Saved searches: list them (default) or delete one. "
                                "Save one with `newsmon search ... --save NAME`.")


def register(app: typer.Typer) -> None:
    app.add_typer(searches_app, name="searches")


def save_search(name: str, query: str | None, options: dict, *, alert: bool) -> None:
    from newsmon.storage import saved_searches

    with session_scope(write=True) as session:
        saved_searches.save(session, name, query, options, alert=alert)
    typer.echo(f"saved search {name!r}" + (" (new matches raise alerts)" if alert else ""), err=True)


@searches_app.callback(invoke_without_command=True)
def searches(ctx: typer.Context,
             fmt: Optional[str] = typer.Option(None, "--format", "-f", help="table, json or csv")) -> None:
    """List the saved searches."""
    if ctx.invoked_subcommand:
        return
    from newsmon.interface import render as output
    from newsmon.interface.cli import UserError, check_database_exists, run_guarded
    from newsmon.storage.saved_searches import listing

    def action():
        if fmt not in (None, *output.FORMATS):
            raise UserError(f"--format: one of {', '.join(output.FORMATS)}, not {fmt!r}")
        check_database_exists(database_url())
        with session_scope() as session:
            rows = listing(session)
        output.render_rows(rows, fmt or output.default_format(), ["name", "query", "filters", "alert", "updated_at"],
                           title="saved searches", fields=["name", "query", "filters", "alert", "created_at",
                                                           "updated_at"])

    run_guarded(action)


@searches_app.command("delete")
def delete(name: str = typer.Argument(..., help="the saved search to delete")) -> None:
    """Delete a saved search (its feed and alert channel stop)."""
    from newsmon.interface.cli import check_database_exists, run_guarded
    from newsmon.storage.saved_searches import remove

    def action():
        check_database_exists(database_url())
        with session_scope(write=True) as session:
            remove(session, name)
        typer.echo(f"deleted saved search {name!r}", err=True)

    run_guarded(action)
