"""Lint: what is wrong with documents, named by file, line and field.

Front matter schema, required fields and sections of the document's template (present, and
not still the template's guidance), duplicate ids, and internal links that point nowhere.
Severity follows the document's life: a draft may still have empty sections (warning), a
published document may not (error).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from kbapp.config import KbConfig
from kbapp.cosourcing import handover, responsibility
from kbapp.documents import model as documents
from kbapp.documents import schema
from kbapp.documents.filenames import MARKDOWN_PATHSPECS
from kbapp.documents.links import extract_links, resolve_relative
from kbapp.documents.templates import TemplateLibrary, section_texts
from kbapp.errors import DocumentError
from kbapp.trust import policy

if TYPE_CHECKING:
    from kbapp.workspace import Workspace

ERROR = schema.ERROR
WARNING = schema.WARNING

_FLOW_LIST_RE = re.compile(rf"^({'|'.join(schema.TEXT_LIST_FIELDS)}):\s*\[", re.M)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    severity: str
    code: str
    message: str
    field: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        subject = f"{self.field}: " if self.field else ""
        return f"{where}: {self.severity}: {subject}{self.message} [{self.code}]"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LintContext:
    """What lint needs to know about the whole knowledge base."""

    config: KbConfig
    templates: TemplateLibrary
    #: id -> paths using it (more than one is a duplicate).
    ids: dict[str, list[str]] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # lower-cased title -> path
    exists: Callable[[str], bool] = lambda path: False
    #: The day the checks are for (a review date after it is in the future).
    today: dt.date = field(default_factory=dt.date.today)


@dataclass
class LintReport:
    problems: list[Problem] = field(default_factory=list)
    checked: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [p.to_dict() for p in self.problems],
        }


def lint_document(doc: documents.Document, ctx: LintContext) -> list[Problem]:
    out: list[Problem] = []
    path = doc.path

    def problem(severity: str, code: str, message: str, fld: str = "", line: int = 0) -> None:
        if code == "required-field" and any(p.field == fld for p in out):
            return  # already reported by the schema check
        if not line and fld:
            line = doc.field_lines.get(fld, 0) or doc.field_lines.get(fld.split(".")[0], 0)
        out.append(Problem(path, line, severity, code, message, fld))

    if doc.front_matter_error is not None:
        problem(
            ERROR,
            "front-matter",
            str(doc.front_matter_error),
            line=doc.front_matter_error.line or 1,
        )
    elif not doc.has_front_matter:
        problem(
            WARNING,
            "no-front-matter",
            "no front matter yet; kbapp adds it (id, type, status...) when the document is saved",
            line=1,
        )
    else:
        _check_fields(doc, ctx, problem)
    marker = policy.conflict_marker_line(doc.body)
    if marker is not None:
        problem(
            ERROR,
            "conflict-marker",
            "holds an unresolved merge conflict marker (<<<<<<< or >>>>>>>), committed "
            "without kbapp; keep the right lines, delete the markers and save",
            line=doc.body_start_line() + marker - 1,
        )
    _check_links(doc, ctx, problem)
    _check_sections(doc, ctx, problem)
    return out


def _check_fields(doc: documents.Document, ctx: LintContext, problem: Callable[..., None]) -> None:
    meta = doc.meta
    published = meta.get("status") == "published"
    raw_id = meta.get("id")
    if raw_id is None:
        problem(
            _missing("id"),
            "missing-field",
            "every document needs an id (kb- and 8 hex digits)",
            "id",
            1,
        )
    elif (wrong := schema.field("id").problem(raw_id)) is not None:
        problem(ERROR, "invalid-value", f"{raw_id!r} {wrong}", "id")
    elif len(ctx.ids.get(raw_id, [])) > 1:
        others = [p for p in ctx.ids[raw_id] if p != doc.path]
        problem(ERROR, "duplicate-id", f"{raw_id} is also used by {', '.join(others)}", "id")

    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        problem(_missing("title"), "missing-field", f"no title; shown as {doc.title!r}", "title", 1)

    doc_type = meta.get("type")
    known_types = ctx.templates.types()
    if doc_type is None:
        problem(
            _missing("type"),
            "missing-field",
            f"no type (one of {', '.join(known_types)})",
            "type",
            1,
        )
    elif doc_type not in known_types:
        problem(
            ERROR,
            "unknown-type",
            f"unknown type {doc_type!r}; known types: {', '.join(known_types)}",
            "type",
        )

    status = meta.get("status")
    if status is None:
        problem(
            _missing("status"),
            "missing-field",
            f"no status; counted as {schema.default('status')}",
            "status",
            1,
        )
    elif (wrong := schema.field("status").problem(status)) is not None:
        problem(ERROR, "invalid-value", f"{status!r} {wrong}", "status")

    org = meta.get("owner_org")
    if org is None or org == "":
        problem(_missing("owner_org"), "missing-field", "no owning organisation", "owner_org", 1)
    elif ctx.config.organisations and org not in ctx.config.org_names:
        problem(
            ERROR,
            "unknown-org",
            f"{org!r} is not an organisation of this knowledge base "
            f"({', '.join(ctx.config.org_names)})",
            "owner_org",
        )

    sensitivity = meta.get("sensitivity")
    wrong = None if sensitivity is None else schema.field("sensitivity").problem(sensitivity)
    if wrong is not None:
        problem(ERROR, "invalid-value", f"{sensitivity!r} {wrong}", "sensitivity")
    elif sensitivity == "internal" and ctx.config.sensitivity == "shared":
        problem(
            ERROR,
            "sensitivity",
            "marked internal in a knowledge base shared with another organisation",
            "sensitivity",
        )

    # Who does what (RACI, escalation) and the handover name known organisations.
    responsibility.check(meta, ctx.config, problem, ERROR, WARNING)
    handover.check(meta, ctx.config, problem, ERROR, WARNING)

    for name in schema.TEXT_LIST_FIELDS:
        value = meta.get(name)
        if value is not None and not isinstance(value, list):
            problem(WARNING, "not-a-list", "write a list, one item per line", name)
    raw_front = doc.source.block.text if doc.source and doc.source.block else ""
    for match in _FLOW_LIST_RE.finditer(raw_front):
        problem(
            WARNING,
            "flow-list",
            "write lists one item per line ('- item') so that merges stay clean",
            match.group(1),
        )

    for index, related in enumerate(doc.related):
        if related not in ctx.ids:
            problem(
                ERROR,
                "broken-link",
                f"related document {related} does not exist",
                "related",
                doc.field_lines.get(f"related[{index}]", 0),
            )

    review = meta.get("review")
    if review is not None and (wrong := schema.field("review").problem(review)) is not None:
        problem(ERROR, "invalid-value", f"review {wrong}", "review")
    elif isinstance(review, dict):
        for name in ("review.interval_days", "review.last_reviewed"):
            value = schema.value_at(meta, name)
            if value is not None and (wrong := schema.field(name).problem(value)) is not None:
                problem(ERROR, "invalid-value", f"{value!r} {wrong}", name)
        last = documents.as_date(review.get("last_reviewed"))
        if last is not None and last > ctx.today:
            problem(
                WARNING, "invalid-value", "last_reviewed is in the future", "review.last_reviewed"
            )

    template = ctx.templates.for_document(doc) if doc.template else None
    if template is not None:
        for name in template.required_fields:
            value = schema.value_at(meta, name)
            if value in (None, "", []):
                problem(
                    ERROR if published else WARNING,
                    "required-field",
                    f"required by the {template.label} template",
                    name,
                    1,
                )


def _missing(name: str) -> str:
    """How bad it is that field ``name`` is missing (the schema's ``required``)."""
    return schema.field(name).required


def _check_sections(
    doc: documents.Document, ctx: LintContext, problem: Callable[..., None]
) -> None:
    if not doc.has_front_matter or not doc.template:
        return  # imported or hand-written: not held to a template's sections
    template = ctx.templates.for_document(doc)
    if template is None or not template.required_sections:
        return
    published = doc.status == "published"
    sections = section_texts(doc.body)
    heading_lines = {h.text.lower(): h.line for h in doc.headings() if h.level == 2}
    offset = doc.body_start_line() - 1
    for name in template.required_sections:
        key = name.lower()
        if key not in sections:
            problem(
                ERROR if published else WARNING,
                "missing-section",
                f"the {template.label} template requires a '## {name}' section",
                line=1,
            )
        elif template.guidance_only(key, sections[key]):
            problem(
                ERROR if published else WARNING,
                "placeholder-section",
                f"section '{name}' still holds only the template's guidance",
                line=heading_lines.get(key, 0) + offset,
            )


def _check_links(doc: documents.Document, ctx: LintContext, problem: Callable[..., None]) -> None:
    offset = doc.body_start_line() - 1
    for link in extract_links(doc.body):
        if link.kind == "wiki":
            target = link.target.split("|", 1)[0].strip()
            ok = target in ctx.ids if schema.ID_RE.match(target) else target.lower() in ctx.titles
        else:
            ok = ctx.exists(resolve_relative(doc.path, link.target))
        if not ok:
            shown = f"[[{link.target}]]" if link.kind == "wiki" else link.target
            problem(
                ERROR, "broken-link", f"link {shown} points to no document", line=link.line + offset
            )


def context_for(
    workspace: Workspace, entries: list[Any] | None = None, today: dt.date | None = None
) -> LintContext:
    """What checking a document needs to know about the others (``entries``: the catalog's,
    when the caller has them), on ``today`` (default: the system's)."""
    entries = workspace.catalog.all() if entries is None else entries
    ids: dict[str, list[str]] = {}
    for entry in entries:
        if entry.has_id or entry.usable:
            ids.setdefault(entry.doc_id, []).append(entry.path)
    root = workspace.root
    return LintContext(
        config=workspace.config,
        templates=workspace.templates,
        ids=ids,
        titles={e.title.lower(): e.path for e in entries},
        exists=lambda rel: (root / rel).is_file(),
        today=today or dt.date.today(),
    )


def _hidden_documents(workspace: Workspace, listed: list[str]) -> list[Problem]:
    """Ignore rules (a shared ``.gitignore``, ``.git/info/exclude``) that match documents, or
    the new documents of a folder that holds some, as git reads them on any file system: kbapp
    lists and commits those documents all the same, plain git users' ``git add`` does not (the
    hook refuses new such rules)."""
    from kbapp.trust import tree_rules

    paths = tree_rules.documents_and_probes(listed, workspace.config)
    return [
        Problem(v.path, v.line, WARNING, v.rule, v.message)
        for v in tree_rules.hiding_violations(workspace.git.ignored(paths))
    ]


SYMLINK_MESSAGE = (
    "is a symbolic link: kbapp never reads, writes, indexes or imports links (one could point "
    "at files outside the knowledge base); replace it with a real file or delete it"
)


def _file_problems(workspace: Workspace) -> list[Problem]:
    """Files of the knowledge base that are not documents for a reason someone should fix,
    each named once: a name some clone cannot have (not UTF-8, not possible on Windows), a
    symbolic link, a Markdown file whose extension is not ``.md`` (kbapp does not list it)."""
    bad_names = set(workspace.unusable_names())
    links = set(workspace.symlinks())
    markdown = workspace.git.list_files(*MARKDOWN_PATHSPECS, ignored_too=True)
    out: list[Problem] = []
    for path in sorted(bad_names | links | set(markdown)):
        if path in bad_names:
            out.extend(
                Problem(v.path, 0, ERROR, v.rule, v.message) for v in policy.check_path(path)
            )
        elif path in links:
            out.append(Problem(path, 0, ERROR, "symlink", SYMLINK_MESSAGE))
        elif policy.is_markdown_path(path, workspace.config) and not policy.is_document_path(
            path, workspace.config
        ):
            stem = path[: path.rfind(".")]
            out.append(
                Problem(
                    path,
                    0,
                    WARNING,
                    "markdown-extension",
                    f"is Markdown that kbapp does not list, search or review (its documents end "
                    f"in .md; the document rules still apply when it is committed); rename it "
                    f"to {stem}.md",
                )
            )
    return out


class _Results:
    """Each document's problems from the last lint in this process, by its content hash: the
    health view's Refresh, and opening it again, read only what changed (on 5,864 documents
    reading and checking every file is ~5 s). Kept while what a document's problems depend
    on besides its text is the same: the settings and templates (the same objects until the
    workspace reloads them), every id, title and document path, and the day (a review date
    in the future no longer is the next day: the window stays open over midnight)."""

    def __init__(self) -> None:
        self.key: tuple[Any, ...] | None = None
        #: path -> (its content hash, its problems, each file its links looked for and
        #: whether it was there: an image or attachment is no document, so only looking
        #: again tells whether it came or went)
        self.by_path: dict[str, tuple[str, list[Problem], tuple[tuple[str, bool], ...]]] = {}

    def valid_for(
        self, ctx: LintContext, listed: list[str]
    ) -> dict[str, tuple[str, list[Problem], tuple[tuple[str, bool], ...]]]:
        key = (ctx.config, ctx.templates, ctx.ids, ctx.titles, frozenset(listed), ctx.today)
        if self.key is None or any(
            old is not new and old != new for old, new in zip(self.key, key, strict=True)
        ):
            self.key = key
            self.by_path = {}
        return self.by_path


def _recording(
    exists: Callable[[str], bool], looked: list[tuple[str, bool]]
) -> Callable[[str], bool]:
    """``exists``, noting each file looked for and whether it was there in ``looked``."""

    def check(relative: str) -> bool:
        there = exists(relative)
        looked.append((relative, there))
        return there

    return check


def lint_workspace(
    workspace: Workspace,
    paths: Iterable[str] | None = None,
    *,
    refresh: bool = True,
    progress: Callable[[int, int], object] | None = None,
    today: dt.date | None = None,
) -> LintReport:
    """Lint ``paths`` (default: every document) of an up-to-date workspace (``refresh``:
    bring the catalog up to date first; False when the caller just did). ``progress(done,
    total)`` is told after each document (seconds on thousands of them). ``today``: the day
    the checks are for (default: the system's)."""
    # One walk of the tree: the refreshed catalog lists every document (on 5,864 documents
    # each further walk, git ls-files and the name rules, cost ~0.2 s)
    listed = workspace.document_paths() if refresh else None
    if listed is not None:
        workspace.refresh(paths=listed)
    entries = workspace.catalog.all()
    if listed is None:
        listed = [entry.path for entry in entries]
    ctx = context_for(workspace, entries, today)
    # what the catalog last read of each file: its bytes' hash, and the size and time that say
    # the file is still those bytes (as the catalog's own refresh trusts them)
    read = {e.path: (e.content_hash, e.size, e.mtime_ns) for e in entries}
    root = str(workspace.root)
    earlier = workspace.service("lint-results", lambda _ws: _Results()).valid_for(ctx, listed)
    report = LintReport()
    todo = sorted(paths if paths is not None else listed)
    for relative in todo:
        if progress is not None:
            progress(report.checked, len(todo))
        report.checked += 1
        content, size, mtime_ns = read.get(relative, ("", -1, -1))
        known = earlier.get(relative)
        if content and known is not None and known[0] == content:
            try:
                st = os.stat(os.path.join(root, relative))
            except OSError:
                st = None
            if (
                st is not None
                and (st.st_size, st.st_mtime_ns) == (size, mtime_ns)
                and all(ctx.exists(target) == there for target, there in known[2])
            ):
                report.problems.extend(known[1])
                continue
        try:
            doc = documents.load(workspace.full_path(relative), relative)
        except DocumentError as exc:
            report.problems.append(
                Problem(relative, exc.line or 0, ERROR, "unreadable", exc.reason)
            )
            continue
        looked: list[tuple[str, bool]] = []
        found = lint_document(doc, replace(ctx, exists=_recording(ctx.exists, looked)))
        # kept only when the bytes checked are the ones the catalog hashed
        if content and doc.source is not None and doc.source.disk_digest == content:
            earlier[relative] = (content, found, tuple(looked))
        report.problems.extend(found)
    if paths is None:
        report.problems.extend(_file_problems(workspace))
        report.problems.extend(_hidden_documents(workspace, listed))
    for problem in workspace.templates.problems:
        report.problems.append(Problem(".kb/templates", 0, ERROR, "template", problem))
    if progress is not None:
        progress(report.checked, len(todo))
    return report
