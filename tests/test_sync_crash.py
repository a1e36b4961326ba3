"""A ``kbapp sync`` killed (SIGKILL, with its git children) at each point of its work: the next
sync repairs or resumes by itself, loses nothing and commits no conflict marker."""

from __future__ import annotations

import signal
import subprocess

import pytest
from helpers import SharedRepo, git, killed_sync

from kbapp import conflicts, sync
from kbapp.policy import conflict_marker_line
from kbapp.workspace import Workspace


def edit(ws: Workspace, path: str, old: str, new: str) -> str:
    doc = ws.load(path)
    doc.body = doc.body.replace(old, new, 1)
    result = ws.save(doc)
    assert result.commit
    return result.commit


@pytest.mark.parametrize("point", sync.CHECKPOINTS)
def test_sync_killed_at_each_point_is_finished_by_the_next(shared: SharedRepo, settings, point: str) -> None:
    ana, jo = shared.ana, shared.jo
    doc = ana.create("runbook", "Crash me").path
    sync.sync(ana)
    sync.sync(jo)
    saved = [edit(ana, doc, "## Impact", "## Impact\n\nMine.")]
    saved.append(edit(jo, doc, "## Impact", "## Impact\n\nTheirs."))
    saved.append(jo.create("sop", "Only the partner's").commit or "")
    sync.sync(jo)
    (ana.root / "hand-written.md").write_text("# Written by hand\n")  # pending, not committed

    code = killed_sync(ana.root, crash_at=point)
    assert code == -signal.SIGKILL

    ana.close()
    again = Workspace.open(ana.root, settings)  # the next start
    shared.opened.append(again)
    report = sync.sync(again)
    assert report.pushed, report.message
    assert report.conflicts == [doc]
    assert conflicts.get(again, doc) is not None
    assert (again.root / "hand-written.md").is_file()
    head = git(again.root, "rev-parse", "HEAD")
    assert git(shared.remote, "rev-parse", "main") == head
    assert git(again.root, "status", "--porcelain") == ""
    for commit in saved:
        assert subprocess.run(["git", "merge-base", "--is-ancestor", commit, "main"],
                              cwd=shared.remote).returncode == 0
    assert conflict_marker_line((again.root / doc).read_text()) is None
    assert not (again.git.git_dir / "MERGE_HEAD").exists()
    sync.sync(jo)
    assert git(jo.root, "rev-parse", "HEAD^{tree}") == git(again.root, "rev-parse", "HEAD^{tree}")


@pytest.mark.slow
def test_sync_killed_at_random_moments_never_needs_manual_git(shared: SharedRepo, settings) -> None:
    ana, jo = shared.ana, shared.jo
    docs = [ana.create("sop", f"Procedure {n}").path for n in range(4)]
    sync.sync(ana)
    sync.sync(jo)
    for delay in (1.0, 1.6):
        for n, doc in enumerate(docs):
            edit(ana, doc, "## ", f"## Note {delay}-{n}\n\nFrom Ana.\n\n## ")
            edit(jo, doc, "## ", f"## Note {delay}-{n}\n\nFrom Jo.\n\n## ")
        sync.sync(jo)
        killed_sync(ana.root, after=delay)
        ana.close()
        ana = Workspace.open(ana.root, settings)
        shared.opened.append(ana)
        report = sync.sync(ana)
        assert report.pushed
        for path in report.conflicts:
            conflicts.resolve(ana, path, text=conflicts.get(ana, path).theirs)  # type: ignore[union-attr]
        sync.sync(ana)
        sync.sync(jo)
        assert git(ana.root, "rev-parse", "HEAD") == git(jo.root, "rev-parse", "HEAD")
