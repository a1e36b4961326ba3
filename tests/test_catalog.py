"""Catalog: refresh reads only what changed, filters, and rebuilds itself when broken."""

from __future__ import annotations

import os
import sqlite3

from helpers import write_doc

from kbapp.catalog import SCHEMA_VERSION, Catalog
from kbapp.workspace import Workspace

DOC = """---
id: kb-0000000{n}
title: Doc {n}
type: {type}
status: {status}
owner_org: {org}
systems:
  - payments-db
tags:
  - {tag}
---
# Doc {n}
"""


def _fill(kb: Workspace) -> None:
    write_doc(
        kb,
        "a/one.md",
        DOC.format(n=1, type="sop", status="published", org="internal", tag="failover"),
    )
    write_doc(
        kb,
        "a/two.md",
        DOC.format(n=2, type="runbook", status="draft", org="partner", tag="postgres"),
    )
    write_doc(
        kb, "b/three.md", DOC.format(n=3, type="sop", status="draft", org="partner", tag="Failover")
    )


def test_refresh_finds_added_modified_and_removed(kb: Workspace) -> None:
    _fill(kb)
    changes = kb.refresh()
    assert sorted(changes.added) == ["a/one.md", "a/two.md", "b/three.md"]
    assert kb.refresh().read == 0  # nothing changed: nothing read

    path = kb.root / "a/one.md"
    path.write_text(path.read_text().replace("Doc 1", "Doc one"))
    os.utime(path, ns=(1, 1))  # make sure the stat differs even on coarse clocks
    (kb.root / "b/three.md").unlink()
    changes = kb.refresh()
    assert changes.modified == ["a/one.md"] and changes.removed == ["b/three.md"]
    assert kb.catalog.get("a/one.md").title == "Doc one"  # type: ignore[union-attr]


def test_touched_but_unchanged_file_is_not_reported(kb: Workspace) -> None:
    _fill(kb)
    kb.refresh()
    os.utime(kb.root / "a/two.md", ns=(5, 5))
    changes = kb.refresh()
    assert not changes and changes.read == 1


def test_query_filters(kb: Workspace) -> None:
    _fill(kb)
    kb.refresh()
    titles = lambda entries: sorted(e.title for e in entries)  # noqa: E731
    assert titles(kb.catalog.query(type="sop")) == ["Doc 1", "Doc 3"]
    assert titles(kb.catalog.query(type="sop", status="draft")) == ["Doc 3"]
    assert titles(kb.catalog.query(org="partner")) == ["Doc 2", "Doc 3"]
    assert titles(kb.catalog.query(tag="failover")) == ["Doc 1", "Doc 3"]  # case-insensitive
    assert titles(kb.catalog.query(system="payments-db")) == ["Doc 1", "Doc 2", "Doc 3"]
    assert kb.catalog.distinct_values("tags")[0] in ("failover", "Failover", "postgres")


def test_unusable_files_are_listed_with_their_reason(kb: Workspace) -> None:
    (kb.root / "bin.md").write_bytes(b"\x00\x01\x02binary")
    write_doc(kb, "broken.md", "---\ntitle: [oops\n---\nbody\n")
    kb.refresh()
    assert "binary" in kb.catalog.get("bin.md").error  # type: ignore[union-attr]
    broken = kb.catalog.get("broken.md")
    assert broken is not None and broken.error.startswith("front matter") and broken.usable


def test_corrupt_catalog_is_rebuilt(kb: Workspace) -> None:
    _fill(kb)
    kb.refresh()
    db = kb.catalog.db_path
    kb.catalog.close()
    kb._catalog = None
    db.write_bytes(b"this is not sqlite" * 100)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{db}{suffix}"):
            os.unlink(f"{db}{suffix}")
    assert kb.catalog.count() == 0
    assert len(kb.refresh().added) == 3


def test_catalog_from_another_version_is_rebuilt(kb: Workspace) -> None:
    _fill(kb)
    kb.refresh()
    db = kb.catalog.db_path
    kb.catalog.close()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 5),)
        )
    catalog = Catalog(db)
    assert catalog.count() == 0
    assert catalog.get_meta("schema_version") == str(SCHEMA_VERSION)


def test_index_bookkeeping(kb: Workspace) -> None:
    _fill(kb)
    kb.refresh()
    pending = kb.catalog.needs_indexing()
    assert len(pending) == 3
    kb.catalog.mark_indexed({e.path: e.content_hash for e in pending})
    assert kb.catalog.needs_indexing() == []
    kb.catalog.forget_indexing()
    assert len(kb.catalog.needs_indexing()) == 3
    # after a full build, in one transaction: only what it indexed is indexed, and its id
    kb.catalog.mark_indexed({e.path: e.content_hash for e in pending})
    first, *rest = pending
    kb.catalog.mark_reindexed({first.path: first.content_hash}, {"search_index": "abc"})
    assert sorted(e.path for e in kb.catalog.needs_indexing()) == sorted(e.path for e in rest)
    assert sorted(kb.catalog.stale_paths()) == sorted(e.path for e in rest)
    assert kb.catalog.get_meta("search_index") == "abc"
    kb.catalog.mark_reindexed({}, {"search_index": "def"})
    assert len(kb.catalog.needs_indexing()) == 3
    assert kb.catalog.get_meta("search_index") == "def"


def test_refreshes_from_several_processes_at_once_agree(kb: Workspace) -> None:
    """Each refresh reads what is known, then writes what changed; run side by side (the
    window and a CLI save), both saw a new file as new and inserted it twice."""
    import subprocess
    import sys

    for n in range(150):
        write_doc(kb, f"runbooks/new-{n}.md", f"---\nid: kb-{n:08x}\ntitle: New {n}\n---\nText\n")
    script = (
        "import sys; from pathlib import Path; from kbapp.catalog import Catalog\n"
        "root = Path(sys.argv[1]); paths = [str(p.relative_to(root)) for p in "
        "root.rglob('*.md') if '.kb' not in p.parts]\n"
        "print(len(Catalog(Path(sys.argv[2])).refresh(root, paths).added))\n"
    )
    db = kb.data_dir / "catalog.sqlite"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(kb.root), str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _out, err in outputs]
    added = sorted(int(out) for out, _err in outputs)
    assert added[-1] >= 150 and added[:-1] == [0, 0, 0]  # one of them added them, once
    assert sum(1 for e in Catalog(db).all() if e.path.startswith("runbooks/new-")) == 150


def test_outline_rows_and_the_shelf_are_core(kb: Workspace) -> None:
    """What the browse panel shows comes from the core: the catalog's rows, the shelf's file."""
    from kbapp.settings import Shelf

    write_doc(
        kb,
        "sops/vpn.md",
        "---\nid: kb-0000aa01\ntitle: VPN\ntype: sop\nsystems: [vpn, fw]\n---\n# VPN\n",
    )
    kb.refresh()
    rows = {row[0]: row for row in kb.catalog.outline_rows()}
    assert rows["sops/vpn.md"] == ("sops/vpn.md", "VPN", "sop", ["vpn", "fw"])
    shelf = Shelf(kb.data_dir)
    shelf.opened("sops/vpn.md")
    assert shelf.toggle_pin("sops/vpn.md") is True
    again = Shelf(kb.data_dir)
    assert again.pinned == ["sops/vpn.md"] and again.recent == ["sops/vpn.md"]
    again.forget(["sops/vpn.md"])
    assert Shelf(kb.data_dir).pinned == []
