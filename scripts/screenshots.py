#!/usr/bin/env python3
"""Render the window's main screens offscreen on the bundled demo knowledge base, into
docs/img/ (the README shows them): the whole window at a laptop's size, each view in the main
area as the user sees it.

    python scripts/screenshots.py [--out docs/img] [--dark]

The demo knowledge base is set up afresh in a temporary folder, with a second clone of its
shared repository standing in for the partner, so that sync, a conflict and history have
something real to show.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_TMP = Path(tempfile.mkdtemp(prefix="kbapp-shots-"))
os.environ["KBAPP_DATA_DIR"] = str(_TMP / "data")
os.environ["KBAPP_CONFIG_DIR"] = str(_TMP / "config")

from PySide6.QtCore import QPoint  # noqa: E402
from PySide6.QtGui import QColor, QPainter, QPalette, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from kbapp.demo import DEMO_PEOPLE, ensure_demo  # noqa: E402
from kbapp.settings import Settings  # noqa: E402
from kbapp.sync import sync  # noqa: E402
from kbapp.ui.app import application  # noqa: E402
from kbapp.ui.window import MainWindow  # noqa: E402
from kbapp.workspace import Workspace  # noqa: E402


def settle(app: QApplication, window: MainWindow) -> None:
    for _ in range(3):
        window.tasks.wait(20000)
        app.processEvents()


def save(widget: QWidget, out: Path, name: str) -> None:
    path = out / name
    widget.grab().save(str(path))
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def over(window: QWidget, dialog: QWidget, out: Path, name: str) -> None:
    """A dialog drawn over the window, as the user sees it."""
    base = window.grab()
    shade = QPixmap(base.size())
    shade.fill(QColor(0, 0, 0, 70))
    top = dialog.grab()
    painter = QPainter(base)
    painter.drawPixmap(0, 0, shade)
    painter.drawPixmap(QPoint((base.width() - top.width()) // 2, 90), top)
    painter.end()
    base.save(str(out / name))
    print(f"wrote {out / name}")


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#2B2F33"),
        (QPalette.ColorRole.WindowText, "#E6E6E6"),
        (QPalette.ColorRole.Base, "#1F2226"),
        (QPalette.ColorRole.AlternateBase, "#2B2F33"),
        (QPalette.ColorRole.Text, "#E6E6E6"),
        (QPalette.ColorRole.Button, "#33383D"),
        (QPalette.ColorRole.ButtonText, "#E6E6E6"),
        (QPalette.ColorRole.Highlight, "#3D8FD1"),
        (QPalette.ColorRole.HighlightedText, "#FFFFFF"),
    ):
        palette.setColor(role, QColor(colour))
    return palette


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--dark", action="store_true", help="also render the search in dark")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    app = application()

    root = ensure_demo()
    ana = DEMO_PEOPLE["internal"]
    settings = Settings(user_name=ana.name, user_email=ana.email, fetch_interval_minutes=0)
    workspace = Workspace.open(root, settings)
    partner = DEMO_PEOPLE["partner"]
    remote = root.parent / "demo-remote.git"
    jo = sync.clone(
        str(remote),
        _TMP / "partner-clone",
        Settings(user_name=partner.name, user_email=partner.email),
    )

    window = MainWindow(workspace)
    window.resize(1280, 720)  # a 1366×768 laptop's screen, less the panel and the frame
    window.show()
    window.start()
    settle(app, window)

    # 1. Search as you type, the best hit open beside the results.
    window.search.field.setText("payments 503")
    window.search.run_query()
    settle(app, window)
    window.search.open_selected()
    settle(app, window)
    save(window, out, "window-search.png")

    # 2. A runbook with a checklist and code blocks; the contents on the right.
    window.search.field.setText("replication lag")
    window.search.run_query()
    settle(app, window)
    window.search.open_selected()
    settle(app, window)
    save(window, out, "window-reader.png")

    # 3. Nothing found: the suggestion and "create a document with this title".
    window.search.field.setText("zookeeper")
    window.search.run_query()
    settle(app, window)
    save(window, out, "window-no-results.png")
    window.search.field.setText("vpn tunnel down")  # what the next screens are about
    window.search.run_query()
    settle(app, window)

    # 4. The new-document dialog, then the editor on the new draft (template guidance, lint).
    dialog = window.editing.new_document("Kafka consumer lag on the orders topic")
    dialog.systems_edit.setText("kafka, orders-api")
    dialog.template_combo.setCurrentIndex(dialog.template_combo.findData("runbook"))
    app.processEvents()
    over(window, dialog, out, "window-new-document.png")
    dialog.accept()
    settle(app, window)
    window.editor.autosave_timer.stop()
    save(window, out, "window-editor.png")
    window.editor.discard()
    window.close_document()
    settle(app, window)

    # 5. A conflict: both organisations changed the same step of the same runbook.
    path = "runbooks/vpn-tunnel-down.md"
    for ws, words in (
        (jo, "Page the partner's network on-call first."),
        (workspace, "Check the firewall change calendar first."),
    ):
        doc = ws.load(path)
        doc.body = doc.body.replace("## ", f"> {words}\n\n## ", 1)
        ws.save(doc)
    sync.sync(jo)
    window.sync_now()
    settle(app, window)
    window.show_conflicts()
    settle(app, window)
    save(window, out, "window-conflicts.png")
    window.conflicts.resolve_button.click()  # markers left: refused with a message
    case = window.conflicts.case
    if case is not None:
        window.conflicts.merged.setPlainText(case.mine)
        window.conflicts.resolve()
    settle(app, window)

    # 6. History of that runbook: who changed it, from which organisation, and the diff.
    window.open_document(path)
    settle(app, window)
    window.reading.show_history()
    settle(app, window)
    if window.history.table.rowCount() > 2:
        window.history.select(0, 2)
    settle(app, window)
    save(window, out, "window-history.png")

    # 7. The command palette: every action with its shortcut.
    window.open_document(path)
    settle(app, window)
    palette = window.show_palette()
    app.processEvents()
    over(window, palette, out, "window-palette.png")
    palette.hide()

    # 8. The views of the main area, each in front as the user opens it from the View menu:
    # the review queue on the runbook changed since its last review (rendered like History),
    # the health dashboard, the responsibility matrix with its gaps, the handovers.
    for _ in range(len(window.views.open_names())):
        window.close_view()
    window.search.field.setText("vpn")
    window.search.run_query()
    settle(app, window)
    window.open_document(path)
    settle(app, window)
    queue = window.lifecycle.review_queue
    queue.horizon_combo.setCurrentIndex(queue.horizon_combo.count() - 1)  # everything
    window.action("review.queue").trigger()
    settle(app, window)
    queue.select(workspace.load(path).id)
    settle(app, window)
    save(window, out, "window-review-queue.png")
    for action_id, name in (
        ("report.dashboard", "window-health.png"),
        ("matrix.show", "window-matrix.png"),
        ("handover.show", "window-handovers.png"),
    ):
        window.action(action_id).trigger()
        settle(app, window)
        save(window, out, name)

    if args.dark:
        app.setPalette(dark_palette())
        from kbapp.ui import style

        app.setStyleSheet(style.stylesheet(dark_palette()))
        window.search.field.setText("payments 503")
        window.search.run_query()
        settle(app, window)
        window.search.open_selected()
        settle(app, window)
        save(window, out, "window-search-dark.png")

    window.sync.stop()
    window.close()
    workspace.close()
    jo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
