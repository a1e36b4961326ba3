"""The index's life: cheap catch-up when nothing changed, a search process that loads only
what it needs, failures that surface, a bounded vocabulary, a pinned Whoosh, and "still
indexing (N %)" while a build runs (real index on disk, real git, real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest
import whoosh
from helpers import REPO_ROOT, write_doc
from search_helpers import DOCS, front, populate

from kbapp.search import SearchIndex, stamp, vocabulary, whoosh_fixes
from kbapp.settings import Settings
from kbapp.workspace import Workspace


@pytest.fixture
def indexed(kb: Workspace) -> SearchIndex:
    populate(kb)
    index = SearchIndex.for_workspace(kb)
    assert index.catch_up() == len(DOCS)
    return index


def paths(index: SearchIndex, query: str) -> list[str]:
    return [hit.path for hit in index.search(query).hits]


def reopen(root: Path, settings: Settings) -> SearchIndex:
    return SearchIndex.for_workspace(Workspace.open(root, settings))


# ---------------------------------------------------------------------- the search process

SEARCH_PROCESS = """
import sys
from kbapp.cli import main
status = main(["--kb", sys.argv[1], "search", sys.argv[2]])
loaded = [name for name in ("sqlalchemy", "git", "yaml", "ruamel.yaml", "tomlkit",
                            "kbapp.catalog", "kbapp.documents.model", "kbapp.cli.sync",
                            "kbapp.cli.documents", "kbapp.cli.lifecycle", "kbapp.cli.incident",
                            "kbapp.search.segment", "kbapp.search.build",
                            # the meaning re-ranker reads its model's files itself
                            "wordllama", "numpy", "tokenizers",
                            # what Whoosh imports and never uses (kbapp.search.whoosh_import)
                            "urllib.request", "http.client", "email", "ssl", "asyncio",
                            "cached_property", "whoosh.lang.morph_en",
                            # what only commands that write need (kbapp.workspace)
                            "kbapp.sync.git", "kbapp.identity", "kbapp.documents.links",
                            "kbapp.workspace_save", "kbapp.workspace_init", "subprocess",
                            "importlib.resources",
                            ) if name in sys.modules]
