"""The window's keyboard rules, applied to every view at once, and the shortcut sheet.

- **Application shortcuts win over a text field's own bindings.** A line edit takes Ctrl+E
  (end of line), Ctrl+K (delete to the end) and others before the window's shortcuts see them
  (Qt's ``ShortcutOverride``): after opening a result with Enter, Ctrl+E moved the cursor
  instead of editing the document. The field keeps what everyone expects of a text field
  (undo, redo, copy, cut, paste, select all, word moves); every other key that is one of the
  window's shortcuts goes to the window.
- **A closed combo box does not change under the arrow keys or the wheel.** Tab into the review
  queue's filters then Down used to switch the filter and empty the table without a word; now
  Down (or Alt+Down, F4, Space) opens the list, where the arrows choose and Enter confirms.
- **Tab leaves a table** (the arrows move between its cells) instead of walking its cells.
- **F6 walks the parts of the window** (:class:`PaneCycle`): side column, view, side panels.
- :class:`ShortcutSheet` (F1, Ctrl+/): every action and its shortcut, built from the one list
  of actions (:mod:`kbapp.ui.actions`), so it cannot fall behind.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QHeaderView,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from kbapp.ui import dialog_parts
from kbapp.ui.actions import Action
from kbapp.ui.view_area import ViewArea

#: What a text field keeps even when the window has a shortcut on the same keys.
TEXT_FIELD_KEYS = (
    QKeySequence.StandardKey.Undo,
    QKeySequence.StandardKey.Redo,
    QKeySequence.StandardKey.Copy,
    QKeySequence.StandardKey.Cut,
    QKeySequence.StandardKey.Paste,
    QKeySequence.StandardKey.SelectAll,
    QKeySequence.StandardKey.MoveToPreviousWord,
    QKeySequence.StandardKey.MoveToNextWord,
    QKeySequence.StandardKey.SelectPreviousWord,
    QKeySequence.StandardKey.SelectNextWord,
    QKeySequence.StandardKey.Delete,
    QKeySequence.StandardKey.Backspace,
)
_TEXT_FIELDS = (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox)
_WATCHED = frozenset({QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress, QEvent.Type.Wheel})
_COMBO_MOVES = {
    Qt.Key.Key_Up,
    Qt.Key.Key_Down,
    Qt.Key.Key_PageUp,
    Qt.Key.Key_PageDown,
    Qt.Key.Key_Home,
    Qt.Key.Key_End,
}


#: The widgets the policy is about: everything else never sees it.
_POLICED = (*_TEXT_FIELDS, QComboBox, QAbstractItemView)


class KeyboardPolicy(QObject):
    """The rules for one window (see the module's docstring), installed as an event filter on
    the widgets they are about: its text fields, combo boxes and tables, those there now
    (:meth:`watch`) and those that get the keyboard later (focus changes). Not on the whole
    application: a Python filter there ran for every event of every thread (paints, timers,
    worker threads' events), and PySide crashed in garbage collection under that load."""

    def __init__(self, window: QWidget, actions: Iterable[QAction]) -> None:
        super().__init__(window)
        self.window = window
        self.actions = list(actions)
        self.watch(window)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus_changed)

    def watch(self, root: QWidget) -> None:
        """Apply the rules to ``root`` and every text field, combo box and table in it."""
        for widget in (root, *root.findChildren(QWidget)):
            if isinstance(widget, _POLICED):
                widget.installEventFilter(self)  # installing twice keeps one filter

    # A declared slot, in the class's own meta-object: connected as a plain method, PySide
    # added a slot to the meta-object at run time, and once in CI a focus change found it
    # gone ("Slot 'KeyboardPolicy::' not found", raised in Qt's event loop).
    @Slot(QWidget, QWidget)
    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and isinstance(new, _POLICED):
            new.installEventFilter(self)

    def shortcuts(self) -> set[str]:
        return {
            key.toString(QKeySequence.SequenceFormat.PortableText)
            for action in self.actions
            if action.isEnabled()
            for key in action.shortcuts()
        }

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Only keys and the wheel matter here (paints and timers leave at once).
        kind = event.type()
        if kind not in _WATCHED:
            return False
        if kind == QEvent.Type.ShortcutOverride:
            if (
                isinstance(watched, _TEXT_FIELDS)
                and isinstance(event, QKeyEvent)
                and watched.window() is self.window
                and self._window_shortcut(event)
            ):
                event.ignore()  # not taken by the field: the window's shortcut runs
                return True
            return False
        if isinstance(watched, QComboBox):
            if watched.isEditable() or watched.view().isVisible():
                return False
            if kind == QEvent.Type.Wheel:
                event.ignore()  # scrolling the page over a filter must not change it
                return True
            if (
                isinstance(event, QKeyEvent)
                and event.key() in _COMBO_MOVES
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            ):
                watched.showPopup()  # choose in the open list; Esc leaves it as it was
                return True
        elif (
            kind == QEvent.Type.KeyPress
            and isinstance(watched, QAbstractItemView)
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab)
        ):
            # Tab leaves a table for the next part of the view (arrows move between cells):
            # a table that kept Tab was a trap for a keyboard user.
            watched.setTabKeyNavigation(False)
        return False

    def _window_shortcut(self, event: QKeyEvent) -> bool:
        if any(event.matches(key) for key in TEXT_FIELD_KEYS):
            return False
        pressed = QKeySequence(event.keyCombination()).toString(
            QKeySequence.SequenceFormat.PortableText
        )
        return pressed in self.shortcuts()


