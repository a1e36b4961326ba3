"""Hooks with plain git: the pre-commit hook in a clone, the pre-receive hook in a real bare
repository (pushes from the git command line), and the audit trail."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliResult, git, write_doc

from kbapp.settings import Settings
from kbapp.workspace import Workspace

SECRET_LINE = "export PGPASSWORD=s3cr3t-Value9"

DOC = """---
id: kb-{id}
title: {title}
type: runbook
status: published
owner_org: {org}
---
# {title}

{body}
"""


def _doc(title: str, body: str = "Steps.", org: str = "partner", id: str = "1234abcd") -> str:
    return DOC.format(id=id, title=title, body=body, org=org)


def _git_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


# --------------------------------------------------------------------------- pre-commit


def test_pre_commit_hook_blocks_plain_git_commits_like_kbapp_does(
    kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    result = cli("--kb", kb.root, "hooks", "install")
    assert result.code == 0, result.err
    hook = Path(result.out.strip())
    assert hook == kb.root / ".git/hooks/pre-commit" and hook.stat().st_mode & 0o111
    head = git(kb.root, "rev-parse", "HEAD")

    write_doc(kb, "runbooks/db.md", _doc("DB", f"Line one.\n\n{SECRET_LINE}\n"))
    git(kb.root, "add", "runbooks/db.md")
    refused = _git_run(kb.root, "commit", "-m", "Add db runbook")
    assert refused.returncode != 0
    assert "runbooks/db.md:12:" in refused.stderr and "[password-assignment]" in refused.stderr
    assert git(kb.root, "rev-parse", "HEAD") == head

    write_doc(
        kb,
        "runbooks/db.md",
        _doc("DB", "Line one.\n\nexport PGPASSWORD=$(vault read -field=pw db)\n"),
    )
    git(kb.root, "add", "runbooks/db.md")
    assert _git_run(kb.root, "commit", "-m", "Add db runbook").returncode == 0

    write_doc(
        kb,
        "runbooks/private.md",
        _doc("Private", "x").replace(
            "owner_org: partner", "owner_org: partner\nsensitivity: internal"
        ),
    )
    git(kb.root, "add", "runbooks/private.md")
    refused = _git_run(kb.root, "commit", "-m", "internal doc")
    assert refused.returncode != 0 and "[sensitivity]" in refused.stderr
    git(kb.root, "reset", "-q", "runbooks/private.md")

    # kbapp's own saves still work with the hook installed (and do not run the check twice).
    assert kb.create("runbook", "Saved by kbapp").commit


def test_hooks_install_keeps_a_foreign_hook_unless_forced(
    kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    hook = kb.root / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho mine\n")
    result = cli("--kb", kb.root, "hooks", "install")
    assert result.code == 1 and "not kbapp's" in result.err and "--force" in result.err
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    assert cli("--kb", kb.root, "hooks", "install", "--force").code == 0
    assert "installed by kbapp" in hook.read_text()


def test_policy_check_on_paths_reports_file_line_rule(
    kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    write_doc(kb, "a.md", _doc("A", f"{SECRET_LINE}\n"))
    write_doc(kb, "b.md", _doc("B", "<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> other\n"))
    write_doc(kb, "c.md", _doc("C"))
    result = cli(
        "--kb",
        kb.root,
        "policy-check",
        "--json",
        kb.root / "a.md",
        kb.root / "b.md",
        kb.root / "c.md",
    )
    assert result.code == 1
    found = {(v["path"], v["line"], v["rule"]) for v in json.loads(result.out)}
    assert found == {("a.md", 10, "password-assignment"), ("b.md", 10, "conflict-marker")}


# --------------------------------------------------------------------------- pre-receive


@pytest.fixture
def remote(kb: Workspace, tmp_path: Path, cli: Callable[..., CliResult]) -> dict[str, Path]:
    """A bare repository with kbapp's pre-receive hook, the internal clone (kb) and a partner
    clone made with plain git."""
    config = kb.root / ".kb/config.toml"
    config.write_text(
        config.read_text() + '\n[[policy.protected]]\npaths = ["security/**"]\n'
        'orgs = ["internal"]\n'
    )
    write_doc(kb, "security/access.md", _doc("Access", org="internal", id="0000aaaa"))
    git(kb.root, "add", "-A")
    git(kb.root, "commit", "-q", "-m", "Protect security/")
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    result = cli("server-hook", "install", bare)
    assert result.code == 0, result.err
    git(kb.root, "remote", "add", "origin", str(bare))
    git(kb.root, "push", "-q", "-u", "origin", "main")
    partner = tmp_path / "partner"
    git(tmp_path, "clone", "-q", str(bare), str(partner))
    git(partner, "config", "user.name", "Pat Partner")
    git(partner, "config", "user.email", "pat@partner.example")
    return {"bare": bare, "partner": partner, "internal": kb.root}


def _push_change(
    clone: Path, files: dict[str, str], message: str = "Change"
) -> subprocess.CompletedProcess[str]:
    for relative, text in files.items():
        target = clone / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "--no-verify", "-m", message)
    return _git_run(clone, "push", "origin", "HEAD:main")


def _assert_rejected(
    push: subprocess.CompletedProcess[str], remote: dict[str, Path], *needles: str
) -> None:
    assert push.returncode != 0, push.stderr
    assert "push rejected" in push.stderr and "pre-receive hook declined" in push.stderr
    for needle in needles:
        assert needle in push.stderr, push.stderr
    clone = remote["partner"]
    assert git(remote["bare"], "rev-parse", "main") == git(clone, "rev-parse", "origin/main")
    git(clone, "reset", "-q", "--hard", "origin/main")


@pytest.mark.parametrize(
    ("files", "needles"),
    [
        (
            {"runbooks/db.md": _doc("DB", f"Intro.\n\n{SECRET_LINE}\n")},
            ["runbooks/db.md:12:", "[password-assignment]"],
        ),
        (
            {
                "runbooks/internal.md": _doc("Int").replace(
                    "status: published", "status: published\nsensitivity: internal"
                )
            },
            ["runbooks/internal.md:6:", "[sensitivity]"],
        ),
        (
            {"runbooks/merge.md": _doc("M", "<<<<<<< HEAD\na\n=======\nb\n>>>>>>> x\n")},
            ["runbooks/merge.md:10:", "[conflict-marker]"],
        ),
        (
            {"runbooks/yaml.md": "---\ntitle: [broken\n---\n# Broken\n"},
            ["runbooks/yaml.md", "[front-matter]"],
        ),
        (
            {"runbooks/status.md": _doc("S").replace("status: published", "status: finished")},
            ["status: 'finished'", "[front-matter]"],
        ),
        (
            {
                "security/access.md": _doc(
                    "Access", "Changed by the partner.", org="internal", id="0000aaaa"
                )
            },
            ["security/access.md", "[protected-path]", "only internal may change"],
        ),
        ({".kb/config.toml": "name = [unclosed\n"}, [".kb/config.toml", "[config]"]),
    ],
    ids=[
        "secret",
        "internal-doc",
        "conflict-marker",
        "bad-yaml",
        "bad-status",
        "protected",
        "config",
    ],
)
def test_server_rejects_bad_pushes_from_plain_git(
    remote: dict[str, Path], files: dict[str, str], needles: list[str]
) -> None:
    _assert_rejected(_push_change(remote["partner"], files), remote, *needles)


def test_server_accepts_good_pushes_and_the_owner_may_change_protected_paths(
    remote: dict[str, Path],
) -> None:
    push = _push_change(
        remote["partner"],
        {"runbooks/ok.md": _doc("Fine", f"{SECRET_LINE}  # kbapp:allow-secret\n")},
    )
    assert push.returncode == 0, push.stderr
    internal = remote["internal"]
    git(internal, "pull", "-q", "--no-rebase", "origin", "main")
    push = _push_change(
        internal,
        {"security/access.md": _doc("Access", "Changed by us.", org="internal", id="0000aaaa")},
    )
    assert push.returncode == 0, push.stderr
    # The partner merges that and pushes the merge: the protected change is not theirs.
    partner = remote["partner"]
    _push_change(partner, {"runbooks/other.md": _doc("Other", id="2222bbbb")})  # rejected: behind
    git(partner, "pull", "-q", "--no-rebase", "origin", "main")
    push = _git_run(partner, "push", "origin", "HEAD:main")
    assert push.returncode == 0, push.stderr


def test_server_judges_by_the_rules_before_the_push_and_checks_identity(
    remote: dict[str, Path],
) -> None:
    partner = remote["partner"]
    config = (partner / ".kb/config.toml").read_text()
    loosened = config.split("[[policy.protected]]")[0]
    push = _push_change(
        partner,
        {
            ".kb/config.toml": loosened,
            "security/access.md": _doc("Access", "Mine now.", org="internal", id="0000aaaa"),
        },
    )
    _assert_rejected(push, remote, "[protected-path]")

    (partner / "runbooks").mkdir(exist_ok=True)
    (partner / "runbooks/forged.md").write_text(_doc("Forged", id="3333cccc"))
    git(partner, "add", "-A")
    git(partner, "commit", "-q", "-m", "Create: Forged\n\nKB-Org: internal")
    _assert_rejected(
        _git_run(partner, "push", "origin", "HEAD:main"),
        remote,
        "[identity]",
        "KB-Org: internal",
        "belongs to partner",
    )


def test_server_only_flags_secrets_on_added_lines(remote: dict[str, Path], tmp_path: Path) -> None:
    """A secret already in history (from before the hook) does not block unrelated edits."""
    bare = remote["bare"]
    hook = bare / "hooks/pre-receive"
    hook.rename(tmp_path / "hook")
    partner = remote["partner"]
    assert (
        _push_change(partner, {"runbooks/old.md": _doc("Old", f"{SECRET_LINE}\n")}).returncode == 0
    )
    (tmp_path / "hook").rename(hook)
    text = (partner / "runbooks/old.md").read_text() + "\nA new, harmless line.\n"
    assert _push_change(partner, {"runbooks/old.md": text}).returncode == 0


# --------------------------------------------------------------------------- audit


def test_audit_lists_changes_with_org_kind_and_documents(
    kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    created = kb.create("runbook", "Restart DNS")
    kb.move(created.path, "runbooks/dns/restart.md")
    partner = Workspace.open(kb.root, Settings(user_name="Pat", user_email="pat@partner.example"))
    doc = partner.load("runbooks/dns/restart.md")
    doc.body += "\nPartner note.\n"
    partner.save(doc)
    partner.close()
    write_doc(kb, "notes/plain.md", "# Plain\n")
    subprocess.run(["git", "add", "-A"], cwd=kb.root, check=True)
    subprocess.run(
        [
            "git",
            "-c",
            "user.email=eve@partner.example",
            "commit",
            "-q",
            "-m",
            "hand edit\n\nKB-Org: internal",
        ],
        cwd=kb.root,
        check=True,
    )

    result = cli("--kb", kb.root, "audit", "--json")
    assert result.code == 0, result.err
    entries = json.loads(result.out)
    summary = [
        (e["kind"], e["org"], e["org_source"], [(d["path"], d["change"]) for d in e["documents"]])
        for e in entries
    ]
    assert summary[0] == ("edit", "internal", "mismatch", [("notes/plain.md", "added")])
    assert summary[1] == ("update", "partner", "trailer", [("runbooks/dns/restart.md", "changed")])
    assert summary[2][0:2] == ("move", "internal") and summary[2][3][0][1] == "moved"
    assert summary[3][0] == "create" and summary[3][3] == [(created.path, "added")]
    assert entries[1]["author"] == "Pat" and entries[1]["email"] == "pat@partner.example"

    only_partner = json.loads(cli("--kb", kb.root, "audit", "--org", "partner", "--json").out)
    assert [e["subject"] for e in only_partner] == ["Update: Restart DNS"]
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    assert json.loads(cli("--kb", kb.root, "audit", "--since", tomorrow, "--json").out) == []
    assert (
        len(json.loads(cli("--kb", kb.root, "audit", "--since", "2000-01-01", "--json").out)) == 5
    )
    table = cli("--kb", kb.root, "audit")
    assert "internal (!)" in table.out and "runbooks/dns/restart.md (changed)" in table.out


# --------------------------------------------------------------------------- what one side
# could slip past the other (issue 14): the hook judges the result, whatever the graph, names
# and encodings


def _commit_tree(clone: Path, tree: str, message: str, *parents: str) -> str:
    args = ["commit-tree", tree, "-m", message]
    for parent in parents:
        args += ["-p", parent]
    return git(clone, *args)


def _protect_more(remote: dict[str, Path]) -> tuple[str, str]:
    """Internal adds a protected folder; returns (the commit before, the commit after)."""
    internal = remote["internal"]
    before = git(internal, "rev-parse", "HEAD")
    config = internal / ".kb/config.toml"
    config.write_text(
        config.read_text() + '\n[[policy.protected]]\npaths = ["policies/**"]\n'
        'orgs = ["internal"]\n'
    )
    git(internal, "commit", "-q", "-am", "Protect policies/")
    git(internal, "push", "-q", "origin", "main")
    return before, git(internal, "rev-parse", "HEAD")


def test_a_hand_made_merge_or_a_forced_push_cannot_revert_the_protected_config(
    remote: dict[str, Path],
) -> None:
    old, new = _protect_more(remote)
    partner = remote["partner"]
    git(partner, "fetch", "-q", "origin")
    old_tree = git(partner, "rev-parse", f"{old}^{{tree}}")
    # Merge commits whose tree is the old one: second parent old, or first parent old.
    for parents in ((new, old), (old, new)):
        merge = _commit_tree(partner, old_tree, "Merge branch 'old'", *parents)
        push = _git_run(partner, "push", "origin", f"{merge}:refs/heads/main")
        _assert_rejected(push, remote, ".kb/config.toml", "[protected-path]")
    # A forced push back to the old commit adds no commit at all.
    push = _git_run(partner, "push", "-f", "origin", f"{old}:refs/heads/main")
    _assert_rejected(push, remote, ".kb/config.toml", "[protected-path]", "forced push")
    assert git(remote["bare"], "rev-parse", "main") == new
    # An honest merge of the same history is accepted.
    git(partner, "reset", "-q", "--hard", "origin/main")
    assert _push_change(partner, {"runbooks/fine.md": _doc("Fine", id="5555eeee")}).returncode == 0


def test_the_config_is_protected_by_default_and_case_variants_count(
    remote: dict[str, Path],
) -> None:
    partner = remote["partner"]
    config = (partner / ".kb/config.toml").read_text()
    push = _push_change(partner, {".kb/config.toml": config + '\n[synonyms]\nvpn = ["tunnel"]\n'})
    _assert_rejected(push, remote, ".kb/config.toml", "[protected-path]", "only internal")
    for variant in ("SECURITY/access.md", "Security/new.md", ".KB/config.toml", ".kb/Config.toml."):
        push = _push_change(partner, {variant: _doc("Sneaky", org="internal", id="0000bbbb")})
        _assert_rejected(push, remote, "[protected-path]")
    # The owning organisation still changes its rules.
    internal = remote["internal"]
    assert (
        _push_change(
            internal, {".kb/config.toml": config + '\n[synonyms]\nvpn = ["tunnel"]\n'}
        ).returncode
        == 0
    )


def test_only_the_owning_organisation_changes_the_sensitivity(remote: dict[str, Path]) -> None:
    internal, partner = remote["internal"], remote["partner"]
    config = (internal / ".kb/config.toml").read_text()
    shared_rules = (
        config
        + '\n[[policy.protected]]\npaths = [".kb/config.toml"]\norgs = ["internal", "partner"]\n'
    )
    assert _push_change(internal, {".kb/config.toml": shared_rules}).returncode == 0
    git(partner, "pull", "-q", "--no-rebase", "origin", "main")
    # The partner may edit the settings now, but not flip the sensitivity or the owner.
    assert (
        _push_change(
            partner, {".kb/config.toml": shared_rules + '\n[synonyms]\ndb = ["database"]\n'}
        ).returncode
        == 0
    )
    flipped = (
        (partner / ".kb/config.toml")
        .read_text()
        .replace('sensitivity = "shared"', 'sensitivity = "internal"')
    )
    assert flipped != (partner / ".kb/config.toml").read_text()
    push = _push_change(partner, {".kb/config.toml": flipped})
    _assert_rejected(
        push, remote, "[protected-setting]", "sensitivity changed from 'shared' to 'internal'"
    )
    owned = 'owner = "partner"\n' + (partner / ".kb/config.toml").read_text()
    _assert_rejected(
        _push_change(partner, {".kb/config.toml": owned}), remote, "[protected-setting]", "owner"
    )
    # ... and with the flip refused, an internal document is still refused.
    push = _push_change(
        partner,
        {
            "runbooks/int.md": _doc("Int").replace(
                "status: published", "status: published\nsensitivity: internal"
            )
        },
    )
    _assert_rejected(push, remote, "[sensitivity]")
    git(internal, "pull", "-q", "--no-rebase", "origin", "main")
    flipped = (
        (internal / ".kb/config.toml")
        .read_text()
        .replace('sensitivity = "shared"', 'sensitivity = "internal"')
    )
    assert _push_change(internal, {".kb/config.toml": flipped}).returncode == 0


@pytest.mark.parametrize(
    "name",
    [
        "run books/db.md",
        "single'quote.md",
        "semi;colon&amp.txt",
        "per%cent #hash.txt",
        "ünï code/x.md",
        " leading.txt",
        "trailing .txt",
        "-dash.txt",
    ],
)
def test_the_hook_scans_files_whatever_their_names(remote: dict[str, Path], name: str) -> None:
    partner = remote["partner"]
    body = _doc("Named", id="6666ffff") if name.endswith(".md") else "notes\n"
    assert _push_change(partner, {name: body}).returncode == 0  # clean first: a change next
    _assert_rejected(
        _push_change(partner, {name: body + f"\n{SECRET_LINE}\n"}), remote, "[password-assignment]"
    )
    _assert_rejected(
        _push_change(partner, {name + "2": f"{SECRET_LINE}\n"}), remote, "[password-assignment]"
    )


def test_the_hook_refuses_symbolic_links(remote: dict[str, Path], tmp_path: Path) -> None:
    partner = remote["partner"]
    (partner / "runbooks").mkdir(exist_ok=True)
    (partner / "runbooks/config.md").symlink_to("../.git/config")
    (partner / "passwd.md").symlink_to("/etc/passwd")
    git(partner, "add", "-A")
    git(partner, "commit", "-q", "--no-verify", "-m", "links")
    _assert_rejected(
        _git_run(partner, "push", "origin", "HEAD:main"),
        remote,
        "runbooks/config.md:0:",
        "passwd.md:0:",
        "[symlink]",
    )


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"notes/ps.txt": ("\ufeffhost db01\r\n" + SECRET_LINE + "\r\n").encode("utf-16-le")}, "c"),
        ({"notes/ps-be.txt": ("host db01\n" + SECRET_LINE + "\n").encode("utf-16")}, "c"),
        ({"notes/nul.txt": b"\x00" + SECRET_LINE.encode() + b"\n"}, "c"),
        ({"notes/key.yaml": b"db:\n  password:\n    Zq8vX2Lp9!x\n"}, "c"),
        ({"notes/fine.txt": b"fine\n"}, f"Fix db\n\nIt was {SECRET_LINE}\n"),
    ],
    ids=["utf-16-le", "utf-16-bom", "leading-nul", "yaml-next-line", "commit-message"],
)
def test_the_hook_scans_every_encoding_and_the_commit_message(
    remote: dict[str, Path], files: dict[str, bytes], message: str
) -> None:
    partner = remote["partner"]
    for relative, data in files.items():
        (partner / relative).parent.mkdir(parents=True, exist_ok=True)
        (partner / relative).write_bytes(data)
    git(partner, "add", "-A")
    git(partner, "commit", "-q", "--no-verify", "-m", message)
    _assert_rejected(
        _git_run(partner, "push", "origin", "HEAD:main"), remote, "looks like a secret"
    )


def test_the_hook_refuses_a_secret_in_an_annotated_tag_message(
    remote: dict[str, Path],
) -> None:
    partner = remote["partner"]
    assert _push_change(partner, {"runbooks/tagged.md": _doc("Tagged")}).returncode == 0
    git(partner, "tag", "-a", "v1", "-m", f"Release 1\n\n{SECRET_LINE}")
    refused = _git_run(partner, "push", "origin", "refs/tags/v1")
    assert refused.returncode != 0 and "(tag message):3:" in refused.stderr, refused.stderr
    assert "looks like a secret" in refused.stderr
    assert _git_run(remote["bare"], "rev-parse", "-q", "--verify", "refs/tags/v1").returncode
    git(partner, "tag", "-a", "v2", "-m", "Release 2")  # a clean message, and a light tag
    git(partner, "tag", "v3")
    assert _git_run(partner, "push", "origin", "v2", "v3").returncode == 0


def test_the_hook_refuses_a_secret_in_a_file_name(remote: dict[str, Path]) -> None:
    name = "notes/" + SECRET_LINE.split()[-1] + ".md"  # PGPASSWORD=<value>.md
    pushed = _push_change(remote["partner"], {name: _doc("Named", id="7777aaaa")})
    _assert_rejected(pushed, remote, "file name looks like a secret", "[password-assignment]")


def test_plain_git_hooks_refuse_a_secret_in_the_message_and_a_staged_link(
    kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    assert cli("--kb", kb.root, "hooks", "install").code == 0
    assert (kb.root / ".git/hooks/commit-msg").stat().st_mode & 0o111
    write_doc(kb, "runbooks/a.md", _doc("A"))
    git(kb.root, "add", "-A")
    refused = _git_run(kb.root, "commit", "-m", f"Add A\n\n{SECRET_LINE}")
    assert refused.returncode != 0 and "(commit message):3:" in refused.stderr
    assert _git_run(kb.root, "commit", "-m", "Add A").returncode == 0
    (kb.root / "runbooks/link.md").symlink_to("../.git/config")
    git(kb.root, "add", "-A")
    refused = _git_run(kb.root, "commit", "-m", "link")
    assert (
        refused.returncode != 0
        and "runbooks/link.md:0:" in refused.stderr
        and "[symlink]" in refused.stderr
    )


# --------------------------------------------------------------------------- .gitattributes


def _push_blob(clone: Path, path: str, text: str) -> subprocess.CompletedProcess[str]:
    """Commit ``text`` as ``path`` with git's plumbing (a ``working-tree-encoding`` in it would
    make ``git add`` itself fail in this clone) and push it."""
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=clone,
        input=text,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    git(clone, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
    git(clone, "commit", "-q", "--no-verify", "-m", f"Change {path}")
    return _git_run(clone, "push", "origin", "HEAD:main")


def test_gitattributes_are_protected_and_attributes_that_break_kbapp_are_refused(
    remote: dict[str, Path], kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    partner, internal = remote["partner"], remote["internal"]
    attributes = (partner / ".gitattributes").read_text()
    assert "*.md merge=kbapp" in attributes
    # The partner may not change it at all, harmless or not, at any depth or in any case.
    for name, text in (
        (".gitattributes", attributes + "*.md working-tree-encoding=UTF-16LE-BOM\n"),
        (".gitattributes", attributes + "*.png -diff\n"),
        ("runbooks/.GitAttributes", "*.md merge=text\n"),
    ):
        push = _push_blob(partner, name, text)
        _assert_rejected(push, remote, name, "[protected-path]", "only internal")
    bad = attributes + "*.md working-tree-encoding=UTF-16LE-BOM\n"
    push = _push_blob(partner, ".gitattributes", bad)
    _assert_rejected(push, remote, ".gitattributes:4:", "[gitattributes]", "working-tree-encoding")

    # Not even the owner may give Markdown documents attributes that break kbapp.
    for line, needle in (
        ("*.md merge=text", "merge"),
        ("* -text", "sets text"),
        ("docs/*.MD eol=crlf", "sets eol"),
        ("*.md filter=lfs", "sets filter"),
        ("* binary", "sets diff"),
        ("[attr]sneaky working-tree-encoding=UTF-16\n*.md sneaky", "working-tree-encoding"),
    ):
        push = _push_change(internal, {".gitattributes": attributes + line + "\n"})
        assert push.returncode != 0 and "[gitattributes]" in push.stderr, push.stderr
        assert needle in push.stderr and ".gitattributes:" in push.stderr, push.stderr
        git(internal, "reset", "-q", "--hard", "origin/main")
    # The owner changes it in ways that leave documents alone.
    push = _push_change(internal, {".gitattributes": attributes + "*.png binary\n*.md -diff x\n"})
    assert push.returncode != 0  # '*.md -diff' is refused ...
    git(internal, "reset", "-q", "--hard", "origin/main")
    fine = attributes + "*.png binary\n*.pdf -diff\n*.md linguist-documentation export-ignore\n"
    assert _push_change(internal, {".gitattributes": fine}).returncode == 0

    # The client refuses them too, before committing: policy-check (the pre-commit hook).
    (kb.root / ".gitattributes").write_text(attributes + "*.md merge=text\n")
    result = cli("--kb", kb.root, "policy-check", "--json", kb.root / ".gitattributes")
    assert result.code == 1, result.out
    found = {(v["path"], v["line"], v["rule"]) for v in json.loads(result.out)}
    assert found == {(".gitattributes", 4, "gitattributes")}


def test_half_conflict_blocks_are_refused_by_hook_lint_and_policy_check(
    remote: dict[str, Path], kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    partner = remote["partner"]
    end_only = "mine\n=======\ntheirs\n>>>>>>> 1234abc (partner edit)\n"
    start_only = "Intro.\n\n<<<<<<< HEAD\nmine\n"
    underline = "Heading\n=======\n\n```\n<<<<<<< HEAD\n>>>>>>> x\n```\n"
    _assert_rejected(
        _push_change(partner, {"runbooks/end.md": _doc("End", end_only)}),
        remote,
        "runbooks/end.md:13:",
        "[conflict-marker]",
    )
    _assert_rejected(
        _push_change(partner, {"runbooks/start.md": _doc("Start", start_only)}),
        remote,
        "runbooks/start.md:12:",
        "[conflict-marker]",
    )
    push = _push_change(partner, {"runbooks/fine.md": _doc("Fine", underline, id="7777aaaa")})
    assert push.returncode == 0, push.stderr

    write_doc(kb, "end.md", _doc("End", end_only))
    write_doc(kb, "start.md", _doc("Start", start_only, id="1234abce"))
    write_doc(kb, "fine.md", _doc("Fine", underline, id="1234abcf"))
    paths = [kb.root / "end.md", kb.root / "start.md", kb.root / "fine.md"]
    result = cli("--kb", kb.root, "policy-check", "--json", *paths)
    assert result.code == 1
    found = {(v["path"], v["line"], v["rule"]) for v in json.loads(result.out)}
    assert found == {("end.md", 13, "conflict-marker"), ("start.md", 12, "conflict-marker")}
    result = cli("--kb", kb.root, "lint", "--json")
    assert '"conflict-marker"' in result.out
    lint = [
        (p["path"], p["line"])
        for p in json.loads(result.out)["problems"]
        if p["code"] == "conflict-marker"
    ]
    assert sorted(lint) == [("end.md", 13), ("start.md", 12)]


# --------------------------------------------------------------------------- one rule, every layer


def test_a_secret_in_a_file_name_is_refused_before_committing_too(
    remote: dict[str, Path], kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    """The hook refuses a secret in a file's name; so does every way the client commits."""
    from kbapp.errors import PolicyError, SyncError
    from kbapp.sync import sync

    secret_name = "notes/" + SECRET_LINE.split()[-1] + ".md"  # PGPASSWORD=<value>.md
    head = git(kb.root, "rev-parse", "HEAD")
    doc = kb.create("runbook", "Named later")
    head = git(kb.root, "rev-parse", "HEAD")
    with pytest.raises(PolicyError) as moved:
        kb.move(doc.path, secret_name)
    assert secret_name in str(moved.value) and "[password-assignment]" in str(moved.value)
    assert (kb.root / doc.path).exists() and not (kb.root / secret_name).exists()

    write_doc(kb, secret_name, _doc("Named", id="7777bbbb"))  # made by hand, then a sync
    with pytest.raises(SyncError) as synced:
        sync.sync(kb)
    assert secret_name in str(synced.value) and "file name looks like a secret" in str(synced.value)
    assert "[password-assignment]" in str(synced.value)
    assert git(kb.root, "rev-parse", "HEAD") == head
    assert git(remote["bare"], "rev-parse", "main") != head  # nothing sent

    assert cli("--kb", kb.root, "hooks", "install").code == 0
    git(kb.root, "add", "--", secret_name)
    committed = _git_run(kb.root, "commit", "-m", "Add notes")
    assert committed.returncode != 0
    assert secret_name in committed.stderr and "[password-assignment]" in committed.stderr
    checked = cli("--kb", kb.root, "policy-check", str(kb.root / secret_name))
    assert checked.code != 0 and "file name looks like a secret" in checked.out + checked.err
    assert git(kb.root, "rev-parse", "HEAD") == head


