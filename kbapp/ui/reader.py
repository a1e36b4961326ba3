"""The reader: one document rendered as sanitised HTML (:meth:`Workspace.render`), with its
metadata header, a table of contents, find in page, zoom, back/forward, copy buttons on code
blocks and links that navigate.

Documents come from another organisation and are untrusted. :class:`QTextBrowser` has no
script engine; the renderer has already removed scripts, styles and remote images, and here
links only do what their scheme allows: ``kb:`` and relative links open documents, ``copy:N``
copies a code block, http(s)/mailto open in the browser only after the user has seen the
address, and everything else (``file:``, ``javascript:`` …) is refused. Only images inside the
knowledge base are loaded.

A document from another knowledge base (a search result from one searched together) is shown
read-only, under a line that says where it is, with a button to switch the window to that
knowledge base (:attr:`ReaderView.switch_requested`); its links stay in that knowledge base.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCursor, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kbapp.errors import KbError
from kbapp.interaction import Level
from kbapp.ui import style
from kbapp.ui.find_bar import FindBar
from kbapp.ui.reader_page import Page, PageBrowser, load_page, with_header
from kbapp.ui.tasks import Tasks
from kbapp.workspace import Workspace

EXTERNAL_SCHEMES = {"http", "https", "mailto"}


class ReaderView(QWidget):
    """Shows one document at a time, with back/forward history."""

    #: A document was shown (for the incident timeline and "recent").
    document_shown = Signal(object)
    #: The user asked to edit the document shown.
    edit_requested = Signal(str)
    #: Something for the status bar or a message box: (message, level).
    message = Signal(str, str)
    #: Switch the window to the knowledge base at this folder (from a page shown from there).
    switch_requested = Signal(str)

    def __init__(self, workspace: Workspace, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.tasks = tasks
        self.page: Page | None = None
        #: (path, scroll, the other knowledge base or None) of pages to go back/forward to.
        self.back_stack: list[tuple[str, int, Workspace | None]] = []
        self.forward_stack: list[tuple[str, int, Workspace | None]] = []
        self.zoom_steps = 0
        self.external_prompt: QMessageBox | None = None
        #: The menu offered when a kb: link's id names several documents.
        self.id_choice: QMenu | None = None
        self._pending_anchor = ""
        self._create_header()
        self._create_browser()
        self._create_toc()
        self._create_layout()

    def _create_header(self) -> None:
        # The path and the buttons; the metadata block is the top of the page itself (it
        # scrolls with the text and is never clipped).
        self.header = QLabel()
        self.header.setObjectName("readerHeader")
        self.header.setWordWrap(True)  # a long title or list of owners wraps, never widens
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.header_buttons = QHBoxLayout()
        self.header_buttons.setSpacing(4)
        # A document from another knowledge base: where it is, and switching there to edit.
        self.elsewhere_label = QLabel()
        self.elsewhere_label.setObjectName("elsewhereNote")
        self.elsewhere_label.setWordWrap(True)
        self.switch_button = QPushButton()
        self.switch_button.setObjectName("switchKb")
        self.switch_button.clicked.connect(self._on_switch_clicked)
        self.elsewhere_box = QWidget()
        self.elsewhere_box.setObjectName("elsewhereBox")
        self.elsewhere_box.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self.elsewhere_box)
        row.setContentsMargins(8, 4, 4, 4)
        row.addWidget(self.elsewhere_label, 1)
        row.addWidget(self.switch_button)
        self.elsewhere_box.hide()

    def _create_browser(self) -> None:
        self.browser = PageBrowser(self.workspace.root)
        self.browser.setObjectName("reader")
        self.browser.setOpenLinks(False)
        self.browser.setOpenExternalLinks(False)
        self.browser.anchorClicked.connect(self._on_anchor_clicked)
        self.browser.highlighted.connect(self._on_link_hovered)
        self.find_bar = FindBar(self.browser)
        self.find_bar.hide()

    def _create_toc(self) -> None:
        self.toc = QListWidget()
        self.toc.setObjectName("toc")
        self.toc.setWordWrap(True)
        self.toc.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.toc.setToolTip("Contents: click a heading to jump to it")
        self.toc.itemActivated.connect(self._on_toc_activated)
        self.toc.itemClicked.connect(self._on_toc_activated)

    def _create_layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addLayout(self.header_buttons)
        top.setContentsMargins(8, 2, 4, 2)
        header_box = QWidget()
        header_box.setObjectName("readerHeaderBox")
        header_box.setLayout(top)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.browser)
        self.splitter.addWidget(self.toc)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([700, 200])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header_box)
        layout.addWidget(self.elsewhere_box)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.find_bar)

    def add_header_action(self, action: QAction) -> None:
        """A button beside the title (Edit, History, Pin) bound to a window action."""
        button = QToolButton()
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.header_buttons.addWidget(button)

    # ------------------------------------------------------------------ showing documents

    @property
    def path(self) -> str | None:
        """The path of the document shown, when it is one of the window's knowledge base."""
        return self.page.path if self.page and self.page.elsewhere is None else None

    @property
    def elsewhere(self) -> Workspace | None:
        """The other knowledge base the document shown is in (None: the window's own)."""
        return self.page.elsewhere if self.page else None

    def _loader(self, path: str, kb: Workspace | None) -> Callable[[], Page]:
        if kb is None or kb.root == self.workspace.root:
            return lambda: load_page(self.workspace, path)
        return lambda: load_page(kb, path, elsewhere=True)

    def open(
        self, path: str, anchor: str = "", *, remember: bool = True, kb: Workspace | None = None
    ) -> None:
        """Load and render ``path`` in the background, then show it; ``kb``: the other
        knowledge base it is in (shown read-only)."""
        if (
            remember
            and self.page is not None
            and (self.page.path, self.page.elsewhere) != (path, kb)
        ):
            self.back_stack.append((self.page.path, self._scroll(), self.page.elsewhere))
            self.forward_stack.clear()
        self._pending_anchor = anchor
        self.tasks.run(
            self._loader(path, kb), self.show_page, self._on_failed, owner=self, key="reader"
        )

    def reload(self) -> None:
        if self.page is not None:
            scroll = self._scroll()
            self.tasks.run(
                self._loader(self.page.path, self.page.elsewhere),
                lambda page: self.show_page(page, scroll),
                self._on_failed,
                owner=self,
                key="reader",
            )

    def _page_workspace(self) -> Workspace:
        return self.elsewhere or self.workspace

    def show_page(self, page: Page, scroll: int | None = None) -> None:
        self.page = page
        self.header.setText(page.path)
        self._show_elsewhere(page.elsewhere)
        kb = self._page_workspace()
        self.browser.root = kb.root
        self.browser.current_folder = (kb.root / page.path).parent
        self.browser.document().setDefaultStyleSheet(style.reader_css(self.palette()))
        self.browser.setHtml(with_header(page.rendered.html, page.header))
        self.toc.clear()
        entries = (
            [e for e in page.toc if e.level > 1]
            if sum(1 for e in page.toc if e.level == 1) == 1
            else page.toc
        )
        for entry in entries:
            indent = "    " * (entry.level - min(e.level for e in entries))
            item = QListWidgetItem(indent + entry.title)
            item.setData(Qt.ItemDataRole.UserRole, entry.anchor)
            self.toc.addItem(item)
        self.toc.setVisible(len(entries) >= 2)
        if self._pending_anchor:
            self.browser.scrollToAnchor(self._pending_anchor)
            self._pending_anchor = ""
        elif scroll is not None:
            self.browser.verticalScrollBar().setValue(scroll)
        self.document_shown.emit(page.doc)

    def _show_elsewhere(self, kb: Workspace | None) -> None:
        if kb is None:
            self.elsewhere_box.hide()
            return
        name = kb.config.name
        self.elsewhere_label.setText(f"In {name} — open that knowledge base to edit")
        self.elsewhere_label.setToolTip(str(kb.root))
        self.switch_button.setText(f"Switch to {name}")
        self.elsewhere_box.show()

    def _on_switch_clicked(self) -> None:
        if self.elsewhere is not None:
            self.switch_requested.emit(str(self.elsewhere.root))

    def go_back(self) -> bool:
        return self._step(self.back_stack, self.forward_stack)

    def go_forward(self) -> bool:
        return self._step(self.forward_stack, self.back_stack)

    def _step(
        self,
        source: list[tuple[str, int, Workspace | None]],
        target: list[tuple[str, int, Workspace | None]],
    ) -> bool:
        if not source:
            return False
        path, scroll, kb = source.pop()
        if self.page is not None:
            target.append((self.page.path, self._scroll(), self.page.elsewhere))
        self.tasks.run(
            self._loader(path, kb),
            lambda page: self.show_page(page, scroll),
            self._on_failed,
            owner=self,
            key="reader",
        )
        return True

    def _scroll(self) -> int:
        return self.browser.verticalScrollBar().value()

    def _on_failed(self, error: Exception) -> None:
        text = (
            str(error) if isinstance(error, KbError) else f"Could not show the document: {error!r}"
        )
        self.message.emit(text, Level.ERROR.value)

    # ------------------------------------------------------------------ find and zoom

    def open_find(self) -> None:
        self.find_bar.open_bar()

    def zoom(self, steps: int) -> None:
        """Change the text size by ``steps`` (0 = back to normal)."""
        if steps == 0:
            self.browser.zoomOut(self.zoom_steps)
            self.zoom_steps = 0
            return
        self.browser.zoomIn(steps)
        self.zoom_steps += steps

    # ------------------------------------------------------------------ links

    def _on_link_hovered(self, url: QUrl) -> None:
        if not url.isEmpty() and url.scheme() in EXTERNAL_SCHEMES:
            self.message.emit(f"Link to {url.toString()}", "hover")

    def _on_toc_activated(self, item: QListWidgetItem) -> None:
        self.browser.scrollToAnchor(item.data(Qt.ItemDataRole.UserRole))

    def _on_anchor_clicked(self, url: QUrl) -> None:
        self.follow_link(url.toString())

    def follow_link(self, href: str) -> None:
        """What clicking a link does, by its scheme."""
        url = QUrl(href)
        scheme = url.scheme().lower()
        if scheme == "kb":
            self._open_id(url.path())
        elif scheme == "copy":
            self._copy_block(url.path())
        elif scheme in EXTERNAL_SCHEMES:
            self._confirm_external(url)
        elif scheme:
            self.message.emit(
                f"Links of the kind {scheme}: are not opened from a document ({href}).",
                Level.WARNING.value,
            )
        elif href.startswith("#"):
            self.browser.scrollToAnchor(href[1:])
        else:
            self._open_relative(href)

    def _open_id(self, doc_id: str) -> None:
        entries = self._page_workspace().catalog.by_id(doc_id)
        if not entries:
            self.message.emit(f"No document has the id {doc_id}.", Level.WARNING.value)
            return
        if len(entries) > 1:
            self._choose_document(doc_id, sorted(entries, key=lambda e: e.path))
            return
        self.open(entries[0].path, kb=self.elsewhere)

    def _choose_document(self, doc_id: str, entries: list[Any]) -> None:
        """An id several documents have (a copy, or another organisation's document taking a
        protected one's id): never open one of them silently; the user picks, by path."""
        paths = ", ".join(e.path for e in entries)
        self.message.emit(
            f"The id {doc_id} is used by {len(entries)} documents ({paths}): choose one. "
            "kbapp lint reports the duplicate.",
            Level.WARNING.value,
        )
        menu = QMenu(self)
        header = menu.addAction(f"{doc_id} is used by {len(entries)} documents: open which?")
        header.setEnabled(False)
        for entry in entries:
            action = menu.addAction(f"{entry.path}  ({entry.title})")
            action.triggered.connect(
                lambda _checked=False, path=entry.path: self.open(path, kb=self.elsewhere)
            )
        self.id_choice = menu
        menu.popup(QCursor.pos())

    def _open_relative(self, href: str) -> None:
        target, _, anchor = href.partition("#")
        if self.page is None:
            return
        found = self._page_workspace().resolve_link(
            self.page.path, "path", QUrl.fromPercentEncoding(target.encode())
        )
        if found is None:
            self.message.emit(f"The link {href} points to no document.", Level.WARNING.value)
            return
        self.open(found, anchor, kb=self.elsewhere)

    def _copy_block(self, number: str) -> None:
        if self.page is None:
            return
        try:
            text = self.page.rendered.code_blocks[int(number)]
        except (ValueError, IndexError):
            return
        QGuiApplication.clipboard().setText(text)
        lines = text.count("\n") + 1
        self.message.emit(
            f"Copied {lines} line{'s' if lines != 1 else ''} to the clipboard.", Level.INFO.value
        )

    def _confirm_external(self, url: QUrl) -> None:
        """Say where the link goes before anything opens it (the text may lie about it)."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Open link in your browser?",
            "This link leaves kbapp and opens in your web browser:",
            parent=self,
        )
        box.setInformativeText(url.toString())
        box.setStandardButtons(QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda result: self._on_external_answered(url, result))
        self.external_prompt = box
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _on_external_answered(self, url: QUrl, result: int) -> None:
        self.external_prompt = None
        if result == QMessageBox.StandardButton.Open.value:
            QDesktopServices.openUrl(url)
