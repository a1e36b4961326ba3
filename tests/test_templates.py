"""Templates: the five standard ones, and a team's own in .kb/templates."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import write_doc

from kbapp.documents.templates import TemplateLibrary
from kbapp.errors import KbError
from kbapp.workspace import Workspace

STANDARD = {"sop", "runbook", "troubleshooting", "known-error", "post-incident"}


def test_the_standard_templates_declare_what_they_need() -> None:
    library = TemplateLibrary()
    assert set(library.names()) >= STANDARD
    for template in library:
        assert template.version >= 1 and template.type and template.label and template.description
        assert template.required_sections and "title" in template.required_fields
        for section in template.required_sections:
            assert f"## {section}" in template.body, (template.name, section)
            assert template.guidance_only(section, "<!-- guidance -->")
        assert library.problems == []
    capture = library.get("post-incident")
    assert {"Issue", "Environment", "Cause", "Resolution"} <= set(capture.required_sections)
    assert "## Commands" in capture.body and "## Links" in capture.body


def test_instantiate_fills_title_id_owner_and_date() -> None:
    template = TemplateLibrary().get("sop")
    doc = template.instantiate(
        title="Rotate TLS",
        doc_id="kb-12345678",
        path="sops/rotate-tls.md",
        owner_org="partner",
        owners=["noc@partner.example"],
        systems=["payments-api"],
        today=dt.date(2026, 11, 23),
    )
    assert list(doc.meta)[:4] == ["id", "title", "type", "status"]
    assert doc.meta["template"] == "sop/1" and doc.meta["owner_org"] == "partner"
    assert "tags" not in doc.meta  # empty defaults are not written
    assert doc.body.startswith("# Rotate TLS\n")


def test_kb_templates_override_and_add(kb: Workspace) -> None:
    write_doc(
        kb,
        ".kb/templates/sop.md",
        "---\nkbapp-template:\n  name: sop\n  version: 2\n  label: Our SOP\n"
        "  required_sections:\n    - Steps\ntype: sop\n---\n# {{title}}\n\n## Steps\n",
    )
    write_doc(
        kb,
        ".kb/templates/vendor-contact.md",
        "---\nkbapp-template:\n  name: vendor-contact\n  version: 1\n"
        "  label: Vendor contact\ntype: vendor-contact\n---\n# {{title}}\n\n## Contacts\n",
    )
    write_doc(kb, ".kb/templates/broken.md", "no front matter here\n")
    library = kb.templates
    assert library.get("sop").version == 2 and library.get("sop").origin == ".kb/templates/sop.md"
    assert "vendor-contact" in library.types()
    assert any("broken.md" in p for p in library.problems)
    result = kb.create("vendor-contact", "Acme support line")
    assert kb.load(result.path).type == "vendor-contact"


def test_unknown_template_names_the_available_ones() -> None:
    with pytest.raises(KbError, match=r"available: .*runbook"):
        TemplateLibrary().get("recipe")
