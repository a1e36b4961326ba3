"""The document schema, docs/format.md's field table and the standard templates agree."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from kbapp.bundled import templates_dir
from kbapp.catalog import Entry
from kbapp.config import KbConfig
from kbapp.documents import schema
from kbapp.documents.model import Document
from kbapp.documents.templates import TEMPLATE_KEY, TemplateLibrary, parse_template

FORMAT_MD = Path(__file__).resolve().parent.parent / "docs" / "format.md"

_TYPE_WORDS = {str: "text", int: "number of days", dict: "map", dt.date: "date"}
_VOCABULARY_WORDS = {
    "templates": "a template's type",
    "organisations": "an organisation",
    "parties": "organisations, e-mail addresses",
    "ids": "document ids",
}


def _type_words(fld: schema.Field) -> str:
    if fld.value_type is list:
        return "list of " + ("text" if fld.items is str else "maps")
    return _TYPE_WORDS[fld.value_type]


def table_row(fld: schema.Field) -> list[str]:
    """How docs/format.md describes ``fld``: one row of its field table."""
    values = ", ".join(fld.allowed) if fld.allowed else _VOCABULARY_WORDS.get(fld.vocabulary, "")
    return [
        f"`{fld.name}`",
        _type_words(fld),
        values,
        f"`{fld.default}`" if fld.default else "",
        fld.required,
        fld.merge.value,
        f"`{fld.catalog}`" if fld.catalog else "",
    ]


def _doc_table() -> tuple[list[str], list[list[str]]]:
    text = FORMAT_MD.read_text(encoding="utf-8")
    start = text.index("| Field |")
    lines = []
    for line in text[start:].splitlines():
        if not line.startswith("|"):
            break
        lines.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return lines[0], lines[2:]


def test_format_md_field_table_is_the_schema() -> None:
    header, rows = _doc_table()
    assert header == ["Field", "Type", "Values", "Default", "Missing", "Merge", "Catalog"]
    assert [row[0] for row in rows] == [f"`{f.name}`" for f in schema.FIELDS], (
        "docs/format.md lists other fields, or in another order, than kbapp.documents.schema"
    )
    for row, fld in zip(rows, schema.FIELDS):
        assert row == table_row(fld), fld.name


def test_format_md_example_names_every_type_and_status_the_templates_have() -> None:
    text = FORMAT_MD.read_text(encoding="utf-8")
    type_line = re.search(r"^type: \S+ +# (.+)$", text, re.M)
    status_line = re.search(r"^status: \S+ +# (.+)$", text, re.M)
    sensitivity_line = re.search(r"^sensitivity: \S+ +# (.+)$", text, re.M)
    assert type_line and status_line and sensitivity_line
    documented = {t.strip() for t in type_line.group(1).split("|")}
    assert set(TemplateLibrary().types()) <= documented
    assert [s.strip() for s in status_line.group(1).split("|")] == list(schema.STATUSES)
    assert [s.strip() for s in sensitivity_line.group(1).split("|")] == list(schema.SENSITIVITIES)
    example = text[text.index("```markdown") : text.index("```", text.index("```markdown") + 3)]
    keys = re.findall(r"^([a-z_]+):", example, re.M)
    assert keys == [k for k in schema.ORDER if k in keys], "the example is not in written order"


_TEMPLATES = sorted(p.name for p in templates_dir().iterdir() if p.name.endswith(".md"))


@pytest.mark.parametrize("name", _TEMPLATES)
def test_standard_template_fields_are_schema_fields(name: str) -> None:
    data = templates_dir().joinpath(name).read_bytes()
    template = parse_template(data, name)
    for key, value in template.meta.items():
        assert key in schema.ORDER, f"{name}: {key} is not a field of the schema"
        fld = schema.field(key)
        assert isinstance(value, fld.value_type), f"{name}: {key} is not {fld.value_type}"
        if isinstance(value, dict):
            for sub in value:
                assert f"{key}.{sub}" in schema.BY_NAME, f"{name}: {key}.{sub} is unknown"
        if fld.allowed:
            assert value in fld.allowed, f"{name}: {key}: {value!r}"
        if fld.default not in (None, ""):
            assert value == fld.default, f"{name}: {key} starts other than a document without it"
    for required in template.required_fields:
        assert required in schema.BY_NAME, f"{name}: requires {required}, not a schema field"
    interval = schema.value_at(template.meta, "review.interval_days")
    assert interval == KbConfig().review_interval(template.type), (
        f"{name}: reviewed every {interval} days, the configuration's default differs"
    )
    assert TEMPLATE_KEY not in template.meta


def test_a_new_document_is_written_in_schema_order() -> None:
    template = TemplateLibrary().get("runbook")
    doc = template.instantiate(
        title="Fail over", doc_id="kb-00000001", path="a.md", owner_org="internal", tags=["x"]
    )
    keys = list(doc.meta)
    assert keys == sorted(keys, key=schema.rank)
    assert keys[:4] == ["id", "title", "type", "status"] and keys[-1] == "template"


def test_catalogued_fields_have_columns_and_document_properties() -> None:
    columns = set(Entry.__table__.columns.keys())
    bare = Document("a.md", {})  # no front matter at all: every field takes its default
    for fld in schema.CATALOGUED:
        assert fld.catalog in columns, fld.name
        assert hasattr(bare, fld.attribute), fld.name
    for fld in schema.FIELDS:
        if fld.default is not None:
            assert getattr(bare, fld.attribute) == fld.default, fld.name


def test_field_problems_name_what_is_wrong() -> None:
    assert schema.field("status").problem("done") == (
        "is not one of draft, in-review, published, retired"
    )
    assert schema.field("status").problem("published") is None
    assert schema.field("sensitivity").problem("secret") == "is not 'shared' or 'internal'"
    assert schema.field("id").problem("kb-3f9c2a1e") is None
    assert schema.field("id").problem("KB-1") == "is not an id like kb-3f9c2a1e"
    assert schema.field("review.interval_days").problem(0) is not None
    assert schema.field("review.interval_days").problem(True) is not None
    assert schema.field("review.interval_days").problem(90) is None
    assert schema.field("review.last_reviewed").problem("2026-02-30") is not None
    assert schema.field("review.last_reviewed").problem(dt.date(2026, 1, 2)) is None
    assert schema.field("title").problem(["anything"]) is None


def test_merge_rules_match_the_value_shapes() -> None:
    for fld in schema.FIELDS:
        if fld.value_type is list:
            assert fld.merge is schema.Merge.SET, fld.name
        elif fld.value_type is dict:
            assert fld.merge is schema.Merge.MAP, fld.name
        else:
            assert fld.merge not in (schema.Merge.SET, schema.Merge.MAP), fld.name
    assert schema.merge_rule("custom_field") is schema.Merge.SCALAR
    assert set(schema.STATUS_RANK) == set(schema.STATUSES)


def test_every_status_has_its_badge_colour() -> None:
    from kbapp.ui.style import BADGE_COLOURS

    assert set(schema.STATUSES) <= set(BADGE_COLOURS)
