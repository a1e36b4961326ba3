"""The window's size and layout: fitted to the screen it opens on, and kept between starts.

:func:`fit_to_screen` sizes a new window to the screen's available area (never larger, with
room for the window manager's frame). :class:`WindowLayout` keeps the window's place, its
docks and toolbar (``saveState``), the search column's width, and which views were open on
which document, in ``window.ini`` in kbapp's settings folder (``KBAPP_CONFIG_DIR`` in tests);
the views are kept per knowledge base.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QByteArray, QRect, QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QSplitter, QWidget

from kbapp.settings import config_dir
from kbapp.ui.view_area import short_title

if TYPE_CHECKING:
    from kbapp.ui.cosourcing import CosourcingViews
    from kbapp.ui.editor import EditorView
    from kbapp.ui.history_view import HistoryView
    from kbapp.ui.lifecycle import LifecycleViews
    from kbapp.ui.reader import ReaderView
    from kbapp.ui.search_view import SearchView
    from kbapp.ui.view_area import ViewArea
    from kbapp.workspace import Workspace

#: Room left for the window manager's title bar and borders before the frame is known.
FRAME_ALLOWANCE = (16, 48)
#: The share of a large screen a new window takes; a laptop's screen it fills.
SHARE = 0.85
MINIMUM = (1280, 800)
#: Views reopened on the document they showed, and how.
DOCUMENT_VIEWS = ("reader", "editor", "history")
#: Views reopened as they are (they fill themselves from the knowledge base).
OTHER_VIEWS = ("review-queue", "health", "matrix", "handovers", "onboarding")


def available(widget: QWidget) -> QRect:
    """The available area (without panels and docks of the desktop) of the widget's screen."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def fit_to_screen(window: QWidget) -> None:
    """Size ``window`` to its screen and centre it: most of a large screen, all of a small
    one, never more than the screen (the frame included)."""
    area = available(window)
    extra_w, extra_h = FRAME_ALLOWANCE
    width = min(max(int(area.width() * SHARE), MINIMUM[0]), area.width() - extra_w)
    height = min(max(int(area.height() * SHARE), MINIMUM[1]), area.height() - extra_h)
    window.resize(width, height)
    window.move(
        area.x() + (area.width() - width - extra_w) // 2,
        area.y() + (area.height() - height - extra_h) // 2,
    )


def keep_on_screen(window: QWidget) -> None:
    """Shrink and move ``window`` so that its frame is inside the screen's available area."""
    area = available(window)
    frame = window.frameGeometry()
    extra_w = max(frame.width() - window.width(), 0)
    extra_h = max(frame.height() - window.height(), 0)
    width = min(window.width(), area.width() - extra_w)
    height = min(window.height(), area.height() - extra_h)
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
    x = min(max(frame.x(), area.x()), area.right() + 1 - width - extra_w)
    y = min(max(frame.y(), area.y()), area.bottom() + 1 - height - extra_h)
    if (x, y) != (frame.x(), frame.y()):
        window.move(x, y)


