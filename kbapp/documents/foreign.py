"""A foreign Markdown file (another wiki's export, a runbook repository) adopted as a kbapp
document: which files of a folder are Markdown (symbolic links never followed), where each
lands, how it is read (Windows-1252 converted), and the front matter it gains (a new id, the
title, a type guessed from its headings, a status) while every original key is kept as it was;
foreign title/tags/date map onto ours, a replaced value is kept as ``source_<key>``."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from kbapp.documents import model as documents
from kbapp.documents import schema
from kbapp.documents.filenames import is_markdown_name
from kbapp.errors import DocumentError
from kbapp.fsutil import read_document_bytes

_TAG_KEYS = ("tags", "keywords", "categories")


def markdown_files(src: Path) -> tuple[list[Path], list[Path]]:
    """The Markdown files under ``src``, and the symbolic links met (never followed: a link
    in a folder to import could pull in any file of this machine)."""
    found: list[Path] = []
    links: list[Path] = []
    for directory, dirnames, filenames in os.walk(src):
        links.extend(Path(directory) / d for d in dirnames if (Path(directory) / d).is_symlink())
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and not (Path(directory) / d).is_symlink()
        )
        for name in sorted(filenames):
            if is_markdown_name(name) and not name.startswith("."):
                if (Path(directory) / name).is_symlink():
                    links.append(Path(directory) / name)
                else:
                    found.append(Path(directory) / name)
    return found, sorted(links)


def target(src: Path, source: Path, into: str) -> str:
    """Where ``source`` lands in the knowledge base (relative path)."""
    shown = source.relative_to(src).as_posix()
    relative = f"{into}/{shown}" if into else shown
    if not relative.endswith(".md"):  # kbapp's documents are .md (x.markdown, x.MD, x.mkd)
        relative = relative[: relative.rfind(".")] + ".md"
    return relative


def read_foreign(source: Path, relative: str) -> tuple[documents.Document, list[str]]:
    """The document in ``source`` (to land at ``relative``) and notes on what was converted."""
    notes: list[str] = []
    data = read_document_bytes(source, relative)  # refuses a link swapped in since the walk
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
        raise DocumentError(
            f"front matter cannot be read ({doc.front_matter_error})", path=relative
        )
    return doc, notes


def adopt(
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
    if not (
        isinstance(foreign_id, str) and schema.ID_RE.match(foreign_id) and foreign_id not in taken
    ):
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

    if "status" not in meta or meta["status"] not in schema.STATUSES:
        if "status" in meta:
            meta["source_status"] = meta["status"]
        meta["status"] = "draft" if meta.get("draft") is True else status
    if org and "owner_org" not in meta:
        meta["owner_org"] = org

    if "tags" not in meta:
        for key in _TAG_KEYS[1:]:
            value = meta.get(key)
            if value:
                meta["tags"] = (
                    [str(v) for v in value]
                    if isinstance(value, list)
                    else [part.strip() for part in str(value).split(",") if part.strip()]
                )
                notes.append(f"tags from {key}")
                break
    elif isinstance(meta["tags"], str):
        meta["tags"] = [part.strip() for part in meta["tags"].split(",") if part.strip()]

    if "review" not in meta:
        # A foreign "last_reviewed" is a review; ms.date, lastmod and the like say when the
        # text was written, so they stay as they are and the first review is scheduled.
        when = _parse_date(meta.get("last_reviewed"))
        if when is not None:
            meta["review"] = {"last_reviewed": when}
            notes.append("last_reviewed kept")
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
