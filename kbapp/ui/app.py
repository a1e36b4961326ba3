"""Start the window: ``kbapp`` without a command, or ``kbapp-gui``.

Opens the knowledge base given by ``--kb``, else ``$KBAPP_KB``, else the one the current
folder is in, else the default in the settings (:func:`kbapp.settings.choose_kb`), and shows the window with the cursor in the search field. With none of these, or
when the knowledge base is gone, the start screen (:mod:`kbapp.ui.start_screen`) offers the
recent ones, cloning the shared one, opening a folder, creating one and the demo. The look follows the system: light or dark palette,
high-DPI scaling (Qt 6 scales by default; fractional factors are passed through unrounded).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMainWindow

from kbapp.demo import ensure_demo
from kbapp.errors import KbError
from kbapp.settings import Settings, choose_kb
from kbapp.ui import style
from kbapp.ui.tasks import collect_garbage_on_gui_thread
from kbapp.workspace import Workspace

if TYPE_CHECKING:
    from kbapp.ui.window import MainWindow

log = logging.getLogger(__name__)


def application(argv: Sequence[str] | None = None) -> QApplication:
    """The one QApplication, made with the system's scaling and colours."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("kbapp")
    app.setOrganizationName("kbapp")
    app.setStyle("Fusion")  # the same widgets everywhere; its palette follows the system
    apply_style(app)
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_style(app))
    collect_garbage_on_gui_thread(app)
    return app


def apply_style(app: QApplication) -> None:
    """The stylesheet coloured for the palette the platform gives (light or dark); called
    again when the system switches between them."""
    app.setStyleSheet(style.stylesheet(app.palette()))


def open_window(kb: str | None = None, settings: Settings | None = None) -> MainWindow:
    """Open the knowledge base (the demo when none is configured) and return the shown,
    started window (tests, benchmarks)."""
    settings = settings or Settings.load()
    workspace = Workspace.open(choose_kb(kb, settings) or ensure_demo(), settings)
    return open_window_on(workspace)


def open_window_on(workspace: Workspace, geometry: QRect | None = None) -> MainWindow:
    """The main window on ``workspace``, shown (at ``geometry``) and started."""
    from kbapp.ui.window import MainWindow

    window = MainWindow(workspace)
    if geometry is not None:
        window.setGeometry(geometry)
    window.show()
    window.start()
    return window


def first_window(kb: str | None, settings: Settings, demo_when_none: bool = False) -> QMainWindow:
    """The main window on the knowledge base configured, else the start screen (saying why
    when the configured one could not be opened); with ``demo_when_none``, the demo knowledge
    base when none is configured at all."""
    from kbapp.ui.start_screen import StartWindow

    path = choose_kb(kb, settings)
    if path is None and demo_when_none:
        path = ensure_demo()
    note = ""
    if path is not None and not path.is_dir():
        note = f"The knowledge base at {path} is no longer there. Choose another one."
    elif path is not None:
        try:
            return open_window_on(Workspace.open(path, settings))
        except KbError as exc:
            note = f"Could not open the knowledge base at {path}: {exc}"
    start = StartWindow(settings, open_window_on, note)
    start.show()
    return start


def no_desktop(environ: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """Why the window cannot open here (None when it can): on Linux and the BSDs, a shell
    with no display to draw on (over SSH, a console, cron), where Qt would abort with "no Qt
    platform plugin could be initialized. Reinstalling the application may fix this"."""
    if platform.startswith(("win", "darwin")) or environ.get("QT_QPA_PLATFORM"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "the window needs a desktop session and this shell has none (neither DISPLAY nor "
        "WAYLAND_DISPLAY is set); start kbapp from your desktop, connect with 'ssh -X', or "
        "use the command line: kbapp --help"
    )


def main(
    kb: str | None = None, argv: Sequence[str] | None = None, demo_when_none: bool = False
) -> int:
    if argv is not None or kb is None:
        parser = argparse.ArgumentParser(prog="kbapp-gui", description="The kbapp window.")
        parser.add_argument("--kb", metavar="PATH", help="the knowledge base to open")
        parser.add_argument(
            "--demo-when-none",
            action="store_true",
            help="with no knowledge base configured, open the demo one",
        )
        args, _qt_args = parser.parse_known_args(list(argv) if argv is not None else sys.argv[1:])
        kb = kb or args.kb
        demo_when_none = demo_when_none or args.demo_when_none
    reason = no_desktop(os.environ)
    if reason is not None:
        print(f"kbapp: {reason}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = application()
    window: QMainWindow | None = first_window(kb, Settings.load(), demo_when_none)
    code = app.exec()
    last = None
    while window is not None:  # the start screen opened a window, which switched to another
        last = window
        window = getattr(window, "successor", None)
    workspace = getattr(last, "workspace", None)
    if workspace is not None:
        workspace.close()
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
