"""`newsmon sources --check` against the offline snapshot served on 127.0.0.1."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from newsmon.testing import snapshot


def test_sources_check_reports_reachable_valid_and_articles(snapshot_served):
    sources, _server = snapshot_served
    config = yaml.safe_load(sources.read_text(encoding="utf-8"))
    config["sources"].append({"name": "gone", "kind": "rss", "url": "http://127.0.0.1:1/feed"})
    sources.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "newsmon", "sources", "--check", "--sources", str(sources),
                             "--format", "json"], capture_output=True, text=True, timeout=120, env=os.environ)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    for name, entries in snapshot.EXPECTED["feed_entries"].items():
        assert rows[name]["reachable"] and rows[name]["feed_valid"] is True
        assert rows[name]["articles_found"] == entries
    broken = rows[snapshot.EXPECTED["broken_sources"][0]]
    assert broken["reachable"] and broken["feed_valid"] is False and "not a feed" in broken["error"]
    assert rows["caucasus-monitor"]["reachable"] and rows["caucasus-monitor"]["articles_found"] > 0
    assert rows["gone"]["reachable"] is False and rows["gone"]["error"]
