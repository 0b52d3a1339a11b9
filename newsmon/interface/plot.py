"""`newsmon plot`: a timeline of stories per day by outlet country, with escalation alerts marked.

A story counts once, on the day it was first seen, under the country of the
outlet that reported it first (sources.yaml `country`; unknown -> "other"),
so the bars stack to the number of new stories. Periods longer than
``DAILY_UP_TO_DAYS`` are drawn per week so that bars stay readable. Alerts
sit in a strip above the bars, one row per severity, marker size by count;
days with a high-severity alert are shaded across the chart.

matplotlib is imported lazily with the headless Agg backend: the rest of the
CLI stays fast and no display is needed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Alert, Article, Story
from newsmon.interface.export import source_countries
from newsmon.interface.stats import day_of
from newsmon.core.errors import NewsmonError

DAILY_UP_TO_DAYS = 120
SHORT_PERIOD_DAYS = 31     # up to this many days, every bar gets its own date label
OTHER = "other"
COUNTRY_NAMES = {"AM": "Armenia", "AZ": "Azerbaijan", "RU": "Russia", "TR": "Turkey", "GE": "Georgia",
                 "IR": "Iran", "INT": "International", OTHER: "other / unknown"}
# Okabe-Ito colours: distinguishable with colour-blindness; Armenia and Azerbaijan far apart.
COUNTRY_COLORS = {"AM": "#E69F00", "AZ": "#0072B2", "RU": "#CC79A7", "TR": "#D55E00", "INT": "#009E73",
                  "GE": "#56B4E9", "IR": "#F0E442", OTHER: "#BBBBBB"}
SPARE_COLORS = ("#882255", "#44AA99", "#999933", "#332288", "#AA4499", "#117733")
SEVERITY_COLORS = {1: "#F2C14E", 2: "#F0802A", 3: "#C8102E"}
SEVERITY_NAMES = {1: "low", 2: "medium", 3: "high"}


class NothingToPlot(NewsmonError, LookupError):
    """No stories in the period: there is no timeline to draw."""


@dataclass
class Timeline:
    stories: Counter          # (bin start, country) -> new stories
    alerts: Counter           # (bin start, severity) -> alerts
    weekly: bool
    first: date
    last: date

    @property
    def countries(self) -> list[str]:
        """Countries by number of stories, "other" last."""
        totals = Counter()
        for (_, country), count in self.stories.items():
            totals[country] += count
        return sorted(totals, key=lambda c: (c == OTHER, -totals[c], c))

    @property
    def bins(self) -> list[date]:
        step = 7 if self.weekly else 1
        start = self._bin(self.first)
        return [start + timedelta(days=d) for d in range(0, (self.last - start).days + 1, step)]

    def _bin(self, day: date) -> date:
        return day - timedelta(days=day.weekday()) if self.weekly else day

    def is_partial(self, start: date) -> bool:
        """A week cut by the period's ends: its bar is lower for that reason alone."""
        return self.weekly and (start < self.first or start + timedelta(days=6) > self.last)


def load_timeline(session: Session, since: datetime | None, until: datetime | None) -> Timeline:
    dialect = session.get_bind().dialect.name
    stories = _daily(session, select(day_of(Story.first_seen_at, dialect), Article.source, func.count())
                     .join(Article, Article.id == Story.first_article_id), Story.first_seen_at, since, until)
    if not stories:
        raise NothingToPlot(f"no stories {_period_words(since, until)}: nothing to plot")
    # An alert belongs on the day of what it is about (its article), not the day it was raised.
    alert_day = func.coalesce(Article.published_at, Article.fetched_at, Alert.created_at)
    alerts = _daily(session, select(day_of(alert_day, dialect), Alert.severity, func.count())
                    .outerjoin(Article, Article.id == Alert.article_id), alert_day, since, until)
    days = [day for day, _, _ in stories]
    first, last = (since.date() if since else min(days)), (_last_day(until) if until else max(days))
    timeline = Timeline(Counter(), Counter(), (last - first).days > DAILY_UP_TO_DAYS, first, last)
    countries = source_countries(session)
    for day, source, count in stories:
        timeline.stories[timeline._bin(day), countries.get(source) or OTHER] += count
    for day, severity, count in alerts:
        timeline.alerts[timeline._bin(day), min(max(int(severity), 1), 3)] += count
    return timeline


def _daily(session: Session, statement, column, since, until) -> list[tuple[date, object, int]]:
    if since:
        statement = statement.where(column >= since)
    if until:
        statement = statement.where(column < until)
    rows = session.execute(statement.group_by(*statement.selected_columns[:2])).all()
    return [(date.fromisoformat(day), key, count) for day, key, count in rows]


def _last_day(until: datetime) -> date:
    """--until is exclusive: midnight belongs to the day before."""
    return (until - timedelta(microseconds=1)).date()


def _period_words(since: datetime | None, until: datetime | None) -> str:
    if since and until:
        return f"between {since:%Y-%m-%d %H:%M} and {until:%Y-%m-%d %H:%M} UTC"
    if since:
        return f"since {since:%Y-%m-%d %H:%M} UTC"
    return f"before {until:%Y-%m-%d %H:%M} UTC" if until else "in the database"


