"""The matrix, handover and onboarding views, driven as a user would, and how they join a
main window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import git, write_doc
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QApplication, QMainWindow, QTextEdit

from kbapp.catalog import CatalogChanges
from kbapp.cosourcing import handover
from kbapp.settings import Settings
from kbapp.ui.cosourcing import ACTIONS, CosourcingViews
from kbapp.ui.handover_view import HandoverView
from kbapp.ui.matrix_view import MatrixView
from kbapp.ui.onboarding_view import OnboardingView
from kbapp.ui.view_area import ViewArea
from kbapp.workspace import Workspace

pytestmark = pytest.mark.gui


def text(
    doc_id: str, title: str, doc_type: str, systems: list[str], extra: str = "", body: str = ""
) -> str:
    lines = "".join(f"  - {s}\n" for s in systems)
    return (
        f"---\nid: {doc_id}\ntitle: {title}\ntype: {doc_type}\nstatus: published\n"
        f"owner_org: internal\nowners:\n  - ana@internal.example\nsystems:\n{lines}{extra}"
        f"---\n# {title}\n\n{body}"
    )


def _kb(kb: Workspace) -> None:
    write_doc(
        kb,
        "a.md",
        text("kb-60000001", "DB disk full", "runbook", ["db"], "responsible:\n  - partner\n"),
    )
    write_doc(
        kb, "b.md", text("kb-60000002", "DB lag", "runbook", ["db"], "responsible:\n  - internal\n")
    )
    write_doc(
        kb,
        "c.md",
        text(
            "kb-60000003",
            "VPN rotate keys",
            "sop",
            ["vpn"],
            "responsible:\n  - internal\naccountable:\n  - internal\n",
        ),
    )
    write_doc(
        kb,
        "o.md",
        text(
            "kb-60000004",
            "Onboarding",
            "onboarding",
            ["db"],
            body=(
                "## Who this is for\n\nNew night engineers.\n\n## Reading list\n\n"
                "1. [[kb-60000001]]: first\n2. [[kb-60000003]]: second\n"
            ),
        ),
    )
    for path in ("a.md", "b.md", "c.md", "o.md"):
        kb.save(kb.load(path))


def test_matrix_view_shows_responsibility_and_highlights_gaps(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    _kb(kb)
    view = MatrixView(kb)
    qtbot.addWidget(view)
    view.show()
    assert view.cell_text_at("db", "runbook") == "partner/internal (2)"
    assert view.is_gap("db", "runbook")  # the two runbooks disagree
    assert view.cell_text_at("vpn", "sop") == "internal (1)"
    assert view.is_gap("vpn", "runbook") and view.cell_text_at("vpn", "runbook") == ""
    assert not view.is_gap("vpn", "sop")
    gaps = [view.gap_list.item(i).text() for i in range(view.gap_list.count())]
    assert gaps[0] == "vpn has no published runbook"
    assert any(g.startswith("runbook documents of db disagree on who is responsible") for g in gaps)
    assert "2 systems · 2 gaps" in view.summary_label.text()
    row, column = view.matrix.systems.index("db"), view.matrix.types.index("runbook")  # type: ignore[union-attr]
    with qtbot.waitSignal(view.open_requested) as opened:
        view.table.cellDoubleClicked.emit(row, column)
    assert opened.args == ["a.md"]
    # Fixing the disagreement in a document updates the visible view.
    doc = kb.load("b.md")
    doc.set("responsible", ["partner"])
    kb.save(doc)
    assert view.cell_text_at("db", "runbook") == "partner (2)" and not view.is_gap("db", "runbook")


def test_handover_view_records_the_next_step_as_a_commit(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    _kb(kb)
    handover.start(kb, "kb-60000003", "partner", today=dt.date(2026, 9, 1))
    view = HandoverView(kb)
    qtbot.addWidget(view)
    view.show()
    assert view.table.rowCount() == 1
    assert view.table.item(0, 1).text() == "internal → partner"
    assert view.table.item(0, 2).text() == "0/4"
    assert view.record_button.text() == "Record: Knowledge transfer done"
    view.date_edit.setDate(QDate(2026, 9, 8))
    qtbot.keyClicks(view.note_edit, "two sessions")
    with qtbot.waitSignal(view.step_recorded):
        qtbot.mouseClick(view.record_button, Qt.MouseButton.LeftButton)
    assert view.table.item(0, 2).text() == "1/4"
    assert view.steps_list.item(0).text() == (
        "\u2611 Knowledge transfer done: 2026-09-08 (ana@internal.example, two sessions)"
    )
    assert (
        git(kb.root, "log", "-1", "--format=%s")
        == "Handover: knowledge transfer done: VPN rotate keys"
    )
    # The next step is the partner's: Ana is told so, nothing is committed.
    head = git(kb.root, "rev-parse", "HEAD")
    qtbot.mouseClick(view.record_button, Qt.MouseButton.LeftButton)
    assert "recorded by partner; your organisation is internal" in view.message_label.text()
    assert git(kb.root, "rev-parse", "HEAD") == head
    with Workspace.open(kb.root, Settings(user_name="Jo", user_email="jo@partner.example")) as jo:
        partner_view = HandoverView(jo)
        qtbot.addWidget(partner_view)
        qtbot.mouseClick(partner_view.record_button, Qt.MouseButton.LeftButton)  # reviewed
        qtbot.mouseClick(partner_view.record_button, Qt.MouseButton.LeftButton)  # no ticket
        assert "needs the ticket" in partner_view.message_label.text()
        qtbot.keyClicks(partner_view.ticket_edit, "CHG-1")
        qtbot.mouseClick(partner_view.record_button, Qt.MouseButton.LeftButton)
        assert partner_view.table.item(0, 3).text() == "Signed off by the accountable organisation"
    # Ana's open view follows the announcement of changed documents (as after a sync; both
    # workspaces share this clone's catalog, which Jo's saves already brought up to date).
    kb.documents_changed.emit(CatalogChanges(modified=["c.md"]))
    assert view.table.item(0, 2).text() == "3/4"


def test_onboarding_view_ticks_reading_locally(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    _kb(kb)
    view = OnboardingView(kb)
    qtbot.addWidget(view)
    view.set_document("kb-60000004")
    assert [view.list.item(i).text() for i in range(view.list.count())] == [
        "1. DB disk full: first",
        "2. VPN rotate keys: second",
    ]
    assert "0 of 2 read" in view.title_label.text()
    view.list.item(1).setCheckState(Qt.CheckState.Checked)
    assert "1 of 2 read" in view.title_label.text() and view.progress_bar.value() == 1
    again = OnboardingView(kb)  # another window on the same machine sees the same progress
    qtbot.addWidget(again)
    again.set_document("kb-60000004")
    assert again.list.item(1).checkState() == Qt.CheckState.Checked
    with qtbot.waitSignal(view.open_requested) as opened:
        view.list.itemDoubleClicked.emit(view.list.item(0))
    assert opened.args == ["a.md"]


def test_views_join_a_main_window_through_declared_actions(
    kb: Workspace, qtbot, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _kb(kb)
    window = QMainWindow()
    area = ViewArea(QTextEdit())
    window.setCentralWidget(area)
    qtbot.addWidget(window)
    views = CosourcingViews(window, kb, area=area)
    window.show()
    for action in ACTIONS:
        assert callable(getattr(views, action.handler)), action.id
    assert len({a.shortcut for a in ACTIONS if a.shortcut}) == len(
        [a for a in ACTIONS if a.shortcut]
    )
    assert not views.matrix.isVisible() and area.current() == "start"
    with qtbot.waitSignal(views.matrix.filled, timeout=20000):
        views.show_matrix()  # worked out on the thread pool
    assert views.matrix.isVisible() and area.current() == "matrix"
    views.document_opened(kb.load("kb-60000004"))
    assert area.is_open("onboarding") and views.onboarding.list.count() == 2
    assert area.current() == "matrix"  # the checklist opens behind what is being read
    exported = views.export_matrix(tmp_path / "m.html")
    assert exported is not None and "responsibility matrix" in exported.read_text()
    with qtbot.waitSignal(views.open_requested) as opened:
        views.onboarding.list.itemDoubleClicked.emit(views.onboarding.list.item(1))
    assert opened.args == ["c.md"]


def test_onboarding_tab_says_onboarding_once_and_gaps_wrap(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The demo's "Onboarding: night on-call…" opened a tab "Onboarding: Onboarding: night…"
    beside the reader's;
    the matrix's gaps ran off to the right under a sideways scrollbar (1366x768)."""
    _kb(kb)
    write_doc(
        kb,
        "o2.md",
        text(
            "kb-60000005",
            "Onboarding - night on-call for the payments systems",
            "onboarding",
            ["db"],
            body="## Reading list\n\n1. [[kb-60000001]]: first\n",
        ),
    )
    kb.save(kb.load("o2.md"))
    window = QMainWindow()
    area = ViewArea(QTextEdit())
    window.setCentralWidget(area)
    qtbot.addWidget(window)
    window.resize(700, 600)
    views = CosourcingViews(window, kb, area=area)
    window.show()
    views.document_opened(kb.load("kb-60000005"))
    # the reader's tab says the title: this one says what it is
    assert area.views["onboarding"].title == (
        "Reading list: Onboarding - night on-call for the payments systems"
    )
    with qtbot.waitSignal(views.matrix.filled, timeout=20000):
        views.show_matrix()
    assert views.matrix.gap_list.wordWrap()
    QApplication.processEvents()
    assert views.matrix.gap_list.horizontalScrollBar().maximum() == 0