class WindowLayout:
    """Saves and restores one window's layout (``window.ini`` in the settings folder)."""

    def __init__(self, kb_root: Path, folder: Path | None = None) -> None:
        self.path = (folder or config_dir()) / "window.ini"
        self.group = "kb-" + hashlib.sha1(str(kb_root).encode("utf-8")).hexdigest()[:12]

    def _settings(self) -> QSettings:
        return QSettings(str(self.path), QSettings.Format.IniFormat)

    # ------------------------------------------------------------------ saving

    def save(self, window: LaidOutWindow) -> None:
        settings = self._settings()
        settings.setValue("geometry", window.saveGeometry())
        settings.setValue("state", window.saveState())
        settings.setValue("splitter", window.splitter.saveState())
        settings.beginGroup(self.group)
        settings.setValue("views", window.views.open_names())
        settings.setValue("current", window.views.current())
        settings.setValue("reader", window.reader.path or "")
        settings.setValue("editor", window.editor.path or "")
        settings.setValue("history", window.history.path or "")
        settings.setValue("onboarding", window.onboarding_ref)
        settings.endGroup()
        settings.sync()

    # ------------------------------------------------------------------ restoring

    def restore_window(self, window: LaidOutWindow) -> bool:
        """The window's place, docks and splitter as last closed (kept inside this screen);
        False when there is nothing saved."""
        settings = self._settings()
        geometry = settings.value("geometry")
        if not isinstance(geometry, QByteArray) or not window.restoreGeometry(geometry):
            return False
        state = settings.value("state")
        if isinstance(state, QByteArray):
            window.restoreState(state)
        splitter = settings.value("splitter")
        if isinstance(splitter, QByteArray):
            window.splitter.restoreState(splitter)
        keep_on_screen(window.window())
        return True

    def saved_views(self) -> tuple[list[str], str, dict[str, str]]:
        """(open views in tab order, the one in front, what each document view showed)."""
        settings = self._settings()
        settings.beginGroup(self.group)
        names = _strings(settings.value("views"))
        current = str(settings.value("current") or "")
        shown = {key: str(settings.value(key) or "") for key in (*DOCUMENT_VIEWS, "onboarding")}
        settings.endGroup()
        return names, current, shown

    def restore_views(self, window: LaidOutWindow) -> None:
        """Open the views that were open, on what they showed, without taking the keyboard
        from the search field; the one in front comes to the front unless the user opened
        something meanwhile."""
        names, current, shown = self.saved_views()
        if not names:
            return
        busy = window.views.current() != "start"
        for name in names:
            try:
                self._reopen(window, name, shown)
            except Exception:  # noqa: BLE001 - a document gone since: that view stays closed
                continue
        if not busy and window.views.is_open(current):
            window.views.show_view(current, focus=False)
        window.search.focus_field()

    @staticmethod
    def _reopen(window: LaidOutWindow, name: str, shown: dict[str, str]) -> None:
        workspace = window.workspace
        path = shown.get(name, "")
        if name in DOCUMENT_VIEWS:
            if not path or not (workspace.root / path).is_file():
                return
            if name == "reader":
                window.reader.open(path)
                window.views.show_view("reader", short_title(path), focus=False)
            elif name == "editor":
                window.editor.open_path(path)
                window.views.show_view("editor", focus=False)
                window.update_title()
            else:
                window.history.show_document(path, path)
                window.views.show_view("history", f"History: {short_title(path)}", focus=False)
        elif name == "onboarding":
            if shown.get("onboarding"):
                window.cosourcing.show_onboarding(shown["onboarding"], focus=False)
        elif name in OTHER_VIEWS:
            {
                "review-queue": window.lifecycle.show_review_queue,
                "health": window.lifecycle.show_dashboard,
                "matrix": window.cosourcing.show_matrix,
                "handovers": window.cosourcing.show_handovers,
            }[name](focus=False)


class LaidOutWindow(Protocol):
    """What :class:`WindowLayout` keeps of a window and restores: a main window's geometry
    and state, its splitter, the views open and what the document views show (the onboarding
    checklist by its reference, "" until the co-sourcing views are built)."""

    workspace: Workspace
    splitter: QSplitter
    views: ViewArea
    reader: ReaderView
    editor: EditorView
    history: HistoryView
    search: SearchView

    @property
    def lifecycle(self) -> LifecycleViews: ...

    @property
    def cosourcing(self) -> CosourcingViews: ...

    @property
    def onboarding_ref(self) -> str: ...

    def update_title(self, *_args: object) -> None: ...

    def saveGeometry(self) -> QByteArray: ...

    def restoreGeometry(self, geometry: QByteArray) -> bool: ...

    def saveState(self, version: int = ...) -> QByteArray: ...

    def restoreState(self, state: QByteArray, version: int = ...) -> bool: ...

    def window(self) -> QWidget: ...


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]