def draw(timeline: Timeline, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (alert_axis, story_axis) = plt.subplots(
        2, 1, figsize=(13, 7), sharex=True, gridspec_kw={"height_ratios": [1, 4], "hspace": 0.06},
        layout="constrained")
    _draw_stories(story_axis, timeline)
    _draw_alerts(alert_axis, story_axis, timeline)
    _decorate(figure, alert_axis, story_axis, timeline)
    figure.savefig(out, dpi=130, facecolor="white")
    plt.close(figure)


def _draw_stories(axis, timeline: Timeline) -> None:
    import numpy as np
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    bins, width = timeline.bins, (7 if timeline.weekly else 1) * 0.85
    positions = [_middle(day, timeline) for day in bins]
    bottom = np.zeros(len(bins))
    spare, handles = iter(SPARE_COLORS), []
    for country in timeline.countries:
        heights = np.array([timeline.stories.get((day, country), 0) for day in bins])
        color = COUNTRY_COLORS.get(country) or next(spare, "#777777")
        colors = [to_rgba(color, 0.4 if timeline.is_partial(day) else 1.0) for day in bins]
        axis.bar(positions, heights, width=width, bottom=bottom, color=colors, linewidth=0)
        handles.append(Patch(color=color, label=f"{COUNTRY_NAMES.get(country, country)} ({int(heights.sum()):,})"))
        bottom += heights
    axis.set_ylabel(f"new stories per {'week' if timeline.weekly else 'day'}")
    axis.legend(handles=handles, title="first reported by outlets from", loc="upper left", frameon=False, fontsize=9,
                title_fontsize=9, ncols=min(4, len(timeline.countries)))
    axis.set_ylim(0, max(bottom.max(), 1) * 1.22)  # headroom for the legend
    axis.grid(axis="y", color="#E5E5E5")
    axis.set_axisbelow(True)


def _middle(day: date, timeline: Timeline) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(days=3.5 if timeline.weekly else 0.5)


def _draw_alerts(alert_axis, story_axis, timeline: Timeline) -> None:
    days = 7 if timeline.weekly else 1
    for severity in (1, 2, 3):
        points = [(day, count) for (day, level), count in sorted(timeline.alerts.items()) if level == severity]
        if points:
            alert_axis.scatter([_middle(day, timeline) for day, _ in points], [severity] * len(points),
                               s=[30 + 25 * count ** 0.5 for _, count in points], color=SEVERITY_COLORS[severity],
                               edgecolors="white", linewidths=0.6, zorder=3,
                               label=f"{SEVERITY_NAMES[severity]} ({sum(c for _, c in points):,})")
        if severity == 3:
            for day, _ in points:
                start = datetime.combine(day, datetime.min.time())
                story_axis.axvspan(start, start + timedelta(days=days), color=SEVERITY_COLORS[3],
                                   alpha=0.10, linewidth=0, zorder=0)
    alert_axis.set_ylim(0.4, 3.6)
    alert_axis.set_yticks([1, 2, 3], [SEVERITY_NAMES[s] for s in (1, 2, 3)], fontsize=8)
    alert_axis.set_ylabel("alerts")
    alert_axis.grid(axis="y", color="#EEEEEE")
    if timeline.alerts:
        alert_axis.legend(title="escalation alerts", loc="center left", bbox_to_anchor=(1.0, 0.5),
                          frameon=False, fontsize=8, title_fontsize=8)
    else:
        alert_axis.text(0.5, 0.5, "no escalation alerts in this period", transform=alert_axis.transAxes,
                        ha="center", va="center", color="#777777", fontsize=9)


def _decorate(figure, alert_axis, story_axis, timeline: Timeline) -> None:
    from matplotlib.ticker import MaxNLocator

    _date_axis(story_axis, timeline)
    story_axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    for axis in (alert_axis, story_axis):
        axis.spines[["top", "right"]].set_visible(False)
    stories, alerts = sum(timeline.stories.values()), sum(timeline.alerts.values())
    figure.suptitle("Nagorno-Karabakh news: new stories by outlet country, escalation alerts marked",
                    fontsize=14, fontweight="bold", x=0.01, ha="left")
    partial = " · faded bars: partial weeks" if any(map(timeline.is_partial, timeline.bins)) else ""
    alert_axis.set_title(f"{timeline.first:%d %b %Y} – {timeline.last:%d %b %Y} (UTC) · {stories:,} stories · "
                         f"{alerts:,} alerts · high-severity {'weeks' if timeline.weekly else 'days'} shaded red"
                         f"{partial}", fontsize=10, color="#555555", loc="left")


def _date_axis(axis, timeline: Timeline) -> None:
    """A month or week scale for long periods; for a few weeks, one label under each day's bar."""
    import matplotlib.dates as mdates

    start = datetime.combine(timeline.bins[0], datetime.min.time())
    end = datetime.combine(timeline.last, datetime.min.time()) + timedelta(days=1)
    axis.set_xlim(start - timedelta(hours=12), end + timedelta(hours=12))
    if timeline.weekly or len(timeline.bins) > SHORT_PERIOD_DAYS:
        locator = mdates.AutoDateLocator(minticks=5, maxticks=12)
        axis.xaxis.set_major_locator(locator)
        axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        return
    step = -(-len(timeline.bins) // 12)  # at most about 12 labels
    days = timeline.bins[::step]
    axis.set_xticks([_middle(day, timeline) for day in days], [f"{day:%a %d %b}" for day in days])


def plot(session: Session, out: Path, since: datetime | None = None, until: datetime | None = None) -> Timeline:
    """Draw the timeline into `out` (PNG); raises NothingToPlot when the period has no stories."""
    timeline = load_timeline(session, since, until)
    draw(timeline, out)
    return timeline
