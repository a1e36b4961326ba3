"""Recovery: what makes a crash at any point of a sync harmless, and the per-open set-up.

- :func:`prepare` runs every time a workspace opens (``Workspace._on_open``): it configures
  kbapp's merge driver in the clone's git config and, if no other kbapp is writing, runs
  :func:`repair`.
- :func:`repair` removes stale git locks and git's ``.merge_file_*`` copies, undoes a sync merge
  that was cut off (kbapp notes ``.git/kbapp/merging.json`` just before it integrates and removes
  it once the merge is committed), and backs up then aborts a merge, rebase, cherry-pick or
  revert someone left half-done.
- **Safety refs**: ``refs/kbapp/backup/<UTC timestamp>-<reason>`` keeps the prior state before a
  merge changes the work tree and before a repair undoes anything (a snapshot commit of the
  whole work tree when it was not committed); :func:`prune_backups` drops those older than 30
  days.
- :func:`checkpoint`: the named points where the crash tests kill a sync.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kbapp.errors import SyncError
from kbapp.fsutil import atomic_write
from kbapp.git import Git

if TYPE_CHECKING:
    from kbapp.workspace import Workspace

BACKUP_PREFIX = "refs/kbapp/backup/"
#: Work that was never in a commit (hand edits met by a repair) or commits a rewrite replaced:
#: kept here until the user deletes the ref (never pruned).
KEPT_PREFIX = "refs/kbapp/kept/"
BACKUP_DAYS = 30
STATE_FILE = "sync.json"


def driver_command() -> str:
    """The merge driver command this kbapp installs in a clone's git config."""
    return f"{shlex.quote(sys.executable)} -m kbapp.mergedriver %O %A %B %P"


def prepare(ws: Workspace) -> list[str]:
    """Per-open set-up and repairs (called by ``Workspace._on_open``): the merge driver in the
    clone's git config, then :func:`repair` if no other kbapp is writing right now."""
    ws.git.ensure_config({
        "merge.kbapp.name": "kbapp: front matter by meaning, body by lines",
        "merge.kbapp.driver": driver_command(),
    })
    lock = ws.git.write_lock(timeout=0)
    try:
        lock.__enter__()
    except SyncError:  # another kbapp holds the lock: it is alive, leave its work alone
        return []
    try:
        return repair(ws)
    finally:
        lock.__exit__(None, None, None)


def repair(ws: Workspace) -> list[str]:
    """Undo what a killed git or kbapp left behind; returns what was done, in sentences.
    Call with the write lock held."""
    git = ws.git
    done: list[str] = []
    removed = git.remove_stale_locks()
    if removed:
        done.append("removed stale git lock files: " + ", ".join(removed))
    ours = load_json(ws.data_dir / "merging.json")
    if ours.get("head") and git.head() == ours["head"]:
        # Our own integration was cut off (kbapp writes this file just before it starts and
        # removes it once the merge is committed). The work tree matched HEAD when it began
        # (pending work is committed first, under the same lock), so whatever differs now is
        # a partial merge: put HEAD back. A snapshot keeps the tree as it was, just in case.
        snapshot = git.snapshot("kbapp backup before undoing an interrupted sync merge")
        ref = backup(git, snapshot, "interrupted-sync")
        git.run("merge", "--abort", check=False)
        git.run("reset", "-q", "--hard", str(ours["head"]))
        remove_state(ws, "merging")
        done.append(f"undid a sync that was interrupted while merging (the state before is kept "
                    f"as {ref}); the next sync does it again")
    elif ours:
        remove_state(ws, "merging")  # the merge was committed before the interruption
    operation = git.unfinished_operation()
    if operation:
        snapshot = git.snapshot(f"kbapp backup before aborting an unfinished {operation}")
        ref = backup(git, snapshot, f"unfinished-{operation}")
        if operation == "unmerged":
            git.run("reset", "-q", check=False)
        else:
            command = {"rebase": "rebase", "merge": "merge", "cherry-pick": "cherry-pick",
                       "revert": "revert"}[operation]
            aborted = git.run(command, "--abort", check=False)
            if aborted.status != 0:
                git.run("reset", "-q", "--merge", check=False)
        remove_state(ws, "merging")
        done.append(f"aborted an unfinished {operation} (the state before is kept as {ref}); "
                    "the next sync does it again")
    return done



#: The points of a sync where the crash tests kill it (see tests/test_sync_crash.py).
CHECKPOINTS = ("committed", "fetched", "merge-started", "merge-settled", "before-push", "pushed")


def checkpoint(name: str) -> None:
    """``KBAPP_SYNC_CRASH_AT=<name>`` kills this process and its git children at that point,
    as a power cut would: how the tests prove that the next sync repairs and resumes."""
    if os.environ.get("KBAPP_SYNC_CRASH_AT") == name:
        if os.getpgrp() == os.getpid():  # a process group of our own: take git down with us
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


def backup(git: Git, commit: str, reason: str) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    ref = f"{BACKUP_PREFIX}{stamp}-{reason}"
    git.run("update-ref", ref, commit)
    return ref


def keep(git: Git, commit: str, reason: str) -> str:
    """Like :func:`backup`, under :data:`KEPT_PREFIX`: never pruned."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    ref = f"{KEPT_PREFIX}{stamp}-{reason}"
    git.run("update-ref", ref, commit)
    return ref


def backups(git: Git) -> list[tuple[str, dt.datetime]]:
    out = []
    for name, _ in git.refs(BACKUP_PREFIX):
        stamp = name[len(BACKUP_PREFIX):].split("-", 1)[0]
        try:
            when = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.timezone.utc)
        except ValueError:
            continue
        out.append((name, when))
    return out


def prune_backups(git: Git, days: int = BACKUP_DAYS) -> None:
    limit = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    old = [name for name, when in backups(git) if when < limit]
    if old:
        git.run("update-ref", "--stdin", input="".join(f"delete {name}\n" for name in old))


def load_state(ws: Workspace) -> dict[str, Any]:
    return load_json(ws.data_dir / STATE_FILE)


def load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def save_state(ws: Workspace, *, offline: bool, synced: bool = False) -> None:
    state = load_state(ws)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    state["offline"] = offline
    if not offline:
        state["last_contact"] = now
    if synced:
        state["last_sync"] = now
    atomic_write(ws.data_dir / STATE_FILE, json.dumps(state, indent=2).encode("utf-8"),
                 durable=False)


def write_state(ws: Workspace, name: str, data: dict[str, Any]) -> None:
    atomic_write(ws.data_dir / f"{name}.json", json.dumps(data).encode("utf-8"))


def remove_state(ws: Workspace, name: str) -> None:
    (ws.data_dir / f"{name}.json").unlink(missing_ok=True)
