"""Which files are documents, for every clone alike (issue 14, adversarial re-test N1, N6, N7):

- a ``.gitignore`` never keeps a document out: a document written by hand is listed, counted
  by ``status``, committed and published whatever the rules say (``*/*/``, ``*[0-9]*.md``, a
  rule after 1 MiB of padding, ``*.MD`` where git ignores case); the hook judges the rules
  files whole and in any case, and ``kbapp lint`` warns about such a rule;
- one name convention: a name a Windows desktop cannot check out is refused by the hook and
  the client, and one already in the repository is never listed; lint names it, once;
- every Markdown extension (and any text file whose front matter says its sensitivity) gets
  the document rules.

Real repositories: a bare shared repository (with kbapp's pre-receive hook installed by
``kbapp server-hook install`` where the hook is under test), Ana's kbapp clone and Sam's
plain-git clone, pushing as a partner would."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliResult, SharedRepo, commit_files, git, push, write_doc

from kbapp.documents.lint import lint_workspace
from kbapp.errors import KbError, SyncError
from kbapp.sync import sync
from kbapp.trust import policy

HAND_WRITTEN = """---
id: kb-77aa{n:04d}
title: Written by hand {n}
type: runbook
status: draft
sensitivity: shared
owner_org: internal
---
# Written by hand {n}

