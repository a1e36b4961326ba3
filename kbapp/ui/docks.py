"""Side panels (docks) that views add to the main window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget


def add_dock(
    window: QMainWindow, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea
) -> QDockWidget:
    """``widget`` in a dock called ``title`` on ``window`` (object name ``dock-<name>``, which
    the tests and the saved window state use)."""
    dock = QDockWidget(title, window)
    dock.setObjectName(f"dock-{name}")
    dock.setWidget(widget)
    window.addDockWidget(area, dock)
    return dock
