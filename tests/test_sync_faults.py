"""Faults during sync and saves (issue 14, items 2, 3 and the disk-full part of 11): a real
full disk (a tmpfs mounted for the test, root only), a sync killed mid-merge with hand edits
made afterwards, a half-done merge someone left: nothing half-written is committed, no
uncommitted work is discarded, and the messages are the documented ones."""

from __future__ import annotations

import random
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import PARTNER, CliResult, SharedRepo, SmallDisk, git, killed_sync

from kbapp.errors import KbError, SaveError
from kbapp.settings import Settings
from kbapp.sync import mergedriver, recovery, sync
from kbapp.trust.policy import conflict_marker_line
from kbapp.workspace import Workspace

DOC = """---
id: kb-0000d15c
title: Disk space on db01
type: runbook
---
# Disk space on db01

## Impact

Writes fail.
"""


def _clones(tmp: Path, ana_root: Path, settings: Settings) -> tuple[Path, Workspace, Workspace]:
    remote = tmp / "kb.git"
    git(tmp, "init", "-q", "--bare", str(remote))
    ana = Workspace.init(
        ana_root,
        "Shared KB",
        ["internal", "partner"],
        settings=settings,
        domains={"internal": ["internal.example"], "partner": ["partner.example"]},
    )
    git(ana.root, "remote", "add", "origin", str(remote))
    (ana.root / "runbooks").mkdir()
    (ana.root / "runbooks/disk.md").write_text(DOC)
    (ana.root / "runbooks/other.md").write_text(
        DOC.replace("0000d15c", "0000d15d").replace("db01", "db02")
    )
    assert sync.sync(ana).pushed
    jo = sync.clone(str(remote), tmp / "jo", PARTNER)
    return remote, ana, jo


def _big_partner_edit(jo: Workspace) -> list[str]:
    rnd = random.Random(7)
    lines = [f"Step {i}: check volume {rnd.randrange(10**9)}" for i in range(5000)]
    doc = jo.load("runbooks/disk.md")
    doc.body += "\n" + "\n".join(lines) + "\n"
    jo.save(doc)
    assert sync.sync(jo).pushed
    return lines


def _versions(remote: Path, path: str) -> list[str]:
    return [
        git(remote, "show", f"{rev}:{path}")
        for rev in git(remote, "rev-list", "main", "--", path).split()
    ]


# --------------------------------------------------------------------------- full disk


@pytest.mark.parametrize("free_kb", [0, 24, 96, 200, 320, 8000])
def test_a_full_disk_during_the_merge_never_publishes_a_truncated_file(
    tmp_path: Path, settings: Settings, small_disk: SmallDisk, free_kb: int
) -> None:
    remote, ana, jo = _clones(tmp_path, small_disk.mount / "ana", settings)
    lines = _big_partner_edit(jo)
    doc = ana.load("runbooks/disk.md")
    doc.body = doc.body.replace("## Impact", "## Impact (Ana: check the WAL first.)")
    ana.save(doc)  # both changed the same document: kbapp's merge driver runs
    git(ana.root, "fetch", "-q", "origin")  # the partner's objects are here already
    small_disk.fill(free_kb * 1024)
    try:
        report = sync.sync(ana)
        assert report.pushed, report.message
    except KbError as exc:
        assert "disk is full" in str(exc), str(exc)
    small_disk.release()
    ana.close()
    again = Workspace.open(ana.root, settings)
    try:
        assert sync.sync(again).pushed
        assert sync.sync(again).pushed  # nothing left over for a second round
    finally:
        again.close()
    final = git(remote, "show", "main:runbooks/disk.md")
    assert "Ana: check the WAL first." in final and lines[-1] in final and lines[0] in final
    for text in _versions(remote, "runbooks/disk.md"):
        # every published version is one somebody saved or a complete merge: never a piece
        assert text.rstrip().endswith(("Writes fail.", lines[-1]))
        assert conflict_marker_line(text) is None
    assert git(ana.root, "status", "--porcelain") == ""


