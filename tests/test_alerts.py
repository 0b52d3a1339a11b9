"""Alert evaluation on both databases: keyword, new_term and spike alerts, raised once."""
from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta, timezone
from functools import partial
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from models import Alert, Article, Source, Story
from models.dialect import lock_for_ingest
from models.engine import session_scope
from newsmon.analysis import similarity
from newsmon.alerting.rules import AlertRules, LexiconCache, evaluate, evaluate_and_deliver, list_alerts
from newsmon.core.config import ConfigError, config_path, load_sources
from newsmon.testing import snapshot
from newsmon.sources.feeds import poll_feeds
from newsmon.core.records import ArticleRecord
from newsmon.storage.store import PreparedArticle, store_articles
from threads import run_at_once

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
_numbers = itertools.count(1)

# language, title, text, expected concept, severity, place
ESCALATION = [
    ("en", "Drone strike hits Goris",
     "An Azerbaijani drone strike hit the outskirts of Goris on Saturday morning, local officials said.",
     "drone_strike", 2, "Goris (AM)"),
    ("ru", "Джермук под артиллерийским обстрелом",
     "Армянские позиции у Джермука в ночь на субботу подверглись артиллерийскому обстрелу, сообщило Минобороны.",
     "shelling", 2, "Jermuk (AM)"),
    ("az", "Gəncəyə raket zərbəsi endirilib",
     "Gecə saatlarında Gəncə şəhərinə raket zərbəsi endirilib, yaralananlar var.",
     "missile_strike", 3, "Ganja (AZ)"),
    ("tr", "Tovuz'da İHA saldırısı",
     "Azerbaycan Savunma Bakanlığı, Tovuz'daki mevzilere İHA saldırısı düzenlendiğini açıkladı.",
     "drone_strike", 2, "Tovuz (AZ)"),
    ("fr", "Des roquettes tombent sur Gandja",
     "Plusieurs roquettes sont tombées sur Gandja dans la nuit de vendredi à samedi, selon les autorités.",
     "missile_strike", 3, "Ganja (AZ)"),
    ("hy", "Ստեփանակերտը հրթիռակոծվել է",
     "Ստեփանակերտը այս գիշեր հրթիռակոծվել է, հայտնում են տեղական իշխանությունները։",
     "missile_strike", 3, "Stepanakert (AZ)"),
]

# language, title, text, why nothing may be raised
NO_ALERT = [
    ("en", "Border commissions meet in Brussels",
     "The delimitation commissions of Armenia and Azerbaijan met in Brussels to continue work on the border.",
     "calm"),
    ("ru", "Стороны договорились о гуманитарном перемирии",
     "Армения и Азербайджан договорились о гуманитарном перемирии и обмене пленными.", "de-escalation"),
    ("hy", "Գերիների փոխանակում", "Հայաստանը և Ադրբեջանը փոխանակել են ռազմագերիներին։", "de-escalation"),
    ("tr", "Barış görüşmeleri sürüyor",
     "Azerbaycan ve Ermenistan dışişleri bakanları barış anlaşması için görüştü.", "de-escalation"),
    ("en", "Calm night on the border",
     "No shelling was reported along the border overnight, the defence ministry said.", "negated"),
    ("az", "Müdafiə Nazirliyi iddiaları təkzib etdi",
     "Müdafiə Nazirliyi Tərtərin atəşə tutulması barədə xəbərləri təkzib edib.", "denied"),
    ("fr", "Gandja panse ses plaies",
     "Les quartiers de Gandja frappés par des missiles en 2020 sont presque reconstruits.", "historical"),
]

SYNDICATED_TEXT = (
    "An Azerbaijani drone strike hit an army post near Goris early on Saturday, the Armenian defence "
    "ministry said in a statement. One soldier was wounded and a supply truck was destroyed. The ministry "
    "said the drone crossed the border from the east shortly before dawn and that air defence units were "
    "put on alert across Syunik province."
)


