"""File → Import a folder of Markdown… in the window: progress while it runs, the report after,
secret-looking lines named with the line of the user's file and imported on one click."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import git
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog
from test_ui_window import finish, open_window

from kbapp.workspace import Workspace

pytestmark = pytest.mark.gui


def test_import_from_the_window(qtbot, kb: Workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "wiki"
    src.mkdir()
    for number in range(80):
        (src / f"note-{number:02d}.md").write_text(
            f"# Note {number}\n\n## Symptoms\nfan noise {number}\n"
        )
    (src / "vpn.md").write_text("# Reset the VPN concentrator\n\n## Procedure\n1. Reboot it\n")
    (src / "sample.md").write_text("# Sample\n\ntext\n\nexport PGPASSWORD=s3cr3t-Value9\n")
    window = open_window(qtbot, kb)
    phases: list[str] = []
    window.importing._progressed.connect(lambda phase, done, total: phases.append(phase))

    window.action("kb.import").trigger()
    chooser = window.other_kbs.folder_dialog
    assert isinstance(chooser, QFileDialog) and chooser.isVisible()
    chooser.fileSelected.emit(str(src))
    chooser.close()
    progress = window.importing.progress
    assert isinstance(progress, QProgressDialog) and progress.isVisible()
    seen_open: list[bool] = []
    window.importing._progressed.connect(
        lambda *_: seen_open.append(
            window.importing.progress is not None and window.importing.progress.isVisible()
        )
    )
    with qtbot.waitSignal(window.importing.finished, timeout=60000) as blocker:
        pass
    assert seen_open and all(seen_open)  # open through every phase, not closed after the first
    report = blocker.args[0]
    assert len(report.imported) == 81
    assert list(dict.fromkeys(phases)) == [
        "Reading",
        "Writing",
        "Committing",
        "Cataloguing",
        "Indexing",
    ]
    box = window.importing.result_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "Imported 81 documents" in box.text() and "sample.md:5" in box.text()
    assert window.importing.progress is None

    # One click imports the held-back file and records the value as a reviewed false positive.
    allow = next(b for b in box.buttons() if "reviewed false positives" in b.text())
    with qtbot.waitSignal(window.importing.finished, timeout=60000) as again:
        allow.click()
    assert [f.path for f in again.args[0].imported] == ["sample.md"]
    assert (kb.root / "sample.md").exists() and git(kb.root, "status", "--porcelain") == ""
    window.importing.result_box.close()

    # The first search after the import finds what was imported.
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=15000)
    window.focus_search()
    qtbot.keyClicks(window.search.field, "vpn concentrator")
    qtbot.waitUntil(
        lambda: (
            window.search.selected_hit() is not None
            and window.search.selected_hit().path == "vpn.md"
        ),
        timeout=15000,
    )
    finish(window)
