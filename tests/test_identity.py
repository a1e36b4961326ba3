"""Who you are, once, and a save is a save: on a new machine without any git identity (fresh
HOME, empty global git config), kbapp commits with the identity from its own settings, stops
before changing anything when nobody is known, never leaves a half-made knowledge base, and a
save whose commit fails is kept on disk and committed by the next save or sync."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliResult, git

from kbapp import journal, sync
from kbapp.errors import IdentityMissing, NotCommitted, SyncError
from kbapp.identity import MISSING
from kbapp.settings import Settings
from kbapp.workspace import Workspace

ANA = {"user_name": "Ana Ribeiro", "user_email": "ana@internal.example"}
ORGS = ("--org", "internal=internal.example", "--org", "partner=partner.example")


def tree(root: Path) -> list[str]:
    """Everything under ``root`` (what a failed command must not have left), but git's object
    store (git keeps what was staged until its garbage collection; nothing refers to it)."""
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if not p.relative_to(root).as_posix().startswith(".git/objects/"))


def failing_hook(hooks: Path) -> Path:
    """A pre-commit hook that refuses every commit (a real git hook, run by git), in the
    folder ``hooks`` (a repository's ``.git/hooks``, or one ``core.hooksPath`` names)."""
    hook = hooks / "pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'the team hook says no' >&2\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    return hook


def status(root: Path) -> str:
    return git(root, "status", "--porcelain", "--untracked-files=all")


# --------------------------------------------------------------------------- the command line


def test_init_without_identity_stops_first_and_leaves_nothing(
        no_identity: Path, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    target = tmp_path / "kb"
    result = cli("init", target, "--name", "Ops KB", *ORGS)
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert lines == [f"kbapp: {MISSING}"]  # one sentence, naming both commands
    assert "kbapp settings user_name" in lines[0] and "kbapp settings user_email" in lines[0]
    assert not target.exists()

    empty = tmp_path / "empty"  # a folder the user made for it stays as it was: empty
    empty.mkdir()
    assert cli("init", empty, "--name", "Ops KB").code == 1
    assert tree(empty) == []

    assert cli("settings", "user_name", "Ana Ribeiro").code == 0
    assert cli("settings", "user_email", "ana@internal.example").code == 0
    made = cli("init", target, "--name", "Ops KB", *ORGS)
    assert made.code == 0, made.err
    assert git(target, "log", "-1", "--format=%an <%ae> / %cn <%ce>") == (
        "Ana Ribeiro <ana@internal.example> / Ana Ribeiro <ana@internal.example>")
    assert "KB-Org: internal" in git(target, "log", "-1", "--format=%B")
    assert status(target) == ""
    # kbapp passes the identity with -c: nobody's git configuration was written
    assert git(target, "config", "--local", "--list").count("user.") == 0
    assert "user" not in (no_identity / ".gitconfig").read_text()


def test_init_failing_late_takes_everything_back_and_can_run_again(
        no_identity: Path, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    """The first commit is refused (a hook every new repository gets from the user's git
    configuration): no folder, no repository, no staged files are left; once the hook is
    gone, a second init works."""
    Settings(**ANA).save()
    hooks = tmp_path / "hooks"
    failing_hook(hooks)
    with (no_identity / ".gitconfig").open("a") as config:
        config.write(f"[core]\n\thooksPath = {hooks}\n")
    target = tmp_path / "kb"
    result = cli("init", target, "--name", "Ops KB")
    assert result.code == 1 and "hook says no" in result.err
    assert not target.exists()

    existing = tmp_path / "existing"  # a repository with history gains nothing either
    existing.mkdir()
    git(existing, "init", "-q")
    (existing / ".gitignore").write_text("*.log\n")
    git(existing, "add", ".gitignore")
    git(existing, "-c", "core.hooksPath=/dev/null", "-c", "user.name=Someone",
        "-c", "user.email=s@example.org", "commit", "-q", "-m", "start")
    before = tree(existing)
    assert cli("init", existing, "--name", "Ops KB").code == 1
    assert status(existing) == "" and (existing / ".gitignore").read_text() == "*.log\n"
    assert tree(existing) == before

    (hooks / "pre-commit").unlink()
    assert cli("init", target, "--name", "Ops KB").code == 0
    assert cli("init", existing, "--name", "Ops KB").code == 0
    assert git(existing, "log", "-1", "--format=%s %an") == "Create knowledge base: Ops KB Ana Ribeiro"


def test_commands_without_identity_change_nothing(
        no_identity: Path, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    """Every command that commits stops before it changes anything, with the same sentence."""
    kb = Workspace.init(tmp_path / "kb", "Ops KB", ["internal"], settings=Settings(**ANA),
                        domains={"internal": ["internal.example"]})
    doc = kb.create("runbook", "Restart the VPN gateway")
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(kb.root, "remote", "add", "origin", str(bare))
    kb.close()
    source = tmp_path / "import"
    source.mkdir()
    (source / "note.md").write_text("# A note\n\nText.\n")
    head = git(kb.root, "rev-parse", "HEAD")
    commands = [
        ("new", "--type", "sop", "--title", "Rotate keys"),
        ("review", "done", doc.path),
        ("import", source),
        ("move", doc.path, "elsewhere/vpn.md"),
        ("retire", doc.path, "--reason", "gone"),
        ("sync",),
    ]
    for command in commands:
        result = cli("--kb", kb.root, *command)
        assert result.code == 1, command
        assert result.err.strip().splitlines()[-1] == f"kbapp: {MISSING}", command
        assert git(kb.root, "rev-parse", "HEAD") == head and status(kb.root) == "", command
    assert git(bare, "rev-list", "--all") == ""  # nothing was pushed


# --------------------------------------------------------------------------- the core


def test_settings_identity_wins_over_gits_and_applies_live(tmp_path: Path) -> None:
    """The conftest's git identity is "Test Runner"; kbapp's own settings come first, and a
    change to them applies to an open workspace at once."""
    settings = Settings()
    kb = Workspace.init(tmp_path / "kb", "Ops KB", ["internal", "partner"], settings=settings,
                        domains={"internal": ["internal.example"], "partner": ["partner.example"]})
    assert git(kb.root, "log", "-1", "--format=%an <%ae>") == "Test Runner <runner@internal.example>"
    assert kb.identity.org == "internal"  # from git's e-mail domain

    settings.update({"user_name": "Jo Okafor", "user_email": "jo@partner.example"})
    assert (kb.identity.name, kb.identity.email, kb.identity.org) == (
        "Jo Okafor", "jo@partner.example", "partner")
    kb.create("runbook", "Fail over the database")
    assert git(kb.root, "log", "-1", "--format=%an <%ae>|%cn|%(trailers:key=KB-Org,valueonly)"
               ).strip() == "Jo Okafor <jo@partner.example>|Jo Okafor|partner"
    assert Settings.load().user_email == "jo@partner.example"  # written, too
    kb.close()


def test_a_name_git_refuses_is_no_identity(no_identity: Path, tmp_path: Path) -> None:
    with pytest.raises(IdentityMissing) as raised:
        Workspace.init(tmp_path / "kb", "Ops KB", [],
                       settings=Settings(user_name="...", user_email="a@internal.example"))
    assert "disallowed characters" in raised.value.details
    assert not (tmp_path / "kb").exists()


def test_identity_answered_later_unblocks_an_open_workspace(no_identity: Path,
                                                            tmp_path: Path) -> None:
    kb = Workspace.init(tmp_path / "kb", "Ops KB", ["internal"], settings=Settings(**ANA),
                        domains={"internal": ["internal.example"]})
    kb.close()
    settings = Settings()
    ws = Workspace.open(kb.root, settings)
    assert not ws.identity.known
    doc = ws.draft_from_template("runbook", "Clear the mail queue")
    with pytest.raises(IdentityMissing):
        ws.save(doc)
    assert not (ws.root / doc.path).exists() and status(ws.root) == ""
    settings.update({"user_name": "Sam Lee", "user_email": "sam@internal.example"})
    ws.save(doc)
    assert git(ws.root, "log", "-1", "--format=%s %an") == "Create: Clear the mail queue Sam Lee"
    ws.close()


def test_save_whose_commit_fails_is_kept_and_the_next_save_commits_it(kb: Workspace) -> None:
    first = kb.create("runbook", "Reset a VPN token")
    second = kb.create("sop", "Rotate the keys")
    hook = failing_hook(kb.root / ".git/hooks")
    doc = kb.load(first.path)
    doc.body += "\nStep written while the commit was refused.\n"
    with pytest.raises(NotCommitted) as raised:
        kb.save(doc)
    assert str(raised.value).startswith("Saved to disk; not committed yet: ")
    assert "hook says no" in str(raised.value) + raised.value.details
    assert "refused" in (kb.root / first.path).read_text()  # on disk: saved
    assert journal.pending_paths(kb) == [first.path]
    assert raised.value.result.path == first.path and raised.value.result.commit is None
    with pytest.raises(SyncError, match="hook says no"):
        kb.commit_pending(first.path)  # Ctrl+S again, hook still there: still refused
    hook.unlink()
    done = kb.commit_pending(first.path)  # Ctrl+S with nothing new typed: commits it
    assert done is not None and done.commit == git(kb.root, "rev-parse", "HEAD")
    assert git(kb.root, "log", "-1", "--format=%s") == "Update: Reset a VPN token"
    assert status(kb.root) == "" and journal.pending_paths(kb) == []
    assert kb.commit_pending(first.path) is None  # now there is nothing to save
    assert kb.commit_pending(second.path) is None


def test_failed_commit_then_next_save_and_nothing_to_save(kb: Workspace) -> None:
    first = kb.create("runbook", "Reset a VPN token")
    second = kb.create("sop", "Rotate the keys")
    hook = failing_hook(kb.root / ".git/hooks")
    doc = kb.load(first.path)
    doc.body += "\nStep written while the commit was refused.\n"
    with pytest.raises(NotCommitted):
        kb.save(doc)
    head = git(kb.root, "rev-parse", "HEAD")
    other = kb.load(second.path)
    other.body += "\nAnother edit.\n"
    with pytest.raises(NotCommitted):  # still refused: both wait, neither is lost
        kb.save(other)
    assert git(kb.root, "rev-parse", "HEAD") == head
    assert journal.pending_paths(kb) == [first.path, second.path]

    hook.unlink()
    third = kb.load(second.path)
    third.body += "\nA third edit, with the hook gone.\n"
    kb.save(third)  # commits the two waiting saves first, each with its own message
    assert git(kb.root, "log", "-3", "--format=%s").splitlines() == [
        "Update: Rotate the keys", "Update: Rotate the keys", "Update: Reset a VPN token"]
    assert "refused" in git(kb.root, "show", f"HEAD~2:{first.path}")
    assert status(kb.root) == "" and journal.pending_paths(kb) == []


def test_sync_commits_a_save_whose_commit_failed(shared) -> None:  # type: ignore[no-untyped-def]
    ana = shared.ana
    path = ana.create("runbook", "Payments API returns 503").path
    hook = failing_hook(ana.root / ".git/hooks")
    doc = ana.load(path)
    doc.body += "\nRestart the pods.\n"
    with pytest.raises(NotCommitted):
        ana.save(doc)
    hook.unlink()
    report = sync.sync(ana)
    assert report.pushed and path in report.changed_paths
    assert git(ana.root, "log", "-1", "--format=%s") == "Update: Payments API returns 503"
    assert status(ana.root) == "" and journal.pending_paths(ana) == []
    assert "Restart the pods." in git(shared.remote, "show", f"main:{path}")


def test_unsaved_identity_at_open_leaves_the_journal_for_later(no_identity: Path,
                                                               tmp_path: Path) -> None:
    """A save cut off before its commit, opened on a machine where nobody is known yet: the
    work stays on disk, pending, and is committed once the user says who they are."""
    kb = Workspace.init(tmp_path / "kb", "Ops KB", [], settings=Settings(**ANA))
    path = kb.create("runbook", "Half saved").path
    (kb.root / path).write_text((kb.root / path).read_text() + "\nWritten, not committed.\n")
    (kb.data_dir / "pending.json").write_text(json.dumps(
        {"kind": "save", "pid": 1, "message": "Update: Half saved", "paths": [path]}))
    kb.close()
    settings = Settings()
    ws = Workspace.open(kb.root, settings)
    assert any("not committed yet" in line for line in ws.repairs)
    assert status(ws.root) != ""
    settings.update(ANA)
    assert ws.commit_pending(path) is not None
    assert git(ws.root, "log", "-1", "--format=%s") == "Update: Half saved"
    assert status(ws.root) == ""
    ws.close()