def prepared(title: str, text: str, language: str = "en", *, source: str = "outlet-a",
             published: datetime = NOW - timedelta(hours=1), url: str | None = None,
             sketch: bool = False) -> PreparedArticle:
    """A stored-ready article; `sketch` adds the MinHash sketch so near-duplicates join one story."""
    number = next(_numbers)
    url = url or f"https://{source}.example/news/{number}"
    record = ArticleRecord(url=url, canonical_url=url, source=source, title=title, text=text,
                           language=language, published_at=published, fetched_at=published)
    signature = similarity.signature(text) if sketch else None
    return PreparedArticle(record=record, relevance=0.9, content_hash=f"hash-{number}", signature=signature,
                           bands=similarity.band_keys(signature) if signature is not None else [])


def store(url: str, *articles: PreparedArticle):
    with session_scope(url, write=True) as session:
        lock_for_ingest(session)
        return [store_articles(session, [article])[0] for article in articles]


def run(url: str, now: datetime = NOW, rules: AlertRules | None = None) -> list[Alert]:
    with session_scope(url, write=True) as session:
        return evaluate(session, now=now, rules=rules)


def stored_alerts(url: str, kind: str | None = None) -> list[Alert]:
    with session_scope(url) as session:
        query = select(Alert).order_by(Alert.id)
        return list(session.scalars(query.where(Alert.kind == kind) if kind else query))


def test_escalation_in_six_languages_raises_concept_severity_and_place(db_url):
    results = store(db_url, *(prepared(title, text, language, source=f"outlet-{language}")
                              for language, title, text, *_ in ESCALATION))
    raised = run(db_url)
    keyword = {(a.story_id, a.concept): a for a in raised if a.kind == "keyword"}
    for result, (language, title, _text, concept, severity, place) in zip(results, ESCALATION):
        alert = keyword.get((result.story_id, concept))
        assert alert is not None, f"{language}: no {concept} alert"
        assert (alert.severity, alert.location) == (severity, place), language
        assert alert.latitude and alert.longitude and alert.article_id == result.article_id
        assert f"reported in {place}" in alert.message and title in alert.message
        assert alert.terms and alert.dedup_key == f"keyword:story={result.story_id}:concept={concept}"


def test_snapshot_feeds_raise_the_expected_alerts_and_nothing_else(sqlite_url, snapshot_served):
    """The bundled offline snapshot, polled for real: its escalation and no-alert articles."""
    sources, _server = snapshot_served
    poll_feeds([s for s in load_sources(sources) if s.kind == "rss"], database_url=sqlite_url, every=True)
    raised = run(sqlite_url)
    with session_scope(sqlite_url) as session:
        paths = {i: urlsplit(u).path for i, u in session.execute(select(Article.id, Article.canonical_url))}
    keyword = {(paths[a.article_id], a.concept): a.location for a in raised if a.kind == "keyword"}
    for expected in snapshot.EXPECTED["escalation"]:
        location = keyword.get((expected["url"], expected["concept"]), "no alert")
        assert location.startswith(expected["place"] or ""), expected
    alerted = {path for path, _concept in keyword}
    quiet = [e["url"] for e in snapshot.EXPECTED["no_alert"] if e["url"] in paths.values()]
    assert quiet and alerted.isdisjoint(quiet)


def test_calm_deescalation_negated_denied_and_historical_raise_nothing(db_url):
    store(db_url, *(prepared(title, text, language) for language, title, text, _why in NO_ALERT))
    assert run(db_url) == []
    assert stored_alerts(db_url) == []


def test_evaluating_twice_raises_nothing_new(db_url):
    store(db_url, *(prepared(title, text, language) for language, title, text, *_ in ESCALATION[:3]))
    first = run(db_url)
    assert first
    assert run(db_url) == [] and run(db_url, now=NOW + timedelta(minutes=5)) == []
    assert len(stored_alerts(db_url)) == len(first)


