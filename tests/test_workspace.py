"""Workspace: init, open, create/save/move through git, and clear errors for bad folders."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import git, write_doc

from kbapp.config import load_config
from kbapp.documents import schema
from kbapp.errors import KbError, NotAKnowledgeBase, PolicyError
from kbapp.settings import Settings
from kbapp.workspace import Workspace, slugify


def test_init_creates_a_repository_with_config_and_a_first_commit(kb: Workspace) -> None:
    root = kb.root
    assert (root / ".kb/config.toml").is_file()
    assert "*.md merge=kbapp" in (root / ".gitattributes").read_text()
    config = load_config(root)
    assert config.name == "Test KB"
    assert config.org_names == ["internal", "partner"]
    assert config.org_for_email("someone@partner.example") == "partner"
    assert git(root, "log", "--format=%s") == "Create knowledge base: Test KB"
    assert "KB-Org: internal" in git(root, "log", "-1", "--format=%B")
    assert git(root, "status", "--porcelain") == ""


def test_init_refuses_an_existing_knowledge_base(kb: Workspace, settings: Settings) -> None:
    with pytest.raises(KbError, match="already a knowledge base"):
        Workspace.init(kb.root, "Again", ["internal"], settings=settings)


@pytest.mark.parametrize("kind", ["missing", "file", "plain-folder", "bare"])
def test_open_explains_what_is_wrong(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("x")
    elif kind == "plain-folder":
        target.mkdir()
    elif kind == "bare":
        git(tmp_path, "init", "--bare", "-q", str(target))
    with pytest.raises(NotAKnowledgeBase) as info:
        Workspace.open(target)
    message = str(info.value)
    expected = {
        "missing": "does not exist",
        "file": "is a file",
        "plain-folder": "not a git repository",
        "bare": "bare git repository",
    }[kind]
    assert expected in message


def test_open_from_a_sub_folder_finds_the_root(kb: Workspace) -> None:
    (kb.root / "runbooks").mkdir()
    with Workspace.open(kb.root / "runbooks") as again:
        assert again.root == kb.root


def test_identity_and_organisation_come_from_settings_and_config(kb: Workspace) -> None:
    assert kb.identity.name == "Ana Ribeiro"
    assert kb.identity.org == "internal"  # from the e-mail domain in .kb/config.toml


def test_identity_falls_back_to_git_config(tmp_path: Path) -> None:
    ws = Workspace.init(
        tmp_path / "kb",
        "KB",
        ["internal"],
        settings=Settings(),
        domains={"internal": ["internal.example"]},
    )
    assert ws.identity.email == "runner@internal.example"  # from the test gitconfig
    assert ws.identity.org == "internal"


def test_create_writes_from_template_and_commits(kb: Workspace) -> None:
    result = kb.create("runbook", "PaymentsApiHigh5xxRate", systems=["payments-api"], tags=["http"])
    assert result.path == "runbooks/paymentsapihigh5xxrate.md"
    doc = kb.load(result.path)
    assert schema.ID_RE.match(doc.id)
    assert doc.type == "runbook" and doc.status == "draft" and doc.owner_org == "internal"
    assert doc.owners == ["ana@internal.example"] and doc.systems == ["payments-api"]
    assert doc.template == "runbook/1"
    assert doc.body.startswith("# PaymentsApiHigh5xxRate\n")
    log = git(kb.root, "log", "-1", "--format=%an|%ae|%s%n%b")
    assert log.startswith("Ana Ribeiro|ana@internal.example|Create: PaymentsApiHigh5xxRate")
    assert "KB-Org: internal" in log
    assert git(kb.root, "status", "--porcelain") == ""
    assert kb.catalog.get(result.path).title == "PaymentsApiHigh5xxRate"  # type: ignore[union-attr]


def test_new_paths_never_collide(kb: Workspace) -> None:
    first = kb.create("sop", "Rotate certificate").path
    second = kb.create("sop", "Rotate certificate").path
    assert first != second and second.endswith("-2.md")
    assert kb.load(first).id != kb.load(second).id


def test_save_commits_an_update_and_announces_it(kb: Workspace) -> None:
    path = kb.create("sop", "Patch window").path
    seen = []
    kb.documents_changed.connect(lambda changes: seen.append(changes))
    doc = kb.load(path)
    doc.body += "\nMore steps.\n"
    result = kb.save(doc)
    assert result.commit and git(kb.root, "log", "-1", "--format=%s") == "Update: Patch window"
    assert seen and seen[-1].modified == [path]


def test_saving_an_unchanged_document_makes_no_commit(kb: Workspace) -> None:
    path = kb.create("sop", "Nothing changes").path
    before = git(kb.root, "rev-parse", "HEAD")
    assert kb.save(kb.load(path)).commit is None
    assert git(kb.root, "rev-parse", "HEAD") == before


def test_internal_document_is_refused_in_a_shared_kb(kb: Workspace) -> None:
    doc = kb.draft_from_template("sop", "Internal only")
    doc.meta["sensitivity"] = "internal"
    with pytest.raises(PolicyError, match="marked 'internal'"):
        kb.save(doc)
    assert not (kb.root / doc.path).exists()


def test_conflict_markers_are_never_committed(kb: Workspace) -> None:
    doc = kb.draft_from_template("sop", "Merge gone wrong")
    doc.body += "<<<<<<< ours\nmine\n=======\ntheirs\n>>>>>>> theirs\n"
    with pytest.raises(PolicyError, match="conflict marker"):
        kb.save(doc)


def test_move_keeps_the_id_and_history(kb: Workspace) -> None:
    path = kb.create("sop", "Old name").path
    doc_id = kb.load(path).id
    result = kb.move(doc_id, "sops/archive/new-name")
    assert result.path == "sops/archive/new-name.md"
    assert kb.resolve(doc_id) == "sops/archive/new-name.md"
    assert not (kb.root / path).exists()
    assert git(kb.root, "log", "-1", "--format=%s") == "Move: Old name"
    assert "Create: Old name" in git(kb.root, "log", "--follow", "--format=%s", "--", result.path)


def test_resolve_by_id_path_and_title(kb: Workspace) -> None:
    path = kb.create("sop", "Find me").path
    doc_id = kb.load(path).id
    assert kb.resolve(doc_id) == path
    assert kb.resolve(path) == path
    assert kb.resolve(str(kb.root / path)) == path
    assert kb.resolve("find me") == path
    with pytest.raises(KbError, match="no document has the id"):
        kb.resolve("kb-00000000")
    with pytest.raises(KbError, match="no document matches"):
        kb.resolve("nothing like this")


def test_files_changed_outside_kbapp_are_found(kb: Workspace) -> None:
    write_doc(kb, "hand/written.md", "# Written by hand\n\n## Symptoms\nx\n")
    changes = kb.refresh()
    assert changes.added == ["hand/written.md"]
    entry = kb.catalog.get("hand/written.md")
    assert entry is not None and entry.title == "Written by hand" and not entry.has_front_matter


def test_excluded_and_hidden_files_are_not_documents(kb: Workspace) -> None:
    write_doc(kb, "README.md", "# About this repository\n")
    write_doc(kb, ".kb/templates/custom.md", "---\nkbapp-template:\n  name: custom\n---\n")
    write_doc(kb, "docs/real.md", "# Real\n")
    assert kb.document_paths() == ["docs/real.md"]


def test_slugify() -> None:
    assert slugify("Payments API returns HTTP 503!") == "payments-api-returns-http-503"
    assert slugify("Ünïcödé & spaces") == "unicode-spaces"
    assert len(slugify("word " * 40)) <= 60


def test_exclude_patterns_are_gitignore_like(kb: Workspace) -> None:
    write_doc(kb, "README.md", "# About\n")
    write_doc(kb, "service/README.md", "# Service overview\n")
    assert kb.document_paths() == ["service/README.md"]  # "/README.md" is the top one only


#: Patterns and paths where fnmatch-style matchers and git disagree ('*' across '/', '**',
#: anchoring, a folder's contents, negation).
GITIGNORE_PATTERNS = [
    "/README.md",
    "*.pem",
    "docs/*.md",
    "security/**",
    "a/**/b.md",
    "build/",
    "tmp",
    "logs/*",
    "!logs/keep.md",
]
GITIGNORE_PATHS = [
    "README.md",
    "sub/README.md",
    "k.pem",
    "x/y/k.pem",
    "docs/a.md",
    "docs/x/a.md",
    "security/x.md",
    "security/a/b.md",
    "securityx/a.md",
    "a/b.md",
    "a/x/y/b.md",
    "build/out.md",
    "src/build/out.md",
    "logs/today.md",
    "logs/keep.md",
    "x/logs/a.md",
    "x/tmp/a.md",
    "tmp",
    "notes.md",
]


def test_every_path_list_in_the_config_matches_exactly_as_git_does(tmp_path: Path) -> None:
    """``exclude``, ``[secrets] allow_paths`` and ``[[policy.protected]] paths`` share one
    matcher, and it agrees with ``git check-ignore`` on each path."""
    from kbapp.config import KbConfig, path_matches
    from kbapp.trust.secrets import SecretsPolicy
    from kbapp.trust.serverhook import ProtectedPaths

    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("\n".join(GITIGNORE_PATTERNS) + "\n")
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=tmp_path,
        input="\n".join(GITIGNORE_PATHS) + "\n",
        capture_output=True,
        text=True,
    )
    ignored_by_git = set(done.stdout.split())
    assert ignored_by_git  # git answered (exit 1 only when nothing matches)
    config = KbConfig(exclude=GITIGNORE_PATTERNS)
    secrets_policy = SecretsPolicy(allow_paths=GITIGNORE_PATTERNS)
    protected = ProtectedPaths(tuple(GITIGNORE_PATTERNS), ("internal",))
    for path in GITIGNORE_PATHS:
        expected = path in ignored_by_git
        assert path_matches(path, GITIGNORE_PATTERNS) is expected, path
        assert config.is_excluded(path) is expected, path
        assert secrets_policy.skips_path(path) is expected, path
        assert protected.matches(path) is expected, path
    # the cases fnmatch got wrong, spelled out
    assert {
        "docs/a.md",
        "x/y/k.pem",
        "security/a/b.md",
        "a/x/y/b.md",
        "src/build/out.md",
        "x/tmp/a.md",
        "logs/today.md",
    } <= ignored_by_git
    assert (
        not {
            "docs/x/a.md",
            "sub/README.md",
            "securityx/a.md",
            "logs/keep.md",
            "x/logs/a.md",
            "notes.md",
        }
        & ignored_by_git
    )
