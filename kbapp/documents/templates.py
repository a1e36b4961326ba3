"""Document templates: the standard ones shipped in ``templates/`` and a team's own in
``.kb/templates/`` (same name overrides, a new name adds a type).

A template is itself a Markdown document. Its front matter holds the defaults new documents
start with, plus a ``kbapp-template`` block declaring its name, version, type, the fields a
document of this kind must fill and the sections it must have. Guidance for the writer is in
HTML comments (``<!-- ... -->``): visible in the editor, invisible when rendered, and lint
knows a section that still holds only guidance has not been written yet.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from kbapp.bundled import templates_dir
from kbapp.documents import model as documents
from kbapp.documents import schema
from kbapp.errors import DocumentError, KbError

TEMPLATE_KEY = "kbapp-template"
_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
_VARIABLE_RE = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


@dataclass
class Template:
    name: str
    version: int
    type: str
    label: str
    description: str
    required_fields: list[str]
    required_sections: list[str]
    meta: dict[str, Any]
    body: str
    origin: str = "built-in"
    #: Section name (lower case) -> the example text the template puts there.
    section_text: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ref(self) -> str:
        """What a document records in its ``template`` field: ``sop/1``."""
        return f"{self.name}/{self.version}"

    def instantiate(
        self,
        *,
        title: str,
        doc_id: str,
        path: str,
        owner_org: str = "",
        owners: list[str] | None = None,
        systems: list[str] | None = None,
        tags: list[str] | None = None,
        today: dt.date | None = None,
        variables: dict[str, str] | None = None,
    ) -> documents.Document:
        """A new, unsaved document from this template."""
        today = today or dt.date.today()
        meta = copy.deepcopy(self.meta)
        meta["id"] = doc_id
        meta["title"] = title
        meta.setdefault("type", self.type)
        meta.setdefault("status", schema.default("status"))
        if owner_org:
            meta["owner_org"] = owner_org
        if owners:
            meta["owners"] = list(owners)
        if systems:
            meta["systems"] = list(systems)
        if tags:
            meta["tags"] = list(tags)
        _fill_responsibility(meta, owner_org, (owners or [""])[0])
        meta["template"] = self.ref
        values = {
            "title": title,
            "date": today.isoformat(),
            "id": doc_id,
            "org": owner_org,
            "systems": ", ".join(systems or []),
            "owner": (owners or [""])[0],
        }
        values.update(variables or {})
        body = _VARIABLE_RE.sub(lambda m: values.get(m.group(1), m.group(0)), self.body)
        ordered = {k: meta[k] for k in _ordered_keys(meta)}
        # Drop empty defaults so a new file does not start with "owners: []".
        ordered = {k: v for k, v in ordered.items() if v not in ([], "", None)}
        return documents.Document(path=path, meta=ordered, body=body)

    def guidance_only(self, section: str, text: str) -> bool:
        """True when ``text`` (a section's content) is still the template's placeholder."""
        written = _COMMENT_RE.sub("", text).strip()
        if not written:
            return True
        example = self.section_text.get(section.lower(), "")
        return bool(example) and _squash(written) == _squash(example)


def _fill_responsibility(meta: dict[str, Any], owner_org: str, owner: str) -> None:
    """Templates that carry ``responsible``/``accountable`` (empty) start with the writer's own
    organisation in them, and an ``escalation`` step with blanks starts as the writer's
    organisation and address: a first answer for the writer to correct, not a blank to forget."""
    for role in ("responsible", "accountable"):
        if meta.get(role) == [] and owner_org:
            meta[role] = [owner_org]
    steps = meta.get("escalation")
    if isinstance(steps, list):
        for step in steps:
            if isinstance(step, dict):
                if not step.get("org") and owner_org:
                    step["org"] = owner_org
                if not step.get("contact") and not step.get("rotation") and owner:
                    step["contact"] = owner
        meta["escalation"] = [
            s
            for s in steps
            if not isinstance(s, dict) or s.get("org") or s.get("contact") or s.get("rotation")
        ]


def _squash(text: str) -> str:
    return " ".join(text.split())


def _ordered_keys(meta: dict[str, Any]) -> list[str]:
    known = [k for k in schema.ORDER if k in meta]
    return known + [k for k in meta if k not in known]


def section_texts(body: str) -> dict[str, str]:
    """Level-2 sections of a body: lower-cased heading -> text up to the next level-1/2 heading."""
    sections: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    in_fence = False
    for line in body.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        heading = None if in_fence else re.match(r"^(#{1,2})[ \t]+(.+?)[ \t#]*$", line)
        if heading:
            if current is not None:
                sections[current] = "\n".join(lines).strip()
            current = heading.group(2).strip().lower() if len(heading.group(1)) == 2 else None
            lines = []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines).strip()
    return sections


def parse_template(data: bytes, origin: str) -> Template:
    doc = documents.parse(data, origin)
    if doc.front_matter_error is not None:
        raise DocumentError(f"template front matter: {doc.front_matter_error}", path=origin)
    spec = doc.meta.get(TEMPLATE_KEY)
    if not isinstance(spec, dict) or not spec.get("name"):
        raise DocumentError(f"a template needs a '{TEMPLATE_KEY}' block with a name", path=origin)
    meta = {k: v for k, v in doc.meta.items() if k != TEMPLATE_KEY}
    doc_type = str(spec.get("type") or meta.get("type") or spec["name"])
    meta["type"] = doc_type
    try:
        version = int(spec.get("version", 1))
    except (TypeError, ValueError):
        raise DocumentError("template version must be a whole number", path=origin) from None
    return Template(
        name=str(spec["name"]),
        version=version,
        type=doc_type,
        label=str(spec.get("label") or spec["name"]),
        description=str(spec.get("description") or ""),
        required_fields=[str(f) for f in spec.get("required_fields") or []],
        required_sections=[str(s) for s in spec.get("required_sections") or []],
        meta=meta,
        body=doc.body,
        origin=origin,
        section_text={
            k: _COMMENT_RE.sub("", v).strip() for k, v in section_texts(doc.body).items()
        },
    )


class TemplateLibrary:
    """Built-in templates overlaid by the knowledge base's ``.kb/templates``."""

    def __init__(self, kb_root: Path | None = None) -> None:
        self.templates: dict[str, Template] = {}
        self.problems: list[str] = []
        self._load_dir(templates_dir(), "built-in")
        if kb_root is not None:
            custom = kb_root / ".kb" / "templates"
            if custom.is_dir():
                self._load_dir(custom, ".kb/templates")

    def _load_dir(self, folder: Traversable | Path, label: str) -> None:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
        for entry in entries:
            if not entry.name.endswith(".md") or not entry.is_file():
                continue
            origin = f"{label}/{entry.name}" if label != "built-in" else entry.name
            try:
                template = parse_template(entry.read_bytes(), origin)
            except KbError as exc:
                self.problems.append(str(exc))
                continue
            self.templates[template.name] = template

    def __iter__(self) -> Iterator[Template]:
        return iter(self.templates.values())

    def names(self) -> list[str]:
        return list(self.templates)

    def types(self) -> list[str]:
        return sorted({t.type for t in self.templates.values()})

    def get(self, name: str) -> Template:
        template = self.templates.get(name) or next(
            (t for t in self.templates.values() if t.type == name), None
        )
        if template is None:
            raise KbError(
                f"there is no template called {name!r}; available: {', '.join(self.names())}"
            )
        return template

    def for_document(self, doc: documents.Document) -> Template | None:
        """The template a document was made from (its ``template`` field), else its type's."""
        name = doc.template.split("/", 1)[0]
        return self.templates.get(name) or next(
            (t for t in self.templates.values() if t.type == doc.type), None
        )
