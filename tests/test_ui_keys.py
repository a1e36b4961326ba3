"""Keyboard everywhere, and incident mode's commands: the checklist's commands shown verbatim
and copied with Ctrl+C, steps ticked with Space, filters that do not change under the arrows,
and a focus ring drawn on every kind of widget."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import write_doc
from lifecycle_helpers import doc_text
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from kbapp.lifecycle.incident import incidents_for
from kbapp.ui.incident import IncidentMode
from kbapp.ui.review_queue import ReviewQueueView
from kbapp.workspace import Workspace

pytestmark = pytest.mark.gui
TODAY = dt.date(2026, 6, 15)


def _window(mode: IncidentMode) -> QWidget:
    """Banner above the checklist, as the main window places them."""
    window = QWidget()
    layout = QVBoxLayout(window)
    layout.addWidget(mode.banner)
    layout.addWidget(mode.panel)
    return window


def _due(kb: Workspace) -> None:
    for n, title in enumerate(("Replica lag", "Clear the mail queue"), start=1):
        path = f"runbooks/r{n}.md"
        write_doc(
            kb,
            path,
            doc_text(
                f"kb-0c00000{n}",
                title,
                org="partner",
                owners=["jo@partner.example"],
                last_reviewed="2026-01-01",
                body="1. Step\n",
            ),
        )
        kb.save(kb.load(path))


def test_checklist_shows_commands_verbatim_to_copy(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QGuiApplication

    write_doc(
        kb,
        "runbooks/vpn.md",
        doc_text(
            "kb-0a000009",
            "VPN tunnel down",
            body=(
                "## Diagnosis\n\n1. Ping both ends:\n\n    ```bash\n    ping -c 5 203.0.113.40\n"
                "    ping -c 5 9.9.9.9\n    ```\n\n2. Ask the partner\n"
            ),
        ),
    )
    kb.save(kb.load("runbooks/vpn.md"))
    incidents = incidents_for(kb)
    mode = IncidentMode(incidents)
    window = _window(mode)
    qtbot.addWidget(window)
    window.show()
    incidents.start("INC-9", "VPN down")
    mode.record_open(kb.load("kb-0a000009"))
    panel = mode.panel
    first, _second = panel.step_items()
    # In the list, the step says it has commands; below the list they are shown line for line.
    assert first.text() == "1. Ping both ends:\n      ↳ 2 command lines (Ctrl+C copies)"
    panel.steps.setFocus()  # the first step not ticked yet is the one chosen
    assert panel.current_step() is not None and panel.current_step().number == 1
    shown = panel.step_view.toPlainText()
    assert "ping -c 5 203.0.113.40\nping -c 5 9.9.9.9" in shown and "Copy" in shown
    assert "copy:0" in panel.step_view.toHtml()  # the block's own Copy link
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(panel.steps, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "ping -c 5 203.0.113.40\nping -c 5 9.9.9.9"
    assert panel.copy_status.text() == "Copied 2 command lines."
    qtbot.keyClick(panel.steps, Qt.Key.Key_Space)  # ticks the step chosen
    assert incidents.session().ticked_steps("kb-0a000009") == {1}
    qtbot.keyClick(panel.steps, Qt.Key.Key_Down)
    assert panel.current_step().number == 2 and not panel.copy_button.isEnabled()


def test_closed_filters_do_not_change_under_the_arrow_keys(kb: Workspace, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMainWindow

    from kbapp.ui.actions import install
    from kbapp.ui.keyboard import KeyboardPolicy

    _due(kb)
    window = QMainWindow()
    qtbot.addWidget(window)
    view = ReviewQueueView(kb, today=TODAY)
    window.setCentralWidget(view)
    KeyboardPolicy(window, install(window, lambda _name: lambda: None).values())
    from PySide6.QtWidgets import QApplication

    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    rows = [i.title for i in view.rows()]
    assert rows
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_Backtab)  # back to the filters, then Down
    combo = QApplication.focusWidget()
    assert combo in (view.org_combo, view.owner_combo, view.horizon_combo)
    before = combo.currentIndex()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentIndex() == before and [i.title for i in view.rows()] == rows
    qtbot.waitUntil(combo.view().isVisible)  # Down opened the list to choose from instead
    combo.hidePopup()


def test_the_focus_watch_is_a_declared_slot() -> None:
    """The application's focus changes reach the policy through a slot in its class's own
    meta-object: a method PySide added at run time was once gone when a focus change arrived
    (CI: "Slot 'KeyboardPolicy::' not found" in Qt's event loop)."""
    from kbapp.ui.keyboard import KeyboardPolicy

    meta = KeyboardPolicy.staticMetaObject
    assert meta.indexOfSlot("_on_focus_changed(QWidget*,QWidget*)") >= 0


def test_the_keyboard_focus_is_visible_in_every_kind_of_widget(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import (
        QApplication,
        QComboBox,
        QLineEdit,
        QListWidget,
        QPushButton,
        QTableWidget,
        QTextBrowser,
    )

    from kbapp.ui import style

    window = QWidget()
    qtbot.addWidget(window)
    layout = QVBoxLayout(window)
    widgets = [
        QLineEdit(),
        QListWidget(),
        QTableWidget(3, 3),
        QTextBrowser(),
        QPushButton("Mark reviewed"),
        QComboBox(),
    ]
    for widget in widgets:
        layout.addWidget(widget)
    sheet = style.stylesheet(QApplication.instance().palette())
    window.setStyleSheet(sheet)
    accent = QColor(
        sheet.split("QAbstractItemView:focus, QListView#results:focus {")[1]
        .split("solid ")[1]
        .split(";")[0]
    )
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    for widget in widgets:
        edge = (0, widget.height() // 2)
        widget.clearFocus()
        before = widget.grab().toImage().pixelColor(*edge)
        widget.setFocus()
        qtbot.waitUntil(widget.hasFocus)
        after = widget.grab().toImage().pixelColor(*edge)
        assert after == accent != before, type(widget).__name__


def test_a_focused_button_keeps_its_words(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Walked with Tab at 1366x768: the reader's focused "Edit document" read "Edit …ument"
    and the status bar's "Not synced yet (Ctrl+Shift+S)" lost its middle: the focus ring's
    padding was wider than the margins the button was sized with."""
    from PySide6.QtWidgets import (
        QApplication,
        QHBoxLayout,
        QPushButton,
        QStyle,
        QStyleOptionButton,
    )

    from kbapp.ui import style

    window = QWidget()
    qtbot.addWidget(window)
    layout = QHBoxLayout(window)
    buttons = [QPushButton(text) for text in ("Edit document", "Mark reviewed", "OK")]
    for button in buttons:
        layout.addWidget(button)
    layout.addStretch(1)  # each button at the width it asked for
    window.setStyleSheet(style.stylesheet(QApplication.instance().palette()))
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    for button in buttons:
        button.setFocus()
        qtbot.waitUntil(button.hasFocus)
        option = QStyleOptionButton()
        button.initStyleOption(option)
        room = button.style().subElementRect(
            QStyle.SubElement.SE_PushButtonContents, option, button
        )
        assert room.width() >= button.fontMetrics().horizontalAdvance(button.text()), button.text()
