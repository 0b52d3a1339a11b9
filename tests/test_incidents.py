"""Incidents: reports grouped per act across outlets and languages, statuses, the `incident` alert."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from incident_eval import OUTLETS, Corpus, build, score
from models import Alert, Source
from models.engine import session_scope
from models.incidents import Incident, IncidentReport
from newsmon.alerting.rules import evaluate
from newsmon.analysis import similarity
from newsmon.core.records import ArticleRecord
from newsmon.storage.store import PreparedArticle, lock_for_ingest, store_article

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
            ids += [store_article(session, prepared(r)).article_id for r in corpus.reports[start:start + every]]
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
