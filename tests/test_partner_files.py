"""What the other organisation can do with files git itself reads from the shared repository
(issue 14, adversarial findings D5-D7): a ``.mailmap`` that renames who made a change, a
``.gitignore`` that hides documents, a document that reuses a protected document's id.

Real repositories: a bare shared repository (with kbapp's pre-receive hook installed by
``kbapp server-hook install`` where the hook is under test), Ana's and Jo's kbapp clones and
Sam's plain-git clone, pushing as a partner would."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliResult, SharedRepo, git

from kbapp.sync import history, sync
from kbapp.sync.git import Git
from kbapp.trust import audit

MAP_SAM_TO_ANA = "Ana Int <ana@internal.example> <sam@partner.example>\n"


def push(clone: Path, pusher: str = "sam@partner.example") -> subprocess.CompletedProcess[str]:
    """``git push`` as the server would see it: the hook knows who pushed."""
    env = dict(os.environ, KBAPP_PUSHER_EMAIL=pusher)
    return subprocess.run(
        ["git", "push", "-q", "origin", "HEAD:main"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def commit_files(clone: Path, files: dict[str, str], message: str) -> None:
    for relative, text in files.items():
        target = clone / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(clone, "add", "-A", "-f")
    git(clone, "commit", "-q", "-m", message)


# ---------------------------------------------------------------------------- .mailmap (D6)


def test_a_partner_mailmap_never_renames_who_made_a_change(shared: SharedRepo) -> None:
    """No hook (a repository from before it, or a .mailmap the owner wrote): kbapp still shows
    the partner's change as the partner's in the sync report, history and audit."""
    ana = shared.ana
    doc = ana.create("runbook", "Fail over the payments database")
    sync.sync(ana)
    sam = shared.plain_clone()
    commit_files(sam, {".mailmap": MAP_SAM_TO_ANA}, "housekeeping")
    text = (sam / doc.path).read_text() + "\nStep 0: disable the replication alarm first.\n"
    commit_files(sam, {doc.path: text}, "Update failover")
    assert push(sam).returncode == 0

    report = sync.sync(ana)
    (change,) = [c for c in report.changed_by_others if c.path == doc.path]
    assert (change.author, change.org) == ("Sam Plain", "partner")
    newest = history.history(ana, doc.path)[0]
    assert (newest.author, newest.email, newest.org) == (
        "Sam Plain",
        "sam@partner.example",
        "partner",
    )
    partner_changes = audit.audit(ana, org="partner")
    assert {e.subject for e in partner_changes} >= {"housekeeping", "Update failover"}
    assert all(e.author == "Sam Plain" for e in partner_changes)
    # plain git in the same clone does apply the mailmap: the file really is in effect
    assert git(ana.root, "log", "-1", "--format=%aN") == "Ana Int"


def test_the_git_gateway_refuses_mailmap_aware_questions(kb) -> None:  # type: ignore[no-untyped-def]
    gateway: Git = kb.git
    for args in (("log", "--format=%aN"), ("show", "-s", "--pretty=%cE"), ("log", "--use-mailmap")):
        with pytest.raises(ValueError, match="mailmap"):
            gateway.run(*args)


@pytest.mark.parametrize("name", [".mailmap", ".MAILMAP", "docs/.mailmap"])
def test_the_hook_keeps_the_mailmap_the_owners(
    hooked: SharedRepo, cli: Callable[..., CliResult], name: str
) -> None:
    sam = hooked.plain_clone()
    commit_files(sam, {name: MAP_SAM_TO_ANA}, "housekeeping")
    refused = push(sam)
    assert refused.returncode != 0
    assert f"{name}:0: only internal may change this path" in refused.stderr
    assert "[protected-path]" in refused.stderr
    # the owning organisation may keep one
    ana_plain = hooked.plain_clone("ana-plain")
    git(ana_plain, "config", "user.email", "ana@internal.example")
    commit_files(ana_plain, {name: "Ana Int <ana@internal.example> <ana@old.example>\n"}, "map")
    assert push(ana_plain, "ana@internal.example").returncode == 0
