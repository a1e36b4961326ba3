"""Incident mode, capture, the review queue and the dashboard, driven as a user would."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import git, write_doc
from lifecycle_helpers import doc_text
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFont, QFontMetrics, QTextCursor
from PySide6.QtWidgets import QApplication, QDialog, QVBoxLayout, QWidget

from kbapp.lifecycle.incident import incidents_for
from kbapp.ui.capture import CaptureDialog
from kbapp.ui.dashboard import DashboardView
from kbapp.ui.incident import IncidentMode, StartIncidentDialog
from kbapp.ui.incident_banners import clock
from kbapp.ui.retire_dialog import RetireDialog
from kbapp.ui.review_queue import STATE_WORDS, ReviewQueueView
from kbapp.ui.tasks import Tasks
from kbapp.workspace import Workspace

pytestmark = pytest.mark.gui
TODAY = dt.date(2026, 6, 15)
RUNBOOK = (
    "## Diagnosis\n\n1. Check the lag\n2. Check disk IO\n\n## Mitigation\n\n"
    "- [ ] Restart the WAL receiver\n"
)


def _kb(kb: Workspace) -> None:
    write_doc(
        kb,
        "runbooks/lag.md",
        doc_text(
            "kb-0a000001",
            "Replica lag",
            org="partner",
            owners=["jo@partner.example"],
            last_reviewed="2026-03-01",
            body=RUNBOOK,
        ),
    )
    write_doc(
        kb,
        "sops/vpn.md",
        doc_text(
            "kb-0a000002",
            "Reset a VPN token",
            doc_type="sop",
            owners=["ana@internal.example"],
            body="See [[kb-0a000001]].\n",
        ),
    )
    write_doc(
        kb,
        "sops/mail.md",
        doc_text(
            "kb-0a000003",
            "Clear the mail queue",
            doc_type="sop",
            org="partner",
            owners=["jo@partner.example"],
            last_reviewed="2026-01-01",
        ),
    )
    for path in ("runbooks/lag.md", "sops/vpn.md", "sops/mail.md"):
        kb.save(kb.load(path))


def _window(mode: IncidentMode) -> QWidget:
    """Banner above the checklist, as the main window places them."""
    window = QWidget()
    layout = QVBoxLayout(window)
    layout.addWidget(mode.banner)
    layout.addWidget(mode.panel)
    return window


def test_incident_mode_start_tick_note_end(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    _kb(kb)
    incidents = incidents_for(kb)
    mode = IncidentMode(incidents)
    window = _window(mode)
    qtbot.addWidget(window)
    window.show()
    assert not mode.banner.isVisible()  # nothing running: no banner

    dialog = StartIncidentDialog(incidents)
    qtbot.addWidget(dialog)
    dialog.show()
    for edit in (dialog.ticket_edit, dialog.title_edit, dialog.systems_edit):
        # each hint readable whole (the dialog opened too narrow: "What is happenin…")
        assert edit.width() > edit.fontMetrics().horizontalAdvance(edit.placeholderText()) + 8
    qtbot.keyClicks(dialog.ticket_edit, "not a ticket")
    dialog.accept()
    assert "is not a ticket id" in dialog.error_label.text() and incidents.active() is None
    assert "empty" in dialog.ticket_edit.placeholderText()  # none yet is allowed: it says so
    dialog.ticket_edit.clear()
    qtbot.keyClicks(dialog.ticket_edit, "inc-20417")
    qtbot.keyClicks(dialog.title_edit, "Payments slow")
    qtbot.keyClicks(dialog.systems_edit, "payments-db, api")
    with qtbot.waitSignal(mode.active_changed) as started:
        dialog.accept()
    assert started.args == [True]
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert mode.banner.isVisible()
    assert mode.banner.ticket_label.text() == "INC-20417"
    assert mode.banner.title_label.text() == "Payments slow  ·  payments-db, api"
    assert mode.banner.timer_label.text().startswith("00:00:0")

    mode.record_search("PaymentsReplicaLag", 0)
    mode.record_open(kb.load("kb-0a000001"))
    panel = mode.panel
    items = panel.step_items()
    assert [i.text() for i in items] == [
        "1. Check the lag",
        "2. Check disk IO",
        "3. Restart the WAL receiver",
    ]
    assert "0 of 3 steps done" in panel.runbook_label.text()
    # tick step 2 with the keyboard, as an engineer with hands on the keys would
    panel.steps.setFocus()
    panel.steps.setCurrentItem(items[1])
    qtbot.keyClick(panel.steps, Qt.Key.Key_Space)
    assert incidents.session().ticked_steps("kb-0a000001") == {2}
    assert panel.step_items()[1].checkState() == Qt.CheckState.Checked
    assert "1 of 3 steps done" in panel.runbook_label.text()

    qtbot.keyClicks(panel.note_edit, "vacuum running on primary")
    qtbot.keyClick(panel.note_edit, Qt.Key.Key_Return)
    assert panel.note_edit.text() == ""
    timeline = [panel.timeline.item(i).text()[7:] for i in range(panel.timeline.count())]
    assert timeline == [
        "Started: Payments slow",
        "Searched “PaymentsReplicaLag” (nothing)",
        "Opened Replica lag",
        "✓ Check disk IO",
        "Note: vacuum running on primary",
    ]
    assert [panel.gaps.item(i).text() for i in range(panel.gaps.count())] == ["PaymentsReplicaLag"]
    with qtbot.waitSignal(panel.draft_requested) as drafted:
        qtbot.mouseClick(panel.write_gap_button, Qt.MouseButton.LeftButton)
    assert drafted.args == ["PaymentsReplicaLag"]

    # Ending asks first; Esc (or "Keep it running") leaves the incident running.
    qtbot.mouseClick(mode.banner.end_button, Qt.MouseButton.LeftButton)
    prompt = mode.end_prompt
    assert prompt is not None and prompt.isVisible() and "End INC-20417" in prompt.text()
    qtbot.keyClick(prompt, Qt.Key.Key_Escape)
    assert incidents.active() is not None and mode.banner.isVisible()
    prompt = mode.request_end()
    assert prompt is not None
    with qtbot.waitSignal(mode.ended) as ended:
        next(b for b in prompt.buttons() if b.text() == "&End incident").click()
    assert ended.args[0].ticket == "INC-20417"
    assert not mode.banner.isVisible() and incidents.active() is None
    # Not captured yet: the window keeps offering it until captured or dismissed.
    assert mode.capture_banner.isVisible() and "INC-20417" in mode.capture_banner.label.text()
    mode.capture_banner.dismiss_button.click()
    assert not mode.capture_banner.isVisible() and incidents.waiting_capture() is None


def test_incident_mode_comes_back_after_a_restart(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    incidents_for(kb).start("INC-1", "Disk full")
    kb.close()
    reopened = Workspace.open(kb.root, kb.settings)
    try:
        mode = IncidentMode(incidents_for(reopened))
        window = _window(mode)
        qtbot.addWidget(window)
        window.show()
        assert mode.banner.isVisible() and mode.banner.ticket_label.text() == "INC-1"
    finally:
        reopened.close()
    assert clock(dt.timedelta(hours=1, minutes=2, seconds=3)) == "01:02:03"


def test_capture_dialog_saves_the_draft_and_the_verdicts(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    _kb(kb)
    incidents = incidents_for(kb)
    incidents.start("INC-7", "Payments slow", ["payments-db"])
    incidents.record_open(kb.load("kb-0a000001"))
    incidents.record_open(kb.load("kb-0a000002"))
    incidents.tick(kb.load("kb-0a000001"), 3)
    incidents.note("restarted the receiver")
    incidents.end("fixed")

    dialog = CaptureDialog(kb, "INC-7")
    qtbot.addWidget(dialog)
    assert dialog.title_edit.text() == "Payments slow"
    assert "Restart the WAL receiver (step 3 of [[kb-0a000001]]" in dialog.preview.toPlainText()
    dialog.set_verdict("kb-0a000001", "right")
    dialog.set_verdict("kb-0a000002", "needs-fix")
    assert "- [ ] Fix [[kb-0a000002]] (Reset a VPN token)" in dialog.preview.toPlainText()
    dialog.title_edit.clear()
    qtbot.keyClicks(dialog.title_edit, "Payments slow: replica lag")
    with qtbot.waitSignal(dialog.captured) as captured:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    path = captured.args[0]
    saved = kb.load(path)
    assert saved.title == "Payments slow: replica lag" and saved.incidents == ["INC-7"]
    assert kb.load("kb-0a000001").incidents == ["INC-7"]  # "was right" is a reuse signal
    assert [(f.title, "restarted the receiver" in f.notes) for f in dialog.fixes] == [
        ("Reset a VPN token", True)
    ]
    assert git(kb.root, "log", "-2", "--format=%s").splitlines() == [
        "Used in INC-7: Replica lag",
        "Capture: Payments slow: replica lag",
    ]


def test_review_queue_sort_filter_and_act(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    _kb(kb)
    view = ReviewQueueView(kb, today=TODAY)
    qtbot.addWidget(view)
    view.show()
    assert [(i.title, i.state.value) for i in view.rows()] == [
        ("Replica lag", "overdue"),
        ("Reset a VPN token", "never"),
    ]  # the mail SOP (180 days from 2026-01-01) is due 2026-06-30: 15 days, not yet
    model = view.table.model()
    assert [model.index(row, 1).data() for row in range(2)] == ["2026-05-30", "—"]
    tips = [model.index(row, 2).data(Qt.ItemDataRole.ToolTipRole) for row in range(2)]
    assert "16 days overdue." in tips[0] and "Never reviewed." in tips[1]
    view.horizon_combo.setCurrentIndex(1)  # within 30 days
    assert [i.title for i in view.rows()][-1] == "Clear the mail queue"
    view.org_combo.setCurrentIndex(view.org_combo.findData("partner"))
    assert [i.title for i in view.rows()] == ["Replica lag", "Clear the mail queue"]
    header = view.table.horizontalHeader()  # click "Title" to sort by it
    qtbot.mouseClick(
        header.viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(header.sectionViewportPosition(2) + 5, 5),
    )
    assert [i.title for i in view.rows()] == ["Clear the mail queue", "Replica lag"]

    assert view.select("kb-0a000001")
    assert "last reviewed" in view.detail_title.text()
    assert view.diff_view.toPlainText() == "Nothing changed since the last review."
    qtbot.mouseClick(view.changes_button, Qt.MouseButton.LeftButton)
    assert "say what needs to change" in view.message_label.text()
    qtbot.keyClicks(view.note_edit, "Checked against PostgreSQL 16")
    with qtbot.waitSignal(view.reviewed):
        qtbot.mouseClick(view.reviewed_button, Qt.MouseButton.LeftButton)
    assert git(kb.root, "log", "-1", "--format=%B").startswith(
        "Review: Replica lag\n\nChecked against PostgreSQL 16"
    )
    assert [i.title for i in view.rows()] == ["Clear the mail queue"]
    assert view.message_label.text() == "Marked reviewed: Replica lag"


def test_a_scheduled_first_review_keeps_an_imported_document_out_of_the_queue(
    kb: Workspace, qtbot, cli
) -> None:  # type: ignore[no-untyped-def]
    """An import spreads first reviews ('review: due:' with no last review). The window's
    queue read only the last review, so after importing 42 articles it listed all 42 as
    "never" reviewed while 'kbapp review due' listed none."""
    _kb(kb)
    text = doc_text("kb-0a000004", "Imported article", doc_type="troubleshooting")
    write_doc(
        kb, "support/imported.md", text.replace("---\n# ", "review:\n  due: 2026-09-01\n---\n# ", 1)
    )
    kb.save(kb.load("support/imported.md"))
    view = ReviewQueueView(kb, today=TODAY)
    qtbot.addWidget(view)
    assert "Imported article" not in [i.title for i in view.rows()]
    view.horizon_combo.setCurrentIndex(view.horizon_combo.count() - 1)  # everything
    imported = next(i for i in view.rows() if i.title == "Imported article")
    row = view.rows().index(imported)
    assert view.table.model().index(row, 1).data() == "2026-09-01"
    assert "Due in 78 days." in view.table.model().index(row, 2).data(Qt.ItemDataRole.ToolTipRole)
    due = cli("--kb", kb.root, "review", "due", "--within", "90d", "--today", TODAY.isoformat())
    assert "kb-0a000004  due in 78 days" in due.out, due.err


def test_an_empty_review_queue_says_why(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    """After an import spreads the first reviews the queue is empty; it showed a bare table
    over "Select a document to see what changed since its last review"."""
    view = ReviewQueueView(kb, today=TODAY)
    qtbot.addWidget(view)
    assert view.rows() == []
    assert view.detail_title.text().startswith("Nothing to review within 14 days.")
    view.horizon_combo.setCurrentIndex(view.horizon_combo.count() - 1)  # everything
    assert view.detail_title.text() == "No published or in-review document matches these filters."


def test_retire_dialog_lists_links_and_needs_a_reason(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    _kb(kb)
    dialog = RetireDialog(kb, "kb-0a000001", today=TODAY)
    qtbot.addWidget(dialog)
    assert (
        dialog.linked_list.count() == 1 and "Reset a VPN token" in dialog.linked_list.item(0).text()
    )
    dialog.accept()
    assert "why" in dialog.error_label.text()
    qtbot.keyClicks(dialog.reason_edit, "Replaced by managed replicas")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert kb.load("kb-0a000001").status == "retired"


def test_dashboard_shows_the_report(kb: Workspace, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _kb(kb)
    view = DashboardView(kb, today=TODAY)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.report_ready):
        qtbot.mouseClick(view.refresh_button, Qt.MouseButton.LeftButton)
    assert view.tile_value("documents") == "3"
    assert view.tile_value("overdue") == "1" and view.tile_value("never") == "1"
    assert view.review_table.rowCount() == 2
    assert view.review_table.item(1, 0).text() == "partner"
    assert view.review_table.item(1, 1).text() == "1"
    assert view.charts["created"].renderer().isValid()
    html = view.export_html(tmp_path / "r.html")
    assert "Replica lag" in html.read_text()


def test_lifecycle_views_join_a_main_window(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMainWindow, QTextBrowser

    from kbapp.ui.lifecycle import ACTIONS, LifecycleViews

    _kb(kb)
    from kbapp.ui.view_area import ViewArea

    window = QMainWindow()
    area = ViewArea(QTextBrowser())
    window.setCentralWidget(area)
    qtbot.addWidget(window)
    capture_action = QAction("Capture incident…", window)
    capture_action.setObjectName("incident.capture")  # as actions.install() names it
    window.addAction(capture_action)
    views = LifecycleViews(window, kb, area=area)
    capture_action.triggered.connect(views.capture_incident)
    window.show()
    assert {a.shortcut for a in ACTIONS if a.id == "incident.start"} == {"Ctrl+I"}
    assert all(callable(getattr(views, a.handler)) for a in ACTIONS)
    assert not views.checklist_dock.isVisible() and not views.mode.banner.isVisible()

    dialog = views.start_incident()
    qtbot.keyClicks(dialog.ticket_edit, "INC-42")
    dialog.accept()
    assert views.mode.banner.isVisible() and views.checklist_dock.isVisible()
    views.record_search("nothing like this", 0)
    views.document_opened(kb.load("kb-0a000001"))
    assert len(views.mode.panel.step_items()) == 3

    with qtbot.waitSignal(views.open_requested) as opened:
        qtbot.mouseClick(views.mode.panel.write_gap_button, Qt.MouseButton.LeftButton)
    assert kb.load(opened.args[0]).title == "Nothing like this"

    capture_action = window.findChild(QAction, "incident.capture")
    assert not capture_action.isVisible()
    prompt = views.end_incident()  # asks, then opens the capture flow
    assert prompt is not None and views.incidents.active() is not None
    next(b for b in prompt.buttons() if b.text() == "&End incident").click()
    capture = window.findChild(CaptureDialog)
    assert capture is not None and capture.isVisible() and capture.ticket == "INC-42"
    capture.later_button.click()  # "Later" leaves a way back: a banner and a menu entry
    assert not views.checklist_dock.isVisible()
    assert views.mode.capture_banner.isVisible()
    assert capture_action.isVisible() and capture_action.text() == "Capture incident INC-42…"
    capture_action.trigger()
    again = next(d for d in window.findChildren(CaptureDialog) if d.isVisible())
    assert again.ticket == "INC-42"
    with qtbot.waitSignal(again.captured):
        again.save_button.click()
    assert not views.mode.capture_banner.isVisible() and not capture_action.isVisible()

    with qtbot.waitSignal(views.dashboard.report_ready, timeout=20000):
        views.show_dashboard()  # built on the thread pool, shown on the GUI thread
    assert views.dashboard.tile_value("documents") == "5"  # with the capture saved
    assert area.current() == "health" and views.dashboard.isVisible()
    with qtbot.waitSignal(views.review_queue.filled, timeout=20000):
        views.show_review_queue()  # filled from the thread pool
    assert area.current() == "review-queue" and views.review_queue.rows()
    assert area.open_names() == ["health", "review-queue"]


def test_review_queue_columns_show_the_state_whole_and_give_the_title_room(
    kb: Workspace,
    qtbot,  # type: ignore[no-untyped-def]
) -> None:
    """At the width the queue has on a 1366x768 laptop, "review overdue" (bold) was cut to
    "review over…" and the owners took as much room as the title; beside the incident
    checklist the title was cut to "B…"."""
    _kb(kb)
    view = ReviewQueueView(kb, today=TODAY)
    qtbot.addWidget(view)
    view.resize(830, 560)
    view.show()
    qtbot.waitExposed(view)
    header = view.table.horizontalHeader()
    bold = QFont(view.table.font())
    bold.setBold(True)
    widest = max(QFontMetrics(bold).horizontalAdvance(w) for w in STATE_WORDS.values())
    assert header.sectionSize(0) >= widest + 8
    assert view.model.data(view.model.index(0, 0)) == "overdue"
    assert header.sectionSize(2) > 1.5 * header.sectionSize(5)
    # beside the incident checklist the view is narrower: the title still reads
    view.resize(610, 560)
    QApplication.processEvents()
    assert header.sectionSize(2) >= 125, [header.sectionSize(c) for c in range(6)]


def test_an_incident_starts_from_the_dialog_without_a_ticket(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    """No ticket yet: Start with the field empty starts the incident under a provisional name
    (it said "'' is not a ticket id")."""
    incidents = incidents_for(kb)
    dialog = StartIncidentDialog(incidents)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.title_edit, "VPN down for everyone")
    dialog.accept()
    running = incidents.active()
    assert dialog.error_label.text() == "" and running is not None
    assert running.ticket.startswith("NO-TICKET-") and running.title == "VPN down for everyone"


def test_a_dialog_grows_to_show_what_is_wrong(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The two-line "is not a ticket id" message squeezed Start an incident's fields to half
    their height (seen at 1366x768): the dialog grows instead."""
    dialog = StartIncidentDialog(incidents_for(kb))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClicks(dialog.ticket_edit, "Payments API slow and the database disk is full again")
    dialog.accept()
    assert "is not a ticket id" in dialog.error_label.text()
    for edit in (dialog.ticket_edit, dialog.title_edit, dialog.systems_edit):
        assert edit.height() >= edit.sizeHint().height()
    assert dialog.error_label.height() >= dialog.error_label.heightForWidth(
        dialog.error_label.width()
    )