print("LOADED", ",".join(loaded), status)
"""


def test_a_search_process_loads_neither_sqlalchemy_nor_git(indexed: SearchIndex) -> None:
    root = indexed.ws.root
    indexed.ws.close()
    done = subprocess.run(
        [sys.executable, "-c", SEARCH_PROCESS, str(root), "etcd leader"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "runbooks/etcd-no-leader.md" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "LOADED  0"


def test_a_search_process_after_a_change_catches_up_and_answers(
    indexed: SearchIndex, settings: Settings
) -> None:
    root = indexed.ws.root
    indexed.ws.close()
    write_doc(
        Workspace(root, settings),
        "runbooks/kraken.md",
        front("kb-0000c0de", "Kraken alert", "runbook") + "Release the kraken.\n",
    )
    done = subprocess.run(
        [sys.executable, "-c", SEARCH_PROCESS, str(root), "kraken"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "runbooks/kraken.md" in done.stdout
    # something changed: the exact path (catalog) ran, and left a new stamp behind
    assert "sqlalchemy" in done.stdout.strip().splitlines()[-1]
    index = reopen(root, settings)
    try:
        assert index.up_to_date()
    finally:
        index.ws.close()


def test_command_modules_named_for_lazy_loading_register_those_commands() -> None:
    import argparse
    import importlib

    from kbapp.cli import COMMAND_MODULE_OF

    for command, module_name in COMMAND_MODULE_OF.items():
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(module_name).register(sub)
        assert command in sub.choices, (command, module_name)


# ---------------------------------------------------------------------- the stamp


def test_nothing_changed_is_answered_without_the_catalog(
    indexed: SearchIndex, settings: Settings
) -> None:
    root = indexed.ws.root
    indexed.ws.close()
    index = reopen(root, settings)
    try:
        assert index.up_to_date()
        assert index.catch_up() == 0
        assert index.ws._catalog is None  # never opened
    finally:
        index.ws.close()


@pytest.mark.parametrize(
    "change", ["edit", "same-size-edit", "add", "add-folder", "delete", "rename", "gitignore"]
)
def test_every_kind_of_change_is_seen(
    indexed: SearchIndex, settings: Settings, change: str
) -> None:
    root = indexed.ws.root
    indexed.ws.close()
    target = root / "runbooks" / "etcd-no-leader.md"
    time.sleep(0.01)
    if change == "edit":
        target.write_text(target.read_text() + "\nWalrus.\n")
    elif change == "same-size-edit":
        text = target.read_text()
        target.write_text(text.replace("etcd", "ETCD", 1))
        os.utime(target, ns=(time.time_ns(), time.time_ns() + 10**9))
    elif change == "add":
        (root / "runbooks" / "walrus.md").write_text(
            front("kb-0000aa01", "Walrus", "runbook") + "Walrus.\n"
        )
    elif change == "add-folder":
        (root / "runbooks" / "deep" / "er").mkdir(parents=True)
        (root / "runbooks" / "deep" / "er" / "walrus.md").write_text(
            front("kb-0000aa02", "Walrus", "runbook") + "Walrus.\n"
        )
    elif change == "delete":
        target.unlink()
    elif change == "rename":
        target.rename(root / "runbooks" / "walrus.md")
    else:
        (root / ".gitignore").write_text((root / ".gitignore").read_text() + "runbooks/\n")
    index = reopen(root, settings)
    try:
        assert not index.up_to_date()
        # (tracked files stay documents whatever .gitignore says: checked, nothing to index)
        assert index.catch_up() >= (0 if change == "gitignore" else 1)
        assert index.up_to_date()
        walrus = paths(index, "walrus ")
        if change in ("edit", "add", "add-folder"):
            assert walrus
        if change == "delete":
            assert "runbooks/etcd-no-leader.md" not in paths(index, "etcdnoleader ")
    finally:
        index.ws.close()


@pytest.mark.parametrize("by_listing", [False, True], ids=["stat", "listing"])
@pytest.mark.parametrize(
    "change", ["in-place-edit", "same-size-in-place-edit", "new-file", "deleted", "renamed"]
)
def test_the_stamp_on_disk_notices_each_change_to_the_files(
    indexed: SearchIndex, change: str, by_listing: bool
) -> None:
    """The stamp a catch-up left next to the index, read back from disk, against the real
    files: a ``stat`` per file (Linux, macOS) or one listing per folder (Windows)."""
    root = indexed.ws.root
    found = stamp.load(indexed.directory)
    assert found is not None and len(found["paths"]) == len(DOCS)  # type: ignore[arg-type]
    assert stamp.unchanged(root, found, by_listing=by_listing)
    target = root / "runbooks" / "etcd-no-leader.md"
    time.sleep(0.05)  # past the file system's clock tick
    if change == "in-place-edit":
        with target.open("ab") as handle:  # as an editor that rewrites the file in place
            handle.write(b"\nWalrus.\n")
    elif change == "same-size-in-place-edit":
        with target.open("r+b") as handle:
            first = handle.read(1)
            handle.seek(0)
            handle.write(first)  # the same bytes: only the modification time says it
    elif change == "new-file":
        (root / "runbooks" / "walrus.md").write_text(front("kb-0000aa01", "Walrus", "runbook"))
    elif change == "deleted":
        target.unlink()
    else:
        target.rename(root / "runbooks" / "walrus.md")
    assert not stamp.unchanged(root, found, by_listing=by_listing)


def test_the_stamp_reads_back_what_was_written(tmp_path: Path) -> None:
    (tmp_path / "é t").mkdir()
    files = [("é t/ünï côdé.md", 12, 1_700_000_000_123_456_789), ("top.md", 0, -1)]
    stamp.save(tmp_path, stamp.take(tmp_path, files, time.time_ns() + 10**9))
    found = stamp.load(tmp_path)
    assert found is not None
    assert found["paths"] == ["é t/ünï côdé.md", "top.md"]
    assert found["sizes"] == [12, 0] and found["mtimes"] == [1_700_000_000_123_456_789, -1]
    assert set(found["folders"]) == {"", "é t"}  # type: ignore[arg-type]
    (tmp_path / stamp.STAMP_FILE).write_bytes(b'{"format": 2, "count": 5}\nshort')
    assert stamp.load(tmp_path) is None  # cut short: the exact path (catalog) will run


def test_a_folder_changed_during_the_catch_up_is_checked_again(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.md").write_text("x")
    st = (tmp_path / "a" / "x.md").stat()
    began = time.time_ns() - 10**12  # long before the folder's last change
    taken = stamp.take(tmp_path, [("a/x.md", st.st_size, st.st_mtime_ns)], began)
    assert taken["folders"]["a"] == 0  # type: ignore[index]
    assert not stamp.unchanged(tmp_path, taken)
    taken = stamp.take(tmp_path, [("a/x.md", st.st_size, st.st_mtime_ns)], time.time_ns() + 10**9)
    assert stamp.unchanged(tmp_path, taken)


# ---------------------------------------------------------------------- failures


def test_a_programming_error_surfaces_and_triggers_no_rebuild(
    indexed: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Whoosh that lost an attribute kbapp uses is a bug to see, not a damaged index."""
    from whoosh.searching import Searcher

    monkeypatch.delattr(Searcher, "avg_field_length")
    with pytest.raises(AttributeError):
        indexed.search("payments replica postgres")
    assert not indexed.needs_rebuild
    monkeypatch.undo()
    assert paths(indexed, "etcdnoleader ") == ["runbooks/etcd-no-leader.md"]


