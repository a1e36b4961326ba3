"""Every commit and tag object a push brings is judged whole, as git shows it (issue 14,
adversarial findings N2 and N8): every header line and the message, through one function
(:func:`kbapp.trust.object_rules.check_object`); an ``encoding`` other than UTF-8 is refused;
tags of tags, of blobs and of trees are judged. The client checks the commit it is about to
make with the same function.

Real repositories: a bare shared repository with kbapp's pre-receive hook installed by
``kbapp server-hook install``, Ana's kbapp clone and Sam's plain-git clone, objects made by
hand with ``git hash-object`` where no porcelain command would make them."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliResult, SharedRepo, git

from kbapp.errors import PolicyError
from kbapp.sync import refused, sync
from kbapp.sync.git import Git

SECRET = "Sup3rS3cretValue9"
ASSIGNMENT = f"PGPASSWORD={SECRET}"


def push(clone: Path, *refspecs: str) -> subprocess.CompletedProcess[str]:
    """``git push`` as the server sees it: the hook knows the partner pushed."""
    return subprocess.run(
        ["git", "push", "-q", "origin", *refspecs],
        cwd=clone,
        env=dict(os.environ, KBAPP_PUSHER_EMAIL="sam@partner.example"),
        capture_output=True,
        text=True,
        check=False,
    )


def refused_with(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0, result.stderr
    assert "pre-receive hook declined" in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    report = [line for line in result.stderr.splitlines() if line.startswith("remote:")]
    assert SECRET not in "\n".join(report)  # the hook's report never repeats the secret


def make_object(clone: Path, kind: str, raw: bytes) -> str:
    return (
        subprocess.run(
            ["git", "hash-object", "-t", kind, "-w", "--stdin"],
            cwd=clone,
            input=raw,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )


def hand_commit(clone: Path, author: str, *, extra: str = "", message: str = "notes") -> str:
    """A commit of the clone's tree on its HEAD, written byte by byte."""
    tree = git(clone, "rev-parse", "HEAD^{tree}")
    head = git(clone, "rev-parse", "HEAD")
    raw = (
        f"tree {tree}\nparent {head}\n"
        f"author {author} <sam@partner.example> 1700000000 -0000\n"
        "committer Sam Plain <sam@partner.example> 1700000000 -0000\n"
        f"{extra}\n{message}\n"
    )
    return make_object(clone, "commit", raw.encode("utf-8"))


def hand_tag(clone: Path, target: str, kind: str, name: str, *, tagger: str = "Sam Plain",
             extra: str = "", message: str = "release") -> str:  # fmt: skip
    raw = (
        f"object {target}\ntype {kind}\ntag {name}\n"
        f"tagger {tagger} <sam@partner.example> 1700000000 +0000\n{extra}\n{message}\n"
    )
    return make_object(clone, "tag", raw.encode("utf-8"))


def served_tags(shared: SharedRepo) -> str:
    return git(shared.remote, "for-each-ref", "--format=%(refname)", "refs/tags/")


# ---------------------------------------------------------------------------- commits (N2)


@pytest.mark.parametrize("encoding", ["UTF-7", "ISO-8859-1", "x-no-such-codec"])
def test_a_commit_in_another_encoding_is_refused(hooked: SharedRepo, encoding: str) -> None:
    """git shows a UTF-7 author ``PGPASSWORD+AD0-x`` as ``PGPASSWORD=x``: the raw bytes are
    not what readers see, so any encoding but UTF-8 is refused (also one nobody can decode)."""
    sam = hooked.plain_clone()
    made = hand_commit(sam, f"PGPASSWORD+AD0-{SECRET}", extra=f"encoding {encoding}\n")
    if encoding == "UTF-7":  # what the attack relies on: git re-encodes it for display
        assert git(sam, "log", "-1", "--format=%an", made) == ASSIGNMENT
    before = git(hooked.remote, "rev-parse", "main")
    refused_with(
        push(sam, f"{made}:refs/heads/main"),
        f"(commit header):5: the object is written in '{encoding}', not UTF-8",
        "[encoding]",
    )
    assert git(hooked.remote, "rev-parse", "main") == before


@pytest.mark.parametrize("spelling", ["UTF-8", "utf-8", "UTF8", "utf8"])
def test_utf8_in_any_spelling_is_accepted_and_still_scanned(
    hooked: SharedRepo, spelling: str
) -> None:
    sam = hooked.plain_clone()
    clean = hand_commit(sam, "Sam Plain", extra=f"encoding {spelling}\n")
    assert push(sam, f"{clean}:refs/heads/main").returncode == 0
    git(sam, "fetch", "-q")
    git(sam, "reset", "-q", "--hard", "origin/main")
    leaky = hand_commit(sam, ASSIGNMENT, extra=f"encoding {spelling}\n")
    refused_with(push(sam, f"{leaky}:refs/heads/main"), "the author header looks like a secret")


