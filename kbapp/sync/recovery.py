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

from kbapp.errors import KbError, SyncError
from kbapp.fsutil import atomic_write
from kbapp.sync.git import Git

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
    ws.git.ensure_config(
        {
            "merge.kbapp.name": "kbapp: front matter by meaning, body by lines",
            "merge.kbapp.driver": driver_command(),
        }
    )
    lock = ws.git.write_lock(timeout=0)
    try:
        lock.__enter__()
    except SyncError:  # another kbapp holds the lock: it is alive, leave its work alone
        return []
    try:
        return repair(ws)
    except KbError as exc:
        # A full disk, say: the knowledge base still opens (reading a runbook must work during
        # an incident); sync runs the repair again first and stops there if it still fails.
        return [f"could not finish a repair yet: {exc}"]
    finally:
        lock.__exit__(None, None, None)


def repair(ws: Workspace) -> list[str]:
    """Undo what a killed git or kbapp left behind; returns what was done, in sentences.
    Call with the write lock held.

    Work that is not in a commit is never discarded: the whole work tree is saved in a
    snapshot commit first (kept under :data:`KEPT_PREFIX`, never pruned, when it holds hand
    edits), the half-done operation is undone, then every hand edit is put back
    (:func:`_put_back`), a conflict half-resolved by hand and a file the merge created and the
    user then edited included; only what the operation itself wrote is dropped (the next sync
    writes it again), and when an edit cannot be put back (a rebase's, a full disk) the
    sentence names the file and the ref that keeps it."""
    git = ws.git
    done: list[str] = []
    removed = git.remove_stale_locks()
    if removed:
        done.append("removed stale git lock files: " + ", ".join(removed))
    ours = load_json(ws.data_dir / "merging.json")
    if (
        ours.get("ff")
        and ours.get("upstream")
        and git.head() == ours["upstream"]
        and not _dirty(
            git, ours["upstream"], _touched(git, str(ours["head"]), str(ours["upstream"]))
        )
    ):
        ours = {"ff": True}  # the fast-forward finished, files and all
    if ours.get("head") and git.head() in (
        ours["head"],
        ours.get("upstream") if ours.get("ff") else None,
    ):
        # Our own integration was cut off (kbapp writes this file just before it starts and
        # removes it once the merge is committed). The work tree matched HEAD when it began
        # (pending work is committed first, under the same lock), so what differs now is a
        # partial merge, plus whatever the user edited since.
        head = str(ours["head"])
        upstream = str(ours.get("upstream") or "")
        touched = _touched(git, head, upstream) | _staged(git)
        # Files the merge itself created: new in the incoming tree and not on disk before it
        # began. 'git reset --hard' leaves them (untracked to HEAD); a piece of one left there
        # would be committed by the next sync as if the user had written it.
        present = {str(p) for p in ours.get("present") or []}
        created = (_added(git, head, upstream) & touched) - present
        snapshot = git.snapshot("kbapp backup before undoing an interrupted sync merge")
        git.run("merge", "--abort", check=False)
        git.run("reset", "-q", "--hard", head)  # raises on failure: the state file stays
        ref, note, restored = _put_back(
            git, snapshot, head, touched, upstream, "interrupted-sync", created
        )
        _check_clean(git, head, touched - set(restored), created - set(restored))
        remove_state(ws, "merging")
        done.append(
            f"undid a sync that was interrupted while merging (the state before is kept "
            f"as {ref}){note}; the next sync does it again"
        )
    elif ours:
        remove_state(ws, "merging")  # the merge was committed before the interruption
    operation = git.unfinished_operation()
    if operation:
        before = git.head() or ""
        other = git.rev("MERGE_HEAD") or git.rev("CHERRY_PICK_HEAD") or git.rev("REVERT_HEAD")
        touched = _staged(git) | (_touched(git, before, other) if before and other else set())
        snapshot = git.snapshot(f"kbapp backup before aborting an unfinished {operation}")
        if operation == "unmerged":
            git.run("reset", "-q", check=False)
        else:
            command = {
                "rebase": "rebase",
                "merge": "merge",
                "cherry-pick": "cherry-pick",
                "revert": "revert",
            }[operation]
            aborted = git.run(command, "--abort", check=False)
            if aborted.status != 0:
                git.run("reset", "-q", "--merge", check=False)
        after = git.head() or before
        if after != before:  # a rebase went back to where it started
            touched |= _touched(git, after, before, direct=True)
        ref, note, _restored = _put_back(
            git,
            snapshot,
            after,
            touched,
            # A merge's own writes are told from the user's by comparing with its two sides
            # and its result; a cherry-pick's or revert's cannot be (another base).
            other if operation == "merge" and other and after == before else "",
            f"unfinished-{operation}",
            set(),
        )
        remove_state(ws, "merging")
        done.append(
            f"aborted an unfinished {operation} (the state before is kept as {ref})"
            f"{note}; the next sync does it again"
        )
    return done