Steps written in an editor, not with kbapp new.
"""

PADDING = "\n" + ("#" + "x" * 99 + "\n") * 10600  # 1,070,600 bytes of comments


def server_files(shared: SharedRepo) -> set[str]:
    return set(git(shared.remote, "ls-tree", "-r", "--name-only", "main").split("\n"))


# ---------------------------------------------------------------------------- .gitignore (N1)


@pytest.mark.parametrize(
    ("rule", "document"),
    [
        ("*/*/\n", "runbooks/db/failover-by-hand.md"),
        ("*[0-9]*.md\n", "runbooks/postgres-15-upgrade.md"),
        ("*.MD\n", "runbooks/restart-by-hand.md"),  # Ana's clone ignores case (Windows, macOS)
        (PADDING + "*.md\n!README.md\n", "runbooks/restart-by-hand.md"),
    ],
    ids=["second-level", "digit", "upper-case", "padded"],
)
def test_a_document_a_gitignore_matches_is_listed_committed_and_published(
    shared: SharedRepo, cli: Callable[..., CliResult], rule: str, document: str
) -> None:
    """No hook (or rules from before it): a document Ana writes in her editor is a document
    like any other, and lint names the rule that would hide it from plain git."""
    sam = shared.plain_clone()
    ignore = (sam / ".gitignore").read_text() + "\n" + rule
    commit_files(sam, {".gitignore": ignore}, "tidy ignores")
    assert push(sam).returncode == 0
    ana = shared.ana
    sync.sync(ana)
    git(ana.root, "config", "core.ignorecase", "true")
    write_doc(ana, document, HAND_WRITTEN.format(n=1))
    assert git(ana.root, "check-ignore", document) == document  # git itself would leave it out

    assert document in ana.document_paths()
    listed = cli("--kb", ana.root, "list")
    assert listed.code == 0 and "Written by hand 1" in listed.out
    assert sync.status(ana).local_changes == 1
    report = sync.sync(ana)
    assert document in report.changed_paths and report.pushed
    assert document in server_files(shared)
    assert git(ana.root, "status", "--porcelain", "--ignored", "--", document) == ""
    assert sync.status(ana).local_changes == 0

    # a hand edit of it is committed like any other
    with (ana.root / document).open("a") as out:
        out.write("\nOne more step.\n")
    sync.sync(ana)
    assert "One more step." in git(shared.remote, "show", f"main:{document}")

    problems = [p for p in lint_workspace(ana).problems if p.code == "gitignore"]
    assert len(problems) == 1 and problems[0].severity == "warning"
    assert problems[0].path == ".gitignore" and document in problems[0].message
    assert problems[0].line == ignore.count("\n") - (1 if rule.endswith("!README.md\n") else 0)


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ("*.MD\n", "'*.MD' hides documents from git"),
        ("*/*/\n", "'*/*/' hides documents from git (runbooks/db/failover.md"),
        ("*[0-9]*.md\n", "'*[0-9]*.md' hides documents from git (runbooks/postgres-15.md"),
        ("runbooks/db/*.mkd\n", "'runbooks/db/*.mkd' hides documents from git"),
        (PADDING + "*.md\n!README.md\n", ".gitignore:10604: '*.md' hides documents"),
        (PADDING, ".gitignore:0: is 1045 KB; a .gitignore or .gitattributes larger than"),
    ],
    ids=["upper-case", "second-level", "digit", "mkd", "padded-rule", "padded-size"],
)
def test_the_hook_judges_ignore_rules_whole_in_any_case_against_every_document(
    hooked: SharedRepo, rule: str, needle: str
) -> None:
    ana = hooked.ana
    paths = ("runbooks/db/failover.md", "runbooks/postgres-15.md", "runbooks/db/notes.mkd")
    for number, path in enumerate(paths, start=10):
        write_doc(ana, path, HAND_WRITTEN.format(n=number))
    sync.sync(ana)
    sam = hooked.plain_clone()
    before = git(hooked.remote, "rev-parse", "main")
    commit_files(sam, {".gitignore": (sam / ".gitignore").read_text() + rule}, "ignores")
    refused = push(sam)
    assert refused.returncode != 0
    assert needle in refused.stderr, refused.stderr
    assert git(hooked.remote, "rev-parse", "main") == before


@pytest.mark.parametrize("rule", ["*/*/", "*[0-9]*.md"])
def test_the_hook_refuses_a_rule_that_would_hide_the_next_document_written(
    hooked: SharedRepo, rule: str
) -> None:
    """No document matches the rule yet: the probe names (a new document in each folder, one
    a folder deeper with a digit in its name) do."""
    sam = hooked.plain_clone()
    commit_files(sam, {".gitignore": (sam / ".gitignore").read_text() + rule + "\n"}, "ignores")
    refused = push(sam)
    assert refused.returncode != 0
    assert f"'{rule}' hides documents from git (new documents such as " in refused.stderr


# ---------------------------------------------------------------------------- names (N6)

WINDOWS_CANNOT = [
    "back\\slash.md",
    "runbooks/what?.md",
    "a:b.md",
    "star*.md",
    'quote".md',
    "x<y>.md",
    "pipe|x.md",
    "cr\rname.md",
    "tab\there.md",
    "trail.md.",
    "folder /x.md",
    "con.md",
    "runbooks/LPT1.md",
    "Aux.tar.gz",
    "nul",
    "COM9.md",
]


@pytest.mark.parametrize("name", WINDOWS_CANNOT)
def test_a_name_windows_cannot_check_out_is_one_rule(name: str) -> None:
    (violation,) = policy.check_path(name)
    assert violation.rule == "path" and "Windows desktop cannot check out" in violation.message


@pytest.mark.parametrize(
    "name", ["runbooks/restart.md", "CONSOLE.md", "com10.md", "a.b/c d.md", "![x].md", "été.md"]
)
def test_ordinary_names_pass_the_name_rule(name: str) -> None:
    assert policy.check_path(name) == []


@pytest.mark.parametrize("name", ["back\\slash.md", "runbooks/what?.md", "con.md", "tab\there.md"])
def test_the_hook_and_the_client_refuse_a_name_windows_cannot_check_out(
    hooked: SharedRepo, name: str
) -> None:
    sam = hooked.plain_clone()
    commit_files(sam, {name: HAND_WRITTEN.format(n=2)}, "odd name")
    refused = push(sam)
    assert refused.returncode != 0
    assert "is a name a Windows desktop cannot check out" in refused.stderr
    assert "[path]" in refused.stderr

    ana = hooked.ana
    head = git(ana.root, "rev-parse", "HEAD")
    write_doc(ana, name, HAND_WRITTEN.format(n=3))
    with pytest.raises(SyncError, match=r"Windows desktop cannot check out.*\[path\]"):
        sync.sync(ana)
    assert git(ana.root, "rev-parse", "HEAD") == head
    (ana.root / name).unlink()
    created = ana.create("runbook", "Restart the payments queue")
    with pytest.raises(KbError, match=r"Windows desktop cannot check out"):
        ana.move(created.path, name)
    assert (ana.root / created.path).is_file()


def test_a_name_already_in_the_repository_is_never_listed_and_lint_names_it_once(
    shared: SharedRepo, cli: Callable[..., CliResult]
) -> None:
    """Pushed before the hook was installed: every command works, the file is never listed
    (it could not be opened on Windows), lint names each such file once, and the next
    changes are published through the hook."""
    sam = shared.plain_clone()
    odd = ["back\\slash.md", "runbooks/what?.md", "con.md", "Notes.MDOWN"]
    commit_files(sam, {n: HAND_WRITTEN.format(n=i) for i, n in enumerate(odd)}, "odd names")
    assert push(sam).returncode == 0
    assert cli("server-hook", "install", shared.remote).code == 0
    ana = shared.ana
    sync.sync(ana)
    # a symbolic link whose name is also unusable is one problem, not two
    os.symlink("con.md", ana.root / "link?.md")

    assert not set(odd) & set(ana.document_paths())
    listed = cli("--kb", ana.root, "list")
    assert listed.code == 0 and "Written by hand" not in listed.out
    assert cli("--kb", ana.root, "search", "editor").code in (0, 1)
    problems = lint_workspace(ana).problems
    named = sorted(p.path for p in problems if p.code in ("path", "symlink"))
    assert named == sorted(["back\\slash.md", "runbooks/what?.md", "con.md", "link?.md"])
    assert all(p.severity == "error" for p in problems if p.path in named)
    (rename,) = [p for p in problems if p.code == "markdown-extension"]
    assert rename.path == "Notes.MDOWN" and "rename it to Notes.md" in rename.message

    (ana.root / "link?.md").unlink()
    created = ana.create("runbook", "Restart the payments queue")
    report = sync.sync(ana)
    assert report.pushed and created.path in server_files(shared)


# ---------------------------------------------------------------------------- Markdown extensions (N7)

INTERNAL = "---\ntitle: Layoffs\nsensitivity: internal\n---\n# Layoffs\n\nconfidential\n"


@pytest.mark.parametrize(
    "name",
    [
        "plans/Layoffs.mdown",
        "plans/Layoffs.mkd",
        "plans/Layoffs.MKDN",
        "plans/Layoffs.mdwn",
        "plans/Layoffs.livemd",
        "plans/Layoffs.Markdown",
        "plans/Layoffs.md.txt",
        "plans/layoffs.txt",
    ],
)
def test_every_markdown_file_and_any_text_saying_its_sensitivity_gets_the_rule(
    hooked: SharedRepo, name: str
) -> None:
    sam = hooked.plain_clone()
    commit_files(sam, {name: INTERNAL}, "plans")
    refused = push(sam)
    assert refused.returncode != 0
    assert f"{name}:3: this document is marked 'internal'" in refused.stderr

    ana = hooked.ana
    head = git(ana.root, "rev-parse", "HEAD")
    write_doc(ana, name, INTERNAL)
    with pytest.raises(SyncError, match=r"\[sensitivity\]"):
        sync.sync(ana)
    assert git(ana.root, "rev-parse", "HEAD") == head


def test_text_without_front_matter_or_sensitivity_is_not_a_document(hooked: SharedRepo) -> None:
    sam = hooked.plain_clone()
    files = {
        "notes/todo.txt": "sensitivity: internal is what the plan says\n",
        "notes/meta.txt": "---\ntitle: x\n---\nsensitivity: internal\n",
    }
    commit_files(sam, files, "notes")
    assert push(sam).returncode == 0


def test_a_markdown_file_of_another_extension_cannot_take_a_documents_id(
    hooked: SharedRepo,
) -> None:
    ana = hooked.ana
    original = ana.create("runbook", "Break-glass access")
    sync.sync(ana)
    sam = hooked.plain_clone()
    copy = (sam / original.path).read_text() + "\nCall the partner hotline instead.\n"
    commit_files(sam, {"a-ops/break-glass.mkd": copy}, "ops notes")
    refused = push(sam)
    assert refused.returncode != 0
    assert f"a-ops/break-glass.mkd:2: takes the id {ana.load(original.path).id}" in refused.stderr
    assert "[duplicate-id]" in refused.stderr


def test_the_importer_reads_every_markdown_extension(tmp_path: Path, kb) -> None:  # type: ignore[no-untyped-def]
    from kbapp.documents.importer import import_folder

    export = tmp_path / "export"
    export.mkdir()
    (export / "vpn.mdown").write_text("# VPN\n\nReconnect the tunnel.\n")
    (export / "db.MKD").write_text("# DB\n\nSteps.\n")
    (export / "what?.md").write_text("# What\n\nA name Windows cannot have.\n")
    report = import_folder(kb, export, into="imported")
    assert {"imported/vpn.md", "imported/db.md"} <= set(kb.document_paths())
    ((source, why),) = report.skipped
    assert source == "what?.md" and "Windows desktop cannot check out" in why
    assert not (kb.root / "imported/what?.md").exists()