def shortcut_rows(declared: Iterable[Action]) -> list[tuple[str, str, str]]:
    """(menu, action, keys) of every action: by menu, in the menu bar's order; in each menu,
    those with a key first."""
    rows: list[tuple[str, str, str]] = []
    for action in declared:
        keys = " or ".join(
            QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText)
            for k in (action.shortcut, action.also)
            if k
        )
        rows.append((action.menu.replace("&", ""), action.title, keys or "—"))
    menus = list(dict.fromkeys(row[0] for row in rows))
    rows.sort(key=lambda row: (menus.index(row[0]), row[2] == "—"))
    return rows


class ShortcutSheet(QDialog):
    """Every action with its shortcut, by menu (F1 or Ctrl+/)."""

    def __init__(self, declared: Iterable[Action], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutSheet")
        self.setWindowTitle("Keyboard shortcuts")
        self._create_table(shortcut_rows(declared))
        hint = dialog_parts.hint_label(
            "In a list: ↑↓ choose, Enter opens, Space ticks a step. Tab moves between "
            "parts of a view, Esc closes a dialog."
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        self.resize(620, 560)

    def _create_table(self, rows: list[tuple[str, str, str]]) -> None:
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Shortcut"])
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(value))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)

    def rows(self) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        for r in range(self.table.rowCount()):
            cells = [self.table.item(r, c) for c in range(3)]
            menu, title, keys = (cell.text() if cell is not None else "" for cell in cells)
            out.append((menu, title, keys))
        return out


class PaneCycle:
    """F6 and Shift+F6: the keys go to the next (previous) part of the window: the side
    column, the view in front (or the start page), then each side panel (dock) shown, wrapping
    around. In each part the keys land on its main widget (a view's registered focus, the
    search field, the browse tree), else on its first focusable widget."""

    def __init__(
        self, window: QMainWindow, side: QTabWidget, views: ViewArea, mains: dict[QWidget, QWidget]
    ) -> None:
        self.window = window
        self.side = side
        self.views = views
        self.mains = mains  # the side column's pages and where the keys go in each

    def panes(self) -> list[QWidget]:
        """The parts of the window F6 moves between, in reading order."""
        front = self.views.current()
        candidates = [
            self.side.currentWidget(),
            self.views.start_page if front == "start" else self.views.views[front].widget,
        ]
        candidates += [
            dock.widget()
            for dock in self.window.findChildren(QDockWidget)
            if dock.isVisible() and not dock.isFloating()
        ]
        return [pane for pane in candidates if pane is not None and pane.isVisible()]

    def step(self, step: int) -> QWidget | None:
        """Focus the pane ``step`` away from the one holding the keys; returns what got them."""
        panes = self.panes()
        if not panes:
            return None
        focused = QApplication.focusWidget()
        here = next(
            (
                i
                for i, pane in enumerate(panes)
                if focused is not None and (pane is focused or pane.isAncestorOf(focused))
            ),
            -1 if step > 0 else 0,
        )
        target = self._focus_in(panes[(here + step) % len(panes)])
        target.setFocus(Qt.FocusReason.TabFocusReason)
        return target

    def _focus_in(self, pane: QWidget) -> QWidget:
        """Where the keys land in ``pane``: its main widget, else its first focusable one."""
        mains = dict(self.mains)
        mains.update({v.widget: v.focus for v in self.views.views.values() if v.focus})
        main = mains.get(pane)
        if main is not None:
            return main
        widget: QWidget | None = pane.nextInFocusChain()
        for _ in range(500):  # the chain is a ring: stop after going round
            if widget is None or widget is pane:
                break
            if (
                pane.isAncestorOf(widget)
                and widget.isVisible()
                and widget.isEnabled()
                and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
            ):
                return widget
            widget = widget.nextInFocusChain()
        return pane