def begin_merge(ws: Workspace, head: str, upstream: str, *, ff: bool = False) -> None:
    """Note, just before a sync integrates ``upstream`` into ``head``, what :func:`repair`
    needs to undo it: the two commits, and which of the paths the merge adds were on disk
    already (the user's own files, kept by a repair; any other file at such a path after a
    failed merge is the merge's own write, removed)."""
    present = sorted(p for p in _added(ws.git, head, upstream) if os.path.lexists(ws.root / p))
    data: dict[str, Any] = {"head": head, "upstream": upstream, "present": present}
    if ff:
        data["ff"] = True
    write_state(ws, "merging", data)


def _added(git: Git, head: str, other: str) -> set[str]:
    """Paths ``other``'s tree has and ``head``'s has not (what integrating it creates)."""
    if not other or not head:
        return set()
    return set(git.diff_names(head, other, diff_filter="A"))


def _touched(git: Git, head: str, other: str | None, *, direct: bool = False) -> set[str]:
    """Paths an integration of ``other`` into ``head`` writes (what ``other`` changed since
    their common ancestor; ``direct``: what differs between the two)."""
    if not other or not head:
        return set()
    base = head if direct else git.run("merge-base", head, other, check=False).stdout.strip()
    if not base:
        base = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # the empty tree
    return set(git.diff_names(base, other))


def _staged(git: Git) -> set[str]:
    """Paths the index holds differently from HEAD (what a half-done operation wrote)."""
    paths = set(git.diff_names(cached=True))
    unmerged = git.run(
        "-c", "core.quotepath=off", "ls-files", "-u", "-z", check=False, strip=False
    ).stdout
    paths |= {item.split("\t", 1)[1] for item in unmerged.split("\0") if "\t" in item}
    return paths


def _put_back(
    git: Git,
    snapshot: str,
    head: str,
    touched: set[str],
    upstream: str,
    reason: str,
    created: set[str],
) -> tuple[str, str, list[str]]:
    """Put every hand edit of ``snapshot`` (the work tree before the repair) back on disk.
    A path the interrupted operation wrote (``touched``) comes back unless its content is
    something the operation itself produced (a copy of a side, a merge result, a piece of
    one: a write cut off by a crash or a full disk); with markers still in it, the report says
    so. A file the merge created (``created``: new in the incoming tree, absent before the
    merge) is removed (the reset leaves it) unless the user edited it since. Without
    ``upstream`` (a rebase or cherry-pick: nothing to tell its writes from the user's) the
    paths it wrote stay in the snapshot, named in the report.
    Returns (the ref keeping the snapshot, a sentence fragment for the report, the paths
    put back)."""
    out = git.run(
        "-c",
        "core.quotepath=off",
        "diff",
        "--name-status",
        "-z",
        "--no-renames",
        head,
        snapshot,
        check=False,
        strip=False,
    ).stdout.split("\0")
    changes = [(out[i], out[i + 1]) for i in range(0, len(out) - 1, 2) if out[i]]
    restored: list[str] = []
    kept: list[str] = []
    marked: list[str] = []
    for status, path in changes:
        name = path.rsplit("/", 1)[-1]
        if name.startswith(".merge_file_") or name.endswith(".kbtmp"):
            continue
        data = None if status == "D" else git.read_blob(f"{snapshot}:{path}")
        if path in touched:
            if not upstream:  # a rebase, a cherry-pick: which write is the user's is unknown
                kept.append(path)
                continue
            if _artefact(git, data, path, head, upstream):
                continue  # the operation's own (partial) write: the next sync merges again
            # Anything else is the user's: put back, even a file the merge created (then the
            # user's own new file) or a conflict half-resolved by hand (markers and all: sync
            # refuses to commit it until it is resolved, naming the file).
            if data is not None and _has_marker(data):
                marked.append(path)
        full = git.root / path
        try:
            if data is None:
                full.unlink(missing_ok=True)
            else:
                atomic_write(full, data)
        except (OSError, KbError):
            kept.append(path)
            continue
        restored.append(path)
    for path in sorted(created - set(restored)):
        _remove(git.root, path)
    if not restored and not kept:
        return backup(git, snapshot, reason), "", []
    ref = keep(git, snapshot, reason)
    note = ""
    if restored:
        note += f"; your uncommitted changes to {', '.join(restored)} are back on disk"
    if marked:
        note += (
            f" ({', '.join(marked)} still with conflict markers: finish resolving "
            f"{'it' if len(marked) == 1 else 'them'}, then sync)"
        )
    if kept:
        note += (
            f"; your version of {', '.join(kept)} at the time is kept there ('git show {ref}:PATH')"
        )
    return ref, note, restored


