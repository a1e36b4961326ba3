"""Conflicts that sync could not settle by meaning, kept aside until a person decides.

The mechanism (chosen so that a conflict never blocks the rest of the knowledge base and no
marker is ever committed):

- When both organisations changed the same part of a document, sync writes a **provisional
  version** to the file and commits it with the merge: the complete merge of both sides in
  which *mine* wins where they disagree (:attr:`kbapp.sync.mergedriver.MergeResult.mine`). It has
  no conflict markers; every other document syncs normally and the merge is pushed.
- The other versions are kept in the repository under ``refs/kbapp/conflicts/<hash of the
  path>``: a commit (so git never garbage-collects it) whose tree holds ``base``, ``mine`` and
  ``theirs`` (the two sides as they were), ``theirs-merged`` (the complete merge in which
  *theirs* wins) and ``record.json`` (path, title, conflicting fields, who made the other
  change, when). These refs are local to the clone that met the conflict; they are not pushed.
- A document changed on one side and deleted (or renamed away) on the other keeps the changed
  version in the tree, and the record says which side deleted it.
- ``kbapp conflicts`` / :func:`list_conflicts` show them; ``kbapp resolve PATH --mine |
  --theirs | --file F`` / :func:`resolve` saves the chosen text as a normal commit
  (``Resolve: <title>``), which the next sync publishes, and drops the ref. *Mine* is the
  file as it is now (the provisional version, or what the user saved since); *theirs* is the
  merge in which the other side wins, so choosing it keeps the non-conflicting changes of
  both sides.

Nothing is lost either way: both sides' commits stay in history, and the refs hold the texts.

Before a person decides, :func:`propose` prepares what the window's conflicts view shows: the
merge by meaning as the proposed text, which lines differ on each side, and where to look
first; the same for unsaved editor text meeting what a sync wrote.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kbapp.documents import model as documents
from kbapp.errors import KbError
from kbapp.sync import mergedriver
from kbapp.trust import policy

if TYPE_CHECKING:
    from kbapp.workspace import Workspace
    from kbapp.workspace_save import SaveResult

PREFIX = "refs/kbapp/conflicts/"


@dataclass
class Conflict:
    """One document waiting for a decision. Texts are complete documents (never markers)."""

    path: str
    title: str
    mine: str  # the file as it is now ("" when mine deleted it: see mine_deleted)
    theirs: str  # the merge where theirs wins ("" when theirs deleted it)
    base: str  # the common ancestor ("" when both sides added the file)
    fields: list[str] = field(default_factory=list)  # "status", "review.interval_days", "body"
    mine_deleted: bool = False
    theirs_deleted: bool = False
    their_author: str = ""
    their_org: str = ""
    created: str = ""  # ISO time the conflict was met
    ref: str = ""

    @property
    def summary(self) -> str:
        if self.mine_deleted:
            return "you deleted it, the other side changed it"
        if self.theirs_deleted:
            return "the other side deleted or moved it, you changed it"
        return "both changed " + ", ".join(self.fields or ["it"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "title": self.title,
            "fields": self.fields,
            "summary": self.summary,
            "mine_deleted": self.mine_deleted,
            "theirs_deleted": self.theirs_deleted,
            "their_author": self.their_author,
            "their_org": self.their_org,
            "created": self.created,
            "ref": self.ref,
            "mine": self.mine,
            "theirs": self.theirs,
            "base": self.base,
        }


def ref_for(path: str) -> str:
    return PREFIX + hashlib.sha1(path.encode("utf-8")).hexdigest()[:20]


def record(
    ws: Workspace,
    path: str,
    *,
    base: bytes | None,
    mine: bytes | None,
    theirs: bytes | None,
    theirs_merged: bytes | None,
    fields: list[str],
    their_author: str = "",
    their_org: str = "",
) -> str:
    """Keep the versions of a conflicting document under its ref; returns the ref."""
    git = ws.git
    text = mine if mine is not None else theirs
    title = _title(path, text) if text is not None else path
    info = {
        "path": path,
        "title": title,
        "fields": fields,
        "mine_deleted": mine is None,
        "theirs_deleted": theirs is None,
        "their_author": their_author,
        "their_org": their_org,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    entries = {"record.json": json.dumps(info, indent=2).encode("utf-8")}
    for name, data in (
        ("base", base),
        ("mine", mine),
        ("theirs", theirs),
        ("theirs-merged", theirs_merged),
    ):
        if data is not None:
            entries[name] = data
    listing = "".join(
        f"100644 blob {git.write_blob(data)}\t{name}\n" for name, data in sorted(entries.items())
    )
    tree = git.out("mktree", input=listing)
    commit = git.out("commit-tree", tree, "-m", f"kbapp conflict: {path}")
    ref = ref_for(path)
    git.run("update-ref", ref, commit)
    return ref


def conflict_refs(ws: Workspace) -> list[str]:
    """The refs of the conflicts waiting (cheap: one git call)."""
    return [name for name, _ in ws.git.refs(PREFIX)]


def list_conflicts(ws: Workspace) -> list[Conflict]:
    """Every conflict waiting in this clone, by path."""
    found = [_load(ws, ref) for ref in conflict_refs(ws)]
    return sorted((c for c in found if c is not None), key=lambda c: c.path)


def get(ws: Workspace, path: str) -> Conflict | None:
    return _load(ws, ref_for(path))


def conflict_paths(ws: Workspace) -> list[str]:
    return [c.path for c in list_conflicts(ws)]


def _load(ws: Workspace, ref: str) -> Conflict | None:
    git = ws.git
    raw = git.read_blob(f"{ref}:record.json")
    if raw is None:
        return None
    try:
        info = json.loads(raw)
    except ValueError:
        return None
    path = str(info.get("path", ""))
    current = ws.root / path
    # mine deleted it (the tree keeps theirs until the user decides), or deleted it since
    mine_deleted = bool(info.get("mine_deleted")) or not current.is_file()
    mine_text = ""
    if not mine_deleted:
        mine_text = current.read_bytes().decode("utf-8", errors="replace")
    theirs = git.read_blob(f"{ref}:theirs-merged") or git.read_blob(f"{ref}:theirs")
    base = git.read_blob(f"{ref}:base")
    return Conflict(
        path=path,
        title=str(info.get("title") or path),
        mine=mine_text,
        theirs=(theirs or b"").decode("utf-8", errors="replace"),
        base=(base or b"").decode("utf-8", errors="replace"),
        fields=[str(f) for f in info.get("fields", [])],
        mine_deleted=mine_deleted,
        theirs_deleted=bool(info.get("theirs_deleted")),
        their_author=str(info.get("their_author", "")),
        their_org=str(info.get("their_org", "")),
        created=str(info.get("created", "")),
        ref=ref,
    )


def resolve(ws: Workspace, path: str, *, text: str | None) -> SaveResult:
    """Settle the conflict on ``path`` with ``text`` (None deletes the document), as a normal
    commit ``Resolve: <title>`` that passes the commit policy (no markers, sensitivity)."""
    from kbapp.workspace_save import SaveResult

    conflict = get(ws, path)
    if conflict is None:
        waiting = conflict_paths(ws)
        hint = f"; waiting: {', '.join(waiting)}" if waiting else ""
        raise KbError(f"no conflict is waiting for {path}{hint}")
    ws.require_identity()
    with ws.git.write_lock():
        doc = documents.parse(text.encode("utf-8"), path) if text is not None else None
        ws.expect_committed(
            path,
            doc,
            f"Could not resolve {path}: it has an edit on disk made after the conflict was "
            "kept, in no commit; nothing was written. Keep the file as it is now (--mine), or "
            "put that edit into the text you choose, then resolve again.",
        )
        if doc is None:
            full = ws.full_path(path)
            if full.exists():
                full.unlink()
            commit = ws.git.commit(
                [path], f"Resolve: {conflict.title} (deleted)", trailers=ws.trailers()
            )
            changes = ws.refresh_paths([path])
            result = SaveResult(path, commit, changes)
        else:
            result = ws.save(doc, message=f"Resolve: {doc.title}")
        ws.git.run("update-ref", "-d", conflict.ref)
    return result


def _title(path: str, data: bytes) -> str:
    try:
        return documents.parse(data, path).title
    except KbError:
        return path


@dataclass
class Proposal:
    """One document to decide on, prepared: the three texts, the merged text proposed (the
    merge by meaning; what git could not merge still has markers) and the differences."""

    path: str
    title: str
    mine: str
    theirs: str
    base: str
    merged: str
    conflicting: list[str]  # what is still conflicting in ``merged`` ("body", "status", ...)
    mine_changed: list[int] = field(default_factory=list)  # 0-based lines not in theirs
    theirs_changed: list[int] = field(default_factory=list)  # 0-based lines not in mine
    base_changed: list[int] = field(default_factory=list)  # 0-based lines either side changed

    @property
    def first_line(self) -> int:
        """The 0-based line of ``merged`` to show first: its first conflict marker, else the
        first line either side changed."""
        marker = policy.conflict_marker_line(self.merged)
        if marker:
            return marker - 1
        return self.base_changed[0] if self.base_changed else 0


def propose(path: str, title: str, mine: str, theirs: str, base: str) -> Proposal:
    """Merge by meaning what can be merged and find what differs (slow: git merge-file, run
    it on a worker)."""
    result = mergedriver.merge(
        base.encode("utf-8") if base else None, mine.encode("utf-8"), theirs.encode("utf-8"), path
    )
    return Proposal(
        path,
        title,
        mine,
        theirs,
        base,
        result.text.decode("utf-8", "replace"),
        list(result.conflicts),
        changed_lines(mine, theirs),
        changed_lines(theirs, mine),
        sorted(set(changed_lines(base, mine)) | set(changed_lines(base, theirs))),
    )


def proposals(ws: Workspace) -> list[Proposal]:
    """Every conflict waiting in this clone, prepared (:func:`propose`)."""
    return [propose(c.path, c.title, c.mine, c.theirs, c.base) for c in list_conflicts(ws)]


def changed_lines(text: str, other: str) -> list[int]:
    """0-based lines of ``text`` that are not in ``other`` (by a line diff)."""
    lines: list[int] = []
    matcher = difflib.SequenceMatcher(None, text.split("\n"), other.split("\n"), autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag != "equal":
            lines.extend(range(i1, i2))
    return lines


def unresolved(text: str) -> str | None:
    """Why ``text`` cannot be taken as the resolution yet (a conflict marker left), or None."""
    marker = policy.conflict_marker_line(text)
    if marker is None:
        return None
    return f"Line {marker} still has a conflict marker; choose what stays."
