"""Talking to the shared repository: the branch a sync works on, the remote, fetch and push.

Only fetch and push use the network (git's environment from :meth:`Git.network_env
<kbapp.sync.gitrun.GitRunner.network_env>`, a timeout); they do not hold the write lock, so
a save never waits for a slow remote. A push the other side raced is told apart from one the
server refused (its hook's reasons, :mod:`kbapp.sync.refused`) and from being offline
(:func:`kbapp.sync.git.remote_error`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kbapp.errors import NoSharedRepository, SyncError
from kbapp.sync import refused
from kbapp.sync.git import Git, RemoteError, remote_error

if TYPE_CHECKING:
    from kbapp.workspace import Workspace

REMOTE = "origin"
NETWORK_TIMEOUT = 120.0


def branch_of(git: Git) -> str:
    """The branch a sync works on; a detached HEAD is an error that says how to go back."""
    branch = git.current_branch()
    if branch:
        return branch
    raise SyncError(
        "This knowledge base is not on a branch (a detached HEAD), so sync does not know where "
        f"your work belongs; switch back with 'git -C {git.root} switch main' (your commits stay "
        "as they are)",
        details=git.run("status", check=False).stdout,
    )


def remote_of(git: Git) -> str:
    """The shared repository's remote; an error that says how to add one when there is none."""
    if git.config_get(f"remote.{REMOTE}.url"):
        return REMOTE
    raise NoSharedRepository(
        "This knowledge base has no shared repository to sync with; add one with "
        f"'git -C {git.root} remote add origin URL' or start from 'kbapp clone URL PATH'"
    )


def fetch_branch(ws: Workspace, remote: str, branch: str) -> str | None:
    """Fetch the shared branch; its commit id, or None when the shared repository is empty."""
    git = ws.git
    tracking = f"refs/remotes/{remote}/{branch}"
    result = git.run(
        "fetch",
        "--no-tags",
        "--quiet",
        remote,
        f"+refs/heads/{branch}:{tracking}",
        check=False,
        env=git.network_env(),
        timeout=NETWORK_TIMEOUT,
    )
    if result.status != 0:
        if "couldn't find remote ref" in result.stderr.lower():
            return None  # nothing pushed yet: our push creates the branch
        raise remote_error("fetch", result.stderr)
    return git.rev(tracking)


def push_branch(ws: Workspace, remote: str, branch: str) -> None:
    """Push HEAD to the shared branch (setting it as upstream the first time); a race with the
    other side raises a ``rejected`` :class:`RemoteError`, the server's refusal its reasons."""
    git = ws.git
    result = git.run(
        "push",
        "--porcelain",
        remote,
        f"HEAD:refs/heads/{branch}",
        check=False,
        env=git.network_env(),
        timeout=NETWORK_TIMEOUT,
    )
    if result.status == 0:
        if not git.config_get(f"branch.{branch}.remote"):
            git.run("config", f"branch.{branch}.remote", remote)
            git.run("config", f"branch.{branch}.merge", f"refs/heads/{branch}")
        return
    text = result.stdout + "\n" + result.stderr
    lowered = text.lower()
    raced = (
        "[rejected]",
        "non-fast-forward",
        "fetch first",
        "cannot lock ref",
        "failed to update ref",
        "but expected",
        "incorrect old value",
    )
    if any(sign in lowered for sign in raced):  # the other side pushed after our fetch
        raise RemoteError(
            "The other organisation pushed at the same time", text.strip(), "rejected"
        )
    if "[remote rejected]" in lowered or "hook declined" in lowered:
        refusals = refused.parse_hook_output(result.stderr)
        if refusals:
            raise refused.refused_error(refusals, by_server=True)
        lines = [
            line[len("remote:") :].strip()
            for line in result.stderr.splitlines()
            if line.startswith("remote:") and line[len("remote:") :].strip()
        ]
        reason = lines[0] if lines else "the server's policy refused it"
        raise RemoteError(
            f"The shared repository refused your changes: {reason}; they are kept "
            "here, fix what it names and sync again",
            text.strip(),
            "refused",
        )
    raise remote_error("push", result.stderr)


def check_out_shared_branch(git: Git) -> None:
    """A bare repository whose HEAD names a branch nobody pushed (``master`` while the teams
    push ``main``) clones to an empty, unborn branch: check out the shared one instead."""
    if git.head() is not None:
        return
    names = [
        name[len(f"refs/remotes/{REMOTE}/") :] for name, _ in git.refs(f"refs/remotes/{REMOTE}/")
    ]
    names = [n for n in names if n != "HEAD"]
    if not names:
        return  # an empty shared repository: the first sync pushes the first branch
    chosen = "main" if "main" in names else ("master" if "master" in names else sorted(names)[0])
    git.run("checkout", "-q", "-B", chosen, "--track", f"{REMOTE}/{chosen}")
