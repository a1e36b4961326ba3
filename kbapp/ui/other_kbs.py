"""The window's actions on other knowledge bases: search another one too (File menu), stop
searching it, and move a document to another one (Document menu). The core work is in
:mod:`kbapp.knowledge_bases`; showing a result from another knowledge base and switching the
window to it are :meth:`MainWindow.open_elsewhere` and :meth:`MainWindow.switch_knowledge_base`.

It does not know the window: it gets the views it works with and a function that says which
document is in front, and tells the window what happened by signals (``message``,
``document_moved``), which the window turns into its status bar and views.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from kbapp.errors import KbError
from kbapp.interaction import Level
from kbapp.ui.editor import EditorView
from kbapp.ui.search_view import SearchView
from kbapp.ui.tasks import Tasks
from kbapp.workspace import Workspace

#: (path, title) of the document of this knowledge base in front, or None.
CurrentDocument = Callable[[], "tuple[str, str] | None"]


class OtherKbActions(QObject):
    """Handlers of the ``other_kbs.*`` actions (:mod:`kbapp.ui.actions`)."""

    #: A document was moved to another knowledge base (a :class:`~kbapp.knowledge_bases.KbMove`).
    document_moved = Signal(object)
    #: Something to tell the user (text, :class:`~kbapp.interaction.Level` value).
    message = Signal(str, str)

    def __init__(
        self,
        window: QWidget,
        workspace: Workspace,
        tasks: Tasks,
        search: SearchView,
        editor: EditorView,
        current_document: CurrentDocument,
    ) -> None:
        super().__init__(window)
        self.window = window  # the dialogs' parent
        self.workspace = workspace
        self.tasks = tasks
        self.search = search
        self.editor = editor
        self.current_document = current_document
        self.folder_dialog: QFileDialog | None = None
        self.kb_dialog: QInputDialog | None = None

    def ask_folder(self, title: str, then: Callable[[str], object]) -> QFileDialog:
        dialog = QFileDialog(self.window, title, str(self.workspace.root.parent))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly)
        dialog.fileSelected.connect(lambda folder: then(folder) if folder else None)
        self.folder_dialog = dialog
        dialog.open()
        return dialog

    def ask_kb(
        self,
        title: str,
        label: str,
        paths: list[str],
        then: Callable[[str], object],
        other: bool = False,
    ) -> QInputDialog:
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

        settings = self.workspace.settings
        try:
            root = add_searched(settings, folder)
            settings.save()
        except (KbError, OSError) as exc:
            self.message.emit(f"Cannot search {folder} too: {exc}", Level.ERROR.value)
            return
        if Path(root) == self.workspace.root:
            self.message.emit("That is the knowledge base open in this window.", Level.INFO.value)
            return
        self.message.emit(f"Searching {root} too.", Level.INFO.value)
        self.search.reload_others()
        self.update_actions()

    def stop_searching_kb(self, folder: str = "") -> None:
        """File → Stop searching another knowledge base."""
        from kbapp.knowledge_bases import remove_searched, searched_together

        settings = self.workspace.settings
        if not folder:
            together = searched_together(settings, self.workspace.root)
            if not together:
                self.message.emit(
                    "No other knowledge base is searched together with this one.", Level.INFO.value
                )
                return
            self.ask_kb(
                "Stop searching another knowledge base",
                "Stop searching:",
                together,
                self.stop_searching_kb,
            )
            return
        if remove_searched(settings, folder):
            try:
                settings.save()
            except OSError:
                pass
            self.message.emit(f"No longer searching {folder}.", Level.INFO.value)
            self.search.reload_others()
            self.update_actions()

    def update_actions(self) -> None:
        """The action that stops searching another knowledge base is greyed out while none is."""
        from kbapp.knowledge_bases import searched_together

        action = self.window.findChild(QAction, "kb.search_less")
        if action is not None:
            together = searched_together(self.workspace.settings, self.workspace.root)
            action.setEnabled(bool(together))

    def move_to_other_kb(self, target: str = "") -> None:
        """Document → Move to another knowledge base: commit the document shown (or edited)
        into the one chosen, then remove it from this one (:func:`kbapp.knowledge_bases.
        move_to_kb`, on the worker). The target's policy may refuse: nothing moves then."""
        from kbapp.knowledge_bases import candidates

        current = self.current_document()
        if current is None:
            self.message.emit(
                "Open a document of this knowledge base first; a document "
                "from another one is moved from there.",
                Level.INFO.value,
            )
            return
        path, title = current
        if not target:
            self.ask_kb(
                f"Move “{title}” to another knowledge base",
                f"It is committed there, then removed from {self.workspace.config.name}:",
                candidates(self.workspace.settings, self.workspace.root),
                self.move_to_other_kb,
                other=True,
            )
            return

        def go() -> None:
            self.tasks.run(
                lambda: self._move(path, target),
                self.document_moved.emit,
                self._on_move_failed,
                owner=self.window,
            )

        if self.editor.path == path and self.editor.dirty:
            self.editor.maybe_leave(go)
        else:
            go()

    def _move(self, path: str, target: str) -> object:
        """On the worker: move ``path`` into the knowledge base at ``target`` (the one already
        open when it is searched together with this one)."""
        from kbapp.knowledge_bases import move_to_kb

        opened = self.search.others.by_root(target) if self.search.others else None
        kb = opened or Workspace.open(target, self.workspace.settings)
        try:
            return move_to_kb(self.workspace, path, kb)
        finally:
            if opened is None:
                kb.close()

    def _on_move_failed(self, error: Exception) -> None:
        self.message.emit(str(error), Level.ERROR.value)