def test_whoosh_is_pinned_to_the_version_the_patches_are_for() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [d for d in project["project"]["dependencies"] if d.startswith("whoosh-reloaded")]
    version = ".".join(map(str, whoosh_fixes.WHOOSH_VERSION))
    assert pins == [f"whoosh-reloaded=={version}"]
    assert whoosh.versionstring() == version
    assert whoosh_fixes.missing_private_names() == []


def test_the_private_names_read_from_whoosh_objects_are_there(indexed: SearchIndex) -> None:
    """The block readers use attributes of Whoosh's objects, not only of its classes."""
    from whoosh.matching.wrappers import FilterMatcher

    from kbapp.search.schema import SEQUENCE_FIELD

    indexed.search("etcd ")
    reader = indexed._searcher.reader()  # type: ignore[union-attr]
    leaf = next(iter(r for r, _ in reader.leaf_readers()))
    column = leaf.column_reader(SEQUENCE_FIELD, translate=False)
    for name in ("_offsets", "_lengths", "_basepos", "_dbfile"):
        assert hasattr(column, name), name
    assert hasattr(leaf, "_perdoc")
    term = next(t for t in leaf.lexicon("body"))
    matcher = leaf.postings("body", term)
    matcher = matcher.child if isinstance(matcher, FilterMatcher) else matcher
    if type(matcher).__name__ == "W3LeafMatcher":
        names = ("_ids", "_weights", "_i", "_blocklength")
        names += ("_postfile", "_startoffset", "_length", "_byteids")  # (read in one go)
        for name in names:
            assert hasattr(matcher, name), name


# ---------------------------------------------------------------------- the vocabulary


def test_the_spelling_vocabulary_stays_bounded_and_is_not_reread(indexed: SearchIndex) -> None:
    ws = indexed.ws
    added = ws.data_dir / "index" / vocabulary.ADDED_FILE
    words = " ".join(f"zanzibarword{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(300))
    doc = ws.load("kb-00000003")
    for number in range(5):
        doc.body = doc.body + f"\n{words} quetzal{'x' * number}\n"
        ws.save(doc)
        # this process's copy is in step: nothing is read again on the next query
        assert indexed._vocabulary._stamp == indexed._vocabulary._current_stamp()
    lines = added.read_text(encoding="utf-8").split()
    assert len(lines) == len(set(lines)) == 300 + 5
    assert indexed.search("quetzalxxy ").suggestion in ("quetzalxx ", "quetzalxxx ")


def test_the_added_vocabulary_is_folded_into_the_main_file(
    indexed: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vocabulary, "FOLD_AT", 10)
    directory = indexed.ws.data_dir / "index"
    indexed._vocabulary.add([f"capybara{chr(97 + i)}" for i in range(12)])
    assert not (directory / vocabulary.ADDED_FILE).exists()
    assert "capybarak" in (directory / vocabulary.MAIN_FILE).read_text(encoding="utf-8")


# ---------------------------------------------------------------------- still indexing


def test_search_during_a_rebuild_says_how_far_it_is_here_and_in_another_process(
    indexed: SearchIndex,
) -> None:
    root = indexed.ws.root
    reached, release = threading.Event(), threading.Event()

    def progress(done: int, total: int) -> None:
        if done == total:  # the last report, before the new index is swapped in
            reached.set()
            release.wait(60)

    worker = threading.Thread(target=indexed.rebuild, args=(progress,))
    worker.start()
    try:
        assert reached.wait(60)
        here = indexed.search("etcd leader")
        assert here.indexing and here.indexing_percent is not None
        assert "still indexing (" in here.indexing_note()
        assert here.hits  # results so far: the old index answers meanwhile
        done = subprocess.run(
            [sys.executable, "-m", "kbapp", "--kb", str(root), "search", "etcd leader"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "still indexing (" in done.stdout and "results so far" in done.stdout
        assert "runbooks/etcd-no-leader.md" in done.stdout
        answer = subprocess.run(
            [sys.executable, "-m", "kbapp", "--kb", str(root), "search", "--json", "zzzz"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        data = json.loads(answer.stdout)
        assert data["indexing"] is True and isinstance(data["indexing_percent"], int)
    finally:
        release.set()
        worker.join(60)
    after = indexed.search("etcd leader")
    assert not after.indexing and after.indexing_percent is None
    assert not list(root.glob(".git/kbapp/*building*"))
