"""Search, the front door: a large field that has the cursor when the window opens (and after
Ctrl+K), results that follow the typing, facet filters, and the keyboard doing everything
(arrows move, Enter opens, Esc clears).

Each keystroke only restarts a short timer; the query itself runs on the background runner
(:class:`kbapp.ui.tasks.Tasks`) and an answer to an older query is dropped when a newer one was
asked. Result rows are painted from one small rich-text document each, made when first shown.
When nothing matches, the view offers the index's spelling suggestion and a button to write the
missing document.

The knowledge bases of ``Settings.also_search`` are searched too (:mod:`kbapp.knowledge_bases`,
opened on the worker with the index); then each row carries a badge naming the knowledge base
it is in, and opening a row from another one asks the window to show it read-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListView,
    QVBoxLayout,
    QWidget,
)

from kbapp.errors import KbError
from kbapp.ui.search_facets import FacetBar
from kbapp.ui.search_results import (
    HIT_ROLE,
    EmptyState,
    ResultDelegate,
    ResultsModel,
)
from kbapp.ui.tasks import Tasks, Ticket
from kbapp.workspace import Workspace

if TYPE_CHECKING:  # Whoosh loads on the worker that opens the index, not at start-up
    from kbapp.knowledge_bases import OtherKnowledgeBases
    from kbapp.search import SearchHit, SearchIndex, SearchResponse

DEBOUNCE_MS = 90
SETTLE_MS = 2500  # a query unchanged this long counts as one search (incident timeline)


class SearchView(QWidget):
    #: The user opened a result (its path).
    open_requested = Signal(str)
    #: Write the missing document, titled like the query.
    create_requested = Signal(str)
    #: A query the user settled on, with its number of results (for the incident timeline).
    searched = Signal(str, int)
    #: An answer was shown (tests, benchmarks).
    results_shown = Signal(object)
    #: A link in a result (a ticket id) was clicked: the window asks before opening it.
    link_activated = Signal(str)
    #: The user opened a result from another knowledge base: (its folder, the path in it).
    open_elsewhere_requested = Signal(str, str)
    #: A knowledge base searched together could not be opened (one line, for the status bar).
    warning = Signal(str)

    def __init__(self, workspace: Workspace, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.tasks = tasks
        self.index: SearchIndex | None = None
        #: The knowledge bases searched together with this one, and their indexes.
        self.others: OtherKnowledgeBases | None = None
        self.other_indexes: list[SearchIndex] = []
        self.response: SearchResponse | None = None
        self._shown_query = ""
        self._searching = False  # a search is running on the pool
        self._rerun = False  # the text changed while it ran: search again when it ends
        self._recorded = ""
        self._create_field()
        self._create_facets()
        self._create_results()
        self._create_timers()
        self._create_layout()

    def _create_field(self) -> None:
        self.field = QLineEdit()
        self.field.setObjectName("searchField")
        self.field.setPlaceholderText("Search runbooks, SOPs, alerts, error codes…   (Ctrl+K)")
        self.field.setClearButtonEnabled(True)
        self.field.textChanged.connect(self._on_text_changed)
        self.field.installEventFilter(self)
        self.status = QLabel("Opening the search index…")
        self.status.setObjectName("searchStatus")
        self.status.setWordWrap(True)  # the column stays narrow on a laptop screen
        #: Said above the results when no document has all the words typed.
        self.notice = QLabel()
        self.notice.setObjectName("searchNotice")
        self.notice.setWordWrap(True)
        self.notice.hide()

    def _create_facets(self) -> None:
        self.facets = FacetBar()
        self.facets.changed.connect(self.run_query)

    def _create_results(self) -> None:
        self.model = ResultsModel()
        self.delegate = ResultDelegate(self)
        self.delegate.clear(self.palette())
        self.delegate.link_activated.connect(self.link_activated)
        self.list = QListView()
        self.list.setObjectName("results")
        self.list.setModel(self.model)
        self.list.setItemDelegate(self.delegate)
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.activated.connect(self._on_activated)
        self.list.installEventFilter(self)
        self.empty = EmptyState()
        self.empty.suggestion_chosen.connect(self.field.setText)
        self.empty.create_requested.connect(self.create_requested)
        self.empty.hide()

    def _create_timers(self) -> None:
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(DEBOUNCE_MS)
        self.debounce.timeout.connect(self.run_query)
        self.settle = QTimer(self)
        self.settle.setSingleShot(True)
        self.settle.setInterval(SETTLE_MS)
        self.settle.timeout.connect(self._record)

    def _create_layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.setSpacing(6)
        layout.addWidget(self.field)
        layout.addWidget(self.facets)
        layout.addWidget(self.status)
        layout.addWidget(self.notice)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty, 1)

    # ------------------------------------------------------------------ the index

    def start(self) -> None:
        """Open the index in the background, then catch up with what changed since last time."""

        def open_index() -> SearchIndex:
            from kbapp.search import SearchIndex

            return SearchIndex.for_workspace(self.workspace)

        self.tasks.run(open_index, self._on_index_open, self._on_index_failed, owner=self)

    def _on_index_open(self, index: SearchIndex) -> None:
        self.index = index
        self._show_state()
        if self.field.text().strip():
            self.run_query()
        self.tasks.run(
            lambda report: index.catch_up(report, refresh_progress=report),
            self._on_caught_up,
            self._on_index_failed,
            owner=self,
            progress=self._on_index_progress,
        )
        self.reload_others()

    def reload_others(self) -> None:
        """(Re)open the knowledge bases searched together (``Settings.also_search``) on the
        worker, with their indexes caught up; then search again."""

        def open_others() -> tuple[OtherKnowledgeBases, list[SearchIndex]]:
            from kbapp.knowledge_bases import open_others as open_all
            from kbapp.search import SearchIndex

            others = open_all(self.workspace.settings, self.workspace.root)
            indexes = []
            for ws in list(others.workspaces):
                try:
                    index = SearchIndex.for_workspace(ws)
                    index.catch_up()
                except (KbError, OSError) as exc:
                    others.skipped.append((str(ws.root), str(exc)))
                    others.workspaces.remove(ws)
                    ws.close()
                    continue
                indexes.append(index)
            if asked and asked[0].stale:  # a newer reload was asked meanwhile: nobody takes these
                others.close()
            return others, indexes

        asked: list[Ticket] = []
        asked.append(
            self.tasks.run(
                open_others,
                self._on_others_open,
                self._on_index_failed,
                owner=self,
                key="other-kbs",
            )
        )

    def _on_others_open(self, opened: tuple[OtherKnowledgeBases, list[SearchIndex]]) -> None:
        self.close_others()
        self.others, self.other_indexes = opened
        for warning in self.others.warnings:
            self.warning.emit(warning)
        if self.field.text().strip():
            self.run_query()

    def close_others(self) -> None:
        if self.others is not None:
            self.others.close()
        self.others, self.other_indexes = None, []

    def searched_kbs(self) -> list[Workspace]:
        """This knowledge base, then those searched together with it."""
        return [self.workspace, *(self.others.workspaces if self.others else [])]

    def _on_index_progress(self, done: int, total: int) -> None:
        # the index's own figure covers both phases (reading the files, then indexing them)
        found = self.index.indexing_percent() if self.index else None
        percent = found if found is not None else (100 * done // total if total else 100)
        if self.response is not None and self.response.indexing:
            # results are shown: say how far the build is beside them, and in the empty view
            self.response.indexing_percent = percent
            self._show_counts(self.response)
            if not self.response.hits:
                self.empty.show_for(
                    self.field.text().strip(),
                    self.response.suggestion,
                    self.response.indexing_note(),
                )
            return
        self.status.setText(f"Indexing the knowledge base ({percent} %)…")

    def _on_caught_up(self, count: int) -> None:
        self._show_state()
        if count and self.field.text().strip():
            self.run_query()

    def _on_index_failed(self, error: Exception) -> None:
        self.status.setText(f"Search is not available: {error}")

    def _show_state(self) -> None:
        if self.response is not None:
            self._show_counts(self.response)
            return
        state = self.index.state if self.index else None
        if state is not None and state.indexing:
            self.status.setText(state.message or f"Indexing… {state.percent}%")
        else:
            self.status.setText("Type to search; ↑↓ choose, Enter opens, Esc clears.")

    # ------------------------------------------------------------------ querying

    def focus_field(self) -> None:
        self.field.setFocus()
        self.field.selectAll()

    def query_text(self) -> str:
        """What is sent to the index: the typed words and the chosen facet filters."""
        words = self.field.text().strip()
        return " ".join([words, *self.facets.terms()]).strip() if words else ""

    def _on_text_changed(self, _text: str) -> None:
        self.debounce.start()

    def run_query(self) -> None:
        self.debounce.stop()
        query = self.query_text()
        if not query:
            self._rerun = False  # the running search's answer is dropped as stale
            self._clear_results()
            return
        if self.index is None:
            return  # runs when the index is open
        if self._searching:
            # One search at a time: queries run side by side only fight over the GIL and the
            # searcher, so each answer comes later. The newest text runs when this one ends.
            self._rerun = True
            return
        self._searching = True
        indexes = [self.index, *self.other_indexes]
        limit = max(self.workspace.settings.search_limit, 10)

        def search() -> SearchResponse:
            from kbapp.search import search_all

            if len(indexes) == 1:
                return indexes[0].search(query, limit, snippets=10)
            return search_all(indexes, query, limit, snippets=10)

        self.tasks.run(
            search,
            lambda response: self._answered(query, response),
            self._on_search_failed,
            owner=self,
            key="search",
        )

    def _answered(self, query: str, response: SearchResponse) -> None:
        self._search_ended()
        if query == self.query_text():  # else stale: the text changed while it ran
            self.show_response(query, response)

    def _search_ended(self) -> None:
        self._searching = False
        if self._rerun:
            self._rerun = False
            self.run_query()

    def show_response(self, query: str, response: SearchResponse) -> None:
        self.response = response
        self._shown_query = query
        self.delegate.clear(self.palette())
        self.delegate.linker = self.workspace.ticket_linker()
        self.delegate.show_kb = len({hit.kb_path for hit in response.hits}) > 1 or bool(
            self.other_indexes
        )
        self.model.set_hits(response.hits)
        self.facets.fill(response)
        has_hits = bool(response.hits)
        self.list.setVisible(has_hits)
        self.empty.setVisible(not has_hits)
        note = response.some_words_note()
        self.notice.setText(note)
        self.notice.setVisible(bool(note))
        if has_hits:
            self.list.setCurrentIndex(self.model.index(0, 0))
        else:
            self.empty.show_for(
                self.field.text().strip(), response.suggestion, response.indexing_note()
            )
        self._show_counts(response)
        self.settle.start()
        self.results_shown.emit(response)

    def _show_counts(self, response: SearchResponse) -> None:
        shown = len(response.hits)
        more = f" (showing {shown})" if response.total > shown else ""
        note = f" · {response.indexing_note()}" if response.indexing else ""
        noun = "result" if response.total == 1 else "results"
        self.status.setText(f"{response.total:,} {noun}{more} · {response.elapsed_ms:.0f} ms{note}")

    def _on_search_failed(self, error: Exception) -> None:
        self._search_ended()
        self.status.setText(f"Search failed: {error}")

    def _clear_results(self) -> None:
        self.response = None
        self.model.set_hits([])
        self.list.show()
        self.empty.hide()
        self.notice.hide()
        self._show_state()

    def set_filter(self, key: str, value: str) -> None:
        """Filter by a facet value (as choosing it in its list does)."""
        self.facets.set_filter(key, value)

    # ------------------------------------------------------------------ keyboard and opening

    def selected_hit(self) -> SearchHit | None:
        index = self.list.currentIndex()
        return index.data(HIT_ROLE) if index.isValid() else None

    def open_selected(self) -> bool:
        hit = self.selected_hit()
        if hit is None:
            return False
        self._record()
        if hit.kb_path and hit.kb_path != str(self.workspace.root):
            self.open_elsewhere_requested.emit(hit.kb_path, hit.path)
        else:
            self.open_requested.emit(hit.path)
        return True

    def _on_activated(self, index: QModelIndex) -> None:
        self.list.setCurrentIndex(index)
        self.open_selected()

    def _record(self) -> None:
        self.settle.stop()
        response = self.response
        query = self.field.text().strip()
        if response is not None and query and query != self._recorded:
            self._recorded = query
            self.searched.emit(query, response.total)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        key = event.key()
        if watched is self.field:
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                self._move(key)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if self.debounce.isActive() or self._shown_query != self.query_text():
                    self.run_query()  # Enter before the answer arrived: open when it does
                    self._open_when_shown()
                else:
                    self.open_selected()
                return True
            if key == Qt.Key.Key_Escape:
                if self.field.text():
                    self.field.clear()
                    return True
                return False
        elif watched is self.list:
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.open_selected()
                return True
            if key == Qt.Key.Key_Escape:
                self.focus_field()
                return True
        return super().eventFilter(watched, event)

    def _open_when_shown(self) -> None:
        def once(_response: object) -> None:
            self.results_shown.disconnect(once)
            self.open_selected()

        self.results_shown.connect(once)

    def _move(self, key: int) -> None:
        count = self.model.rowCount()
        if not count:
            return
        row = self.list.currentIndex().row() if self.list.currentIndex().isValid() else -1
        step = {
            Qt.Key.Key_Down: 1,
            Qt.Key.Key_Up: -1,
            Qt.Key.Key_PageDown: 5,
            Qt.Key.Key_PageUp: -5,
        }[Qt.Key(key)]
        row = max(0, min(count - 1, row + step))
        self.list.setCurrentIndex(self.model.index(row, 0))
