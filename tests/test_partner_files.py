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
from helpers import CliResult, SharedRepo, commit_files, git, push

from kbapp.documents.importer import import_folder
from kbapp.documents.lint import lint_workspace
from kbapp.lifecycle import trends
from kbapp.sync import history, refused, sync
from kbapp.sync.git import Git
from kbapp.trust import audit

MAP_SAM_TO_ANA = "Ana Int <ana@internal.example> <sam@partner.example>\n"


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
    notes = "runbooks/partner-notes.md"
    commit_files(sam, {notes: "---\nid: kb-5a5a0001\ntitle: Notes\n---\n# Notes\n"}, "notes")
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
    created = [e for e in trends.trends(ana).events if e.path == notes]
    assert [(e.kind, e.org) for e in created] == [(trends.CREATED, "partner")]
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


# ---------------------------------------------------------------------------- .gitignore (D5)

HIDE_DOCUMENTS = "\n*.md\n!README.md\n"


def server_files(shared: SharedRepo) -> set[str]:
    return set(git(shared.remote, "ls-tree", "-r", "--name-only", "main").split("\n"))


def test_a_gitignore_never_keeps_a_saved_document_out_of_a_commit(
    shared: SharedRepo, tmp_path: Path
) -> None:
    """No hook (or a rule from before it): Ana's new documents, imports and edits are committed
    and published whatever the shared .gitignore says, and kbapp lists them."""
    sam = shared.plain_clone()
    ignore = (sam / ".gitignore").read_text() + HIDE_DOCUMENTS + "imported/\n"
    commit_files(sam, {".gitignore": ignore}, "tidy ignores")
    assert push(sam).returncode == 0
    ana = shared.ana
    sync.sync(ana)

    created = ana.create("runbook", "Restart the payments queue")
    assert created.commit is not None
    assert git(ana.root, "status", "--porcelain", "--ignored") == ""
    export = tmp_path / "export"
    export.mkdir()
    (export / "vpn.md").write_text("# VPN\n\nReconnect the tunnel.\n")
    import_folder(ana, export, into="imported")
    assert {created.path, "imported/vpn.md"} <= set(ana.document_paths())
    sync.sync(ana)
    assert {created.path, "imported/vpn.md"} <= server_files(shared)

    problems = [p for p in lint_workspace(ana).problems if p.code == "gitignore"]
    assert [(p.path, p.line) for p in problems] == [(".gitignore", 4), (".gitignore", 6)]
    assert f"hides documents from git ({created.path}, new documents at the top" in (
        problems[0].message
    )
    assert "imported/vpn.md" in problems[1].message


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".gitignore", "*.md\n!README.md\n"),
        (".gitignore", "runbooks/\n"),
        ("runbooks/.gitignore", "*\n"),
        ("runbooks/.GITIGNORE", "*.md\n"),
    ],
)
def test_the_hook_refuses_a_gitignore_that_hides_documents(
    hooked: SharedRepo, name: str, text: str
) -> None:
    hooked.ana.create("runbook", "Restart the payments queue")
    sync.sync(hooked.ana)
    sam = hooked.plain_clone()
    commit_files(sam, {name: text}, "tidy ignores")
    refused = push(sam)
    assert refused.returncode != 0
    assert f" {name}:1: '{text.split()[0]}' hides documents from git" in refused.stderr
    assert "[gitignore]" in refused.stderr


def test_the_hook_accepts_ordinary_ignore_rules_and_old_ones(hooked: SharedRepo) -> None:
    sam = hooked.plain_clone()
    commit_files(sam, {".gitignore": "*.swp\nbuild/\n.DS_Store\n"}, "editor files")
    assert push(sam).returncode == 0
    # a document added where an old rule (from before the hook) hides it blocks nothing
    commit_files(sam, {"build/notes.md": "# Notes\n\nText.\n"}, "notes")
    assert push(sam).returncode == 0


def test_sync_stops_before_sending_a_gitignore_that_hides_documents(hooked: SharedRepo) -> None:
    ana = hooked.ana
    ana.create("runbook", "Restart the payments queue")
    sync.sync(ana)
    before = git(hooked.remote, "rev-parse", "main")
    with (ana.root / ".gitignore").open("a") as out:
        out.write("runbooks/\n")
    with pytest.raises(refused.RefusedError) as caught:
        sync.sync(ana)
    assert ".gitignore" in str(caught.value) and "gitignore" in caught.value.details
    assert git(hooked.remote, "rev-parse", "main") == before


# ---------------------------------------------------------------------------- one id, one document (D7)


def _copy_with_its_id(sam: Path, source: str, target: str) -> None:
    text = (sam / source).read_text()
    text += "\nCall +1-555-0100 (partner hotline) and read them the admin password.\n"
    commit_files(sam, {target: text}, "ops notes")