def _new_partner_runbook(jo: Workspace) -> str:
    """The partner adds a long new document and pushes it: a new file for the other clone."""
    path = jo.create("runbook", "Partner runbook, long").path
    doc = jo.load(path)
    doc.body += "\n" + "".join(
        f"Partner line {i:05d}: lorem ipsum dolor sit.\n" for i in range(5000)
    )
    jo.save(doc)
    assert sync.sync(jo).pushed
    return path


def _authors(remote: Path, path: str) -> set[str]:
    return set(git(remote, "log", "--format=%ae", "main", "--", path).split())


@pytest.mark.parametrize("pending", [True, False], ids=["merge", "fast-forward"])
@pytest.mark.parametrize("free_kb", [0, 16, 48, 96, 160])
def test_a_full_disk_never_publishes_a_piece_of_the_partners_new_file(
    tmp_path: Path, settings: Settings, small_disk: SmallDisk, free_kb: int, pending: bool
) -> None:
    """The adversary's sequence: the partner pushes a large NEW file; the sync runs out of
    disk while writing it and undoes the merge; a second sync, still short of space; then
    space is freed. The piece of the new file the merge wrote must never be committed as
    the user's own ("Create: ..." or "changed outside kbapp")."""
    remote, ana, jo = _clones(tmp_path, small_disk.mount / "ana", settings)
    path = _new_partner_runbook(jo)
    partner_versions = _versions(remote, path)
    if pending:  # a local edit too: a real merge rather than a fast-forward
        doc = ana.load("runbooks/disk.md")
        doc.body = doc.body.replace("## Impact", "## Impact (Ana: check the WAL first.)")
        ana.save(doc)
    git(ana.root, "fetch", "-q", "origin")  # the partner's objects are here already
    for free in (free_kb, 16):
        small_disk.release()
        small_disk.fill(free * 1024)
        try:
            sync.sync(ana)
        except KbError as exc:
            assert "disk is full" in str(exc), str(exc)
        ana.close()
        ana = Workspace.open(ana.root, settings)
    small_disk.release()
    ana.close()
    again = Workspace.open(ana.root, settings)  # the start's repair undoes what is left
    try:
        on_disk = again.root / path
        assert not on_disk.exists() or git(again.root, "ls-files", path) == path
        assert sync.sync(again).pushed
        assert sync.sync(again).pushed  # nothing left over for a second round
    finally:
        again.close()
    assert _versions(remote, path) == partner_versions  # no version of anyone else's
    assert _authors(remote, path) == {"jo@partner.example"}
    assert git(again.root, "status", "--porcelain") == ""


def test_the_merge_driver_leaves_the_old_file_when_the_disk_is_full(small_disk: SmallDisk) -> None:
    base = DOC.encode()
    mine = DOC.replace("Writes fail.", "Writes fail.\n\nMine.").encode()
    theirs = (DOC + "\n" + "More from the partner.\n" * 4000).encode()
    files = {}
    for name, data in (("base", base), ("mine", mine), ("theirs", theirs)):
        files[name] = small_disk.mount / name
        files[name].write_bytes(data)
    small_disk.fill(8 * 1024)
    code = mergedriver.run_driver(
        str(files["base"]), str(files["mine"]), str(files["theirs"]), "runbooks/disk.md"
    )
    assert code == 2  # git records a conflict and keeps all three versions
    assert files["mine"].read_bytes() == mine
    assert not [p for p in small_disk.mount.iterdir() if p.name.endswith(".kbtmp")]


