"""The Qt binding itself: a defect in it takes the whole window down, whatever kbapp does."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLineEdit


def test_calls_returning_nothing_keep_nones_references(qapp: QApplication) -> None:
    """PySide6 6.12.0 dropped a reference to None on every call of a void method; on Python
    3.11 the window then aborted ("deallocating None") after tens of thousands of calls —
    painting, typing or quitting. pyproject.toml keeps that release out."""
    field = QLineEdit()
    before = sys.getrefcount(None)
    for _ in range(500):
        field.clear()
        qapp.processEvents()
    assert sys.getrefcount(None) - before > -100
