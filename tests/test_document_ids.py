"""A document's id is one fact (issue 14, adversarial finding N3): its ``id:`` line or, without
one, the id derived from its path, which anyone can compute. The hook's one-document-per-id
rule counts both, as the catalog does, so the partner cannot take the id of a protected
document that has no ``id:`` line.

Real repositories: a bare shared repository with kbapp's pre-receive hook installed by
``kbapp server-hook install``, Ana's kbapp clone, Sam's plain-git clone."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from helpers import CliResult, SharedRepo, git

from kbapp.documents.lint import lint_workspace
from kbapp.documents.model import derived_id
from kbapp.sync import sync

PROTECTED = "security/break-glass-access.md"
HAND_WRITTEN = """---
title: Break-glass access
type: sop
status: draft
sensitivity: shared
owner_org: internal
---
# Break-glass access

Open the sealed envelope in the safe, log the access in the incident channel.
"""


def squat(doc_id: str) -> str:
    return (
        f"---\nid: {doc_id}\ntitle: Break-glass access\ntype: sop\nstatus: draft\n"
        "sensitivity: shared\nowner_org: partner\n---\n# Break-glass access\n\n"
        "Call +1-555-0100 (partner hotline) and read them the admin password.\n"
    )


def push(clone: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "push", "-q", "origin", "HEAD:main"],
        cwd=clone,
        env=dict(os.environ, KBAPP_PUSHER_EMAIL="sam@partner.example"),
        capture_output=True,
        text=True,
        check=False,
    )


def commit_file(clone: Path, relative: str, text: str, message: str) -> None:
    (clone / relative).parent.mkdir(parents=True, exist_ok=True)
    (clone / relative).write_text(text)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", message)


def protected_without_id(shared: SharedRepo) -> str:
    """Ana's hand-written procedure without an ``id:`` line, committed by sync and linked to
    by its derived id; returns that id."""
    ana = shared.ana
    (ana.root / PROTECTED).parent.mkdir(parents=True, exist_ok=True)
    (ana.root / PROTECTED).write_text(HAND_WRITTEN)
    runbook = ana.create("runbook", "Payments outage")
    doc_id = derived_id(PROTECTED)
    assert [e.doc_id for e in ana.catalog.all() if e.path == PROTECTED] == [doc_id]
    with (ana.root / runbook.path).open("a") as out:
        out.write(f"\nIf all else fails use [break-glass](kb:{doc_id}).\n")
    sync.sync(ana)
    assert "\nid:" not in git(shared.remote, "show", f"main:{PROTECTED}")
    return doc_id


def test_the_partner_cannot_take_the_derived_id_of_a_document_without_one(
    hooked: SharedRepo,
) -> None:
    doc_id = protected_without_id(hooked)
    before = git(hooked.remote, "rev-parse", "main")
    sam = hooked.plain_clone()
    commit_file(sam, "a-ops/break-glass.md", squat(doc_id), "ops notes")
    refused = push(sam)
    assert refused.returncode != 0, refused.stderr
    assert (
        f"a-ops/break-glass.md:2: takes the id {doc_id} of {PROTECTED} (derived from its path: "
        "it has no id: line)" in refused.stderr
    ), refused.stderr
    assert "[duplicate-id]" in refused.stderr
    assert git(hooked.remote, "rev-parse", "main") == before
    # an id of its own is fine, and so is editing the id-less document
    git(sam, "reset", "-q", "--hard", "origin/main")
    commit_file(sam, "a-ops/break-glass.md", squat("kb-5a5a0003"), "ops notes")
    assert push(sam).returncode == 0, "a document with an id of its own"
    ana = hooked.ana
    sync.sync(ana)
    with (ana.root / PROTECTED).open("a") as out:
        out.write("\nSecond step: call the security officer.\n")
    assert sync.sync(ana).pushed
    assert ana.resolve(doc_id) == PROTECTED


def test_a_document_without_an_id_cannot_take_one_another_document_writes(
    hooked: SharedRepo,
) -> None:
    """The other way round: the pushed document has no ``id:`` line, and the id its path
    derives is one another document writes."""
    ana = hooked.ana
    taken = derived_id("a-ops/notes.md")
    (ana.root / "security").mkdir()
    (ana.root / PROTECTED).write_text(
        HAND_WRITTEN.replace("---\ntitle", f"---\nid: {taken}\ntitle", 1)
    )
    sync.sync(ana)  # fmt: skip
    sam = hooked.plain_clone()
    commit_file(sam, "a-ops/notes.md", "# Notes\n\nPartner notes.\n", "notes")
    refused = push(sam)
    assert refused.returncode != 0, refused.stderr
    assert f"a-ops/notes.md:0: takes the id {taken} of {PROTECTED}:" in refused.stderr
    # the same document anywhere else has an id of its own
    git(sam, "reset", "-q", "--hard", "origin/main")
    commit_file(sam, "a-ops/other-notes.md", "# Notes\n\nPartner notes.\n", "notes")
    assert push(sam).returncode == 0


def test_a_derived_id_clash_from_before_the_hook_blocks_nothing(
    shared: SharedRepo, cli: Callable[..., CliResult]
) -> None:
    """Only a new duplicate is refused: one pushed before the hook stays a lint error, both
    documents can still be edited, and ``kbapp show`` asks which one (as it did)."""
    doc_id = protected_without_id(shared)
    sam = shared.plain_clone()
    commit_file(sam, "a-ops/break-glass.md", squat(doc_id), "ops notes")
    assert push(sam).returncode == 0  # no hook yet
    assert cli("server-hook", "install", shared.remote).code == 0
    with (sam / "a-ops/break-glass.md").open("a") as out:
        out.write("\nAsk for the duty manager.\n")
    git(sam, "commit", "-q", "-am", "more notes")
    assert push(sam).returncode == 0
    ana = shared.ana
    sync.sync(ana)
    with (ana.root / PROTECTED).open("a") as out:
        out.write("\nSecond step: call the security officer.\n")
    assert sync.sync(ana).pushed
    shown = cli("--kb", ana.root, "show", doc_id)
    assert shown.code != 0 and "is used by more than one document" in shown.err, shown.err
    problems = lint_workspace(ana).problems
    assert any(p.code == "duplicate-id" and p.path == "a-ops/break-glass.md" for p in problems)
