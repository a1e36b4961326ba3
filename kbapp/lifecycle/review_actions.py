"""What a reviewer does to a document: mark it reviewed, send it back for changes, retire it,
and see what changed since it was last reviewed.

Each action is one commit with a message both organisations read in ``git log``:
``Review: <title>``, ``Needs changes: <title>``, ``Retire: <title>``, the reviewer's note or
the reason in the body. The front matter only holds what git
cannot derive (``review.last_reviewed``, ``review.reviewed_by``, ``status``).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kbapp.documents import model as documents
from kbapp.documents.render import render_markdown
from kbapp.documents.renderdiff import rendered_changes, rendered_changes_html
from kbapp.errors import KbError
from kbapp.sync.git import LogEntry
from kbapp.workspace import Workspace
from kbapp.workspace_save import SaveResult

if TYPE_CHECKING:
    from kbapp.catalog import Entry  # SQLAlchemy loads on first use, not at start-up
    from kbapp.lifecycle.review import ReviewItem


@dataclass(frozen=True)
class Commit:
    rev: str
    date: dt.datetime
    author: str
    email: str
    subject: str
    path: str = ""

    @property
    def short(self) -> str:
        return self.rev[:8]


@dataclass
class ReviewChanges:
    """What changed in a document since the commit that last reviewed it."""

    path: str
    #: The commit that last changed ``review.last_reviewed`` (None: never reviewed in git).
    reviewed_in: Commit | None
    #: Commits to the document after that one, newest first.
    commits: list[Commit] = field(default_factory=list)
    #: Unified diff from the reviewed version to the current file ("" when nothing changed).
    diff: str = ""
    #: What the front matter says: the review's date and reviewer. An import or a copy
    #: commits a date from long ago, so the commit's own date and author are not the review's.
    last_reviewed: dt.date | None = None
    reviewed_by: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.diff.strip())

    def reviewed_words(self) -> str:
        """When and by whom it was reviewed, in words: "2026-06-15 by Ana Ribeiro (4f1c2e9a)",
        or, when the commit only recorded an older date (an import), "2016-09-09, recorded in
        863a0b45 by Ana Ribeiro on 2026-11-30"."""
        rev = self.reviewed_in
        if rev is None:
            return "never"
        if self.last_reviewed is None or self.last_reviewed == rev.date.date():
            return f"{rev.date:%Y-%m-%d} by {rev.author} ({rev.short})"
        by = f" by {self.reviewed_by}" if self.reviewed_by else ""
        return (
            f"{self.last_reviewed.isoformat()}{by}, recorded in {rev.short} by {rev.author} "
            f"on {rev.date:%Y-%m-%d}"
        )


def _commit_message(verb: str, doc: documents.Document, body: str) -> str:
    text = f"{verb}: {doc.title}"
    if body.strip():
        text += "\n\n" + body.strip()
    return text


def mark_reviewed(
    workspace: Workspace,
    ref: str,
    *,
    note: str = "",
    today: dt.date | None = None,
) -> SaveResult:
    """Set ``review.last_reviewed`` (today) and ``review.reviewed_by`` (you) and commit
    ``Review: <title>``. A document that was in review goes back to published."""
    doc = workspace.load(ref)
    if doc.status == "retired":
        raise KbError(f"{doc.title} is retired; retired documents are not reviewed")
    if doc.front_matter_error is not None:
        raise KbError(f"{doc.path}: fix its front matter first ({doc.front_matter_error})")
    reviewer = workspace.require_identity().email
    # A review moves the next one on: the scheduled first review (``due``) has been done.
    doc.set_review(last_reviewed=today or dt.date.today(), reviewed_by=reviewer, due=None)
    if doc.status == "in-review":
        doc.set("status", "published")
    return workspace.save(doc, message=_commit_message("Review", doc, note))


def needs_changes(workspace: Workspace, ref: str, *, note: str) -> SaveResult:
    """Move the document to ``in-review`` and commit ``Needs changes: <title>`` with the note
    saying what to change."""
    if not note.strip():
        raise KbError('say what needs to change (--note "...")')
    doc = workspace.load(ref)
    if doc.status == "retired":
        raise KbError(f"{doc.title} is retired")
    doc.set("status", "in-review")
    return workspace.save(doc, message=_commit_message("Needs changes", doc, note))


# --------------------------------------------------------------------------- retiring


def linking_documents(workspace: Workspace, ref: str) -> list[Entry]:
    """Documents (not retired) whose links or ``related`` list point at ``ref``."""
    workspace.refresh()
    target = workspace.entry(ref)
    keys = {f"wiki:{target.doc_id}", f"wiki:{target.title}".casefold()}
    out: list[Entry] = []
    for entry in workspace.catalog.all():
        if entry.path == target.path or entry.status == "retired":
            continue
        if target.doc_id in (entry.related or []):
            out.append(entry)
            continue
        for link in entry.links or []:
            kind, _, value = link.partition(":")
            if kind == "wiki":
                label = value.split("|", 1)[0].strip()
                if f"wiki:{label}" in keys or f"wiki:{label}".casefold() in keys:
                    out.append(entry)
                    break
            elif workspace.resolve_link(entry.path, kind, value) == target.path:
                out.append(entry)
                break
    return out


