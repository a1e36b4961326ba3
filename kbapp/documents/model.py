"""Documents: Markdown with a YAML front matter block, read and written without loss.

A :class:`Document` holds the front matter as a plain ``dict`` (``meta``) and the body with
``\\n`` line endings. It remembers the exact text it was read from, so writing a document that
was not changed gives back the same bytes (BOM, CRLF, comments, key order, trailing newline),
and writing one that was changed touches only what changed (see :mod:`kbapp.documents.frontmatter`).

Documents without front matter (an imported folder, a file a partner wrote by hand) load fine:
the properties derive what kbapp needs, and front matter is only written when the user saves.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import html
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbapp.config import valid_interval
from kbapp.documents import frontmatter, mdlines, schema
from kbapp.documents.schema import as_date as as_date  # date fields are read the schema's way
from kbapp.errors import DocumentError
from kbapp.fsutil import atomic_write, read_document_bytes

BOM = b"\xef\xbb\xbf"

#: List fields a single line may give as "a, b, c" (tags and what other tools call them).
_COMMA_LISTS = ("tags", *schema.field("tags").aliases)

_H1_RE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.M)
_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_SETEXT_H1_RE = re.compile(r"^(?P<title>[^\n]+)\n=+[ \t]*$", re.M)


def new_id() -> str:
    """A fresh document id: ``kb-`` and 8 random hex digits. Uniqueness across a repository is
    checked by :meth:`kbapp.workspace.Workspace.new_unique_id`."""
    return "kb-" + secrets.token_hex(4)


def derived_id(path: str) -> str:
    """The id a document without one is known by until it is saved (stable for its path)."""
    return "kb-" + hashlib.sha1(path.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class Source:
    """What a document was read from, to write it back exactly."""

    bom: bool
    newline: str
    block: frontmatter.Block | None
    meta: dict[str, Any]
    body_raw: str
    body: str
    #: A digest of the file's bytes when the document was read from (or written to) disk by
    #: :func:`load` / :func:`write`; ``None`` for text from elsewhere (a form, an old version).
    #: A save compares it with the file under the write lock: never overwrite an edit made
    #: on disk after the read.
    disk_digest: str | None = None


def digest(data: bytes) -> str:
    """The fingerprint :attr:`Source.disk_digest` holds."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass
class Heading:
    level: int
    text: str
    line: int  # 1-based line in the body


