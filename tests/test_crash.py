"""Crash safety in real subprocesses: SIGKILL during save and import, a full disk, a read-only
knowledge base, and several kbapp processes writing at once.

A killed kbapp is killed with its whole process group (its git children too), as a crash or a
power cut would. After each kill the knowledge base is opened again (which repairs it) and
checked: every save the child reported as finished is in a commit, the work tree is clean,
``git fsck`` passes, and the catalog is a sound SQLite file that lists every document.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import git

from kbapp.documents import model as documents
from kbapp.errors import SaveError
from kbapp.settings import Settings
from kbapp.workspace import Workspace

#: How many kill points, and what state each kill left behind (see _write_figures).
FIGURES: dict[str, object] = {}

SAVE_LOOP = textwrap.dedent(
    """
    import sys
    from kbapp.documents.model import Document
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    root, start = sys.argv[1], int(sys.argv[2])
    ws = Workspace.open(root, Settings(user_name="Crash Test", user_email="crash@internal.example"))
    # Load the secret scanner's detectors now (a one-off ~0.5 s, more on a busy machine), so
    # that the kills land in saves rather than all before the first one.
    from kbapp.trust import policy
    policy.check_text("warm-up.md", "warm up", ws.config)
    print("ready", flush=True)
    i = start
    while True:
        path = f"runbooks/doc-{i % 4}.md"
        if (ws.root / path).exists():
            doc = ws.load(path)
            doc.body += f"line {i}\\n"
        else:
            doc = Document(path, {"id": f"kb-0000000{i % 4}", "title": f"Doc {i % 4}",
                                  "type": "runbook", "status": "draft"}, f"# Doc\\n\\nline {i}\\n")
        ws.save(doc)
        print(f"saved {path} {i}", flush=True)
        i += 1
    """
)

IMPORT_RUN = textwrap.dedent(
    """
    import sys
    from kbapp.documents.importer import import_folder
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    ws = Workspace.open(sys.argv[1], Settings(user_name="Crash Test", user_email="crash@internal.example"))
    print("ready", flush=True)
    report = import_folder(ws, sys.argv[2], "imported")
    print("done", len(report.imported), flush=True)
    """
)


def _spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _kill_after(proc: subprocess.Popen[str], delay: float, *, after: str = "") -> list[str]:
    """Wait for 'ready' (and for a line starting with ``after``, if given), let it work for
    ``delay`` seconds, SIGKILL its process group; returns the lines it printed."""
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.strip() == "ready", first + (proc.stderr.read() if proc.stderr else "")
    seen = []
    while after:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "exited"
        seen.append(line.rstrip("\n"))
        if line.startswith(after):
            break
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)
    out, _err = proc.communicate(timeout=30)
    return seen + out.splitlines()


def _leftovers(root: Path) -> list[str]:
    """What a kill left behind, before the next open repairs it."""
    found = []
    if (root / ".git/kbapp/pending.json").exists():
        found.append("journal")
    if (root / ".git/index.lock").exists():
        found.append("index.lock")
    if any(root.rglob(".*.kbtmp")):
        found.append("temporary")
    if git(root, "status", "--porcelain", "--untracked-files=all"):
        found.append("uncommitted")
    return found or ["clean"]


def _assert_sound(root: Path) -> Workspace:
    """Open (and so repair) the knowledge base and check everything a user relies on."""
    ws = Workspace.open(root, Settings(user_name="Checker", user_email="check@internal.example"))
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    subprocess.run(
        ["git", "fsck", "--strict", "--no-progress"], cwd=root, check=True, capture_output=True
    )
    assert not (root / ".git/index.lock").exists()
    ws.refresh()
    paths = ws.document_paths()
    assert sorted(e.path for e in ws.catalog.all()) == sorted(paths)
    for relative in paths:
        doc = documents.load(root / relative, relative)
        assert doc.front_matter_error is None, relative
    db = sqlite3.connect(ws.data_dir / "catalog.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    return ws


@pytest.mark.slow
def test_sigkill_during_saves_loses_no_saved_document(kb: Workspace) -> None:
    root = kb.root
    kb.close()
    rng = random.Random(7)
    last_saved: dict[str, int] = {}
    states: dict[str, int] = {}
    counter = 0
    kills = 10
    for kill in range(kills):
        proc = _spawn(SAVE_LOOP, str(root), str(counter))
        # Half the kills may land in the first save, half after one save went through: on a
        # busy machine a first save can take longer than the longest delay.
        lines = _kill_after(proc, rng.uniform(0.05, 0.7), after="saved" if kill % 2 else "")
        for line in lines:
            if line.startswith("saved "):
                _, path, number = line.split()
                last_saved[path] = int(number)
                counter = max(counter, int(number) + 1)
        counter += 1  # the save that was cut short may or may not have landed
        for state in _leftovers(root):
            states[state] = states.get(state, 0) + 1
        ws = _assert_sound(root)
        for path, number in last_saved.items():
            assert f"line {number}\n" in git(root, "show", f"HEAD:{path}") + "\n", (path, number)
        ws.close()
    assert last_saved, "no save finished before any of the kills"
    FIGURES["save_kills"] = kills
    FIGURES["save_kill_states"] = states
    FIGURES["saves_confirmed"] = counter
    _write_figures()


@pytest.mark.slow
def test_sigkill_during_import_then_import_again_completes(kb: Workspace, tmp_path: Path) -> None:
    root = kb.root
    kb.close()
    src = tmp_path / "wiki"
    for number in range(400):
        folder = src / f"area-{number % 6}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"page-{number}.md").write_text(
            f"# Page {number}\n\n## Symptoms\n\nIt breaks ({number}).\n\n## Resolution\n\nFix it.\n"
        )
    rng = random.Random(11)
    states: dict[str, int] = {}
    kills = 3
    for _ in range(kills):
        proc = _spawn(IMPORT_RUN, str(root), str(src))
        _kill_after(proc, rng.uniform(0.05, 0.6))
        for state in _leftovers(root):
            states[state] = states.get(state, 0) + 1
        _assert_sound(root).close()
    ws = Workspace.open(root, Settings(user_name="Checker", user_email="check@internal.example"))
    import_folder_again = __import__(
        "kbapp.documents.importer", fromlist=["import_folder"]
    ).import_folder
    import_folder_again(ws, src, "imported")
    ws.close()
    ws = _assert_sound(root)
    imported = [p for p in ws.document_paths() if p.startswith("imported/")]
    assert len(imported) == 400
    ws.close()
    FIGURES["import_kills"] = kills
    FIGURES["import_kill_states"] = states
    _write_figures()


def test_interrupted_commit_is_finished_on_open(kb: Workspace) -> None:
    """The exact state a kill between the write and the commit leaves: journal + new file +
    git's index.lock. The next open commits the file and clears the lock."""
    doc = kb.draft_from_template("runbook", "Half saved")
    kb.save(doc)
    doc.body += "\nAn edit that was written but not committed.\n"
    full = kb.root / doc.path
    documents.write(doc, full)
    (kb.data_dir / "pending.json").write_text(
        json.dumps({"kind": "save", "pid": 1, "message": "Update: Half saved", "paths": [doc.path]})
    )
    (kb.root / ".git/index.lock").write_text("")
    (full.parent / f".{full.name}.abc123.kbtmp").write_text("partial")
    kb.close()
    again = Workspace.open(kb.root, kb.settings)
    assert any("committed 1 path" in line for line in again.repairs)
    assert "written but not committed" in git(kb.root, "show", f"HEAD:{doc.path}")
    assert "Update: Half saved" in git(kb.root, "log", "-1", "--format=%B")
    assert git(kb.root, "status", "--porcelain", "--untracked-files=all") == ""
    assert Workspace.open(kb.root, kb.settings).repairs == []
    again.close()


