"""The health report against a fixture knowledge base whose every figure is known.

The fixture's history is made with plain git and backdated commits from both organisations
(one with a ``KB-Org`` trailer as kbapp writes, one identified only by e-mail domain), so the
12-month trends are known too. The report is "as of" 2026-06-15; "this period" is 90 days,
from 2026-03-17.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
from lifecycle_helpers import at, commit_at, doc_text

from kbapp.lifecycle.activity import activity_for
from kbapp.lifecycle.report import (
    HealthReport,
    build_report,
    csv_tables,
    render_html,
    with_lint,
    write_csv,
)
from kbapp.lifecycle.trends import month_keys, trends
from kbapp.workspace import Workspace

TODAY = dt.date(2026, 6, 15)
ANA = {"email": "ana@internal.example", "name": "Ana Ribeiro", "org": "internal"}
JO = {"email": "jo@partner.example", "name": "Jo Okafor"}  # no trailer: org from the domain

R1 = dict(doc_type="runbook", org="internal", owners=["ana@internal.example"])
R2 = dict(
    doc_type="runbook", org="partner", owners=["jo@partner.example"], incidents=["INC-1", "INC-2"]
)
R3 = dict(doc_type="runbook", org="partner", owners=["jo@partner.example"])
P1 = dict(
    doc_type="post-incident", org="internal", owners=["ana@internal.example"], incidents=["INC-1"]
)


def _build(kb: Workspace) -> None:
    root = kb.root
    broken = "See [[kb-deadbeef]] first.\n"
    commit_at(
        root,
        "2025-06-20",
        "Create: Old known error",
        {"k1.md": doc_text("kb-00000007", "Old known error", doc_type="known-error")},
        **ANA,
    )
    commit_at(
        root,
        "2025-07-05",
        "Import: 2 documents",
        {
            "r1.md": doc_text(
                "kb-00000001",
                "Restart the API",
                last_reviewed="2025-07-01",
                incidents=["INC-1"],
                body=broken,
                **R1,
            ),  # type: ignore[arg-type]
            "s1.md": doc_text("kb-00000004", "Onboard a laptop", doc_type="sop"),
        },
        **ANA,
    )
    commit_at(
        root,
        "2025-09-12",
        "Add our runbooks",
        {
            "r2.md": doc_text(
                "kb-00000002", "Fail over the database", last_reviewed="2025-12-01", **R2
            ),  # type: ignore[arg-type]
            "r3.md": doc_text("kb-00000003", "Clear the mail queue", **R3),  # type: ignore[arg-type]
            "t1.md": doc_text(
                "kb-00000006",
                "VPN drops every hour",
                doc_type="troubleshooting",
                status="in-review",
                org="partner",
                owners=["jo@partner.example", "ana@internal.example"],
                last_reviewed="2025-06-01",
                interval=365,
            ),
        },
        **JO,
    )
    commit_at(
        root,
        "2025-12-01",
        "Capture INC-2",
        {
            "p2.md": doc_text(
                "kb-00000009",
                "Printer outage",
                doc_type="post-incident",
                status="draft",
                org="partner",
                owners=["jo@partner.example"],
                incidents=["INC-2"],
            )
        },
        **JO,
    )
    commit_at(
        root,
        "2026-01-15",
        "Create: Offboard a laptop",
        {
            "s2.md": doc_text(
                "kb-00000005",
                "Offboard a laptop",
                doc_type="sop",
                status="draft",
                owners=["ana@internal.example"],
            )
        },
        **ANA,
    )
    commit_at(
        root,
        "2026-02-10",
        "Typo",
        {
            "r1.md": doc_text(
                "kb-00000001",
                "Restart the API",
                last_reviewed="2025-07-01",
                incidents=["INC-1"],
                body=broken + "Fixed a typo.\n",
                **R1,
            )
        },
        **ANA,
    )  # type: ignore[arg-type]
    commit_at(
        root,
        "2026-03-01",
        "reviewed failover",
        {
            "r2.md": doc_text(
                "kb-00000002", "Fail over the database", last_reviewed="2026-03-01", **R2
            )
        },
        **JO,
    )  # type: ignore[arg-type]
    commit_at(
        root,
        "2026-03-25",
        "reviewed mail queue",
        {
            "r3.md": doc_text(
                "kb-00000003", "Clear the mail queue", last_reviewed="2026-03-25", **R3
            )
        },
        **JO,
    )  # type: ignore[arg-type]
    commit_at(
        root,
        "2026-04-10",
        "Retire: Old known error",
        {
            "k1.md": doc_text(
                "kb-00000007", "Old known error", doc_type="known-error", status="retired"
            )
        },
        **ANA,
    )
    commit_at(
        root,
        "2026-05-01",
        "Review: Restart the API",
        {
            "r1.md": doc_text(
                "kb-00000001",
                "Restart the API",
                last_reviewed="2026-05-01",
                incidents=["INC-1"],
                body=broken + "Fixed a typo.\n",
                **R1,
            )
        },
        **ANA,
    )  # type: ignore[arg-type]
    commit_at(
        root,
        "2026-05-20",
        "Capture: Checkout errors",
        {"p1.md": doc_text("kb-00000008", "Checkout errors", **P1)},
        **ANA,
    )  # type: ignore[arg-type]
    commit_at(
        root,
        "2026-06-01",
        "Review: Checkout errors",
        {"p1.md": doc_text("kb-00000008", "Checkout errors", last_reviewed="2026-06-01", **P1)},
        **ANA,
    )  # type: ignore[arg-type]

    store = activity_for(kb)
    for when in ("2026-06-01 10:00", "2026-06-02 10:00", "2026-06-03 10:00"):
        store.record_open("kb-00000003", at=at(when))
    store.record_open("kb-00000001", at=at("2026-06-04 10:00"))
    store.record_open("kb-00000002", at=at("2026-01-04 10:00"))  # before the period
    for when, query, hits in [
        ("2026-05-01 09:00", "ORA-00060", 0),
        ("2026-05-02 09:00", "ora-00060", 0),
        ("2026-05-03 09:00", "ORA-00060 ", 0),
        ("2026-05-04 09:00", "vpn split tunnel", 0),
        ("2026-05-05 09:00", "restart api", 2),
        ("2026-01-05 09:00", "forgotten", 0),
    ]:
        store.record_search(query, hits, at=at(when))
    store.record_feedback("kb-00000001", True, at=at("2026-06-01 11:00"))
    store.record_feedback("kb-00000001", True, at=at("2026-06-02 11:00"))
    store.record_feedback(
        "kb-00000001", False, comment='=HYPERLINK("http://evil")', at=at("2026-06-03 11:00")
    )
    kb.refresh()


@pytest.fixture
def report(kb: Workspace) -> HealthReport:
    _build(kb)
    return build_report(kb, today=TODAY, period_days=90)


def test_documents_by_type_status_and_organisation(report: HealthReport) -> None:
    assert report.documents == 9 and report.unreadable == 0
    assert report.by_type == {
        "known-error": {"retired": 1},
        "post-incident": {"published": 1, "draft": 1},
        "runbook": {"published": 3},
        "sop": {"published": 1, "draft": 1},
        "troubleshooting": {"in-review": 1},
    }
    assert report.by_org == {
        "internal": {"published": 3, "draft": 1, "retired": 1},
        "partner": {"published": 2, "in-review": 1, "draft": 1},
    }
    assert report.status_total("published") == 5


def test_reviews_per_organisation_and_owner(report: HealthReport) -> None:
    assert report.review_by_org == {
        "internal": {"overdue": 0, "due": 0, "never": 1, "ok": 2},
        "partner": {"overdue": 2, "due": 1, "never": 0, "ok": 0},
    }
    assert report.review_by_owner == {
        "jo@partner.example": {"overdue": 2, "due": 1, "never": 0, "ok": 0},
        "ana@internal.example": {"overdue": 1, "due": 0, "never": 0, "ok": 2},
        "(no owner)": {"overdue": 0, "due": 0, "never": 1, "ok": 0},
    }
    assert [(i.title, i.state.value, i.info.days_left) for i in report.review_items] == [
        ("Fail over the database", "overdue", -16),  # 2026-03-01 + 90
        ("VPN drops every hour", "overdue", -14),  # 2025-06-01 + its own 365
        ("Onboard a laptop", "never", None),
        ("Clear the mail queue", "due", 8),  # 2026-03-25 + 90
    ]
    assert [d.title for d in report.without_owners] == ["Onboard a laptop"]  # retired ones aside


def test_quality_usage_incidents_and_gaps(report: HealthReport) -> None:
    assert report.lint_errors == 1
    assert [(p.path, p.message) for p in report.broken_links] == [
        ("r1.md", "link [[kb-deadbeef]] points to no document")
    ]
    assert report.lint_by_code == {"broken-link": 1}
    assert [
        (u.doc.title, u.incidents, u.opens, u.helpful, u.not_helpful) for u in report.most_used
    ] == [
        ("Fail over the database", 2, 0, 0, 0),
        ("Restart the API", 1, 1, 2, 1),
        ("Clear the mail queue", 0, 3, 0, 0),
    ]
    assert [(c.doc.title, c.date, c.org, c.incidents) for c in report.captured] == [
        ("Checkout errors", dt.date(2026, 5, 20), "internal", ("INC-1",))
    ]
    assert [(g.query, g.times) for g in report.content_gaps] == [
        ("ORA-00060", 3),
        ("vpn split tunnel", 1),
    ]
    assert [(f.doc.title, f.helpful, f.not_helpful) for f in report.feedback] == [
        ("Restart the API", 2, 1)
    ]


def test_trends_from_one_pass_over_git_history(kb: Workspace, report: HealthReport) -> None:
    history = report.trends
    assert history.months == month_keys(TODAY) and history.months[0] == "2025-07"
    assert history.orgs == ["internal", "partner"]
    created = history.table("created")
    assert {m: n for m, n in created["internal"].items() if n} == {
        "2025-07": 2,
        "2026-01": 1,
        "2026-05": 1,
    }  # k1.md (2025-06) is before the window
    assert {m: n for m, n in created["partner"].items() if n} == {"2025-09": 3, "2025-12": 1}
    reviewed = history.table("reviewed")
    assert {m: n for m, n in reviewed["partner"].items() if n} == {"2026-03": 2}
    assert {m: n for m, n in reviewed["internal"].items() if n} == {"2026-05": 1, "2026-06": 1}
    assert history.count("retired") == 1 and history.count("retired", "2026-04", "internal") == 1
    # a different "today" moves the window: as of 2026-03-31 the May review has not happened
    earlier = trends(kb, today=dt.date(2026, 3, 31))
    assert earlier.count("reviewed") == 2 and earlier.months[-1] == "2026-03"


def test_html_is_one_self_contained_printable_file(report: HealthReport) -> None:
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)  # nothing remote
    assert "@media print" in page and "@page" in page
    assert page.count("<svg") == 3 + 2  # created/reviewed/retired + one bar per organisation
    assert "Fail over the database" in page and "ORA-00060" in page
    assert "Documents created per month and organisation" in page
    # the summary tiles show the known figures
    for figure, label in [
        (9, "documents"),
        (2, "reviews overdue"),
        (1, "reviews due within 14 days"),
        (1, "never reviewed"),
        (1, "without owners"),
        (1, "lint errors"),
        (1, "broken links"),
        (1, "incidents captured this period"),
        (2, "searches that found nothing"),
    ]:
        assert f'<span class="n">{figure}</span><span class="l">{label}</span>' in page


def test_untrusted_text_is_escaped_in_html(kb: Workspace) -> None:
    commit_at(
        kb.root,
        "2026-06-01",
        "evil",
        {"x.md": doc_text("kb-0000e711", "<img src=x onerror=alert(1)>", owners=[])},
        **JO,
    )
    activity_for(kb).record_search("<script>alert(1)</script>", 0, at=at("2026-06-01 10:00"))
    page = render_html(build_report(kb, today=TODAY))
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>" not in page


def test_csv_files_hold_the_same_figures(report: HealthReport, tmp_path: Path) -> None:
    written = write_csv(report, tmp_path / "csv")
    assert {p.name for p in written} == set(csv_tables(report))

    def rows(name: str) -> list[dict[str, str]]:
        with (tmp_path / "csv" / name).open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    assert rows("reviews_by_organisation.csv") == [
        {"organisation": "internal", "overdue": "0", "due": "0", "never": "1", "ok": "2"},
        {"organisation": "partner", "overdue": "2", "due": "1", "never": "0", "ok": "0"},
    ]
    assert [r["id"] for r in rows("review_queue.csv")] == [
        "kb-00000002",
        "kb-00000006",
        "kb-00000004",
        "kb-00000003",
    ]
    trend_rows = rows("trends.csv")
    assert len(trend_rows) == 12 * 2
    assert {
        "month": "2025-09",
        "organisation": "partner",
        "created": "3",
        "reviewed": "0",
        "retired": "0",
    } in trend_rows
    assert rows("content_gaps.csv")[0]["query"] == "ORA-00060"
    assert rows("feedback.csv")[0]["comments"] == '− =HYPERLINK("http://evil")'


def test_csv_cells_from_the_other_organisation_are_not_formulas() -> None:
    from kbapp.lifecycle.report_csv import _cell

    assert [_cell(v) for v in ("=1+2", "+1", "-x", "@SUM(A1)", "plain", 3)] == [
        "'=1+2",
        "'+1",
        "'-x",
        "'@SUM(A1)",
        "plain",
        3,
    ]


def test_report_json_is_plain_data(report: HealthReport) -> None:
    import json

    data = json.loads(json.dumps(report.to_dict()))
    assert data["documents"] == 9
    assert data["review_items"][0]["id"] == "kb-00000002"
    assert data["trends"]["rows"][0] == {
        "month": "2025-07",
        "organisation": "internal",
        "created": 2,
        "reviewed": 0,
        "retired": 0,
    }


def test_moving_a_document_is_not_creating_it(kb: Workspace) -> None:
    last_month = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    commit_at(kb.root, last_month, "Create: A", {"a.md": doc_text("kb-0000a0a0", "A")}, **ANA)
    kb.refresh()
    kb.move("a.md", "runbooks/a.md")  # committed now, in real time
    history = trends(kb, today=dt.date.today())
    assert history.count("created") == 1
    doc = kb.load("kb-0000a0a0")
    doc.set_review(last_reviewed=dt.date(2026, 5, 2))
    kb.save(doc)
    kb.move("runbooks/a.md", "sops/a.md")
    assert trends(kb, today=dt.date.today()).count("reviewed") == 1


def test_a_report_without_lint_then_with_it_is_the_whole_report(kb: Workspace) -> None:
    """The window shows a report made without linting first (most of the time on thousands of
    documents) and adds the lint figures after: the two steps give what one gives."""
    (kb.root / "notes").mkdir()
    (kb.root / "notes/broken.md").write_text(
        "---\ntitle: Broken\ntype: sop\n---\nSee [[kb-00000bad]].\n", encoding="utf-8"
    )
    quick = build_report(kb, today=TODAY, lint=False)
    assert not quick.lint_checked and quick.broken_links == [] and quick.documents == 1
    full = build_report(kb, today=TODAY)
    assert full.lint_checked and len(full.broken_links) == 1
    assert with_lint(quick, kb) == full


def test_checking_every_document_reports_its_progress(kb: Workspace) -> None:
    """Linting is most of the report's time (7 s on 5,864 articles) and said nothing while it
    ran, in the window ("Checking every document...") and on the command line (silence)."""
    for n in range(3):
        (kb.root / f"n{n}.md").write_text(
            f"---\ntitle: Note {n}\ntype: sop\n---\nSee [[kb-00000bad]].\n", encoding="utf-8"
        )
    seen: list[tuple[int, int]] = []
    full = build_report(kb, today=TODAY, progress=lambda done, total: seen.append((done, total)))
    assert full.lint_checked and len(full.broken_links) == 3
    assert seen[-1] == (3, 3) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    again: list[tuple[int, int]] = []
    with_lint(build_report(kb, today=TODAY, lint=False), kb, progress=lambda *a: again.append(a))
    assert again[-1] == (3, 3)


def test_a_chart_with_nothing_in_it_says_so() -> None:
    """On 5,864 imported articles nobody had reviewed anything yet: the window's "Documents
    reviewed per month" drew an empty axis from 0 to 1, like a chart that failed to load."""
    from kbapp.lifecycle.charts import NOTHING_YET, grouped_bars

    months = ["2026-10", "2026-11"]
    empty = grouped_bars("Reviewed", months, {"internal": [0, 0], "partner": [0, 0]})
    assert NOTHING_YET in empty
    some = grouped_bars("Reviewed", months, {"internal": [0, 3], "partner": [0, 0]})
    assert NOTHING_YET not in some and 'height="0.0"' in some