def test_the_hook_refuses_a_document_that_takes_another_ones_id(hooked: SharedRepo) -> None:
    ana = hooked.ana
    protected = ana.create("sop", "Break-glass access", folder="security")
    sync.sync(ana)
    sam = hooked.plain_clone()
    _copy_with_its_id(sam, protected.path, "a-ops/break-glass.md")
    refused_push = push(sam)
    assert refused_push.returncode != 0
    doc_id = ana.load(protected.path).id
    assert f"a-ops/break-glass.md:2: takes the id {doc_id} of {protected.path}" in (
        refused_push.stderr
    )
    assert "[duplicate-id]" in refused_push.stderr
    # moving a document keeps its id: not a duplicate
    git(sam, "reset", "-q", "--hard", "origin/main")
    own = "runbooks/restart.md"
    commit_files(sam, {own: "---\nid: kb-5a5a5a5a\ntitle: Restart\n---\n# Restart\n"}, "add")
    git(sam, "mv", own, "runbooks/restart-the-queue.md")
    git(sam, "commit", "-q", "-m", "move")
    assert push(sam).returncode == 0


def test_a_duplicate_from_before_the_hook_blocks_nothing_and_the_window_asks(
    shared: SharedRepo, cli: Callable[..., CliResult], qtbot
) -> None:  # type: ignore[no-untyped-def]
    ana = shared.ana
    protected = ana.create("sop", "Break-glass access", folder="security")
    doc_id = ana.load(protected.path).id
    runbook = ana.create("runbook", "Payments outage")
    with (ana.root / runbook.path).open("a") as out:
        out.write(f"\nIf all else fails use [break-glass](kb:{doc_id}).\n")
    sync.sync(ana)
    sam = shared.plain_clone()
    _copy_with_its_id(sam, protected.path, "a-ops/break-glass.md")
    assert push(sam).returncode == 0  # no hook yet
    assert cli("server-hook", "install", shared.remote).code == 0
    # editing either copy is accepted: the hook refuses only a new duplicate
    with (sam / "a-ops/break-glass.md").open("a") as out:
        out.write("\nUpdated.\n")
    git(sam, "commit", "-q", "-am", "update")
    assert push(sam).returncode == 0

    sync.sync(ana)
    assert ana.resolve_link(runbook.path, "wiki", doc_id) is None
    from kbapp.ui.reader import ReaderView
    from kbapp.ui.tasks import Tasks

    tasks = Tasks()
    reader = ReaderView(ana, tasks)
    qtbot.addWidget(reader)
    reader.show()
    messages: list[str] = []
    reader.message.connect(lambda text, level: messages.append(text))
    with qtbot.waitSignal(reader.document_shown):
        reader.open(runbook.path)
    reader.follow_link(f"kb:{doc_id}")
    menu = reader.id_choice
    assert menu is not None and menu.isVisible()
    assert reader.path == runbook.path  # nothing opened by itself
    assert f"The id {doc_id} is used by 2 documents" in messages[-1]
    choices = [a.text() for a in menu.actions() if a.isEnabled()]
    assert [c.split()[0] for c in choices] == ["a-ops/break-glass.md", protected.path]
    with qtbot.waitSignal(reader.document_shown):
        next(a for a in menu.actions() if a.text().startswith(protected.path)).trigger()
    assert reader.path == protected.path
    menu.close()
    tasks.wait()


# ---------------------------------------------------------------------------- names that look like patterns (D9)


# (':(glob)x.md', '*.md', ':!x.md' are names no Windows desktop can have: refused, see
# tests/test_document_names.py; '[x].md' as a pattern would name 'x.md'.)
@pytest.mark.parametrize("name", ["a[b].md", "[x].md", "![x].md"])
def test_a_file_named_like_a_git_pattern_is_saved_and_synced_as_itself(
    shared: SharedRepo, cli: Callable[..., CliResult], name: str
) -> None:
    sam = shared.plain_clone()
    others = {"x.md": "---\nid: kb-0000bb01\ntitle: Plain x\n---\n# Plain x\n\nText.\n"}
    odd = {name: "---\nid: kb-0000bb02\ntitle: Odd\nstatus: published\n---\n# Odd\n\nBody.\n"}
    commit_files(sam, {**others, **odd}, "odd names")
    assert push(sam).returncode == 0
    ana = shared.ana
    sync.sync(ana)

    done = cli("--kb", ana.root, "review", "done", "kb-0000bb02")
    assert done.code == 0, done.err
    with (ana.root / name).open("a") as out:
        out.write("\nhand edit\n")
    sync.sync(ana)
    assert git(ana.root, "status", "--porcelain") == ""
    served = git(shared.remote, "show", f"main:{name}")
    assert "last_reviewed" in served and "hand edit" in served
    assert "last_reviewed" not in git(shared.remote, "show", "main:x.md")
    assert len(history.history(ana, "kb-0000bb02")) == 3


# ---------------------------------------------------------------------------- commit headers (D11)


