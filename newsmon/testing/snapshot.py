"""The offline snapshot's answer key and a served copy for the tests.

``EXPECTED`` holds what the snapshot contains, as URL paths (join them to the
base URL). They are canonical paths: the gundem-ankara feed links carry
``?utm_source=rss&utm_medium=feed``, which canonicalization must strip.
``served`` serves it from the tests' loopback server, which logs requests.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from newsmon.demo.snapshot import FEED_SOURCES, SITE_NAME, SITEMAPS, SNAPSHOT_DIR, render, sources_yaml
from newsmon.testing.loopback import LoopbackServer

__all__ = ["EXPECTED", "FEED_SOURCES", "SNAPSHOT_DIR", "render", "served", "sources_yaml"]

_SITE = f"/{SITE_NAME}"
_YD = "/yerevan-dispatch/news/2026/11"
_BX = "/baku-xeberler/xeber/2026/11"
_GA = "/gundem-ankara/haber"
_EI = "/echo-international/international/caucase/2026/11"
_CM = f"{_SITE}/news/2026/11"

_WIRE_ORIGINAL = f"{_YD}/20/armenia-azerbaijan-resume-border-delimitation-talks.html"
_WIRE_COPY = f"{_CM}/yerevan-baku-restart-border-talks.html"   # new headline + "first appeared on"

EXPECTED: dict = {
    # entries in each working feed; every one links to an article page on the server
    "feed_entries": {"yerevan-dispatch": 4, "kavkaz-vestnik": 3, "baku-xeberler": 3,
                     "gundem-ankara": 3, "echo-international": 3},
    "languages": {name: language for name, _, language, _ in FEED_SOURCES} | {"caucasus-monitor": "en"},
    "broken_sources": ["sevan-herald"],
    "site": {
        "name": SITE_NAME,
        "articles": [
            _WIRE_COPY,
            f"{_CM}/ceasefire-holds-after-weekend-fighting.html",
            f"{_CM}/tavush-villages-brace-for-winter.html",
            f"{_CM}/explainer-peace-treaty-open-questions.html",
            f"{_CM}/syunik-farmers-transit-route.html",
        ],
        # reachable only through pagination (news/ -> news/page/2/) and the sitemap
        "only_on_page_2": [f"{_CM}/explainer-peace-treaty-open-questions.html",
                           f"{_CM}/syunik-farmers-transit-route.html"],
        "non_articles": [f"{_SITE}/", f"{_SITE}/news/", f"{_SITE}/news/page/2/", f"{_SITE}/about/"],
        # linked from the home page, disallowed by /robots.txt: no request may reach them
        "robots_disallowed": [f"{_SITE}/private/", f"{_SITE}/private/draft-ceasefire-negotiations.html"],
        "offsite_links": ["http://example.org/research/south-caucasus-security-2026.html"],
        "sitemaps": SITEMAPS,
    },
    # distinct article URLs about the conflict (14 from feeds, 5 from the site) and the
    # stories they form (the syndicated copy joins the story of its original)
    "relevant_articles": 19,
    "stories": 18,
    "irrelevant": [
        f"{_YD}/23/armenian-brandy-exports-record.html",
        f"{_BX}/21/formula-1-baki-merhelesi-2027.html",
    ],
    "syndicated_pairs": [(_WIRE_ORIGINAL, _WIRE_COPY)],
    # must raise an alert carrying `concept`; `place` is the gazetteer place it must name,
    # None where the story names several places (then the place is not checked)
    "escalation": [
        {"url": "/kavkaz-vestnik/news/48302.html", "concept": "shelling", "place": "Jermuk",
         "language": "ru"},
        {"url": f"{_BX}/22/genceye-raket-zerbesi.html", "concept": "missile_strike", "place": "Ganja",
         "language": "az"},
        {"url": f"{_GA}/dunya/azerbaycan-ermenistan-tovuz-iha-saldirisi-1187688.html",
         "concept": "drone_strike", "place": "Tovuz", "language": "tr"},
        {"url": f"{_YD}/22/armenia-announces-partial-mobilization.html", "concept": "mobilization",
         "place": None, "language": "en"},
        {"url": f"{_EI}/22/armenie-azerbaidjan-l-union-europeenne-appelle-a-un-cessez-le-feu-immediat_6124702_3210.html",
         "concept": "mobilization", "place": None, "language": "fr"},
    ],
    # relevant, and must raise no keyword alert: a denial, past events, calm diplomacy
    "no_alert": [
        {"url": f"{_YD}/21/defence-ministry-denies-tavush-shelling-reports.html", "why": "negated"},
        {"url": f"{_EI}/21/a-gandja-la-reconstruction-des-quartiers-frappes-en-2020-touche-a-sa-fin_6124587_3210.html",
         "why": "historical"},
        {"url": f"{_EI}/20/trois-ans-apres-l-exode-les-refugies-du-haut-karabakh_6124410_3210.html",
         "why": "historical"},
        {"url": _WIRE_ORIGINAL, "why": "calm"},
        {"url": _WIRE_COPY, "why": "calm"},
        {"url": "/kavkaz-vestnik/news/48213.html", "why": "calm"},
        {"url": "/kavkaz-vestnik/news/48257.html", "why": "calm"},
        {"url": f"{_BX}/20/serhed-komissiyalari-dekabrda-gorusecek.html", "why": "calm"},
        {"url": f"{_GA}/dunya/disisleri-baku-erivan-adimlari-bolgesel-barisa-katki-1187342.html",
         "why": "calm"},
        {"url": f"{_GA}/ekonomi/kars-igdir-nahcivan-demiryolu-calismalar-hizlandi-1187519.html",
         "why": "calm"},
        {"url": f"{_CM}/tavush-villages-brace-for-winter.html", "why": "calm"},
        {"url": f"{_CM}/explainer-peace-treaty-open-questions.html", "why": "calm"},
        {"url": f"{_CM}/syunik-farmers-transit-route.html", "why": "calm"},
    ],
}


@contextmanager
def served(folder: Path) -> Iterator[tuple[Path, LoopbackServer]]:
    """The snapshot rendered into `folder`/snapshot and served on 127.0.0.1:
    (its sources.yaml in `folder`, the server with its request log)."""
    site = Path(folder) / "snapshot"
    site.mkdir()
    with LoopbackServer(root=site) as server:
        render(server.url, site)
        sources = Path(folder) / "sources.yaml"
        sources.write_text(sources_yaml(server.url), encoding="utf-8")
        yield sources, server
