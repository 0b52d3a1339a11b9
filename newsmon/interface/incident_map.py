"""`newsmon plot --map`: incidents by place and severity over Armenia and Azerbaijan.

The boundaries are shipped with the project (data/caucasus.geojson: Natural Earth
1:110m countries, public domain, clipped to the region), so nothing is downloaded.
One circle per place: its area grows with the number of incidents there, its colour
is the highest severity among them; the label gives the place and the count.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime
from math import cos, radians
from pathlib import Path

from sqlalchemy.orm import Session

from newsmon.core.errors import NewsmonError
from newsmon.interface.incidents import IncidentFilters, list_incidents
from newsmon.interface.plot import SEVERITY_COLORS, SEVERITY_NAMES

BOUNDARIES = Path(__file__).parent / "data" / "caucasus.geojson"
EXTENT = (43.4, 50.6, 38.3, 41.9)     # lon min, lon max, lat min, lat max
FILLS = {"ARM": "#F8E6C2", "AZE": "#D6E6F4"}   # the timeline's Armenia/Azerbaijan colours, lightened
NEIGHBOUR_FILL = "#F2F2F2"
LABELS = {"ARM": (44.55, 40.55, "ARMENIA"), "AZE": (48.3, 40.75, "AZERBAIJAN"), "GEO": (44.4, 41.7, "GEORGIA"),
          "IRN": (47.2, 38.55, "IRAN"), "TUR": (43.6, 39.4, "TURKEY"), "RUS": (48.4, 41.75, "RUSSIA"),
          "sea": (50.25, 39.4, "Caspian\nSea")}


class NoIncidents(NewsmonError, LookupError):
    """No incident in the period: no map to draw."""


def plot_map(session: Session, out: Path, since: datetime | None = None, until: datetime | None = None) -> int:
    """Draw the incidents of the period into `out` (PNG); the number drawn."""
    incidents = list_incidents(session, IncidentFilters(since=since, until=until), limit=None)
    if not incidents:
        raise NoIncidents("no incidents in that period: nothing to map")
    draw(incidents, out)
    return len(incidents)


def draw(incidents: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(11, 7.2), layout="constrained")
    _draw_boundaries(axis)
    _draw_places(axis, incidents)
    _decorate(figure, axis, incidents)
    figure.savefig(out, dpi=110, facecolor="white")
    plt.close(figure)


def _draw_boundaries(axis) -> None:
    from matplotlib.patches import Polygon

    for feature in json.loads(BOUNDARIES.read_text(encoding="utf-8"))["features"]:
        code = feature["properties"]["iso_a3"]
        for polygon in feature["geometry"]["coordinates"]:
            axis.add_patch(Polygon(polygon[0], closed=True, facecolor=FILLS.get(code, NEIGHBOUR_FILL),
                                   edgecolor="#555555" if code in FILLS else "#AAAAAA", linewidth=0.9, zorder=1))
    for code, (x, y, name) in LABELS.items():
        axis.text(x, y, name, ha="center", va="center", fontsize=11 if code in FILLS else 8, color="#777777",
                  fontweight="bold" if code in FILLS else "normal", style="italic" if code == "sea" else "normal",
                  zorder=2)


def _draw_places(axis, incidents: list[dict]) -> None:
    by_place: dict[tuple, list[dict]] = defaultdict(list)
    for incident in incidents:
        place = incident["place"]
        by_place[(place["name"], place["longitude"], place["latitude"])].append(incident)
    for (name, lon, lat), here in sorted(by_place.items(), key=lambda item: -len(item[1])):
        worst = max(i["severity"] for i in here)
        axis.scatter([lon], [lat], s=60 + 45 * len(here), color=SEVERITY_COLORS[worst], alpha=0.85,
                     edgecolors="white", linewidths=1.2, zorder=3)
        axis.annotate(f"{name} ({len(here)})", (lon, lat), xytext=(7, 5), textcoords="offset points", fontsize=8,
                      color="#222222", zorder=4)


def _decorate(figure, axis, incidents: list[dict]) -> None:
    from matplotlib.lines import Line2D

    lon_min, lon_max, lat_min, lat_max = EXTENT
    axis.set_xlim(lon_min, lon_max)
    axis.set_ylim(lat_min, lat_max)
    axis.set_aspect(1 / cos(radians((lat_min + lat_max) / 2)))    # degrees of longitude shrink with latitude
    axis.set_xlabel("longitude (°E)")
    axis.set_ylabel("latitude (°N)")
    axis.set_facecolor("#FBFBFB")
    handles = [Line2D([], [], marker="o", linestyle="", markersize=9, color=SEVERITY_COLORS[s],
                      label=f"highest severity {SEVERITY_NAMES[s]}") for s in (1, 2, 3)]
    axis.legend(handles=handles, loc="lower right", fontsize=8, title="circle area: incidents at the place",
                title_fontsize=8, framealpha=0.9)
    days = sorted(i["event_date"] for i in incidents)
    statuses = Counter(i["status"] for i in incidents)
    figure.suptitle("Incidents by place and severity", fontsize=14, fontweight="bold", x=0.01, ha="left")
    axis.set_title(f"{len(incidents):,} incidents, {days[0]} – {days[-1]} (event days) · "
                   + ", ".join(f"{statuses[s]} {s}" for s in ("corroborated", "disputed", "claimed")),
                   fontsize=10, color="#555555", loc="left")
    axis.text(0.005, 0.005, "Boundaries: Natural Earth 1:10m (public domain), simplified. "
              "Nagorno-Karabakh is within Azerbaijan's internationally recognised borders.",
              transform=axis.transAxes, fontsize=7, color="#777777", va="bottom")