def test_a_front_matter_key_given_twice_is_refused_by_lint_client_and_hook(
    remote: dict[str, Path], kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    """``sensitivity: internal`` then ``sensitivity: shared``: one reader sees an internal
    document, another a shared one. One rule refuses it wherever it is checked."""
    from kbapp.documents import model as documents
    from kbapp.errors import KbError, SyncError
    from kbapp.sync import sync

    text = _doc("Twice", id="8888aaaa").replace(
        "status: published\n", "sensitivity: internal\nstatus: published\nsensitivity: shared\n"
    )
    pushed = _push_change(remote["partner"], {"runbooks/twice.md": text})
    _assert_rejected(
        pushed, remote, "runbooks/twice.md:7:", "sensitivity is given twice", "[front-matter]"
    )
    nested = _doc("Nested", id="8888bbbb").replace(
        "status: published\n",
        "status: published\nreview:\n  interval_days: 30\n  interval_days: 3650\n",
    )
    pushed = _push_change(remote["partner"], {"runbooks/nested.md": nested})
    _assert_rejected(pushed, remote, "review.interval_days is given twice", "[front-matter]")

    head = git(kb.root, "rev-parse", "HEAD")
    write_doc(kb, "runbooks/twice.md", text)
    linted = cli("--kb", kb.root, "lint")
    assert linted.code != 0 and "runbooks/twice.md" in linted.out
    assert "sensitivity is given twice (lines 5 and 7)" in linted.out
    with pytest.raises(SyncError) as synced:
        sync.sync(kb)
    assert "runbooks/twice.md" in str(synced.value) and "given twice" in str(synced.value)
    with pytest.raises(KbError, match="given twice"):
        doc = documents.parse(text.encode(), "runbooks/twice.md")
        doc.set("title", "Twice, renamed")
        kb.save(doc)
    assert cli("--kb", kb.root, "hooks", "install").code == 0
    git(kb.root, "add", "runbooks/twice.md")
    committed = _git_run(kb.root, "commit", "-m", "Twice")
    assert committed.returncode != 0 and "sensitivity is given twice" in committed.stderr
    assert git(kb.root, "rev-parse", "HEAD") == head
    git(kb.root, "reset", "-q", "runbooks/twice.md")
    # One key each: accepted everywhere.
    write_doc(kb, "runbooks/twice.md", text.replace("sensitivity: shared\n", ""))
    (kb.root / "runbooks/twice.md").write_text(text.replace("sensitivity: internal\n", ""))
    assert sync.sync(kb).pushed


def test_the_templates_are_protected_like_the_config(remote: dict[str, Path]) -> None:
    """A partner must not change the templates the other organisation writes from."""
    template = "---\ntitle: '{{title}}'\ntype: sop\nsensitivity: shared\n---\n# {{title}}\n"
    partner, internal = remote["partner"], remote["internal"]
    for variant in (".kb/templates/sop.md", ".KB/Templates/sop.md", ".kb/templates./new.md"):
        pushed = _push_change(partner, {variant: template})
        _assert_rejected(pushed, remote, "[protected-path]", "only internal may change")
    assert _push_change(internal, {".kb/templates/sop.md": template}).returncode == 0


# --------------------------------------------------------------------------- adversarial findings


def test_a_new_branch_is_judged_by_the_existing_rules_whatever_head_names(
    remote: dict[str, Path],
) -> None:
    """``git init --bare`` may leave HEAD naming a branch nobody pushes ('master'): a push of
    a new branch to such a repository is still judged by the rules the repository has, never
    by the rules the pushed commit brings."""
    bare, partner = remote["bare"], remote["partner"]
    git(bare, "symbolic-ref", "HEAD", "refs/heads/master")
    config = (partner / ".kb/config.toml").read_text()
    loosened = config.replace('sensitivity = "shared"', 'sensitivity = "internal"')
    loosened += '\n[secrets]\nallow_paths = ["**"]\n'
    files = {
        ".kb/config.toml": loosened,
        "runbooks/db.md": _doc("DB", f"Intro.\n\n{SECRET_LINE}\n", id="9999aaaa"),
        "security/access.md": _doc("Access", "Taken over.", org="internal", id="0000aaaa"),
    }
    for relative, text in files.items():
        (partner / relative).parent.mkdir(parents=True, exist_ok=True)
        (partner / relative).write_text(text)
    git(partner, "add", "-A")
    git(partner, "commit", "-q", "--no-verify", "-m", "Loosen the rules")
    for branch in ("evil", "master"):
        pushed = _git_run(partner, "push", "origin", f"HEAD:{branch}")
        assert pushed.returncode != 0, pushed.stderr
        for needle in ("[password-assignment]", "[protected-path]", "security/access.md"):
            assert needle in pushed.stderr, pushed.stderr
        assert _git_run(bare, "rev-parse", "-q", "--verify", f"refs/heads/{branch}").returncode
    git(partner, "reset", "-q", "--hard", "origin/main")
    # A clean new branch is still accepted.
    git(partner, "switch", "-q", "-c", "topic")
    assert _push_change(partner, {"runbooks/ok.md": _doc("Ok", id="9999bbbb")}).returncode == 0


def test_a_secret_added_while_renaming_a_binary_or_utf16_file_is_found(
    remote: dict[str, Path],
) -> None:
    partner = remote["partner"]
    (partner / "tools").mkdir()
    (partner / "tools/blob.bin").write_bytes(b"\x00\x01binary\x00data\n")
    (partner / "tools/env.ps1").write_bytes("# settings\r\n".encode("utf-16"))
    git(partner, "add", "-A")
    git(partner, "commit", "-q", "--no-verify", "-m", "Clean files")
    assert _git_run(partner, "push", "origin", "HEAD:main").returncode == 0
    git(partner, "mv", "tools/blob.bin", "tools/blob2.bin")
    git(partner, "mv", "tools/env.ps1", "tools/env2.ps1")
    with (partner / "tools/blob2.bin").open("ab") as out:
        out.write(b"export PGPASSWORD=Sup3rS3cretValue9\n")
    (partner / "tools/env2.ps1").write_bytes(
        '# settings\r\n$env:DB_PASSWORD = "Tr0ub4dor-Horse-77"\r\n'.encode("utf-16")
    )
    git(partner, "add", "-A")
    git(partner, "commit", "-q", "--no-verify", "-m", "Rename")
    pushed = _git_run(partner, "push", "origin", "HEAD:main")
    _assert_rejected(pushed, remote, "tools/blob2.bin", "tools/env2.ps1", "looks like a secret")


def test_a_private_key_whose_body_comes_in_a_later_commit_is_refused(
    remote: dict[str, Path],
) -> None:
    partner = remote["partner"]
    body = "\n".join(["MIIEowIBAAKCAQEAx1kZ9bQ2p5Zr8n4VtKc3Yw0pL7qM2sD9fH1jK3lN5pR7tV9x"] * 6)
    illustration = (
        "```\n-----BEGIN RSA PRIVATE KEY-----\n<key body>\n-----END RSA PRIVATE KEY-----\n```"
    )
    pushed = _push_change(partner, {"runbooks/key.md": _doc("Key", illustration, id="6666aaaa")})
    assert pushed.returncode == 0, pushed.stderr  # a header without a body is an illustration
    real = illustration.replace("<key body>", body)
    pushed = _push_change(partner, {"runbooks/key.md": _doc("Key", real, id="6666aaaa")})
    _assert_rejected(pushed, remote, "runbooks/key.md:11:", "[private-key]")


def test_the_hook_is_told_who_pushed_or_says_it_cannot_tell(
    remote: dict[str, Path], tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """A forged committer passes the protected-path rules unless the server tells the hook
    who pushed: ``server-hook install`` warns, every push says so, and a user-name map makes
    GitLab/gitolite/http-backend user names count."""
    import os

    bare, partner = remote["bare"], remote["partner"]
    installed = cli("server-hook", "install", bare, "--force")
    assert installed.code == 0
    assert "cannot tell who pushes" in installed.err
    for server in ("GITEA_PUSHER_EMAIL", "GL_USERNAME", "GL_USER", "REMOTE_USER"):
        assert server in installed.err
    # A partner writes commits that claim an internal committer.
    git(partner, "config", "user.email", "ana@internal.example")
    forged = _doc("Access", "Changed by the partner.", org="internal", id="0000aaaa")
    (partner / "security/access.md").write_text(forged)
    git(partner, "commit", "-q", "--no-verify", "-am", "Forged")

    def push(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "push", "origin", "HEAD:main"],
            cwd=partner,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **env},
        )

    said = push(GL_USERNAME="pat")  # the server gives a user name, and pat is not mapped yet
    assert "the server says pat pushed (GL_USERNAME)" in said.stderr, said.stderr
    assert "'Who pushed'" in said.stderr
    git(bare, "update-ref", "refs/heads/main", git(partner, "rev-parse", "HEAD~1"))

    pushers = tmp_path / "pushers.toml"
    pushers.write_text('[pushers]\npat = "pat@partner.example"\nana = "ana@internal.example"\n')
    installed = cli("server-hook", "install", bare, "--force", "--pushers", pushers)
    assert installed.code == 0 and "cannot tell who pushes" not in installed.err
    refused = push(GL_USERNAME="pat")
    assert refused.returncode != 0 and "[protected-path]" in refused.stderr, refused.stderr
    assert "security/access.md" in refused.stderr and "'Who pushed'" not in refused.stderr
    assert push(GL_USERNAME="ana").returncode == 0  # the internal engineer may


