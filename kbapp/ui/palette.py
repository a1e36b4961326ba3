"""The command palette (``Ctrl+Shift+P``): every action of :mod:`kbapp.ui.actions`, every
document by title and every setting, found by a forgiving match (:mod:`kbapp.fuzzy`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QAction, QFontMetrics, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from kbapp.fuzzy import ACTION, DOCUMENT, SETTING, Candidate, Matcher
from kbapp.settings import LABELS, Settings
from kbapp.ui.actions import Action, all_actions

#: Settings the palette does not offer (kept by kbapp itself).
HIDDEN_SETTINGS = frozenset({"version", "path", "knowledge_bases"})


def setting_rows(settings: Settings) -> list[tuple[str, str, str]]:
    """(name, title, value) of each setting a user may change, for the palette."""
    return [
        (
            f.name,
            LABELS.get(f.name, f.name.replace("_", " ").capitalize()),
            str(getattr(settings, f.name)),
        )
        for f in dataclasses.fields(settings)
        if f.name not in HIDDEN_SETTINGS
    ]


class _ShortcutColumn(QStyledItemDelegate):
    """Paints a palette row's shortcut (or a document's type) right-aligned, so they form a
    column, and the title cut with "…" short of it: a long title ran under the type and gave
    the list a sideways scrollbar (imported articles)."""

    def shown_text(self, view: QWidget, index: QModelIndex | QPersistentModelIndex) -> str:
        """The title as the row shows it, at the view's width."""
        rect = view.visualRect(index) if isinstance(view, QListWidget) else view.rect()
        return self._elided(QFontMetrics(view.font()), rect.width(), index)

    def _elided(
        self, metrics: QFontMetrics, width: int, index: QModelIndex | QPersistentModelIndex
    ) -> str:
        title = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        shortcut = index.data(Qt.ItemDataRole.UserRole + 2)
        reserve = metrics.horizontalAdvance(shortcut) + 24 if shortcut else 8
        return metrics.elidedText(title, Qt.TextElideMode.ElideRight, max(0, width - reserve - 8))

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(1, hint.height())  # as wide as the list, never wider

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        view = option.widget
        shown = QStyleOptionViewItem(option)
        self.initStyleOption(shown, index)
        width = option.rect.width()
        shown.text = self._elided(QFontMetrics(shown.font), width, index)
        style = view.style() if view is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, shown, painter, view)
        shortcut = index.data(Qt.ItemDataRole.UserRole + 2)
        if not shortcut:
            return
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        roles = QPalette.ColorRole
        painter.setPen(
            option.palette.color(roles.HighlightedText if selected else roles.PlaceholderText)
        )
        painter.drawText(
            option.rect.adjusted(0, 0, -8, 0),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            shortcut,
        )
        painter.restore()


