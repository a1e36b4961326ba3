"""The responsibility matrix: systems × document types, who is responsible, and the gaps.

Each cell lists the documents about a system of a type and the organisations they name as
``responsible`` (see :mod:`kbapp.cosourcing.responsibility`). Gaps are what the joint review meeting should
fix:

- ``no-runbook``: a system that no published (or in-review) runbook covers;
- ``no-responsible``: a runbook or SOP that names no responsible organisation;
- ``disagreement``: documents of the same system and type whose responsible organisations have
  none in common (one says the partner executes, the other says the internal team).

Retired documents are left out. Built from the catalog, so it costs no file reads.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kbapp.config import KbConfig
from kbapp.cosourcing import responsibility
from kbapp.documents.schema import LIVE_STATUSES

if TYPE_CHECKING:
    from kbapp.workspace import Workspace

#: Column order: the standard types first, then any custom ones alphabetically.
STANDARD_TYPES = ("runbook", "sop", "troubleshooting", "known-error", "post-incident")
#: Types whose documents count as "a runbook" for the no-runbook gap.
RUNBOOK_TYPES = ("runbook",)
NO_SYSTEM = "(no system)"


@dataclass(frozen=True)
class MatrixDoc:
    doc_id: str
    title: str
    path: str
    type: str
    status: str
    owner_org: str
    responsible: tuple[str, ...]  # organisations
    accountable: tuple[str, ...]


@dataclass(frozen=True)
class Gap:
    kind: str  # no-runbook | no-responsible | disagreement
    system: str
    doc_type: str
    message: str
    docs: tuple[MatrixDoc, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "system": self.system,
            "type": self.doc_type,
            "message": self.message,
            "documents": [d.doc_id for d in self.docs],
        }


@dataclass
class Cell:
    system: str
    doc_type: str
    docs: list[MatrixDoc] = field(default_factory=list)

    @property
    def responsible(self) -> list[str]:
        """Organisations the cell's documents name as responsible, in first-seen order."""
        out: list[str] = []
        for doc in self.docs:
            for org in doc.responsible:
                if org not in out:
                    out.append(org)
        return out

    @property
    def disagrees(self) -> bool:
        """Two documents name responsible organisations with none in common (overlapping
        answers, such as 'internal and partner' beside 'partner', are shared work, not a
        disagreement)."""
        named = [set(doc.responsible) for doc in self.docs if doc.responsible]
        return any(not (a & b) for i, a in enumerate(named) for b in named[i + 1 :])


@dataclass
class Matrix:
    systems: list[str]
    types: list[str]
    cells: dict[tuple[str, str], Cell]
    gaps: list[Gap]
    orgs: list[str]

    def cell(self, system: str, doc_type: str) -> Cell:
        return self.cells.get((system, doc_type)) or Cell(system, doc_type)

    def gaps_for(self, system: str, doc_type: str | None = None) -> list[Gap]:
        return [
            g
            for g in self.gaps
            if g.system == system and (doc_type is None or g.doc_type in ("", doc_type))
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "systems": self.systems,
            "types": self.types,
            "cells": [
                {
                    "system": c.system,
                    "type": c.doc_type,
                    "responsible": c.responsible,
                    "documents": [
                        {
                            "id": d.doc_id,
                            "title": d.title,
                            "status": d.status,
                            "responsible": list(d.responsible),
                        }
                        for d in c.docs
                    ],
                }
                for c in self.cells.values()
            ],
            "gaps": [g.to_dict() for g in self.gaps],
        }


def _doc(entry: Any, config: KbConfig) -> MatrixDoc:
    meta = entry.meta or {}
    return MatrixDoc(
        doc_id=entry.doc_id,
        title=entry.title,
        path=entry.path,
        type=entry.type or "",
        status=entry.status or "draft",
        owner_org=entry.owner_org or "",
        responsible=tuple(responsibility.orgs_for(meta, "responsible", config)),
        accountable=tuple(responsibility.orgs_for(meta, "accountable", config)),
    )


