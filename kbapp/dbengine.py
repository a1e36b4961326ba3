"""The one way kbapp opens its SQLite files (the catalog, the activity store)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from kbapp.errors import SaveError
from kbapp.fsutil import low_space

#: SQLite's result codes for "the disk is full" and for an I/O error (a full disk can show
#: as either: WAL and shared-memory writes fail with SQLITE_IOERR_*).
_SQLITE_FULL = 13
_SQLITE_IOERR = 10


def sqlite_engine(db_path: Path) -> Engine:
    """An engine on ``db_path`` that the window and the CLI can use at the same time: WAL
    journal, waits up to 30 s for the other's write lock, foreign keys enforced."""
    engine = create_engine(
        f"sqlite:///{db_path}", connect_args={"timeout": 30, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across app crashes
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "handle_error")
    def _disk_full(context: Any) -> None:
        original = context.original_exception
        if not isinstance(original, sqlite3.Error):
            return
        code = getattr(original, "sqlite_errorcode", 0) & 0xFF
        if code == _SQLITE_FULL or (code == _SQLITE_IOERR and low_space(db_path.parent)):
            # Derived data on a full disk: one clear sentence, never "unexpected error" (and
            # never a rebuild, which would need more space still).
            raise SaveError(
                f"Could not update {db_path.name}: the disk is full. Free some space; kbapp "
                "catches up by itself (your documents and commits are not affected).",
                path=str(db_path), reason="disk-full", details=str(original),
            )

    return engine