class CommandPalette(QDialog):
    """Ctrl+Shift+P: type to find an action, a document (by title) or a setting; typos and
    initials are forgiven and the best match comes first (:mod:`kbapp.fuzzy`). Enter runs
    the action, opens the document, or opens the settings at that setting."""

    def __init__(
        self,
        actions: dict[str, QAction],
        parent: QWidget | None = None,
        *,
        declared: tuple[Action, ...] | None = None,
        documents: Callable[[], list[tuple[str, str, str]]] | None = None,
        settings: Callable[[], list[tuple[str, str, str]]] | None = None,
        open_document: Callable[[str], object] | None = None,
        open_setting: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("commandPalette")
        self.setWindowTitle("Command palette")
        self.actions_by_id = actions
        self.declared = {a.id: a for a in (declared or all_actions())}
        self.documents = documents
        self.settings = settings
        self.open_document = open_document
        self.open_setting = open_setting
        self.matcher = Matcher([])
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Type a command, a document's title or a setting…")
        self.filter_edit.setAccessibleName("Command palette search")
        self.filter_edit.textChanged.connect(self._fill)
        self.filter_edit.returnPressed.connect(self._run_selected)
        self.filter_edit.installEventFilter(self)
        self.list = QListWidget()
        self.list.setObjectName("paletteList")
        self.list.setItemDelegate(_ShortcutColumn(self.list))
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemActivated.connect(lambda _item: self._run_selected())
        self.hint = QLabel("↑↓ to choose, Enter to run, Esc to close")
        self.hint.setObjectName("hint")
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.list)
        layout.addWidget(self.hint)
        self.resize(620, 440)
        self.reload()

    def reload(self) -> None:
        """Gather what can be found: the actions shown now, the catalog's titles, settings."""
        candidates: list[Candidate] = []
        for action_id, qaction in self.actions_by_id.items():
            if not qaction.isVisible():
                continue
            declared = self.declared.get(action_id)
            shortcut = qaction.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            candidates.append(
                Candidate(
                    ACTION,
                    action_id,
                    qaction.text().replace("&", ""),
                    declared.keywords if declared else "",
                    shortcut,
                )
            )
        for name, title, value in self.settings() if self.settings else []:
            candidates.append(Candidate(SETTING, name, f"Settings: {title}", name, value))
        for path, title, doc_type in self.documents() if self.documents else []:
            candidates.append(Candidate(DOCUMENT, path, title, "", doc_type or "document"))
        self.matcher = Matcher(candidates)
        self._fill(self.filter_edit.text())

    def rows(self) -> list[tuple[str, str]]:
        """(title, shortcut or kind) of every row shown."""
        return [
            (
                self.list.item(i).data(Qt.ItemDataRole.UserRole + 1),
                self.list.item(i).data(Qt.ItemDataRole.UserRole + 2),
            )
            for i in range(self.list.count())
        ]

    def kinds(self) -> list[str]:
        return [
            self.list.item(i).data(Qt.ItemDataRole.UserRole)[0] for i in range(self.list.count())
        ]

    def _fill(self, text: str) -> None:
        self.list.clear()
        for match in self.matcher.rank(text, limit=60):
            candidate = match.candidate
            item = QListWidgetItem(candidate.title)
            item.setData(Qt.ItemDataRole.UserRole, (candidate.kind, candidate.key))
            item.setData(Qt.ItemDataRole.UserRole + 1, candidate.title)
            item.setData(Qt.ItemDataRole.UserRole + 2, candidate.detail)
            if candidate.kind == ACTION:
                qaction = self.actions_by_id[candidate.key]
                item.setToolTip(qaction.statusTip())
                if not qaction.isEnabled():
                    item.setFlags(Qt.ItemFlag.NoItemFlags)
            elif candidate.kind == DOCUMENT:
                item.setToolTip(f"{candidate.title}\n{candidate.key}")
            self.list.addItem(item)
        first = next(
            (
                i
                for i in range(self.list.count())
                if self.list.item(i).flags() & Qt.ItemFlag.ItemIsEnabled
            ),
            -1,
        )
        if first >= 0:
            self.list.setCurrentRow(first)

    def _run_selected(self) -> None:
        item = self.list.currentItem()
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return
        kind, key = item.data(Qt.ItemDataRole.UserRole)
        self.accept()
        if kind == ACTION:
            self.actions_by_id[key].trigger()
        elif kind == DOCUMENT and self.open_document is not None:
            self.open_document(key)
        elif kind == SETTING and self.open_setting is not None:
            self.open_setting(key)

    def eventFilter(self, watched: object, event: object) -> bool:
        from PySide6.QtCore import QEvent
        from PySide6.QtGui import QKeyEvent

        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                step = 1 if event.key() == Qt.Key.Key_Down else -1
                row = max(0, min(self.list.count() - 1, self.list.currentRow() + step))
                self.list.setCurrentRow(row)
                return True
        return super().eventFilter(watched, event)  # type: ignore[arg-type]

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        self.filter_edit.blockSignals(True)
        self.filter_edit.clear()
        self.filter_edit.blockSignals(False)
        self.reload()  # documents added, an incident waiting to be captured
        self.filter_edit.setFocus()
