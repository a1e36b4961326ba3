"""The review queue: documents due, overdue or never reviewed, sortable and filtered by
organisation, owner and horizon; the selected one shows what changed since its last review,
rendered the way History renders it (changed blocks marked, :mod:`kbapp.documents.renderdiff`), with
"Mark reviewed", "Needs changes" and "Retire" at hand.

It adapts :func:`kbapp.lifecycle.review.review_queue` and :mod:`kbapp.lifecycle.review_actions` (core, no Qt).
With a :class:`~kbapp.ui.tasks.Tasks` (in the window) the queue and the changes are worked out
in the background, so a knowledge base of thousands of documents never freezes the window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from html import escape
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from kbapp.errors import KbError
from kbapp.lifecycle.review import (
    REVIEW_COLUMNS,
    ReviewItem,
    ReviewState,
    next_review,
    nothing_due,
    queue_sort_key,
    review_queue,
)
from kbapp.lifecycle.review_actions import (
    ReviewDetail,
    mark_reviewed,
    needs_changes,
    review_detail,
)
from kbapp.ui import style
from kbapp.ui.catalog_view import CatalogView
from kbapp.ui.retire_dialog import RetireDialog
from kbapp.ui.tasks import Tasks, run_or_inline
from kbapp.workspace import Workspace

#: The queue's columns. How far a review is from due ("16 days overdue") is in each row's
#: tooltip: a column of its own took the room the title needs beside the incident checklist.
COLUMNS = ("Review", "Due", "Title", "Type", "Organisation", "Owners")
STATE, DUE, TITLE, TYPE, ORG, OWNERS = range(len(COLUMNS))
#: The review state in the queue's first column, short: the column says "Review" already,
#: and "review overdue" in bold took room the title needs beside the incident checklist.
STATE_WORDS = {
    ReviewState.OVERDUE: "overdue",
    ReviewState.DUE: "due soon",
    ReviewState.NEVER: "never",
    ReviewState.OK: "done",
    ReviewState.RETIRED: "retired",
}
STATE_COLOURS = {
    ReviewState.OVERDUE: "#C0392B",
    ReviewState.DUE: "#B9770E",
    ReviewState.NEVER: "#7F8C8D",
    ReviewState.OK: "#1E8449",
}
HORIZONS = (
    ("Due within 14 days", 14),
    ("Due within 30 days", 30),
    ("Due within 90 days", 90),
    ("Everything", None),
)
Index = QModelIndex | QPersistentModelIndex


def sort_key(column: int) -> Callable[[ReviewItem], Any]:
    """How a column sorts: state by urgency, dates by days left, text without case."""
    if column == STATE:
        return queue_sort_key
    if column == DUE:
        return lambda item: (
            item.info.days_left if item.info.days_left is not None else -(10**6),
            item.title.casefold(),
        )
    attribute = {TITLE: "title", TYPE: "type", ORG: "owner_org"}.get(column)
    if attribute is not None:
        return lambda item: str(getattr(item, attribute)).casefold()
    return lambda item: ", ".join(item.owners).casefold()


class ReviewQueueModel(QAbstractTableModel):
    """The queue's rows; sorted in Python (a proxy model calls back into Python for every
    comparison: seconds for thousands of rows)."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[ReviewItem] = []
        self.sorted_by = (0, Qt.SortOrder.AscendingOrder)

    def set_items(self, items: list[ReviewItem]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self._sort_items()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sorted_by = (column, order)
        self.layoutAboutToBeChanged.emit()
        self._sort_items()
        self.layoutChanged.emit()

    def _sort_items(self) -> None:
        column, order = self.sorted_by
        self.items.sort(key=sort_key(column), reverse=order == Qt.SortOrder.DescendingOrder)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
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
                STATE_WORDS[item.state],
                info.due.isoformat() if info.due else "—",
                item.title,
                item.type,
                item.owner_org,
                ", ".join(item.owners),
            )[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == STATE:
            return QBrush(QColor(STATE_COLOURS.get(item.state, "#000")))
        if role == Qt.ItemDataRole.FontRole and column == STATE:
            font = QFont()
            font.setBold(item.state is ReviewState.OVERDUE)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            last = info.last_reviewed.isoformat() if info.last_reviewed else "never"
            return (
                f"{item.title}\n{item.path}\n{info.when().capitalize()}. Last reviewed: {last}; "
                f"every {info.interval_days} days"
            )
        return None


class ReviewQueueView(CatalogView):
    """The window's review queue."""

    open_requested = Signal(str)  # path of the document to open in the reader
    reviewed = Signal(str)  # path, after any review action committed
    #: The table was filled (from the background in the window).
    filled = Signal()
    #: The detail pane shows the selected document's changes.
    detail_shown = Signal(str)

    def __init__(
        self,
        workspace: Workspace,
        parent: QWidget | None = None,
        today: dt.date | None = None,
        lazy: bool = False,
        tasks: Tasks | None = None,
    ) -> None:
        super().__init__(workspace, parent, tasks)
        self.today = today
        self._wanted_selection = ""
        #: The next review when the queue is empty (after an import: weeks away).
        self._upcoming: ReviewItem | None = None
        self._create_filters()
        self._create_table()
        self._create_detail()
        self._create_layout()
        self.watch_documents(lazy)

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
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)  # one line a document; the whole title is its tip
        header = self.table.horizontalHeader()
        # The title takes what the other columns leave; the owners a share of the width
        # (_fit_columns), so that the title keeps room beside the incident checklist on a
        # laptop screen. The state is never cut: it is what the queue is sorted by.
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.Stretch)
        bold = QFont(self.table.font())
        bold.setBold(True)
        state_width = max(QFontMetrics(bold).horizontalAdvance(w) for w in STATE_WORDS.values())
        plain = QFontMetrics(self.table.font())
        for column, width in (
            (STATE, state_width + 16),
            (DUE, plain.horizontalAdvance("2026-12-31") + 16),
            (TYPE, plain.horizontalAdvance("troubleshooting") + 16),  # the longest standard type
            # "Organisation" in the header's font was cut to "rganisation" at 80 px
            (ORG, max(80, header.fontMetrics().horizontalAdvance("Organisation") + 16)),
        ):
            header.resizeSection(column, width)
        self.table.setAccessibleName("Documents to review")
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.table.doubleClicked.connect(lambda _index: self._on_open())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Of what the fixed columns leave, the owners get a third (at most 260 pixels), the
        title the rest: beside the incident checklist the title was cut to "B…"."""
        header = self.table.horizontalHeader()
        fixed = sum(header.sectionSize(c) for c in (STATE, DUE, TYPE, ORG))
        left = max(0, self.table.viewport().width() - fixed)
        header.resizeSection(OWNERS, max(40, min(260, left // 3)))

    def _create_detail(self) -> None:
        self.detail_title = QLabel("Select a document to see what changed since its last review.")
        self.detail_title.setWordWrap(True)
        self.diff_view = QTextBrowser()  # rendered as the reader shows it, changes marked
        self.diff_view.setObjectName("reviewChanges")
        self.diff_view.setOpenLinks(False)
        self.diff_view.setAccessibleName("Changes since the last review")
        self.diff_view.document().setDefaultStyleSheet(style.reader_css(self.palette()))
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
        for button in (
            self.open_button,
            self.reviewed_button,
            self.changes_button,
            self.retire_button,
        ):
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
        self.setFocusProxy(self.table)
        for combo in (self.org_combo, self.owner_combo, self.horizon_combo):
            combo.setMinimumContentsLength(12)
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )

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
        """Work the queue out again (in the background with tasks) and show it."""
        self._update_me()
        selected = self.current_item()
        if selected is not None:
            self._wanted_selection = selected.doc_id
        workspace, config, today = self.workspace, self.workspace.config, self.today
        org, owner = self.org_combo.currentData(), self.owner_combo.currentData()
        within = self.horizon_combo.currentData()

        def work() -> tuple[list[ReviewItem], ReviewItem | None]:
            workspace.refresh()
            rows = workspace.catalog.summaries(REVIEW_COLUMNS)
            items = review_queue(
                rows,
                config,
                today=today,
                org=org,
                owner=owner,
                within_days=within,
                include_ok=within is None,
            )
            # an empty queue (after an import: first reviews weeks away) says when it fills
            upcoming = (
                next_review(rows, config, today=today, org=org, owner=owner)
                if not items and within is not None
                else None
            )
            return items, upcoming

        run_or_inline(
            self.tasks,
            work,
            lambda made: self.show_items(*made),
            self._on_failed,
            owner=self,
            key="review-queue",
            waiting=lambda: self.count_label.setText("Reading the knowledge base…"),
        )

    def show_items(self, items: list[ReviewItem], upcoming: ReviewItem | None = None) -> None:
        self.model.set_items(items)
        self._upcoming = upcoming
        overdue = sum(1 for i in items if i.state is ReviewState.OVERDUE)
        self.count_label.setText(f"{len(items)} to review, {overdue} overdue")
        wanted, self._wanted_selection = self._wanted_selection, ""
        if not (wanted and self.select(wanted)) and self.current_item() is None:
            self._show_detail(None)
        self.filled.emit()

    def rows(self) -> list[ReviewItem]:
        """The items in the order the table shows them."""
        return list(self.model.items)

    def current_item(self) -> ReviewItem | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        row = index.row()
        return self.model.items[row] if 0 <= row < len(self.model.items) else None

    def select(self, doc_id: str) -> bool:
        for row, item in enumerate(self.model.items):
            if item.doc_id == doc_id:
                self.table.selectRow(row)
                self.table.setCurrentIndex(self.model.index(row, 0))
                return True
        return False

    def _nothing_selected(self) -> str:
        """Under the table when no row is chosen; an empty queue says why it is empty."""
        if self.model.items:
            return "Select a document to see what changed since its last review."
        within = self.horizon_combo.currentData()
        if within is None:
            return "No published or in-review document matches these filters."
        return (
            f"{nothing_due(f'{within} days', self._upcoming)} Choose “Everything” to see when "
            "each review is due."
        )

    def _show_detail(self, item: ReviewItem | None) -> None:
        self._set_actions_enabled(item is not None)
        if item is None:
            self.detail_title.setText(self._nothing_selected())
            self.diff_view.clear()
            return
        workspace = self.workspace

        def waiting() -> None:
            self.detail_title.setText(
                f"<b>{escape(item.title, quote=False)}</b>: reading its history…"
            )
            self.diff_view.clear()

        run_or_inline(
            self.tasks,
            lambda: review_detail(workspace, item),
            self.show_detail,
            self._on_failed,
            owner=self,
            key="review-detail",
            waiting=waiting,
        )

    def show_detail(self, detail: ReviewDetail) -> None:
        current = self.current_item()
        if current is None or current.path != detail.path:
            return  # another row was chosen meanwhile
        self.detail_title.setText(detail.title_html)
        self.diff_view.setHtml(detail.body_html)
        self.detail_shown.emit(detail.path)

    def _on_failed(self, error: Exception) -> None:
        self.message_label.setText(
            f"<span style='color:#B03A2E'>{escape(str(error), quote=False)}</span>"
        )

    def _set_actions_enabled(self, enabled: bool) -> None:
        for button in (
            self.open_button,
            self.reviewed_button,
            self.changes_button,
            self.retire_button,
        ):
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
            self.message_label.setText(
                f"<span style='color:#B03A2E'>{escape(str(exc), quote=False)}</span>"
            )
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
