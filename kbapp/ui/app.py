"""Start the window: ``kbapp`` without a command, or ``kbapp-gui``.

Opens the knowledge base given by ``--kb``, else ``$KBAPP_KB``, else the default in the
settings, else the bundled demo knowledge base (set up on first use), and shows the window
with the cursor in the search field. The look follows the system: light or dark palette,
high-DPI scaling (Qt 6 scales by default; fractional factors are passed through unrounded).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from kbapp.demo import ensure_demo
from kbapp.errors import KbError
from kbapp.settings import Settings
from kbapp.ui import style
from kbapp.workspace import Workspace

if TYPE_CHECKING:
    from kbapp.ui.window import MainWindow

log = logging.getLogger(__name__)


def choose_kb(kb: str | None, settings: Settings) -> Path:
    """Where the knowledge base is: the argument, $KBAPP_KB, the settings, or the demo."""
    chosen = kb or os.environ.get("KBAPP_KB") or settings.default_kb
    return Path(chosen).expanduser() if chosen else ensure_demo()


def application(argv: Sequence[str] | None = None) -> QApplication:
    """The one QApplication, made with the system's scaling and colours."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("kbapp")
    app.setOrganizationName("kbapp")
    app.setStyle("Fusion")  # the same widgets everywhere; its palette follows the system
    apply_style(app)
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_style(app))
    return app


def apply_style(app: QApplication) -> None:
    """The stylesheet coloured for the palette the platform gives (light or dark); called
    again when the system switches between them."""
    app.setStyleSheet(style.stylesheet(app.palette()))


def open_window(kb: str | None = None, settings: Settings | None = None) -> MainWindow:
    """Open the knowledge base and return the shown, started window (tests, benchmarks)."""
    from kbapp.ui.window import MainWindow

    settings = settings or Settings.load()
    workspace = Workspace.open(choose_kb(kb, settings), settings)
    window = MainWindow(workspace)
    window.show()
    window.start()
    return window


def main(kb: str | None = None, argv: Sequence[str] | None = None) -> int:
    if argv is not None or kb is None:
        parser = argparse.ArgumentParser(prog="kbapp-gui", description="The kbapp window.")
        parser.add_argument("--kb", metavar="PATH", help="the knowledge base to open")
        args, _qt_args = parser.parse_known_args(list(argv) if argv is not None else sys.argv[1:])
        kb = kb or args.kb
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = application()
    try:
        window = open_window(kb)
    except KbError as exc:
        QMessageBox.critical(None, "kbapp", f"Could not open the knowledge base: {exc}")
        return 1
    code = app.exec()
    while window.successor is not None:  # switched to another knowledge base meanwhile
        window = window.successor
    window.workspace.close()
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