@pytest.mark.parametrize(
    ("extra", "message", "needle"),
    [
        (f"x-note {ASSIGNMENT}\n", "notes", "(commit header):5: the x-note header"),
        # a continuation line of a multi-line header (what gpgsig and mergetag use)
        (f"x-block first line\n second line\n {ASSIGNMENT}\n", "notes", "(commit header):7:"),
        # a hand-made signature header: no header is exempt
        (
            f"gpgsig -----BEGIN PGP SIGNATURE-----\n {ASSIGNMENT}\n -----END PGP SIGNATURE-----\n",
            "notes",
            "(commit header):6: the gpgsig header",
        ),
        # a merged tag carried inside the commit: its tagger and its message
        (
            "mergetag object " + "a" * 40 + "\n type commit\n tag v9\n"
            f" tagger {ASSIGNMENT} <sam@partner.example> 1700000000 +0000\n \n release\n",
            "notes",
            "(commit header):8: the mergetag header",
        ),
        ("", f"Fix db\n\nIt was {ASSIGNMENT}", "(commit message):3:"),
    ],
    ids=["extra-header", "continuation", "gpgsig", "mergetag", "message"],
)
def test_every_header_line_and_the_message_of_a_commit_are_scanned(
    hooked: SharedRepo, extra: str, message: str, needle: str
) -> None:
    sam = hooked.plain_clone()
    made = hand_commit(sam, "Sam Plain", extra=extra, message=message)
    refused_with(push(sam, f"{made}:refs/heads/main"), needle, "looks like a secret")


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_signed_commits_and_tags_pass(hooked: SharedRepo, tmp_path: Path) -> None:
    """Signatures are scanned like every header (no exemption): a real one holds nothing a
    secret rule matches."""
    key = tmp_path / "signing-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    sam = hooked.plain_clone()
    signing = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}.pub"]
    (sam / "notes.txt").write_text("signed notes\n")
    git(sam, "add", "notes.txt")
    git(sam, *signing, "commit", "-q", "-S", "-m", "Signed notes")
    git(sam, *signing, "tag", "-s", "-m", "Signed release", "v1")
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" in git(sam, "cat-file", "commit", "HEAD")
    result = push(sam, "HEAD:main", "refs/tags/v1")
    assert result.returncode == 0, result.stderr
    assert "refs/tags/v1" in served_tags(hooked)


# ---------------------------------------------------------------------------- tags (N8)


def test_tags_are_judged_whole_whatever_they_name(hooked: SharedRepo) -> None:
    sam = hooked.plain_clone()
    head = git(sam, "rev-parse", "HEAD")
    # the tagger name, as git tag writes it
    subprocess.run(
        ["git", "tag", "-a", "v1", "-m", "release notes", "HEAD"],
        cwd=sam,
        env=dict(os.environ, GIT_COMMITTER_NAME=ASSIGNMENT),
        check=True,
    )
    refused_with(push(sam, "refs/tags/v1"), "(tag header):4: the tagger header looks like a secret")
    cases = {
        "v2": (hand_tag(sam, head, "commit", "v2", extra=f"x-note {ASSIGNMENT}\n"), "(tag header):5"),
        "v3": (hand_tag(sam, head, "commit", "v3", message=ASSIGNMENT), "(tag message):1"),
        "v4": (hand_tag(sam, head, "commit", "v4", extra="encoding UTF-7\n"), "[encoding]"),
        # a clean tag of a tag whose tagger holds the secret
        "v5": (
            hand_tag(sam, hand_tag(sam, head, "commit", "v5-inner", tagger=ASSIGNMENT), "tag", "v5"),
            "(tag header):4: the tagger header",
        ),
    }  # fmt: skip
    for name, (tag, needle) in cases.items():
        git(sam, "update-ref", f"refs/tags/{name}", tag)
        refused_with(push(sam, f"refs/tags/{name}"), needle)
    # a lightweight tag of a commit the push brings: the commit is judged
    leaky = hand_commit(sam, ASSIGNMENT)
    git(sam, "update-ref", "refs/tags/light", leaky)
    refused_with(push(sam, "refs/tags/light"), "(commit header):3: the author header")
    # the tag's name is pushed and shown too
    git(sam, "update-ref", f"refs/tags/{ASSIGNMENT}", head)
    refused_with(push(sam, f"refs/tags/{ASSIGNMENT}"), "(ref name):0: the name looks like a secret")
    assert served_tags(hooked) == ""
    # clean tags (annotated, lightweight, a tag of a tag) pass
    git(sam, "tag", "-a", "ok1", "-m", "Release 1", "HEAD")
    git(
        sam,
        "update-ref",
        "refs/tags/ok2",
        hand_tag(sam, git(sam, "rev-parse", "ok1"), "tag", "ok2"),
    )
    git(sam, "tag", "ok3", "HEAD")  # fmt: skip
    result = push(sam, "refs/tags/ok1", "refs/tags/ok2", "refs/tags/ok3")
    assert result.returncode == 0, result.stderr
    assert served_tags(hooked).split() == ["refs/tags/ok1", "refs/tags/ok2", "refs/tags/ok3"]


