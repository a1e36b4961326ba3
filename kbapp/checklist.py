"""A runbook's steps as a checklist for incident mode.

Steps are the items of ordered lists (``1. Check the replica lag``) and task items
(``- [ ] Page the DBA``), in reading order, found by the same Markdown parser that renders the
document (so what is a step is exactly what the reader shows as a list item). Each step knows
the section it is in, so the checklist can show "Diagnosis 2" rather than a bare number.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

_TASK_RE = re.compile(r"^\s*\[([ xX])\]\s+")
_SPACE_RE = re.compile(r"\s+")
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
MAX_STEP_CHARS = 300


@dataclass(frozen=True)
class Step:
    number: int  # 1-based, in reading order
    text: str
    section: str = ""
    kind: str = "ordered"  # "ordered" or "task"
    #: How deep the list is nested (0 = top level).
    depth: int = 0

    @property
    def key(self) -> str:
        """Identifies a step across edits of the runbook that only move it."""
        return hashlib.sha1(self.text.casefold().encode("utf-8")).hexdigest()[:12]

    def label(self) -> str:
        return f"{self.section} · {self.text}" if self.section else self.text


class _StepCollector(Treeprocessor):
    def __init__(self, md: markdown.Markdown, sink: list[Step]) -> None:
        super().__init__(md)
        self.sink = sink

    def run(self, root: etree.Element) -> None:
        parents = {child: parent for parent in root.iter() for child in parent}
        section = ""
        for element in root.iter():
            if element.tag in _HEADINGS:
                section = _squash("".join(element.itertext()))
                continue
            if element.tag != "li":
                continue
            parent = parents.get(element)
            text = _own_text(element)
            task = _TASK_RE.match(text)
            if task:
                text = text[task.end():]
            elif parent is None or parent.tag != "ol":
                continue
            text = _squash(self.md.htmlStash.rawHtmlBlocks and _unstash(self.md, text) or text)
            if not text:
                continue  # the template's empty "1. " placeholder
            depth = 0
            node = parent
            while node is not None:
                if node.tag in ("ol", "ul"):
                    depth += 1
                node = parents.get(node)
            self.sink.append(
                Step(len(self.sink) + 1, text[:MAX_STEP_CHARS], section,
                     "task" if task else "ordered", max(depth - 1, 0))
            )


def _own_text(li: etree.Element) -> str:
    """The item's text without nested lists (they are steps of their own)."""
    parts: list[str] = [li.text or ""]
    for child in li:
        if child.tag not in ("ol", "ul"):
            parts.append(_inline_text(child))
        parts.append(child.tail or "")
    return _squash("".join(parts))


def _inline_text(element: etree.Element) -> str:
    """Text of an inline element, keeping `code` spans as Markdown (they are commands)."""
    if element.tag == "code":
        return f"`{''.join(element.itertext())}`"
    parts = [element.text or ""]
    for child in element:
        parts.append(_inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _unstash(md: markdown.Markdown, text: str) -> str:
    # Inline code and raw HTML sit in the stash as placeholders until serialisation.
    for index, block in enumerate(md.htmlStash.rawHtmlBlocks):
        text = text.replace(md.htmlStash.get_placeholder(index), str(block))
    return re.sub(r"<[^>]+>", "", text)


def _squash(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


class ChecklistExtension(Extension):
    """Collects the steps of the document being converted into ``steps``."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.steps: list[Step] = []

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        # Before the inline patterns (priority 20) would be too early for item text; after them
        # (and before kbapp's task-list glyphs at 14) the "[ ]" markers are still plain text.
        md.treeprocessors.register(_StepCollector(md, self.steps), "kb_checklist", 15)

    def reset(self) -> None:
        self.steps.clear()


def checklist_steps(body: str) -> list[Step]:
    """The steps of a runbook (ordered list items and ``- [ ]`` items), in reading order."""
    if len(body) > 2_000_000:
        return []
    collector = ChecklistExtension()
    markdown.markdown(body, extensions=["sane_lists", "fenced_code", collector])
    return list(collector.steps)
