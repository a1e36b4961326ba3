"""Import: foreign front matter is mapped and kept, and the report says what was guessed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import git

from kbapp.errors import KbError
from kbapp.importer import import_folder
from kbapp.workspace import Workspace


@pytest.fixture
def export(tmp_path: Path) -> Path:
    src = tmp_path / "export"
    (src / "sub").mkdir(parents=True)
    (src / "hugo.md").write_text("---\ntitle: Node Down\ntype: docs\nweight: 20\ndraft: true\n---\n# NodeDown\n## Meaning\n## Impact\n## Diagnosis\n")
    (src / "docfx.md").write_text("---\ntitle: Error 0x80070005\ndescription: Access denied\nms.date: 05/25/2020\nms.author: someone\n---\n## Symptoms\n## Cause\n## Resolution\n", newline="\r\n")
    (src / "sub/plain.md").write_text("# Reset the VPN\n\n## Procedure\n1. x\n## Rollback\n")
    (src / "sub/latin.md").write_bytes("# Caf\xe9 menu\n".encode("cp1252"))
    (src / ".hidden/secret.md").parent.mkdir()
    (src / ".hidden/secret.md").write_text("# hidden\n")
    return src


def test_import_maps_and_keeps_foreign_front_matter(kb: Workspace, export: Path) -> None:
    report = import_folder(kb, export, into="imported")
    by_source = {f.source: f for f in report.imported}
    assert sorted(by_source) == ["docfx.md", "hugo.md", "sub/latin.md", "sub/plain.md"]

    hugo = kb.load("imported/hugo.md")
    assert hugo.type == "runbook" and hugo.meta["source_type"] == "docs"
    assert hugo.status == "draft"  # Hugo draft: true
    assert hugo.meta["weight"] == 20 and hugo.title == "Node Down"

    docfx = kb.load("imported/docfx.md")
    assert docfx.type == "troubleshooting" and docfx.status == "published"
    assert docfx.meta["ms.author"] == "someone" and docfx.meta["description"] == "Access denied"
    assert docfx.last_reviewed == dt.date(2020, 5, 25)
    assert (kb.root / "imported/docfx.md").read_bytes().count(b"\r\n") > 5  # CRLF kept
    assert "last_reviewed from ms.date" in by_source["docfx.md"].notes

    plain = kb.load("imported/sub/plain.md")
    assert plain.type == "sop" and plain.title == "Reset the VPN" and plain.owner_org == "internal"
    assert "Windows-1252" in by_source["sub/latin.md"].notes[0]
    assert kb.load("imported/sub/latin.md").title == "Café menu"

    assert git(kb.root, "log", "-1", "--format=%s") == "Import: 4 documents from export"
    assert git(kb.root, "status", "--porcelain") == ""
    assert kb.catalog.count() == 4


def test_import_never_overwrites(kb: Workspace, export: Path) -> None:
    import_folder(kb, export, into="imported")
    again = import_folder(kb, export, into="imported")
    assert again.imported == [] and len(again.skipped) == 4 and again.commit is None
    assert "already exists" in again.skipped[0][1]


def test_import_refuses_its_own_knowledge_base_and_outside_targets(kb: Workspace, export: Path) -> None:
    with pytest.raises(KbError, match="inside the knowledge base"):
        import_folder(kb, kb.root)
    with pytest.raises(KbError, match="outside the knowledge base"):
        import_folder(kb, export, into="../elsewhere")
