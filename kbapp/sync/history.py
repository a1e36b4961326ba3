"""A document's history from git: its versions (following renames), any version's text, the
difference between two versions, and restoring an old version as a new commit.

Nothing here rewrites history: :func:`restore` saves the old text as a new version
(``Restore: <title>``), so the versions in between stay where they were.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kbapp.documents import model as documents
from kbapp.documents import renderdiff
from kbapp.errors import KbError

if TYPE_CHECKING:
    from kbapp.workspace import Workspace
    from kbapp.workspace_save import SaveResult


@dataclass
class Version:
    rev: str
    author: str
    email: str
    org: str
    date: dt.datetime
    message: str  # the commit's subject ("Update: Fail over the payments database")
    path: str  # where the document was at this version

    @property
    def when(self) -> str:
        """The date as the window and ``kbapp history`` show it (``2026-03-01 14:05``)."""
        return self.date.strftime("%Y-%m-%d %H:%M")

    @property
    def label(self) -> str:
        """When, who and which organisation: the heading of a version in a comparison."""
        return f"{self.when} · {self.author}" + (f" ({self.org})" if self.org else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "rev": self.rev,
            "author": self.author,
            "email": self.email,
            "org": self.org,
            "date": self.date.isoformat(),
            "message": self.message,
            "path": self.path,
        }


def document_path(ws: Workspace, ref: str) -> str:
    """The path of a document by id, path or title; a path no longer in the tree (a deleted
    document) is accepted when git knows it."""
    try:
        return ws.resolve(ref)
    except KbError:
        candidate = ref.strip().lstrip("./")
        if (
            candidate
            and ws.git.run(
                "--literal-pathspecs", "log", "-1", "--format=%H", "--", candidate, check=False
            ).stdout
        ):
            return candidate
        raise


def history(ws: Workspace, ref: str) -> list[Version]:
    """Every version of the document, newest first, following renames."""
    path = document_path(ws, ref)
    return [
        Version(
            c.rev,
            c.author,
            c.email,
            ws.config.commit_org(c.org_trailer, c.email),
            c.date,
            c.subject,
            c.path or path,
        )
        for c in ws.git.log(paths=[path], follow=True)
    ]


def _version(ws: Workspace, ref: str, rev: str) -> tuple[str, str]:
    """(full commit id, path at that commit) of ``rev`` for the document ``ref``."""
    full = ws.git.rev(rev)
    if full is None:
        raise KbError(f"{rev} is not a version in this knowledge base's history")
    versions = history(ws, ref)
    for version in versions:
        if version.rev == full:
            return full, version.path
    # not a commit that changed the document: the path it had then (the newest version before)
    for version in versions:
        if ws.git.is_ancestor(version.rev, full):
            return full, version.path
    return full, document_path(ws, ref)


def version_text(ws: Workspace, ref: str, rev: str) -> str:
    """The document's text at version ``rev``."""
    full, path = _version(ws, ref, rev)
    data = ws.git.read_blob(f"{full}:{path}")
    if data is None:
        raise KbError(f"{path} did not exist at version {rev}")
    return data.decode("utf-8", errors="replace")


def diff(ws: Workspace, ref: str, from_rev: str, to_rev: str) -> str:
    """A unified diff of the document between two versions (empty when they are the same)."""
    old_rev, old_path = _version(ws, ref, from_rev)
    new_rev, new_path = _version(ws, ref, to_rev)
    old = (ws.git.read_blob(f"{old_rev}:{old_path}") or b"").decode("utf-8", errors="replace")
    new = (ws.git.read_blob(f"{new_rev}:{new_path}") or b"").decode("utf-8", errors="replace")
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"{old_path}@{old_rev[:10]}",
        tofile=f"{new_path}@{new_rev[:10]}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass(frozen=True)
class Comparison:
    """Two versions of a document, ready to be shown: the unified diff, and on demand the
    rendered changes and the side-by-side view (HTML, :mod:`kbapp.documents.renderdiff`)."""

    path: str
    old_text: str  # "" when compared with nothing (the first version)
    new_text: str
    unified: str
    old_label: str
    new_label: str

    def rendered_html(self) -> str:
        """The new version rendered, changed blocks marked (slow: two renders)."""
        old = documents.parse(self.old_text.encode(), self.path).body if self.old_text else ""
        new = documents.parse(self.new_text.encode(), self.path).body
        return renderdiff.rendered_changes_html(
            renderdiff.rendered_changes(old, new), self.old_label, self.new_label
        )

    def side_by_side_html(self) -> str:
        """Both texts side by side, changed lines coloured and changed words marked."""
        return renderdiff.side_by_side_html(
            self.old_text, self.new_text, self.old_label, self.new_label
        )


def compare(
    ws: Workspace,
    ref: str,
    from_rev: str | None,
    to_rev: str,
    from_label: str = "",
    to_label: str = "",
) -> Comparison:
    """The document at ``from_rev`` (None: before its first version, so everything is new)
    and at ``to_rev``. Labels not given are the versions' :attr:`Version.label` (or the
    revision given)."""
    path = document_path(ws, ref)
    if not (to_label and (from_label or from_rev is None)):
        labels = {v.rev: v.label for v in history(ws, path)}
        to_label = to_label or labels.get(ws.git.rev(to_rev) or "", to_rev)
        if from_rev is not None:
            from_label = from_label or labels.get(ws.git.rev(from_rev) or "", from_rev)
    new = version_text(ws, path, to_rev)
    old = version_text(ws, path, from_rev) if from_rev else ""
    unified = (
        diff(ws, path, from_rev, to_rev)
        if from_rev
        else "\n".join("+" + line for line in new.split("\n"))
    )
    return Comparison(path, old, new, unified, from_label or "(nothing before)", to_label)


def restore(ws: Workspace, ref: str, rev: str) -> SaveResult:
    """Save version ``rev``'s text as the document's newest version (a new commit)."""
    full, old_path = _version(ws, ref, rev)
    data = ws.git.read_blob(f"{full}:{old_path}")
    if data is None:
        raise KbError(f"{old_path} did not exist at version {rev}")
    try:
        path = ws.resolve(ref)  # where the document is now (it may have moved since)
    except KbError:
        path = old_path  # a deleted document comes back where it was
    doc = documents.parse(data, path)
    ws.expect_committed(
        path,
        doc,
        f"Could not restore {path}: it has an edit on disk that is in no commit (saved by "
        "another program?); nothing was written. Commit it (kbapp sync) or undo it, then "
        "restore again.",
    )
    return ws.save(doc, message=f"Restore: {doc.title} (version {full[:10]})")