@dataclass
class Document:
    """One knowledge document. ``path`` is relative to the knowledge base, with ``/``."""

    path: str
    meta: dict[str, Any] = field(default_factory=dict)
    body: str = ""
    source: Source | None = field(default=None, repr=False, compare=False)
    #: Why the front matter could not be read, when it could not (the body is still usable).
    front_matter_error: frontmatter.FrontMatterError | None = field(default=None, compare=False)
    #: 1-based file line of each front matter field ("review.last_reviewed", "tags[0]", ...).
    field_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    # ------------------------------------------------------------------ identity and fields

    @property
    def has_front_matter(self) -> bool:
        return self.source is not None and self.source.block is not None

    @property
    def id(self) -> str:
        value = self.meta.get("id")
        return value if isinstance(value, str) and value else derived_id(self.path)

    @property
    def title(self) -> str:
        value = self.meta.get("title")
        if isinstance(value, str) and value.strip():
            return value.strip()
        match = _H1_RE.search(self.body) or _SETEXT_H1_RE.search(self.body)
        if match:
            return _plain_heading(match.group(1) if match.re is _H1_RE else match.group("title"))
        stem = Path(self.path).stem
        return re.sub(r"[-_]+", " ", stem).strip().capitalize() or self.path

    @property
    def type(self) -> str:
        value = self.meta.get("type")
        return str(value) if value else guess_type(self.body)[0]

    @property
    def status(self) -> str:
        value = self.meta.get("status")
        return str(value) if value else str(schema.default("status"))

    @property
    def owner_org(self) -> str:
        value = self.meta.get("owner_org")
        return str(value) if value else str(schema.default("owner_org"))

    @property
    def sensitivity(self) -> str:
        value = self.meta.get("sensitivity")
        return str(value) if value else str(schema.default("sensitivity"))

    @property
    def owners(self) -> list[str]:
        return self.list_field("owners")

    @property
    def systems(self) -> list[str]:
        return self.list_field("systems")

    @property
    def tags(self) -> list[str]:
        values = self.list_field("tags")
        for alias in schema.field("tags").aliases:  # Hugo and friends write keywords
            values = values or self.list_field(alias)
        return values

    @property
    def incidents(self) -> list[str]:
        return self.list_field("incidents")

    @property
    def related(self) -> list[str]:
        return self.list_field("related")

    @property
    def template(self) -> str:
        value = self.meta.get("template")
        return str(value) if value else str(schema.default("template"))

    @property
    def review(self) -> dict[str, Any]:
        value = self.meta.get("review")
        return value if isinstance(value, dict) else {}

    @property
    def review_interval_days(self) -> int | None:
        value = self.review.get("interval_days")
        return value if valid_interval(value) else None

    @property
    def last_reviewed(self) -> dt.date | None:
        return as_date(self.review.get("last_reviewed"))

    @property
    def review_due(self) -> dt.date | None:
        """``review.due``: the next review is not due before this date (set by an import that
        spreads first reviews over the interval, or by hand to postpone one)."""
        return as_date(self.review.get("due"))

    @property
    def reviewed_by(self) -> str:
        value = self.review.get("reviewed_by")
        return str(value) if value else ""

    def list_field(self, name: str) -> list[str]:
        """A list field as strings; a single value (``tags: failover``) counts as one item."""
        value = self.meta.get(name)
        if value is None or value == "":
            return []
        if isinstance(value, (list, tuple)):
            return [str(item) for item in value if item is not None and str(item).strip()]
        if isinstance(value, str) and name in _COMMA_LISTS and "," in value:
            return [part.strip() for part in value.split(",") if part.strip()]
        return [str(value)]

    # ------------------------------------------------------------------ structure

    def headings(self) -> list[Heading]:
        """ATX headings outside fenced code blocks."""
        found: list[Heading] = []
        for number, line, kind in mdlines.lines(self.body):
            if kind == "text" and (heading := heading_of(line, number)) is not None:
                found.append(heading)
        return found

    def body_start_line(self) -> int:
        """1-based file line where the body starts (after the front matter)."""
        if self.source is None or self.source.block is None:
            return 1
        return self.source.block.raw.count("\n") + 1

    # ------------------------------------------------------------------ change tracking

    @property
    def is_modified(self) -> bool:
        if self.source is None:
            return True
        return self.body != self.source.body or not deep_equal(self.meta, self.source.meta)

    def set(self, key: str, value: Any) -> None:
        """Set a front matter field; ``None`` or an empty list removes it."""
        if value is None or value == []:
            self.meta.pop(key, None)
        else:
            self.meta[key] = value

    def set_review(self, **fields: Any) -> None:
        review = dict(self.review)
        for key, value in fields.items():
            if value is None:
                review.pop(key, None)
            else:
                review[key] = value
        self.set("review", review or None)


