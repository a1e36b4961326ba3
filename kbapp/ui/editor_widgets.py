"""The editor's parts that stand on their own: the Markdown text field, the preview that keeps
its place when it is refreshed, the "unsaved changes" question, and what is on disk."""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QMessageBox, QPlainTextEdit, QTextBrowser, QWidget

from kbapp.documents import model as documents
from kbapp.ui import style
from kbapp.ui.markdown_highlighter import MarkdownHighlighter
from kbapp.workspace import Workspace


def disk_text(workspace: Workspace, path: str) -> str | None:
    """The file's current text, or None when it does not exist."""
    try:
        return workspace.full_path(path).read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None


def rename_heading(text: QPlainTextEdit, before: str, title: str) -> bool:
    """Put ``title`` in the ``# heading`` the text starts with when that heading said
    ``before`` (near enough: :func:`kbapp.documents.model.same_title`): a document is written
    with its title as ``# Title``, and renaming only the front matter showed one title in the
    reader and another in every list. One edit in the text's undo history; a heading that
    says something else is left. True when the heading was renamed."""
    block = text.document().firstBlock()
    while block.isValid() and not block.text().strip():
        block = block.next()
    if not block.isValid():
        return False
    heading = documents.heading_of(block.text(), block.blockNumber() + 1)
    if heading is None or heading.level != 1 or not documents.same_title(heading.text, before):
        return False
    cursor = QTextCursor(block)
    cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
    cursor.insertText(f"# {title}")
    return True


class MarkdownText(QPlainTextEdit):
    """The text being edited: fixed-width at the user's size, four-space tabs, Markdown
    highlighted (light or dark after the palette)."""

    def __init__(self, point_size: int) -> None:
        super().__init__()
        self.setObjectName("editorText")
        self.setFont(style.monospace_font(point_size))
        self.setTabStopDistance(4 * self.fontMetrics().horizontalAdvance(" "))
        self.highlighter = MarkdownHighlighter(self.document(), style.is_dark(self.palette()))

    def raw_text(self) -> str:
        """The text with its non-breaking spaces (toPlainText turns them into plain spaces)."""
        return self.document().toRawText().replace("\u2029", "\n").replace("\u2028", "\n")

    def go_to_line(self, line: int) -> None:
        """Put the cursor at the start of ``line`` (1-based), centred, and the keys here."""
        block = self.document().findBlockByNumber(max(line - 1, 0))
        self.setTextCursor(QTextCursor(block))
        self.centerCursor()
        self.setFocus()


class Preview(QTextBrowser):
    """The rendered text beside the editor; links do nothing, a refresh keeps the scroll."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("preview")
        self.setOpenLinks(False)

    def show_html(self, html: str, css: str) -> None:
        scroll = self.verticalScrollBar().value()
        self.document().setDefaultStyleSheet(css)
        self.setHtml(html)
        self.verticalScrollBar().setValue(scroll)


def unsaved_changes_box(parent: QWidget, title: str) -> QMessageBox:
    """Save, Discard or Cancel for the document ``title``; not shown yet (``open()`` it)."""
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Unsaved changes",
        f"Save your changes to \u201c{title}\u201d?",
        parent=parent,
    )
    box.setInformativeText("If you discard them, they are gone for good.")
    box.setStandardButtons(
        QMessageBox.StandardButton.Save
        | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel
    )
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    return box