def test_article_changed_in_place_is_evaluated_again(db_url):
    url = "https://outlet-a.example/live/border"
    store(db_url, prepared("Border live", "The delimitation commissions met in Brussels.", url=url))
    assert run(db_url) == []
    result, = store(db_url, prepared("Border live", "UPDATE: artillery shelling reported near Jermuk.", url=url))
    assert result.status == "updated"
    assert [(a.kind, a.concept) for a in run(db_url) if a.kind == "keyword"] == [("keyword", "shelling")]


def test_one_story_from_three_outlets_raises_one_alert_confirmed(db_url):
    store(db_url, prepared("Drone strike near Goris", SYNDICATED_TEXT, source="outlet-a", sketch=True))
    first, = [a for a in run(db_url) if a.kind == "keyword" and a.concept == "drone_strike"]
    assert first.severity == 2   # one outlet: the concept's severity
    copies = store(db_url, prepared("Goris army post hit by drone", SYNDICATED_TEXT, source="outlet-b", sketch=True),
                   prepared("Army post near Goris hit by a drone", SYNDICATED_TEXT, source="outlet-c", sketch=True))
    assert [c.status for c in copies] == ["near_duplicate"] * 2 and {c.story_id for c in copies} == {first.story_id}
    assert [a for a in run(db_url) if a.kind == "keyword"] == []   # no alert per copy
    alert, = [a for a in stored_alerts(db_url, "keyword") if a.concept == "drone_strike"]
    assert alert.id == first.id and alert.severity == 3 and "confirmed by 3 outlets" in alert.message


def test_own_reports_of_two_outlets_same_day_same_place_confirm_each_other(db_url):
    store(db_url,
          prepared("Shelling in Jermuk", "Artillery shelling hit Jermuk overnight, officials said."),
          prepared("Jermuk shelled again", "Jermuk was shelled on Saturday morning, residents said."),
          prepared("Обстрел Джермука", "Джермук подвергся артиллерийскому обстрелу.", "ru", source="outlet-b",
                   published=NOW - timedelta(hours=3)))
    shelling = [a for a in run(db_url) if a.kind == "keyword" and a.concept == "shelling"]
    assert len(shelling) == 3 and {a.severity for a in shelling} == {3}


def add_sources(url: str, outlets: dict[str, str]) -> None:
    """Source rows as sync_sources writes them: `settings` carries the outlet of sources.yaml."""
    with session_scope(url, write=True) as session:
        session.add_all(Source(name=name, kind="rss", settings={"outlet": outlet}) for name, outlet in outlets.items())


def test_two_feeds_of_one_outlet_are_one_outlet(db_url):
    add_sources(db_url, {"armenpress-en": "armenpress.am", "armenpress-ru": "armenpress.am",
                         "news-az": "news.az"})
    store(db_url, prepared("Drone strike near Goris", SYNDICATED_TEXT, source="armenpress-en", sketch=True),
          prepared("Goris army post hit by drone", SYNDICATED_TEXT, source="armenpress-ru", sketch=True))
    alert, = [a for a in run(db_url) if a.kind == "keyword" and a.concept == "drone_strike"]
    with session_scope(db_url) as session:
        story = session.get(Story, alert.story_id)
        assert (story.article_count, story.outlet_count) == (2, 1)
    assert alert.severity == 2 and "confirmed" not in alert.message     # one outlet's two feeds
    store(db_url, prepared("Army post near Goris hit by a drone", SYNDICATED_TEXT, source="news-az", sketch=True))
    run(db_url)
    confirmed, = [a for a in stored_alerts(db_url, "keyword") if a.concept == "drone_strike"]
    assert confirmed.severity == 3 and "confirmed by 2 outlets" in confirmed.message


