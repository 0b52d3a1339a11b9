"""`make airflow` on a fresh clone: newsmon airflow-setup, then `airflow standalone`; triggering
newsmon_feeds (through the REST API) stores articles. The clone uses this environment's packages
(VENV and STAMP on make's command line) instead of installing them again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import Article
from models.engine import PROJECT_ROOT, make_engine, session_scope
from newsmon.testing import snapshot
from newsmon.testing.deployment import AirflowAPI, free_port

GOOD_FEEDS = list(snapshot.EXPECTED["feed_entries"])


@pytest.mark.skipif(not (PROJECT_ROOT / ".git").exists(), reason="not a git checkout: nothing to clone")
def test_make_airflow_on_a_fresh_clone_then_trigger_stores_articles(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(clone)], check=True, timeout=120)
    stamp = tmp_path / "installed-stamp"
    stamp.touch()   # newer than the clone's pyproject.toml: make installs nothing
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "NEWSMON_"))}
    with snapshot.served(tmp_path) as (sources, _server):
        env.update(PYTHONPATH=str(clone), NEWSMON_SOURCES=str(sources), AIRFLOW__API__PORT=str(port),
                   AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://localhost:{port}/execution/")
        log = (tmp_path / "make-airflow.log").open("w")
        make = subprocess.Popen(["make", "airflow", f"VENV={Path(sys.executable).parent.parent}", f"STAMP={stamp}"],
                                cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        api = AirflowAPI(f"http://127.0.0.1:{port}", clone / "var" / "airflow")
        try:
            deadline = time.monotonic() + 600
            while not api.healthy():
                log_text = (tmp_path / "make-airflow.log").read_text()
                assert make.poll() is None and time.monotonic() < deadline, log_text[-3000:]
                time.sleep(3)
            api.login()
            api.unpause("newsmon_feeds")
            run_id = api.trigger("newsmon_feeds", {"sources": GOOD_FEEDS})
            assert api.wait_run("newsmon_feeds", run_id) == "success"
        finally:
            os.killpg(make.pid, signal.SIGTERM)
            make.wait(timeout=60)
            api.client.close()
    url = f"sqlite:///{clone / 'var' / 'newsmon.db'}"
    with session_scope(url) as session:
        stored = session.scalar(select(func.count(Article.id)))
    make_engine(url).dispose()
    assert stored >= sum(snapshot.EXPECTED["feed_entries"].values()) - len(snapshot.EXPECTED["irrelevant"])
