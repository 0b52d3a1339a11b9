"""The timeline chart: counts by country and severity, a real PNG, a one-line message when empty."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from PIL import Image

from models.engine import session_scope
from newsmon.interface.plot import NothingToPlot, load_timeline, plot
from test_query import corpus, newsmon, when

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_timeline_counts_stories_by_first_outlet_country_and_alerts_by_severity(db_url):
    corpus(db_url)
    with session_scope(db_url) as session:
        timeline = load_timeline(session, None, None)
    assert not timeline.weekly and (timeline.first, timeline.last) == (date(2026, 11, 20), date(2026, 11, 22))
    # The Ganja story counts once, for Armenia, whose outlet reported it first; outlet-int has no country.
    assert dict(timeline.stories) == {(date(2026, 11, 20), "AM"): 1, (date(2026, 11, 21), "RU"): 2,
                                      (date(2026, 11, 22), "AM"): 1, (date(2026, 11, 22), "AZ"): 1}
    assert dict(timeline.alerts) == {(date(2026, 11, 20), 3): 1, (date(2026, 11, 21), 1): 1}
    assert timeline.countries == ["AM", "RU", "AZ"]


def test_long_periods_are_drawn_per_week(sqlite_url):
    corpus(sqlite_url)
    with session_scope(sqlite_url) as session:
        timeline = load_timeline(session, datetime(2026, 6, 1, tzinfo=timezone.utc), when(25))
    assert timeline.weekly and timeline.bins[0] == date(2026, 6, 1)  # a Monday
    assert sum(timeline.stories.values()) == 5 and timeline.is_partial(timeline.bins[-1])


def test_plot_writes_a_png_an_analyst_can_read(db_url, tmp_path):
    corpus(db_url)
    out = tmp_path / "timeline.png"
    with session_scope(db_url) as session:
        plot(session, out)
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    assert out.stat().st_size > 10_000
    with Image.open(out) as image:
        assert image.size[0] >= 1200 and image.size[1] >= 700


def test_empty_period_is_nothing_to_plot(sqlite_url, tmp_path):
    corpus(sqlite_url)
    with session_scope(sqlite_url) as session, pytest.raises(NothingToPlot, match="no stories since 2027-01-01"):
        plot(session, tmp_path / "x.png", datetime(2027, 1, 1, tzinfo=timezone.utc))


def test_cli_plot_and_the_empty_database_message(sqlite_url, tmp_path):
    out = tmp_path / "timeline.png"
    empty = newsmon(sqlite_url, "plot", "--out", str(out))
    assert empty.returncode == 1 and "Traceback" not in empty.stderr
    assert empty.stderr.strip().splitlines() == ["newsmon: no stories in the database: nothing to plot"]
    assert not out.exists()
    corpus(sqlite_url)
    drawn = newsmon(sqlite_url, "plot", "--out", str(out), "--since", "2026-11-01")
    assert drawn.returncode == 0, drawn.stderr
    assert drawn.stdout.strip() == f"wrote {out}: 5 stories, 2 alerts"
    assert out.read_bytes()[:8] == PNG_SIGNATURE
