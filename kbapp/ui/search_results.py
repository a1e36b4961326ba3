"""The search results as the search column shows them: the list model of hits, each row drawn
from its HTML (title, badges, highlighted fragments) in whole lines, and what the column shows
when nothing matches."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QHelpEvent, QMouseEvent, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from kbapp.lifecycle.review import ReviewState
from kbapp.ui import style

if TYPE_CHECKING:  # Whoosh loads on the worker that opens the index, not at start-up
    from kbapp.cosourcing.tickets import TicketLinker
    from kbapp.search import SearchHit


Index = QModelIndex | QPersistentModelIndex
ROW_HEIGHT = 96


HIT_ROLE = Qt.ItemDataRole.UserRole + 1


class ResultsModel(QAbstractListModel):
    def __init__(self) -> None:
        super().__init__()
        self.hits: list[SearchHit] = []

    def set_hits(self, hits: list[SearchHit]) -> None:
        self.beginResetModel()
        self.hits = list(hits)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.hits)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        hit = self.hits[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return hit.title
        if role == HIT_ROLE:
            return hit
        if role == Qt.ItemDataRole.ToolTipRole:
            return hit.path
        return None


def row_html(
    hit: SearchHit, muted: str, linker: TicketLinker | None = None, show_kb: bool = False
) -> str:
    """A result row: title, badges and path, then the highlighted snippet, its ticket ids
    linked to their ticket system. With ``show_kb`` (several knowledge bases searched), the
    first badge names the knowledge base the document is in."""
    badges = [style.badge(hit.kb, "kb")] if show_kb and hit.kb else []
    badges += [style.badge(hit.type or "document", "type"), style.badge(hit.status, hit.status)]
    if hit.owner_org:
        badges.append(style.badge(hit.owner_org, "org"))
    if hit.review_state in (ReviewState.OVERDUE, ReviewState.DUE):
        badges.append(style.badge(ReviewState(hit.review_state).label, hit.review_state))
    snippet = hit.snippets[0] if hit.snippets else ""
    if linker is not None:
        snippet = linker.link_html(snippet)
    return (
        f"<div style='font-size:large; font-weight:600'>{html.escape(hit.title)}</div>"
        f"<div>{' '.join(badges)}&nbsp;&nbsp;<span style='color:{muted}; font-size:small'>"
        f"{html.escape(hit.path)}</span></div>"
        f"<div>{snippet}</div>"
    )


def whole_lines_height(doc: QTextDocument, limit: float) -> float:
    """The height of ``doc``'s lines that fit whole within ``limit`` (from the top)."""
    fitted = 0.0
    block = doc.begin()
    while block.isValid():
        top = doc.documentLayout().blockBoundingRect(block).top()
        layout = block.layout()
        for number in range(layout.lineCount()):
            line = layout.lineAt(number)
            bottom = top + line.y() + line.height()
            if bottom > limit:
                return fitted
            fitted = bottom
        block = block.next()
    return limit


class ResultDelegate(QStyledItemDelegate):
    """Paints a row from a cached rich-text document (made on first paint). A click on a link
    in it (a ticket id) is reported by :attr:`link_activated` instead of opening the row."""

    link_activated = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cache: dict[tuple[int, int], QTextDocument] = {}
        self.css = ""
        self.muted = "#5F6B76"
        self.linker: TicketLinker | None = None
        self.show_kb = False

    def clear(self, palette: QPalette) -> None:
        self._cache.clear()
        dark = style.is_dark(palette)
        self.muted = "#9AA4AE" if dark else "#5F6B76"
        match = "#6B5B00" if dark else "#FFE680"
        link = "#8AB4F8" if dark else "#1A5FB4"  # a ticket id: readable on either background
        self.css = f"b.match {{ background-color: {match}; }} a {{ color: {link}; }}"

    def _document(self, hit: SearchHit, width: int) -> QTextDocument:
        key = (id(hit), width)
        doc = self._cache.get(key)
        if doc is None:
            doc = QTextDocument()
            doc.setDefaultStyleSheet(self.css)
            doc.setDocumentMargin(6)
            doc.setHtml(row_html(hit, self.muted, self.linker, self.show_kb))
            doc.setTextWidth(width)
            self._cache[key] = doc
        return doc

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        hit: SearchHit = index.data(HIT_ROLE)
        widget = option.widget
        rect = option.rect
        option_style = widget.style() if widget else None
        if option_style is not None:
            option_style.drawPrimitive(
                QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget
            )
        doc = self._document(hit, rect.width() - 8)
        painter.save()
        painter.translate(rect.left() + 4, rect.top() + 2)
        # A long title or snippet is cut after its last whole line, never through a line.
        painter.setClipRect(
            QRectF(0, 0, rect.width() - 8, whole_lines_height(doc, rect.height() - 4))
        )
        doc.drawContents(painter)
        painter.restore()
        painter.save()
        painter.setPen(option.palette.color(QPalette.ColorRole.Mid))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(200, ROW_HEIGHT)

    def link_at(self, hit: SearchHit, rect: QRect, pos: QPointF) -> str:
        """The link under ``pos`` (view coordinates) in the row drawn in ``rect``, or ""."""
        doc = self._document(hit, rect.width() - 8)
        return doc.documentLayout().anchorAt(pos - QPointF(rect.left() + 4, rect.top() + 2))

    def editorEvent(
        self, event: QEvent, model: QAbstractItemModel, option: QStyleOptionViewItem, index: Index
    ) -> bool:
        if (
            isinstance(event, QMouseEvent)
            and event.type() == QEvent.Type.MouseButtonRelease
            and event.button() == Qt.MouseButton.LeftButton
        ):
            href = self.link_at(index.data(HIT_ROLE), option.rect, event.position())
            if href:
                self.link_activated.emit(href)
                return True
        return super().editorEvent(event, model, option, index)

    def helpEvent(
        self, event: QHelpEvent, view: QAbstractItemView, option: QStyleOptionViewItem, index: Index
    ) -> bool:
        href = self.link_at(index.data(HIT_ROLE), option.rect, QPointF(event.pos()))
        if href:
            QToolTip.showText(
                event.globalPos(), f"{href}\n(asks before opening your browser)", view
            )
            return True
        return super().helpEvent(event, view, option, index)


class EmptyState(QWidget):
    """Zero results: the spelling suggestion, and writing the missing document."""

    suggestion_chosen = Signal(str)
    create_requested = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.query = ""
        self.label = QLabel()
        self.label.setObjectName("emptyState")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.linkActivated.connect(lambda link: self.suggestion_chosen.emit(link))
        self.create_button = QPushButton()
        self.create_button.setObjectName("createFromSearch")
        self.create_button.clicked.connect(lambda: self.create_requested.emit(self.query))
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.create_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)

    def show_for(self, query: str, suggestion: str | None, indexing: str = "") -> None:
        """``indexing``: what to say while the index is still being built ("" when it is not)."""
        self.query = query
        text = f"No document matches “{html.escape(query)}”."
        if indexing:
            text = (
                f"No document matches “{html.escape(query)}” yet: the search index is "
                f"{html.escape(indexing.removesuffix(', results so far'))}."
            )
        if suggestion:
            text += (
                f"<br><br>Did you mean <a href='{html.escape(suggestion, quote=True)}'>"
                f"{html.escape(suggestion)}</a>?"
            )
        self.label.setText(text)
        self.create_button.setText(f"Create a document titled “{query}”")