def test_tags_of_blobs_and_trees_are_judged_and_branches_name_commits(hooked: SharedRepo) -> None:
    sam = hooked.plain_clone()
    blob = make_object(sam, "blob", f"export {ASSIGNMENT}\n".encode())
    git(sam, "update-ref", "refs/tags/blobtag", blob)
    refused_with(push(sam, "refs/tags/blobtag"), "refs/tags/blobtag:1: looks like a secret")
    internal = "---\ntitle: Plans\nsensitivity: internal\n---\n# Plans\n"
    doc = make_object(sam, "blob", internal.encode())
    tree = subprocess.run(
        ["git", "mktree"],
        cwd=sam,
        input=f"100644 blob {doc}\tplans.md\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    git(sam, "update-ref", "refs/tags/treetag", hand_tag(sam, tree, "tree", "treetag"))
    refused_with(push(sam, "refs/tags/treetag"), "plans.md:3:", "[sensitivity]")
    before = git(hooked.remote, "for-each-ref")
    refused_with(push(sam, f"{blob}:refs/heads/blobbranch"), "not a commit", "[ref-target]")
    assert git(hooked.remote, "for-each-ref") == before
    # a clean blob may be tagged
    fine = make_object(sam, "blob", b"release notes\n")
    git(sam, "update-ref", "refs/tags/notes", fine)
    assert push(sam, "refs/tags/notes").returncode == 0


# ---------------------------------------------------------------------------- the client


def test_kbapp_commits_in_utf8_whatever_git_is_set_to(hooked: SharedRepo) -> None:
    """A user whose git writes latin-1 commits (``i18n.commitEncoding``): kbapp's own commits
    carry no ``encoding`` header, so the hook accepts them."""
    ana = hooked.ana
    git(ana.root, "config", "i18n.commitEncoding", "ISO-8859-1")
    git(ana.root, "config", "i18n.logOutputEncoding", "ISO-8859-1")
    ana.create("runbook", "Café opening checklist")
    report = sync.sync(ana)
    assert report.pushed, report.message
    raw = git(hooked.remote, "cat-file", "commit", "main")
    assert "\nencoding " not in raw.partition("\n\n")[0]
    assert (
        git(hooked.remote, "log", "-1", "--format=%s", "main") == "Create: Café opening checklist"
    )


def test_the_client_checks_the_commit_it_makes_with_the_hooks_function(
    hooked: SharedRepo, cli: Callable[..., CliResult]
) -> None:
    ana = hooked.ana
    # kbapp's save: the message and the author it commits with
    doc = ana.create("runbook", "Rotate the keys")
    text = ana.load(doc.path)
    with pytest.raises(PolicyError) as caught:
        ana.save(text, message=f"Rotate\n\n{ASSIGNMENT}")
    assert "(commit message):3:" in str(caught.value)
    ana.git.identity = dataclasses.replace(ana.identity, name=ASSIGNMENT)
    with pytest.raises(PolicyError) as caught:
        ana.save(text, message="Rotate")
    assert "the author header looks like a secret" in str(caught.value)
    # plain git with kbapp's hooks: the message, the author name and the encoding git will use
    assert cli("--kb", ana.root, "hooks", "install").code == 0
    (ana.root / "notes.txt").write_text("notes\n")
    git(ana.root, "add", "notes.txt")

    def commit(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args, "commit", "-q", "-m", "Notes"],
            cwd=ana.root,
            env=dict(os.environ, **env),
            capture_output=True,
            text=True,
            check=False,
        )

    leaked = commit(GIT_AUTHOR_NAME=ASSIGNMENT)
    assert leaked.returncode != 0 and "the author header looks like a secret" in leaked.stderr
    latin = commit("-c", "i18n.commitEncoding=ISO-8859-1")
    assert latin.returncode != 0 and "[encoding]" in latin.stderr, latin.stderr
    assert commit().returncode == 0
    assert not refused.check_unpublished(ana), "sync's check before it pushes agrees"
    assert Git(ana.root).out("log", "-1", "--format=%s") == "Notes"