@pytest.mark.parametrize("free_kb", [0, 8, 16, 32])
def test_disk_full_on_review_done_gives_the_documented_message(
    tmp_path: Path,
    settings: Settings,
    small_disk: SmallDisk,
    cli: Callable[..., CliResult],
    free_kb: int,
) -> None:
    ws = Workspace.init(small_disk.mount / "kb", "KB", ["internal"], settings=settings)
    path = ws.create("runbook", "Rotate the logs").path
    head = git(ws.root, "rev-parse", "HEAD")
    before = (ws.root / path).read_bytes()
    ws.refresh()
    ws.close()
    small_disk.fill(free_kb * 1024)
    result = cli("--kb", ws.root, "review", "done", path)
    small_disk.release()
    assert "unexpected error" not in result.err
    if result.code != 0:
        assert (
            f"Could not save {ws.root / path}: the disk is full. The file on disk is "
            "unchanged." in result.err
        ), result.err
        assert (ws.root / path).read_bytes() == before
        assert git(ws.root, "rev-parse", "HEAD") == head
    else:  # enough space for the commit: only derived data may have been left behind
        assert git(ws.root, "log", "-1", "--format=%s").startswith("Review")
    Workspace.open(ws.root, settings).close()  # the next start puts git's index right
    assert git(ws.root, "status", "--porcelain") == ""
    assert git(ws.root, "rev-parse", "HEAD") == head or result.code == 0


def test_disk_full_on_save_keeps_the_file_and_the_commit_unchanged(
    settings: Settings, small_disk: SmallDisk
) -> None:
    ws = Workspace.init(small_disk.mount / "kb", "KB", ["internal"], settings=settings)
    path = ws.create("runbook", "Rotate the logs").path
    before = (ws.root / path).read_bytes()
    head = git(ws.root, "rev-parse", "HEAD")
    doc = ws.load(path)
    doc.body += "\n" + "A long new section.\n" * 2000
    outcomes = set()
    try:
        for free_kb in (0, 4, 8, 12, 16, 24, 32):
            small_disk.release()
            small_disk.fill(free_kb * 1024)
            try:
                ws.save(doc)
            except SaveError as exc:
                outcomes.add(exc.reason)
                assert (
                    str(exc) == f"Could not save {ws.root / path}: the disk is full. The "
                    "file on disk is unchanged."
                )
                assert (ws.root / path).read_bytes() == before
                assert git(ws.root, "rev-parse", "HEAD") == head
            else:
                break
    finally:
        small_disk.release()
        ws.close()
    assert outcomes == {"disk-full"}


# --------------------------------------------------------------------------- repairs keep work


def test_hand_edits_after_a_killed_merge_are_kept(shared: SharedRepo, settings: Settings) -> None:
    ana, jo = shared.ana, shared.jo
    path = ana.create("runbook", "Crash me").path
    other = ana.create("sop", "Untouched by the merge").path
    theirs_only = ana.create("sop", "Changed by the partner only").path
    sync.sync(ana)
    sync.sync(jo)
    for ws, line in ((ana, "Mine."), (jo, "Theirs.")):
        doc = ws.load(path)
        doc.body = doc.body.replace("## Impact", f"## Impact\n\n{line}", 1)
        ws.save(doc)
    doc = jo.load(theirs_only)
    doc.body = doc.body.replace("## Purpose", "## Purpose\n\nPartner's purpose.", 1)
    jo.save(doc)
    sync.sync(jo)
    assert killed_sync(ana.root, crash_at="merge-started") == -signal.SIGKILL
    # After the crash, before kbapp starts again, the engineer edits by hand: a document the
    # merge does not touch, one it merged cleanly, the one it left with markers, a new file.
    (ana.root / other).write_text((ana.root / other).read_text() + "\nHand edit one.\n")
    merged = (ana.root / path).read_text()
    assert conflict_marker_line(merged) is not None
    (ana.root / path).write_text(merged.replace("## Impact", "## Impact\n\nHand edit two.", 1))
    clean = (ana.root / theirs_only).read_text()
    assert "Partner's purpose." in clean
    (ana.root / theirs_only).write_text(clean + "\nHand edit four.\n")
    (ana.root / "notes.md").write_text("# Notes\n\nHand edit three.\n")

    ana.close()
    again = Workspace.open(ana.root, settings)
    shared.opened.append(again)
    said = " ".join(again.repairs)
    assert "back on disk" in said, said
    assert "Hand edit one." in (again.root / other).read_text()
    assert "Hand edit three." in (again.root / "notes.md").read_text()
    assert "Hand edit four." in (again.root / theirs_only).read_text()
    # The half-resolved conflict is back on disk too, markers and all, and the sentence says
    # so: sync refuses to commit it (naming it) until the user has finished resolving it.
    ref = git(again.root, "for-each-ref", "--format=%(refname)", "refs/kbapp/kept/")
    assert "interrupted-sync" in ref and ref in said
    assert f"{path} still with conflict markers" in said, said
    half = (again.root / path).read_text()
    assert "Hand edit two." in half and conflict_marker_line(half) is not None
    assert "Hand edit two." in git(again.root, "show", f"{ref}:{path}")
    with pytest.raises(KbError, match=rf"{path}.*conflict marker"):
        sync.sync(again)
    (again.root / path).write_text(
        "\n".join(
            line
            for line in half.splitlines()
            if not line.startswith(("<<<<<<<", ">>>>>>>", "======="))
        )
        + "\n"
    )
    report = sync.sync(again)
    assert report.pushed, report.message
    assert "Hand edit two." in git(shared.remote, "show", f"main:{path}")
    assert "Hand edit one." in git(shared.remote, "show", f"main:{other}")
    assert "Hand edit three." in git(shared.remote, "show", "main:notes.md")
    both = git(shared.remote, "show", f"main:{theirs_only}")
    assert "Hand edit four." in both and "Partner's purpose." in both


