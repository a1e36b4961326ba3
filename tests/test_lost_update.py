"""A save never writes over an edit made on disk after the document was read (adversarial
finding D14): the check is made under the write lock, so a save that waited for another
kbapp process (a sync committing, an import) cannot write a stale copy."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock
from helpers import CliResult

from kbapp.errors import SaveError
from kbapp.lifecycle.review_actions import mark_reviewed
from kbapp.workspace import Workspace

HAND_EDIT = "\nIMPORTANT line typed in an editor while kbapp waited\n"


def test_a_save_refuses_a_file_changed_after_it_was_read(kb: Workspace) -> None:
    created = kb.create("runbook", "Lost update").path
    doc = kb.load(created)
    full = kb.full_path(created)
    with full.open("a", encoding="utf-8") as handle:
        handle.write(HAND_EDIT)
    doc.set("status", "in-review")
    with pytest.raises(SaveError) as raised:
        kb.save(doc)
    assert raised.value.reason == "changed-on-disk"
    assert "changed on disk" in str(raised.value) and created in str(raised.value)
    assert HAND_EDIT.strip() in full.read_text(encoding="utf-8")  # not overwritten
    # Read again, the same change goes through and keeps the hand edit.
    assert mark_reviewed(kb, created).commit
    assert HAND_EDIT.strip() in full.read_text(encoding="utf-8")


def test_a_document_saved_twice_in_a_row_is_not_refused(kb: Workspace) -> None:
    created = kb.create("runbook", "Saved twice").path
    doc = kb.load(created)
    doc.set("status", "in-review")
    kb.save(doc)
    doc.set("status", "published")  # the written text is the new base
    assert kb.save(doc).commit


def test_a_review_that_waited_for_the_lock_keeps_a_hand_edit(kb: Workspace) -> None:
    """The finding's reproduction with real processes: another writer holds the lock while
    `kbapp review done` loads the document and waits; the user saves in an editor meanwhile."""
    created = kb.create("runbook", "Waiting review").path
    full = kb.full_path(created)
    lock = FileLock(kb.git.git_dir / "kbapp" / "write.lock")
    with lock:
        review = subprocess.Popen(
            [sys.executable, "-m", "kbapp", "--kb", str(kb.root), "review", "done", created],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(4)  # the review has read the document and waits for the lock
        with full.open("a", encoding="utf-8") as handle:
            handle.write(HAND_EDIT)
    output, _ = review.communicate(timeout=120)
    on_disk = HAND_EDIT.strip() in full.read_text(encoding="utf-8")
    log = subprocess.run(
        ["git", "-C", str(kb.root), "log", "-p", "--all"], capture_output=True, text=True
    ).stdout
    assert on_disk or HAND_EDIT.strip() in log, output
    assert on_disk, output  # and it is where the user left it
    if review.returncode != 0:  # it waited past the edit: refused, with the reason
        assert "changed on disk" in output and "Traceback" not in output


def test_documents_written_by_kbapp_remember_what_they_wrote(tmp_path: Path) -> None:
    from kbapp.documents import model as documents

    path = tmp_path / "a.md"
    path.write_text("---\ntitle: A\n---\nbody\n", encoding="utf-8")
    doc = documents.load(path, "a.md")
    assert not documents.changed_on_disk(doc, path)
    doc.body = "new body\n"
    documents.write(doc, path)
    assert not documents.changed_on_disk(doc, path)
    path.write_text("---\ntitle: A\n---\nother\n", encoding="utf-8")
    assert documents.changed_on_disk(doc, path)
    path.unlink()
    assert documents.changed_on_disk(doc, path)
    # Text that did not come from the file (a form, an old version) is not compared.
    assert not documents.changed_on_disk(documents.parse(b"x\n", "a.md"), path)


def test_a_file_name_that_is_not_utf8_stops_no_command(
    kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    """A Latin-1 file name committed before the hook refused them (adversarial finding D8,
    client side): list, search, lint and saves go on; lint names the file."""
    latin1 = os.fsdecode(b"caf\xe9.md")
    (kb.root / latin1).write_text("---\ntitle: Cafe\n---\n# Cafe\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(kb.root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(kb.root), "commit", "-qm", "latin1"], check=True)
    created = kb.create("runbook", "Normal document").path
    assert created in kb.document_paths()
    assert not any(kb.catalog.all()) or all("\udce9" not in e.path for e in kb.catalog.all())
    listed = cli("--kb", kb.root, "list")
    assert listed.code == 0 and "Normal document" in listed.out, listed.err
    linted = cli("--kb", kb.root, "lint")
    assert "not UTF-8" in linted.out + linted.err and "Traceback" not in linted.err
    assert mark_reviewed(kb, created).commit
