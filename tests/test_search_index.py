"""The search index keeps in step with the files and repairs itself (real index, real git)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO_ROOT, git, write_doc
from search_helpers import DOCS, front, populate

from kbapp.search import SearchIndex
from kbapp.search.index import MANIFEST_FILE, META_FILE
from kbapp.search.query import parse_query
from kbapp.settings import Settings
from kbapp.workspace import Workspace


@pytest.fixture
def indexed(kb: Workspace) -> SearchIndex:
    populate(kb)
    index = SearchIndex.for_workspace(kb)
    assert index.state.ready is False  # no index yet: it will be built
    assert index.catch_up() == len(DOCS)
    assert index.state.ready
    return index


def paths(index: SearchIndex, query: str) -> list[str]:
    return [hit.path for hit in index.search(query).hits]


def test_one_index_per_workspace(indexed: SearchIndex) -> None:
    assert SearchIndex.for_workspace(indexed.ws) is indexed
    assert (indexed.ws.data_dir / "index" / META_FILE).is_file()


def test_save_reindexes_the_one_document(indexed: SearchIndex) -> None:
    ws = indexed.ws
    doc = ws.load("kb-00000003")
    doc.body = doc.body.replace("elevated", "as administrator with quokka privileges")
    ws.save(doc)
    assert paths(indexed, "quokka ") == ["troubleshooting/access-denied.md"]
    assert paths(indexed, "elevated ") == []
    assert indexed.catch_up() == 0  # the catalog agrees nothing is left to index


def test_new_document_rename_and_delete(indexed: SearchIndex) -> None:
    ws = indexed.ws
    created = ws.create("runbook", "Rotate the wombat certificates")
    assert paths(indexed, "wombat ") == [created.path]
    moved = ws.move(created.path, "runbooks/certs/wombat.md")
    assert paths(indexed, "wombat ") == ["runbooks/certs/wombat.md"]
    assert moved.path == "runbooks/certs/wombat.md"
    git(ws.root, "rm", "-q", "runbooks/certs/wombat.md")
    git(ws.root, "commit", "-q", "-m", "Remove wombat")
    ws.refresh()  # what the window does after an outside change
    assert paths(indexed, "wombat ") == []
    # a deleted document also leaves the facets
    assert indexed.search("type:runbook").total == 5


def test_changes_pulled_with_plain_git_are_indexed_by_catch_up(
    indexed: SearchIndex, tmp_path: Path
) -> None:
    ws = indexed.ws
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(ws.root, "remote", "add", "origin", str(remote))
    git(ws.root, "push", "-q", "origin", "HEAD:main")
    partner = tmp_path / "partner"
    git(tmp_path, "clone", "-q", str(remote), str(partner))
    (partner / "known-errors" / "xz.md").write_text(
        front("kb-00000007", "xz backdoor", "known-error") + "Platypus mitigation.\n"
    )
    (partner / "runbooks" / "new.md").write_text(
        front("kb-000000ff", "Echidna alert", "runbook") + "Echidna.\n"
    )
    (partner / "runbooks" / "http-503.md").unlink()
    git(partner, "add", "-A")
    git(partner, "commit", "-q", "-m", "Partner edits")
    git(partner, "push", "-q", "origin", "HEAD:main")
    git(ws.root, "pull", "-q", "origin", "main")
    # nothing told the index; catch_up finds exactly the three changes through the catalog
    assert indexed.catch_up() == 3
    assert paths(indexed, "platypus ") == ["known-errors/xz.md"]
    assert paths(indexed, "cve ") == []
    assert paths(indexed, "echidna ") == ["runbooks/new.md"]
    assert "runbooks/http-503.md" not in paths(indexed, "haproxy ")


def test_files_changed_while_kbapp_was_closed_are_found_on_start(
    indexed: SearchIndex, settings: Settings
) -> None:
    ws = indexed.ws
    root = ws.root
    ws.close()
    write_doc(
        ws,
        "runbooks/node-not-ready.md",
        front("kb-0000000a", "Node not ready", "runbook") + "Cordon the narwhal node.\n",
    )
    git(root, "commit", "-q", "-am", "plain edit")
    reopened = Workspace.open(root, settings)
    try:
        index = SearchIndex.for_workspace(reopened)
        assert index.state.ready  # the index on disk is fine: no rebuild
        assert index.catch_up() == 1  # only the edited document
        assert paths(index, "narwhal ") == ["runbooks/node-not-ready.md"]
    finally:
        reopened.close()


WRITER = textwrap.dedent(
    """
    import sys, time
    from kbapp.search import SearchIndex
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace
    root, relative, word, hold = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    ws = Workspace.open(root, Settings(user_name="W", user_email="w@internal.example"))
    index = SearchIndex.for_workspace(ws)
    (ws.root / relative).write_text("# " + word + "\\n\\n" + word + " body\\n")
    print("start", time.time(), flush=True)
    with index._writing():       # hold the write lock like a long build would
        time.sleep(hold)
        index._update_locked([relative], None)
    print("done", time.time(), flush=True)
    ws.close()
    """
)


def test_two_processes_writing_at_once_wait_for_each_other(indexed: SearchIndex) -> None:
    ws = indexed.ws
    env_path = str(REPO_ROOT)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(ws.root), relative, word, hold],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": env_path},
        )
        for relative, word, hold in (
            ("runbooks/first.md", "aardvark", "1.0"),
            ("runbooks/second.md", "axolotl", "0.1"),
        )
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert "done" in out
    assert paths(indexed, "aardvark ") == ["runbooks/first.md"]
    assert paths(indexed, "axolotl ") == ["runbooks/second.md"]


def _segment_files(index_dir: Path) -> list[Path]:
    return sorted(
        (
            p
            for p in index_dir.iterdir()
            if p.suffix in (".seg", ".pst", ".trm", ".dci", ".dcz")
            or p.name.endswith((".pst", ".trm"))
        ),
        key=lambda p: p.stat().st_size,
        reverse=True,
    )


@pytest.mark.parametrize("damage", ["delete", "truncate", "toc", "old-format", "whole-folder"])
def test_a_damaged_index_is_rebuilt_and_search_says_so_meanwhile(
    indexed: SearchIndex, settings: Settings, damage: str
) -> None:
    ws = indexed.ws
    root = ws.root
    index_dir = ws.data_dir / "index"
    ws.close()
    if damage == "delete":
        _segment_files(index_dir)[0].unlink()
    elif damage == "truncate":
        target = _segment_files(index_dir)[0]
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    elif damage == "toc":
        for toc in index_dir.glob("*.toc"):
            toc.write_bytes(b"\x00garbage")
    elif damage == "old-format":
        (index_dir / META_FILE).write_text('{"schema": 1, "uuid": "x"}')
    else:
        import shutil

        shutil.rmtree(index_dir)
    reopened = Workspace.open(root, settings)
    try:
        index = SearchIndex.for_workspace(reopened)
        assert not index.state.ready and index.needs_rebuild
        waiting = index.search("etcd ")
        assert waiting.indexing and waiting.hits == []
        assert index.catch_up() == len(DOCS)
        assert index.state.ready and not index.needs_rebuild
        response = index.search("etcd no leader")
        assert not response.indexing
        assert response.hits[0].path == "runbooks/etcd-no-leader.md"
        assert (reopened.data_dir / "index" / MANIFEST_FILE).is_file()
    finally:
        reopened.close()


def test_damage_found_during_a_search_triggers_a_rebuild(indexed: SearchIndex) -> None:
    index_dir = indexed.ws.data_dir / "index"
    indexed.search("etcd ")  # the long-lived searcher is open
    for path in _segment_files(index_dir):
        if path.suffix in (".pst", ".trm"):
            path.write_bytes(b"")
    response = indexed.search("payments replica postgres")
    assert response.indexing and indexed.needs_rebuild
    indexed.catch_up()
    assert paths(indexed, "etcdnoleader ") == ["runbooks/etcd-no-leader.md"]


def test_update_of_removed_and_unreadable_files(indexed: SearchIndex) -> None:
    ws = indexed.ws
    (ws.root / "runbooks" / "binary.md").write_bytes(b"\x00\x01\x02 binary wombat")
    (ws.root / "runbooks" / "latin1.md").write_bytes("caf\xe9 wombat".encode("latin-1"))
    assert indexed.update(["runbooks/binary.md", "runbooks/latin1.md", "runbooks/gone.md"]) == 3
    assert paths(indexed, "wombat ") == []


def test_a_large_rebuild_runs_in_worker_processes(
    kb: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kbapp.search.index as index_module

    monkeypatch.setattr(index_module, "PARALLEL_FROM", 5)
    populate(kb)
    index = SearchIndex.for_workspace(kb)
    seen: list[tuple[int, int]] = []
    assert index.rebuild(progress=lambda done, total: seen.append((done, total))) == len(DOCS)
    assert seen[-1] == (len(DOCS), len(DOCS))
    cpus = os.cpu_count() or 1
    # one segment per worker process (one process when the machine has one core)
    assert len(index._ix._read_toc().segments) == (min(cpus, 4) if cpus > 1 else 1)
    assert paths(index, "etcdnoleader ") == ["runbooks/etcd-no-leader.md"]
    assert index.search("failovr ").suggestion == "failover "
    assert index.catch_up() == 0  # the catalog knows everything is indexed


def test_a_rebuild_starts_its_workers_before_it_lists_the_documents(
    kb: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the last build listed enough documents for workers, a rebuild starts them first
    (they load while the documents are listed) and then gives them the documents listed
    now: one added since the last build is indexed; a first build lists first."""
    import kbapp.search.index as index_module

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: a build runs in this process, without workers")
    monkeypatch.setattr(index_module, "PARALLEL_FROM", 5)
    populate(kb)
    index = SearchIndex.for_workspace(kb)
    running: list[list[Path]] = []
    real_listing = kb.document_paths

    def listing(*args: Any, **kwargs: Any) -> Any:
        running.append(list(index.directory.parent.glob("kbapp-build-*/share-*.err")))
        return real_listing(*args, **kwargs)

    monkeypatch.setattr(kb, "document_paths", listing)
    assert index.rebuild() == len(DOCS)
    assert running == [[]]  # a first build: nothing listed before, so listed first
    created = kb.create("runbook", "Rotate the wombat certificates")
    running.clear()
    assert index.rebuild() == len(DOCS) + 1
    assert len(running) == 1 and len(running[0]) == min(os.cpu_count() or 1, 4)
    assert paths(index, "wombat ") == [created.path]
    assert index.catch_up() == 0