def test_alert_carries_the_matched_sentence_and_the_rule(db_url):
    text = ("The ministry met reporters on Friday. Jermuk was shelled overnight, officials said. "
            "Schools stayed open.")
    store(db_url, prepared("Night in the south", text))
    alert, = [a for a in run(db_url) if a.kind == "keyword"]
    assert alert.evidence == {"rule": r"shelling/en: shell(?:ed|ing)\b(?!\W+out)",
                              "sentences": ["Jermuk was shelled overnight, officials said."]}
    with session_scope(db_url) as session:
        row, = [r for r in list_alerts(session) if r["kind"] == "keyword"]
    assert row["evidence"] == alert.evidence


def test_one_outlet_alone_does_not_confirm(db_url):
    store(db_url,
          prepared("Shelling in Jermuk", "Artillery shelling hit Jermuk overnight, officials said."),
          prepared("Jermuk shelled again", "Jermuk was shelled on Saturday morning, residents said."))
    assert {a.severity for a in run(db_url) if a.concept == "shelling" and a.kind == "keyword"} == {2}


def test_new_term_once_then_again_only_after_the_quiet_period(db_url):
    rules = AlertRules(quiet_period=timedelta(days=14))
    day0 = NOW - timedelta(days=30)

    def iskander_on(day: datetime) -> list[Alert]:
        store(db_url, prepared("Iskander fired at Shusha", "Armenia fired an Iskander missile at Shusha, Baku said.",
                               published=day))
        return [a for a in run(db_url, now=day + timedelta(hours=1), rules=rules)
                if a.kind == "new_term" and a.concept == "weapon_iskander"]

    first, = iskander_on(day0)
    assert first.dedup_key == f"new_term:weapon_iskander:{day0.date()}" and "first appearance" in first.message
    assert first.severity == 3 and first.location == "Shusha (AZ)"
    assert iskander_on(day0 + timedelta(days=5)) == []
    back, = iskander_on(day0 + timedelta(days=25))   # 20 quiet days after the last mention
    assert "back after 20 quiet days" in back.message
    assert len([a for a in stored_alerts(db_url, "new_term") if a.concept == "weapon_iskander"]) == 2


def test_new_term_follows_publication_time_not_arrival(db_url):
    later, earlier = NOW - timedelta(days=2), NOW - timedelta(days=9)
    store(db_url, prepared("Iskander fired at Shusha", "Armenia fired an Iskander missile at Shusha, Baku said.",
                           published=later),
          prepared("Iskander launch near Shusha", "An Iskander missile was launched at Shusha, officials said.",
                   published=earlier))     # the older report arrives second
    new_term, = [a for a in run(db_url) if a.kind == "new_term" and a.concept == "weapon_iskander"]
    assert new_term.dedup_key == f"new_term:weapon_iskander:{earlier.date()}"


def test_an_undated_article_raises_no_new_term(db_url):
    article = prepared("Iskander fired at Shusha", "Armenia fired an Iskander missile at Shusha, Baku said.")
    article.record.published_at = None      # dated only by its fetch
    store(db_url, article)
    kinds = {(a.kind, a.concept) for a in run(db_url)}
    assert ("keyword", "weapon_iskander") in kinds and ("new_term", "weapon_iskander") not in kinds


def shelling_story(place: str, number: int, published: datetime) -> PreparedArticle:
    return prepared(f"Shelling near {place} ({number})",
                    f"Artillery shelling hit {place} again, report {number} of the local council said.",
                    published=published, source=f"outlet-{number % 4}")


def test_burst_of_escalation_stories_raises_one_spike(db_url):
    # A quiet fortnight: one escalation story every 33 hours.
    store(db_url, *(shelling_story("Tartar", n, NOW - timedelta(hours=7 + 33 * n)) for n in range(10)))
    assert run(db_url, now=NOW - timedelta(hours=6, minutes=30)) and stored_alerts(db_url, "spike") == []
    store(db_url, *(shelling_story("Jermuk", 100 + n, NOW - timedelta(hours=5, minutes=-50 * n)) for n in range(5)))
    spike, = [a for a in run(db_url) if a.kind == "spike"]
    assert "5 escalation stories in the last 6 h" in spike.message and "shelling" in spike.terms
    assert spike.location == "Jermuk (AM)" and spike.severity == 2 and spike.story_id is None
    run(db_url, now=NOW + timedelta(hours=1))      # still spiking, same 6-hour block: no second alert
    assert len(stored_alerts(db_url, "spike")) == 1


