"""Lint: each problem kind, with the file, line and field it names."""

from __future__ import annotations

import datetime as dt
import os

from helpers import write_doc

from kbapp.documents.lint import lint_workspace
from kbapp.workspace import Workspace


def _codes(kb: Workspace, path: str) -> dict[str, tuple[str, int, str]]:
    report = lint_workspace(kb, [path])
    return {p.code + ":" + p.field: (p.severity, p.line, p.message) for p in report.problems}


def test_a_complete_document_from_a_template_is_clean(kb: Workspace) -> None:
    doc = kb.draft_from_template("troubleshooting", "Disk full on db01", systems=["payments-db"])
    for section in ("Symptoms", "Environment", "Cause", "Resolution", "More information"):
        doc.body = doc.body.replace(
            f"## {section}\n", f"## {section}\n\nReal text about {section}.\n"
        )
    doc.meta["status"] = "published"
    kb.save(doc)
    report = lint_workspace(kb, [doc.path])
    assert report.problems == []


def test_schema_problems_name_field_and_line(kb: Workspace) -> None:
    write_doc(
        kb,
        "bad.md",
        "---\nid: kb-xyz\ntitle: Bad\ntype: recipe\nstatus: publised\nowner_org: acme\n"
        "sensitivity: secret\nreview:\n  interval_days: -3\n  last_reviewed: someday\ntags: [a, b]\n---\n# Bad\n",
    )
    codes = _codes(kb, "bad.md")
    assert codes["invalid-value:id"][:2] == ("error", 2)
    assert (
        codes["unknown-type:type"][:2] == ("error", 4)
        and "known types: known-error" in codes["unknown-type:type"][2]
    )
    assert codes["invalid-value:status"][:2] == ("error", 5)
    assert codes["unknown-org:owner_org"][:2] == ("error", 6)
    assert codes["invalid-value:sensitivity"][:2] == ("error", 7)
    assert codes["invalid-value:review.interval_days"][:2] == ("error", 9)
    assert codes["invalid-value:review.last_reviewed"][:2] == ("error", 10)
    assert codes["flow-list:tags"][0] == "warning"


def test_broken_yaml_is_one_error_with_its_line(kb: Workspace) -> None:
    write_doc(kb, "broken.md", "---\ntitle: ok\nsystems: [a\n---\n# x\n")
    codes = _codes(kb, "broken.md")
    severity, line, message = codes["front-matter:"]
    assert severity == "error" and line in (3, 4) and "not valid YAML" in message


def test_duplicate_ids(kb: Workspace) -> None:
    text = "---\nid: kb-11111111\ntitle: {t}\ntype: sop\nstatus: draft\nowner_org: internal\n---\n"
    write_doc(kb, "one.md", text.format(t="One"))
    write_doc(kb, "two.md", text.format(t="Two"))
    codes = _codes(kb, "one.md")
    assert codes["duplicate-id:id"][2] == "kb-11111111 is also used by two.md"


def test_links_that_point_nowhere(kb: Workspace) -> None:
    write_doc(
        kb,
        "a/target.md",
        "---\nid: kb-22222222\ntitle: Target\ntype: sop\nstatus: draft\nowner_org: internal\n---\n",
    )
    write_doc(
        kb,
        "a/source.md",
        "---\nid: kb-33333333\ntitle: Source\ntype: sop\nstatus: draft\nowner_org: internal\n"
        "related:\n  - kb-22222222\n  - kb-99999999\n---\n# Source\n\nOk: [t](target.md) [[kb-22222222]] [[Target]]\n"
        "Bad: [x](missing.md) [[kb-44444444]] [[No such title]]\n\n```\n[[kb-55555555]] in code is fine\n```\n",
    )
    report = lint_workspace(kb, ["a/source.md"])
    broken = sorted((p.line, p.message) for p in report.problems if p.code == "broken-link")
    assert broken == [
        (9, "related document kb-99999999 does not exist"),
        (14, "link [[No such title]] points to no document"),
        (14, "link [[kb-44444444]] points to no document"),
        (14, "link missing.md points to no document"),
    ]


def test_required_sections_and_placeholders_depend_on_status(kb: Workspace) -> None:
    doc = kb.draft_from_template("runbook", "VpnTunnelDown", systems=["vpn"])
    doc.body = doc.body.replace("## Escalation", "## Escalation\n\nCall the partner NOC.")
    doc.body = doc.body.replace("## Mitigation", "## Removed")
    kb.save(doc)
    draft = _codes(kb, doc.path)
    assert (
        draft["missing-section:"][0] == "warning"
        and "'## Mitigation'" in draft["missing-section:"][2]
    )
    assert draft["placeholder-section:"][0] == "warning"
    doc = kb.load(doc.path)
    doc.meta["status"] = "published"
    kb.save(doc)
    published = _codes(kb, doc.path)
    assert published["missing-section:"][0] == "error"
    assert published["placeholder-section:"][0] == "error"
    heading_line = next(
        i
        for i, line in enumerate((kb.root / doc.path).read_text().split("\n"), 1)
        if line == "## Meaning"
    )
    assert any(
        p.line == heading_line
        for p in lint_workspace(kb, [doc.path]).problems
        if p.code == "placeholder-section"
    )


