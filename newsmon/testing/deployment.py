"""A real Airflow deployment for tests and benchmarks, started the way deploy/ starts one.

``AirflowDeployment`` creates a PostgreSQL database for Airflow's metadata and
one for newsmon (neither migrated: `newsmon airflow-setup` in deploy/start-airflow
does it), picks free ports, runs deploy/start-airflow (scheduler, dag-processor,
api-server) and, for the CeleryExecutor, deploy/start-worker once per worker
with a Redis database of its own as broker. It talks to Airflow through its REST
API. On exit every process group is killed and both databases are dropped, also
when the test failed. Logs stay in the work directory.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from models.engine import PROJECT_ROOT

PG_URL = os.environ.get("NEWSMON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("NEWSMON_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
DEPLOY = PROJECT_ROOT / "deploy"
FINISHED = {"success", "failed"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _admin_dsn() -> str:
    url = make_url(PG_URL).set(drivername="postgresql", database="postgres", query={})
    return url.render_as_string(hide_password=False)


def database_url(name: str) -> str:
    """The SQLAlchemy URL of database `name` on the test PostgreSQL server."""
    return make_url(PG_URL).set(database=name, query={}).render_as_string(hide_password=False)


def create_databases(*names: str) -> None:
    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        for name in names:
            connection.execute(f'CREATE DATABASE "{name}"')


def drop_databases(*names: str) -> None:
    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        for name in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class AirflowAPI:
    """Airflow's REST API as an operator uses it: log in as admin, unpause, trigger, watch."""

    def __init__(self, base_url: str, airflow_home: Path):
        self.airflow_home = Path(airflow_home)
        self.client = httpx.Client(base_url=base_url, timeout=60)

    def login(self) -> None:
        passwords = self.airflow_home / "simple_auth_manager_passwords.json.generated"
        password = json.loads(passwords.read_text())["admin"]
        token = self.client.post("/auth/token", json={"username": "admin", "password": password})
        token.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def healthy(self) -> bool:
        try:
            health = self.client.get("/api/v2/monitor/health").json()
        except (httpx.HTTPError, ValueError):
            return False
        return all(health.get(part, {}).get("status") == "healthy"
                   for part in ("metadatabase", "scheduler", "dag_processor"))

    def api(self, method: str, path: str, **kwargs) -> dict:
        response = self.client.request(method, f"/api/v2{path}", **kwargs)
        response.raise_for_status()
        return response.json()

    def unpause(self, *dag_ids: str) -> None:
        for dag_id in dag_ids:
            self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 600) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in FINISHED:
                return state
            time.sleep(2)
        raise TimeoutError(f"{dag_id} run {run_id} not finished within {timeout:.0f}s")

    def runs(self, dag_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]

    def wait_for_runs(self, dag_id: str, count: int, timeout: float = 600, **match) -> list[dict]:
        """Wait until `count` finished runs of the DAG match (e.g. run_type="asset_triggered")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = [r for r in self.runs(dag_id) if r["state"] in FINISHED
                    and all(r.get(key) == value for key, value in match.items())]
            if len(runs) >= count:
                return runs
            time.sleep(2)
        raise TimeoutError(f"fewer than {count} finished {dag_id} runs matching {match} in {timeout:.0f}s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                        params={"limit": 1000})["task_instances"]


class AirflowDeployment(AirflowAPI):
    def __init__(self, workdir: Path, sources_file: Path, *, executor: str = "LocalExecutor", workers: int = 0,
                 worker_concurrency: int = 2, extra_env: dict[str, str] | None = None):
        self.workdir = Path(workdir)
        self.executor, self.workers, self.worker_concurrency = executor, workers, worker_concurrency
        suffix = secrets.token_hex(4)
        self.databases = {"airflow": f"airflow_{suffix}", "newsmon": f"newsmon_{suffix}"}
        self.api_port = free_port()
        self.env = {
            **os.environ, **(extra_env or {}),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.workdir / "airflow"),
            "NEWSMON_AIRFLOW_DB": database_url(self.databases["airflow"]),
            "NEWSMON_DATABASE_URL": database_url(self.databases["newsmon"]),
            "NEWSMON_SOURCES": str(sources_file),
            "NEWSMON_JWT_SECRET": secrets.token_urlsafe(64),
            "NEWSMON_EXECUTOR": executor,
            "NEWSMON_API_PORT": str(self.api_port),
            "NEWSMON_LOG_PORT": str(free_port()),
            "NEWSMON_CELERY_BROKER": REDIS_URL,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        }
        self.processes: list[subprocess.Popen] = []
        super().__init__(f"http://127.0.0.1:{self.api_port}", self.workdir / "airflow")

    @property
    def newsmon_url(self) -> str:
        return self.env["NEWSMON_DATABASE_URL"]

    # --- lifetime ---------------------------------------------------------------

    def __enter__(self) -> "AirflowDeployment":
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            create_databases(*self.databases.values())
            self._flush_broker()
            self._start("airflow", [str(DEPLOY / "start-airflow")], self.env)
            self._wait_healthy(timeout=600)
            for number in range(1, self.workers + 1):
                self._start(f"worker{number}", [str(DEPLOY / "start-worker")],
                            {**self.env, "NEWSMON_HOSTNAME": f"worker{number}", "NEWSMON_LOG_PORT": str(free_port()),
                             "NEWSMON_WORKER_CONCURRENCY": str(self.worker_concurrency)})
            self.login()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.client.close()
        self._flush_broker()
        drop_databases(*self.databases.values())

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = (self.workdir / f"{name}.log").open("w")
        self.processes.append(subprocess.Popen(args, env=env, cwd=PROJECT_ROOT, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True))

    def _flush_broker(self) -> None:
        if self.executor == "CeleryExecutor":
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[0].poll() is not None:
                raise RuntimeError(f"deploy/start-airflow ended: {self.log_tail('airflow')}")
            if self.healthy():
                return
            time.sleep(2)
        raise TimeoutError(f"Airflow not healthy within {timeout:.0f}s: {self.log_tail('airflow')}")

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.workdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
