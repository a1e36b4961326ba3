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

The tables and their migrations are :mod:`kbapp.lifecycle.activity_schema`; here the store:
opening, migrating, moving an unreadable file aside, the records and the queries.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from kbapp.dbengine import sqlite_engine
from kbapp.errors import KbError
from kbapp.events import Event
from kbapp.interaction import Level
from kbapp.lifecycle.activity_schema import (
    MIGRATIONS,
    Base,
    Feedback,
    Incident,
    IncidentEvent,
    OnboardingRead,
    Open,
    Search,
    UtcDateTime,
    utc_now,
)

if TYPE_CHECKING:
    from kbapp.workspace import Workspace

__all__ = [
    "MIGRATIONS",
    "ActivityStore",
    "ActivityStoreError",
    "Base",
    "Feedback",
    "Incident",
    "IncidentEvent",
    "OnboardingRead",
    "Open",
    "Search",
    "UtcDateTime",
    "activity_for",
    "utc_now",
]

log = logging.getLogger(__name__)

FILE_NAME = "activity.sqlite"


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
