"""The local activity store is user data: versioned, migrated with a backup, never dropped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from lifecycle_helpers import at
from sqlalchemy import Connection, text

from kbapp.interaction import Level, SilentInteraction
from kbapp.lifecycle.activity import MIGRATIONS, ActivityStore, ActivityStoreError, activity_for
from kbapp.workspace import Workspace


def _version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_new_store_is_at_the_latest_schema_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "activity.sqlite"
    store = ActivityStore(path)
    store.record_search("  vpn   down ", 0, at=at("2026-06-01 10:00"))
    store.record_search("", 0)  # nothing typed: not recorded
    store.record_feedback(
        "kb-00000001", False, comment=" wrong port ", by="a@x.example", at=at("2026-06-01 10:05")
    )
    store.close()
    assert _version(path) == len(MIGRATIONS)
    again = ActivityStore(path)
    assert [(s.query, s.hits, s.at) for s in again.searches()] == [
        ("vpn down", 0, at("2026-06-01 10:00"))
    ]
    assert [(f.helpful, f.comment) for f in again.feedback()] == [(False, "wrong port")]
    again.close()


def test_content_gaps_group_case_and_space_and_count(tmp_path: Path) -> None:
    store = ActivityStore(tmp_path / "a.sqlite")
    for when, query, hits in [
        ("2026-05-01 09:00", "ORA-00060", 0),
        ("2026-05-02 09:00", "ora-00060 ", 0),
        ("2026-05-03 09:00", "ORA-00060", 0),
        ("2026-05-03 10:00", "vpn split tunnel", 0),
        ("2026-05-04 09:00", "vpn", 3),
        ("2026-01-01 09:00", "old gap", 0),
        ("2026-05-05 09:00", "cert expiry", 0),
    ]:
        store.record_search(query, hits, at=at(when))
    gaps = store.content_gaps(since=at("2026-04-01 00:00"))
    assert [(q, n) for q, n, _ in gaps] == [
        ("ORA-00060", 3),
        ("cert expiry", 1),
        ("vpn split tunnel", 1),
    ]
    assert gaps[0][2] == at("2026-05-03 09:00")
    store.close()


def test_a_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "activity.sqlite"
    ActivityStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    before = path.read_bytes()
    with pytest.raises(ActivityStoreError, match="newer kbapp"):
        ActivityStore(path)
    assert path.read_bytes() == before


def test_an_unreadable_file_is_kept_aside_and_the_user_told(kb: Workspace) -> None:
    path = kb.data_dir / "activity.sqlite"
    path.write_bytes(b"this is not a database at all" * 100)
    told = SilentInteraction()
    kb.interaction = told
    store = activity_for(kb)
    store.record_search("x", 1)
    kept = list(kb.data_dir.glob("activity.sqlite.unreadable-*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"this is not a database")
    assert told.messages and told.messages[0][0] is Level.WARNING
    assert "could not be read" in told.messages[0][1]


def test_migrations_run_in_order_after_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "activity.sqlite"
    store = ActivityStore(path)
    store.record_search("kept across the migration", 0, at=at("2026-06-01 10:00"))
    store.close()

    def add_pinned(conn: Connection) -> None:
        conn.execute(text("ALTER TABLE searches ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT 0"))

    newer = ActivityStore(path, migrations=(*MIGRATIONS, add_pinned))
    assert newer.schema_version == len(MIGRATIONS) + 1
    assert _version(path) == len(MIGRATIONS) + 1
    assert [s.query for s in newer.searches()] == ["kept across the migration"]
    newer.close()
    backup = path.with_name(f"activity.sqlite.before-v{len(MIGRATIONS) + 1}")
    assert _version(backup) == len(MIGRATIONS)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT query, pinned FROM searches").fetchall() == [
            ("kept across the migration", 0)
        ]


def test_one_store_per_workspace_closed_with_it(kb: Workspace) -> None:
    assert activity_for(kb) is activity_for(kb)
    assert (kb.data_dir / "activity.sqlite").exists()
    assert kb.data_dir.parent.name == ".git"  # never in the tracked tree
