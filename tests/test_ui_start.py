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


def test_start_screen_unless_the_demo_is_asked_for(
    qtbot,
    settings: Settings,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
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


def test_the_window_says_in_one_sentence_when_there_is_no_desktop(tmp_path: Path) -> None:
    """'kbapp' over SSH or on a console printed Qt's "no Qt platform plugin could be
    initialized. Reinstalling the application may fix this problem." and aborted."""
    import os
    import subprocess
    import sys

    from kbapp.ui.app import no_desktop

    assert no_desktop({}, "linux") is not None
    assert no_desktop({"DISPLAY": ":0"}, "linux") is None
    assert no_desktop({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert no_desktop({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert no_desktop({}, "win32") is None and no_desktop({}, "darwin") is None
    if sys.platform.startswith(("win", "darwin")):
        return
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["HOME"] = str(tmp_path)
    env["KBAPP_CONFIG_DIR"] = str(tmp_path / "config")
    env["KBAPP_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "kbapp"], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 1
    assert result.stderr.startswith("kbapp: the window needs a desktop session")
    assert "Reinstalling" not in result.stderr and "Traceback" not in result.stderr
