"""`newsmon incidents` (table, json, csv, geojson, acled), `incidents show`, `plot --map`, run as a user would."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from incident_eval import build
from test_incidents import add_outlets, store_and_evaluate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def incidents_db(sqlite_url):
    corpus = build(incidents=12)
    add_outlets(sqlite_url)
    store_and_evaluate(sqlite_url, corpus)
    return sqlite_url


def newsmon(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEWSMON_DATABASE_URL": url, "PYTHONPATH": str(ROOT), "COLUMNS": "220"}
    return subprocess.run([sys.executable, "-m", "newsmon", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_json_listing_filters_and_the_contract_fields(incidents_db):
    everything = json.loads(newsmon(incidents_db, "incidents", "--format", "json").stdout)
    assert len(everything) >= 12
    first = everything[0]
    assert {"id", "type", "acled_event_type", "acled_sub_event_type", "event_date", "first_reported_at",
            "last_reported_at", "place", "severity", "status", "casualties", "reports", "denials"} <= set(first)
    assert set(first["place"]) == {"id", "name", "country", "latitude", "longitude", "precision"}
    assert [i["event_date"] for i in everything] == sorted((i["event_date"] for i in everything), reverse=True)
    disputed = json.loads(newsmon(incidents_db, "incidents", "--status", "disputed", "-f", "json").stdout)
    assert disputed and all(i["status"] == "disputed" and i["denials"] for i in disputed)
    # a place in any of its names: Khankendi, Тертер and Tərtər all mean the gazetteer's place
    tartar = json.loads(newsmon(incidents_db, "incidents", "--place", "Тертер", "-f", "json").stdout)
    assert tartar and {i["place"]["id"] for i in tartar} == {"Tartar"}
    high = json.loads(newsmon(incidents_db, "incidents", "--min-severity", "3", "-f", "json").stdout)
    assert all(i["severity"] == 3 for i in high) and len(high) < len(everything)
    window = json.loads(newsmon(incidents_db, "incidents", "--since", "2026-10-27", "--until", "2026-10-29",
                                "-f", "json").stdout)
    assert window and {i["event_date"] for i in window} <= {"2026-10-27", "2026-10-28"}


def test_a_cut_listing_says_so_and_bad_input_is_one_line(incidents_db):
    cut = newsmon(incidents_db, "incidents", "--limit", "2", "-f", "json")
    assert len(json.loads(cut.stdout)) == 2 and "showing 2 of" in cut.stderr
    for args, message in ((("incidents", "--place", "Atlantis"), "not a place in the gazetteer"),
                          (("incidents", "--since", "yesterday-ish"), "--since: not a date"),
                          (("incidents", "show", "99999"), "no incident with id 99999"),
                          (("incidents", "--status", "maybe"), "maybe")):
        result = newsmon(incidents_db, *args)
        assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr


def test_geojson_is_a_feature_collection_in_lon_lat_order(incidents_db):
    collection = json.loads(newsmon(incidents_db, "incidents", "-f", "geojson").stdout)
    listed = {i["id"]: i for i in json.loads(newsmon(incidents_db, "incidents", "-f", "json").stdout)}
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == len(listed)
    for feature in collection["features"]:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        place = listed[feature["id"]]["place"]
        assert (lon, lat) == (place["longitude"], place["latitude"])
        assert 43 < lon < 51 and 38 < lat < 42      # the region: longitudes east, latitudes north
        assert feature["properties"]["status"] in ("claimed", "disputed", "corroborated")


def test_acled_csv_and_show_with_evidence(incidents_db):
    rows = list(csv.DictReader(io.StringIO(newsmon(incidents_db, "incidents", "-f", "acled").stdout)))
    assert rows and {"event_id_cnty", "event_date", "event_type", "sub_event_type", "actor1", "country", "location",
                     "latitude", "longitude", "geo_precision", "time_precision", "fatalities", "source"} <= set(rows[0])
    assert {r["event_type"] for r in rows} <= {"Explosions/Remote violence", "Battles", "Strategic developments"}
    assert {r["country"] for r in rows} <= {"Armenia", "Azerbaijan"}
    several = next(i for i in json.loads(newsmon(incidents_db, "incidents", "-f", "json").stdout)
                   if len(i["reports"]) >= 2)
    shown = json.loads(newsmon(incidents_db, "incidents", "show", str(several["id"]), "-f", "json").stdout)
    assert all(r["evidence"] and r["link_reason"] and r["title"] for r in shown["reports"])
    assert shown["reports"][0]["link_reason"] == "first report"
    table = newsmon(incidents_db, "incidents", "show", str(several["id"]), "-f", "table")
    assert table.returncode == 0 and "linked because" in table.stdout and several["place"]["name"] in table.stdout


def test_plot_map_writes_a_png_and_says_when_there_is_nothing(incidents_db, tmp_path):
    from matplotlib.image import imread

    out = tmp_path / "map.png"
    result = newsmon(incidents_db, "plot", "--map", "--out", str(out))
    assert result.returncode == 0 and "incidents" in result.stdout
    height, width, _channels = imread(out).shape
    assert width > 1000 and height > 700
    empty = newsmon(incidents_db, "plot", "--map", "--out", str(tmp_path / "none.png"), "--since", "2030-01-01")
    assert empty.returncode == 1 and "no incidents" in empty.stderr and not (tmp_path / "none.png").exists()


def test_the_shipped_boundaries_put_every_gazetteer_place_in_its_country():
    from matplotlib.path import Path as Outline

    from newsmon.analysis.incident_facts import place_kinds
    from newsmon.core.config import config_path, read_yaml
    from newsmon.interface.incident_map import BOUNDARIES

    countries = {"ARM": "AM", "AZE": "AZ"}
    shapes = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    assert shapes["type"] == "FeatureCollection" and "Natural Earth" in shapes["attribution"]
    places = [p for p in read_yaml(config_path("escalation.yaml"), "lexicon")["places"]
              if place_kinds()[p["name"]] != "country"]
    for place in places:
        inside = {countries.get(f["properties"]["iso_a3"]) for f in shapes["features"]
                  for polygon in f["geometry"]["coordinates"]
                  if Outline(polygon[0]).contains_point((place["lon"], place["lat"]))}
        assert inside == {place["country"]}, place["name"]
