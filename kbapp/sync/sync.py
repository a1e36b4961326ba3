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

The steps are modules of their own: :mod:`kbapp.sync.uncommitted` (commit what is on disk),
:mod:`kbapp.sync.remote` (branch, remote, fetch, push), :mod:`kbapp.sync.merge` (integrate),
:mod:`kbapp.sync.changes` (what changed, and who changed it), :mod:`kbapp.sync.report`.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kbapp.errors import KbError, SaveError, SyncError
from kbapp.fsutil import write_failed_for_space
from kbapp.interaction import Level
from kbapp.sync import conflicts as conflict_store
from kbapp.sync import journal, recovery, refused
from kbapp.sync.changes import between, latest_per_path
from kbapp.sync.git import NO_PROMPTS, CloneProgress, Git, Prompting, RemoteError
from kbapp.sync.merge import _integrate
from kbapp.sync.recovery import BACKUP_PREFIX, CHECKPOINTS, backups, driver_command, prepare, repair
from kbapp.sync.remote import (
    REMOTE,
    branch_of,
    check_out_shared_branch,
    fetch_branch,
    push_branch,
    remote_of,
)
from kbapp.sync.report import Change, FetchReport, SyncReport, SyncStatus
from kbapp.sync.uncommitted import commit_all, hidden_new_documents

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

PUSH_ATTEMPTS = 5

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
    branch = branch_of(git)
    remote = remote_of(git)
    ws.require_identity()  # sync commits (pending work, merges): who, before anything changes
    with git.write_lock():
        try:
            report.repaired = repair(ws)
            finished = journal.pending_paths(ws)  # saves whose commit failed: their messages
            journal.finish(ws)
            pending = list(dict.fromkeys(finished + commit_all(ws)))
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
            upstream = fetch_branch(ws, remote, branch)
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
            commit_all(ws)
            before = git.head()
            met: list[Change] = []
            if upstream:
                met = _integrate(ws, remote, branch, upstream)
            after = git.head()
            if before and after and before != after:
                for change in between(ws, before, after, f"{before}..{upstream}") + met:
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
            between(ws, upstream, head, f"{upstream}..{head}")
            if upstream
            else between(ws, None, head, head)
        )
        recovery.checkpoint("before-push")
        refusals = refused.check_unpublished(ws, upstream)
        if refusals:
            recovery.save_state(ws, offline=False)
            raise refused.refused_error(refusals, by_server=False)
        try:
            push_branch(ws, remote, branch)
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
    report.changed_by_others = latest_per_path(incoming)
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
    branch = branch_of(git)
    remote = remote_of(git)
    try:
        upstream = fetch_branch(ws, remote, branch)
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
    result.local_changes += len(hidden_new_documents(ws))
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
    check_out_shared_branch(Git(target))
    workspace = Workspace.open(target, settings, interaction)
    workspace.git.prompting = prompting
    workspace.refresh()
    return workspace


def _summary(report: SyncReport) -> str:
    parts = []
    if report.changed_by_others:
        parts.append(f"{len(report.changed_by_others)} document(s) changed by others")
    if report.published:  # (not "published": that is a document's status)
        n = len(report.published)
        parts.append(f"{n} document{'s' if n != 1 else ''} shared with the other organisation")
    if report.conflicts:
        parts.append(f"{len(report.conflicts)} conflict(s) waiting for you")
    return "; ".join(parts) + "." if parts else "Up to date."