def test_the_hook_scans_author_names_and_extra_commit_headers(hooked: SharedRepo) -> None:
    sam = hooked.plain_clone()
    (sam / "notes.txt").write_text("notes\n")
    git(sam, "add", "notes.txt")
    env = dict(os.environ, GIT_AUTHOR_NAME="PGPASSWORD=Sup3rS3cretValue9")
    subprocess.run(["git", "commit", "-q", "-m", "notes"], cwd=sam, env=env, check=True)
    refused_push = push(sam)
    assert refused_push.returncode != 0
    assert "(commit header):3: the author header looks like a secret" in refused_push.stderr
    assert "Sup3rS3cretValue9" not in refused_push.stderr

    git(sam, "reset", "-q", "--hard", "origin/main")
    head = git(sam, "rev-parse", "HEAD")
    tree = git(sam, "rev-parse", "HEAD^{tree}")
    raw = (
        f"tree {tree}\nparent {head}\n"
        "author Sam <sam@partner.example> 1700000000 +0000\n"
        "committer Sam <sam@partner.example> 1700000000 +0000\n"
        "x-note PGPASSWORD=Sup3rS3cretValue9\n\nextra header\n"
    )
    made = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=sam,
        input=raw,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    git(sam, "reset", "-q", "--hard", made)
    refused_push = push(sam)
    assert refused_push.returncode != 0
    assert "(commit header):5: the x-note header looks like a secret" in refused_push.stderr
    # an ordinary commit passes
    git(sam, "reset", "-q", "--hard", "origin/main")
    commit_files(sam, {"notes.txt": "notes\n"}, "notes")
    assert push(sam).returncode == 0


# ---------------------------------------------------------------------------- .gitattributes macros (D13)


def test_the_hook_judges_attributes_as_git_applies_them_across_files(hooked: SharedRepo) -> None:
    """A macro defined in the top-level .gitattributes and used in a folder's: git expands
    it there, so the hook does too (as the owner: .gitattributes is the owner's to change)."""
    clone = hooked.plain_clone("ana-plain")
    git(clone, "config", "user.email", "ana@internal.example")
    top = (clone / ".gitattributes").read_text()
    commit_files(
        clone,
        {
            ".gitattributes": top + "[attr]kbfriendly working-tree-encoding=UTF-16\n",
            "docs/.gitattributes": "*.md kbfriendly\n",
        },
        "attributes",
    )
    refused_push = push(clone, "ana@internal.example")
    assert refused_push.returncode != 0
    assert "give new documents in docs/ working-tree-encoding=UTF-16" in refused_push.stderr
    # a macro that breaks nothing is fine
    git(clone, "reset", "-q", "--hard", "origin/main")
    commit_files(
        clone,
        {
            ".gitattributes": top + "[attr]kbfriendly merge=kbapp\n",
            "docs/.gitattributes": "*.md kbfriendly\n",
        },
        "attributes",
    )
    assert push(clone, "ana@internal.example").returncode == 0


def test_both_organisations_moving_one_document_is_not_a_duplicate_the_hook_refuses(
    hooked: SharedRepo,
) -> None:
    """Found by the sync simulation: Ana and Jo each move the same document to a folder of
    their own; the merge keeps both names with the one id, a clash that each history already
    had on its own, so the hook (and sync before it) accept the merge; lint reports it."""
    ana, jo = hooked.ana, hooked.jo
    shared_doc = ana.create("sop", "Rotate keys")
    sync.sync(ana)
    sync.sync(jo)
    ana.move(shared_doc.path, "internal-ops/rotate-keys.md")
    jo.move(shared_doc.path, "partner-ops/rotate-keys.md")
    assert sync.sync(ana).pushed
    report = sync.sync(jo)
    assert report.pushed, report.message
    problems = lint_workspace(jo).problems
    assert any(p.code == "duplicate-id" for p in problems), problems


def test_the_partner_cannot_delete_the_shared_branch_to_bring_its_own_rules(
    hooked: SharedRepo,
) -> None:
    """Adversarial finding N5: with the server's HEAD naming a branch that never existed
    (`git init --bare` on an older git: 'master'), git lets a push delete 'main'; the next
    push to the then empty repository would bring its own rules. The hook refuses it."""
    sync.sync(hooked.ana)
    git(hooked.remote, "symbolic-ref", "HEAD", "refs/heads/master")
    sam = hooked.plain_clone()
    env = dict(os.environ, KBAPP_PUSHER_EMAIL="sam@partner.example")
    deleted = subprocess.run(
        ["git", "push", "origin", ":main"], cwd=sam, env=env, capture_output=True, text=True
    )
    assert deleted.returncode != 0
    assert "[delete-branch]" in deleted.stderr, deleted.stderr
    assert git(hooked.remote, "rev-parse", "--verify", "-q", "refs/heads/main")
    # A branch of one's own may still go.
    assert push_branch(sam, "scratch").returncode == 0
    gone = subprocess.run(
        ["git", "push", "origin", ":scratch"], cwd=sam, env=env, capture_output=True, text=True
    )
    assert gone.returncode == 0, gone.stderr


def push_branch(clone: Path, branch: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KBAPP_PUSHER_EMAIL="sam@partner.example")
    return subprocess.run(
        ["git", "push", "-q", "origin", f"origin/main:refs/heads/{branch}"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
    )