def _remove(root: Path, path: str) -> None:
    """Delete a file the undone merge created, and the folders it made for it that are now
    empty. A file that cannot be deleted stops the repair (the state stays; tried again)."""
    full = root / path
    try:
        full.unlink(missing_ok=True)
    except OSError as exc:
        raise SyncError(
            f"Could not undo the interrupted merge completely ({path}: "
            f"{exc.strerror or exc}); nothing is lost, kbapp tries again at the next start or sync"
        ) from None
    parent = full.parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


def _artefact(git: Git, data: bytes | None, path: str, head: str, upstream: str) -> bool:
    """Whether ``data`` (a file after an interrupted merge) is the merge's own doing: one side,
    the merge result (with or without markers), or a piece of one of those."""
    if data is None:
        return True  # git deletes a file the other side deleted
    from kbapp.sync import mergedriver

    mine = git.read_blob(f"{head}:{path}")
    theirs = git.read_blob(f"{upstream}:{path}")
    candidates = [c for c in (mine, theirs) if c is not None]
    if mine is not None and theirs is not None:
        base_commit = git.run("merge-base", head, upstream, check=False).stdout.strip()
        base = git.read_blob(f"{base_commit}:{path}") if base_commit else None
        try:
            result = mergedriver.merge(base, mine, theirs, path)
            candidates += [result.text, result.mine, result.theirs]
        except Exception:  # noqa: BLE001 - only a hint; keep the file aside when unsure
            return True
    return any(candidate.startswith(data) for candidate in candidates)


def _dirty(git: Git, commit: str, paths: set[str]) -> list[str]:
    """Which of ``paths`` differ on disk from ``commit``."""
    if not paths:
        return []
    return git.diff_names(commit, renames=True, paths=sorted(paths))


def _has_marker(data: bytes) -> bool:
    from kbapp.trust import policy

    return policy.conflict_marker_line(data.decode("utf-8", errors="replace")) is not None


def _check_clean(git: Git, head: str, touched: set[str], created: set[str]) -> None:
    """After undoing a merge, every path it wrote is as HEAD has it and every file it created
    is gone (a reset that a full disk cut short raises here, and the repair is tried again
    next time)."""
    left = _dirty(git, head, touched)
    left += sorted(p for p in created if os.path.lexists(git.root / p) and p not in left)
    if left:
        raise SyncError(
            f"Could not undo the interrupted merge completely ({', '.join(left)}); "
            "nothing is lost, kbapp tries again at the next start or sync"
        )


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
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    ref = f"{BACKUP_PREFIX}{stamp}-{reason}"
    git.run("update-ref", ref, commit)
    return ref


def keep(git: Git, commit: str, reason: str) -> str:
    """Like :func:`backup`, under :data:`KEPT_PREFIX`: never pruned."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    ref = f"{KEPT_PREFIX}{stamp}-{reason}"
    git.run("update-ref", ref, commit)
    return ref


def backups(git: Git) -> list[tuple[str, dt.datetime]]:
    out = []
    for name, _ in git.refs(BACKUP_PREFIX):
        stamp = name[len(BACKUP_PREFIX) :].split("-", 1)[0]
        try:
            when = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        out.append((name, when))
    return out


def prune_backups(git: Git, days: int = BACKUP_DAYS) -> None:
    limit = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
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
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    state["offline"] = offline
    if not offline:
        state["last_contact"] = now
    if synced:
        state["last_sync"] = now
    atomic_write(
        ws.data_dir / STATE_FILE, json.dumps(state, indent=2).encode("utf-8"), durable=False
    )


def write_state(ws: Workspace, name: str, data: dict[str, Any]) -> None:
    atomic_write(ws.data_dir / f"{name}.json", json.dumps(data).encode("utf-8"))


def remove_state(ws: Workspace, name: str) -> None:
    (ws.data_dir / f"{name}.json").unlink(missing_ok=True)
