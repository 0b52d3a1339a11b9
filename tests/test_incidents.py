"""Incidents: reports grouped per act across outlets and languages, statuses, the `incident` alert."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from incident_eval import OUTLETS, Corpus, build, score
from models import Alert, Article, Source
from models.engine import session_scope
from models.incidents import Incident, IncidentReport
from newsmon.alerting.incidents import record_incidents, revisit_recent
from newsmon.alerting.rules import _ARTICLE_COLUMNS as ARTICLE_COLUMNS, default_lexicon, evaluate, evaluate_and_deliver
from newsmon.analysis import similarity
from newsmon.core.records import ArticleRecord
from models.dialect import lock_for_ingest
from newsmon.storage.store import PreparedArticle, store_articles
from threads import run_at_once

_numbers = itertools.count(1)


def add_outlets(url: str) -> None:
    with session_scope(url, write=True) as session:
        for name, (country, outlet_type, languages) in OUTLETS.items():
            settings = {"outlet": name, "country": country, **({"outlet_type": outlet_type} if outlet_type else {})}
            session.add(Source(name=name, kind="rss", url=f"https://{name}.example/feed", language=languages[0],
                               settings=settings))


def prepared(report) -> PreparedArticle:
    number = next(_numbers)
    url = f"https://{report.source}.example/news/{number}"
    record = ArticleRecord(url=url, canonical_url=url, source=report.source, title=report.title, text=report.text,
                           language=report.language, published_at=report.published, fetched_at=report.published)
    signature = similarity.signature(report.text)
    return PreparedArticle(record=record, relevance=0.9, content_hash=f"hash-{number}", signature=signature,
                           bands=similarity.band_keys(signature) if signature is not None else [])


def store_and_evaluate(url: str, corpus: Corpus, every: int = 25) -> list[int]:
    """Store the reports in publication order, evaluating alerts every `every` articles; the article ids."""
    ids = []
    for start in range(0, len(corpus.reports), every):
        with session_scope(url, write=True) as session:
            lock_for_ingest(session)
            batch = [prepared(r) for r in corpus.reports[start:start + every]]
            ids += [result.article_id for result in store_articles(session, batch)]
        with session_scope(url, write=True) as session:
            evaluate(session, now=corpus.reports[min(start + every, len(corpus.reports)) - 1].published)
    return ids


def filed(url: str, ids: list[int]) -> tuple[list[int | None], dict[int, str]]:
    with session_scope(url) as session:
        by_article = dict(session.execute(select(IncidentReport.article_id, IncidentReport.incident_id)).all())
        statuses = dict(session.execute(select(Incident.id, Incident.status)).all())
    return [by_article.get(i) for i in ids], statuses


def test_evaluation_purity_completeness_cross_language_and_status(sqlite_url, capsys):
    corpus = build()
    add_outlets(sqlite_url)
    assignment, statuses = filed(sqlite_url, store_and_evaluate(sqlite_url, corpus))
    scores = score(corpus, assignment, statuses)
    with capsys.disabled():
        print("\nincident evaluation:\n  " + "\n  ".join(scores.lines()))
    assert scores.incidents >= 60 and set(scores.languages) == {"en", "ru", "hy", "az", "tr", "fr"}
    assert scores.purity >= 0.95 and scores.completeness >= 0.90
    assert scores.cross_language_recall >= 0.80 and scores.false_cross_language_merges == 0
    assert scores.status_accuracy >= 0.90
    with session_scope(sqlite_url) as session:
        denials = session.execute(select(IncidentReport.role, IncidentReport.incident_id)
                                  .where(IncidentReport.role == "denial")).all()
        incident_alerts = session.scalar(select(func.count()).where(Alert.kind == "incident"))
        incidents = session.scalar(select(func.count()).select_from(Incident))
    expected_denials = sum(r.role == "denial" for r in corpus.reports)
    assert len(denials) == expected_denials and all(incident for _role, incident in denials)
    assert incident_alerts == incidents      # one alert per incident, denials open none


def store_only(url: str, reports) -> list[int]:
    with session_scope(url, write=True) as session:
        lock_for_ingest(session)
        return [result.article_id for result in store_articles(session, [prepared(r) for r in reports])]


def incident_rows(url: str) -> list[Incident]:
    with session_scope(url) as session:
        return list(session.scalars(select(Incident).order_by(Incident.id)))


@pytest.mark.postgres
def test_two_evaluations_at_once_on_postgresql_build_each_incident_once(pg_url):
    corpus = build(incidents=12)
    add_outlets(pg_url)
    ids = store_only(pg_url, corpus.reports)
    results, errors = run_at_once(lambda: evaluate_and_deliver(database_url=pg_url, channels=[]), [(), ()])
    assert errors == [] and sorted(r.evaluated_articles for r in results) == [0, len(ids)]
    assignment, statuses = filed(pg_url, ids)
    scores = score(corpus, assignment, statuses)
    assert len(statuses) == len({r.label for r in corpus.reports}) and not scores.unfiled
    assert scores.purity == 1.0 and scores.completeness == 1.0
    with session_scope(pg_url) as session:
        alerts = session.scalars(select(Alert.dedup_key).where(Alert.kind == "incident")).all()
    assert sorted(alerts) == sorted(f"incident:{i.key}" for i in incident_rows(pg_url))


def test_reevaluating_changes_nothing_and_maintenance_is_idempotent(db_url):
    corpus = build(incidents=8)
    add_outlets(db_url)
    ids = store_and_evaluate(db_url, corpus)
    before = [(i.id, i.status, i.severity, i.casualties) for i in incident_rows(db_url)]
    with session_scope(db_url, write=True) as session:    # every article evaluated again, as if revised
        lexicon = default_lexicon()
        rows = session.execute(select(*ARTICLE_COLUMNS).where(Article.id.in_(ids))).all()
        assert record_incidents(session, list(rows), lexicon, NOW) == []
    first = revisit_recent(database_url=db_url, days=3650)
    second = revisit_recent(database_url=db_url, days=3650)
    after = [(i.id, i.status, i.severity, i.casualties) for i in incident_rows(db_url)]
    assert after == before and first["incidents_merged"] == second["incidents_merged"] == 0


NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


class Item:
    """A report written for one test: (source, language, title, text, hours before NOW)."""

    def __init__(self, source, language, title, text, hours):
        self.source, self.language, self.title, self.text = source, language, title, text
        self.published = NOW - timedelta(hours=hours)


def test_denial_first_then_claim_then_independent_report(sqlite_url):
    add_outlets(sqlite_url)
    denial = Item("am-mod", "hy", "ՊՆ-ն հերքում է", "Պաշտպանության նախարարությունը հերքում է, որ մեր "
                  "ստորաբաժանումները դեկտեմբերի 3-ին հրետակոծել են Թարթառը։", 20)
    claim = Item("az-mod", "en", "Army positions near Tartar shelled", "Armenian forces shelled army positions "
                 "near Tartar on 3 December with mortars, the defence ministry said.", 18)
    confirmation = Item("france-monde", "fr", "Tartar bombardée", "Les forces arméniennes ont bombardé Tartar le "
                        "3 décembre à l'artillerie, selon les autorités locales. 2 civils ont été tués et 2 blessés.", 2)
    for item, expected in ((denial, None), (claim, "disputed"), (confirmation, "corroborated")):
        store_only(sqlite_url, [item])
        with session_scope(sqlite_url, write=True) as session:
            evaluate(session, now=item.published)
        incidents = incident_rows(sqlite_url)
        assert [i.status for i in incidents] == ([expected] if expected else [])
    (incident,) = incidents
    assert (incident.type, incident.place_id, incident.event_date.isoformat()) == ("shelling", "Tartar", "2026-12-03")
    assert incident.acled_sub_event_type == "Shelling/artillery/missile attack" and incident.actor == "AM"
    assert incident.casualties["killed"] == {"min": 2, "max": 2, "reports": [
        {"article_id": incident_article(sqlite_url, "france-monde"), "outlet": "france-monde", "figure": 2}]}
    with session_scope(sqlite_url) as session:
        roles = session.execute(select(IncidentReport.role, IncidentReport.incident_id)).all()
        (alert,) = session.scalars(select(Alert).where(Alert.kind == "incident"))
    assert sorted(roles) == [("denial", incident.id), ("report", incident.id), ("report", incident.id)]
    # raised once, when the claim came (severity 2: shelling); raised to 3, not sent anew, when corroborated
    assert alert.severity == incident.severity == 3 and alert.message.endswith("(corroborated)")
    assert alert.article_id == incident_article(sqlite_url, "az-mod")


def incident_article(url: str, source: str) -> int:
    with session_scope(url) as session:
        return session.scalar(select(IncidentReport.article_id).where(IncidentReport.source == source))


def test_maintenance_merges_incidents_that_are_one_act(sqlite_url, monkeypatch):
    """Stepanakert and Shusha are 6 km apart: one act. Filed with a zero radius they open two
    incidents (as when the report linking them comes last); maintenance merges them once."""
    from newsmon.alerting import incidents as building

    add_outlets(sqlite_url)
    monkeypatch.setattr(building, "LINK_RADIUS_KM", 0.0)
    store_only(sqlite_url, [
        Item("az-mod", "en", "Khankendi shelled", "Armenian forces shelled Khankendi on 3 December with mortars, the "
             "defence ministry said. 2 civilians were killed and 4 were wounded.", 20),
        Item("armenpress", "ru", "Обстрел Шуши", "ВС Армении 3 декабря подвергли Шушу минометному обстрелу. Погибли "
             "2 мирных жителя, 4 человека ранены.", 10)])
    with session_scope(sqlite_url, write=True) as session:
        evaluate(session, now=NOW)
    assert len(incident_rows(sqlite_url)) == 2
    monkeypatch.setattr(building, "LINK_RADIUS_KM", 8.0)
    first = revisit_recent(database_url=sqlite_url, days=3650)
    second = revisit_recent(database_url=sqlite_url, days=3650)
    (incident,) = incident_rows(sqlite_url)
    assert first["incidents_merged"] == 1 and second["incidents_merged"] == 0
    assert incident.status == "corroborated" and incident.casualties["killed"]["max"] == 2   # both sides report it
    with session_scope(sqlite_url) as session:
        reasons = session.scalars(select(IncidentReport.link_reason).order_by(IncidentReport.id)).all()
    assert reasons[1].endswith(f"merged from incident {incident.id + 1} by maintenance")