# --------------------------------------------------------------------------- full disk, read-only

SAVE_BIG = textwrap.dedent(
    """
    import json, resource, signal, sys
    from kbapp.errors import SaveError
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    root, path, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ws = Workspace.open(root, Settings(user_name="Disk Test", user_email="disk@internal.example"))
    doc = ws.load(path)
    doc.body += "filler line for a big edit\\n" * 40000
    if limit:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        ws.save(doc)
        print(json.dumps({"saved": True}))
    except SaveError as exc:
        print(json.dumps({"saved": False, "reason": exc.reason, "message": str(exc)}))
    """
)


def _saved_doc(kb: Workspace) -> tuple[str, bytes, str]:
    result = kb.create("runbook", "Disk test")
    data = (kb.root / result.path).read_bytes()
    return result.path, data, git(kb.root, "rev-parse", "HEAD")


def _assert_unchanged(kb: Workspace, path: str, data: bytes, head: str) -> None:
    assert (kb.root / path).read_bytes() == data
    assert git(kb.root, "rev-parse", "HEAD") == head
    assert git(kb.root, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (kb.data_dir / "pending.json").exists()


def test_file_size_limit_at_save_gives_a_clear_error_and_keeps_the_original(kb: Workspace) -> None:
    path, data, head = _saved_doc(kb)
    proc = subprocess.run(
        [sys.executable, "-c", SAVE_BIG, str(kb.root), path, "200000"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    result = json.loads(proc.stdout)
    assert result == {"saved": False, "reason": "too-large", "message": result["message"]}
    assert "The file on disk is unchanged" in result["message"] and path in result["message"]
    _assert_unchanged(kb, path, data, head)


def _userns_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True
    )
    return probe.returncode == 0


def _run_in_namespace(shell: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``shell`` (with $1.. = args) as root of a private user+mount namespace, where it may
    mount read-only binds and small tmpfs without touching the real system."""
    return subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", shell, "sh", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_read_only_folder_at_save_gives_a_clear_error_and_keeps_the_original(kb: Workspace) -> None:
    path, data, head = _saved_doc(kb)
    folder = kb.root / path.rsplit("/", 1)[0]
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            proc = subprocess.run(
                [sys.executable, "-c", SAVE_BIG, str(kb.root), path, "0"],
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            folder.chmod(0o755)
        expected = {"permission"}
    else:  # root writes through permission bits: make the folder a read-only mount instead
        if not _userns_available():
            pytest.skip(
                "running as root without user namespaces: no way to make a folder read-only"
            )
        proc = _run_in_namespace(
            'mount --bind -o ro "$1" "$1" && exec "$2" -c "$3" "$4" "$5" 0',
            str(folder),
            sys.executable,
            SAVE_BIG,
            str(kb.root),
            path,
        )
        expected = {"read-only"}
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert not result["saved"] and result["reason"] in expected, result
    assert "The file on disk is unchanged" in result["message"]
    _assert_unchanged(kb, path, data, head)


def test_whole_knowledge_base_read_only_opens_and_refuses_saves_clearly(kb: Workspace) -> None:
    path, data, head = _saved_doc(kb)
    if not _userns_available():
        pytest.skip("needs user namespaces for a read-only mount")
    proc = _run_in_namespace(
        'mount --bind -o ro "$1" "$1" && exec "$2" -c "$3" "$1" "$4" 0',
        str(kb.root),
        sys.executable,
        SAVE_BIG,
        path,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["saved"] is False and result["reason"] == "read-only", result
    _assert_unchanged(kb, path, data, head)


def test_really_full_disk_at_save_keeps_the_original(kb: Workspace) -> None:
    """A 512 KB tmpfs over the document's folder, filled up, in a private namespace."""
    if not _userns_available():
        pytest.skip("needs user namespaces to mount a small tmpfs")
    path, data, head = _saved_doc(kb)
    folder = kb.root / path.rsplit("/", 1)[0]
    stash = kb.root.parent / "stash"
    stash.mkdir()
    shutil.copy2(kb.root / path, stash / "doc.md")
    shell = (
        'mount -t tmpfs -o size=512k tmpfs "$1" && cp -p "$2/doc.md" "$1/$3" '
        '&& { dd if=/dev/zero of="$1/.filler" bs=4k 2>/dev/null; true; } '
        '&& "$4" -c "$5" "$6" "$7" 0 && cmp -s "$2/doc.md" "$1/$3" && echo INTACT'
    )
    proc = _run_in_namespace(
        shell,
        str(folder),
        str(stash),
        path.rsplit("/", 1)[1],
        sys.executable,
        SAVE_BIG,
        str(kb.root),
        path,
    )
    if "mount" in proc.stderr and proc.returncode != 0:
        pytest.skip(f"tmpfs cannot be mounted here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[0])
    assert result["saved"] is False and result["reason"] == "disk-full", result
    assert proc.stdout.splitlines()[1] == "INTACT"
    _assert_unchanged(kb, path, data, head)


# --------------------------------------------------------------------------- two processes at once


@pytest.mark.slow
def test_parallel_cli_saves_and_an_open_window_do_not_corrupt_anything(kb: Workspace) -> None:
    titles = ["Same title"] * 4 + ["Restart DNS", "Rotate certs"]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kbapp",
                "--kb",
                str(kb.root),
                "new",
                "--type",
                "runbook",
                "--title",
                title,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for title in titles
    ]
    # Meanwhile the already open workspace (the window) saves too.
    mine = [kb.create("sop", f"Window document {n}").path for n in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    created = sorted(Path(out.strip()).relative_to(kb.root).as_posix() for out, _ in outputs)
    assert len(set(created)) == len(titles)  # four "Same title" documents, four files
    assert len([c for c in created if "same-title" in c]) == 4
    ws = _assert_sound(kb.root)
    assert set(created + mine) <= set(ws.document_paths())
    assert int(git(kb.root, "rev-list", "--count", "HEAD")) == 1 + len(titles) + len(mine)
    ws.close()
    FIGURES["parallel_writers"] = len(titles) + 1
    _write_figures()


def _write_figures() -> None:
    """With KBAPP_TRUST_FIGURES=FILE, add this run's figures to FILE (for docs/benchmarks.md)."""
    if not os.environ.get("KBAPP_TRUST_FIGURES"):
        return
    target = Path(os.environ["KBAPP_TRUST_FIGURES"])
    try:
        existing = json.loads(target.read_text()) if target.exists() else {}
    except ValueError:
        existing = {}
    existing.update(FIGURES)
    target.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")


def test_save_error_is_a_kb_error_with_a_reason() -> None:
    from kbapp.errors import KbError

    error = SaveError("Could not save x: the disk is full.", path="x", reason="disk-full")
    assert isinstance(error, KbError) and error.reason == "disk-full" and error.path == "x"
