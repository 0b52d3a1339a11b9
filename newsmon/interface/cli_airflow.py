"""`newsmon airflow-setup`: everything the DAGs need before a scheduler runs them.

newsmon never imports Airflow, so this drives the `airflow` command of the
environment it runs in (the same AIRFLOW_HOME and AIRFLOW__* variables the
scheduler gets): migrate Airflow's metadata DB, create the `newsmon_http` pool
(without it the scheduler never runs a mapped task), point the connection
`newsmon_db` at newsmon's database after migrating that one, and serialize the
DAGs so they can be triggered before the dag-processor's first pass. Every
step is idempotent: run it again after an upgrade or a change of database.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import typer

from models.engine import database_url
from newsmon.core.errors import NewsmonError

HTTP_POOL = "newsmon_http"
CONNECTION = "newsmon_db"


class AirflowSetupError(NewsmonError):
    """A step of the set-up failed; shown as one line."""


def airflow_setup(
    newsmon_database: str = typer.Option(None, "--database-url",
                                         help="newsmon's database (default: NEWSMON_DATABASE_URL, then SQLite)"),
    pool_slots: int = typer.Option(4, "--pool-slots", min=1, help="HTTP tasks that may run at once"),
    connection: bool = typer.Option(True, "--connection/--no-connection",
                                    help="store the database URL in the Airflow connection newsmon_db"),
    reserialize: bool = typer.Option(True, "--reserialize/--no-reserialize",
                                     help="serialize the DAGs now (needed to trigger before the dag-processor runs)"),
) -> None:
    """Prepare Airflow for newsmon: metadata DB, pool, newsmon_db connection and schema, DAGs."""
    from newsmon.interface.cli import describe_database, run_guarded
    from newsmon.storage.migrate import upgrade

    url = database_url(newsmon_database)

    def action() -> None:
        airflow = _airflow_command()
        revision = upgrade(url)
        typer.echo(f"newsmon database {describe_database(url)} is at revision {revision}")
        _run(airflow, ["db", "migrate"], "Airflow metadata database migrated")
        _run(airflow, ["pools", "set", HTTP_POOL, str(pool_slots), "concurrent HTTP work of newsmon"],
             f"pool {HTTP_POOL}: {pool_slots} slots")
        if connection:
            _set_connection(airflow, url)
            typer.echo(f"connection {CONNECTION} -> {describe_database(url)}")
        if reserialize:
            _run(airflow, ["dags", "reserialize"], "DAGs serialized")

    run_guarded(action)


def _airflow_command() -> str:
    """The `airflow` next to this interpreter (the project's venv), else the one on PATH."""
    found = shutil.which("airflow", path=str(Path(sys.executable).parent)) or shutil.which("airflow")
    if not found:
        raise AirflowSetupError("the `airflow` command is not installed here: run `pip install -e .`")
    return found


def _run(airflow: str, args: list[str], done: str, check: bool = True) -> bool:
    result = subprocess.run([airflow, *args], capture_output=True, text=True)
    if result.returncode != 0 and check:
        lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        raise AirflowSetupError(f"`airflow {' '.join(args[:2])}` failed: {lines[-1] if lines else 'no output'}")
    if done:
        typer.echo(done)
    return result.returncode == 0


def _set_connection(airflow: str, url: str) -> None:
    """Replace the connection: `connections add` refuses an existing id, so delete it first."""
    _run(airflow, ["connections", "delete", CONNECTION], "", check=False)
    _run(airflow, ["connections", "add", CONNECTION, "--conn-type", "generic",
                   "--conn-extra", json.dumps({"sqlalchemy_url": url})], "")
