"""The window's actions on other knowledge bases: search another one too (File menu), stop
searching it, and move a document to another one (Document menu). The core work is in
:mod:`kbapp.knowledge_bases`; showing a result from another knowledge base and switching the
window to it are :meth:`MainWindow.open_elsewhere` and :meth:`MainWindow.switch_knowledge_base`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog

from kbapp.errors import KbError
from kbapp.interaction import Level
from kbapp.workspace import Workspace

if TYPE_CHECKING:
    from kbapp.ui.window import MainWindow


class OtherKbActions(QObject):
    """Handlers of the ``other_kbs.*`` actions (:mod:`kbapp.ui.actions`)."""

    #: A document was moved to another knowledge base (a :class:`~kbapp.knowledge_bases.KbMove`).
    document_moved = Signal(object)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.folder_dialog: QFileDialog | None = None
        self.kb_dialog: QInputDialog | None = None

    def ask_folder(self, title: str, then: Callable[[str], object]) -> QFileDialog:
        dialog = QFileDialog(self.window, title, str(self.window.workspace.root.parent))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly)
        dialog.fileSelected.connect(lambda folder: then(folder) if folder else None)
        self.folder_dialog = dialog
        dialog.open()
        return dialog

    def ask_kb(self, title: str, label: str, paths: list[str],
               then: Callable[[str], object], other: bool = False) -> QInputDialog:
        """Choose one of ``paths`` (shown with their names); with ``other``, a last item
        asks for a folder."""
        from kbapp.knowledge_bases import display_name

        choices = {f"{display_name(p)} — {p}": p for p in paths}
        other_label = "Another folder…"
        dialog = QInputDialog(self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one per question, not kept
        dialog.setWindowTitle(title)
        dialog.setLabelText(label)
        dialog.setComboBoxItems([*choices, *([other_label] if other else [])])
        dialog.setComboBoxEditable(False)

        def chosen(text: str) -> None:
            if text == other_label:
                self.ask_folder(title, then)
            elif text in choices:
                then(choices[text])

        dialog.textValueSelected.connect(chosen)
        self.kb_dialog = dialog
        dialog.open()
        return dialog

    def search_another_kb(self, folder: str = "") -> None:
        """File → Search another knowledge base too: its results join this one's."""
        if not folder:
            self.ask_folder("Search another knowledge base too", self.search_another_kb)
            return
        from kbapp.knowledge_bases import add_searched

        settings = self.window.workspace.settings
        try:
            root = add_searched(settings, folder)
            settings.save()
        except (KbError, OSError) as exc:
            self.window.show_message(f"Cannot search {folder} too: {exc}", Level.ERROR.value)
            return
        if Path(root) == self.window.workspace.root:
            self.window.show_message("That is the knowledge base open in this window.")
            return
        self.window.show_message(f"Searching {root} too.")
        self.window.search.reload_others()

    def stop_searching_kb(self, folder: str = "") -> None:
        """File → Stop searching another knowledge base."""
        from kbapp.knowledge_bases import remove_searched, searched_together

        settings = self.window.workspace.settings
        if not folder:
            together = searched_together(settings, self.window.workspace.root)
            if not together:
                self.window.show_message("No other knowledge base is searched together with this one.")
                return
            self.ask_kb("Stop searching another knowledge base", "Stop searching:",
                         together, self.stop_searching_kb)
            return
        if remove_searched(settings, folder):
            try:
                settings.save()
            except OSError:
                pass
            self.window.show_message(f"No longer searching {folder}.")
            self.window.search.reload_others()

    def move_to_other_kb(self, target: str = "") -> None:
        """Document → Move to another knowledge base: commit the document shown (or edited)
        into the one chosen, then remove it from this one (:func:`kbapp.knowledge_bases.
        move_to_kb`, on the worker). The target's policy may refuse: nothing moves then."""
        from kbapp.knowledge_bases import candidates

        path = self.window._current_path()
        if not path:
            self.window.show_message("Open a document of this knowledge base first; a document "
                              "from another one is moved from there.")
            return
        if not target:
            title = self.window.reader.page.doc.title if self.window.reader.page and self.window.reader.path == path \
                else path
            self.ask_kb(f"Move “{title}” to another knowledge base",
                         "It is committed there, then removed from "
                         f"{self.window.workspace.config.name}:",
                         candidates(self.window.workspace.settings, self.window.workspace.root),
                         self.move_to_other_kb, other=True)
            return

        def work() -> object:
            from kbapp.knowledge_bases import move_to_kb

            opened = self.window.search.others.by_root(target) if self.window.search.others else None
            kb = opened or Workspace.open(target, self.window.workspace.settings)
            try:
                return move_to_kb(self.window.workspace, path, kb)
            finally:
                if opened is None:
                    kb.close()

        def go() -> None:
            self.window.tasks.run(work, self._on_moved, self._on_move_failed, owner=self.window)

        if self.window.editor.path == path and self.window.editor.dirty:
            self.window.editor.maybe_leave(go)
        else:
            go()

    def _on_moved(self, moved: object) -> None:
        from kbapp.knowledge_bases import KbMove

        assert isinstance(moved, KbMove)
        if self.window.editor.path == moved.source_path:
            self.window.editor.doc = None
        if self.window.reader.path == moved.source_path:
            if self.window.search.others and self.window.search.others.by_root(moved.target_root):
                self.window.open_elsewhere(moved.target_root, moved.target_path)
            else:
                self.window.views.close_view("reader")
        self.window._update_title()
        self.window.show_message(" ".join(moved.sentences()))
        self.window.search.run_query()
        self.document_moved.emit(moved)

    def _on_move_failed(self, error: Exception) -> None:
        self.window.show_message(str(error), Level.ERROR.value)
