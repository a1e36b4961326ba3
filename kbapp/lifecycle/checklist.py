"""A runbook's steps as a checklist for incident mode.

Steps are the items of ordered lists (``1. Check the replica lag``) and task items
(``- [ ] Page the DBA``), in reading order, found by the same Markdown parser that renders the
document (so what is a step is exactly what the reader shows as a list item). Each step knows
the section it is in, so the checklist can show "Diagnosis 2" rather than a bare number.

A step's code blocks (a fenced block inside the list item, as runbooks put the command to run
under the step that runs it) are kept verbatim, line for line, apart from its text: the
checklist shows them as blocks to copy, and capture writes them back as fenced blocks. They are
found by the same fence extension as the reader uses (``pymdownx.superfences``), so a block the
reader shows under a step is the block the checklist shows.
"""

from __future__ import annotations

import hashlib
import html
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from kbapp.documents.mdlines import fence

_TASK_RE = re.compile(r"^\s*\[([ xX])\]\s+")
_CODE_MARK_RE = re.compile(r'<kbcode n="(\d+)"></kbcode>')
_SPACE_RE = re.compile(r"\s+")
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
MAX_STEP_CHARS = 300


@dataclass(frozen=True)
class CodeBlock:
    """A code block of a step, verbatim (lines and indentation as written)."""

    text: str
    lang: str = ""


@dataclass(frozen=True)
class Step:
    number: int  # 1-based, in reading order
    text: str
    section: str = ""
    kind: str = "ordered"  # "ordered" or "task"
    #: How deep the list is nested (0 = top level).
    depth: int = 0
    #: The step's code blocks, verbatim, in the order written.
    code: tuple[CodeBlock, ...] = ()

    @property
    def key(self) -> str:
        """Identifies a step across edits of the runbook that only move it."""
        return hashlib.sha1(self.text.casefold().encode("utf-8")).hexdigest()[:12]

    def label(self) -> str:
        return f"{self.section} · {self.text}" if self.section else self.text

    @property
    def commands(self) -> str:
        """The step's code blocks joined, verbatim: what "Copy" puts on the clipboard."""
        return "\n".join(block.text for block in self.code)

    def markdown(self, indent: str = "") -> str:
        """The step as Markdown: its text, then each code block fenced, verbatim (``indent``
        puts the blocks inside a list item)."""
        blocks = [fence(block.text, block.lang, indent) for block in self.code]
        return "\n\n".join([self.text, *blocks]) if blocks else self.text


class _StepCollector(Treeprocessor):
    def __init__(self, md: markdown.Markdown, sink: list[Step], codes: list[CodeBlock]) -> None:
        super().__init__(md)
        self.sink = sink
        self.codes = codes

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
            blocks: list[CodeBlock] = []
            text = _own_text(element, blocks)
            task = _TASK_RE.match(text)
            if task:
                text = text[task.end() :]
            elif parent is None or parent.tag != "ol":
                continue
            if self.md.htmlStash.rawHtmlBlocks:
                text = _unstash(self.md, text)
                blocks += [self.codes[int(n)] for n in _CODE_MARK_RE.findall(text)]
                text = _strip_tags(_CODE_MARK_RE.sub(" ", text))
            text = _squash(text)
            if not text and not blocks:
                continue  # the template's empty "1. " placeholder
            depth = 0
            node = parent
            while node is not None:
                if node.tag in ("ol", "ul"):
                    depth += 1
                node = parents.get(node)
            self.sink.append(
                Step(
                    len(self.sink) + 1,
                    text[:MAX_STEP_CHARS],
                    section,
                    "task" if task else "ordered",
                    max(depth - 1, 0),
                    tuple(blocks),
                )
            )


def _own_text(li: etree.Element, blocks: list[CodeBlock]) -> str:
    """The item's text without nested lists (they are steps of their own); an indented code
    block in it goes to ``blocks`` (fenced ones are still stashed here: see the caller)."""
    parts: list[str] = [li.text or ""]
    for child in li:
        if child.tag == "pre":
            blocks.append(CodeBlock(html.unescape("".join(child.itertext())).rstrip("\n")))
        elif child.tag not in ("ol", "ul"):
            parts.append(_inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


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
    # Inline code, raw HTML and fenced blocks sit in the stash as placeholders until
    # serialisation.
    for index, block in enumerate(md.htmlStash.rawHtmlBlocks):
        text = text.replace(md.htmlStash.get_placeholder(index), str(block))
    return text


def _strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


def _squash(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


class ChecklistExtension(Extension):
    """Collects the steps of the document being converted into ``steps``."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.steps: list[Step] = []
        #: Every fenced block met, verbatim; the stash holds a marker with its number.
        self.codes: list[CodeBlock] = []

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        # Before the inline patterns (priority 20) would be too early for item text; after them
        # (and before kbapp's task-list glyphs at 14) the "[ ]" markers are still plain text.
        md.treeprocessors.register(_StepCollector(md, self.steps, self.codes), "kb_checklist", 15)

    def fence_format(self, source: str, language: str, *_args: object, **_kwargs: object) -> str:
        """superfences' formatter for every fence: keep the source, leave a numbered marker."""
        self.codes.append(CodeBlock(source.rstrip("\n"), language or ""))
        return f'<kbcode n="{len(self.codes) - 1}"></kbcode>'

    def reset(self) -> None:
        self.steps.clear()
        self.codes.clear()


def checklist_steps(body: str) -> list[Step]:
    """The steps of a runbook (ordered list items and ``- [ ]`` items), in reading order, each
    with its code blocks verbatim."""
    if len(body) > 2_000_000:
        return []
    collector = ChecklistExtension()
    markdown.markdown(
        body,
        extensions=["sane_lists", "pymdownx.superfences", collector],
        extension_configs={
            "pymdownx.superfences": {
                "custom_fences": [
                    {"name": "*", "class": "kbcode", "format": collector.fence_format}
                ]
            }
        },
    )
    return list(collector.steps)