def test_two_evaluations_at_once_raise_each_alert_once(db_url):
    store(db_url, *(prepared(title, text, language, source=f"outlet-{language}")
                    for language, title, text, *_ in ESCALATION))
    evaluate_now = partial(evaluate_and_deliver, database_url=db_url, now=NOW, channels=[])
    reports, errors = run_at_once(evaluate_now, [()] * 2)
    assert not errors
    assert sum(r.raised for r in reports) == len(stored_alerts(db_url)) > 0
    assert sorted(r.evaluated_articles for r in reports) == [0, len(ESCALATION)]


def test_list_alerts_fields_and_filters(db_url):
    store(db_url, *(prepared(title, text, language) for language, title, text, *_ in ESCALATION[:2]))
    report = evaluate_and_deliver(database_url=db_url, now=NOW, channels=[])
    assert report.as_dict()["evaluated_articles"] == 2 and report.raised == report.by_kind["keyword"] + \
        report.by_kind["new_term"] + report.by_kind["incident"]
    with session_scope(db_url) as session:
        rows = list_alerts(session)
        high = list_alerts(session, min_severity=3)
        later = list_alerts(session, since=NOW + timedelta(seconds=1))
        stored = session.scalar(select(func.count(Article.id)))
    assert len(rows) == report.raised and high == [] and later == [] and stored == 2
    row = rows[0]
    for field in ("id", "kind", "severity", "terms", "story_id", "article_id", "location", "created_at",
                  "delivered", "message", "concept", "failed", "url"):
        assert field in row
    assert row["delivered"] == [] and row["failed"] == {} and isinstance(row["terms"], list)
    assert row["url"].startswith("https://")


def test_alert_rules_from_the_environment(monkeypatch):
    monkeypatch.setenv("NEWSMON_ALERT_QUIET_DAYS", "30")
    monkeypatch.setenv("NEWSMON_SPIKE_WINDOW_HOURS", "3")
    assert AlertRules.from_env() == AlertRules(quiet_period=timedelta(days=30), spike_window=timedelta(hours=3))
    monkeypatch.setenv("NEWSMON_ALERT_QUIET_DAYS", "two weeks")
    with pytest.raises(ConfigError, match="NEWSMON_ALERT_QUIET_DAYS"):
        AlertRules.from_env()


def test_the_lexicon_is_compiled_once_and_again_when_its_file_changes(tmp_path, monkeypatch):
    (tmp_path / "config").mkdir()
    path = tmp_path / "config" / "escalation.yaml"
    shipped = config_path("escalation.yaml").read_text(encoding="utf-8")
    path.write_text(shipped, encoding="utf-8")
    (tmp_path / "config" / "gazetteer.json").write_bytes(config_path("gazetteer.json").read_bytes())  # beside it
    monkeypatch.setenv("NEWSMON_HOME", str(tmp_path))
    cache = LexiconCache()
    first = cache.get()
    assert cache.get() is first and "shelling" in first.concepts
    path.write_text(shipped.replace("  - id: shelling\n", "  - id: artillery_fire\n", 1), encoding="utf-8")
    later = path.stat().st_mtime_ns + 2_000_000_000   # a new modification time, whatever the clock's grain
    os.utime(path, ns=(later, later))
    edited = cache.get()
    assert "artillery_fire" in edited.concepts and "shelling" not in edited.concepts
    path.write_text("concepts: [\n", encoding="utf-8")
    os.utime(path, ns=(later + 10**9, later + 10**9))
    with pytest.raises(ConfigError, match="escalation.yaml"):
        cache.get()