def test_a_rebuild_whose_catalog_refresh_fails_stops_its_workers(
    kb: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers start before the catalog is brought up to date (they run while it reads
    the files): a refresh that fails ends them and leaves no build files behind, and the
    next rebuild works (and removes what a killed build left)."""
    import kbapp.search.index as index_module

    monkeypatch.setattr(index_module, "PARALLEL_FROM", 5)
    populate(kb)
    index = SearchIndex.for_workspace(kb)
    started: list[Any] = []
    real_refresh = kb.catalog.refresh

    def failing(*args: Any, **kwargs: Any) -> Any:
        started.extend(index.directory.parent.glob("kbapp-build-*"))
        raise OSError("disk gone")

    monkeypatch.setattr(kb.catalog, "refresh", failing)
    with pytest.raises(OSError):
        index.rebuild()
    assert started  # the workers were under way during the refresh
    assert not list(index.directory.parent.glob("kbapp-build-*"))
    monkeypatch.setattr(kb.catalog, "refresh", real_refresh)
    # a killed build's workers' files are removed by the next build
    stale = index.directory.parent / "kbapp-build-killed"
    stale.mkdir()
    (stale / "share-0.txt").write_text("runbooks/x.md", encoding="utf-8")
    assert index.rebuild() == len(DOCS)
    assert not stale.exists()
    assert paths(index, "etcdnoleader ") == ["runbooks/etcd-no-leader.md"]
    assert index.catch_up() == 0


def test_a_file_edited_while_the_workers_read_it_is_indexed_as_it_is_now(
    kb: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers start before the catalog's refresh: a file an editor (or a git pull in a
    terminal) changes after a worker read it and before the refresh reads it must not stay
    indexed in its old version behind a stamp that says all is current."""
    import time

    import kbapp.search.index as index_module

    monkeypatch.setattr(index_module, "PARALLEL_FROM", 2)
    populate(kb)
    index = SearchIndex.for_workspace(kb)
    real_refresh = index._refresh_catalog
    target = kb.root / "runbooks/etcd-no-leader.md"

    def edit_then_refresh(*args: Any, **kwargs: Any) -> Any:
        # once every worker has read its share (one worker: no processes, nothing to wait for)
        listings = list(index.directory.parent.glob("kbapp-build-*/share-*.txt"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(
            Path(f"{listing}.out").exists() for listing in listings
        ):
            time.sleep(0.02)
        target.write_text(
            target.read_text(encoding="utf-8") + "\nZebrafrobnicate after the read.\n",
            encoding="utf-8",
        )
        return real_refresh(*args, **kwargs)

    monkeypatch.setattr(index, "_refresh_catalog", edit_then_refresh)
    index.rebuild()
    assert paths(index, "zebrafrobnicate") == ["runbooks/etcd-no-leader.md"]
    assert kb.catalog.stale_paths() == []
    assert index.catch_up() == 0


def test_idf_after_saves_is_whooshs(indexed: SearchIndex) -> None:
    """The idf is worked out from the postings read (deleted documents counted, as Whoosh's
    term table counts them): after saves leave deleted postings in the segments it equals
    Whoosh's own for every term, so scores do not depend on where a deletion sits."""
    ws = indexed.ws
    for doc_id in ("kb-00000001", "kb-00000004"):
        doc = ws.load(doc_id)
        doc.set("tags", [*doc.tags, "idf-check"])
        ws.save(doc)
    indexed.search("etcd")  # the runner over the new segments
    runner = indexed._current_runner()
    assert runner.reader.has_deletions()
    compared = 0
    for field in ("title", "body", "headings", "labels", "code"):
        for term in list(runner.reader.lexicon(field)):
            word = term.decode("utf-8")
            assert runner.scorer._idf(field, word) == pytest.approx(
                runner.searcher.idf(field, word)
            ), (field, word)
            compared += 1
    assert compared > 100


def test_facets_by_bitsets_and_by_counting_agree(
    indexed: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Facets are counted with bitsets (the hits' against each value's) or by counting each
    hit's values, whichever costs less, or from a NumPy mask of the hits (a large knowledge
    base's): all give the same counts, also after a save (a deleted posting), for few hits
    and for most documents hit (what is missed counted)."""
    import kbapp.search.facets as facets_module
    import kbapp.search.vectors as vectors_module

    ws = indexed.ws
    doc = ws.load("kb-00000004")
    doc.set("tags", [*doc.tags, "wombat-tag"])
    ws.save(doc)
    queries = ["failover ", "payments ", "type:sop", "postgres replica ", "status:published"]
    monkeypatch.setattr(vectors_module, "VECTORS", False)  # sets, not masks
    monkeypatch.setattr(facets_module, "FACET_BIT_COST", 0.0)
    indexed._runner = None
    by_sets = [indexed.search(q).facets for q in queries]
    assert indexed.search("status:published").total > indexed._current_runner().table.size // 2
    assert dict(by_sets[0]["tags"])["wombat-tag"] == 1
    monkeypatch.setattr(facets_module, "FACET_SETS_UP_TO", 0)
    indexed._runner = None  # a new runner reads the setting
    by_counting = [indexed.search(q).facets for q in queries]
    assert by_counting == by_sets
    pytest.importorskip("numpy")
    monkeypatch.setattr(vectors_module, "VECTORS", True)
    monkeypatch.setattr(vectors_module, "VECTOR_FROM", 1)  # NumPy for any size
    monkeypatch.setattr(vectors_module, "VECTOR_IMPORT_FROM", 1)
    indexed._runner = None
    runner = indexed._current_runner()
    words = [q for q in queries if ":" not in q]  # (a filter alone: sets)
    outcomes = [runner.run(q, parse_query(q), 10) for q in words]
    assert all(hasattr(outcome.hit_docs, "dtype") for outcome in outcomes)  # masks
    by_masks = [indexed.search(q).facets for q in queries]
    assert by_masks == by_sets


def _opened_under(folder: Path) -> list[str]:
    """The files under ``folder`` this process has open or mapped (Linux's /proc)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder) + os.sep):
            found.append(target)
    for line in Path("/proc/self/maps").read_text().splitlines():
        if str(folder) + os.sep in line:
            found.append(line.split(maxsplit=5)[-1])
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads Linux's /proc")
def test_a_rebuild_moves_the_old_index_with_none_of_its_files_open(
    search_index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows cannot rename a folder whose files a process has open: the searcher of the
    old index (its readers, its mapped columns) is closed before the new index takes its
    place, or a full rebuild after a search fails there ("Access is denied")."""
    from kbapp.search import build

    for query in ("etcd", '"the etcd cluster has lost"', "internal error", "type:sop"):
        search_index.search(query)
    held: list[list[str]] = []
    real_replace = build.replace_index

    def replace_noting_open_files(directory: Path, new_dir: Path) -> None:
        held.append(_opened_under(directory))
        real_replace(directory, new_dir)

    monkeypatch.setattr(build, "replace_index", replace_noting_open_files)
    search_index.rebuild()
    assert held == [[]]
    assert search_index.search('"the etcd cluster has lost"').hits  # the new index
    assert not [
        line for line in _opened_under(search_index.directory.parent) if "(deleted)" in line
    ]


#: A second process searching the index (a window beside ``kbapp index --rebuild``): it
#: searches, says so, waits for a line on stdin, searches again and prints both answers.
SEARCHING_PROCESS = """
import json, sys
from pathlib import Path
from kbapp.search import SearchIndex
from kbapp.settings import Settings
from kbapp.workspace import Workspace

ws = Workspace.open(Path(sys.argv[1]), Settings(user_name="B", user_email="b@x.example"))
index = SearchIndex.for_workspace(ws)
index.recheck_seconds = 0
first = [hit.path for hit in index.search("etcd").hits]
print("searched", flush=True)
sys.stdin.readline()
then = [hit.path for hit in index.search("quagga").hits]
print(json.dumps([first, then]), flush=True)
"""


def test_a_rebuild_while_another_process_searches_keeps_the_folder(
    search_index: SearchIndex,
) -> None:
    """The rebuilt index is the next generation of the index in the same folder (Whoosh's
    way): the folder is never renamed (Windows refuses to rename a folder whose files
    another process has open, so a rebuild beside an open window failed there), the other
    process goes on searching and then finds the new index; the old generation's files are
    gone once nobody holds them, and a file a commit could not delete then (Windows: still
    open) is removed by the next commit."""
    ws = search_index.ws
    folder = search_index.directory
    other = subprocess.Popen(
        [sys.executable, "-c", SEARCHING_PROCESS, str(ws.root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert other.stdout is not None and other.stdin is not None
        assert other.stdout.readline().strip() == "searched"
        before = folder.stat().st_ino
        old_files = {entry.name for entry in os.scandir(folder) if entry.name.startswith("MAIN_")}
        write_doc(
            ws, "new/zebra.md", front("kb-0000abcd", "Zebra crossing", "sop") + "Quagga stripes.\n"
        )
        search_index.rebuild()
        assert folder.stat().st_ino == before
        assert not folder.with_name(folder.name + ".new").exists()
        other.stdin.write("go\n")
        other.stdin.flush()
        first, then = json.loads(other.stdout.readline())
    finally:
        other.kill()
        other.wait()
    assert first and then == ["new/zebra.md"]
    left = {entry.name for entry in os.scandir(folder)}
    assert not old_files & left
    assert [hit.path for hit in search_index.search("quagga").hits] == ["new/zebra.md"]
    # a segment file a commit could not delete (on Windows: open in another process)
    (folder / "MAIN_leftoverfromwin.trm").write_bytes(b"x" * 10)
    write_doc(ws, "new/okapi.md", front("kb-0000abce", "Okapi", "sop") + "Okapi stripes.\n")
    search_index.update(["new/okapi.md"])
    assert not (folder / "MAIN_leftoverfromwin.trm").exists()
    assert search_index.search("okapi").hits


def test_a_rebuild_by_another_process_is_searched_here(search_index: SearchIndex) -> None:
    """The window searches while ``kbapp index --rebuild`` replaces the index in a terminal:
    the new index has the same generation number as the old one (each is a first commit),
    so only its id tells the window to search the new one and not the files it still holds
    of the old (gone from the folder, still open)."""
    ws = search_index.ws
    search_index.recheck_seconds = 0
    assert search_index.search("etcd").hits
    write_doc(
        ws, "new/zebra.md", front("kb-0000abcd", "Zebra crossing", "sop") + "Quagga stripes.\n"
    )
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", "A document the window has not indexed")
    subprocess.run(
        [sys.executable, "-m", "kbapp", "--kb", str(ws.root), "index", "--rebuild"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert [h.path for h in search_index.search("quagga").hits] == ["new/zebra.md"]


#: A second process that searched the index before another one rebuilt it, then searches
#: again within the half second between its checks of the index's id (its readers are the
#: old generation's; what a reader opens only when first asked for was deleted meanwhile).
SEARCHING_SOON_AFTER = """
import json, sys
from pathlib import Path
from kbapp.search import SearchIndex
from kbapp.settings import Settings
from kbapp.workspace import Workspace

ws = Workspace.open(Path(sys.argv[1]), Settings(user_name="B", user_email="b@x.example"))
index = SearchIndex.for_workspace(ws)
index.recheck_seconds = 3600  # the next search comes before the next check
first = [hit.path for hit in index.search("etcd", snippets=0, facets=False).hits]
print("searched", flush=True)
sys.stdin.readline()
response = index.search("etcd quorum")
then = [[hit.path, hit.snippets] for hit in response.hits]
print(json.dumps([first, then, index.needs_rebuild, index.state.message]), flush=True)
"""


def test_a_search_just_after_another_process_rebuilt_the_index_is_no_damage(
    search_index: SearchIndex,
) -> None:
    """A window searched, ``kbapp index --rebuild`` replaced the index meanwhile (the old
    generation's files deleted), and the window's next search comes before its next check
    of the index's id: its old readers find a file gone. That is the index moving on, not
    damage: the search answers from the new index as a fresh process does (its snippets
    too: the old readers' snippet column was gone, and the hits had none), and no rebuild
    is started."""
    ws = search_index.ws
    other = subprocess.Popen(
        [sys.executable, "-c", SEARCHING_SOON_AFTER, str(ws.root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert other.stdout is not None and other.stdin is not None
        assert other.stdout.readline().strip() == "searched"
        search_index.rebuild()
        other.stdin.write("go\n")
        other.stdin.flush()
        first, then, needs_rebuild, message = json.loads(other.stdout.readline())
    finally:
        other.kill()
        other.wait()
    assert first
    here = search_index.search("etcd quorum")
    assert then == [[hit.path, hit.snippets] for hit in here.hits]
    assert all(snippets for _, snippets in then)
    assert (needs_rebuild, message) == (False, "")


#: A process that rebuilds the index and is killed (``os._exit``) at one step of putting the
#: new index in place (argv[2]): after the second segment file moved in, after the new table
#: of contents, before or after the new version record, after the old files were removed.
KILLED_REBUILD = """
import os, sys
from pathlib import Path
import kbapp.search.build as build
from kbapp.search import SearchIndex, ondisk
from kbapp.settings import Settings
from kbapp.workspace import Workspace

step, moved = sys.argv[2], []
index_dir = Path(sys.argv[3])

def stop(at):
    if at == step:
        os._exit(9)

def replace(source, target, _replace=os.replace):
    _replace(source, target)
    if Path(target).parent == index_dir and Path(target).name.startswith("MAIN_"):
        moved.append(target)
        if len(moved) == 2:
            stop("segments")

def write_toc(toc, storage, name, _write=build.TOC.write):
    _write(toc, storage, name)
    if Path(storage.folder) == index_dir:
        stop("toc")

def replace_file(source, target, _replace=build.replace_file):
    if target.name == ondisk.META_FILE:
        stop("before-record")
    _replace(source, target)
    if target.name == ondisk.META_FILE:
        stop("after-record")

def clean_files(storage, *args, _clean=build.clean_files):
    _clean(storage, *args)
    if Path(storage.folder) == index_dir:
        stop("cleaned")

build.os.replace = replace
build.TOC.write = write_toc
build.replace_file = replace_file
build.clean_files = clean_files
ws = Workspace.open(Path(sys.argv[1]), Settings(user_name="B", user_email="b@x.example"))
SearchIndex.for_workspace(ws).rebuild()
"""


@pytest.mark.parametrize("step", ["segments", "toc", "before-record", "after-record", "cleaned"])
def test_a_rebuild_killed_while_it_puts_the_new_index_in_place(
    search_index: SearchIndex, step: str
) -> None:
    """Whatever step of putting the new index in place a rebuild is killed at, the next
    process opens an index it can use (the old one, the new one or one between, caught up
    to the files), not one it finds damaged and rebuilds: killed once the old generation's
    files were removed, it found the manifest listing them and rebuilt a sound index."""
    ws = search_index.ws
    write_doc(
        ws, "new/zebra.md", front("kb-0000abcd", "Zebra crossing", "sop") + "Quagga stripes.\n"
    )
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", "A document the old index has not")
    folder = search_index.directory
    search_index.close()
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_REBUILD, str(ws.root), step, str(folder)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert killed.returncode == 9, killed.stderr
    again = Workspace.open(ws.root, Settings(user_name="C", user_email="c@x.example"))
    try:
        index = SearchIndex.for_workspace(again)
        assert (index.needs_rebuild, index.state.ready, index.state.message) == (False, True, "")
        index.catch_up()
        assert [hit.path for hit in index.search("quagga").hits] == ["new/zebra.md"]
        assert [hit.path for hit in index.search("etcd").hits] == ["runbooks/etcd-no-leader.md"]
    finally:
        again.close()


def test_a_rebuild_removes_the_old_index_an_earlier_version_left_beside(
    search_index: SearchIndex,
) -> None:
    """kbapp before the rebuild into the same folder renamed the old index to
    ``index.old-<pid>`` and deleted it after the swap; one stopped in between left a whole
    index there (the demo's: 90 MB), which nothing removed."""
    folder = search_index.directory
    left = folder.with_name(folder.name + ".old-4242")
    left.mkdir()
    (left / "MAIN_abc.pst").write_bytes(b"x" * 1000)
    unrelated = folder.with_name(folder.name + "-notes")
    unrelated.mkdir()
    search_index.rebuild()
    assert not left.exists() and unrelated.exists()
    assert search_index.search("etcd").hits
    # stopped after it renamed the old index away: no index, the old one beside
    search_index.close()
    os.replace(folder, left)
    again = Workspace.open(search_index.ws.root, Settings(user_name="C", user_email="c@x.example"))
    try:
        index = SearchIndex.for_workspace(again)
        assert index.needs_rebuild
        index.catch_up()
        assert not left.exists() and index.search("etcd").hits
    finally:
        again.close()
