"""Outlets: the feeds and channels of one organisation, from sources.yaml to stats and exports."""
from __future__ import annotations

import csv

import yaml
from sqlalchemy import select

from models import Source
from models.engine import session_scope
from newsmon.core.config import OUTLET_TYPES, load_sources, sources_path
from newsmon.core.records import ArticleRecord
from newsmon.interface.export import export
from newsmon.interface.stats import collect
from newsmon.sources.health import sync_sources
from newsmon.storage.ingest import Pipeline

SOURCES = {"sources": [
    {"name": "mod-am-site", "kind": "rss", "url": "https://mil.am/feed", "outlet": "mod-am", "country": "AM",
     "outlet_type": "official"},
    {"name": "mod-am-telegram", "kind": "telegram", "channel": "mod_test_am", "outlet": "mod-am", "country": "AM",
     "outlet_type": "official"},
    {"name": "wire", "kind": "rss", "url": "https://www.wire.example/rss", "country": "INT"},
]}
TEXT = ("Azerbaijani forces opened fire on Armenian positions near Nagorno-Karabakh overnight, "
        "the defence ministry said. Report number {n}.")


def test_outlets_group_sources_in_stats_and_exports(db_url, tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(SOURCES))
    configs = load_sources(path)
    assert [c.outlet for c in configs] == ["mod-am", "mod-am", "wire.example"]
    records = [ArticleRecord(url=f"https://example.org/{source}/{n}", source=source, title=f"Shelling report {n}",
                             text=TEXT.format(n=n), language="en")
               for n, source in enumerate(["mod-am-site", "mod-am-telegram", "mod-am-telegram", "wire"])]
    with session_scope(db_url, write=True) as session:
        sync_sources(session, configs)
        assert Pipeline().ingest(session, records).stored == 4
        assert session.scalar(select(Source.settings).where(Source.name == "wire"))["outlet"] == "wire.example"
    with session_scope(db_url) as session:
        report = collect(session)
        export(session, tmp_path / "out.csv", "csv")
    assert report["per_outlet"] == [{"outlet": "mod-am", "articles": 3, "stories": 3},
                                    {"outlet": "wire.example", "articles": 1, "stories": 1}]
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as handle:
        rows = {row["source"]: row for row in csv.DictReader(handle)}
    assert {name: (row["outlet"], row["source_country"], row["outlet_type"]) for name, row in rows.items()} == {
        "mod-am-site": ("mod-am", "AM", "official"), "mod-am-telegram": ("mod-am", "AM", "official"),
        "wire": ("wire.example", "INT", "")}


def test_the_shipped_sources_name_outlets_and_official_channels():
    sources = load_sources(sources_path())
    outlets = {s.outlet for s in sources}
    channels = [s for s in sources if s.kind == "telegram"]
    assert all(s.outlet_type in OUTLET_TYPES and s.country for s in sources)
    assert len(channels) >= 6 and all(s.url.startswith("https://t.me/s/") for s in channels)
    official = {s.outlet for s in sources if s.outlet_type == "official"}
    assert {"mod-am", "mod-az", "mfa-am", "mfa-az"} <= official
    # an outlet with a site and a channel is one outlet: e.g. the Armenian defence ministry
    assert {s.kind for s in sources if s.outlet == "mod-am"} >= {"telegram"}
    assert len(outlets) < len(sources)
