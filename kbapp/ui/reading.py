"""The window's reading actions: open a document in the reader (of this knowledge base or of
another one searched together), back and forward, find in the page, zoom, pin, the history of
the document in front, and what follows when a document moved to another knowledge base.

:class:`Reading` holds the handlers ``kbapp/ui/actions.py`` names ``reading.<method>``; it
works on the views it is given and says what happened with its ``message`` signal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from kbapp.interaction import Level
from kbapp.ui.browse import BrowseView, Shelf
from kbapp.ui.editor import EditorView
from kbapp.ui.history_view import HistoryView
from kbapp.ui.reader import ReaderView
from kbapp.ui.search_view import SearchView
from kbapp.ui.view_area import ViewArea, short_title

if TYPE_CHECKING:
    from kbapp.knowledge_bases import KbMove


class Reading(QObject):
    """Handlers of the reading and document actions."""

    #: Something to tell the user (text, :class:`~kbapp.interaction.Level` value).
    message = Signal(str, str)

    def __init__(
        self,
        window: QWidget,
        views: ViewArea,
        *,
        reader: ReaderView,
        editor: EditorView,
        history: HistoryView,
        search: SearchView,
        browse: BrowseView,
        shelf: Shelf,
        update_title: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self.views = views
        self.reader = reader
        self.editor = editor
        self.history = history
        self.search = search
        self.browse = browse
        self.shelf = shelf
        self.update_title = update_title

    def _say(self, text: str, level: Level = Level.INFO) -> None:
        self.message.emit(text, level.value)

    # ------------------------------------------------------------------ the reader

    def open_document(self, path: str) -> None:
        """Show ``path`` in the reader (the editor keeps its text; Ctrl+E returns to it)."""
        self.reader.open(path)
        # The keyboard stays where it was (the search: ↓ and Enter open the next result).
        self.views.show_view("reader", short_title(path), focus=False)

    def open_elsewhere(self, kb_path: str, path: str) -> None:
        """Show ``path`` of another knowledge base searched together, read-only."""
        kb = self.search.others.by_root(kb_path) if self.search.others else None
        if kb is None:
            self._say(f"{kb_path} is no longer searched together with this one.", Level.WARNING)
            return
        self.reader.open(path, kb=kb)
        self.views.show_view("reader", short_title(path), focus=False)

    def show_reader(self) -> None:
        if self.reader.page is None:
            self._say("Nothing has been read yet: Ctrl+K searches, Enter opens.")
            return
        self.views.show_view("reader")

    def find_in_page(self) -> None:
        if self.views.current() == "reader":
            self.reader.open_find()

    def go_back(self) -> None:
        if self.views.current() != "reader":
            if self.reader.page is not None:
                self.views.show_view("reader")
            return
        self.reader.go_back()

    def go_forward(self) -> None:
        if self.views.current() == "reader":
            self.reader.go_forward()

    def zoom_in(self) -> None:
        self.reader.zoom(1)

    def zoom_out(self) -> None:
        self.reader.zoom(-1)

    def zoom_reset(self) -> None:
        self.reader.zoom(0)

    # ------------------------------------------------------------------ the document in front

    def current_document(self) -> tuple[str, str] | None:
        """(path, title) of the document in front: edited, its history shown, or read."""
        front = self.views.current()
        if front == "editor" and self.editor.path:
            path = self.editor.path
        elif front == "history" and self.history.path:
            path = self.history.path
        elif self.reader.path:
            path = self.reader.path
        else:
            return None
        page = self.reader.page
        return path, page.doc.title if page and self.reader.path == path else path

    def toggle_pin(self) -> None:
        current = self.current_document()
        if current is None:
            return
        path = current[0]
        pinned = self.shelf.toggle_pin(path)
        self.browse.refresh_shelf()
        self._say(("Pinned " if pinned else "Unpinned ") + path)

    def show_history(self) -> None:
        current = self.current_document()
        if current is None:
            self._say("Open a document first to see its history.")
            return
        path, title = current
        self.history.show_document(path, title)
        self.views.show_view("history", f"History: {title}")

    def on_document_moved(self, moved: KbMove) -> None:
        """A document went to another knowledge base: close it here, show it there."""
        if self.editor.path == moved.source_path:
            self.editor.doc = None
        if self.reader.path == moved.source_path:
            if self.search.others and self.search.others.by_root(moved.target_root):
                self.open_elsewhere(moved.target_root, moved.target_path)
            else:
                self.views.close_view("reader")
        self.update_title()
        self._say(" ".join(moved.sentences()))
        self.search.run_query()
