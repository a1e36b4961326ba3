"""The window's main area: the views a user works in (reader, editor, history, conflicts,
review queue, health, responsibility matrix, handovers, onboarding) open as tabs that take the
whole area, the way an editor area of VS Code holds its editors.

Each view is registered once under a name (:meth:`ViewArea.register`); showing it adds its tab
or brings it to the front, closing it removes the tab and keeps the widget (and what it shows)
for the next time. With nothing open the area shows the start page. ``Esc`` in a view closes
it (unless the view types text: the editor), ``Ctrl+W`` and the tab's close button too; closing
returns to the view used before. A view may have a guard (the editor asks about unsaved text)
that runs before it closes.

:class:`StartPage` is what the area shows with no view open: the knowledge base's name and the
keys to start with.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLabel, QStackedWidget, QTabBar, QTabWidget, QVBoxLayout, QWidget

from kbapp.workspace import Workspace

#: Runs ``then`` once the view may close (after asking, when it must), or never.
Guard = Callable[[Callable[[], None]], None]

#: A tab's title longer than this many characters is cut with "…" (the whole one is its tip).
TITLE_CHARS = 40


def short_title(path: str) -> str:
    """A document's tab title until its own title is known: the file name without ``.md``."""
    return path.rsplit("/", 1)[-1].removesuffix(".md")


@dataclass
class View:
    name: str
    title: str
    widget: QWidget
    guard: Guard | None = None
    #: Esc closes it (not in a view where one types text).
    escape_closes: bool = True
    #: What takes the keyboard when the view is shown (its list or table; else the view).
    focus: QWidget | None = None


