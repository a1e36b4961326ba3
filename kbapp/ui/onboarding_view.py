"""An onboarding path as a checklist: tick what you have read (kept on this machine only),
double-click an item to open the document."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from kbapp.cosourcing import onboarding
from kbapp.errors import KbError
from kbapp.workspace import Workspace

KEY_ROLE = Qt.ItemDataRole.UserRole
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


class OnboardingView(QWidget):
    """The reading list of one onboarding document, with local read-tracking."""

    open_requested = Signal(str)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.ref = ""
        self.state: onboarding.OnboardingProgress | None = None
        self.title_label = QLabel()
        self.title_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.list = QListWidget()
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.itemDoubleClicked.connect(self._on_item_activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.list, 1)

    def set_document(self, ref: str) -> None:
        """Show the onboarding path ``ref`` (id, path or title)."""
        self.ref = ref
        self.refresh()

    def refresh(self) -> None:
        if not self.ref:
            return
        try:
            self.state = onboarding.progress(self.workspace, self.ref)
        except KbError as exc:
            self.state = None
            self.title_label.setText(str(exc))
            self.list.clear()
            return
        state = self.state
        self.list.blockSignals(True)
        self.list.clear()
        for item in state.items:
            row = QListWidgetItem(f"{item.number}. {item.text}")
            row.setFlags(row.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            row.setCheckState(
                Qt.CheckState.Checked if state.is_read(item) else Qt.CheckState.Unchecked
            )
            row.setData(KEY_ROLE, item.number)
            row.setData(PATH_ROLE, item.path)
            if not item.doc_id:
                row.setToolTip("This item links to no document of the knowledge base")
            self.list.addItem(row)
        self.list.blockSignals(False)
        self.title_label.setText(
            f"<b>{escape(state.title, quote=False)}</b>: {state.done} of {len(state.items)} read"
        )
        self.progress_bar.setRange(0, max(len(state.items), 1))
        self.progress_bar.setValue(state.done)

    def _on_item_changed(self, row: QListWidgetItem) -> None:
        read = row.checkState() == Qt.CheckState.Checked
        onboarding.mark(self.workspace, self.ref, str(row.data(KEY_ROLE)), read=read)
        self.refresh()

    def _on_item_activated(self, row: QListWidgetItem) -> None:
        path = row.data(PATH_ROLE)
        if path:
            self.open_requested.emit(path)
