"""The dashboard: the health report (:mod:`kbapp.lifecycle.report`) in the window, for the joint review
meeting. The same figures and the same SVG charts as the HTML report, which it can export.

Building a report reads every document and a year of git history, so the window runs
:func:`kbapp.lifecycle.report.build_report` in the background and hands the result to :meth:`show_report`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtSvgWidgets import QSvgWidget
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kbapp.lifecycle.report import (
    HealthReport,
    build_report,
    with_lint,
    write_csv,
    write_html,
)
from kbapp.lifecycle.report_html import charts
from kbapp.ui.tasks import Tasks, run_or_inline
from kbapp.workspace import Workspace


class Tile(QFrame):
    def __init__(self, label: str, tone: str = "") -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.number = QLabel("–")
        self.number.setStyleSheet("font-size: 22px; font-weight: 600;")
        self.label = QLabel(label)
        self.label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.number)
        layout.addWidget(self.label)

    def set_value(self, value: int, bad_when_positive: str = "") -> None:
        self.number.setText(str(value))
        self.number.setToolTip("")
        colour = {"bad": "#C0392B", "warn": "#B9770E"}.get(bad_when_positive if value else "", "")
        style = "font-size: 22px; font-weight: 600;"
        self.number.setStyleSheet(style + (f" color: {colour};" if colour else ""))

    def set_pending(self) -> None:
        """Not counted yet (the lint figures come after the rest on a large knowledge base)."""
        self.number.setText("…")
        self.number.setToolTip("Still checking every document")
        self.number.setStyleSheet("font-size: 22px; font-weight: 600;")


#: The tiles that need every document read and checked (shown after the others).
LINT_TILES = ("lint", "links")

TILES = (
    ("documents", "Documents", ""),
    ("overdue", "Reviews overdue", "bad"),
    ("due", "Due within 14 days", "warn"),
    ("never", "Never reviewed", "warn"),
    ("no_owner", "Without owners", "warn"),
    ("lint", "Lint errors", "bad"),
    ("links", "Broken links", "bad"),
    ("captured", "Incidents captured", ""),
    ("gaps", "Searches that found nothing", "warn"),
)


class DashboardView(QWidget):
    """Knowledge base health at a glance."""

    open_requested = Signal(str)  # path
    report_ready = Signal(object)  # the HealthReport shown, complete
    #: The first report, shown without the lint figures while every document is checked.
    partial_ready = Signal(object)
    #: (done, total) of that check, as the status line says it.
    checking = Signal(int, int)

    def __init__(
        self,
        workspace: Workspace,
        parent: QWidget | None = None,
        tasks: Tasks | None = None,
        today: dt.date | None = None,
    ) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.tasks = tasks
        self.today = today
        self.report: HealthReport | None = None
        #: A report is being made.
        self.busy = False
        self._create_header()
        self._create_tiles()
        self._create_sections()
        self._create_layout()

    def _create_header(self) -> None:
        self.heading = QLabel("Knowledge base health")
        self.heading.setStyleSheet("font-size: 16px; font-weight: 600;")
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.status_label = QLabel()

    def _create_tiles(self) -> None:
        self.tiles = {key: Tile(label) for key, label, _tone in TILES}
        self.tones = {key: tone for key, _label, tone in TILES}

    def _create_sections(self) -> None:
        self.review_table = _table(["Organisation", "Overdue", "Due soon", "Never", "Reviewed"])
        self.owner_table = _table(["Owner", "Overdue", "Due soon", "Never", "Reviewed"])
        self.used_table = _table(
            ["Document", "Type", "Incidents", "Opens", "Helpful", "Not helpful"]
        )
        self.gaps_table = _table(["Search that found nothing", "Times"])
        self.problems_table = _table(["Where", "Problem"])
        self.charts = {kind: QSvgWidget() for kind in ("created", "reviewed", "retired")}
        for chart in self.charts.values():
            chart.setMinimumHeight(150)
        self.used_table.cellDoubleClicked.connect(self._on_used_activated)

    def _create_layout(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)
        header = QHBoxLayout()
        header.addWidget(self.heading)
        # the status takes the room left and never widens the view (a progress count at
        # 1366x768 pushed the Refresh button off the screen behind a horizontal scroll bar)
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header.addWidget(self.status_label, 1)
        header.addWidget(self.refresh_button)
        layout.addLayout(header)
        grid = QGridLayout()
        for index, tile in enumerate(self.tiles.values()):
            grid.addWidget(tile, index // 5, index % 5)
        layout.addLayout(grid)
        for title, widget in (
            ("Reviews per organisation", self.review_table),
            ("Reviews per owner", self.owner_table),
            ("Documents created per month (git history)", self.charts["created"]),
            ("Documents reviewed per month", self.charts["reviewed"]),
            ("Documents retired per month", self.charts["retired"]),
            ("Most used runbooks", self.used_table),
            ("Searches that found nothing", self.gaps_table),
            ("Broken links and documents without owners", self.problems_table),
        ):
            label = QLabel(title)
            label.setStyleSheet("font-weight: 600; margin-top: 8px;")
            layout.addWidget(label)
            layout.addWidget(widget)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.scroll_area = scroll  # takes the keyboard: the arrows and PgDn scroll the report
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    # ------------------------------------------------------------------ content

    def refresh(self) -> None:
        """Build the report (in the background with tasks; an older report is dropped when a
        newer one was asked for)."""
        self.refresh_button.setEnabled(False)
        self.busy = True
        self.status_label.setText("Reading documents and history…")
        workspace, today = self.workspace, self.today

        def work() -> tuple[HealthReport, dict[str, Any], dict[str, int]]:
            # Without linting first: on thousands of documents that is most of the time
            # (5,864 imported articles: 5 s of 7), and the reviews, owners and charts need
            # none of it. The lint figures follow (_check_documents).
            report = build_report(workspace, today=today, lint=False)
            # The charts and the counts too: months of dates and thousands of documents to go
            # through, not on the window's thread.
            return report, charts(report), tile_values(report)

        run_or_inline(
            self.tasks,
            work,
            lambda made: self._show_first(*made),
            self.show_error,
            owner=self,
            key="health-report",
        )

    def _show_first(
        self, report: HealthReport, svgs: dict[str, Any], values: dict[str, int]
    ) -> None:
        self.show_report(report, svgs, values)
        workspace = self.workspace
        if self.tasks is None:  # a view on its own (a test, a script): right here
            self.show_report(with_lint(report, workspace, progress=self._checked), svgs)
            return
        self.tasks.run(
            lambda progress: with_lint(
                report,
                workspace,
                # every 50th and the last: thousands of signals would crowd the window's thread
                progress=lambda done, total: (
                    (done % 50 == 0 or done == total) and progress(done, total)
                ),
            ),
            lambda full: self.show_report(full, svgs),
            self.show_error,
            owner=self,
            key="health-lint",
            progress=self._checked,
        )

    def _checked(self, done: int, total: int) -> None:
        """How far the lint check is: seconds on thousands of documents."""
        if self.busy:
            self.status_label.setText(
                f"Checking for lint errors and broken links: {done:,} of {total:,}…"
            )
        self.checking.emit(done, total)

    def show_report(
        self,
        report: HealthReport,
        svgs: dict[str, Any] | None = None,
        values: dict[str, int] | None = None,
    ) -> None:
        complete = report.lint_checked
        self.report = report
        self.busy = not complete
        self.refresh_button.setEnabled(complete)
        self.heading.setText(f"{report.kb_name}: health as of {report.today.isoformat()}")
        self.status_label.setText(
            f"this period: since {report.since.isoformat()}"
            if complete
            else "Checking every document for lint errors and broken links…"
        )
        values = values if values is not None else tile_values(report)
        for key, tile in self.tiles.items():
            if complete or key not in LINT_TILES:
                tile.set_value(values[key], self.tones[key])
            else:
                tile.set_pending()
        self._fill_tables(report)
        svgs = svgs if svgs is not None else charts(report)
        for kind, widget in self.charts.items():
            widget.load(QByteArray(str(svgs[kind]).encode("utf-8")))
        (self.report_ready if complete else self.partial_ready).emit(report)

    def _fill_tables(self, report: HealthReport) -> None:
        _fill(
            self.review_table,
            [
                [org, row["overdue"], row["due"], row["never"], row["ok"]]
                for org, row in report.review_by_org.items()
            ],
        )
        _fill(
            self.owner_table,
            [
                [owner, row["overdue"], row["due"], row["never"], row["ok"]]
                for owner, row in report.review_by_owner.items()
            ],
        )
        _fill(
            self.used_table,
            [
                [u.doc.title, u.doc.type, u.incidents, u.opens, u.helpful, u.not_helpful]
                for u in report.most_used
            ],
            keys=[u.doc.path for u in report.most_used],
        )
        _fill(self.gaps_table, [[g.query, g.times] for g in report.content_gaps])
        problems = [[f"{p.path}:{p.line}", p.message] for p in report.broken_links]
        problems += [[d.path, "no owner"] for d in report.without_owners]
        _fill(self.problems_table, problems)

    def show_error(self, error: Exception) -> None:
        self.busy = False
        self.refresh_button.setEnabled(True)
        self.status_label.setText(f"The report could not be made: {error}")

    def export_html(self, path: Path) -> Path:
        if self.report is None:
            raise RuntimeError("no report yet")
        return write_html(self.report, path)

    def export_csv(self, folder: Path) -> list[Path]:
        if self.report is None:
            raise RuntimeError("no report yet")
        return write_csv(self.report, folder)

    def tile_value(self, key: str) -> str:
        return self.tiles[key].number.text()

    def _on_used_activated(self, row: int, _column: int) -> None:
        item = self.used_table.item(row, 0)
        if item is not None and item.data(Qt.ItemDataRole.UserRole):
            self.open_requested.emit(item.data(Qt.ItemDataRole.UserRole))


def tile_values(report: HealthReport) -> dict[str, int]:
    """The number on each tile."""
    return {
        "documents": report.documents,
        "overdue": len(report.overdue),
        "due": len(report.due_soon),
        "never": len(report.never_reviewed),
        "no_owner": len(report.without_owners),
        "lint": report.lint_errors,
        "links": len(report.broken_links),
        "captured": len(report.captured),
        "gaps": len(report.content_gaps),
    }


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    table.setMinimumHeight(110)
    return table


#: Rows a section shows at most; the rest is counted in a last row (the export has them all).
MAX_ROWS = 100


def _fill(table: QTableWidget, rows: list[list[Any]], keys: list[str] | None = None) -> None:
    more = len(rows) - MAX_ROWS
    if more > 0:  # thousands of rows would freeze the window while they are made
        rows = rows[:MAX_ROWS] + [[f"… and {more} more (Export health report… lists all)"]]
    table.setUpdatesEnabled(False)
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QTableWidgetItem(str(value))
            if isinstance(value, int):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if c == 0 and keys is not None and r < len(keys):
                item.setData(Qt.ItemDataRole.UserRole, keys[r])
            table.setItem(r, c, item)
    table.setFixedHeight(min(36 + 30 * max(len(rows), 1), 330))
    table.setUpdatesEnabled(True)
