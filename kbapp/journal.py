"""The write journal: what a kbapp killed mid-write leaves behind, and how the next start repairs it.

Every write that ends in a commit (a save, an import) runs inside :func:`pending_commit`: a small
journal (``.git/kbapp/pending.json``) names the paths and the commit message before the first
byte is written, and is removed once the commit exists. Files themselves are written atomically
(:func:`kbapp.fsutil.atomic_write`), so each one is either old or new, never half.

When kbapp is killed (power cut, SIGKILL, a full disk mid-commit) the journal stays. The next
:meth:`~kbapp.workspace.Workspace.open` calls :func:`repair`, which, holding the write lock
(so never while another kbapp is still writing):

1. removes lock files git left (``index.lock``, ``HEAD.lock``, ``refs/**.lock``) once no git
   process is finishing them;
2. removes temporaries of interrupted atomic writes (``.name.XXXX.kbtmp``) in the folders named;
3. commits what had been written but not committed yet, so that every saved edit ends up in a
   commit, as if the save had finished.

A save whose commit failed (git refused it: a hook, a lock) keeps its record, marked
``failed``: the file is saved, its commit is pending, and the next save (:func:`finish`) or
sync commits it. The journal holds a list of such records, oldest first.

A repository kbapp cannot write to (a read-only share) is opened without repairs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kbapp.errors import KbError, SaveError
from kbapp.fsutil import atomic_write

if TYPE_CHECKING:
    from kbapp.git import Git
    from kbapp.workspace import Workspace

log = logging.getLogger(__name__)

JOURNAL_NAME = "pending.json"
#: How long to wait for a git process that outlived its kbapp to finish with its lock files.
GIT_LOCK_GRACE_S = 2.0


def journal_path(workspace: Workspace) -> Path:
    return workspace.data_dir / JOURNAL_NAME


@contextlib.contextmanager
def pending_commit(
    workspace: Workspace, paths: Sequence[str], message: str, *, kind: str = "save"
) -> Iterator[None]:
    """Record that ``paths`` are about to be written and committed with ``message``.

    Call with the write lock held. The record is removed when the block finishes, and also
    when a :class:`SaveError` shows nothing was written. A failed commit leaves it marked
    ``failed`` (the next save or sync commits it, see :func:`finish`); a death leaves it for
    :func:`repair` to finish the commit at the next start."""
    journal = journal_path(workspace)
    try:
        records = _read_records(journal)
    except ValueError:  # a journal cut short: its write had not started
        records = []
    record = {"kind": kind, "pid": os.getpid(), "message": message, "paths": list(paths),
              "started": time.time()}
    _write_records(journal, [*records, record])
    try:
        yield
    except SaveError as exc:
        if not (exc.written or exc.unfinished):
            _forget(journal, record)
        raise
    except BaseException:
        _forget(journal, record, keep_as={**record, "failed": True})
        raise
    _forget(journal, record)


def pending_paths(workspace: Workspace) -> list[str]:
    """The paths earlier saves wrote but did not commit (their commit failed, or kbapp died)."""
    try:
        records = _read_records(journal_path(workspace))
    except ValueError:
        return []
    return list(dict.fromkeys(str(p) for record in records for p in record.get("paths", [])))


def finish(workspace: Workspace) -> list[str]:
    """Commit, oldest first, what earlier saves wrote but did not commit; returns the new
    commit ids. A commit that fails again raises its error and stays pending with the ones
    after it. Call with the write lock held."""
    journal = journal_path(workspace)
    try:
        records = _read_records(journal)
    except ValueError:
        _remove(journal)
        return []
    commits: list[str] = []
    while records:
        record = records[0]
        message = str(record.get("message") or "Save")
        if not record.get("failed"):
            message += "\n\n(finished by kbapp after an interruption)"
        commit = workspace.git.commit([str(p) for p in record.get("paths", [])], message,
                                      trailers=workspace.trailers())
        if commit:
            commits.append(commit)
        records.pop(0)
        if records:
            _write_records(journal, records)
        else:
            _remove(journal)
    return commits


def repair(workspace: Workspace) -> list[str]:
    """Finish what an interrupted kbapp left; returns what was done, in words (empty when
    there was nothing to do, the usual case, which costs one ``stat``)."""
    journal = journal_path(workspace)
    if not journal.exists():
        return []
    try:
        with workspace.git.write_lock(timeout=0.5):
            return _repair_locked(workspace, journal)
    except KbError as exc:  # another kbapp is writing right now, or the folder is read-only
        log.info("no repair of %s now: %s", workspace.root, exc)
        return []


def _repair_locked(workspace: Workspace, journal: Path) -> list[str]:
    try:
        records = _read_records(journal)
    except ValueError:  # a journal cut short: the write had not started
        _remove(journal)
        return ["removed an unreadable journal of an interrupted write"]
    paths = list(dict.fromkeys(str(p) for record in records for p in record.get("paths", [])))
    done: list[str] = []
    removed_locks = _remove_git_locks(workspace.git)
    if removed_locks:
        done.append("removed git lock files left by an interrupted commit: " + ", ".join(removed_locks))
    folders = {str(Path(p).parent) for p in paths}
    for folder in sorted(folders):
        full = workspace.root / folder
        if full.is_dir():
            for tmp in _stale_temporaries(full):
                done.append(f"removed temporary file {tmp.relative_to(workspace.root)}")
    if not workspace.identity.known:
        done.append(f"{len(paths)} saved path(s) are not committed yet: kbapp does not know "
                    "who you are; the next save or sync commits them")
        return done
    try:
        commits = finish(workspace)
    except KbError as exc:
        log.warning("could not finish the interrupted commit in %s: %s", workspace.root, exc)
        done.append(f"could not finish the interrupted commit yet: {exc}")
        return done
    if commits:
        done.append(f"committed {len(paths)} path(s) an interrupted kbapp had written "
                    f"({', '.join(c[:10] for c in commits)})")
    return done


def _read_records(journal: Path) -> list[dict[str, Any]]:
    """The journal's records, oldest first ([] without a journal); ValueError when it is
    unreadable. One record (a dict) is what kbapp wrote before it kept several."""
    try:
        raw = json.loads(journal.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ValueError(str(exc)) from None
    records = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(r, dict) and isinstance(r.get("paths", []), list) for r in records):
        raise ValueError("not a list of records")
    return records


def _write_records(journal: Path, records: list[dict[str, Any]]) -> None:
    atomic_write(journal, json.dumps(records).encode("utf-8"))


def _forget(journal: Path, record: dict[str, Any],
            keep_as: dict[str, Any] | None = None) -> None:
    """Remove ``record`` from the journal (or replace it by ``keep_as``)."""
    try:
        records = _read_records(journal)
    except ValueError:
        records = []
    rest = [r for r in records if r != record]
    if keep_as is not None:
        rest = [keep_as if r == record else r for r in records]
    if rest:
        _write_records(journal, rest)
    else:
        _remove(journal)


def _stale_temporaries(folder: Path) -> list[Path]:
    found = []
    for tmp in folder.glob(".*.kbtmp"):
        try:
            tmp.unlink()
            found.append(tmp)
        except OSError:
            pass
    return found


def _remove_git_locks(git: Git) -> list[str]:
    """Remove lock files an interrupted git left, after giving a git process that outlived its
    kbapp a moment to finish (it holds no kbapp lock, so only time tells)."""
    deadline = time.monotonic() + GIT_LOCK_GRACE_S
    while (git.git_dir / "index.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return git.remove_stale_locks(older_than=GIT_LOCK_GRACE_S)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass

