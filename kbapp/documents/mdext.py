"""kbapp's Python-Markdown extensions. Each is a ``markdown.Extension`` tested by calling
``markdown.markdown(...)`` directly (tests/test_render.py).

- :class:`WikiLinkExtension`: ``[[kb-3f9c2a1e]]``, ``[[Title]]``, ``[[kb-id|label]]`` become
  internal links (``kb:<id>``), or a visibly broken link when nothing matches.
- :class:`AlertExtension`: DocFX/GitHub alerts (``> [!NOTE]``) become admonition boxes.
- :class:`TaskListExtension`: ``- [ ]`` / ``- [x]`` items become checkbox glyphs (the reader is
  a QTextBrowser, which has no form controls) numbered for incident checklists.
- :class:`ScaffoldExtension`: what a template leaves to be filled in (an empty ``- [ ]`` or
  ``1.`` item, an empty code block) is not shown, and a section with nothing written under it
  says so quietly ("Not written yet") instead of showing empty boxes; the file is unchanged.
- :class:`TicketLinkExtension`: ticket ids (``INC-20417``) in text link to their ticket system
  (patterns from ``.kb/config.toml``, see :mod:`kbapp.cosourcing.tickets`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from collections.abc import Callable
from typing import Any

import markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

from kbapp.documents import mdlines
from kbapp.documents.links import WIKI_LINK_RE

#: Given the text inside [[...]], return (id, title) of the document it names, or None.
WikiResolver = Callable[[str], "tuple[str, str] | None"]


def _no_document(target: str) -> tuple[str, str] | None:
    return None


class _WikiLinkProcessor(InlineProcessor):
    def __init__(self, pattern: str, resolver: WikiResolver | None) -> None:
        super().__init__(pattern)
        self.resolver = resolver

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[etree.Element, int, int]:  # noqa: N802
        target = m.group(1).strip()
        label = (m.group(2) or "").strip()
        found = self.resolver(target) if self.resolver else None
        if found is None:
            el = etree.Element("span")
            el.set("class", "kblink broken")
            el.set("title", f"No document matches {target}")
            el.text = label or target
        else:
            doc_id, title = found
            el = etree.Element("a")
            el.set("href", f"kb:{doc_id}")
            el.set("class", "kblink")
            el.set("title", title)
            el.text = label or title
        return el, m.start(0), m.end(0)


class WikiLinkExtension(Extension):
    def __init__(self, **kwargs: Any) -> None:
        # A callable default: Python-Markdown turns a None default into a bool.
        self.config = {"resolver": [_no_document, "callable: target -> (id, title) or None"]}
        super().__init__(**kwargs)

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        processor = _WikiLinkProcessor(WIKI_LINK_RE.pattern, self.getConfig("resolver"))
        # Before 'link' (170) so that [[...]] is not read as a reference link.
        md.inlinePatterns.register(processor, "kb_wikilink", 175)


_ALERT_RE = re.compile(r"^\s*\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*", re.I)


class _AlertProcessor(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        for parent in root.iter():
            for index, child in enumerate(list(parent)):
                if child.tag != "blockquote" or not len(child):
                    continue
                first = child[0]
                if first.tag != "p" or not first.text:
                    continue
                match = _ALERT_RE.match(first.text)
                if not match:
                    continue
                kind = match.group(1).lower()
                first.text = first.text[match.end() :].lstrip("\n")
                box = etree.Element("div")
                box.set("class", f"admonition {kind}")
                title = etree.SubElement(box, "p")
                title.set("class", "admonition-title")
                title.text = kind.capitalize()
                if not first.text and not len(first):
                    child.remove(first)
                for item in list(child):
                    box.append(item)
                box.tail = child.tail
                parent.remove(child)
                parent.insert(index, box)


class AlertExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        md.treeprocessors.register(_AlertProcessor(md), "kb_alerts", 15)


_TASK_RE = re.compile(r"^\[([ xX])\]\s+")


class _TaskListProcessor(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        number = 0
        for li in root.iter("li"):
            holder = li[0] if len(li) and li[0].tag == "p" and not (li.text or "").strip() else li
            text = holder.text or ""
            match = _TASK_RE.match(text)
            if not match:
                continue
            done = match.group(1) != " "
            number += 1
            holder.text = text[match.end() :]
            box = etree.Element("span")
            box.set("class", "task done" if done else "task")
            box.text = "\u2611 " if done else "\u2610 "
            box.tail = holder.text
            holder.text = None
            holder.insert(0, box)
            li.set("class", "task-item done" if done else "task-item")
            li.set("id", f"task-{number}")
        for ul in root.iter("ul"):  # a checklist: its boxes, no bullets beside them
            items = [li for li in ul if li.tag == "li"]
            if items and all((li.get("class") or "").startswith("task-item") for li in items):
                ul.set("class", "tasks")
        self.md.task_count = number


class TaskListExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        md.treeprocessors.register(_TaskListProcessor(md), "kb_tasklist", 14)


#: A list item with nothing in it (a checkbox at most): ``- [ ]``, ``1.``, ``*``.
_EMPTY_ITEM_RE = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+\[[ xX]?\])?[ \t]*$")
#: What a section with nothing under it shows (class ``unwritten``: greyed by the reader's CSS).
UNWRITTEN = "Not written yet"
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_ITEM_LINE_RE = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]")
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.S)


class _ScaffoldPreprocessor(Preprocessor):
    """Drops empty list items and empty fenced code blocks, outside code."""

    def run(self, lines: list[str]) -> list[str]:
        body = "\n".join(lines)
        read = list(mdlines.lines(body))
        kept: list[str] = []
        skip_next = False
        for index, (_, line, kind) in enumerate(read):
            if skip_next:
                skip_next = False
                continue
            if kind == "fence" and index + 1 < len(read) and read[index + 1][2] == "fence":
                opening = line.strip()
                closing = read[index + 1][1].strip()
                # an opening fence (maybe with a language) closed on the very next line
                if closing and set(closing) == {opening[0]} and opening.startswith(closing):
                    skip_next = True
                    continue
            if kind == "text" and _EMPTY_ITEM_RE.match(line):
                before = kept[-1] if kept else ""
                # after text, a lone "-" underlines a heading and "1." continues the paragraph
                if not before.strip() or _ITEM_LINE_RE.match(before):
                    continue
            kept.append(line)
        return kept


class _UnwrittenProcessor(Treeprocessor):
    """A heading followed by nothing but a heading of its level or above (or the end) gets a
    quiet "Not written yet" under it."""

    def run(self, root: etree.Element) -> None:
        shown = [child for child in root if not self._only_comments(child)]
        for index in reversed(range(len(shown))):
            heading = shown[index]
            if heading.tag not in _HEADINGS:
                continue
            after = shown[index + 1] if index + 1 < len(shown) else None
            if after is not None and not (
                after.tag in _HEADINGS and after.tag[1] <= heading.tag[1]
            ):
                continue
            note = etree.Element("p")
            note.set("class", "unwritten")
            note.text = UNWRITTEN
            root.insert(list(root).index(heading) + 1, note)

    def _only_comments(self, element: etree.Element) -> bool:
        """Whether ``element`` stands for raw HTML that is only comments (a template's
        guidance, which the reader does not show)."""
        if element.tag != "p" or len(element) or not element.text:
            return False
        stash = self.md.htmlStash
        text = element.text.strip()
        for index, raw in enumerate(stash.rawHtmlBlocks):
            if text == stash.get_placeholder(index):
                return isinstance(raw, str) and not _COMMENT_RE.sub("", raw).strip()
        return False


class ScaffoldExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        # after whitespace is normalised (30), before fences are read (25)
        md.preprocessors.register(_ScaffoldPreprocessor(md), "kb_scaffold", 28)
        md.treeprocessors.register(_UnwrittenProcessor(md), "kb_unwritten", 13)


#: Given text, return (start, end, url, org) of each ticket id in it.
TicketFinder = Callable[[str], "list[tuple[int, int, str, str]]"]


def _no_tickets(text: str) -> list[tuple[int, int, str, str]]:
    return []


class _TicketLinkProcessor(Treeprocessor):
    """Ticket ids in text become links to their ticket system. Runs after the inline patterns,
    on text and tails only, never inside links, code or preformatted blocks."""

    SKIP = frozenset({"a", "code", "pre", "kbd", "samp"})

    def __init__(self, md: markdown.Markdown, finder: TicketFinder) -> None:
        super().__init__(md)
        self.finder = finder

    def run(self, root: etree.Element) -> None:
        self._walk(root)

    def _walk(self, parent: etree.Element) -> None:
        if parent.tag in self.SKIP:
            return
        if parent.text:
            links, parent.text = self._split(parent.text)
            for offset, link in enumerate(links):
                parent.insert(offset, link)
        for child in list(parent):
            self._walk(child)
            if child.tail:
                links, child.tail = self._split(child.tail)
                index = list(parent).index(child) + 1
                for offset, link in enumerate(links):
                    parent.insert(index + offset, link)

    def _split(self, text: str) -> tuple[list[etree.Element], str]:
        """(links to insert after the node, the text left before the first link)."""
        found = self.finder(text)
        if not found:
            return [], text
        links: list[etree.Element] = []
        head = text[: found[0][0]]
        for number, (start, end, url, org) in enumerate(found):
            link = etree.Element("a")
            link.set("href", url)
            link.set("class", "ticket")
            if org:
                link.set("title", org)
            link.text = text[start:end]
            following = found[number + 1][0] if number + 1 < len(found) else len(text)
            link.tail = text[end:following]
            links.append(link)
        return links, head


class TicketLinkExtension(Extension):
    def __init__(self, **kwargs: Any) -> None:
        self.config = {"finder": [_no_tickets, "callable: text -> [(start, end, url, org)]"]}
        super().__init__(**kwargs)

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        # After 'inline' (20), so code spans and links are already elements that are skipped.
        md.treeprocessors.register(
            _TicketLinkProcessor(md, self.getConfig("finder")), "kb_tickets", 13
        )
