"""The responsibility matrix in the window: systems × types, responsible organisation per cell,
gaps highlighted, and the list of gaps below. Double-click opens the document behind a cell.
With a :class:`~kbapp.ui.tasks.Tasks` (in the window) the matrix is worked out in the
background."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kbapp.cosourcing.matrix import Matrix, build_matrix, cell_text
from kbapp.ui.catalog_view import CatalogView
from kbapp.ui.tasks import Tasks, run_or_inline
from kbapp.workspace import Workspace

GAP_COLOUR = QColor("#fdecea")
PATH_ROLE = Qt.ItemDataRole.UserRole
#: What the matrix reads of each document (kbapp.catalog.Catalog.summaries).
ENTRY_COLUMNS = ("path", "doc_id", "title", "type", "status", "owner_org", "systems", "meta")


class MatrixView(CatalogView):
    """Who is responsible for what, and where the knowledge base has gaps."""

    open_requested = Signal(str)  # path of a document to open in the reader
    filled = Signal()

    def __init__(
        self,
        workspace: Workspace,
        parent: QWidget | None = None,
        lazy: bool = False,
        tasks: Tasks | None = None,
    ) -> None:
        super().__init__(workspace, parent, tasks)
        self.matrix: Matrix | None = None
        self._create_widgets()
        self.watch_documents(lazy)

    def _create_widgets(self) -> None:
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.cellDoubleClicked.connect(self._on_cell_activated)
        self.gap_list = QListWidget()
        # A gap is a sentence (who disagrees with whom, by document): wrapped, never cut.
        self.gap_list.setWordWrap(True)
        self.gap_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.gap_list.itemActivated.connect(self._on_gap_activated)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.gap_list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary_label)
        layout.addWidget(splitter, 1)
        self.setFocusProxy(self.table)

    def refresh(self) -> None:
        """Rebuild from the catalog as it is (the window refreshes the catalog); in the
        background with tasks."""
        workspace = self.workspace

        def work() -> Matrix:
            return build_matrix(workspace.catalog.summaries(ENTRY_COLUMNS), workspace.config)

        run_or_inline(
            self.tasks,
            work,
            self.show_matrix,
            lambda error: self.summary_label.setText(str(error)),
            owner=self,
            key="matrix",
            waiting=lambda: self.summary_label.setText("Reading the knowledge base…"),
        )

    def show_matrix(self, matrix: Matrix) -> None:
        self.matrix = matrix
        self.table.setUpdatesEnabled(False)
        self.table.clear()
        self.table.setRowCount(len(matrix.systems))
        self.table.setColumnCount(len(matrix.types))
        self.table.setHorizontalHeaderLabels(matrix.types)
        self.table.setVerticalHeaderLabels(matrix.systems)
        for row, system in enumerate(matrix.systems):
            for column, doc_type in enumerate(matrix.types):
                self.table.setItem(row, column, self._cell_item(matrix, system, doc_type))
        self.gap_list.clear()
        for gap in matrix.gaps:
            item = QListWidgetItem(gap.message)  # says what is missing or who disagrees
            item.setToolTip(gap.message)
            item.setData(PATH_ROLE, gap.docs[0].path if gap.docs else "")
            self.gap_list.addItem(item)
        self.table.setUpdatesEnabled(True)
        systems, gaps = len(matrix.systems), len(matrix.gaps)
        self.summary_label.setText(
            f"{systems} system{'s' if systems != 1 else ''} · {gaps} gap{'s' if gaps != 1 else ''} "
            "(highlighted; double-click a cell or a gap to open its document)"
        )
        self.filled.emit()

    def _cell_item(self, matrix: Matrix, system: str, doc_type: str) -> QTableWidgetItem:
        cell = matrix.cell(system, doc_type)
        gaps = matrix.gaps_for(system, doc_type)
        item = QTableWidgetItem(cell_text(cell) if cell.docs else "")
        lines = [
            f"{d.title} ({d.status}) — responsible: {', '.join(d.responsible) or 'not named'}"
            for d in cell.docs
        ]
        lines += [f"Gap: {g.message}" for g in gaps]
        item.setToolTip("\n".join(lines))
        item.setData(PATH_ROLE, cell.docs[0].path if cell.docs else "")
        if gaps:
            item.setBackground(QBrush(GAP_COLOUR))
        return item

    def cell_text_at(self, system: str, doc_type: str) -> str:
        """What the user sees in a cell (for tests and accessibility)."""
        item = self._item_for(system, doc_type)
        return item.text() if item else ""

    def is_gap(self, system: str, doc_type: str) -> bool:
        item = self._item_for(system, doc_type)
        return item is not None and item.background().color() == GAP_COLOUR

    def _item_for(self, system: str, doc_type: str) -> QTableWidgetItem | None:
        if (
            self.matrix is None
            or system not in self.matrix.systems
            or doc_type not in self.matrix.types
        ):
            return None
        return self.table.item(self.matrix.systems.index(system), self.matrix.types.index(doc_type))

    def _on_cell_activated(self, row: int, column: int) -> None:
        item = self.table.item(row, column)
        path = item.data(PATH_ROLE) if item else ""
        if path:
            self.open_requested.emit(path)

    def _on_gap_activated(self, item: QListWidgetItem) -> None:
        path = item.data(PATH_ROLE)
        if path:
            self.open_requested.emit(path)
