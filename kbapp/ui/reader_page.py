"""A document ready to show in the reader: loaded and rendered off the GUI thread
(:func:`load_page`), its metadata header (:func:`header_html`), and the browser that shows it
(:class:`PageBrowser`), which loads nothing but images inside the knowledge base.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QTextBrowser

from kbapp.documents import model as documents
from kbapp.documents.model import Document
from kbapp.documents.render import Rendered, TocEntry, local_image_path
from kbapp.lifecycle.review import ReviewInfo, ReviewState, review_state_of
from kbapp.ui import style
from kbapp.workspace import Workspace

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"}


@dataclass
class Page:
    """A document ready to show: loaded and rendered off the GUI thread."""

    path: str
    doc: Document
    rendered: Rendered
    header: str
    toc: list[TocEntry] = field(default_factory=list)
    #: The knowledge base it is in when that is not the window's (shown read-only).
    elsewhere: Workspace | None = None


def load_page(workspace: Workspace, path: str, *, elsewhere: bool = False) -> Page:
    """Load and render ``path`` of ``workspace`` (runs on a worker thread); ``elsewhere``
    when that is not the window's knowledge base. ``path`` is relative to the knowledge base,
    never to the process's folder (``Workspace.load`` reads a command line's argument that
    way: a file of the same name where the window was started, in another clone, would
    otherwise be read instead)."""
    doc = documents.load(workspace.full_path(path), path)
    rendered = workspace.render(doc)
    return Page(
        doc.path,
        doc,
        rendered,
        header_html(workspace, doc, heading=leading_heading(rendered.html)),
        rendered.toc,
        workspace if elsewhere else None,
    )


def header_html(
    workspace: Workspace,
    doc: Document,
    today: dt.date | None = None,
    *,
    heading: str | None = None,
) -> str:
    """Title, then type · status · organisation · review state, then owners, systems, tags,
    last review and incidents: what an engineer checks before trusting a runbook. Ticket ids
    link to their ticket system (``.kb/config.toml``); the reader asks before opening them.

    ``heading``: the text of the level-1 heading the rendered body starts with, if any. That
    heading is the page's title and the block goes under it: when it says the title (near
    enough, :func:`same_title`) the title is not said again; when it says something else (an
    imported article whose front matter has a shorter title) the title lists and search show
    is one quiet row, "Listed as", not a second heading."""
    info = review_state_of(doc, workspace.config, today)
    esc = html.escape
    linker = workspace.ticket_linker()
    rows = _detail_rows(doc, info)
    title = ""
    if heading is None:
        title = f"<h1>{esc(doc.title)}</h1>"
    elif not documents.same_title(heading, doc.title):
        rows.insert(0, ("Listed as", doc.title))
    # Values are escaped; ticket ids (incidents, a ticket in a tag) then link to their system.
    details = "".join(
        f"<tr><td style='color:gray; padding-right:10px'>{esc(k)}</td>"
        f"<td>{linker.link_html(esc(v))}</td></tr>"
        for k, v in rows
    )
    return (
        f"{title}<p>{' '.join(_badges(doc, info))}</p>"
        f"<table class='docmeta' cellspacing='0' cellpadding='1'>{details}</table><hr>"
    )


def _badges(doc: Document, info: ReviewInfo) -> list[str]:
    """Type, status, organisation, review state (when not OK), internal only."""
    badges = [style.badge(doc.type or "document", "type"), style.badge(doc.status, doc.status)]
    if doc.owner_org:
        badges.append(style.badge(doc.owner_org, "org"))
    if info.state is not ReviewState.OK:
        badges.append(style.badge(info.state.label, info.state.value))
    if doc.sensitivity == "internal":
        badges.append(style.badge("internal only", "internal"))
    return badges


def _detail_rows(doc: Document, info: ReviewInfo) -> list[tuple[str, str]]:
    """(label, plain text) of owners, systems, tags, the last review and incidents."""
    rows: list[tuple[str, str]] = []
    if doc.owners:
        rows.append(("Owners", ", ".join(doc.owners)))
    if doc.systems:
        rows.append(("Systems", ", ".join(doc.systems)))
    if doc.tags:
        rows.append(("Tags", ", ".join(doc.tags)))
    if info.last_reviewed:
        by = f" by {doc.reviewed_by}" if doc.reviewed_by else ""
        due = f"; next review {info.due.isoformat()}" if info.due else ""
        rows.append(("Reviewed", f"{info.last_reviewed.isoformat()}{by}{due}"))
    else:
        rows.append(("Reviewed", "never"))
    if doc.incidents:
        rows.append(("Incidents", ", ".join(doc.incidents)))
    return rows


_LEADING_H1_RE = re.compile(r"^\s*<h1\b[^>]*>(.*?)</h1>", re.S)
_TAG_RE = re.compile(r"<[^>]+>")


def leading_heading(body_html: str) -> str | None:
    """The plain text of the level-1 heading a rendered body starts with, or None."""
    match = _LEADING_H1_RE.match(body_html)
    if match is None:
        return None
    return html.unescape(_TAG_RE.sub("", match.group(1))).strip()


def with_header(body_html: str, header: str) -> str:
    """The metadata block right under the document's own title (or on top)."""
    match = _LEADING_H1_RE.match(body_html)
    if match is None:
        return header + body_html
    return body_html[: match.end()] + header + body_html[match.end() :]


class PageBrowser(QTextBrowser):
    """A QTextBrowser that loads nothing but images inside the knowledge base."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root.resolve()
        self.current_folder = self.root

    def loadResource(self, kind: int, name: QUrl | str) -> Any:
        name = QUrl(name) if isinstance(name, str) else name
        if kind != int(QTextDocument.ResourceType.ImageResource.value) or name.scheme():
            return None
        # Judged by pure path logic first: resolving a UNC path on Windows already opens it.
        try:
            folder = self.current_folder.relative_to(self.root).as_posix()
        except ValueError:
            return None
        relative = local_image_path(folder, name.path())
        if relative is None or relative.suffix.lower() not in IMAGE_SUFFIXES:
            return None
        target = self.root.joinpath(*relative.parts).resolve()
        if self.root not in target.parents:
            return None
        try:
            return target.read_bytes()
        except OSError:
            return None