class ViewArea(QWidget):
    """Tabs holding the open views, or the start page when none is open."""

    #: The view in front changed (its name, or "start").
    current_changed = Signal(str)
    #: A view was opened or closed.
    views_changed = Signal()
    #: A view was closed (its name); the keyboard went to the view now in front, if any.
    closed = Signal(str)

    def __init__(self, start_page: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewArea")
        self.views: dict[str, View] = {}
        self._recent: list[str] = []  # most recently shown first: where closing goes back to
        self.start_page = start_page
        self.tabs = QTabWidget()
        self.tabs.setObjectName("viewTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setElideMode(Qt.TextElideMode.ElideRight)
        self.tabs.setUsesScrollButtons(True)
        self.tabs.tabBar().setExpanding(False)
        # Past a handful of tabs they scroll rather than shrink to "H…".
        self.tabs.tabBar().setStyleSheet("QTabBar::tab { min-width: 7em; max-width: 18em; }")
        self.tabs.tabBar().setSelectionBehaviorOnRemove(QTabBar.SelectionBehavior.SelectPreviousTab)
        self.tabs.tabCloseRequested.connect(lambda index: self.close_view(self._name_at(index)))
        self.tabs.currentChanged.connect(self._on_current_changed)
        self.stack = QStackedWidget()
        self.stack.addWidget(start_page)
        self.stack.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    # ------------------------------------------------------------------ views

    def register(
        self,
        name: str,
        title: str,
        widget: QWidget,
        *,
        guard: Guard | None = None,
        escape_closes: bool = True,
        focus: QWidget | None = None,
    ) -> None:
        """Make ``widget`` a view called ``name`` (not shown yet); ``focus`` is the part of it
        that takes the keyboard when it is shown."""
        widget.setObjectName(widget.objectName() or f"view-{name}")
        self.views[name] = View(name, title, widget, guard, escape_closes, focus)

    def show_view(self, name: str, title: str | None = None, *, focus: bool = True) -> QWidget:
        """Open the view ``name`` (or bring it to the front) and give it the keyboard."""
        view = self.views[name]
        if title is not None:
            view.title = title
        index = self.tabs.indexOf(view.widget)
        if index < 0:
            index = self.tabs.addTab(view.widget, "")
            self._chain_after_tabs(view.widget)
            self._label(index, view)
            self.views_changed.emit()
        else:
            self._label(index, view)
        self.tabs.setCurrentIndex(index)
        self.stack.setCurrentWidget(self.tabs)
        self._touch(name)
        if focus and not view.widget.isAncestorOf(self.focusWidget()):
            (view.focus or view.widget).setFocus(Qt.FocusReason.OtherFocusReason)
        return view.widget

    def _chain_after_tabs(self, widget: QWidget) -> None:
        """Tab goes from the row of tabs into ``widget``'s own parts, in their order: a view
        put in the tabs after the window was built otherwise sits at the end of the window's
        focus chain, and Tab from a document's tab went to the status bar."""
        parts: list[QWidget] = []
        current = widget.nextInFocusChain()
        for _ in range(5000):  # the chain is a ring: stop after going round
            if current is None or current is widget:
                break
            if widget.isAncestorOf(current) and current.focusPolicy() & Qt.FocusPolicy.TabFocus:
                parts.append(current)
            current = current.nextInFocusChain()
        previous: QWidget = self.tabs.tabBar()
        for part in parts:
            QWidget.setTabOrder(previous, part)
            previous = part

    def set_title(self, name: str, title: str) -> None:
        view = self.views[name]
        view.title = title
        index = self.tabs.indexOf(view.widget)
        if index >= 0:
            self._label(index, view)

    def close_view(self, name: str, then: Callable[[], None] | None = None) -> None:
        """Close the view ``name`` (after its guard agreed); ``then`` runs once it is closed."""
        view = self.views.get(name)
        if view is None or self.tabs.indexOf(view.widget) < 0:
            if then is not None:
                then()
            return

        def close() -> None:
            index = self.tabs.indexOf(view.widget)
            if index >= 0:
                self._recent = [n for n in self._recent if n != name]
                going_to = next((n for n in self._recent if self.is_open(n)), None)
                self.tabs.removeTab(index)
                if going_to is not None:
                    self.tabs.setCurrentWidget(self.views[going_to].widget)
                if self.tabs.count() == 0:
                    self.stack.setCurrentWidget(self.start_page)
                    self.current_changed.emit("start")
                else:
                    front = self.views[self._name_at(self.tabs.currentIndex())]
                    (front.focus or front.widget).setFocus(Qt.FocusReason.OtherFocusReason)
                self.views_changed.emit()
                self.closed.emit(name)
            if then is not None:
                then()

        if view.guard is not None:
            view.guard(close)
        else:
            close()

    def close_current(self) -> None:
        name = self.current()
        if name != "start":
            self.close_view(name)

    def toggle_view(self, name: str, show: Callable[[], object]) -> None:
        """Close ``name`` when it is the view in front, else ``show()`` it."""
        if self.current() == name:
            self.close_view(name)
        else:
            show()

    def cycle(self, step: int) -> None:
        """Bring the next (``step`` 1) or previous (-1) tab to the front."""
        count = self.tabs.count()
        if count > 1:
            self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % count)
            front = self.views[self._name_at(self.tabs.currentIndex())]
            (front.focus or front.widget).setFocus(Qt.FocusReason.TabFocusReason)

    # ------------------------------------------------------------------ state

    def current(self) -> str:
        """The name of the view in front, "start" when none is open."""
        if self.stack.currentWidget() is self.start_page or self.tabs.count() == 0:
            return "start"
        return self._name_at(self.tabs.currentIndex())

    def is_open(self, name: str) -> bool:
        view = self.views.get(name)
        return view is not None and self.tabs.indexOf(view.widget) >= 0

    def open_names(self) -> list[str]:
        """The open views, in the order of their tabs."""
        return [self._name_at(i) for i in range(self.tabs.count())]

    def title(self, name: str) -> str:
        return self.views[name].title

    # ------------------------------------------------------------------ internals

    def _name_at(self, index: int) -> str:
        widget = self.tabs.widget(index)
        return next((v.name for v in self.views.values() if v.widget is widget), "start")

    def _label(self, index: int, view: View) -> None:
        text = view.title if len(view.title) <= TITLE_CHARS else view.title[: TITLE_CHARS - 1] + "…"
        self.tabs.setTabText(index, text.replace("&", "&&"))
        self.tabs.setTabToolTip(index, view.title)

    def _touch(self, name: str) -> None:
        self._recent = [name] + [n for n in self._recent if n != name]

    def _on_current_changed(self, index: int) -> None:
        if index < 0:
            return
        name = self._name_at(index)
        self._touch(name)
        self.current_changed.emit(name)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Esc that no widget inside used (the find bar closes itself first) closes the view.
        if event.key() == Qt.Key.Key_Escape and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            name = self.current()
            if name != "start" and self.views[name].escape_closes:
                self.close_view(name)
                event.accept()
                return
        super().keyPressEvent(event)


class StartPage(QLabel):
    """What the right side shows before a document is opened."""

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.setObjectName("emptyState")
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setTextFormat(Qt.TextFormat.RichText)
        name = html.escape(workspace.config.name)
        keys = [
            ("Ctrl+K", "search from anywhere"),
            ("↑ ↓ Enter", "choose and open a result"),
            ("Ctrl+N", "new document from a template"),
            ("Ctrl+E", "edit what you read"),
            ("Ctrl+S", "save and commit"),
            ("Ctrl+Shift+S", "sync with the other organisation"),
            ("Ctrl+I", "start an incident"),
            ("F6", "next part of the window"),
            ("Ctrl+Shift+P", "every command, document and setting"),
            ("F1", "every shortcut"),
        ]
        rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in keys)
        self.setText(
            f"<h2>{name}</h2><p>Type in the search field: a few words, an alert name "
            f"or an error code.</p><table cellpadding='3'>{rows}</table>"
        )
