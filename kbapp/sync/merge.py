"""The merge step of a sync: bring the shared branch in (fast-forward, or a merge kbapp
commits itself), settle what git could not merge without ever leaving markers in a file
(conflicts kept aside, :mod:`kbapp.sync.conflicts`), and roll a failed merge back.
Run by :func:`kbapp.sync.sync.sync` under the write lock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kbapp.errors import KbError, SyncError
from kbapp.fsutil import atomic_write, is_disk_full, low_space
from kbapp.sync import changes, mergedriver, recovery
from kbapp.sync import conflicts as conflict_store
from kbapp.sync.git import Git
from kbapp.sync.report import Change
from kbapp.trust import policy

if TYPE_CHECKING:
    from kbapp.workspace import Workspace


def _integrate(ws: Workspace, remote: str, branch: str, upstream: str) -> list[Change]:
    """Bring ``upstream`` in: fast-forward, or a merge kbapp commits itself. Returns the
    documents that met a conflict (kept provisionally, see :mod:`kbapp.sync.conflicts`)."""
    git = ws.git
    head = git.head()
    if head is None:
        git.run("reset", "-q", "--keep", upstream)
        return []
    if head == upstream or git.is_ancestor(upstream, head):
        return []
    if git.is_ancestor(head, upstream):
        recovery.begin_merge(ws, head, upstream, ff=True)
        try:
            git.run("merge", "-q", "--ff-only", upstream)
            _check_written(git)
        except KbError as exc:
            _roll_back(ws, exc)
        recovery.remove_state(ws, "merging")
        return []
    if git.run("merge-base", head, upstream, check=False).status != 0:
        raise SyncError(
            "The shared repository has a history unrelated to this knowledge base (it is "
            "another repository, or was re-created); nothing was changed here — check the "
            "remote's address",
            details=f"no common commit between {branch} ({head[:10]}) and {remote}/{branch} "
            f"({upstream[:10]})",
        )
    recovery.backup(git, head, "before-merge")
    recovery.begin_merge(ws, head, upstream)
    try:
        merged = git.run("merge", "--no-ff", "--no-commit", "--no-edit", upstream, check=False)
        if merged.status not in (0, 1):
            raise SyncError(
                "The other organisation's changes could not be merged",
                details=(merged.stderr or merged.stdout),
            )
        recovery.checkpoint("merge-started")
        met = _settle_unmerged(ws, head, upstream)
        recovery.checkpoint("merge-settled")
        _check_written(git)
        message = f"Merge: changes from the shared repository ({remote}/{branch})"
        git.commit([], message, trailers=ws.trailers(), allow_empty=True)
    except KbError as exc:
        _roll_back(ws, exc)
    recovery.remove_state(ws, "merging")
    return met


def _check_written(git: Git) -> None:
    """Every file the merge wrote is on disk exactly as git has it in the index: a write that
    a full disk cut short (git's own or the merge driver's) is found here, before anything is
    committed, never committed later as if it were the user's edit."""
    short = git.diff_names(renames=True)
    if short:
        raise SyncError(
            "A file of the merge was not written completely: " + ", ".join(short[:5]),
            details="work tree differs from the merged index: " + ", ".join(short),
        )


def _roll_back(ws: Workspace, exc: KbError) -> None:
    """A merge that failed part-way is undone at once (the repair of an interrupted merge:
    hand edits saved first and put back); raises the error to show. When even that fails (the
    disk is still full) the merge state stays and the next sync or start undoes it first:
    nothing half-written is ever committed."""
    text = f"{exc}\n{getattr(exc, 'details', '')}"
    full = is_disk_full(text) or low_space(ws.root)
    why = " (the disk is full)" if full else ""
    try:
        recovery.repair(ws)
    except KbError as second:
        raise SyncError(
            f"The other organisation's changes could not be merged{why}; the half-done merge "
            "is undone at the next sync or start (nothing is lost)"
            + (" — free some space first" if full else ""),
            details=f"{text}\n{second}\n{getattr(second, 'details', '')}",
        ) from None
    raise SyncError(
        f"The other organisation's changes could not be merged{why}; nothing was changed here"
        + (" — free some space and sync again" if full else ""),
        details=text,
    ) from None


def _settle_unmerged(ws: Workspace, head: str, upstream: str) -> list[Change]:
    """Give every path git left unmerged a marker-free version, keeping the others aside;
    returns the conflicts met."""
    git = ws.git
    out = git.run("ls-files", "-u", "-z", strip=False).stdout
    stages: dict[str, dict[int, str]] = {}
    for item in out.split("\0"):
        if not item:
            continue
        info, path = item.split("\t", 1)
        _mode, sha, stage = info.split()
        stages.setdefault(path, {})[int(stage)] = sha
    if not stages:
        return []
    authors = changes.last_authors(ws, f"{head}..{upstream}")
    met: list[Change] = []
    to_add: list[str] = []
    to_remove: list[str] = []
    for path, blobs in sorted(stages.items()):
        base = git.read_blob(blobs[1]) if 1 in blobs else None
        mine = _side(git, blobs.get(2), head, path)
        theirs = _side(git, blobs.get(3), upstream, path)
        full = ws.full_path(path)  # never written through a symbolic link (or into .git)
        author, org = authors.get(path, ("", ""))
        if mine is not None and theirs is not None:
            result = mergedriver.merge(base, mine, theirs, path)
            atomic_write(full, _without_markers(result.mine, result.theirs, mine, theirs))
            to_add.append(path)
            if not result.clean:
                conflict_store.record(
                    ws,
                    path,
                    base=base,
                    mine=mine,
                    theirs=theirs,
                    theirs_merged=result.theirs,
                    fields=result.conflicts,
                    their_author=author,
                    their_org=org,
                )
                met.append(Change(path, changes.title_of(ws, path), author, org, "conflict"))
        elif mine is not None or theirs is not None:
            kept = mine if mine is not None else theirs
            assert kept is not None
            if base is not None and kept == base:  # unchanged on one side, deleted on the other
                full.unlink(missing_ok=True)
                to_remove.append(path)
                continue
            atomic_write(full, kept)
            to_add.append(path)
            conflict_store.record(
                ws,
                path,
                base=base,
                mine=mine,
                theirs=theirs,
                theirs_merged=theirs,
                fields=["deleted"],
                their_author=author,
                their_org=org,
            )
            met.append(Change(path, changes.title_of(ws, path), author, org, "conflict"))
        else:
            full.unlink(missing_ok=True)
            to_remove.append(path)
    if to_add:
        git.run(
            "add",
            "-f",
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
            input="".join(p + "\0" for p in to_add),
        )
    if to_remove:
        git.run(
            "rm",
            "-q",
            "--cached",
            "--ignore-unmatch",
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
            input="".join(p + "\0" for p in to_remove),
        )
    return met


def _side(git: Git, blob: str | None, commit: str, path: str) -> bytes | None:
    """One side's text of an unmerged path. For rename/add and rename/rename conflicts git
    stores a two-way merge *with markers* as the stage; the side's real file at that path in
    its commit is used instead when there is one."""
    if blob is None:
        return None
    data = git.read_blob(blob)
    if data is not None and _has_marker(data):
        real = git.read_blob(f"{commit}:{path}")
        if real is not None:
            return real
    return data


def _without_markers(*candidates: bytes | None) -> bytes:
    """The first candidate with no conflict marker (the provisional version is committed)."""
    present = [c for c in candidates if c is not None]
    return next((c for c in present if not _has_marker(c)), present[0])


def _has_marker(data: bytes) -> bool:
    return policy.conflict_marker_line(data.decode("utf-8", errors="replace")) is not None
