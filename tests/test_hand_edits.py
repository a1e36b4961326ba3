"""Commands that write a document from text they did not read from the file (issue 14,
adversarial finding A6): ``kbapp restore`` (an old version) and ``kbapp resolve --theirs /
--file`` (a conflict's other side, a merge made elsewhere) never write over an edit saved on
disk by another program that is in no commit. Real clones, real git, the real CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliResult, SharedRepo, git

from kbapp.errors import SaveError
from kbapp.sync import conflicts, history, sync
from kbapp.workspace import Workspace

HAND = "HAND-EDIT step 7: page the DBA\n"


def edit(ws: Workspace, path: str, old: str, new: str) -> None:
    doc = ws.load(path)
    doc.body = doc.body.replace(old, new, 1)
    ws.save(doc)


def in_history(ws: Workspace, text: str) -> bool:
    return text.strip() in git(ws.root, "log", "--all", "-p")


def test_restore_never_writes_over_an_uncommitted_hand_edit(
    kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    path = kb.create("runbook", "Restart payments").path
    doc_id = kb.load(path).id
    edit(kb, path, "## Impact", "## Impact\n\nPayments stop.")
    first = history.history(kb, doc_id)[-1].rev
    full = kb.root / path
    full.write_text(full.read_text() + HAND)  # an editor's save, not committed

    with pytest.raises(SaveError) as refused:
        history.restore(kb, doc_id, first)
    assert refused.value.reason == "changed-on-disk"
    assert f"Could not restore {path}" in str(refused.value) and "in no commit" in str(
        refused.value
    )
    result = cli("--kb", kb.root, "restore", doc_id, "--rev", first[:8])
    assert result.code != 0 and "nothing was written" in result.err, result.err
    assert "Traceback" not in result.err
    assert full.read_text().endswith(HAND)

    # Committed, the edit is a version like any other, and the restore goes ahead.
    assert kb.commit_pending(path) is not None
    assert history.restore(kb, doc_id, first).commit
    assert HAND not in full.read_text() and in_history(kb, HAND)


def test_restoring_a_deleted_document_keeps_a_new_file_in_its_place(kb: Workspace) -> None:
    path = kb.create("sop", "Decommissioned").path
    (kb.root / path).unlink()
    kb.git.commit([path], "Delete: Decommissioned")
    old = history.history(kb, path)[-1].rev
    (kb.root / path).write_text("# Notes of mine, never committed\n")
    with pytest.raises(SaveError, match="in no commit"):
        history.restore(kb, path, old)
    assert (kb.root / path).read_text() == "# Notes of mine, never committed\n"
    (kb.root / path).unlink()  # nothing on disk to lose: it comes back
    assert history.restore(kb, path, old).commit


def test_resolve_never_writes_over_an_uncommitted_hand_edit(
    shared: SharedRepo, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    ana, jo = shared.ana, shared.jo
    path = ana.create("runbook", "Failover DB").path
    sync.sync(ana)
    sync.sync(jo)
    edit(jo, path, "## Impact", "## Impact\n\nJo: restart the replica.")
    sync.sync(jo)
    edit(ana, path, "## Impact", "## Impact\n\nAna: restart the primary.")
    sync.sync(ana)
    assert conflicts.get(ana, path) is not None
    full = ana.root / path
    before_hand = full.read_text()
    full.write_text(before_hand + HAND)  # Ana edits the provisional file in her editor

    theirs = cli("--kb", ana.root, "resolve", path, "--theirs")
    assert theirs.code != 0 and f"Could not resolve {path}" in theirs.err, theirs.err
    assert "--mine" in theirs.err and "nothing was written" in theirs.err
    merged = tmp_path / "merged.md"  # a merge made from before the hand edit
    merged.write_text(before_hand.replace("Ana: restart the primary.", "Both: restart both."))
    from_file = cli("--kb", ana.root, "resolve", path, "--file", merged)
    assert from_file.code != 0 and "in no commit" in from_file.err, from_file.err
    with pytest.raises(SaveError, match="in no commit"):
        conflicts.resolve(ana, path, text=None)  # deleting it would lose the edit too
    assert full.read_text().endswith(HAND) and conflicts.get(ana, path) is not None

    # The same text as on disk loses nothing; --mine keeps the file as it is, edit included.
    assert cli("--kb", ana.root, "resolve", path, "--mine").code == 0
    assert full.read_text().endswith(HAND) and in_history(ana, HAND)
    assert conflicts.get(ana, path) is None