@pytest.mark.parametrize(
    "name", ["docs/.git", "docs/.GIT", "docs/git~1", "docs/.git.", "docs/a\\.git"]
)
def test_the_hook_refuses_tree_entries_git_will_not_check_out(
    remote: dict[str, Path], name: str
) -> None:
    """Built with plumbing (no checkout would make it): one such entry would make every
    clone's sync fail for good."""
    partner = remote["partner"]
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=partner,
        input="gitdir: /tmp\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    folder, _, leaf = name.partition("/")
    inner = subprocess.run(
        ["git", "mktree"],
        cwd=partner,
        input=f"100644 blob {blob}\t{leaf}\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    top = git(partner, "ls-tree", "HEAD")
    tree = subprocess.run(
        ["git", "mktree"],
        cwd=partner,
        input=f"{top}\n040000 tree {inner}\t{folder}\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    commit = git(partner, "commit-tree", tree, "-p", "HEAD", "-m", "Sneaky tree")
    pushed = _git_run(partner, "push", "origin", f"{commit}:refs/heads/main")
    _assert_rejected(pushed, remote, name, "[path]", "refuses to check out")


def test_a_document_cannot_take_the_id_of_another(remote: dict[str, Path]) -> None:
    """A partner cannot shadow a protected document by giving a copy of their own its id;
    a rename keeps its id and is accepted."""
    partner = remote["partner"]
    copy = _doc("Access", "Call the partner hotline instead.", org="internal", id="0000aaaa")
    pushed = _push_change(partner, {"a-ops/access.md": copy})
    _assert_rejected(pushed, remote, "a-ops/access.md", "[duplicate-id]", "security/access.md")
    assert _push_change(partner, {"runbooks/own.md": _doc("Own", id="3333cccc")}).returncode == 0
    git(partner, "mv", "runbooks/own.md", "runbooks/renamed.md")
    git(partner, "commit", "-q", "--no-verify", "-m", "Rename")
    assert _git_run(partner, "push", "origin", "HEAD:main").returncode == 0


def test_names_that_break_clones_or_hide_from_the_rules_are_refused(
    remote: dict[str, Path], kb: Workspace
) -> None:
    """A name that is not UTF-8 (every kbapp command in every clone used to fail on it), and
    an internal document saved as ``.MD`` (kbapp does not list it, the sensitivity rule still
    applies); a document named like a pathspec (``[x].md``) is committed as itself."""
    from kbapp.errors import SyncError
    from kbapp.sync import sync

    partner = bytes(remote["partner"])
    (Path(partner.decode()) / "runbooks").mkdir(exist_ok=True)
    with open(partner + b"/runbooks/caf\xe9.md", "wb") as out:
        out.write(_doc("Cafe", id="2222aaaa").encode())
    git(remote["partner"], "add", "-A")
    git(remote["partner"], "commit", "-q", "--no-verify", "-m", "Latin-1 name")
    pushed = _git_run(remote["partner"], "push", "origin", "HEAD:main")
    _assert_rejected(pushed, remote, "not UTF-8", "[path]")

    internal = _doc("Layoffs", "Confidential.", id="2222bbbb").replace(
        "status: published", "status: published\nsensitivity: internal"
    )
    pushed = _push_change(remote["partner"], {"plans/Layoffs.MD": internal})
    _assert_rejected(pushed, remote, "plans/Layoffs.MD", "[sensitivity]")
    head = git(kb.root, "rev-parse", "HEAD")
    write_doc(kb, "plans/Layoffs.MD", internal)
    with pytest.raises(SyncError, match=r"Layoffs\.MD.*\[sensitivity\]"):
        sync.sync(kb)
    assert git(kb.root, "rev-parse", "HEAD") == head
    (kb.root / "plans/Layoffs.MD").unlink()

    write_doc(kb, "[x].md", _doc("Glob", id="2222cccc"))
    write_doc(kb, "a[b].md", _doc("Bracket", id="2222dddd"))
    assert sync.sync(kb).pushed
    doc = kb.load("[x].md")
    doc.set("title", "Glob, reviewed")
    assert kb.save(doc).commit
    assert git(kb.root, "status", "--porcelain") == ""
