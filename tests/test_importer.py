"""Import: foreign front matter is mapped and kept, and the report says what was guessed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import git

from kbapp.documents.importer import import_folder
from kbapp.errors import KbError
from kbapp.workspace import Workspace


@pytest.fixture
def export(tmp_path: Path) -> Path:
    src = tmp_path / "export"
    (src / "sub").mkdir(parents=True)
    (src / "hugo.md").write_text(
        "---\ntitle: Node Down\ntype: docs\nweight: 20\ndraft: true\n---\n# NodeDown\n## Meaning\n## Impact\n## Diagnosis\n"
    )
    (src / "docfx.md").write_text(
        "---\ntitle: Error 0x80070005\ndescription: Access denied\nms.date: 05/25/2020\nms.author: someone\n---\n## Symptoms\n## Cause\n## Resolution\n",
        newline="\r\n",
    )
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
    # ms.date says when the article was written, not that this team reviewed it: its first
    # review is scheduled instead (see test_import_spreads_first_reviews).
    assert docfx.last_reviewed is None and docfx.review_due is not None
    assert (kb.root / "imported/docfx.md").read_bytes().count(b"\r\n") > 5  # CRLF kept

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


def test_import_refuses_its_own_knowledge_base_and_outside_targets(
    kb: Workspace, export: Path
) -> None:
    with pytest.raises(KbError, match="inside the knowledge base"):
        import_folder(kb, kb.root)
    with pytest.raises(KbError, match="outside the knowledge base"):
        import_folder(kb, export, into="../elsewhere")


def _articles(src: Path, count: int, *, dated: str = "01/02/2016") -> Path:
    src.mkdir()
    for number in range(count):
        (src / f"article-{number:03d}.md").write_text(
            f"---\ntitle: Article {number}\nms.date: {dated}\n---\n## Symptoms\nx\n"
            "## Cause\ny\n## Resolution\nz\n"
        )
    return src


def test_import_spreads_first_reviews(kb: Workspace, tmp_path: Path) -> None:
    """An import of old articles does not flood the review queue: first reviews are spread over
    the type's interval, none inside the coming fortnight; a review clears the schedule."""
    from kbapp.lifecycle.review import review_queue
    from kbapp.lifecycle.review_actions import mark_reviewed

    report = import_folder(kb, _articles(tmp_path / "old", 60))
    today = dt.date.today()
    interval = kb.config.review_interval("troubleshooting")
    dues = sorted(kb.load(f.path).review_due for f in report.imported)  # type: ignore[type-var]
    assert dues[0] == today + dt.timedelta(days=15)
    assert dues[-1] < today + dt.timedelta(days=15 + interval)
    assert len(set(dues)) > 30  # spread, not bunched
    assert review_queue(kb.catalog.all(), kb.config, within_days=14) == []
    assert report.reviews == (60, dues[0], dues[-1])
    assert "First reviews of 60 documents" in report.summary()

    later = review_queue(
        kb.catalog.all(),
        kb.config,
        within_days=None,
        today=today + dt.timedelta(days=15 + interval),
    )
    assert len(later) == 60 and all(item.state.value in ("due", "overdue") for item in later)

    first = report.imported[0].path
    mark_reviewed(kb, first)
    assert kb.load(first).review_due is None and kb.load(first).last_reviewed == today


def test_import_review_start_date(kb: Workspace, tmp_path: Path) -> None:
    start = dt.date(2027, 3, 1)
    report = import_folder(kb, _articles(tmp_path / "old", 10), review_start=start)
    dues = sorted(kb.load(f.path).review_due for f in report.imported)  # type: ignore[type-var]
    assert dues[0] == start and dues[-1] < start + dt.timedelta(
        days=kb.config.review_interval("troubleshooting")
    )


def test_import_reports_progress_and_indexes(kb: Workspace, tmp_path: Path) -> None:
    """Progress comes phase by phase, and the first search after an import finds."""
    from kbapp.search.index import SearchIndex

    src = _articles(tmp_path / "old", 120)
    (src / "vpn.md").write_text(
        "# Reset the VPN concentrator\n\n## Procedure\n1. Reboot vpn-gw-01\n"
    )
    seen: list[tuple[str, int, int]] = []
    import_folder(kb, src, progress=lambda phase, done, total: seen.append((phase, done, total)))
    phases = list(dict.fromkeys(phase for phase, _, _ in seen))
    assert phases == ["Reading", "Writing", "Committing", "Cataloguing", "Indexing"]
    assert ("Reading", 121, 121) in seen and ("Writing", 121, 121) in seen
    index = SearchIndex.for_workspace(kb)
    assert not index.needs_rebuild
    hits = index.search("vpn concentrator").hits
    assert hits and hits[0].path == "vpn.md"


def test_import_cli_shows_progress_without_a_terminal(tmp_path: Path, kb: Workspace) -> None:
    from helpers import run_kbapp

    src = _articles(tmp_path / "old", 5)
    result = run_kbapp("--kb", str(kb.root), "import", str(src), "--into", "old")
    assert result.returncode == 0, result.stderr
    for phase in ("Reading", "Writing", "Committing", "Cataloguing", "Indexing"):
        assert phase in result.stderr
    assert "Imported 5 documents" in result.stdout and "First reviews of 5" in result.stdout