def test_dashboard_shows_the_reviews_before_every_document_is_checked(
    kb: Workspace,
    qtbot,  # type: ignore[no-untyped-def]
) -> None:
    """On 5,864 imported articles the health view showed dashes for 7 s: linting every
    document was 5 s of it. The reviews, owners and charts come first, the lint tiles say
    "…" until the documents are checked, then the complete report."""
    _kb(kb)
    write_doc(kb, "notes/broken.md", "---\ntitle: Broken\ntype: sop\n---\nSee [[kb-00000bad]].\n")
    tasks = Tasks()
    view = DashboardView(kb, today=TODAY, tasks=tasks)
    qtbot.addWidget(view)
    first: list[tuple[str, str, bool]] = []
    view.partial_ready.connect(
        lambda report: first.append(
            (view.tile_value("overdue"), view.tile_value("links"), view.refresh_button.isEnabled())
        )
    )
    with qtbot.waitSignal(view.report_ready, timeout=20000) as done:
        view.refresh()
    assert first == [("1", "…", False)]
    assert done.args[0].lint_checked and view.tile_value("links") == "1"
    assert view.refresh_button.isEnabled() and not view.busy
    tasks.wait()


def test_checklist_steps_read_as_words_not_markdown(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The demo's post-incident follow-up showed "1. New runbook [[kb-d62ab34c]]" in the
    incident checklist: a link reads as the title of the document it names."""
    _kb(kb)
    write_doc(
        kb,
        "post-incident/lag.md",
        doc_text(
            "kb-0a000009",
            "Replica lag after failover",
            doc_type="post-incident",
            body="## Follow-up\n\n1. New runbook [[kb-0a000001]]\n"
            "2. Read [the VPN guide](../sops/vpn.md) and [[kb-0a000002|the VPN SOP]]\n"
            "3. Ask about [[kb-0000dead]]\n",
        ),
    )
    kb.refresh()
    incidents = incidents_for(kb)
    mode = IncidentMode(incidents)
    window = _window(mode)
    qtbot.addWidget(window)
    window.show()
    incidents.start("INC-7", "Lag", [])
    mode.record_open(kb.load("kb-0a000009"))
    assert [i.text() for i in mode.panel.step_items()] == [
        "1. New runbook Replica lag",
        "2. Read the VPN guide and the VPN SOP",
        "3. Ask about kb-0000dead",
    ]
    incidents.end()


@pytest.mark.parametrize("key", [Qt.Key.Key_S, Qt.Key.Key_Return])
def test_capture_saves_from_the_keyboard_while_typing(kb: Workspace, qtbot, key) -> None:  # type: ignore[no-untyped-def]
    """In the capture's text (where Return is a new line) nothing saved but a click on
    "Save draft": Ctrl+S and Ctrl+Enter save, as in the editor."""
    _kb(kb)
    incidents = incidents_for(kb)
    incidents.start("INC-8", "Payments slow", [])
    incidents.end("fixed")
    dialog = CaptureDialog(kb, "INC-8")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    dialog.preview.setFocus()
    qtbot.waitUntil(dialog.preview.hasFocus, timeout=3000)
    qtbot.keyClicks(dialog.preview, "Checked the replica.")
    with qtbot.waitSignal(dialog.captured, timeout=5000) as captured:
        qtbot.keyClick(dialog.preview, key, Qt.KeyboardModifier.ControlModifier)
    assert "Checked the replica." in kb.load(captured.args[0]).body
    assert "Ctrl+S" in dialog.save_button.toolTip()


def test_checklist_marks_a_steps_commands_with_a_character_the_font_has(
    kb: Workspace,
    qtbot,  # type: ignore[no-untyped-def]
) -> None:
    """ "⧉ 2 command lines" showed a box for ⧉ (DejaVu Sans, Linux's usual font, has no such
    glyph): every character of a step's row is one the list's font can draw."""
    write_doc(
        kb,
        "runbooks/disk.md",
        doc_text(
            "kb-0a000008",
            "Disk full",
            body=(
                "## Diagnosis\n\n1. What fills the disk?\n\n    ```bash\n    df -h\n"
                "    du -xsh /var\n    ```\n"
            ),
        ),
    )
    kb.refresh()
    incidents = incidents_for(kb)
    mode = IncidentMode(incidents)
    window = _window(mode)
    qtbot.addWidget(window)
    window.show()
    incidents.start("INC-9", "Disk", [])
    mode.record_open(kb.load("kb-0a000008"))
    text = mode.panel.step_items()[0].text()
    assert "2 command lines" in text
    metrics = QFontMetrics(mode.panel.steps.font())
    assert [c for c in text if not c.isspace() and not metrics.inFontUcs4(ord(c))] == []
    incidents.end()


def test_capture_heading_follows_the_title_after_the_text_was_edited(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Once the capture's text is edited it is not made again from the title: renaming the
    capture then left '# Payments slow' under 'title: Replica lag after failover'."""
    _kb(kb)
    incidents = incidents_for(kb)
    incidents.start("INC-10", "Payments slow", [])
    incidents.end("fixed")
    dialog = CaptureDialog(kb, "INC-10")
    qtbot.addWidget(dialog)
    dialog.preview.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(dialog.preview, "The replica lagged.")
    dialog.title_edit.selectAll()
    qtbot.keyClicks(dialog.title_edit, "Replica lag after failover")
    text = dialog.preview.toPlainText()
    assert text.startswith("# Replica lag after failover\n") and "The replica lagged." in text
    with qtbot.waitSignal(dialog.captured) as captured:
        dialog.accept()
    saved = kb.load(captured.args[0])
    assert saved.title == "Replica lag after failover"
    assert saved.body.startswith("# Replica lag after failover")


def test_dashboard_counts_the_documents_it_checks(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    """On 5,864 articles the health view said 'Checking every document for lint errors and
    broken links…' for seconds with no sign of how far it was."""
    _kb(kb)
    tasks = Tasks()
    view = DashboardView(kb, tasks=tasks, today=TODAY)
    qtbot.addWidget(view)
    said: list[str] = []
    view.checking.connect(lambda done, total: said.append(view.status_label.text()))
    with qtbot.waitSignal(view.report_ready, timeout=20000):
        view.refresh()
    assert said and said[-1] == "Checking for lint errors and broken links: 3 of 3…"
    assert view.status_label.text().startswith("this period")
    tasks.pool.waitForDone(5000)


def test_an_empty_review_queue_says_when_the_next_review_is(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    """After an import the queue was an empty table and '0 to review, 0 overdue'."""
    write_doc(
        kb,
        "sops/fresh.md",
        doc_text("kb-0a000009", "Fresh SOP", doc_type="sop", last_reviewed="2026-06-01"),
    )
    kb.save(kb.load("sops/fresh.md"))
    view = ReviewQueueView(kb, today=TODAY)
    qtbot.addWidget(view)
    view.refresh()
    assert view.rows() == []
    assert view.detail_title.text() == (
        "Nothing to review within 14 days; next: Fresh SOP, due in 166 days (2026-11-28). "
        "Choose “Everything” to see when each review is due."
    )


def test_the_review_queue_headers_are_not_cut(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    """At 1366x768 the queue's 'Organisation' header read 'rganisation' (80 px wide)."""
    from kbapp.ui.review_queue import ORG

    view = ReviewQueueView(kb, today=TODAY)
    qtbot.addWidget(view)
    header = view.table.horizontalHeader()
    needed = header.fontMetrics().horizontalAdvance("Organisation")
    assert header.sectionSize(ORG) >= needed + 12
