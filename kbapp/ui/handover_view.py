"""Handovers in the window: every handover with its progress, the steps of the selected one,
and recording its next step (committed like any other edit, so the other organisation sees it
after their next sync). With a :class:`~kbapp.ui.tasks.Tasks` (in the window) the handovers are
read in the background."""

from __future__ import annotations

import datetime as dt
from html import escape

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kbapp.cosourcing import handover
from kbapp.errors import KbError
from kbapp.ui.catalog_view import CatalogView
from kbapp.ui.tasks import Tasks, run_or_inline
from kbapp.workspace import Workspace

COLUMNS = ("Document", "Handover", "Steps", "Next")


class HandoverView(CatalogView):
    """The progress of every handover of routine work between the organisations."""

    open_requested = Signal(str)
    step_recorded = Signal(str)  # path, after a step was committed
    filled = Signal()

    def __init__(
        self,
        workspace: Workspace,
        parent: QWidget | None = None,
        lazy: bool = False,
        tasks: Tasks | None = None,
    ) -> None:
        super().__init__(workspace, parent, tasks)
        self._keep = ""
        self.handovers: list[handover.Handover] = []
        self._create_table()
        self._create_detail()
        self._create_layout()
        self.watch_documents(lazy)

    def _create_table(self) -> None:
        self.show_complete = QCheckBox("Show signed-off handovers")
        self.show_complete.setChecked(True)
        self.show_complete.toggled.connect(lambda _checked: self.refresh())
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # the next step whole
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.table.cellDoubleClicked.connect(lambda row, _col: self._open(row))

    def _create_detail(self) -> None:
        self.title_label = QLabel()
        self.title_label.setWordWrap(True)
        self.steps_list = QListWidget()
        self.steps_list.setWordWrap(True)
        self.date_edit = QDateEdit(QDate.currentDate())
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        self.ticket_edit = QLineEdit()
        self.ticket_edit.setPlaceholderText("Ticket it was done under (INC-…, CHG-…)")
        self.note_edit = QLineEdit()
        self.record_button = QPushButton("Record next step")
        self.record_button.clicked.connect(self.record_next_step)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)

    def _create_layout(self) -> None:
        form = QFormLayout()
        form.addRow("Date", self.date_edit)
        form.addRow("Ticket", self.ticket_edit)
        form.addRow("Note", self.note_edit)
        detail = QVBoxLayout()
        detail.addWidget(self.title_label)
        detail.addWidget(self.steps_list, 1)
        detail.addLayout(form)
        detail.addWidget(self.record_button)
        detail.addWidget(self.message_label)
        left = QVBoxLayout()
        left.addWidget(self.show_complete)
        left.addWidget(self.table, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(left, 3)
        layout.addLayout(detail, 2)
        self.setFocusProxy(self.table)

    # ------------------------------------------------------------------ state

    def refresh(self) -> None:
        """Read the handovers again (in the background with tasks) and show them."""
        selected = self.current()
        if selected is not None:
            self._keep = selected.doc_id
        workspace, complete = self.workspace, self.show_complete.isChecked()

        def work() -> list[handover.Handover]:
            return handover.handovers(workspace, refresh=False, include_complete=complete)

        run_or_inline(
            self.tasks,
            work,
            self.show_handovers,
            lambda error: self.message_label.setText(str(error)),
            owner=self,
            key="handovers",
            waiting=lambda: self.title_label.setText("Reading the knowledge base…"),
        )

    def show_handovers(self, items: list[handover.Handover]) -> None:
        self.handovers = items
        self.table.setRowCount(len(self.handovers))
        for row, item in enumerate(self.handovers):
            done, total = item.progress
            nxt = (
                "signed off" if item.complete else (item.next_step.label if item.next_step else "")
            )
            for column, text in enumerate(
                (item.title, f"{item.from_org} → {item.to_org}", f"{done}/{total}", nxt)
            ):
                cell = QTableWidgetItem(text)
                if column == 2:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(row, column, cell)
        wanted, self._keep = self._keep, ""
        keep = next((i for i, h in enumerate(self.handovers) if h.doc_id == wanted), 0)
        if self.handovers:
            self.table.selectRow(keep)
        self._show_detail()
        self.filled.emit()

    def current(self) -> handover.Handover | None:
        row = self.table.currentRow()
        return self.handovers[row] if 0 <= row < len(self.handovers) else None

    def select(self, doc_id: str) -> None:
        for row, item in enumerate(self.handovers):
            if item.doc_id == doc_id:
                self.table.selectRow(row)

    def _show_detail(self) -> None:
        item = self.current()
        self.steps_list.clear()
        if item is None:
            self.title_label.setText("No handover in progress.")
            self.record_button.setEnabled(False)
            return
        self.title_label.setText(
            f"<b>{escape(item.title, quote=False)}</b>: {item.from_org} → {item.to_org}, "
            f"started {item.started or '?'}"
        )
        for step in handover.STEPS:
            records = item.done(step.name)
            if records:
                for record in records:
                    extra = ", ".join(x for x in (record.by, record.ticket, record.note) if x)
                    self.steps_list.addItem(
                        QListWidgetItem(
                            f"\u2611 {step.label}: {record.date or '?'}"
                            + (f" ({extra})" if extra else "")
                        )
                    )
            else:
                self.steps_list.addItem(QListWidgetItem(f"\u2610 {step.label}"))
        nxt = item.next_step
        self.record_button.setEnabled(nxt is not None and not item.complete)
        self.record_button.setText(
            f"Record: {nxt.label}" if nxt and not item.complete else "Handover complete"
        )

    # ------------------------------------------------------------------ actions

    def record_next_step(self) -> None:
        item = self.current()
        if item is None or item.next_step is None:
            return
        step = item.next_step
        try:
            result = handover.record_step(
                self.workspace,
                item.path,
                step.name,
                date=_as_date(self.date_edit.date()),
                ticket=self.ticket_edit.text(),
                note=self.note_edit.text(),
            )
        except KbError as exc:
            self.message_label.setText(str(exc))
            return
        self.ticket_edit.clear()
        self.note_edit.clear()
        self.refresh()
        self.message_label.setText(f"Recorded: {step.label} ({item.title})")
        self.step_recorded.emit(result.path)

    def _open(self, row: int) -> None:
        if 0 <= row < len(self.handovers):
            self.open_requested.emit(self.handovers[row].path)

    def _on_selection_changed(self) -> None:
        self.message_label.clear()
        self._show_detail()


def _as_date(value: QDate) -> dt.date:
    return dt.date(value.year(), value.month(), value.day())
