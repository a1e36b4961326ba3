"""What the other organisation's content must never do on this side (issue 14): symbolic links
followed, paths into .git, escape sequences on the terminal, browser-resolved URLs, committed
conflict markers carried on, pasted tokens that stall search; and what kbapp creates on disk."""

from __future__ import annotations

import html
import os
import re
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliResult, git, write_doc

from kbapp.documents.importer import import_folder
from kbapp.documents.render import render_markdown
from kbapp.sync import mergedriver
from kbapp.workspace import Workspace

DOC = """---
id: kb-{id}
title: {title}
type: runbook
status: published
owner_org: partner
---
# {title}

{body}
"""

needs_symlinks = pytest.mark.skipif(
    os.name == "nt", reason="symbolic links need privileges on Windows"
)


def _doc(title: str, body: str = "Steps.", id: str = "1234abcd") -> str:
    return DOC.format(id=id, title=title, body=body)


@pytest.fixture
def linked(kb: Workspace, tmp_path: Path) -> dict[str, Path]:
    """A knowledge base where a plain-git partner committed links to .git/config and to a file
    outside (a stand-in for /etc/passwd, with a word search could find)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.md").write_text(
        _doc("Outside file", "zorkmidword root:x:0:0", id="9999aaaa")
    )
    write_doc(kb, "runbooks/real.md", _doc("Real runbook", id="1111aaaa"))
    (kb.root / "runbooks/config.md").symlink_to("../.git/config")
    (kb.root / "runbooks/passwd.md").symlink_to(outside / "passwd.md")
    (kb.root / "linked-dir").symlink_to(outside, target_is_directory=True)
    git(kb.root, "add", "-A")
    git(kb.root, "commit", "-q", "--no-verify", "-m", "Partner: links")
    return {"outside": outside, "config": kb.root / ".git/config"}


@needs_symlinks
def test_symlinks_are_never_read_written_listed_or_searched(
    kb: Workspace, linked: dict[str, Path], cli: Callable[..., CliResult]
) -> None:
    config_before = linked["config"].read_bytes()
    kb.refresh()
    assert [e.path for e in kb.catalog.all()] == ["runbooks/real.md"]
    assert "runbooks/config.md" not in kb.document_paths()
    assert sorted(kb.symlinks()) == ["linked-dir", "runbooks/config.md", "runbooks/passwd.md"]

    found = cli("--kb", kb.root, "search", "zorkmidword")
    assert "Outside file" not in found.out and "zorkmidword" not in found.out
    for argv in (
        ["show", "runbooks/config.md"],
        ["show", "runbooks/passwd.md"],
        ["review", "done", "runbooks/config.md"],
        ["review", "done", "runbooks/passwd.md"],
        ["show", str(kb.root / "runbooks/config.md")],
        ["show", "linked-dir/passwd.md"],
    ):
        result = cli("--kb", kb.root, *argv)
        assert result.code != 0, argv
        assert any(
            why in result.err
            for why in ("symbolic link", "no document matches", "not inside the knowledge base")
        ), result.err
        assert "Traceback" not in result.err
    assert linked["config"].read_bytes() == config_before
    assert "kb-9999aaaa" not in (linked["outside"] / "passwd.md").read_text().split("id: ")[0]
    assert (linked["outside"] / "passwd.md").read_text() == _doc(
        "Outside file", "zorkmidword root:x:0:0", id="9999aaaa"
    )
    assert cli("--kb", kb.root, "list").code == 0  # everything else keeps working

    lint = cli("--kb", kb.root, "lint")
    for path in ("runbooks/config.md", "runbooks/passwd.md", "linked-dir"):
        assert f"{path}: error: is a symbolic link" in lint.out + lint.err


@needs_symlinks
def test_import_skips_links_and_never_commits_local_files(kb: Workspace, tmp_path: Path) -> None:
    export = tmp_path / "export"
    (export / "sub").mkdir(parents=True)
    (export / "good.md").write_text("# Good page\n\nText.\n")
    secret = tmp_path / "private.md"
    secret.write_text("# My private notes\n\nlocal only\n")
    (export / "evil.md").symlink_to(secret)
    (export / "sub/ssh.md").symlink_to(Path.home() / ".ssh/id_rsa")
    (export / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    report = import_folder(kb, export, into="imported")
    assert [f.path for f in report.imported] == ["imported/good.md"]
    skipped = dict(report.skipped)
    for name in ("evil.md", "sub/ssh.md", "dirlink"):
        assert "symbolic link" in skipped[name]
    tracked = git(kb.root, "ls-files").split("\n")
    assert "imported/good.md" in tracked and not any("evil" in t or "ssh" in t for t in tracked)
    assert "local only" not in git(kb.root, "log", "-p", "-1")


def test_no_path_inside_git_or_outside_the_knowledge_base(
    kb: Workspace, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    hooks_before = sorted(p.name for p in (kb.root / ".git/hooks").iterdir())
    for folder in (
        ".git/hooks",
        ".GIT/hooks",
        "docs/.Git/x",
        ".git./hooks",
        "../elsewhere",
        "/tmp/abs",
    ):
        result = cli(
            "--kb", kb.root, "new", "--type", "runbook", "--title", "Evil", "--folder", folder
        )
        assert result.code != 0, folder
        assert any(
            why in result.err
            for why in (".git", "outside the knowledge base", "not inside the knowledge base")
        ), result.err
    created = kb.create("runbook", "Movable")
    for target in (".git/x", ".GIT/hooks/post-checkout", "../outside", str(tmp_path / "abs")):
        result = cli("--kb", kb.root, "move", created.path, target)
        assert result.code != 0, target
        assert "Traceback" not in result.err and "unexpected" not in result.err
    assert sorted(p.name for p in (kb.root / ".git/hooks").iterdir()) == hooks_before
    assert (kb.root / created.path).is_file()
    assert not list(tmp_path.glob("abs*")) and not (kb.root.parent / "outside.md").exists()


def test_files_kbapp_creates_follow_the_umask(kb: Workspace) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    created = kb.create("runbook", "Permissions")
    mode = stat.S_IMODE((kb.root / created.path).stat().st_mode)
    assert mode == 0o666 & ~umask
    if umask == 0o022:
        assert mode == 0o644


def test_capture_gap_without_words_says_what_is_missing(
    kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    for words in ("", "   "):
        result = cli("--kb", kb.root, "capture", "--gap", words)
        assert result.code != 0
        assert "--gap needs the words of the search" in result.err
        assert "unexpected" not in result.err


def test_terminal_output_never_carries_escape_sequences(
    kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    # YAML's double-quoted escapes make real control characters: OSC 52 (clipboard), clear
    # screen and cursor home (fake screen text), a right-to-left override, an 8-bit CSI.
    title = r"Fake\e]52;c;Y3VybCBldmlsLnNoIHwgc2g=\a title\e[2J\e[1;1H\u202egnp.exe\x9b31m"
    text = _doc("X", "Body.").replace("title: X", f'title: "{title}"')
    write_doc(
        kb,
        "runbooks/escape.md",
        text + "\nBody line\x1b]0;owned\x07 with \x1b[31mred\x1b[0m\r fake\n",
    )
    kb.refresh()
    doc = kb.load("runbooks/escape.md")
    assert "\x1b" in doc.title  # the YAML escapes made real control characters
    for argv in (
        ["show", "runbooks/escape.md"],
        ["list"],
        ["search", "fake"],
        ["lint"],
        ["show", "runbooks/escape.md", "--json"],
        ["show", "runbooks/escape.md", "--html"],
    ):
        result = cli("--kb", kb.root, *argv)
        for char in ("\x1b", "\x07", "\x9b", "\r", "\u202e"):
            assert char not in result.out and char not in result.err, (argv, char)
    shown = cli("--kb", kb.root, "show", "runbooks/escape.md").out
    assert "Body line" in shown and "\ufffd" in shown  # visible, not silently dropped


@pytest.mark.parametrize(
    "url",
    [
        "\\\\host\\share\\x.png",
        "/\t/host/x.png",
        "/&#9;/host/x.png",
        "&#9;//host/x.png",
        "\x01//host/x.png",
        "&#x5c;&#x5c;host/share/x.png",
        "/&#x5c;host/x.png",
        "/\n/host/x.png",
        "/etc/passwd",
        "&#x0a;//host/x",
        " \\/host/x.png",
    ],
)
def test_urls_are_judged_as_browsers_read_them(url: str) -> None:
    rendered = render_markdown(f'<img src="{url}"> <a href="{url}">link</a>\n').html
    assert "<img" not in rendered  # each resolves to a remote host or a file of the reader's
    for href in re.findall(r'href="([^"]*)"', rendered):
        # The WHATWG URL parser, written out independently: C0 and spaces trimmed at both
        # ends, tab/newline dropped anywhere, backslash read as slash.
        value = html.unescape(href).strip("".join(map(chr, range(0x21))))
        value = re.sub("[\t\n\r]", "", value).replace("\\", "/")
        assert not value.startswith("//"), href


def test_committed_conflict_markers_are_reported_and_not_merged_on(
    kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    base = _doc("Shared", "Line one.\n\nLine two.\n").encode()
    mine = _doc("Shared", "Line one, mine.\n\nLine two.\n").encode()
    theirs = _doc(
        "Shared", "Line one.\n\n<<<<<<< HEAD\nLine two.\n=======\nLine 2.\n>>>>>>> x\n"
    ).encode()
    result = mergedriver.merge(base, mine, theirs, "runbooks/shared.md")
    assert not result.clean and result.mine == mine and b"<<<<<<<" not in result.text
    write_doc(kb, "runbooks/shared.md", theirs.decode())
    git(kb.root, "add", "-A")
    git(kb.root, "commit", "-q", "--no-verify", "-m", "plain git")
    lint = cli("--kb", kb.root, "lint")
    assert "runbooks/shared.md:12: error:" in lint.out and "[conflict-marker]" in lint.out


def test_a_pasted_token_does_not_stall_search(kb: Workspace, cli: Callable[..., CliResult]) -> None:
    kb.create("runbook", "VPN drops every hour")
    import random
    import string

    rng = random.Random(14)
    token = "".join(rng.choice(string.ascii_letters) for _ in range(2000))
    started = time.perf_counter()
    result = cli("--kb", kb.root, "search", token)
    assert result.code in (0, 1)
    # Minutes before (the spelling edits of a 2,000-letter word grow cubically); well under
    # a second now, with room for a shared CI machine.
    assert time.perf_counter() - started < 20
    assert cli("--kb", kb.root, "search", "vnp").code == 0  # short words are still corrected
