"""`silence` alerts: configured in sources.yaml, raised once per silence, delivered like the others."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from sqlalchemy import select, update

from models import Alert, Source
from models.engine import session_scope
from newsmon.core.config import ConfigError, load_silence, load_sources
from newsmon.orchestrator import evaluate_alerts, raise_silence_alerts
from newsmon.sources.health import sync_sources
from newsmon.testing.loopback import LoopbackServer

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
SOURCES = [
    {"name": "mod-az-site", "kind": "rss", "url": "https://mod.gov.az/feed", "outlet": "mod-az", "country": "AZ"},
    {"name": "mod-az-telegram", "kind": "telegram", "channel": "mod_gov_az", "outlet": "mod-az", "country": "AZ"},
    {"name": "am-one", "kind": "rss", "url": "https://one.am/feed", "country": "AM"},
    {"name": "am-two", "kind": "rss", "url": "https://two.am/feed", "country": "AM"},
]


def write_sources(tmp_path, silence: dict | None) -> str:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": SOURCES} | ({"silence": silence} if silence else {})))
    return str(path)


def quiet_for(db_url, hours: dict[str, float]) -> None:
    with session_scope(db_url, write=True) as session:
        for name, h in hours.items():
            session.execute(update(Source).where(Source.name == name)
                            .values(last_new_item_at=NOW - timedelta(hours=h)))


def alerts(db_url) -> list[tuple]:
    with session_scope(db_url) as session:
        return [(a.severity, a.terms, a.message) for a in session.scalars(select(Alert).order_by(Alert.id))]


def test_an_outlet_is_quiet_only_when_all_its_sources_are_and_a_side_when_all_its_outlets_are(db_url, tmp_path):
    path = write_sources(tmp_path, {"outlets": ["mod-az"], "sides": ["AM"], "after": "6h"})
    with session_scope(db_url, write=True) as session:
        sync_sources(session, load_sources(path))
    quiet_for(db_url, {"mod-az-site": 8, "mod-az-telegram": 2, "am-one": 10, "am-two": 3})
    assert raise_silence_alerts(database_url=db_url, sources_file=path, now=NOW) == 0

    quiet_for(db_url, {"mod-az-telegram": 7, "am-two": 7})
    assert raise_silence_alerts(database_url=db_url, sources_file=path, now=NOW) == 2
    assert alerts(db_url) == [
        (1, ["mod-az"], "silence: outlet mod-az has brought no news since 2026-12-04 05:00 UTC (7 h)"),
        (2, ["one.am", "two.am"], "silence: every outlet of AM (2) has brought no news since 2026-12-04 05:00 UTC (7 h)"),
    ]
    assert raise_silence_alerts(database_url=db_url, sources_file=path, now=NOW + timedelta(hours=1)) == 0


def test_silence_is_off_by_default_and_delivered_when_on(db_url, tmp_path, monkeypatch):
    path = write_sources(tmp_path, None)
    with session_scope(db_url, write=True) as session:
        sync_sources(session, load_sources(path))
    quiet_for(db_url, {"mod-az-site": 30 * 24, "mod-az-telegram": 30 * 24, "am-one": 1, "am-two": 1})
    assert load_silence(path) is None and raise_silence_alerts(database_url=db_url, sources_file=path) == 0

    path = write_sources(tmp_path, {"outlets": "all"})     # no `after`: each source's own rhythm (14 days here)
    with LoopbackServer() as receiver:
        receiver.route("/hook", "ok", content_type="text/plain")
        monkeypatch.setenv("NEWSMON_WEBHOOK_URL", receiver.url + "/hook")
        report = evaluate_alerts(database_url=db_url, sources_file=path)
        posted = [json.loads(r.body) for r in receiver.requests if r.method == "POST"]
    assert report["by_kind"] == {"silence": 1} and report["delivered"] == {"webhook": 1}
    assert len(posted) == 1 and "outlet mod-az has brought no news" in posted[0]["text"]


@pytest.mark.parametrize("section, message", [
    ({"outlets": ["a"], "colour": 1}, "silence: unknown key 'colour'"),
    ({"after": "6h"}, "name 'outlets'"),
    ({"outlets": "mod-az"}, "silence.outlets: expected a list"),
    ({"sides": ["AM"], "after": "soon"}, "silence.after: expected a duration"),
])
def test_bad_silence_settings_are_one_line(tmp_path, section, message):
    with pytest.raises(ConfigError, match=message):
        load_silence(write_sources(tmp_path, section))
