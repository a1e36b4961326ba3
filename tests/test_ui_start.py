"""The first window: the configured knowledge base, else the start screen; the README's
'tasks.py run' (--demo-when-none) opens the demo instead when nothing is configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbapp.settings import Settings
from kbapp.ui.app import first_window
from kbapp.ui.start_screen import StartWindow
from kbapp.ui.window import MainWindow

pytestmark = pytest.mark.gui


def test_start_screen_unless_the_demo_is_asked_for(qtbot, settings: Settings, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KBAPP_KB", raising=False)
    start = first_window(None, settings)
    qtbot.addWidget(start)
    assert isinstance(start, StartWindow) and start.isVisible()
    start.close()

    window = first_window(None, settings, demo_when_none=True)
    qtbot.addWidget(window)
    assert isinstance(window, MainWindow)
    assert (window.workspace.root / ".kb/config.toml").exists()  # the demo, set up on first use
    window.tasks.wait()
    window.close()
    window.workspace.close()

    # A knowledge base that is configured but gone: the start screen says so, never the demo.
    gone = first_window(str(tmp_path / "moved-away"), settings, demo_when_none=True)
    qtbot.addWidget(gone)
    assert isinstance(gone, StartWindow)
    gone.close()
