"""The window's editing actions: a new document from a template, edit what is read (Ctrl+E),
save (Ctrl+S), undo and redo, the guard before the editor closes, typing kept by a crash
(drafts) and the editor told when its file changed on disk.

:class:`Editing` holds the handlers ``kbapp/ui/actions.py`` names ``editing.<method>``; it
works on the editor, the reader and the view area it is given and says what happened with
its ``message`` signal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from kbapp.documents.drafts import DraftStore
from kbapp.interaction import Level
from kbapp.ui.editor import EditorView
from kbapp.ui.new_document import NewDocumentDialog
from kbapp.ui.notice import Notice
from kbapp.ui.reader import ReaderView
from kbapp.ui.view_area import ViewArea
from kbapp.workspace import Workspace

if TYPE_CHECKING:
    from kbapp.catalog import CatalogChanges


class Editing(QObject):
    """Handlers of the editing actions and of the editor's life in the view area."""

    #: Something to tell the user (text, :class:`~kbapp.interaction.Level` value).
    message = Signal(str, str)

    def __init__(
        self,
        window: QWidget,
        workspace: Workspace,
        views: ViewArea,
        *,
        editor: EditorView,
        reader: ReaderView,
        notice: Notice,
        drafts: DraftStore,
        update_title: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self.window = window  # the dialogs' parent
        self.workspace = workspace
        self.views = views
        self.editor = editor
        self.reader = reader
        self.notice = notice
        self.drafts = drafts
        self.update_title = update_title
        self.new_document_dialog: NewDocumentDialog | None = None

    def _say(self, text: str) -> None:
        self.message.emit(text, Level.INFO.value)

    # ------------------------------------------------------------------ actions

    def new_document(self, title: str = "") -> NewDocumentDialog:
        """Ctrl+N: a new document from a template (the dialog; the editor once chosen)."""
        dialog = NewDocumentDialog(self.workspace, title=title, parent=self.window)
        dialog.created.connect(self._on_document_created)
        self.new_document_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _on_document_created(self, doc: object) -> None:
        def go() -> None:
            self.editor.open_new(doc)  # type: ignore[arg-type]
            self.views.show_view("editor")
            self.update_title()
            self.editor.form.title_edit.setFocus()

        self.editor.maybe_leave(go)

    def edit_document(self, path: str = "", notes: str = "") -> None:
        """Ctrl+E: edit the document being read (or ``path``), with ``notes`` beside it."""
        target = path or (self.reader.path or "") or (self.editor.path or "")
        if not target:
            self._say("Open a document first (Ctrl+K to search).")
            return
        if self.editor.path == target and self.editor.doc is not None:
            if notes:
                self.editor.set_notes(notes)
            self.show()
            return

        def go() -> None:
            self.editor.open_path(target, notes)
            self.show()

        self.editor.maybe_leave(go)

    def show_editor(self) -> None:
        """View → Editor: the text being edited, else edit what is read."""
        if self.editor.doc is None:
            self.edit_document()
        else:
            self.show()

    def show(self) -> None:
        """The editor in front, the keys in its text."""
        self.views.show_view("editor")
        self.update_title()
        self.editor.text.setFocus()

    def save_document(self) -> bool:
        if self.views.current() != "editor" or self.editor.doc is None:
            self._say("Nothing is being edited.")
            return False
        return self.editor.save()

    def undo(self) -> None:
        if self.views.current() == "editor":
            self.editor.undo()

    def redo(self) -> None:
        if self.views.current() == "editor":
            self.editor.redo()

    def leave(self, then: Callable[[], None]) -> None:
        """Before the editor closes (the view area's guard): unsaved text is saved or
        dropped (asks; a save reloads the reader)."""

        def left() -> None:
            self.editor.doc = None
            then()

        self.editor.maybe_leave(left)

    # ------------------------------------------------------------------ the file underneath

    def on_restored(self, path: str) -> None:
        """An old version of ``path`` was restored: the editor and reader show it."""
        if self.editor.path == path:
            self.editor.on_disk_changed()
        if self.reader.path == path:
            self.reader.reload()

    def on_documents_changed(self, changes: CatalogChanges) -> None:
        if (
            self.editor.path
            and self.editor.path in changes.modified + changes.removed
            and self.editor.changed_underneath()
        ):
            self.editor.on_disk_changed()

    # ------------------------------------------------------------------ drafts

    def offer_drafts(self) -> None:
        """Typing left unsaved by a crash: say so and offer to open it."""
        drafts = self.drafts.all()
        if not drafts:
            return
        first = drafts[0]
        more = f" (and {len(drafts) - 1} more)" if len(drafts) > 1 else ""
        self.notice.show_message(
            f"Unsaved changes to “{first.title}” from {first.saved_at.replace('T', ' ')} were "
            f"kept{more}.",
            [("Open them", self.open_drafts)],
        )

    def open_drafts(self) -> None:
        drafts = self.drafts.all()
        if not drafts:
            return
        draft = drafts[0]

        def go() -> None:
            self.editor.open_draft(draft)
            self.show()
            self.notice.hide()
            if len(drafts) > 1:
                self.offer_drafts()

        self.editor.maybe_leave(go)