def retire(
    workspace: Workspace,
    ref: str,
    *,
    reason: str,
    replaced_by: str | None = None,
    today: dt.date | None = None,
) -> SaveResult:
    """Mark a document retired: hidden from default search, out of the review queue.

    The reason goes in the commit (``Retire: <title>``) and in a warning at the top of the
    document, so whoever lands on it (in kbapp, on a git host or in an editor) sees why and
    what to read instead."""
    if not reason.strip():
        raise KbError('say why it is retired (--reason "...")')
    doc = workspace.load(ref)
    if doc.status == "retired":
        raise KbError(f"{doc.title} is already retired")
    today = today or dt.date.today()
    instead = ""
    if replaced_by:
        successor = workspace.entry(replaced_by)
        instead = f" Use [[{successor.doc_id}]] instead."
    notice = (
        f"> [!WARNING]\n> Retired on {today.isoformat()}: {' '.join(reason.split())}{instead}\n"
    )
    doc.body = _insert_after_title(doc.body, notice)
    doc.set("status", "retired")
    return workspace.save(doc, message=_commit_message("Retire", doc, reason))


def _insert_after_title(body: str, block: str) -> str:
    lines = body.split("\n")
    index = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
    if index is None:
        return block + "\n" + body
    return "\n".join(
        lines[: index + 1] + ["", *block.rstrip("\n").split("\n")] + lines[index + 1 :]
    )


# --------------------------------------------------------------------------- since the last review


def _commits(entries: list[LogEntry]) -> list[Commit]:
    return [Commit(e.rev, e.date, e.author, e.email, e.subject, e.path) for e in entries]


def last_review_commit(workspace: Workspace, path: str) -> Commit | None:
    """The latest commit that changed the document's ``last_reviewed`` line (kbapp's
    ``Review:`` commits and a partner's hand edit alike), following renames."""
    commits = _commits(
        workspace.git.log(
            paths=[path], follow=True, limit=1, changed_line=r"^[[:space:]]*last_reviewed:"
        )
    )
    return commits[0] if commits else None


def changes_since_review(workspace: Workspace, ref: str) -> ReviewChanges:
    """The commits and the diff of a document since the commit that last reviewed it."""
    path = workspace.resolve(ref)
    reviewed = last_review_commit(workspace, path)
    if reviewed is None:
        return ReviewChanges(path, None)
    doc = workspace.load(path)
    since = _commits(workspace.git.log(f"{reviewed.rev}..HEAD", paths=[path], follow=True))
    old_path = reviewed.path or path
    diff = workspace.git.run(
        "-c",
        "core.quotepath=off",
        "--literal-pathspecs",
        "diff",
        "--no-color",
        "-M",
        reviewed.rev,
        "--",
        old_path,
        path,
        check=False,
        strip=False,
    ).stdout
    return ReviewChanges(path, reviewed, since, diff, doc.last_reviewed, doc.reviewed_by)


@dataclass
class ReviewDetail:
    """What the detail pane shows for one document: the sentence above, and the rendered
    changes since its last review (or the whole document when it was never reviewed)."""

    path: str
    title_html: str
    body_html: str
    changed: bool


def review_detail(workspace: Workspace, item: ReviewItem) -> ReviewDetail:
    """What a reviewer reads about ``item`` (slow: git log, two renders): what changed since
    it was last reviewed, rendered as the reader shows it, changed blocks marked."""
    changes = changes_since_review(workspace, item.path)
    title = html.escape(item.title)
    current = workspace.load(item.path).body
    if changes.reviewed_in is None:
        return ReviewDetail(
            item.path,
            f"<b>{title}</b> was never reviewed: read all of it.",
            render_markdown(current).html,
            True,
        )
    since = f"{len(changes.commits)} changes since" if changes.commits else "no change since"
    heading = f"<b>{title}</b>: last reviewed {html.escape(changes.reviewed_words())}; {since}."
    if not changes.changed:
        return ReviewDetail(
            item.path, heading, "<p>Nothing changed since the last review.</p>", False
        )
    return ReviewDetail(item.path, heading, _changes_html(workspace, changes, current), True)


def _changes_html(workspace: Workspace, changes: ReviewChanges, current: str) -> str:
    reviewed = changes.reviewed_in
    assert reviewed is not None
    old_path = reviewed.path or changes.path
    data = workspace.git.read_blob(f"{reviewed.rev}:{old_path}")  # the path it had then
    try:
        old = documents.parse(data, old_path).body if data is not None else ""
    except KbError:
        old = ""
    label = f"Reviewed {reviewed.date:%Y-%m-%d} ({reviewed.short})"
    return rendered_changes_html(rendered_changes(old, current), label, "now")
