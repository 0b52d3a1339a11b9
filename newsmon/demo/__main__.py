"""`make demo`: one real monitoring cycle, offline, through Airflow.

Serves the bundled snapshot of sources on 127.0.0.1, prepares an Airflow home
under var/airflow (SQLite metadata DB, no examples), runs `newsmon_feeds`,
`newsmon_sites` and `newsmon_alerts` with `airflow dags test`, then prints what
was stored, collapsed, rejected and alerted, and where to look next. The demo
database (var/demo/newsmon.db) is made anew on every run.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from models.engine import PROJECT_ROOT
from newsmon.demo import snapshot

VAR = PROJECT_ROOT / "var"
DEMO_DIR = VAR / "demo"
AIRFLOW_HOME = VAR / "airflow"
DAG_RUNS = ("newsmon_feeds", "newsmon_sites", "newsmon_alerts")
console = Console(highlight=False)


def airflow_env(extra: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    }


def run_logged(args: list[str], env: dict[str, str], log: Path) -> None:
    """Run a command with its output in a log file; on failure show the log's tail and stop."""
    with log.open("w") as handle:
        result = subprocess.run(args, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    if result.returncode != 0 or _task_failed(log):
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-25:])
        console.print(f"[red]failed:[/red] {' '.join(args[:4])} (log: {log})\n{tail}")
        raise SystemExit(1)


def _task_failed(log: Path) -> bool:
    text = log.read_text(errors="replace")
    return "state=failed" in text or "Task failed" in text


def prepare_airflow(env: dict[str, str]) -> None:
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    airflow = shutil.which("airflow", path=env["PATH"])
    run_logged([airflow, "db", "migrate"], env, DEMO_DIR / "logs" / "airflow-db-migrate.log")
    run_logged([airflow, "pools", "set", "newsmon_http", "4", "concurrent HTTP work of newsmon"], env,
               DEMO_DIR / "logs" / "airflow-pools.log")


def main() -> int:
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    (DEMO_DIR / "logs").mkdir(parents=True)
    database = DEMO_DIR / "newsmon.db"
    with snapshot.served(DEMO_DIR) as (sources_file, server):
        console.print(f"[bold]newsmon demo[/bold]: offline snapshot of {len(_names(sources_file))} sources "
                      f"served at {server.url}")
        # No task retries in the demo: a failure shows at once instead of after minutes of backoff.
        env = airflow_env({"NEWSMON_DATABASE_URL": f"sqlite:///{database}", "NEWSMON_SOURCES": str(sources_file),
                           "NEWSMON_TASK_RETRIES": "0"})
        _newsmon(["db", "upgrade"], env)
        console.print("preparing Airflow (var/airflow, SQLite metadata DB) ...")
        prepare_airflow(env)
        for dag_id in DAG_RUNS:
            console.print(f"airflow dags test {dag_id} ...")
            run_logged([shutil.which("airflow", path=env["PATH"]), "dags", "test", dag_id], env,
                       DEMO_DIR / "logs" / f"{dag_id}.log")
    from newsmon.demo.summary import print_summary

    print_summary(f"sqlite:///{database}", DEMO_DIR, console)
    return 0


def _newsmon(args: list[str], env: dict[str, str]) -> None:
    run_logged([sys.executable, "-m", "newsmon", *args], env, DEMO_DIR / "logs" / f"newsmon-{args[0]}.log")


def _names(sources_file: Path) -> list[str]:
    from newsmon.core.config import load_sources

    return [s.name for s in load_sources(sources_file)]


if __name__ == "__main__":
    sys.exit(main())
