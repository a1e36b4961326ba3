"""Sync with the shared repository: commit what is pending, fetch, integrate, push.

One function does it for the CLI (``kbapp sync``) and the window: :func:`sync`. Decisions:

- **Merge, never rebase.** Integrating the other organisation's work is a merge commit (or a
  fast-forward), so every version anyone saved stays a commit reachable from the branch and
  nothing published is ever rewritten. The merge runs with ``--no-commit``; kbapp then settles
  what git left unmerged (:func:`~kbapp.sync.merge._settle_unmerged`) and commits the merge itself, with the
  ``KB-Org`` trailer.
- **Merge by meaning**: ``.gitattributes`` routes ``*.md`` to kbapp's merge driver
  (:mod:`kbapp.sync.mergedriver`), configured in each clone when it is opened (:func:`prepare`).
- **Conflicts never block**: what still conflicts gets a provisional, marker-free version and
  the other side is kept under a ref (:mod:`kbapp.sync.conflicts`); the merge is committed and
  pushed with the rest.
- **Safety refs**: before a merge changes the work tree, and before a repair aborts a half-done
  operation, the prior state is kept under ``refs/kbapp/backup/<UTC timestamp>`` (a snapshot
  commit of the whole work tree when it was not committed). Backups older than 30 days are
  pruned by the next sync.
- **Rejected push** (the other side pushed in between): fetch and integrate again, up to
  :data:`PUSH_ATTEMPTS` times with a growing, jittered pause.
- **Offline** is not an error: the report says so (``offline=True``) and local work stays
  committed; the next sync sends it. Refused credentials, a missing repository, unrelated
  history, a detached HEAD or a hand edit that may not be committed raise
  :class:`~kbapp.errors.SyncError` with one sentence and git's own message in ``details``.
- **Crash safety**: every step is a git operation that is atomic on its own (commit, ref
  update) except the merge, which :func:`repair` (run when a workspace is opened and at the
  start of each sync) backs up and aborts if it was left half-done; the next sync simply does
  it again. Stale ``*.lock`` files of a killed git are removed.
- Writes hold the workspace's write lock; the network (fetch, push) does not, so a save in
  the window never waits for a slow remote.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kbapp.documents import model as documents
from kbapp.errors import KbError, SaveError, SyncError
from kbapp.fsutil import write_failed_for_space
from kbapp.interaction import Level
from kbapp.sync import conflicts as conflict_store
from kbapp.sync import journal, recovery, refused
from kbapp.sync.git import NO_PROMPTS, CloneProgress, Git, Prompting, RemoteError, remote_error
from kbapp.sync.merge import _integrate, _last_authors, _title_of
from kbapp.sync.recovery import BACKUP_PREFIX, CHECKPOINTS, backups, driver_command, prepare, repair
from kbapp.sync.report import Change, FetchReport, SyncReport, SyncStatus
from kbapp.trust import policy, serverhook

__all__ = [
    "BACKUP_PREFIX",
    "CHECKPOINTS",
    "Change",
    "FetchReport",
    "SyncReport",
    "SyncStatus",
    "backups",
    "clone",
    "driver_command",
    "fetch",
    "prepare",
    "repair",
    "status",
    "sync",
]

if TYPE_CHECKING:
    from kbapp.interaction import Interaction
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

log = logging.getLogger(__name__)

REMOTE = "origin"
PUSH_ATTEMPTS = 5
NETWORK_TIMEOUT = 120.0

Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------- sync


def sync(ws: Workspace, progress: Progress | None = None) -> SyncReport:
    """Commit pending work, fetch, integrate (merge by meaning), push; see the module doc."""
    git = ws.git
    report = SyncReport()
    steps = 5

    def step(number: int) -> None:
        if progress is not None:
            progress(number, steps)

    step(0)
    branch = _branch(git)
    remote = _remote(git)
    ws.require_identity()  # sync commits (pending work, merges): who, before anything changes
    with git.write_lock():
        try:
            report.repaired = repair(ws)
            finished = journal.pending_paths(ws)  # saves whose commit failed: their messages
            journal.finish(ws)
            pending = list(dict.fromkeys(finished + _commit_pending(ws)))
        except KbError as exc:
            text = f"{exc}\n{getattr(exc, 'details', '')}"
            if not write_failed_for_space(text, ws.root):
                raise
            raise SyncError(
                "Could not commit your changes: the disk is full; nothing was sent or changed "
                "(your files are as they were) — free some space and sync again",
                details=text.strip(),
            ) from None
    recovery.checkpoint("committed")
    step(1)
    changed: dict[str, None] = dict.fromkeys(pending)
    incoming: list[Change] = []
    published: list[Change] = []
    attempt = 0
    while True:
        attempt += 1
        try:
            upstream = _fetch(ws, remote, branch)
        except RemoteError as exc:
            if exc.kind != "offline":
                recovery.save_state(ws, offline=False)
                raise
            report.offline = True
            report.message = str(exc)
            report.details = exc.details
            recovery.save_state(ws, offline=True)
            break
        recovery.checkpoint("fetched")
        step(2)
        with git.write_lock():
            _commit_pending(ws)
            before = git.head()
            met: list[Change] = []
            if upstream:
                met = _integrate(ws, remote, branch, upstream)
            after = git.head()
            if before and after and before != after:
                for change in _changes(ws, before, after, f"{before}..{upstream}") + met:
                    incoming.append(change)
                    changed[change.path] = None
                    if change.old_path:
                        changed[change.old_path] = None
        step(3)
        head = git.head()
        if head is None or head == upstream:
            report.pushed = True
            recovery.save_state(ws, offline=False, synced=True)
            break
        outgoing = (
            _changes(ws, upstream, head, f"{upstream}..{head}")
            if upstream
            else _changes(ws, None, head, head)
        )
        recovery.checkpoint("before-push")
        refusals = refused.check_unpublished(ws, upstream)
        if refusals:
            recovery.save_state(ws, offline=False)
            raise refused.refused_error(refusals, by_server=False)
        try:
            _push(ws, remote, branch)
        except RemoteError as exc:
            if exc.kind == "rejected" and attempt < PUSH_ATTEMPTS:
                time.sleep(min(4.0, 0.2 * 2 ** (attempt - 1)) * (0.5 + random.random()))
                continue
            if exc.kind == "offline":
                report.offline = True
                report.message = str(exc)
                report.details = exc.details
                recovery.save_state(ws, offline=True)
                break
            raise
        recovery.checkpoint("pushed")
        published = outgoing
        report.pushed = True
        recovery.save_state(ws, offline=False, synced=True)
        break
    step(4)
    recovery.prune_backups(git)
    report.changed_by_others = _latest_per_path(incoming)
    report.published = published
    report.changed_paths = list(changed)
    if report.changed_paths:
        try:
            ws.refresh_paths(report.changed_paths)
        except SaveError as exc:  # derived data only: the sync itself is done
            ws.interaction.notify(str(exc), Level.WARNING)
    report.conflicts = conflict_store.conflict_paths(ws)
    if not report.message:
        report.message = _summary(report)
    step(5)
    return report


def fetch(ws: Workspace) -> FetchReport:
    """Fetch only (the window's background check): how many commits wait to be integrated."""
    git = ws.git
    branch = _branch(git)
    remote = _remote(git)
    try:
        upstream = _fetch(ws, remote, branch)
    except RemoteError as exc:
        if exc.kind != "offline":
            raise
        recovery.save_state(ws, offline=True)
        return FetchReport(0, True, str(exc))
    recovery.save_state(ws, offline=False)
    head = git.head()
    if not upstream or not head:
        return FetchReport(0, False, "nothing new")
    count = int(git.out("rev-list", "--count", f"{head}..{upstream}") or 0)
    return FetchReport(
        count,
        False,
        f"{count} new change(s) from the shared repository" if count else "nothing new",
    )


def status(ws: Workspace) -> SyncStatus:
    """What waits locally and remotely, without touching the network (fast: three git calls;
    a new document a ``.gitignore`` hides counts as a change, as sync commits it)."""
    git = ws.git
    result = SyncStatus()
    out = git.run(
        "--no-optional-locks",
        "status",
        "--porcelain=v2",
        "--branch",
        "-z",
        "--untracked-files=all",
        check=False,
        strip=False,
    ).stdout
    upstream_name = ""
    for item in out.split("\0"):
        if not item:
            continue
        if item.startswith("# branch.head "):
            head = item[len("# branch.head ") :]
            result.branch = "" if head == "(detached)" else head
        elif item.startswith("# branch.upstream "):
            upstream_name = item[len("# branch.upstream ") :]
        elif item.startswith("# branch.ab "):
            ahead, behind = item[len("# branch.ab ") :].split()
            result.ahead, result.behind = int(ahead), -int(behind)
        elif item[0] in "12u?":
            result.local_changes += 1
    result.local_changes += len(_hidden_new_documents(ws))
    if result.branch and not upstream_name:
        tracking = f"refs/remotes/{REMOTE}/{result.branch}"
        counted = git.run("rev-list", "--left-right", "--count", f"HEAD...{tracking}", check=False)
        if counted.status == 0:
            ahead, behind = counted.stdout.split()
            result.ahead, result.behind = int(ahead), int(behind)
    result.remote = git.config_get(f"remote.{REMOTE}.url")
    result.conflicts = len(conflict_store.conflict_refs(ws))
    state = recovery.load_state(ws)
    result.offline = bool(state.get("offline"))
    if state.get("last_sync"):
        try:
            result.last_sync = dt.datetime.fromisoformat(str(state["last_sync"]))
        except ValueError:
            result.last_sync = None
    return result


def clone(
    url: str,
    path: Path | str,
    settings: Settings | None = None,
    interaction: Interaction | None = None,
    *,
    prompting: Prompting = NO_PROMPTS,
    progress: CloneProgress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Workspace:
    """Clone the shared repository at ``url`` into ``path`` and open it: the merge driver is
    configured and the catalog built (the search index catches up from the catalog).
    ``prompting`` says how credentials are asked for (and is kept for the workspace's syncs),
    ``progress`` hears git's progress, ``cancelled()`` stops it (see :meth:`Git.clone`)."""
    from kbapp.workspace import Workspace

    target = Path(path).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise KbError(f"{target} already exists and is not empty; choose a new folder")
    Git.clone(url, target, prompting=prompting, progress=progress, cancelled=cancelled)
    _check_out_shared_branch(Git(target))
    workspace = Workspace.open(target, settings, interaction)
    workspace.git.prompting = prompting
    workspace.refresh()
    return workspace


def _check_out_shared_branch(git: Git) -> None:
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


# --------------------------------------------------------------------------- steps


def _branch(git: Git) -> str:
    branch = git.current_branch()
    if branch:
        return branch
    raise SyncError(
        "This knowledge base is not on a branch (a detached HEAD), so sync does not know where "
        f"your work belongs; switch back with 'git -C {git.root} switch main' (your commits stay "
        "as they are)",
        details=git.run("status", check=False).stdout,
    )


def _remote(git: Git) -> str:
    if git.config_get(f"remote.{REMOTE}.url"):
        return REMOTE
    raise SyncError(
        "This knowledge base has no shared repository to sync with; add one with "
        f"'git -C {git.root} remote add origin URL' or start from 'kbapp clone URL PATH'"
    )


def _commit_pending(ws: Workspace) -> list[str]:
    """Commit every change on disk (a hand edit, a save that was interrupted before its
    commit): nothing the user saved stays uncommitted. Documents must pass the commit policy;
    one that does not stops the sync with the reason and the file untouched."""
    git = ws.git
    out = git.run(
        "--no-optional-locks",
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        strip=False,
    ).stdout
    paths: list[str] = []
    added: set[str] = set()
    items = out.split("\0")
    index = 0
    while index < len(items):
        item = items[index]
        index += 1
        if len(item) < 4:
            continue
        code, path = item[:2], item[3:]
        if code[0] in "RC":  # a staged rename: the next item is where it came from
            paths.append(items[index])
            index += 1
        if path.endswith(".kbtmp") or path.startswith(".merge_file_"):
            continue  # an atomic save in progress, or git's merge driver copies a crash left
        if code == "??" and (ws.root / path).is_symlink():
            continue  # a symbolic link is never part of a knowledge base (lint reports it)
        paths.append(path)
        if code == "??" or code[0] == "A":
            added.add(path)
    # New documents a .gitignore hides from 'git status' are documents all the same (kbapp
    # lists them): committed, by name, like any other (git.commit adds with '-f').
    for path in _hidden_new_documents(ws):
        paths.append(path)
        added.add(path)
    if not paths:
        return []
    titles: list[str] = []
    problems: list[policy.Violation] = []
    incoming = _incoming_paths(git)
    # Paths the shared repository keeps for one organisation (the settings, .gitattributes,
    # the templates, [[policy.protected]]): judged by the rules the shared branch has, as its
    # hook will judge the push, before a commit exists that only 'kbapp refused --drop' undoes.
    rules = refused.shared_config(git, git.rev(refused.tracking_ref(ws)), ws.config)
    me = ws.identity
    problems.extend(
        serverhook.protected_changes(paths, rules, rules.org_for_email(me.email) or me.org)
    )
    for path in paths:
        full = ws.root / path
        if not full.is_file() or full.is_symlink():
            continue
        try:
            data = full.read_bytes()
        except OSError as exc:
            raise SyncError(
                f"{path} cannot be read ({exc.strerror or exc}); nothing was sent or changed"
            ) from None
        if path in incoming:
            _refuse_partial_copy(git, path, data, incoming[path])
        # The very rules the shared repository's hook applies to a pushed file: what passes
        # here is never refused there (docs/security.md).
        problems.extend(policy.check_commit_file(path, data, ws.config))
        if path.endswith(".md"):
            try:
                titles.append(documents.parse(data, path).title)
            except KbError:
                pass
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        where = f"line {first.line}: " if first.line else ""
        raise SyncError(
            f"{first.path} was changed outside kbapp and cannot be committed: {where}"
            f"{first.message} [{first.rule}]{more}; fix the file and sync again — nothing was "
            "sent or changed",
            details="\n".join(str(v) for v in problems),
        )
    if len(paths) == 1:
        verb = (
            "Create"
            if paths[0] in added
            else ("Delete" if not (ws.root / paths[0]).exists() else "Update")
        )
        message = f"{verb}: {titles[0] if titles else paths[0]}"
    else:
        message = f"Update: {len(paths)} files changed outside kbapp\n\n" + "\n".join(
            f"- {p}" for p in paths
        )
    git.commit(paths, message, trailers=ws.trailers())
    return paths


def _hidden_new_documents(ws: Workspace) -> list[str]:
    """Untracked documents that ignore rules hide from ``git status`` (a partner's ``*/*/`` or
    ``*[0-9]*.md``; ``*.MD`` where git ignores case)."""
    return [
        path
        for path in ws.git.ignored_untracked("*.md")
        if policy.is_document_path(path, ws.config) and not (ws.root / path).is_symlink()
    ]


def _incoming_paths(git: Git) -> dict[str, str]:
    """path -> the fetched shared branch, for the paths where it differs from HEAD (what an
    integration writes); empty when there is no fetched branch."""
    branch = git.current_branch()
    tracking = git.rev(f"refs/remotes/{REMOTE}/{branch}") if branch else None
    head = git.head()
    if not tracking or not head or tracking == head:
        return {}
    return {p: tracking for p in git.diff_names(head, tracking, diff_filter="AM")}


def _refuse_partial_copy(git: Git, path: str, data: bytes, tracking: str) -> None:
    """A second line of defence (the first is :func:`recovery.repair`, which removes what an
    undone merge wrote): a file on disk that is a strict prefix of the fetched shared version
    of that path, and not a cut of HEAD's version (the user shortening a document), is a
    write a crash or a full disk cut short, never committed as the user's edit. Nothing is
    lost by deleting it: the shared version holds all of it."""
    theirs = git.read_blob(f"{tracking}:{path}")
    if theirs is None or len(data) >= len(theirs) or not theirs.startswith(data):
        return
    mine = git.read_blob(f"HEAD:{path}")
    if mine is not None and mine.startswith(data):
        return
    raise SyncError(
        f"{path} is a partly written copy of the shared repository's version (a write cut "
        "short, by a full disk for instance), so it is not committed; delete it (the next "
        "sync brings the whole file) and sync again — nothing was sent or changed",
        details=f"{path}: {len(data)} of the {len(theirs)} bytes of {tracking[:10]}:{path}",
    )


def _fetch(ws: Workspace, remote: str, branch: str) -> str | None:
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


def _push(ws: Workspace, remote: str, branch: str) -> None:
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


# --------------------------------------------------------------------------- what changed


def _changes(ws: Workspace, old: str | None, new: str, log_range: str) -> list[Change]:
    """Files that differ between ``old`` and ``new``, each with the last author in
    ``log_range`` who touched it."""
    git = ws.git
    if old is None:
        old = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # the empty tree
    out = git.run(
        "-c",
        "core.quotepath=off",
        "diff",
        "--name-status",
        "-z",
        "-M",
        "--no-ext-diff",
        old,
        new,
        strip=False,
    ).stdout
    items = out.split("\0")
    authors = _last_authors(ws, log_range)
    changes: list[Change] = []
    index = 0
    kinds = {
        "A": "added",
        "M": "modified",
        "D": "removed",
        "R": "renamed",
        "T": "modified",
        "C": "added",
    }
    while index < len(items) - 1:
        code = items[index]
        if not code:
            index += 1
            continue
        if code[0] in "RC":
            old_path, path = items[index + 1], items[index + 2]
            index += 3
        else:
            old_path, path = "", items[index + 1]
            index += 2
        author, org = authors.get(path, ("", ""))
        changes.append(
            Change(
                path,
                _title_of(ws, path),
                author,
                org,
                kinds.get(code[0], "modified"),
                old_path if code[0] == "R" else "",
            )
        )
    return changes


def _latest_per_path(changes: list[Change]) -> list[Change]:
    out: dict[str, Change] = {}
    for change in changes:
        out[change.path] = change
    return [c for c in out.values() if c.path.endswith(".md")]


def _summary(report: SyncReport) -> str:
    parts = []
    if report.changed_by_others:
        parts.append(f"{len(report.changed_by_others)} document(s) changed by others")
    if report.published:
        parts.append(f"{len(report.published)} published")
    if report.conflicts:
        parts.append(f"{len(report.conflicts)} conflict(s) waiting for you")
    return "; ".join(parts) + "." if parts else "Up to date."
