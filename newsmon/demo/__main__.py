"""`make demo`: one real monitoring cycle, offline, through Airflow.

Serves the bundled snapshot of sources on 127.0.0.1, prepares an Airflow home
under var/airflow (SQLite metadata DB, no examples), runs `newsmon_feeds`,
`newsmon_sites` and `newsmon_alerts` with `airflow dags test`, then prints what
was stored, collapsed, rejected and alerted, and where to look next. The demo
database (var/demo/newsmon.db) is made anew on every run.
"""
from __future__ import annotations

import os
import re
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


def run_logged(args: list[str], env: dict[str, str], log: Path, sources_may_fail: bool = False) -> None:
    """Run a command with its output in a log file; on failure show the log's tail and stop.

    In an ingestion DAG a failing source fails its own task (and so the run): with
    sources_may_fail that is reported, not fatal; the summary shows each source's error."""
    with log.open("w") as handle:
        result = subprocess.run(args, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    text = log.read_text(errors="replace")
    failed_sources = re.findall(r"AirflowFailException: \d+ of \d+ sources failed: (.*)", text)
    if sources_may_fail and failed_sources and len(failed_sources) == text.count("new_state=failed"):
        console.print("  [yellow]failed task[/yellow] (a broken source, as Airflow shows it): "
                      + "; ".join(failed_sources))
        return
    if result.returncode != 0 or "state=failed" in text or "Task failed" in text:
        tail = "".join(text.splitlines(keepends=True)[-25:])
        console.print(f"[red]failed:[/red] {' '.join(args[:4])} (log: {log})\n{tail}")
        raise SystemExit(1)


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
        console.print("preparing Airflow (var/airflow, SQLite metadata DB): newsmon airflow-setup ...")
        AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
        _newsmon(["airflow-setup", "--no-reserialize"], env)
        for dag_id in DAG_RUNS:
            console.print(f"airflow dags test {dag_id} ...")
            run_logged([shutil.which("airflow", path=env["PATH"]), "dags", "test", dag_id], env,
                       DEMO_DIR / "logs" / f"{dag_id}.log", sources_may_fail=dag_id != "newsmon_alerts")
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
