"""What a push may claim and where it may write (issue 14, adversarial round 4: A1-A3).

- A1: replace refs (``refs/replace/<id>``) would make every git command read another object in
  place of the one named, so the hook could be shown a clean commit while clones get the pushed
  one. The hook and the client's gateway read objects as they are, and a push may only write
  branches and tags.
- A2: when the server says who pushed, a new commit may not claim another organisation (its
  committer's or author's e-mail, its ``KB-Org`` trailer) than the pusher's; commits already on
  the server (a merge bringing the other side's work) are not new.
- A3: a pusher the server names whose e-mail or user name belongs to no organisation changes
  no protected path; user names are matched as the servers compare them.

Real repositories: a bare shared repository with kbapp's pre-receive hook (``kbapp server-hook
install``), Ana's (internal) and Jo's (partner) kbapp clones, Sam's plain-git clone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from helpers import SharedRepo, git

from kbapp.sync import sync
from kbapp.sync.git import Git

LEAK = "export PGPASSWORD=Sup3rS3cretValue9\n"


def run_git(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Plain git with extra environment (what the server tells its hook), not checked."""
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sam_push(sam: Path, *refspecs: str, **env: str) -> subprocess.CompletedProcess[str]:
    env = env or {"KBAPP_PUSHER_EMAIL": "sam@partner.example"}
    return run_git(sam, "push", "origin", *refspecs, **env)


def commit(clone: Path, files: dict[str, str], message: str, **env: str) -> str:
    for relative, text in files.items():
        target = clone / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(clone, "add", "-A", "-f")
    done = run_git(clone, "commit", "-q", "--no-verify", "-m", message, **env)
    assert done.returncode == 0, done.stderr
    return git(clone, "rev-parse", "HEAD")


# ---------------------------------------------------------------------------- A1: refs/replace


def test_a_replace_ref_can_neither_be_pushed_nor_blind_the_hook(hooked: SharedRepo) -> None:
    sam = hooked.plain_clone()
    base = git(sam, "rev-parse", "HEAD")
    evil = commit(sam, {"leak.sh": LEAK}, "routine cleanup")
    control = sam_push(sam, f"{evil}:refs/heads/main")
    assert control.returncode != 0 and "[password-assignment]" in control.stderr
    git(sam, "checkout", "-q", "--detach", base)
    clean = commit(sam, {"notes.txt": "harmless\n"}, "routine cleanup")

    # The push that would swap what the hook reads is refused, with the reason.
    pushed = sam_push(sam, f"{clean}:refs/replace/{evil}")
    assert pushed.returncode != 0, pushed.stderr
    assert f"refs/replace/{evil}" in pushed.stderr and "[ref-namespace]" in pushed.stderr
    assert "read one object in place of another" in pushed.stderr
    assert not git(hooked.remote, "for-each-ref", "refs/replace/")

    # A replace ref already on the server (from before this rule, or written there) changes
    # nothing: the hook reads the pushed commit as it is.
    assert sam_push(sam, f"{clean}:refs/heads/decoy").returncode == 0
    git(hooked.remote, "update-ref", f"refs/replace/{evil}", clean)
    again = sam_push(sam, f"{evil}:refs/heads/main")
    assert again.returncode != 0, again.stderr
    assert "leak.sh:1:" in again.stderr and "[password-assignment]" in again.stderr
    assert git(hooked.remote, "rev-parse", "main") == base


def test_only_branches_and_tags_may_be_pushed(hooked: SharedRepo) -> None:
    sam = hooked.plain_clone()
    head = git(sam, "rev-parse", "HEAD")
    git(sam, "notes", "add", "-m", f"db password: {LEAK}", head)
    for refspec in (
        "refs/notes/commits:refs/notes/commits",
        f"{head}:refs/kbapp/conflicts/x",
        f"{head}:refs/whatever/x",
    ):
        pushed = sam_push(sam, refspec)
        assert pushed.returncode != 0, (refspec, pushed.stderr)
        assert "[ref-namespace]" in pushed.stderr and "only branches" in pushed.stderr
    assert git(hooked.remote, "for-each-ref", "--format=%(refname)") == "refs/heads/main"

    # A tag names a commit: a tag of a file would publish a blob no commit check sees.
    (sam.parent / "blob.txt").write_text(LEAK)
    blob = git(sam, "hash-object", "-w", str(sam.parent / "blob.txt"))
    pushed = sam_push(sam, f"{blob}:refs/tags/leak")
    assert pushed.returncode != 0 and "[tag-target]" in pushed.stderr, pushed.stderr
    # Branches and tags of commits still go.
    git(sam, "tag", "-a", "-m", "release 1", "v1", head)
    assert sam_push(sam, "v1", f"{head}:refs/heads/scratch").returncode == 0


def test_the_gateway_reads_objects_as_they_are_whatever_replace_refs_say(
    shared: SharedRepo,
) -> None:
    """The client's own pre-push check (and every read) runs through the gateway: a replace
    ref fetched into a clone must not blind it either."""
    ana = shared.ana
    root = ana.root
    real = commit(root, {"leak.sh": LEAK}, "the real one")
    git(root, "reset", "-q", "--hard", "HEAD~1")
    decoy = commit(root, {"notes.txt": "harmless\n"}, "the decoy")
    git(root, "replace", real, decoy)
    assert git(root, "log", "-1", "--format=%s", real) == "the decoy"  # plain git is fooled
    gateway = Git(root)
    assert gateway.out("log", "-1", "--format=%s", real) == "the real one"
    assert gateway.read_blob(f"{real}:leak.sh") == LEAK.encode()
    sync.sync(ana)  # nothing else changes for kbapp
