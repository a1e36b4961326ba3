"""Import a folder of Markdown (another wiki's export, a runbook repository) into a knowledge base.

Relative paths are kept (under ``--into``). Each document gains kbapp's front matter (a new id,
the title, a type guessed from its headings, a status) while every original key is kept as it
was; foreign title/tags/date map onto ours. Files that cannot be documents (binary, too large)
are skipped and listed. Everything imported lands in one commit, and the report says what was
guessed and why.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kbapp import documents, journal, policy
from kbapp.errors import DocumentError, KbError
from kbapp.fsutil import MAX_DOCUMENT_BYTES, atomic_write

if TYPE_CHECKING:
    from kbapp.workspace import Workspace

_DATE_KEYS = ("last_reviewed", "lastmod", "ms.date", "date", "updated")
_TAG_KEYS = ("tags", "keywords", "categories")


@dataclass
class ImportedFile:
    source: str
    path: str
    type: str
    reason: str
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    source: str
    into: str
    imported: list[ImportedFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source path, why)
    commit: str | None = None
    elapsed: float = 0.0

    def type_counts(self) -> dict[str, int]:
        return dict(Counter(f.type for f in self.imported).most_common())

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "into": self.into,
            "imported": len(self.imported),
            "skipped": [{"source": s, "reason": r} for s, r in self.skipped],
            "types": self.type_counts(),
            "commit": self.commit,
            "elapsed_s": round(self.elapsed, 2),
            "files": [
                {"source": f.source, "path": f.path, "type": f.type, "reason": f.reason,
                 "notes": f.notes}
                for f in self.imported
            ],
        }

    def summary(self) -> str:
        lines = [
            f"Imported {len(self.imported)} documents from {self.source} into "
            f"{self.into or 'the top folder'} in {self.elapsed:.1f} s"
            + (f" (commit {self.commit[:10]})" if self.commit else "")
        ]
        for doc_type, count in self.type_counts().items():
            lines.append(f"  {count:6d}  {doc_type}")
        guessed = Counter(f.reason for f in self.imported)
        if guessed:
            lines.append("Types were guessed from:")
            for reason, count in guessed.most_common(8):
                lines.append(f"  {count:6d}  {reason}")
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} files:")
            for source, why in self.skipped[:20]:
                lines.append(f"  {source}: {why}")
            if len(self.skipped) > 20:
                lines.append(f"  ... and {len(self.skipped) - 20} more (see --json)")
        return "\n".join(lines)


def _markdown_files(src: Path) -> list[Path]:
    found = []
    for directory, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.lower().endswith((".md", ".markdown")) and not name.startswith("."):
                found.append(Path(directory) / name)
    return found


def import_folder(
    workspace: Workspace,
    src: Path | str,
    into: str = "",
    *,
    status: str = "published",
    owner_org: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    started = time.perf_counter()
    src = Path(src).expanduser()
    if not src.is_dir():
        raise KbError(f"{src} is not a folder")
    if status not in documents.STATUSES:
        raise KbError(f"status must be one of {', '.join(documents.STATUSES)}")
    into = into.strip("/")
    if into:
        workspace.full_path(into)  # refuses a folder outside the knowledge base
    if src.resolve() == workspace.root or workspace.root in src.resolve().parents:
        raise KbError("the folder to import is inside the knowledge base already")
    workspace.require_identity()  # before anything is written: the import ends in a commit
    report = ImportReport(str(src), into)
    workspace.refresh()
    taken = workspace.catalog.ids()
    known_types = set(workspace.known_types())
    org = owner_org if owner_org is not None else workspace.identity.org
    files = _markdown_files(src)
    written: list[str] = []
    planned = [_target(src, source, into) for source in files]
    with workspace.git.write_lock(), journal.pending_commit(
        workspace, planned, f"Import: documents from {src.name}", kind="import"
    ):
        for number, (source, relative) in enumerate(zip(files, planned), start=1):
            if progress and (number % 100 == 0 or number == len(files)):
                progress(number, len(files))
            shown = source.relative_to(src).as_posix()
            if workspace.config.is_excluded(relative):
                report.skipped.append((shown, "not a document here (matches 'exclude' in .kb/config.toml)"))
                continue
            if (workspace.root / relative).exists():
                report.skipped.append((shown, f"{relative} already exists in the knowledge base"))
                continue
            try:
                doc, notes = _read_foreign(source, relative)
            except DocumentError as exc:
                report.skipped.append((shown, exc.reason))
                continue
            reason = _adopt(doc, notes, taken, known_types, status, org)
            data = documents.serialise(doc)
            violations = policy.check_document(doc, data, workspace.config)
            if violations:
                report.skipped.append((shown, f"not imported: {violations[0]}"))
                continue
            atomic_write(workspace.root / relative, data, durable=False)
            written.append(relative)
            report.imported.append(ImportedFile(shown, relative, doc.type, reason, notes))
        if written:
            if hasattr(os, "sync"):  # one flush for the batch instead of one per file
                os.sync()
            report.commit = workspace.git.commit(
                [into] if into else written,
                f"Import: {len(written)} documents from {src.name}",
                trailers=workspace.trailers(),
            )
    workspace.refresh()
    report.elapsed = time.perf_counter() - started
    return report


def _target(src: Path, source: Path, into: str) -> str:
    """Where ``source`` lands in the knowledge base (relative path)."""
    shown = source.relative_to(src).as_posix()
    relative = f"{into}/{shown}" if into else shown
    if relative.lower().endswith(".markdown"):
        relative = relative[: -len(".markdown")] + ".md"
    return relative


def _read_foreign(source: Path, relative: str) -> tuple[documents.Document, list[str]]:
    notes: list[str] = []
    size = source.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{size // 1024 // 1024} MB is too large for a document", path=relative)
    data = source.read_bytes()
    try:
        doc = documents.parse(data, relative)
    except DocumentError as exc:
        if exc.reason != "is not UTF-8 text":
            raise
        # Old wiki exports are often Windows-1252; convert rather than refuse.
        text = data.decode("cp1252", errors="replace")
        doc = documents.parse(text.encode("utf-8"), relative)
        notes.append("converted from Windows-1252 to UTF-8")
    if doc.front_matter_error is not None:
        raise DocumentError(f"front matter cannot be read ({doc.front_matter_error})", path=relative)
    return doc, notes


def _adopt(
    doc: documents.Document,
    notes: list[str],
    taken: set[str],
    known_types: set[str],
    status: str,
    org: str,
) -> str:
    """Give a foreign document kbapp's fields, keeping its own. Returns why the type was chosen."""
    meta = doc.meta
    title = doc.title
    meta.setdefault("title", title)
    foreign_id = meta.get("id")
    if not (isinstance(foreign_id, str) and documents.ID_RE.match(foreign_id) and foreign_id not in taken):
        if foreign_id is not None:
            meta["source_id"] = foreign_id
            notes.append("original id kept as source_id")
        new = documents.new_id()
        while new in taken:
            new = documents.new_id()
        meta["id"] = new
    taken.add(meta["id"])

    foreign_type = meta.get("type")
    if isinstance(foreign_type, str) and foreign_type in known_types:
        reason = "its own type field"
    else:
        guessed, reason = documents.guess_type(doc.body)
        if foreign_type is not None:
            meta["source_type"] = foreign_type
            notes.append(f"original type {foreign_type!r} kept as source_type")
        meta["type"] = guessed

    if "status" not in meta or meta["status"] not in documents.STATUSES:
        if "status" in meta:
            meta["source_status"] = meta["status"]
        meta["status"] = "draft" if meta.get("draft") is True else status
    if org and "owner_org" not in meta:
        meta["owner_org"] = org

    if "tags" not in meta:
        for key in _TAG_KEYS[1:]:
            value = meta.get(key)
            if value:
                meta["tags"] = [str(v) for v in value] if isinstance(value, list) else [
                    part.strip() for part in str(value).split(",") if part.strip()
                ]
                notes.append(f"tags from {key}")
                break
    elif isinstance(meta["tags"], str):
        meta["tags"] = [part.strip() for part in meta["tags"].split(",") if part.strip()]

    if "review" not in meta:
        for key in _DATE_KEYS:
            when = _parse_date(meta.get(key))
            if when is not None:
                meta["review"] = {"last_reviewed": when}
                notes.append(f"last_reviewed from {key}")
                break
    return reason


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d"):
            try:
                return dt.datetime.strptime(text[:10], fmt).date()
            except ValueError:
                continue
    return None