def test_a_half_done_merge_by_hand_is_aborted_without_losing_hand_edits(
    shared: SharedRepo, settings: Settings
) -> None:
    ana, jo = shared.ana, shared.jo
    path = ana.create("runbook", "Both edit").path
    other = ana.create("sop", "Only here").path
    sync.sync(ana)
    sync.sync(jo)
    for ws, line in ((ana, "Mine."), (jo, "Theirs.")):
        doc = ws.load(path)
        doc.body = doc.body.replace("## Impact", f"## Impact\n\n{line}", 1)
        ws.save(doc)
    sync.sync(jo)
    git(ana.root, "fetch", "-q", "origin")
    # A plain-git merge without kbapp's driver conflicts, and is left half-done; meanwhile a
    # hand edit in another file and a hand resolution in the conflicting one.
    subprocess.run(
        ["git", "-c", "merge.kbapp.driver=false", "merge", "origin/main"],
        cwd=ana.root,
        capture_output=True,
        check=False,
    )
    assert (ana.git.git_dir / "MERGE_HEAD").exists()
    (ana.root / other).write_text((ana.root / other).read_text() + "\nHand edit.\n")
    (ana.root / path).write_text("# Both edit\n\nMy resolution by hand.\n")
    ana.close()
    again = Workspace.open(ana.root, settings)
    shared.opened.append(again)
    said = " ".join(again.repairs)
    assert "aborted an unfinished merge" in said
    assert "Hand edit." in (again.root / other).read_text()
    ref = next(
        p
        for p in git(again.root, "for-each-ref", "--format=%(refname)", "refs/kbapp/kept/").split()
        if "unfinished-merge" in p
    )
    assert f"your uncommitted changes to {path}" in said and ref in said, said
    # The hand resolution is the user's work: back on disk, not only under the kept ref.
    assert (again.root / path).read_text() == "# Both edit\n\nMy resolution by hand.\n"
    assert "My resolution by hand." in git(again.root, "show", f"{ref}:{path}")
    assert not (again.git.git_dir / "MERGE_HEAD").exists()
    assert sync.sync(again).pushed
    assert "My resolution by hand." in git(shared.remote, "show", f"main:{path}")


