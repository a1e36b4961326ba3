"""The catalog: one SQLite row per document with its metadata and a content hash.

Derived data, kept outside the tracked tree (``.git/kbapp/catalog.sqlite``) and never the
source of truth: it is refreshed from the files (only files whose size or mtime changed are
re-read, and only those whose hash changed are re-parsed) and rebuilt without asking when it is
missing, corrupt, or from another version of kbapp. It answers listing and filtering at once,
and tells the search index which documents changed since it last looked (``indexed_hash``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock
from sqlalchemy import (
    JSON,
    Boolean,
    Engine,
    Integer,
    String,
    Text,
    delete,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from kbapp.dbengine import sqlite_engine
from kbapp.documents import frontmatter, schema
from kbapp.documents import model as documents
from kbapp.documents.links import extract_links
from kbapp.errors import DocumentError

log = logging.getLogger(__name__)

#: Bump when the tables change; a catalog with another version is rebuilt from the files.
SCHEMA_VERSION = 4


#: Catalog columns that hold a list of plain values (JSON arrays SQLite's json_each can read).
_TEXT_LIST_COLUMNS = tuple(f.catalog for f in schema.CATALOGUED if f.is_text_list)


class Base(DeclarativeBase):
    pass


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(String)


class Entry(Base):
    """One document as the catalog knows it."""

    __tablename__ = "documents"

    path: Mapped[str] = mapped_column(String, primary_key=True)
    doc_id: Mapped[str] = mapped_column(String, index=True)
    has_id: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String, default="")
    type: Mapped[str] = mapped_column(String, default="", index=True)
    status: Mapped[str] = mapped_column(String, default="", index=True)
    owner_org: Mapped[str] = mapped_column(String, default="", index=True)
    sensitivity: Mapped[str] = mapped_column(String, default="shared")
    template: Mapped[str] = mapped_column(String, default="")
    review_interval: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_reviewed: Mapped[str | None] = mapped_column(String, nullable=True)
    reviewed_by: Mapped[str] = mapped_column(String, default="")
    review_due: Mapped[str | None] = mapped_column(String, nullable=True)
    owners: Mapped[list[str]] = mapped_column(JSON, default=list)
    systems: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    incidents: Mapped[list[str]] = mapped_column(JSON, default=list)
    related: Mapped[list[str]] = mapped_column(JSON, default=list)
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    headings: Mapped[list[str]] = mapped_column(JSON, default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Why the file is not usable as a document (binary, not UTF-8...), or the YAML problem.
    error: Mapped[str] = mapped_column(Text, default="")
    has_front_matter: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int] = mapped_column(Integer, default=0)
    mtime_ns: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String, default="")
    #: The content hash the search index last indexed ("" = needs indexing).
    indexed_hash: Mapped[str] = mapped_column(String, default="")

    @property
    def last_reviewed_date(self) -> dt.date | None:
        return documents.as_date(self.last_reviewed)

    @property
    def review_due_date(self) -> dt.date | None:
        return documents.as_date(self.review_due)

    @property
    def usable(self) -> bool:
        """False for files that are not documents at all (binary, too large, not UTF-8)."""
        return not self.error or self.error.startswith("front matter")

    def to_dict(self) -> dict[str, Any]:
        """The document's catalogued fields named and nested as in its front matter (and
        ``path`` after ``id``, ``error`` last): what ``kbapp list --json`` prints."""
        out: dict[str, Any] = {}
        for fld in schema.CATALOGUED:
            value = getattr(self, fld.catalog)
            target = out.setdefault(fld.top, {}) if "." in fld.name else out
            target[fld.key] = list(value) if isinstance(value, list) else value
            if fld.name == "id":
                out["path"] = self.path
        out["error"] = self.error
        return out


@dataclass
class CatalogChanges:
    """What a refresh found; the search index updates exactly these paths."""

    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    scanned: int = 0
    read: int = 0
    elapsed: float = 0.0

    @property
    def changed_paths(self) -> list[str]:
        return self.added + self.modified

    def __bool__(self) -> bool:
        return bool(self.added or self.modified or self.removed)


def entry_values(doc: documents.Document) -> dict[str, Any]:
    """Catalog column values for a parsed document."""
    error = ""
    if doc.front_matter_error is not None:
        error = f"front matter: {doc.front_matter_error}"
    values: dict[str, Any] = {}
    for fld in schema.CATALOGUED:  # each as the document reads it, defaults applied
        value = getattr(doc, fld.attribute)
        values[fld.catalog] = value.isoformat() if isinstance(value, dt.date) else value
    return {
        **values,
        "has_id": isinstance(doc.meta.get("id"), str),
        "links": [link.key() for link in extract_links(doc.body)],
        "headings": [h.text for h in doc.headings()][:200],
        "meta": frontmatter.plain(doc.meta),
        "error": error,
        "has_front_matter": doc.has_front_matter,
    }


@contextlib.contextmanager
def _writer_lock(db_path: Path) -> Iterator[None]:
    """One process at a time opens (maybe rebuilds) or refreshes the catalog: a refresh reads
    what is known, then writes what changed, and two of them interleaved (a CLI save beside
    the window's) inserted the same new path twice."""
    lock = FileLock(f"{db_path}.lock")  # waits as long as it takes, like the refresh itself
    try:
        lock.acquire()
    except OSError:  # read-only data folder: nobody can rebuild, nothing to serialise
        yield
        return
    try:
        yield
    finally:
        lock.release()


class Catalog:
    """The SQLite catalog of one knowledge base."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = self._open()

    # ------------------------------------------------------------------ opening

    def _open(self) -> Engine:
        # Two kbapps opening at once (window + CLI) must not both rebuild: one would delete
        # the file (and its -wal) the other is already using.
        with _writer_lock(self.db_path):
            return self._open_locked()

    def _open_locked(self) -> Engine:
        try:
            engine = self._connect()
            if self._version(engine) == SCHEMA_VERSION:
                return engine
            engine.dispose()
            log.info("catalog %s is from another kbapp version; rebuilding", self.db_path)
        except (DatabaseError, sqlite3.DatabaseError) as exc:
            log.warning("catalog %s is unreadable (%s); rebuilding", self.db_path, exc)
        self._delete_files()
        engine = self._connect()
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            session.merge(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
            session.commit()
        return engine

    def _connect(self) -> Engine:
        return sqlite_engine(self.db_path)

    def _version(self, engine: Engine) -> int | None:
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'")
            ).first()
            if not exists:
                return None
            row = conn.execute(text("SELECT value FROM meta WHERE key='schema_version'")).first()
            conn.execute(text("SELECT count(*) FROM documents")).first()  # reads a page: corrupt?
        try:
            return int(row[0]) if row else None
        except ValueError:
            return None

    def _delete_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(f"{self.db_path}{suffix}")
            except FileNotFoundError:
                pass

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # ------------------------------------------------------------------ refresh

    def refresh(
        self,
        root: Path,
        paths: Iterable[str],
        *,
        only: Iterable[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> CatalogChanges:
        """Bring the catalog in step with the files.

        ``paths`` are all document paths of the knowledge base (relative). With ``only``, just
        those paths are checked (after a save, or the paths a pull changed) and ``paths`` is
        used to tell a removal from a file that is simply not listed.
        """
        started = time.perf_counter()
        changes = CatalogChanges()
        wanted = set(paths)
        with _writer_lock(self.db_path), self.session() as session:
            known = {
                row.path: (row.size, row.mtime_ns, row.content_hash)
                for row in session.execute(
                    select(Entry.path, Entry.size, Entry.mtime_ns, Entry.content_hash)
                )
            }
            check = sorted(set(only) if only is not None else wanted)
            if only is None:
                removed = [p for p in known if p not in wanted]
            else:
                removed = [p for p in check if p in known and p not in wanted]
            total = len(check)
            for number, relative in enumerate(check, start=1):
                if progress and number % 200 == 0:
                    progress(number, total)
                if relative not in wanted:
                    continue
                changes.scanned += 1
                full = root / relative
                try:
                    st = full.stat()
                except OSError:
                    if relative in known:
                        removed.append(relative)
                    continue
                before = known.get(relative)
                if before and before[0] == st.st_size and before[1] == st.st_mtime_ns:
                    continue
                changes.read += 1
                values = self._read(full, relative)
                values.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
                if before and before[2] == values["content_hash"]:
                    session.execute(
                        update(Entry)
                        .where(Entry.path == relative)
                        .values(size=st.st_size, mtime_ns=st.st_mtime_ns)
                    )
                    continue
                session.merge(Entry(path=relative, indexed_hash="", **values))
                (changes.modified if before else changes.added).append(relative)
            for relative in removed:
                session.execute(delete(Entry).where(Entry.path == relative))
            changes.removed = sorted(set(removed))
            session.commit()
        if progress:
            progress(len(check), len(check))
        changes.elapsed = time.perf_counter() - started
        return changes

    @staticmethod
    def _read(full: Path, relative: str) -> dict[str, Any]:
        try:
            data = documents.read_document_bytes(full, relative)
        except DocumentError as exc:
            return _unusable(relative, exc.reason, "")
        digest = documents.content_hash(data)
        try:
            doc = documents.parse(data, relative)
        except DocumentError as exc:
            return _unusable(relative, exc.reason, digest)
        values = entry_values(doc)
        values["content_hash"] = digest
        return values

    # ------------------------------------------------------------------ queries

    def all(self) -> list[Entry]:
        with self.session() as session:
            return list(session.scalars(select(Entry).order_by(Entry.path)))

    def outline_rows(self) -> list[tuple[str, str, str, list[str]]]:
        """(path, title, type, systems) of every document, light rows for the browse tree."""
        stmt = select(Entry.path, Entry.title, Entry.type, Entry.systems)
        with self.session() as session:
            return [
                (path, title or "", doc_type or "", [str(s) for s in systems or []])
                for path, title, doc_type, systems in session.execute(stmt)
            ]

    def summaries(self, columns: Sequence[str]) -> list[Any]:
        """Just ``columns`` of every usable document, ordered by path, as light rows with
        attribute access like an :class:`Entry` (``row.title``). For views over thousands of
        documents (review queue, responsibility matrix, handovers): no ORM objects, about a
        fifth of the objects and several times faster than :meth:`all`, so a worker building
        them hardly competes with the window for the interpreter."""
        usable = or_(Entry.error == "", Entry.error.startswith("front matter"))
        stmt = select(*(getattr(Entry, name) for name in columns)).where(usable)
        with self.session() as session:
            return list(session.execute(stmt.order_by(Entry.path)))

    def files(self) -> list[tuple[str, int, int]]:
        """(path, size, mtime_ns) of every document as last read: no ORM objects, so 6 ms
        where :meth:`all` takes 200 for 6,000 documents."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(Entry.path, Entry.size, Entry.mtime_ns))
            return [(str(p), int(s or 0), int(m or 0)) for p, s, m in rows]

    def stale_paths(self) -> list[str]:
        """Paths whose indexed content is not their current content."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(Entry.path).where(Entry.indexed_hash != Entry.content_hash))
            return [str(row[0]) for row in rows]

    def get(self, path: str) -> Entry | None:
        with self.session() as session:
            return session.get(Entry, path)

    def by_id(self, doc_id: str) -> list[Entry]:
        with self.session() as session:
            return list(session.scalars(select(Entry).where(Entry.doc_id == doc_id)))

    def by_title(self, title: str) -> list[Entry]:
        with self.session() as session:
            return list(
                session.scalars(select(Entry).where(Entry.title.collate("NOCASE") == title))
            )

    def titles(self) -> list[tuple[str, str, str]]:
        """(path, title, type) of every usable document, by path: what the palette offers."""
        with self.session() as session:
            rows = session.execute(
                select(Entry.path, Entry.title, Entry.type)
                .where(or_(Entry.error == "", Entry.error.startswith("front matter")))
                .order_by(Entry.path)
            )
            return [(path, title or path, doc_type) for path, title, doc_type in rows]

    def ids(self) -> set[str]:
        with self.session() as session:
            return set(session.scalars(select(Entry.doc_id)))

    def count(self) -> int:
        with self.session() as session:
            return int(session.scalar(text("SELECT count(*) FROM documents")) or 0)

    def query(
        self,
        *,
        type: str | None = None,  # noqa: A002 - the user's word
        status: str | None = None,
        org: str | None = None,
        tag: str | None = None,
        system: str | None = None,
        owner: str | None = None,
    ) -> list[Entry]:
        stmt = select(Entry).order_by(Entry.title)
        if type:
            stmt = stmt.where(Entry.type == type)
        if status:
            stmt = stmt.where(Entry.status == status)
        if org:
            stmt = stmt.where(Entry.owner_org == org)
        for column, value in (("tags", tag), ("systems", system), ("owners", owner)):
            if value:
                stmt = stmt.where(
                    text(
                        f"EXISTS (SELECT 1 FROM json_each(documents.{column}) "
                        f"WHERE lower(json_each.value) = lower(:{column}_value))"
                    ).bindparams(**{f"{column}_value": value})
                )
        with self.session() as session:
            return list(session.scalars(stmt))

    def distinct_values(self, column: str) -> list[str]:
        """All values of a list column (tags, systems, owners) for completion, most used first."""
        if column not in _TEXT_LIST_COLUMNS:
            raise ValueError(column)
        sql = text(
            f"SELECT json_each.value AS v, count(*) AS n FROM documents, "
            f"json_each(documents.{column}) GROUP BY v ORDER BY n DESC, v"
        )
        with self.engine.connect() as conn:
            return [str(row[0]) for row in conn.execute(sql)]

    # ------------------------------------------------------------------ index bookkeeping

    def needs_indexing(self) -> list[Entry]:
        with self.session() as session:
            return list(
                session.scalars(select(Entry).where(Entry.indexed_hash != Entry.content_hash))
            )

    def mark_indexed(self, hashes: dict[str, str]) -> None:
        """Record that the index now holds these paths at these content hashes."""
        if not hashes:
            return
        # One executemany: a full build marks tens of thousands of rows at once.
        with self.engine.begin() as conn:
            conn.execute(
                text("UPDATE documents SET indexed_hash = :digest WHERE path = :path"),
                [{"path": path, "digest": digest} for path, digest in hashes.items()],
            )

    def mark_reindexed(self, hashes: dict[str, str], meta: dict[str, str]) -> None:
        """After a full build, in one transaction: no document is indexed but ``hashes``
        ({path: content hash}, as :meth:`mark_indexed`), and the ``meta`` values set
        (:meth:`set_meta`). Only the rows whose record changes are written (a rebuild of
        unchanged files writes none: rewriting every row filled the write-ahead log past
        its checkpoint, a flush to disk on every rebuild)."""
        with self.engine.begin() as conn:
            recorded = conn.exec_driver_sql("SELECT path, indexed_hash FROM documents")
            changes = [
                (wanted, path)
                for path, indexed in recorded
                if indexed != (wanted := hashes.get(path, ""))
            ]
            if changes:
                # the driver's executemany with plain tuples: SQLAlchemy's own handling of
                # each row's parameters was most of the time
                conn.exec_driver_sql(
                    "UPDATE documents SET indexed_hash = ? WHERE path = ?", changes
                )
            for key, value in meta.items():
                conn.execute(
                    text("INSERT OR REPLACE INTO meta (key, value) VALUES (:key, :value)"),
                    {"key": key, "value": value},
                )

    def forget_indexing(self) -> None:
        """The index was rebuilt or lost: every document needs indexing again."""
        with self.session() as session:
            session.execute(update(Entry).values(indexed_hash=""))
            session.commit()

    def get_meta(self, key: str) -> str | None:
        with self.session() as session:
            row = session.get(Meta, key)
            return row.value if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.session() as session:
            session.merge(Meta(key=key, value=value))
            session.commit()


def _unusable(relative: str, reason: str, digest: str) -> dict[str, Any]:
    return {
        "doc_id": documents.derived_id(relative),
        "has_id": False,
        "title": relative.rsplit("/", 1)[-1],
        "type": "",
        "status": "",
        "owner_org": "",
        "error": reason,
        "content_hash": digest,
        "meta": {},
    }


def dumps_entries(entries: Iterable[Entry]) -> str:
    return json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False)
