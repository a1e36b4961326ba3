"""The local activity store: what happened on this machine, kept in ``.git/kbapp/activity.sqlite``.

Incident sessions (ticks, notes, verdicts), searches made, documents opened, helpful /
not-helpful feedback and the items of onboarding reading lists marked read. Unlike the catalog and the search index this data is *not* rebuildable
from the files, so it lives in its own database and is treated like user data:

- the schema is versioned (``PRAGMA user_version``) and moved forward by numbered migrations,
  each run in one transaction after a backup copy of the file is taken;
- a file from a newer kbapp is refused with a clear message and left untouched;
- an unreadable file is moved aside (``activity.sqlite.unreadable-<time>``), never deleted, and
  the user is told where it is.

Nothing here is ever committed to git by itself: capture and "this runbook was right" write
documents through :meth:`Workspace.save <kbapp.workspace.Workspace.save>` like any other edit.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Dialect,
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    func,
    select,
    text,
)
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from kbapp.dbengine import sqlite_engine
from kbapp.errors import KbError
from kbapp.events import Event
from kbapp.interaction import Level

if TYPE_CHECKING:
    from kbapp.workspace import Workspace

log = logging.getLogger(__name__)

FILE_NAME = "activity.sqlite"


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


# --------------------------------------------------------------------------- schema and migrations


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


class ActivityStoreError(KbError):
    """The activity file cannot be used (from a newer kbapp); it is left untouched."""


# --------------------------------------------------------------------------- the store


class ActivityStore:
    """One SQLite file of local activity. Use :func:`activity_for` to get the workspace's one."""

    def __init__(
        self,
        db_path: Path,
        *,
        migrations: Sequence[Callable[[Connection], None]] = MIGRATIONS,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.migrations = tuple(migrations)
        self._on_problem = on_problem or (lambda message: log.warning("%s", message))
        #: Emitted with the kind of record ("incident", "search", "open", "feedback") after a
        #: write, so that views showing activity can refresh.
        self.changed: Event[str] = Event()
        self.engine = self._open()

    @property
    def schema_version(self) -> int:
        return len(self.migrations)

    def _connect(self) -> Engine:
        return sqlite_engine(self.db_path)

    def _open(self) -> Engine:
        try:
            engine = self._connect()
            with engine.connect() as conn:
                version = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
                conn.exec_driver_sql("PRAGMA quick_check").all()
        except (DatabaseError, sqlite3.DatabaseError) as exc:
            moved = self._move_aside()
            self._on_problem(
                f"The local activity file could not be read ({exc.__class__.__name__}); it was "
                f"kept as {moved.name} in {moved.parent} and a new one was started."
            )
            engine = self._connect()
            version = 0
        if version > self.schema_version:
            engine.dispose()
            raise ActivityStoreError(
                f"the local activity file {self.db_path} was written by a newer kbapp (schema "
                f"{version}; this kbapp knows up to {self.schema_version}); it is left "
                "untouched: update kbapp to use incident mode, feedback and usage figures"
            )
        if version < self.schema_version:
            self._migrate(engine, version)
        return engine

    def _move_aside(self) -> Path:
        stamp = utc_now().strftime("%Y%m%d-%H%M%S")
        target = self.db_path.with_name(f"{self.db_path.name}.unreadable-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.db_path}{suffix}")
            if source.exists():
                os.replace(source, Path(f"{target}{suffix}"))
        return target

    def _migrate(self, engine: Engine, version: int) -> None:
        if version > 0:  # a copy of the user's data before touching its shape
            backup = self.db_path.with_name(f"{self.db_path.name}.before-v{version + 1}")
            with engine.connect() as conn:
                raw = conn.connection.dbapi_connection
                assert raw is not None
                target = sqlite3.connect(backup)
                try:
                    raw.backup(target)
                finally:
                    target.close()
        for number in range(version, self.schema_version):
            with engine.begin() as conn:
                self.migrations[number](conn)
                conn.exec_driver_sql(f"PRAGMA user_version = {number + 1}")
            log.info("activity store %s migrated to schema %d", self.db_path, number + 1)

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # ------------------------------------------------------------------ writing

    def add(self, record: Base, kind: str) -> Any:
        with self.session() as session:
            session.add(record)
            session.commit()
        self.changed.emit(kind)
        return record

    def record_search(
        self,
        query: str,
        hits: int,
        *,
        incident_id: int | None = None,
        at: dt.datetime | None = None,
    ) -> Search | None:
        """Remember a search the user settled on (not every keystroke: the window calls this
        when a query stays unchanged for a moment, or a result is opened)."""
        query = " ".join(query.split())
        if not query:
            return None
        record = Search(
            at=at or utc_now(), query=query[:500], hits=max(0, int(hits)), incident_id=incident_id
        )
        return self.add(record, "search")

    def record_open(
        self,
        doc_id: str,
        *,
        path: str = "",
        title: str = "",
        doc_type: str = "",
        incident_id: int | None = None,
        at: dt.datetime | None = None,
    ) -> Open:
        record = Open(
            at=at or utc_now(),
            doc_id=doc_id,
            path=path,
            title=title,
            type=doc_type,
            incident_id=incident_id,
        )
        return self.add(record, "open")

    def record_feedback(
        self,
        doc_id: str,
        helpful: bool,
        *,
        title: str = "",
        comment: str = "",
        by: str = "",
        incident_id: int | None = None,
        at: dt.datetime | None = None,
    ) -> Feedback:
        record = Feedback(
            at=at or utc_now(),
            doc_id=doc_id,
            title=title,
            helpful=bool(helpful),
            comment=comment.strip(),
            by=by,
            incident_id=incident_id,
        )
        return self.add(record, "feedback")

    def mark_read(
        self, path_id: str, item: str, read: bool = True, at: dt.datetime | None = None
    ) -> None:
        """Tick (or untick) one item of the onboarding path ``path_id``."""
        with self.session() as session:
            existing = session.scalars(
                select(OnboardingRead).where(
                    OnboardingRead.path_id == path_id, OnboardingRead.item == item
                )
            ).first()
            if read and existing is None:
                session.add(OnboardingRead(path_id=path_id, item=item, at=at or utc_now()))
            elif not read and existing is not None:
                session.delete(existing)
            session.commit()
        self.changed.emit("onboarding")

    def reads(self, path_id: str) -> dict[str, dt.datetime]:
        """Items of the onboarding path ``path_id`` marked read, with when."""
        stmt = select(OnboardingRead).where(OnboardingRead.path_id == path_id)
        with self.session() as session:
            return {row.item: row.at for row in session.scalars(stmt)}

    # ------------------------------------------------------------------ reading

    def searches(self, since: dt.datetime | None = None) -> list[Search]:
        stmt = select(Search).order_by(Search.at)
        if since is not None:
            stmt = stmt.where(Search.at >= since)
        with self.session() as session:
            return list(session.scalars(stmt))

    def content_gaps(
        self, since: dt.datetime | None = None, limit: int = 50
    ) -> list[tuple[str, int, dt.datetime]]:
        """Searches that found nothing: (query as first typed, times, last time), most frequent
        first. Queries are grouped case- and space-insensitively."""
        groups: dict[str, list[Search]] = {}
        for search in self.searches(since):
            if search.hits == 0:
                groups.setdefault(search.query.casefold(), []).append(search)
        rows = [(items[0].query, len(items), max(s.at for s in items)) for items in groups.values()]
        rows.sort(key=lambda row: (-row[1], -row[2].timestamp(), row[0].casefold()))
        return rows[:limit]

    def open_counts(self, since: dt.datetime | None = None) -> dict[str, int]:
        """Times each document (by id) was opened on this machine."""
        stmt = select(Open.doc_id, func.count()).group_by(Open.doc_id)
        if since is not None:
            stmt = stmt.where(Open.at >= since)
        with self.session() as session:
            return {str(doc_id): int(count) for doc_id, count in session.execute(stmt)}

    def feedback(
        self, doc_id: str | None = None, since: dt.datetime | None = None
    ) -> list[Feedback]:
        stmt = select(Feedback).order_by(Feedback.at)
        if doc_id is not None:
            stmt = stmt.where(Feedback.doc_id == doc_id)
        if since is not None:
            stmt = stmt.where(Feedback.at >= since)
        with self.session() as session:
            return list(session.scalars(stmt))

    def feedback_counts(self, since: dt.datetime | None = None) -> dict[str, tuple[int, int]]:
        """doc id -> (helpful, not helpful)."""
        out: dict[str, tuple[int, int]] = {}
        for item in self.feedback(since=since):
            yes, no = out.get(item.doc_id, (0, 0))
            out[item.doc_id] = (yes + 1, no) if item.helpful else (yes, no + 1)
        return out

    def incidents(self, since: dt.datetime | None = None) -> list[Incident]:
        stmt = select(Incident).order_by(Incident.started_at)
        if since is not None:
            stmt = stmt.where(Incident.started_at >= since)
        with self.session() as session:
            return list(session.scalars(stmt))


def activity_for(workspace: Workspace) -> ActivityStore:
    """The workspace's activity store (one per open workspace, closed with it)."""

    def make(ws: Workspace) -> ActivityStore:
        def tell(message: str) -> None:
            log.warning("%s", message)
            ws.interaction.notify(message, Level.WARNING)

        return ActivityStore(ws.data_dir / FILE_NAME, on_problem=tell)

    store: ActivityStore = workspace.service("activity", make)
    return store