def test_files_without_front_matter_get_a_gentle_warning(kb: Workspace) -> None:
    write_doc(kb, "plain.md", "# Plain\n\nText.\n")
    assert _codes(kb, "plain.md") == {
        "no-front-matter:": (
            "warning",
            1,
            "no front matter yet; kbapp adds it (id, type, status...) when the document is saved",
        )
    }


def test_internal_document_in_shared_kb_is_an_error(kb: Workspace) -> None:
    write_doc(
        kb,
        "secret.md",
        "---\nid: kb-66666666\ntitle: S\ntype: sop\nstatus: draft\nowner_org: internal\nsensitivity: internal\n---\n",
    )
    assert _codes(kb, "secret.md")["sensitivity:sensitivity"][0] == "error"


def test_a_second_lint_reuses_only_what_nothing_changed(kb: Workspace) -> None:
    """The health view's Refresh lints every document again (~5 s on 5,864): a document
    whose bytes, and every id, title and path, are as the last lint saw them keeps its
    problems; any change to one of them is checked anew."""
    head = "---\nid: kb-{n}\ntitle: {t}\ntype: sop\nstatus: draft\nowner_org: internal\n---\n"
    write_doc(kb, "a.md", head.format(n="a0000001", t="Alpha") + "See [[Beta]].\n")
    write_doc(kb, "b.md", head.format(n="b0000001", t="Beta") + "Body.\n")

    def broken() -> list[tuple[str, str]]:
        report = lint_workspace(kb)
        return sorted((p.path, p.message) for p in report.problems if p.code == "broken-link")

    assert broken() == []
    assert broken() == []  # again, nothing changed
    # another document's title changes: a.md's link breaks though a.md did not change
    write_doc(kb, "b.md", head.format(n="b0000001", t="Gamma") + "Body.\n")
    assert broken() == [("a.md", "link [[Beta]] points to no document")]
    # a.md itself changes on disk after the catalog last read it: checked anew, not reused
    kb.refresh()
    (kb.root / "a.md").write_text(
        head.format(n="a0000001", t="Alpha") + "See [[Gamma]].\n", encoding="utf-8"
    )
    os.utime(kb.root / "a.md", ns=(1_000_000_000, 1_000_000_000))  # unlike the catalog's
    stale = lint_workspace(kb, refresh=False).problems
    assert [p for p in stale if p.code == "broken-link"] == []
    assert broken() == []


def test_a_second_lint_sees_a_linked_file_that_came_or_went(kb: Workspace) -> None:
    """A document's problems kept from the last lint depend on every file its links point
    to, not only on the documents: a linked Markdown file that is no document (kbapp lists
    ``.md`` files only, so ``old.markdown`` is none) removed, or put back, since the last
    lint breaks, or mends, the link though no document changed."""
    head = (
        "---\nid: kb-c0000001\ntitle: Tunnel\ntype: sop\nstatus: draft\nowner_org: internal\n---\n"
    )
    write_doc(kb, "net/vpn.md", head + "See [the old notes](legacy/old.markdown).\n")
    linked = write_doc(kb, "net/legacy/old.markdown", "# Old notes\n")

    def broken() -> list[tuple[str, str]]:
        report = lint_workspace(kb)
        return sorted((p.path, p.message) for p in report.problems if p.code == "broken-link")

    assert broken() == []
    linked.unlink()
    assert broken() == [("net/vpn.md", "link legacy/old.markdown points to no document")]
    write_doc(kb, "net/legacy/old.markdown", "# Old notes\n")
    assert broken() == []


def test_a_kept_lint_result_is_not_carried_past_the_day_it_was_made(kb: Workspace) -> None:
    """The window stays open over midnight: "last_reviewed is in the future" of a review
    dated tomorrow no longer holds tomorrow, though the document did not change."""
    head = "---\nid: kb-d0000001\ntitle: Dated\ntype: sop\nstatus: draft\nowner_org: internal\n"
    write_doc(kb, "dated.md", head + "review:\n  last_reviewed: 2030-01-02\n---\n# Dated\n")

    def future(today: dt.date) -> list[str]:
        report = lint_workspace(kb, today=today)
        return [p.message for p in report.problems if p.field == "review.last_reviewed"]

    assert future(dt.date(2030, 1, 1)) == ["last_reviewed is in the future"]
    assert future(dt.date(2030, 1, 2)) == []
    assert future(dt.date(2030, 1, 1)) == ["last_reviewed is in the future"]
