"""The window's main area of views (issue 13): every view opens as a tab that takes the area,
the View menu and the keyboard open and close them, everything open at once still fits a
1366×768 laptop screen, the layout and open views come back on the next start, the big views
fill from a worker, the review queue shows changes rendered, sync banners carry their action
and a failed sync shows one plain-text box. Real knowledge bases, real git, real widgets on an
offscreen 1366×768 screen (tests/conftest.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import SharedRepo
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from kbapp.demo import ensure_demo
from kbapp.lifecycle.review_actions import mark_reviewed
from kbapp.settings import Settings, config_dir
from kbapp.sync import sync
from kbapp.sync.report import SyncStatus
from kbapp.ui.sync_view import indicator_text
from kbapp.ui.window import MainWindow
from kbapp.workspace import Workspace

pytestmark = pytest.mark.gui
CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
FAILOVER = "sops/payments-database-failover.md"


def open_window(qtbot, workspace: Workspace) -> MainWindow:  # type: ignore[no-untyped-def]
    workspace.settings.fetch_interval_minutes = 0
    window = MainWindow(workspace)
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: window._lifecycle is not None, timeout=15000)
    qtbot.waitUntil(
        lambda: window.search.index is not None and not window.tasks.busy, timeout=20000
    )
    return window


@pytest.fixture
def demo(tmp_path: Path, settings: Settings) -> Workspace:
    workspace = Workspace.open(ensure_demo(tmp_path / "demo"), settings)
    yield workspace
    workspace.close()


def open_every_view(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.reader.document_shown, timeout=10000):
        window.open_document(FAILOVER)
    window.edit_document()
    window.reading.show_history()
    window.show_conflicts()
    for action_id in (
        "review.queue",
        "report.dashboard",
        "matrix.show",
        "handover.show",
        "onboarding.show",
    ):
        window.action(action_id).trigger()
    window.tasks.wait(30000)


def test_views_open_as_tabs_and_close_from_the_keyboard(qtbot, demo: Workspace) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, demo)
    views = window.views
    assert views.current() == "start" and views.open_names() == []
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    titles = [a.text() for a in view_menu.actions()]
    for title in (
        "Close view",
        "Reader",
        "Editor",
        "History of this document",
        "Resolve conflicts",
        "Review queue",
        "Knowledge base health",
        "Responsibility matrix",
        "Handovers",
        "Onboarding path",
    ):
        assert title in titles

    with qtbot.waitSignal(window.reader.document_shown, timeout=10000):
        window.open_document(FAILOVER)
    assert views.current() == "reader"
    assert views.tabs.tabText(views.tabs.currentIndex()) == "Fail over the payments database"
    qtbot.keyClick(window.search.field, Qt.Key.Key_R, CTRL_SHIFT)  # review queue
    qtbot.keyClick(window.search.field, Qt.Key.Key_M, CTRL_SHIFT)  # matrix
    assert views.open_names() == ["reader", "review-queue", "matrix"]
    assert views.current() == "matrix" and window.action("matrix.show").isChecked()
    window.tasks.wait()
    # Each takes the whole area, not a strip of it.
    assert window.cosourcing.matrix.height() == views.tabs.currentWidget().height()
    assert window.cosourcing.matrix.height() > 0.6 * window.height()

    # Esc where the focus is (the matrix's table) closes the view in front and goes back to
    # the one used before; the keyboard goes with it.
    window.cosourcing.matrix.table.setFocus()
    qtbot.keyClick(window.cosourcing.matrix.table, Qt.Key.Key_Escape)
    assert views.open_names() == ["reader", "review-queue"] and views.current() == "review-queue"
    assert not window.action("matrix.show").isChecked()
    assert window.lifecycle.review_queue.isAncestorOf(QApplication.focusWidget())
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_W, CTRL)
    assert views.open_names() == ["reader"] and views.current() == "reader"

    # The View menu's action toggles: in front → closed.
    window.action("view.reader").trigger()
    assert views.current() == "start"
    assert window.search.field.hasFocus()  # nothing open: back to the search
    window.action("view.reader").trigger()
    assert views.current() == "reader"

    # The editor: Esc belongs to the text being typed; Ctrl+W closes it (asking when dirty).
    qtbot.keyClick(window, Qt.Key.Key_E, CTRL)
    assert views.current() == "editor"
    assert views.tabs.tabText(views.tabs.currentIndex()).startswith("Edit: Fail over")
    qtbot.keyClick(window.editor.text, Qt.Key.Key_Escape)
    assert views.current() == "editor"
    window.editor.text.insertPlainText("x")
    qtbot.keyClick(window.editor.text, Qt.Key.Key_W, CTRL)
    prompt = window.editor.leave_prompt
    assert prompt is not None and views.current() == "editor"
    prompt.button(QMessageBox.StandardButton.Discard).click()
    assert views.current() == "reader" and not views.is_open("editor")
    window.tasks.wait()


def test_every_view_open_at_once_fits_a_1366x768_screen(qtbot, demo: Workspace) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, demo)
    screen = window.screen().availableGeometry()
    assert (screen.width(), screen.height()) == (1366, 768)
    assert screen.contains(window.frameGeometry())
    size = window.size()
    dialog = window.lifecycle.start_incident()  # the checklist panel beside the views
    qtbot.keyClicks(dialog.ticket_edit, "INC-4242")
    dialog.accept()
    doc = demo.load(FAILOVER)
    doc.set(
        "title",
        "Fail over the payments database when the primary in the Frankfurt data "
        "centre stops answering and replication to the standby has stalled",
    )
    demo.save(doc)
    open_every_view(qtbot, window)
    QApplication.processEvents()
    assert len(window.views.open_names()) == 9
    assert window.lifecycle.checklist_dock.isVisible()
    assert window.size() == size, "the window grew itself"
    assert screen.contains(window.frameGeometry()), (window.frameGeometry(), screen)
    hint = window.minimumSizeHint()
    assert hint.width() <= screen.width() and hint.height() <= screen.height(), hint
    for name, view in window.views.views.items():
        assert view.widget.minimumSizeHint().width() < 760, name
    window.editor.discard()
    window.lifecycle.incidents.end()
    window.tasks.wait()


def test_a_new_window_is_sized_to_the_screen(qtbot, demo: Workspace) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, demo)
    screen = window.screen().availableGeometry()
    frame = window.frameGeometry()
    assert screen.contains(frame)
    assert frame.width() >= 0.8 * screen.width() and frame.height() >= 0.8 * screen.height()
    window.tasks.wait()


def test_the_facet_filters_read_whole_on_a_1366x768_screen(qtbot, demo: Workspace) -> None:  # type: ignore[no-untyped-def]
    """Four filters in one row of the search column cut their own labels ("Organisatio",
    "System: an"): each says what it filters, whole."""
    window = open_window(qtbot, demo)
    QApplication.processEvents()
    for key, combo in window.search.facets.combos.items():
        text = combo.currentText()
        assert combo.width() > combo.fontMetrics().horizontalAdvance(text) + 16, (key, text)
    window.tasks.wait()


def test_layout_and_open_views_come_back_on_the_next_start(qtbot, demo: Workspace) -> None:  # type: ignore[no-untyped-def]
    first = open_window(qtbot, demo)
    with qtbot.waitSignal(first.reader.document_shown, timeout=10000):
        first.open_document(FAILOVER)
    first.lifecycle.show_review_queue()
    first.cosourcing.show_matrix()
    first.views.show_view("review-queue")
    first.resize(1000, 640)
    first.move(40, 30)
    first.splitter.setSizes([300, 700])
    sizes = first.splitter.sizes()
    first.tasks.wait()
    first.close()
    assert (config_dir() / "window.ini").is_file()  # kbapp's settings folder (a test's own)

    second = open_window(qtbot, demo)
    qtbot.waitUntil(
        lambda: second.views.open_names() == ["reader", "review-queue", "matrix"], timeout=10000
    )
    assert second.views.current() == "review-queue"
    assert second.reader.path == FAILOVER
    assert second.search.field.hasFocus()  # restoring never takes the keyboard
    assert (second.width(), second.height()) == (1000, 640)
    assert second.splitter.sizes() == sizes
    second.tasks.wait()


def test_big_views_fill_from_a_worker(qtbot, demo: Workspace) -> None:  # type: ignore[no-untyped-def]
    """The review queue, matrix, handovers and health are worked out on the thread pool: the
    view shows at once, empty, and fills when the answer arrives."""
    window = open_window(qtbot, demo)
    queue = window.lifecycle.review_queue
    with qtbot.waitSignal(queue.filled, timeout=20000):
        window.action("review.queue").trigger()
        assert queue.rows() == [] and window.views.current() == "review-queue"
        assert window.tasks.busy and "Reading" in queue.count_label.text()
    assert queue.rows() and "to review" in queue.count_label.text()
    matrix = window.cosourcing.matrix
    with qtbot.waitSignal(matrix.filled, timeout=20000):
        window.action("matrix.show").trigger()
        assert matrix.matrix is None and window.tasks.busy
    assert matrix.matrix is not None and matrix.table.rowCount() > 0
    handovers = window.cosourcing.handovers
    with qtbot.waitSignal(handovers.filled, timeout=20000):
        window.action("handover.show").trigger()
        assert handovers.handovers == [] and window.tasks.busy
    assert handovers.handovers
    dashboard = window.lifecycle.dashboard
    with qtbot.waitSignal(dashboard.report_ready, timeout=30000):
        window.action("report.dashboard").trigger()
        assert dashboard.report is None and dashboard.busy
    assert dashboard.tile_value("documents") != "–"
    window.tasks.wait()


def test_review_queue_shows_the_changes_rendered_like_history(qtbot, kb: Workspace) -> None:  # type: ignore[no-untyped-def]
    path = kb.create("runbook", "Restart the mail relay").path
    doc = kb.load(path)
    doc.body = "# Restart the mail relay\n\n## Steps\n\n1. Stop the relay.\n2. Start it.\n"
    doc.set("status", "published")
    kb.save(doc)
    mark_reviewed(kb, path)
    doc = kb.load(path)
    doc.body = doc.body.replace("2. Start it.", "2. Flush the queue.\n3. Start it.")
    doc.set("review.last_reviewed", "2020-01-01")  # due again (the review commit is earlier)
    kb.save(doc, message="Update: flush the queue")
    window = open_window(qtbot, kb)
    queue = window.lifecycle.review_queue
    queue.horizon_combo.setCurrentIndex(queue.horizon_combo.count() - 1)  # everything
    with qtbot.waitSignal(queue.filled, timeout=20000):
        window.lifecycle.show_review_queue()
    with qtbot.waitSignal(queue.detail_shown, timeout=20000):
        assert queue.select(doc.id)
    shown = queue.diff_view.toPlainText()
    assert "Flush the queue." in shown and "Stop the relay." in shown  # rendered text
    assert "+" in shown  # the added step is marked
    assert "@@" not in shown and "+++" not in shown and "1. " not in shown  # no raw diff
    assert "last reviewed" in queue.detail_title.text()
    window.tasks.wait()


def test_sync_banner_offers_open_and_show_changes(qtbot, shared: SharedRepo) -> None:  # type: ignore[no-untyped-def]
    ana, jo = shared.ana, shared.jo
    path = ana.create("runbook", "Rotate the TLS certificate").path
    sync.sync(ana)
    sync.sync(jo)
    doc = jo.load(path)
    doc.body += "\nCheck the chain with openssl s_client.\n"
    jo.save(doc)
    sync.sync(jo)

    window = open_window(qtbot, ana)
    with qtbot.waitSignal(window.sync.synced, timeout=30000):
        window.action("sync.now").trigger()
    notice = window.notice
    assert notice.isVisible() and "Rotate the TLS certificate" in notice.label.text()
    assert notice.button_texts() == ["Open", "Show changes", "Dismiss"]
    show = next(b for b in notice.findChildren(QPushButton) if b.text() == "Show changes")
    show.click()
    assert window.views.current() == "history" and window.history.path == path
    qtbot.waitUntil(
        lambda: "openssl s_client" in window.history.changes.toPlainText(), timeout=10000
    )
    window.tasks.wait()


def test_sync_without_a_remote_shows_one_plain_error_box(qtbot, kb: Workspace) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, kb)
    # not "Not synced yet (Ctrl+Shift+S)": there is nothing to sync with
    qtbot.waitUntil(lambda: window.sync.indicator.text().startswith("Local only"), timeout=10000)
    window.sync_now()
    qtbot.waitUntil(lambda: window.sync.failure_box is not None, timeout=20000)
    window.tasks.wait()
    QApplication.processEvents()
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes == [window.sync.failure_box]
    text = boxes[0].text()
    assert text and "&#" not in text and "&amp;" not in text and "<" not in text
    assert boxes[0].textFormat() == Qt.TextFormat.PlainText
    # ... and it does not promise that "the next sync finishes the job": it cannot
    assert boxes[0].windowTitle() == "No shared repository yet"
    assert "next sync" not in boxes[0].informativeText()
    assert "shared once the knowledge base has a shared repository" in (boxes[0].informativeText())
    boxes[0].close()


def test_sync_indicator_says_never_synced_in_plain_words() -> None:
    """A clone with a save not shared yet said "↑1 to share · synced never"."""
    never = SyncStatus(ahead=1, remote="origin")
    assert indicator_text(never) == ("↑1 to share · not synced yet", "pending")
    assert (
        indicator_text(SyncStatus(offline=True, remote="origin"))[0] == "Offline · not synced yet"
    )
    at = dt.datetime.now().replace(hour=9, minute=5)
    assert indicator_text(SyncStatus(ahead=1, remote="origin", last_sync=at))[0] == (
        "↑1 to share · synced 09:05"
    )


def test_the_incident_panel_reads_whole_on_a_1366x768_screen(qtbot, demo: Workspace) -> None:  # type: ignore[no-untyped-def]
    """The note field's hint was cut ("Add a note and press Enter ($ comman…") in the
    checklist beside the views: it reads whole, the rest of it is the field's tip."""
    window = open_window(qtbot, demo)
    dialog = window.lifecycle.start_incident()
    qtbot.keyClicks(dialog.ticket_edit, "INC-4242")
    dialog.accept()
    QApplication.processEvents()
    note = window.lifecycle.mode.panel.note_edit
    assert note.isVisible()
    assert note.width() > note.fontMetrics().horizontalAdvance(note.placeholderText()) + 12
    assert "$" in note.toolTip()
    window.lifecycle.incidents.end()
    window.tasks.wait()


def test_tab_goes_from_the_view_tabs_into_the_view_in_front(qtbot, demo: Workspace) -> None:  # type: ignore[no-untyped-def]
    """Walked with the keyboard at 1366x768: from a document's tab, Tab went to the status
    bar's sync button, past the reader's buttons and page (a view added to the tabs later
    than the window was built sat at the end of the window's focus chain)."""
    window = open_window(qtbot, demo)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    for show in (
        lambda: window.open_document(FAILOVER),
        lambda: window.actions_by_id["review.queue"].trigger(),
    ):
        show()
        qtbot.waitUntil(lambda: not window.tasks.busy, timeout=20000)
        front = window.views.tabs.currentWidget()
        bar = window.views.tabs.tabBar()
        bar.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(bar.hasFocus)
        for _ in range(3):
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
            focused = QApplication.focusWidget()
            assert front.isAncestorOf(focused), focused.objectName() or type(focused).__name__
