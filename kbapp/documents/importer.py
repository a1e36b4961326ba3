"""Import a folder of Markdown (another wiki's export, a runbook repository) into a knowledge base.

Relative paths are kept (under ``--into``). Each document gains kbapp's front matter (a new id,
the title, a type guessed from its headings, a status) while every original key is kept as it
was; foreign title/tags/date map onto ours. Files that cannot be documents (binary, too large)
are skipped and listed. Everything imported lands in one commit, and the report says what was
guessed and why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kbapp.config import CONFIG_PATH, allow_secrets_text
from kbapp.documents import model as documents
from kbapp.documents import schema
from kbapp.documents.filenames import is_markdown_name
from kbapp.errors import DocumentError, KbError
from kbapp.fsutil import SYMLINK_REASON, atomic_write, read_document_bytes
from kbapp.sync import journal
from kbapp.trust import policy

if TYPE_CHECKING:
    from kbapp.workspace import Workspace

_TAG_KEYS = ("tags", "keywords", "categories")


@dataclass
class ImportedFile:
    source: str
    path: str
    type: str
    reason: str
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HeldBack:
    """A line of a file to import that looks like a secret."""

    source: str  # path in the folder being imported
    line: int  # line in that (source) file
    rule: str
    message: str
    digest: str  # sha256 of the value, what [secrets] allow records

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass
class ImportReport:
    source: str
    into: str
    imported: list[ImportedFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source path, why)
    #: Files not imported because a line looks like a secret (the user did not allow them).
    held_back: list[HeldBack] = field(default_factory=list)
    #: Secret-looking lines the user accepted as reviewed false positives.
    allowed: list[HeldBack] = field(default_factory=list)
    #: First reviews scheduled: (how many, earliest, latest).
    reviews: tuple[int, dt.date, dt.date] | None = None
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
            "held_back": [dataclasses.asdict(h) for h in self.held_back],
            "allowed_secrets": [dataclasses.asdict(h) for h in self.allowed],
            "first_reviews": None
            if self.reviews is None
            else {
                "documents": self.reviews[0],
                "from": self.reviews[1].isoformat(),
                "to": self.reviews[2].isoformat(),
            },
            "commit": self.commit,
            "elapsed_s": round(self.elapsed, 2),
            "files": [
                {
                    "source": f.source,
                    "path": f.path,
                    "type": f.type,
                    "reason": f.reason,
                    "notes": f.notes,
                }
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
        if self.reviews is not None:
            count, first, last = self.reviews
            lines.append(f"First reviews of {count} documents spread from {first} to {last}.")
        if self.allowed:
            lines.append(
                f"Accepted {len(self.allowed)} secret-looking lines as reviewed false positives "
                "(recorded by hash in .kb/config.toml, [secrets] allow)."
            )
        if self.held_back:
            files = sorted({h.source for h in self.held_back})
            lines.append(
                f"Held back {len(files)} files: these lines look like secrets "
                "(line numbers in the files you imported):"
            )
            for held in self.held_back[:20]:
                lines.append(f"  {held.where}: {held.message.split(';')[0]} [{held.rule}]")
            if len(self.held_back) > 20:
                lines.append(f"  ... and {len(self.held_back) - 20} more (see --json)")
            lines.append(
                "If they are samples, not real secrets, import again with "
                "--allow-secrets: each value is then recorded as a reviewed false "
                "positive."
            )
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} files:")
            for source, why in self.skipped[:20]:
                lines.append(f"  {source}: {why}")
            if len(self.skipped) > 20:
                lines.append(f"  ... and {len(self.skipped) - 20} more (see --json)")
        return "\n".join(lines)


def _markdown_files(src: Path) -> tuple[list[Path], list[Path]]:
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


#: ``progress(phase, done, total)``: phases are "Reading", "Writing", "Committing",
#: "Cataloguing" and "Indexing", in that order.
ImportProgress = Callable[[str, int, int], None]
#: Asked once with every file that looks like it holds a secret; True imports them and records
#: each value in ``[secrets] allow`` as a reviewed false positive, False holds them back.
SecretsDecision = Callable[[list[HeldBack]], bool]


@dataclass
class _Planned:
    source: Path
    shown: str  # path in the source folder
    relative: str  # path in the knowledge base
    doc: documents.Document
    notes: list[str]
    reason: str
    data: bytes = b""
    findings: list[HeldBack] = field(default_factory=list)
    scheduled: dt.date | None = None  # the first review import gave it


def import_folder(
    workspace: Workspace,
    src: Path | str,
    into: str = "",
    *,
    status: str = "published",
    owner_org: str | None = None,
    review_start: dt.date | None = None,
    allow_secrets: bool | SecretsDecision = False,
    progress: ImportProgress | None = None,
    build_index: bool = True,
) -> ImportReport:
    """Import every Markdown file under ``src`` into ``into`` in one commit.

    First reviews are spread over each type's review interval from ``review_start`` (default:
    after the coming "due soon" fortnight), so an import never floods the review queue. Files
    whose text looks like it holds a secret are listed (line numbers in the source file) and
    imported only when ``allow_secrets`` says so. The catalog and the search index are brought
    up to date before returning, so the first search after an import answers."""
    started = time.perf_counter()
    src = Path(src).expanduser()
    if not src.is_dir():
        raise KbError(f"{src} is not a folder")
    if status not in schema.STATUSES:
        raise KbError(f"status must be one of {', '.join(schema.STATUSES)}")
    into = into.strip("/")
    if into:
        workspace.full_path(into)  # refuses a folder outside the knowledge base
    if src.resolve() == workspace.root or workspace.root in src.resolve().parents:
        raise KbError("the folder to import is inside the knowledge base already")
    workspace.require_identity()  # before anything is written: the import ends in a commit
    report = ImportReport(str(src), into)
    step = progress or (lambda phase, done, total: None)
    workspace.refresh()
    files, links = _markdown_files(src)
    report.skipped.extend((link.relative_to(src).as_posix(), SYMLINK_REASON) for link in links)
    planned = _read_all(workspace, src, files, into, status, owner_org, report, step)
    _schedule_first_reviews(planned, workspace, review_start or _default_review_start())
    allowed = _check_all(workspace, planned, report, allow_secrets)
    writing = [p for p in planned if not p.findings or allowed]
    written: list[str] = []
    paths = [CONFIG_PATH] if allowed else []
    with (
        workspace.git.write_lock(),
        journal.pending_commit(
            workspace,
            paths + [p.relative for p in writing],
            f"Import: documents from {src.name}",
            kind="import",
        ),
    ):
        if allowed:
            _record_allowances(workspace, planned)
        for number, item in enumerate(writing, start=1):
            if number % 50 == 0 or number == len(writing):
                step("Writing", number, len(writing))
            atomic_write(workspace.root / item.relative, item.data, durable=False)
            written.append(item.relative)
            report.imported.append(
                ImportedFile(item.shown, item.relative, item.doc.type, item.reason, item.notes)
            )
        if written:
            if hasattr(os, "sync"):  # one flush for the batch instead of one per file
                os.sync()
            step("Committing", 0, 1)
            report.commit = workspace.git.commit(
                paths + written,  # named one by one: committed whatever a .gitignore says
                f"Import: {len(written)} documents from {src.name}",
                trailers=workspace.trailers(),
            )
            step("Committing", 1, 1)
            dates = [item.scheduled for item in writing if item.scheduled is not None]
            if dates:
                report.reviews = (len(dates), min(dates), max(dates))

    def cataloguing(done: int, total: int) -> None:
        step("Cataloguing", done, total)

    if build_index and written:
        from kbapp.search.index import SearchIndex  # the index is only needed here

        # The index refreshes the catalog itself, so that it indexes the new files in one
        # build (with progress) rather than file by file as the catalog announces them.
        SearchIndex.for_workspace(workspace).catch_up(
            progress=lambda done, total: step("Indexing", done, total),
            refresh_progress=cataloguing,
        )
    else:
        workspace.refresh(progress=cataloguing)
    report.elapsed = time.perf_counter() - started
    return report


def _read_all(
    workspace: Workspace,
    src: Path,
    files: list[Path],
    into: str,
    status: str,
    owner_org: str | None,
    report: ImportReport,
    step: ImportProgress,
) -> list[_Planned]:
    """Read and adopt every file; what cannot be imported goes to ``report.skipped``."""
    taken = workspace.catalog.ids()
    known_types = set(workspace.known_types())
    org = owner_org if owner_org is not None else workspace.identity.org
    planned: list[_Planned] = []
    for number, source in enumerate(files, start=1):
        if number % 50 == 0 or number == len(files):
            step("Reading", number, len(files))
        shown = source.relative_to(src).as_posix()
        relative = _target(src, source, into)
        if workspace.config.is_excluded(relative):
            report.skipped.append(
                (shown, "not a document here (matches 'exclude' in .kb/config.toml)")
            )
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
        planned.append(_Planned(source, shown, relative, doc, notes, reason))
    return planned


def _default_review_start() -> dt.date:
    """The day after the "due soon" window: an import adds no review work for the next two weeks."""
    from kbapp.lifecycle.review import DUE_SOON_DAYS

    return dt.date.today() + dt.timedelta(days=DUE_SOON_DAYS + 1)


def _schedule_first_reviews(planned: list[_Planned], workspace: Workspace, start: dt.date) -> None:
    """Give each document that has no review date a first one (``review.due``), spread evenly
    over its type's review interval from ``start``, neighbours in the folder tree together."""
    by_type: dict[str, list[_Planned]] = {}
    for item in planned:
        doc = item.doc
        if doc.status not in schema.LIVE_STATUSES:
            continue
        if doc.last_reviewed is not None or doc.review_due is not None:
            continue
        by_type.setdefault(doc.type, []).append(item)
    for doc_type, items in by_type.items():
        items.sort(key=lambda i: i.relative)
        interval = workspace.config.review_interval(doc_type)
        for number, item in enumerate(items):
            due = start + dt.timedelta(days=number * interval // len(items))
            item.doc.set_review(due=due)
            item.scheduled = due


def _check_all(
    workspace: Workspace,
    planned: list[_Planned],
    report: ImportReport,
    allow_secrets: bool | SecretsDecision,
) -> bool:
    """Serialise each document and check it against the commit policy. Files with other
    violations are skipped; files whose only problem looks like a secret wait for the decision,
    which is returned (True: import them and record the values as reviewed false positives)."""
    keep: list[_Planned] = []
    for item in planned:
        item.data = documents.serialise(item.doc)
        violations = (
            policy.check_path(item.relative)  # a name every clone can check out
            + policy.check_file_name(item.relative, workspace.config)
            + policy.check_document(item.doc, item.data, workspace.config)
        )
        if not violations:
            keep.append(item)
            continue
        source_text = item.source.read_bytes().decode("utf-8", errors="replace")
        found = [
            HeldBack(
                item.shown,
                _source_line(item.data, source_text, v.line),
                v.rule,
                v.message,
                v.digest,
            )
            for v in violations
        ]
        if all(v.digest for v in violations):
            item.findings = found
            keep.append(item)
        else:
            bad = next(f for f, v in zip(found, violations) if not v.digest)
            report.skipped.append(
                (item.shown, f"not imported: {bad.where}: {bad.message} [{bad.rule}]")
            )
    planned[:] = keep
    held = [f for item in planned for f in item.findings]
    if not held:
        return False
    allowed = allow_secrets(held) if callable(allow_secrets) else allow_secrets
    if allowed:
        report.allowed = held
    else:
        report.held_back = held
        planned[:] = [item for item in planned if not item.findings]
    return bool(allowed)


def _record_allowances(workspace: Workspace, planned: list[_Planned]) -> None:
    """Write the allowed values into ``.kb/config.toml`` (committed with the import)."""
    allowances = [(f.digest, f.where) for item in planned for f in item.findings]
    path = workspace.root / CONFIG_PATH
    text = allow_secrets_text(path.read_text(encoding="utf-8"), allowances)
    atomic_write(path, text.encode("utf-8"))
    workspace.reload_config()


def _source_line(written: bytes, source_text: str, line: int) -> int:
    """The line of the source file that became ``line`` of the imported file (front matter was
    added or rewritten, and Windows-1252 files were converted, so numbers shift)."""
    lines = written.decode("utf-8", errors="replace").splitlines()
    if not 1 <= line <= len(lines):
        return line
    wanted = lines[line - 1].strip()
    source_lines = source_text.splitlines()
    shift = len(lines) - len(source_lines)  # where the line would be if only a header was added
    candidates = [n for n, text in enumerate(source_lines, start=1) if text.strip() == wanted]
    if not candidates:
        return max(1, line - shift)
    return min(candidates, key=lambda n: abs(n - (line - shift)))


def _target(src: Path, source: Path, into: str) -> str:
    """Where ``source`` lands in the knowledge base (relative path)."""
    shown = source.relative_to(src).as_posix()
    relative = f"{into}/{shown}" if into else shown
    if not relative.endswith(".md"):  # kbapp's documents are .md (x.markdown, x.MD, x.mkd)
        relative = relative[: relative.rfind(".")] + ".md"
    return relative


def _read_foreign(source: Path, relative: str) -> tuple[documents.Document, list[str]]:
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