def deep_equal(a: Any, b: Any) -> bool:
    """Front matter values equal in value and in type (``1`` is not ``True``, ``"1"`` is not
    ``1``), through nested mappings and lists: what "unchanged" means for metadata."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b))
    return bool(a == b)


def heading_of(line: str, number: int) -> Heading | None:
    """The ATX heading that the text line ``line`` (line ``number`` of a body) is, or None
    (:meth:`Document.headings` for one line already known to be outside code)."""
    match = _HEADING_RE.match(line) if "#" in line else None
    if match is None:
        return None
    return Heading(len(match.group(1)), _plain_heading(match.group(2)), number)


_ANCHOR_RE = re.compile(r"\{#[^}]*\}\s*$")  # {#custom-anchor}
_EMPHASIS_MARKS = str.maketrans("", "", "*_`")
_LINK_RE = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def _plain_heading(text: str) -> str:
    # each pattern only where its first characters are (most headings have none of them)
    if "{#" in text:
        text = _ANCHOR_RE.sub("", text)
    text = text.translate(_EMPHASIS_MARKS)  # as re.sub(r"[*_`]", "", text)
    if "](" in text:
        text = _LINK_RE.sub(r"\1", text)
    return text.strip()


def same_title(a: str, b: str) -> bool:
    """Whether two titles say the same thing once case, punctuation, quotes and Markdown
    markup are set aside: ``"Access is denied" error`` and ``Access is denied error``,
    ``Event ID 2042: It has been too long`` and ``Event ID 2042 (It has been too long)``."""
    return _title_key(a) == _title_key(b) != ""


def _title_key(text: str) -> str:
    plain = html.unescape(_plain_heading(text))
    return " ".join(re.sub(r"[\W_]+", " ", plain).casefold().split())


def leading_title(body: str) -> tuple[str, str] | None:
    """The level-1 heading ``body`` starts with (ATX ``# Title`` or setext ``Title`` over
    ``===``, after blank lines), as plain text, and the body after it; None when the body
    starts with anything else. Kept in the file: callers only leave it out of what they show."""
    lines = body.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None
    heading = heading_of(lines[first], first + 1)
    if heading is not None:
        if heading.level != 1:
            return None
        end = first + 1
        text = heading.text
    elif (
        first + 1 < len(lines)
        and re.fullmatch(r"=+[ \t]*", lines[first + 1])
        and not lines[first].startswith((" " * 4, "\t"))
    ):
        end = first + 2
        text = _plain_heading(lines[first])
    else:
        return None
    return text, "\n".join(lines[end:]).lstrip("\n")


# --------------------------------------------------------------------------- type guessing

#: Section names that give a document's kind away, strongest signal first.
_TYPE_SIGNALS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("post-incident", ("timeline", "root cause", "lessons learned", "incident summary")),
    ("known-error", ("workaround", "known error", "permanent fix", "affected versions")),
    ("runbook", ("meaning", "impact", "diagnosis", "mitigation", "alert", "escalation")),
    ("troubleshooting", ("symptoms", "symptom", "cause", "resolution", "more information")),
    (
        "sop",
        ("procedure", "prerequisites", "steps", "rollback", "verification", "scope", "purpose"),
    ),
)


def guess_type(body: str) -> tuple[str, str]:
    """Guess a document's type from its headings: ``(type, reason)``."""
    best_hits: list[str]
    names = {
        _plain_heading(m.group(2)).lower().rstrip(":")
        for m in (_HEADING_RE.match(line) for line in body.split("\n"))
        if m
    }
    best, best_hits = "", []
    for type_name, signals in _TYPE_SIGNALS:
        hits = [s for s in signals if any(n == s or n.startswith(s + " ") for n in names)]
        if len(hits) > len(best_hits):
            best, best_hits = type_name, hits
    if best and (len(best_hits) >= 2 or best in ("post-incident", "known-error")):
        return best, "headings " + ", ".join(h.title() for h in best_hits)
    if best:
        return best, f"heading {best_hits[0].title()} only"
    return "troubleshooting", "no telling headings; troubleshooting is the default"


# --------------------------------------------------------------------------- parse / write


