"""Ticket ids (``INC-20417``, ``PRT-4471``) and the ticket systems they link to.

``.kb/config.toml`` maps id patterns to URLs per organisation::

    [[tickets]]
    pattern = "INC-\\\\d+"
    url = "https://servicedesk.tidewater.example/incident/{id}"
    org = "internal"

:class:`TicketLinker` finds ids in text and gives each its URL; the Markdown renderer
(:class:`kbapp.documents.mdext.TicketLinkExtension`), the health report and search snippets use it so that
a ticket id is a link everywhere it is shown.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from kbapp.config import TicketSystem

_TAG_SPLIT_RE = re.compile(r"(<[^>]*>)")


@dataclass(frozen=True)
class TicketRef:
    id: str
    url: str
    org: str
    start: int
    end: int


class TicketLinker:
    """Finds ticket ids of the configured systems in text."""

    def __init__(self, systems: Iterable[TicketSystem]) -> None:
        self.systems = list(systems)
        self._compiled = [(system, system.compiled()) for system in self.systems]
        self.pattern: re.Pattern[str] | None = (
            re.compile("|".join(f"(?:{c.pattern})" for _, c in self._compiled))
            if self._compiled
            else None
        )

    def __bool__(self) -> bool:
        return bool(self.systems)

    def url(self, ticket: str) -> str | None:
        """The URL of one ticket id, or None when no configured system knows it."""
        ticket = ticket.strip()
        for system, compiled in self._compiled:
            if compiled.fullmatch(ticket):
                return _url(system, ticket)
        return None

    def org(self, ticket: str) -> str:
        ticket = ticket.strip()
        return next((s.org for s, c in self._compiled if c.fullmatch(ticket)), "")

    def find(self, text: str) -> list[TicketRef]:
        """Every ticket id in ``text``, in order (the first system that matches wins)."""
        if self.pattern is None:
            return []
        found = []
        for match in self.pattern.finditer(text):
            ticket = match.group(0)
            system = next(s for s, c in self._compiled if c.fullmatch(ticket))
            found.append(TicketRef(ticket, _url(system, ticket), system.org, *match.span()))
        return found

    def link_html(self, fragment: str) -> str:
        """HTML (already escaped, e.g. a search snippet) with ticket ids outside tags and
        outside existing links wrapped in ``<a class="ticket">``."""
        if self.pattern is None:
            return fragment
        out = []
        in_link = 0
        for part in _TAG_SPLIT_RE.split(fragment):
            if part.startswith("<"):
                lowered = part.lower()
                if lowered.startswith("<a ") or lowered == "<a>":
                    in_link += 1
                elif lowered.startswith("</a"):
                    in_link = max(0, in_link - 1)
                out.append(part)
            elif in_link:
                out.append(part)
            else:
                out.append(self._link_text(part))
        return "".join(out)

    def _link_text(self, escaped: str) -> str:
        pieces = []
        last = 0
        for ref in self.find(escaped):
            pieces.append(escaped[last : ref.start])
            pieces.append(
                f'<a class="ticket" href="{html.escape(ref.url)}" '
                f'title="{html.escape(ref.org or "ticket")}">{escaped[ref.start : ref.end]}</a>'
            )
            last = ref.end
        pieces.append(escaped[last:])
        return "".join(pieces)


def _url(system: TicketSystem, ticket: str) -> str:
    return system.url.replace("{id}", quote(ticket, safe=""))
