"""The shape of the local activity store (:mod:`kbapp.lifecycle.activity`): its tables as
SQLAlchemy classes and the numbered migrations that make them. They change together: a new
table or column is a new migration appended to :data:`MIGRATIONS` and a mapped class here;
someone's file on disk is at every earlier version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Dialect,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes stored as UTC ISO-8601 text (sortable, readable with the sqlite3 shell)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("activity times must be timezone-aware")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")

    def process_result_value(self, value: str | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _migration_1(conn: Connection) -> None:
    """The first schema: incidents and their timeline, searches, opens, feedback."""
    for statement in (
        """CREATE TABLE incidents (
            id INTEGER PRIMARY KEY,
            ticket TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            systems JSON NOT NULL DEFAULT '[]',
            started_at TEXT NOT NULL,
            ended_at TEXT,
            started_by TEXT NOT NULL DEFAULT '',
            summary TEXT NOT NULL DEFAULT '',
            captured_doc TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX ix_incidents_ticket ON incidents (ticket)",
        """CREATE TABLE incident_events (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents (id),
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            doc_id TEXT NOT NULL DEFAULT '',
            doc_title TEXT NOT NULL DEFAULT '',
            step INTEGER,
            step_text TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX ix_incident_events_incident ON incident_events (incident_id, at)",
        """CREATE TABLE searches (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            query TEXT NOT NULL,
            hits INTEGER NOT NULL,
            incident_id INTEGER REFERENCES incidents (id)
        )""",
        "CREATE INDEX ix_searches_at ON searches (at)",
        """CREATE TABLE opens (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            doc_id TEXT NOT NULL,
            path TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            type TEXT NOT NULL DEFAULT '',
            incident_id INTEGER REFERENCES incidents (id)
        )""",
        "CREATE INDEX ix_opens_doc ON opens (doc_id)",
        """CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            doc_id TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            helpful BOOLEAN NOT NULL,
            comment TEXT NOT NULL DEFAULT '',
            by TEXT NOT NULL DEFAULT '',
            incident_id INTEGER REFERENCES incidents (id)
        )""",
        "CREATE INDEX ix_feedback_doc ON feedback (doc_id)",
    ):
        conn.execute(text(statement))


def _migration_2(conn: Connection) -> None:
    """Onboarding read-tracking: which items of a reading list this person has read."""
    conn.execute(
        text(
            """CREATE TABLE onboarding_reads (
            id INTEGER PRIMARY KEY,
            path_id TEXT NOT NULL,
            item TEXT NOT NULL,
            at TEXT NOT NULL,
            UNIQUE (path_id, item)
        )"""
        )
    )


#: MIGRATIONS[n] takes a database at schema version n to n + 1. Append, never edit or reorder:
#: someone's file on disk is at each of these versions.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_migration_1, _migration_2)


class Base(DeclarativeBase):
    pass


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket: Mapped[str] = mapped_column(String)
    title: Mapped[str] = mapped_column(String, default="")
    systems: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    started_by: Mapped[str] = mapped_column(String, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    #: The id of the post-incident document captured from it ("" until then).
    captured_doc: Mapped[str] = mapped_column(String, default="")

    @property
    def active(self) -> bool:
        return self.ended_at is None

    def duration(self, now: dt.datetime | None = None) -> dt.timedelta:
        end = self.ended_at or now or utc_now()
        return max(end - self.started_at, dt.timedelta(0))


class IncidentEvent(Base):
    """One timestamped thing in an incident's timeline: start, tick, untick, note, verdict, end."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String)
    doc_id: Mapped[str] = mapped_column(String, default="")
    doc_title: Mapped[str] = mapped_column(String, default="")
    step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    step_text: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")


class Search(Base):
    __tablename__ = "searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    query: Mapped[str] = mapped_column(Text)
    hits: Mapped[int] = mapped_column(Integer)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)


class Open(Base):
    __tablename__ = "opens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    doc_id: Mapped[str] = mapped_column(String)
    path: Mapped[str] = mapped_column(String, default="")
    title: Mapped[str] = mapped_column(String, default="")
    type: Mapped[str] = mapped_column(String, default="")
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    doc_id: Mapped[str] = mapped_column(String)
    title: Mapped[str] = mapped_column(String, default="")
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String, default="")
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)


class OnboardingRead(Base):
    """An item of an onboarding reading list (a document id, or ``item-N``) marked read here."""

    __tablename__ = "onboarding_reads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path_id: Mapped[str] = mapped_column(String)
    item: Mapped[str] = mapped_column(String)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
