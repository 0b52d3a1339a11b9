"""Incidents: one row per act of violence, with the reports (articles) that tell of it.

Written by newsmon.alerting.incidents; the schema is migration 0016.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models import Base


class Incident(Base):
    __tablename__ = "incidents"
    # place in the key: candidates are filtered by the box around a place inside the index
    __table_args__ = (Index("ix_incidents_type_event_date", "type", "event_date", "latitude", "longitude"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Makes creating an incident idempotent: "article=<id of the report that opened it>".
    key: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    acled_event_type: Mapped[str] = mapped_column(String(60))
    acled_sub_event_type: Mapped[str] = mapped_column(String(80))
    event_date: Mapped[date] = mapped_column(Date)
    date_precision: Mapped[str] = mapped_column(String(20))
    first_reported_at: Mapped[datetime] = mapped_column(index=True)
    last_reported_at: Mapped[datetime]
    place_id: Mapped[str] = mapped_column(String(200))
    place_name: Mapped[str] = mapped_column(String(200))
    place_country: Mapped[str] = mapped_column(String(8))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    place_precision: Mapped[str] = mapped_column(String(20))
    severity: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(8))
    casualties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IncidentReport(Base):
    """One article about an incident: a report of it or a denial (incident_id is null while a
    denial waits for the incident it answers)."""

    __tablename__ = "incident_reports"
    __table_args__ = (Index("ix_incident_reports_type_event_date", "type", "event_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), unique=True)
    role: Mapped[str] = mapped_column(String(20))            # report | denial
    source: Mapped[str] = mapped_column(String(200))
    outlet: Mapped[str | None] = mapped_column(String(200))
    side: Mapped[str | None] = mapped_column(String(8))      # the outlet's country
    outlet_type: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(12))
    type: Mapped[str] = mapped_column(String(40))
    concepts: Mapped[list[str]] = mapped_column(default=list)
    severity: Mapped[int] = mapped_column(SmallInteger)
    event_date: Mapped[date] = mapped_column(Date)
    date_precision: Mapped[str] = mapped_column(String(20))
    place_id: Mapped[str] = mapped_column(String(200))
    place_country: Mapped[str] = mapped_column(String(8))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    place_precision: Mapped[str] = mapped_column(String(20))
    killed: Mapped[int | None]
    wounded: Mapped[int | None]
    weapons: Mapped[list[str]] = mapped_column(default=list)
    actor: Mapped[str | None] = mapped_column(String(8))
    evidence: Mapped[str] = mapped_column(Text, default="")
    link_reason: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[datetime]