def build_matrix(entries: Iterable[Any], config: KbConfig) -> Matrix:
    """The matrix of catalog entries (anything with doc_id, title, path, type, status,
    owner_org, systems and meta)."""
    docs: list[tuple[MatrixDoc, list[str]]] = []
    for entry in entries:
        if getattr(entry, "usable", True) is False or entry.status == "retired":
            continue
        docs.append((_doc(entry, config), list(entry.systems or []) or [NO_SYSTEM]))
    cells: dict[tuple[str, str], Cell] = {}
    for doc, systems in docs:
        for system in systems:
            cells.setdefault((system, doc.type), Cell(system, doc.type)).docs.append(doc)
    for cell in cells.values():
        cell.docs.sort(key=lambda d: (d.status != "published", d.title.casefold()))
    systems = sorted({s for s, _ in cells} - {NO_SYSTEM}, key=str.casefold)
    if any(s == NO_SYSTEM for s, _ in cells):
        systems.append(NO_SYSTEM)
    present = {t for _, t in cells}
    types = [t for t in STANDARD_TYPES if t in present or t in RUNBOOK_TYPES]
    types += sorted(present - set(types))

    gaps: list[Gap] = []
    for system in systems:
        if system == NO_SYSTEM:
            continue
        runbooks = [d for t in RUNBOOK_TYPES for d in cells.get((system, t), Cell(system, t)).docs]
        live = [d for d in runbooks if d.status in LIVE_STATUSES]
        if not live:
            note = f" (only drafts: {', '.join(d.title for d in runbooks)})" if runbooks else ""
            gaps.append(
                Gap(
                    "no-runbook",
                    system,
                    RUNBOOK_TYPES[0],
                    f"{system} has no published runbook{note}",
                    tuple(runbooks),
                )
            )
    for (system, doc_type), cell in sorted(cells.items()):
        if cell.disagrees:
            named = "; ".join(
                f"{d.title}: {', '.join(d.responsible)}" for d in cell.docs if d.responsible
            )
            gaps.append(
                Gap(
                    "disagreement",
                    system,
                    doc_type,
                    f"{doc_type} documents of {system} disagree on who is responsible ({named})",
                    tuple(d for d in cell.docs if d.responsible),
                )
            )
    seen: set[str] = set()
    for doc, systems_ in docs:
        if doc.type in responsibility.PROCEDURE_TYPES and not doc.responsible:
            if doc.doc_id in seen:
                continue
            seen.add(doc.doc_id)
            gaps.append(
                Gap(
                    "no-responsible",
                    systems_[0],
                    doc.type,
                    f"{doc.title} ({doc.type}) names no responsible organisation",
                    (doc,),
                )
            )
    gaps.sort(
        key=lambda g: (
            ("no-runbook", "disagreement", "no-responsible").index(g.kind),
            g.system.casefold(),
            g.message,
        )
    )
    return Matrix(systems, types, cells, gaps, list(config.org_names))


def matrix_for(workspace: Workspace) -> Matrix:
    workspace.refresh()
    return build_matrix(workspace.catalog.all(), workspace.config)


# --------------------------------------------------------------------------- output


def cell_text(cell: Cell) -> str:
    if not cell.docs:
        return "-"
    orgs = "/".join(cell.responsible) or "nobody named"
    return f"{orgs} ({len(cell.docs)})"


def csv_text(matrix: Matrix) -> str:
    """One row per cell (system, type, responsible, documents) and one per gap."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["system", "type", "responsible", "documents", "gaps"])
    for system in matrix.systems:
        for doc_type in matrix.types:
            cell = matrix.cell(system, doc_type)
            gaps = matrix.gaps_for(system, doc_type)
            if not cell.docs and not gaps:
                continue
            writer.writerow(
                [
                    _safe(system),
                    _safe(doc_type),
                    " ".join(cell.responsible),
                    " | ".join(_safe(f"{d.doc_id} {d.title} [{d.status}]") for d in cell.docs),
                    " | ".join(_safe(g.message) for g in gaps),
                ]
            )
    return buffer.getvalue()


def _safe(value: str) -> str:
    """Text from another organisation must not become a spreadsheet formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def render_html(matrix: Matrix, kb_name: str = "") -> str:
    """The matrix as one self-contained HTML page (no script, nothing remote)."""
    import jinja2

    from kbapp import __version__
    from kbapp.bundled import read_text

    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    template = env.from_string(read_text("report", "matrix.html.j2"))
    return template.render(m=matrix, kb_name=kb_name, version=__version__)