def parse(
    data: bytes,
    path: str,
    *,
    read_only: bool = False,
    read_front: Callable[[frontmatter.Block], tuple[dict[str, Any], dict[str, int]]] | None = None,
) -> Document:
    """Parse a document from its bytes. Raises :class:`DocumentError` for what is not a text
    document at all (binary, not UTF-8); unreadable front matter is kept and reported in
    ``front_matter_error`` so that the body stays searchable and the file is never lost.
    ``read_only``: the document will not be changed (the search index reads it), so its
    source shares the front matter instead of keeping a copy to tell changes by.
    ``read_front``: what reads the front matter block (default
    :func:`~kbapp.documents.frontmatter.parse_block`; a full build's workers give one that
    keeps each block's result, :mod:`kbapp.search.frontstore`)."""
    if b"\x00" in data[:8192]:
        raise DocumentError("is a binary file, not a Markdown document", path=path)
    bom = data.startswith(BOM)
    try:
        text = data[len(BOM) if bom else 0 :].decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DocumentError("is not UTF-8 text", path=path, line=line) from None
    newline = _dominant_newline(text)
    block = frontmatter.find_block(text)
    meta: dict[str, Any] = {}
    lines: dict[str, int] = {}
    error: frontmatter.FrontMatterError | None = None
    if block is not None:
        try:
            meta, lines = (read_front or frontmatter.parse_block)(block)
        except frontmatter.FrontMatterError as exc:
            error = exc
        body_raw = text[block.end :]
    else:
        body_raw = text
    body = body_raw.replace("\r\n", "\n")
    kept = meta if read_only else copy.deepcopy(meta)
    source = Source(bom, newline, block, kept, body_raw, body)
    return Document(path, meta, body, source, error, lines)


def _dominant_newline(text: str) -> str:
    crlf = text.count("\r\n")
    if not crlf:
        return "\n"
    return "\r\n" if crlf * 2 >= text.count("\n") else "\n"


def serialise(doc: Document) -> bytes:
    """The bytes to write for ``doc``: identical to what was read when nothing changed."""
    src = doc.source
    newline = src.newline if src else "\n"
    if src is not None and deep_equal(doc.meta, src.meta):
        front = src.block.raw if src.block is not None else ""
    elif src is not None and src.block is not None:
        if doc.front_matter_error is not None:
            raise DocumentError(
                "its front matter cannot be read, so fields cannot be changed; fix the YAML "
                f"first ({doc.front_matter_error})",
                path=doc.path,
                line=doc.front_matter_error.line,
            )
        if src.block.fence == "---":
            opening, closing = _fence_lines(src.block)
            text = frontmatter.patch(src.block.text, src.meta, doc.meta, newline)
            front = opening + text + closing
        else:  # TOML front matter: kbapp writes YAML from then on
            front = _new_front(doc.meta, newline)
    else:
        front = _new_front(doc.meta, newline) if doc.meta else ""
    if src is not None and doc.body == src.body:
        body = src.body_raw
    else:
        body = doc.body.replace("\r\n", "\n")
        if newline != "\n":
            body = body.replace("\n", newline)
    data = (front + body).encode("utf-8")
    return (BOM + data) if src is not None and src.bom else data


def _fence_lines(block: frontmatter.Block) -> tuple[str, str]:
    first_end = block.raw.find("\n") + 1
    opening = block.raw[:first_end]
    closing = block.raw[first_end + len(block.text) :]
    return opening, closing


def _new_front(meta: dict[str, Any], newline: str) -> str:
    return f"---{newline}" + frontmatter.dump_new(meta, newline) + f"---{newline}"


def load(path: Path, relative: str) -> Document:
    """Read and parse the document at ``path`` (``relative`` is how it is named to the user)."""
    data = read_document_bytes(path, relative)
    doc = parse(data, relative)
    if doc.source is not None:
        doc.source = dataclasses.replace(doc.source, disk_digest=digest(data))
    return doc


def changed_on_disk(doc: Document, path: Path) -> bool:
    """True when ``doc`` was read from ``path`` and the file no longer holds those bytes
    (another program saved it, or it was deleted, since)."""
    if doc.source is None or doc.source.disk_digest is None:
        return False
    try:
        return digest(path.read_bytes()) != doc.source.disk_digest
    except FileNotFoundError:
        return True


def write(doc: Document, path: Path) -> bytes:
    """Atomically write ``doc`` to ``path``; returns the bytes written. Afterwards the document
    counts as unmodified (its new text is its source)."""
    data = serialise(doc)
    atomic_write(path, data)
    fresh = parse(data, doc.path)
    doc.meta, doc.body = fresh.meta, fresh.body
    if fresh.source is not None:
        doc.source = dataclasses.replace(fresh.source, disk_digest=digest(data))
    doc.field_lines = fresh.field_lines
    doc.front_matter_error = fresh.front_matter_error
    return data


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
