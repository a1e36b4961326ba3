"""The review queue: documents due, overdue or never reviewed, sortable and filtered by
organisation, owner and horizon; the selected one shows what changed since its last review,
with "Mark reviewed", "Needs changes" and "Retire" at hand.

It adapts :func:`kbapp.review.review_queue` and :mod:`kbapp.review_actions` (core, no Qt).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kbapp.errors import KbError
from kbapp.review import ReviewItem, ReviewState, queue_sort_key, review_queue
from kbapp.review_actions import (
    changes_since_review,
    linking_documents,
    mark_reviewed,
    needs_changes,
    retire,
)
from kbapp.ui.incident import follow
from kbapp.workspace import Workspace

if TYPE_CHECKING:
    from kbapp.catalog import CatalogChanges  # SQLAlchemy loads on first use, not at start-up

COLUMNS = ("State", "Due", "Days", "Title", "Type", "Organisation", "Owners")
STATE_COLOURS = {
    ReviewState.OVERDUE: "#C0392B",
    ReviewState.DUE: "#B9770E",
    ReviewState.NEVER: "#7F8C8D",
    ReviewState.OK: "#1E8449",
}
HORIZONS = (("Due within 14 days", 14), ("Due within 30 days", 30),
            ("Due within 90 days", 90), ("Everything", None))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex


class ReviewQueueModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.items: list[ReviewItem] = []

    def set_items(self, items: list[ReviewItem]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self.items[index.row()]
        column = index.column()
        info = item.info
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                item.state.label,
                info.due.isoformat() if info.due else "—",
                "" if info.days_left is None else str(info.days_left),
                item.title,
                item.type,
                item.owner_org,
                ", ".join(item.owners),
            )[column]
        if role == SORT_ROLE:
            if column == 0:
                return queue_sort_key(item)[0] * 100000 + (info.days_left or 0)
            if column in (1, 2):
                return info.days_left if info.days_left is not None else -10**6
            return self.data(index, Qt.ItemDataRole.DisplayRole).casefold()
        if role == Qt.ItemDataRole.ForegroundRole and column == 0:
            return QBrush(QColor(STATE_COLOURS.get(item.state, "#000")))
        if role == Qt.ItemDataRole.FontRole and column == 0:
            font = QFont()
            font.setBold(item.state is ReviewState.OVERDUE)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            last = info.last_reviewed.isoformat() if info.last_reviewed else "never"
            return f"{item.path}\nLast reviewed: {last}; every {info.interval_days} days"
        return None


class ReviewQueueView(QWidget):
    """The window's review queue."""

    open_requested = Signal(str)  # path of the document to open in the reader
    reviewed = Signal(str)  # path, after any review action committed

    def __init__(self, workspace: Workspace, parent: QWidget | None = None,
                 today: dt.date | None = None, lazy: bool = False) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.today = today
        self._create_filters()
        self._create_table()
        self._create_detail()
        self._create_layout()
        follow(self, workspace.documents_changed, self._on_documents_changed)
        if not lazy:  # lazy: a hidden dock of the main window fills itself when shown
            self.refresh()

    # ------------------------------------------------------------------ building

    def _create_filters(self) -> None:
        self.org_combo = QComboBox()
        self.org_combo.addItem("All organisations", None)
        for org in self.workspace.config.organisations:
            self.org_combo.addItem(org.display, org.name)
        self.owner_combo = QComboBox()
        self.owner_combo.addItem("Any owner", None)
        self._update_me()
        self.horizon_combo = QComboBox()
        for label, days in HORIZONS:
            self.horizon_combo.addItem(label, days)
        for combo in (self.org_combo, self.owner_combo, self.horizon_combo):
            combo.currentIndexChanged.connect(self.refresh)
        self.count_label = QLabel()

    def _create_table(self) -> None:
        self.model = ReviewQueueModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName("Documents to review")
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.table.doubleClicked.connect(lambda _index: self._on_open())

    def _create_detail(self) -> None:
        self.detail_title = QLabel("Select a document to see what changed since its last review.")
        self.detail_title.setWordWrap(True)
        self.diff_view = QPlainTextEdit()
        self.diff_view.setReadOnly(True)
        self.diff_view.setAccessibleName("Changes since the last review")
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.diff_view.setFont(mono)
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("Note: what you checked, or what needs to change")
        self.open_button = QPushButton("&Open")
        self.reviewed_button = QPushButton("&Mark reviewed")
        self.changes_button = QPushButton("&Needs changes")
        self.retire_button = QPushButton("&Retire…")
        self.open_button.clicked.connect(self._on_open)
        self.reviewed_button.clicked.connect(self._on_mark_reviewed)
        self.changes_button.clicked.connect(self._on_needs_changes)
        self.retire_button.clicked.connect(self._on_retire)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self._set_actions_enabled(False)

    def _create_layout(self) -> None:
        filters = QHBoxLayout()
        filters.addWidget(self.org_combo)
        filters.addWidget(self.owner_combo)
        filters.addWidget(self.horizon_combo)
        filters.addStretch(1)
        filters.addWidget(self.count_label)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.detail_title)
        detail_layout.addWidget(self.diff_view, 1)
        detail_layout.addWidget(self.note_edit)
        buttons = QHBoxLayout()
        for button in (self.open_button, self.reviewed_button, self.changes_button,
                       self.retire_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        detail_layout.addLayout(buttons)
        detail_layout.addWidget(self.message_label)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(detail)
        splitter.setSizes([300, 300])
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)

    # ------------------------------------------------------------------ content

    def _update_me(self) -> None:
        """The "Me" owner follows who the user is (answered after the queue was built)."""
        me = self.workspace.identity.email
        index = 1 if self.owner_combo.count() > 1 else -1
        if index > 0 and self.owner_combo.itemData(index) == me:
            return
        self.owner_combo.blockSignals(True)
        if index > 0:
            self.owner_combo.removeItem(index)
        if me:
            self.owner_combo.addItem(f"Me ({me})", me)
        self.owner_combo.blockSignals(False)

    def refresh(self) -> None:
        self._update_me()
        selected = self.current_item()
        self.workspace.refresh()
        items = review_queue(
            self.workspace.catalog.all(), self.workspace.config, today=self.today,
            org=self.org_combo.currentData(), owner=self.owner_combo.currentData(),
            within_days=self.horizon_combo.currentData(),
            include_ok=self.horizon_combo.currentData() is None,
        )
        self.model.set_items(items)
        overdue = sum(1 for i in items if i.state is ReviewState.OVERDUE)
        self.count_label.setText(f"{len(items)} to review, {overdue} overdue")
        if selected is not None:
            self.select(selected.doc_id)
        if self.current_item() is None:
            self._show_detail(None)

    def rows(self) -> list[ReviewItem]:
        """The items in the order the table shows them."""
        return [self.model.items[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]
                for r in range(self.proxy.rowCount())]

    def current_item(self) -> ReviewItem | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        row = self.proxy.mapToSource(index).row()
        return self.model.items[row] if 0 <= row < len(self.model.items) else None

    def select(self, doc_id: str) -> bool:
        for row, item in enumerate(self.rows()):
            if item.doc_id == doc_id:
                self.table.selectRow(row)
                self.table.setCurrentIndex(self.proxy.index(row, 0))
                return True
        return False

    def _show_detail(self, item: ReviewItem | None) -> None:
        self._set_actions_enabled(item is not None)
        if item is None:
            self.detail_title.setText("Select a document to see what changed since its last "
                                      "review.")
            self.diff_view.clear()
            return
        changes = changes_since_review(self.workspace, item.path)
        if changes.reviewed_in is None:
            self.detail_title.setText(f"<b>{_escape(item.title)}</b> was never reviewed: read "
                                      "all of it.")
            self.diff_view.setPlainText("")
            return
        rev = changes.reviewed_in
        since = f"{len(changes.commits)} changes since" if changes.commits else "no change since"
        self.detail_title.setText(
            f"<b>{_escape(item.title)}</b>: last reviewed {rev.date:%Y-%m-%d} by "
            f"{_escape(rev.author)} ({rev.short}), {since}.")
        self.diff_view.setPlainText(changes.diff if changes.changed
                                    else "Nothing changed since the last review.")

    def _set_actions_enabled(self, enabled: bool) -> None:
        for button in (self.open_button, self.reviewed_button, self.changes_button,
                       self.retire_button):
            button.setEnabled(enabled)

    # ------------------------------------------------------------------ user actions

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.message_label.clear()
        self._show_detail(self.current_item())

    def _on_open(self) -> None:
        item = self.current_item()
        if item is not None:
            self.open_requested.emit(item.path)

    def _act(self, action: str) -> None:
        item = self.current_item()
        if item is None:
            return
        note = self.note_edit.text().strip()
        try:
            if action == "reviewed":
                mark_reviewed(self.workspace, item.path, note=note, today=self.today)
                done = f"Marked reviewed: {item.title}"
            else:
                needs_changes(self.workspace, item.path, note=note)
                done = f"Sent back for changes: {item.title}"
        except KbError as exc:
            self.message_label.setText(f"<span style='color:#B03A2E'>{_escape(str(exc))}</span>")
            return
        self.note_edit.clear()
        self.refresh()
        self.message_label.setText(done)
        self.reviewed.emit(item.path)

    def _on_mark_reviewed(self) -> None:
        self._act("reviewed")

    def _on_needs_changes(self) -> None:
        self._act("changes")

    def _on_retire(self) -> None:
        item = self.current_item()
        if item is None:
            return
        dialog = RetireDialog(self.workspace, item.path, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.refresh()
            self.message_label.setText(f"Retired: {item.title}")
            self.reviewed.emit(item.path)

    def _on_documents_changed(self, changes: CatalogChanges) -> None:
        if self.isVisible():
            self.refresh()


class RetireDialog(QDialog):
    """Asks for the reason, shows the documents linking to it, and retires it."""

    def __init__(self, workspace: Workspace, ref: str, parent: QWidget | None = None,
                 today: dt.date | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.ref = ref
        self.today = today
        entry = workspace.entry(ref)
        self.setWindowTitle(f"Retire {entry.title}")
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("Why it is retired (shown at the top of it)")
        self.replaced_edit = QLineEdit()
        self.replaced_edit.setPlaceholderText("kb-… of the document to read instead (optional)")
        self.linked = linking_documents(workspace, ref)
        self.linked_list = QListWidget()
        self.linked_list.addItems([f"{e.title}  ({e.doc_id})" for e in self.linked])
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #B03A2E")
        form = QFormLayout()
        form.addRow("&Reason", self.reason_edit)
        form.addRow("Replaced &by", self.replaced_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.retire_button = buttons.addButton("Retire", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        if self.linked:
            warning = QLabel(f"⚠ {len(self.linked)} documents link to it; their links will "
                             "lead to a retired document:")
            warning.setWordWrap(True)
            layout.addWidget(warning)
            layout.addWidget(self.linked_list)
        else:
            layout.addWidget(QLabel("No other document links to it."))
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    def accept(self) -> None:
        try:
            retire(self.workspace, self.ref, reason=self.reason_edit.text(),
                   replaced_by=self.replaced_edit.text().strip() or None, today=self.today)
        except KbError as exc:
            self.error_label.setText(str(exc))
            return
        super().accept()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
