"""Import a folder of Markdown (another wiki's export, a runbook repository) into a knowledge base.

Relative paths are kept (under ``--into``). Each document gains kbapp's front matter (a new id,
the title, a type guessed from its headings, a status) while every original key is kept as it
was; foreign title/tags/date map onto ours. Files that cannot be documents (binary, too large)
are skipped and listed. Everything imported lands in one commit, and the report says what was
guessed and why.

The parts: :mod:`kbapp.documents.foreign` (a foreign file read and given kbapp's fields),
:mod:`kbapp.documents.importreport` (what the import reports); here the order of the steps,
the first reviews, the secrets check and the one commit.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kbapp.config import CONFIG_PATH, allow_secrets_text
from kbapp.documents import model as documents
from kbapp.documents import schema
from kbapp.documents.foreign import adopt, markdown_files, read_foreign, target
from kbapp.documents.importreport import HeldBack as HeldBack
from kbapp.documents.importreport import ImportedFile as ImportedFile
from kbapp.documents.importreport import ImportReport as ImportReport
from kbapp.errors import DocumentError, KbError
from kbapp.fsutil import SYMLINK_REASON, atomic_write
from kbapp.sync import journal
from kbapp.trust import policy

if TYPE_CHECKING:
    from kbapp.workspace import Workspace


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
    files, links = markdown_files(src)
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
        relative = target(src, source, into)
        if workspace.config.is_excluded(relative):
            report.skipped.append(
                (shown, "not a document here (matches 'exclude' in .kb/config.toml)")
            )
            continue
        if (workspace.root / relative).exists():
            report.skipped.append((shown, f"{relative} already exists in the knowledge base"))
            continue
        try:
            doc, notes = read_foreign(source, relative)
        except DocumentError as exc:
            report.skipped.append((shown, exc.reason))
            continue
        reason = adopt(doc, notes, taken, known_types, status, org)
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
