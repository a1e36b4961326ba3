"""The browse panel: pinned and recent documents, the folder tree, and the documents grouped by
type and by system, all from the catalog.

The groupings are computed off the GUI thread (:func:`build_outline`) and tree rows are made
only when a branch is opened, so a knowledge base of thousands of documents costs nothing at
start-up. Pinned and recent documents are this clone's own (``.git/kbapp/shelf.json``): they
are not shared with the other organisation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from kbapp.settings import Shelf
from kbapp.ui.tasks import Tasks, relay
from kbapp.workspace import Workspace

if TYPE_CHECKING:
    from kbapp.catalog import CatalogChanges  # SQLAlchemy loads on first use, not at start-up

log = logging.getLogger(__name__)

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
BRANCH_ROLE = Qt.ItemDataRole.UserRole + 2


@dataclass
class Outline:
    """Titles by path, and the groupings the tree shows."""

    titles: dict[str, str] = field(default_factory=dict)
    folders: dict[str, list[str]] = field(default_factory=dict)  # folder -> sub-folders + docs
    by_type: dict[str, list[str]] = field(default_factory=dict)
    by_system: dict[str, list[str]] = field(default_factory=dict)


def build_outline(workspace: Workspace) -> Outline:
    """Read the catalog into the groupings (runs on a worker thread)."""
    outline = Outline()
    rows = workspace.catalog.outline_rows()
    folders: dict[str, set[str]] = {"": set()}
    for path, title, doc_type, systems in rows:
        outline.titles[path] = title or path
        parts = path.split("/")
        for depth in range(len(parts) - 1):
            parent = "/".join(parts[:depth])
            folder = "/".join(parts[: depth + 1])
            folders.setdefault(parent, set()).add(folder + "/")
            folders.setdefault(folder, set())
        folders.setdefault("/".join(parts[:-1]), set()).add(path)
        outline.by_type.setdefault(doc_type or "untyped", []).append(path)
        for system in systems:
            outline.by_system.setdefault(str(system), []).append(path)

    def order(key: str) -> tuple[int, str]:
        return (0, key.casefold()) if key.endswith("/") else (1, outline.titles[key].casefold())

    outline.folders = {k: sorted(v, key=order) for k, v in folders.items()}
    for groups in (outline.by_type, outline.by_system):
        for key in groups:
            groups[key].sort(key=lambda p: outline.titles[p].casefold())
    return outline


class BrowseView(QWidget):
    open_requested = Signal(str)

    GROUPS = ("Pinned", "Recent", "Folders", "By type", "By system")

    def __init__(self, workspace: Workspace, tasks: Tasks, shelf: Shelf,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.tasks = tasks
        self.shelf = shelf
        self.outline = Outline()
        self.tree = QTreeWidget()
        self.tree.setObjectName("browseTree")
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.itemExpanded.connect(self._on_item_expanded)
        self.tree.itemActivated.connect(self._on_item_activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self.groups: dict[str, QTreeWidgetItem] = {}
        for name in self.GROUPS:
            item = QTreeWidgetItem([name])
            item.setData(0, BRANCH_ROLE, name)
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
            self.tree.addTopLevelItem(item)
            self.groups[name] = item
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(400)
        self._reload_timer.timeout.connect(self.reload)
        relay(self, workspace.documents_changed, self._on_documents_changed)

    def reload(self) -> None:
        """Re-read the catalog in the background and redraw."""
        self.tasks.run(lambda: build_outline(self.workspace), self.show_outline, owner=self, key="browse")

    def show_outline(self, outline: Outline) -> None:
        expanded = self._expanded_keys()
        self.outline = outline
        for name, item in self.groups.items():
            item.takeChildren()
            item.setData(0, PATH_ROLE, None)
            self._mark_unfilled(item, name)
        self.refresh_shelf()
        self.groups["Pinned"].setExpanded(True)
        self.groups["Recent"].setExpanded(True)
        for key in expanded:
            self._expand_key(key)

    def refresh_shelf(self) -> None:
        for name, paths in (("Pinned", self.shelf.pinned), ("Recent", self.shelf.recent)):
            group = self.groups[name]
            group.takeChildren()
            for path in paths:
                group.addChild(self._doc_item(path))
            group.setText(0, f"{name} ({len(paths)})" if paths else f"{name} (none yet)")

    # ------------------------------------------------------------------ lazy tree

    def _mark_unfilled(self, item: QTreeWidgetItem, key: str) -> None:
        item.setData(0, BRANCH_ROLE, key)
        item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
        item.setData(0, Qt.ItemDataRole.UserRole, "unfilled")

    def _doc_item(self, path: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([self.outline.titles.get(path, path)])
        item.setData(0, PATH_ROLE, path)
        item.setToolTip(0, path)
        return item

    def _branch(self, label: str, key: str, count: int) -> QTreeWidgetItem:
        item = QTreeWidgetItem([f"{label} ({count})"])
        self._mark_unfilled(item, key)
        return item

    def _on_item_expanded(self, item: QTreeWidgetItem) -> None:
        if item.data(0, Qt.ItemDataRole.UserRole) != "unfilled":
            return
        item.setData(0, Qt.ItemDataRole.UserRole, "filled")
        key = str(item.data(0, BRANCH_ROLE))
        outline = self.outline
        children: list[QTreeWidgetItem] = []
        if key == "Folders":
            key = "folder:"
        if key.startswith("folder:"):
            for entry in outline.folders.get(key[len("folder:"):], []):
                if entry.endswith("/"):
                    name = entry.rstrip("/").rsplit("/", 1)[-1]
                    count = len(outline.folders.get(entry.rstrip("/"), []))
                    children.append(self._branch(name + "/", "folder:" + entry.rstrip("/"), count))
                else:
                    children.append(self._doc_item(entry))
        elif key in ("By type", "By system"):
            groups = outline.by_type if key == "By type" else outline.by_system
            prefix = "type:" if key == "By type" else "system:"
            for name in sorted(groups, key=str.casefold):
                children.append(self._branch(name, prefix + name, len(groups[name])))
        elif key.startswith("type:"):
            children = [self._doc_item(p) for p in outline.by_type.get(key[5:], [])]
        elif key.startswith("system:"):
            children = [self._doc_item(p) for p in outline.by_system.get(key[7:], [])]
        item.addChildren(children)
        if not children:
            item.setChildIndicatorPolicy(
                QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicatorWhenChildless)

    def _expanded_keys(self) -> list[str]:
        keys: list[str] = []

        def walk(item: QTreeWidgetItem) -> None:
            if item.isExpanded() and item.data(0, BRANCH_ROLE):
                keys.append(str(item.data(0, BRANCH_ROLE)))
                for i in range(item.childCount()):
                    child = item.child(i)
                    if child is not None:
                        walk(child)

        for group in self.groups.values():
            walk(group)
        return keys

    def _expand_key(self, key: str) -> None:
        def walk(item: QTreeWidgetItem) -> bool:
            if item.data(0, BRANCH_ROLE) == key:
                item.setExpanded(True)
                return True
            children = (item.child(i) for i in range(item.childCount()))
            return any(walk(child) for child in children if child is not None)

        for group in self.groups.values():
            if walk(group):
                return

    def find_item(self, path: str, group: str = "") -> QTreeWidgetItem | None:
        """The (already made) row showing ``path``, for tests and keyboard navigation."""
        found = self.tree.findItems("*", Qt.MatchFlag.MatchWildcard | Qt.MatchFlag.MatchRecursive)
        for item in found:
            if item.data(0, PATH_ROLE) == path:
                top = item
                while (parent := top.parent()) is not None:
                    top = parent
                if not group or top is self.groups[group]:
                    return item
        return None

    def _on_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        path = item.data(0, PATH_ROLE)
        if path:
            self.open_requested.emit(str(path))
        else:
            item.setExpanded(not item.isExpanded())

    def _on_documents_changed(self, changes: CatalogChanges) -> None:
        if changes.removed:
            self.shelf.forget(changes.removed)
        self._reload_timer.start()