def test_a_new_file_a_killed_merge_wrote_in_part_is_removed_not_committed(
    shared: SharedRepo, settings: Settings
) -> None:
    """The merge created a file (new in the incoming tree, absent before) and was cut off
    while writing it: the repair removes it instead of keeping it as a hand edit, and a
    file the user created by hand meanwhile stays."""
    ana, jo = shared.ana, shared.jo
    path = _new_partner_runbook(jo)
    whole = git(shared.remote, "show", f"main:{path}")
    mine = ana.create("sop", "Ana's own").path  # diverged: a real merge
    assert killed_sync(ana.root, crash_at="merge-started") == -signal.SIGKILL
    written = (ana.root / path).read_bytes()
    (ana.root / path).write_bytes(written[: len(written) // 3])  # a write cut short
    (ana.root / "notes.md").write_text("# Notes\n\nBy hand.\n")
    ana.close()
    again = Workspace.open(ana.root, settings)
    shared.opened.append(again)
    assert not (again.root / path).exists()
    assert "By hand." in (again.root / "notes.md").read_text()
    report = sync.sync(again)
    assert report.pushed, report.message
    assert git(shared.remote, "show", f"main:{path}") == whole
    assert _authors(shared.remote, path) == {"jo@partner.example"}
    assert "By hand." in git(shared.remote, "show", "main:notes.md")
    assert git(shared.remote, "show", f"main:{mine}")


def test_a_new_file_edited_after_a_killed_merge_is_put_back_on_disk(
    shared: SharedRepo, settings: Settings
) -> None:
    """The merge created a file, the user edited it after the crash: the edit is the user's
    work and comes back into the work tree (not only under a kept ref); the next sync
    commits and merges it."""
    ana, jo = shared.ana, shared.jo
    path = _new_partner_runbook(jo)
    ana.create("sop", "Ana's own")
    assert killed_sync(ana.root, crash_at="merge-started") == -signal.SIGKILL
    (ana.root / path).write_text((ana.root / path).read_text() + "\nAna's remark.\n")
    ana.close()
    again = Workspace.open(ana.root, settings)
    shared.opened.append(again)
    said = " ".join(again.repairs)
    ref = git(again.root, "for-each-ref", "--format=%(refname)", "refs/kbapp/kept/")
    assert f"your uncommitted changes to {path} are back on disk" in said and ref in said, said
    assert "Ana's remark." in git(again.root, "show", f"{ref}:{path}")
    assert "Ana's remark." in (again.root / path).read_text()
    report = sync.sync(again)
    assert report.pushed or report.conflicts, report.message
    assert "Ana's remark." in (again.root / path).read_text()


def test_a_file_there_before_the_merge_is_kept_by_the_repair(
    shared: SharedRepo, settings: Settings
) -> None:
    """What ``begin_merge`` records: a file at a path the incoming tree adds that was on
    disk before the merge began is the user's, not the merge's, and stays."""
    ana, jo = shared.ana, shared.jo
    path = _new_partner_runbook(jo)
    git(ana.root, "fetch", "-q", "origin")
    head = git(ana.root, "rev-parse", "HEAD")
    upstream = git(ana.root, "rev-parse", "origin/main")
    (ana.root / path).parent.mkdir(parents=True, exist_ok=True)
    (ana.root / path).write_text("# Mine\n\nWritten by hand before the merge.\n")
    with ana.git.write_lock():
        recovery.begin_merge(ana, head, upstream, ff=True)
        # the fast-forward refuses to overwrite the untracked file; the sync's roll-back
        assert ana.git.run("merge", "-q", "--ff-only", upstream, check=False).status != 0
        recovery.repair(ana)
    assert "Written by hand" in (ana.root / path).read_text()


def test_a_partial_copy_of_the_incoming_version_is_never_committed(shared: SharedRepo) -> None:
    """The second line of defence: a pending file that is a strict prefix of the fetched
    shared version of its path (and not a cut of HEAD's) is refused, nothing sent."""
    ana, jo = shared.ana, shared.jo
    path = _new_partner_runbook(jo)
    git(ana.root, "fetch", "-q", "origin")
    whole = git(ana.root, "show", f"origin/main:{path}").encode()
    (ana.root / path).parent.mkdir(parents=True, exist_ok=True)
    (ana.root / path).write_bytes(whole[:4096])  # e.g. a plain 'git merge' on a full disk
    head = git(ana.root, "rev-parse", "HEAD")
    with pytest.raises(KbError, match="partly written copy"):
        sync.sync(ana)
    assert git(ana.root, "rev-parse", "HEAD") == head
    assert (ana.root / path).read_bytes() == whole[:4096]
    (ana.root / path).unlink()
    assert sync.sync(ana).pushed
    assert _authors(shared.remote, path) == {"jo@partner.example"}


def test_shortening_a_document_the_partner_extended_is_still_committed(
    shared: SharedRepo,
) -> None:
    """Not a false alarm: the user's cut of HEAD's version is a prefix of the partner's
    longer version too, and is the user's edit."""
    ana, jo = shared.ana, shared.jo
    path = ana.create("runbook", "Shorten me").path
    sync.sync(ana)
    sync.sync(jo)
    doc = jo.load(path)
    doc.body += "\nMore from the partner.\n"
    jo.save(doc)
    sync.sync(jo)
    git(ana.root, "fetch", "-q", "origin")
    text = (ana.root / path).read_text()
    cut = text[: text.index("## Impact")]
    (ana.root / path).write_text(cut)
    report = sync.sync(ana)
    assert report.pushed, report.message
    commits = git(ana.root, "log", "--format=%H %ae", "--no-merges", "-2", "--", path)
    mine = next(line.split()[0] for line in commits.splitlines() if "ana@" in line)
    assert git(ana.root, "show", f"{mine}:{path}") == cut.rstrip("\n")


@pytest.mark.parametrize("free_kb", [0, 4, 8, 16, 32, 64])
def test_disk_full_on_new_gives_the_documented_message(
    settings: Settings,
    small_disk: SmallDisk,
    cli: Callable[..., CliResult],
    free_kb: int,
) -> None:
    ws = Workspace.init(small_disk.mount / "kb", "KB", ["internal"], settings=settings)
    ws.create("runbook", "Something first")
    head = git(ws.root, "rev-parse", "HEAD")
    ws.refresh()
    ws.close()
    small_disk.fill(free_kb * 1024)
    result = cli("--kb", ws.root, "new", "--type", "runbook", "--title", "Rotate the logs")
    small_disk.release()
    assert "unexpected error" not in result.err and "Traceback" not in result.err, result.err
    if result.code != 0:
        sentence = result.err.splitlines()[0].removeprefix("kbapp: ")  # then git's words
        assert sentence.startswith("Could not save ") and sentence.endswith(
            ": the disk is full. The file on disk is unchanged."
        ), result.err
        assert git(ws.root, "rev-parse", "HEAD") == head
    else:  # enough space for the commit
        assert git(ws.root, "log", "-1", "--format=%s") == "Create: Rotate the logs"
    Workspace.open(ws.root, settings).close()  # the next start puts git's index right
    if result.code != 0:
        assert git(ws.root, "status", "--porcelain", "--untracked-files=all") == ""


@pytest.mark.parametrize("free_kb", [0, 4, 8, 16, 32])
def test_disk_full_on_sync_commit_gives_the_documented_message(
    tmp_path: Path,
    settings: Settings,
    small_disk: SmallDisk,
    cli: Callable[..., CliResult],
    free_kb: int,
) -> None:
    """A hand edit that sync commits before it exchanges anything, on a full disk."""
    remote, ana, jo = _clones(tmp_path, small_disk.mount / "ana", settings)
    jo.close()
    edited = ana.root / "runbooks/other.md"
    edited.write_text(edited.read_text() + "\nA hand edit.\n" * 200)
    ana.close()
    head = git(ana.root, "rev-parse", "HEAD")
    small_disk.fill(free_kb * 1024)
    result = cli("--kb", ana.root, "sync")
    small_disk.release()
    assert "unexpected error" not in result.err and "Traceback" not in result.err, result.err
    if result.code != 0:
        assert "the disk is full" in result.err, result.err
        assert "nothing was sent or changed" in result.err, result.err
        assert result.err.startswith("kbapp: Could not commit your changes: the disk is full")
        assert all(line.startswith("  ") for line in result.err.splitlines()[1:])  # details
        assert git(ana.root, "rev-parse", "HEAD") == head
        assert "A hand edit." in edited.read_text()
    again = Workspace.open(ana.root, settings)
    try:
        assert sync.sync(again).pushed
    finally:
        again.close()
    assert "A hand edit." in git(remote, "show", "main:runbooks/other.md")
