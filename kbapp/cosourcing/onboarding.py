"""Onboarding paths: an ordered reading list for a new engineer of either organisation.

An onboarding document (template ``onboarding``) has a ``## Reading list`` section with one
numbered item per document to read, in order (``1. [[kb-1a4e7c20]]: why it matters``). The
list is shared; what each person has read is local (the activity store, never committed), so a
new engineer ticks items as they go and nobody else's progress is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kbapp.documents import model as documents
from kbapp.documents.links import extract_links
from kbapp.documents.templates import section_texts
from kbapp.errors import KbError
from kbapp.lifecycle.activity import activity_for

if TYPE_CHECKING:
    from kbapp.workspace import Workspace

TYPE = "onboarding"
SECTION = "reading list"
_ITEM_RE = re.compile(r"^\s{0,3}(\d{1,4})[.)]\s+(.*)$")
_LINK_MARKUP_RE = re.compile(r"\[\[([^\]|]*)(?:\|([^\]]*))?\]\]|\[([^\]]*)\]\([^)]*\)")


@dataclass(frozen=True)
class ReadingItem:
    number: int
    text: str  # the item as written, links replaced by their labels
    doc_id: str  # the document it links to ("" when it links to none that exists)
    title: str
    path: str

    @property
    def key(self) -> str:
        """What read-tracking remembers: the document's id, else the item's position."""
        return self.doc_id or f"item-{self.number}"


@dataclass
class OnboardingProgress:
    doc_id: str
    title: str
    items: list[ReadingItem]
    read: dict[str, Any]  # item key -> when it was marked read

    @property
    def done(self) -> int:
        return sum(1 for item in self.items if item.key in self.read)

    def is_read(self, item: ReadingItem) -> bool:
        return item.key in self.read

    @property
    def next_item(self) -> ReadingItem | None:
        return next((item for item in self.items if item.key not in self.read), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.doc_id,
            "title": self.title,
            "done": self.done,
            "total": len(self.items),
            "items": [
                {
                    "number": i.number,
                    "text": i.text,
                    "id": i.doc_id,
                    "title": i.title,
                    "path": i.path,
                    "read": i.key in self.read,
                    "read_at": self.read[i.key].isoformat() if i.key in self.read else None,
                }
                for i in self.items
            ],
        }


def reading_list(workspace: Workspace, doc: documents.Document) -> list[ReadingItem]:
    """The numbered items of the document's ``## Reading list``, in order."""
    section = section_texts(doc.body).get(SECTION)
    if section is None:
        raise KbError(f"{doc.title} has no '## Reading list' section (is it an onboarding path?)")
    section = re.sub(r"<!--.*?-->", "", section, flags=re.S)
    items: list[ReadingItem] = []
    for line in section.split("\n"):
        match = _ITEM_RE.match(line)
        if not match or not match.group(2).strip():
            continue
        body = match.group(2).strip()
        doc_id = title = path = ""
        for link in extract_links(body):
            target = workspace.resolve_link(doc.path, link.kind, link.target)
            if target is not None:
                entry = workspace.catalog.get(target)
                if entry is not None:
                    doc_id, title, path = entry.doc_id, entry.title, entry.path
                    break
        text = _LINK_MARKUP_RE.sub(lambda m: _link_label(workspace, m), body)
        items.append(ReadingItem(len(items) + 1, text, doc_id, title, path))
    return items


def _link_label(workspace: Workspace, match: re.Match[str]) -> str:
    """What a link reads as in plain text: its label, else the title it points to."""
    if match.group(3) is not None:
        return match.group(3).strip()
    if match.group(2):
        return match.group(2).strip()
    found = workspace.wiki_target(match.group(1))
    return found[1] if found else match.group(1).strip()


def progress(workspace: Workspace, ref: str) -> OnboardingProgress:
    workspace.refresh()
    doc = workspace.load(ref)
    items = reading_list(workspace, doc)
    return OnboardingProgress(doc.id, doc.title, items, activity_for(workspace).reads(doc.id))


def mark(workspace: Workspace, ref: str, item: str, read: bool = True) -> OnboardingProgress:
    """Mark an item (its number, or the id of the document it links to) read or unread."""
    current = progress(workspace, ref)
    chosen = _find_item(current.items, item)
    activity_for(workspace).mark_read(current.doc_id, chosen.key, read)
    return progress(workspace, ref)


def _find_item(items: list[ReadingItem], wanted: str) -> ReadingItem:
    wanted = wanted.strip()
    for item in items:
        if wanted == str(item.number) or (item.doc_id and wanted == item.doc_id):
            return item
    raise KbError(
        f"the reading list has no item {wanted!r}; give its number (1-{len(items)}) "
        "or the id of the document it links to"
    )
