"""Choosing a knowledge base: the start screen (no knowledge base configured, or the last one
is gone) and the same list from a running window (``Ctrl+O``).

:class:`KbChooser` lists the knowledge bases opened recently (``Settings.knowledge_bases``) and
offers the four ways to get one: clone the shared one (URL and folder, git's progress, Cancel;
credentials asked through :mod:`kbapp.ui.askpass`), open a folder, create a new one
(:meth:`Workspace.init`) and open the demo (:func:`kbapp.demo.ensure_demo`). It emits
:attr:`KbChooser.chosen` with the folder; :class:`StartWindow` then opens the main window on
it, and :class:`KbChooserDialog` switches the running window to it. The work is the core's
(:func:`kbapp.sync.sync.clone`, ``Workspace.init``), on a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kbapp.errors import KbError
from kbapp.settings import Settings
from kbapp.ui.tasks import Tasks

PATH_ROLE = Qt.ItemDataRole.UserRole


def folder_for(url: str, parent: Path | None = None) -> str:
    """A sensible folder for a clone of ``url``: its last path segment, without ``.git``, in
    the home folder (``git@host:ops/kb.git`` → ``~/kb``)."""
    name = url.rstrip("/").replace("\\", "/").replace(":", "/").rsplit("/", 1)[-1]
    name = name.removesuffix(".git")
    return str((parent or Path.home()) / (name or "knowledge-base"))


class KbChooser(QWidget):
    """Recent knowledge bases and the ways to get another one."""

    #: The folder of the knowledge base to open.
    chosen = Signal(str)
    #: (stage, done, total) of a running clone; emitted from the worker, delivered queued.
    clone_progressed = Signal(str, int, int)

    def __init__(
        self, settings: Settings, tasks: Tasks, note: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("kbChooser")
        self.settings = settings
        self.tasks = tasks
        self._cancel = threading.Event()
        self.busy = False
        self._create_widgets(note)
        self.clone_progressed.connect(self._on_clone_progress)
        self.reload()

    # ------------------------------------------------------------------ construction

    def _create_widgets(self, note: str) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 18)
        title = QLabel("<h2>Open a knowledge base</h2>")
        layout.addWidget(title)
        self.note = QLabel(
            note
            or "A knowledge base is a git repository of Markdown documents. "
            "Clone the one your team shares with its partner, open one already "
            "on this computer, start a new one, or look around in the demo."
        )
        self.note.setObjectName("chooserNote")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        layout.addWidget(QLabel("Recent:"))
        self.recent = QListWidget()
        self.recent.setObjectName("recentList")
        self.recent.itemActivated.connect(self._on_recent_activated)
        layout.addWidget(self.recent, 1)
        layout.addLayout(self._choices())
        self.forms = QStackedWidget()
        self.forms.addWidget(QWidget())
        self.forms.addWidget(self._clone_form())
        self.forms.addWidget(self._create_form())
        layout.addWidget(self.forms)
        self.status = QLabel("")
        self.status.setObjectName("chooserStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)

    def _choices(self) -> QHBoxLayout:
        """Clone, open a folder, create, the demo."""
        row = QHBoxLayout()
        self.clone_button = QPushButton("&Clone the shared knowledge base…")
        self.open_button = QPushButton("Open a &folder…")
        self.create_button = QPushButton("Create a &new one…")
        self.demo_button = QPushButton("Open the &demo")
        for button in (self.clone_button, self.open_button, self.create_button, self.demo_button):
            button.setAutoDefault(False)
            row.addWidget(button)
        row.addStretch(1)
        self.clone_button.clicked.connect(lambda: self.show_form("clone"))
        self.open_button.clicked.connect(self.ask_folder)
        self.create_button.clicked.connect(lambda: self.show_form("create"))
        self.demo_button.clicked.connect(self.open_demo)
        return row

    def _clone_form(self) -> QWidget:
        box = QWidget()
        form = QFormLayout(box)
        self.url_edit = QLineEdit()
        self.url_edit.setObjectName("cloneUrl")
        self.url_edit.setPlaceholderText(
            "https://git.example.org/ops/kb.git or git@git.example.org:ops/kb.git"
        )
        self.url_edit.textEdited.connect(self._on_url_edited)
        self.folder_edit = QLineEdit()
        self.folder_edit.setObjectName("cloneFolder")
        self.folder_edit.textEdited.connect(lambda _t: setattr(self, "_folder_touched", True))
        self._folder_touched = False
        form.addRow("Address:", self.url_edit)
        form.addRow("Into folder:", self._folder_row(self.folder_edit))
        self.clone_progress = QProgressBar()
        self.clone_progress.setObjectName("cloneProgress")
        self.clone_progress.setTextVisible(True)
        self.clone_progress.hide()
        self.clone_stage = QLabel("")
        buttons = QHBoxLayout()
        self.start_clone_button = QPushButton("Clone")
        self.start_clone_button.setDefault(True)
        self.start_clone_button.clicked.connect(self.start_clone)
        self.cancel_clone_button = QPushButton("Cancel")
        self.cancel_clone_button.clicked.connect(self.cancel_clone)
        self.cancel_clone_button.setEnabled(False)
        buttons.addWidget(self.clone_stage, 1)
        buttons.addWidget(self.clone_progress, 1)
        buttons.addWidget(self.start_clone_button)
        buttons.addWidget(self.cancel_clone_button)
        form.addRow(buttons)
        self.url_edit.returnPressed.connect(self.start_clone)
        self.folder_edit.returnPressed.connect(self.start_clone)
        return box

    def _folder_row(self, edit: QLineEdit) -> QHBoxLayout:
        """A folder field and its Browse… button."""
        browse = QPushButton("Browse…")
        browse.setAutoDefault(False)
        browse.clicked.connect(lambda: self._browse_into(edit))
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(browse)
        return row

    def _create_form(self) -> QWidget:
        box = QWidget()
        form = QFormLayout(box)
        self.new_folder_edit = QLineEdit(str(Path.home() / "knowledge-base"))
        self.new_folder_edit.setObjectName("newFolder")
        self.new_name_edit = QLineEdit("Operations knowledge base")
        self.new_name_edit.setObjectName("newName")
        self.new_orgs_edit = QLineEdit("internal, partner")
        self.new_orgs_edit.setObjectName("newOrgs")
        self.new_orgs_edit.setToolTip(
            "Organisations sharing it, each optionally with its e-mail "
            "domains: internal=corp.example, partner=msp.example"
        )
        form.addRow("Folder:", self._folder_row(self.new_folder_edit))
        form.addRow("Name:", self.new_name_edit)
        form.addRow("Organisations:", self.new_orgs_edit)
        create = QPushButton("Create")
        create.clicked.connect(self.create_kb)
        self.new_orgs_edit.returnPressed.connect(self.create_kb)
        form.addRow(create)
        return box

    # ------------------------------------------------------------------ recent list

    def reload(self) -> None:
        from kbapp.knowledge_bases import display_name

        self.recent.clear()
        for path in self.settings.knowledge_bases:
            present = (Path(path) / ".kb" / "config.toml").is_file()
            text = f"{display_name(path)} — {path}" if present else f"{path} (not found)"
            item = QListWidgetItem(text)
            item.setData(PATH_ROLE, path)
            if not present:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.recent.addItem(item)
        first = next(
            (
                i
                for i in range(self.recent.count())
                if self.recent.item(i).flags() & Qt.ItemFlag.ItemIsEnabled
            ),
            None,
        )
        if first is not None:
            self.recent.setCurrentRow(first)
        else:
            self.recent.addItem(QListWidgetItem("No knowledge base opened yet."))
            self.recent.item(0).setFlags(Qt.ItemFlag.NoItemFlags)

    def _on_recent_activated(self, item: QListWidgetItem) -> None:
        path = item.data(PATH_ROLE)
        if path and item.flags() & Qt.ItemFlag.ItemIsEnabled:
            self.chosen.emit(str(path))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.forms.currentIndex() and not self.busy:
            self.show_form("")
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ the four ways

    def show_form(self, name: str) -> None:
        self.forms.setCurrentIndex({"": 0, "clone": 1, "create": 2}[name])
        self.status.setText("")
        if name == "clone":
            self.url_edit.setFocus()
        elif name == "create":
            self.new_folder_edit.setFocus()
        else:
            self.recent.setFocus()

    def _browse_into(self, edit: QLineEdit) -> None:
        start = str(Path(edit.text()).parent) if edit.text() else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", start)
        if folder:
            edit.setText(folder)
            self._folder_touched = True

    def ask_folder(self) -> QFileDialog:
        """Open a knowledge base that is already on this machine."""
        dialog = QFileDialog(self, "Open knowledge base", str(Path.home()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly)
        dialog.fileSelected.connect(lambda folder: self.chosen.emit(folder) if folder else None)
        self.folder_dialog = dialog
        dialog.open()
        return dialog

    def open_demo(self) -> None:
        from kbapp.demo import ensure_demo

        self._start_work("Setting up the demo knowledge base…")
        self.tasks.run(lambda: str(ensure_demo()), self._on_ready, self._on_failed, owner=self)

    def create_kb(self) -> None:
        from kbapp.workspace import Workspace

        folder, name = self.new_folder_edit.text().strip(), self.new_name_edit.text().strip()
        if not folder or not name:
            self.show_error("Give a folder and a name for the new knowledge base.")
            return
        orgs: list[str] = []
        domains: dict[str, list[str]] = {}
        for spec in self.new_orgs_edit.text().split(","):
            org, _, domain_text = spec.partition("=")
            if org.strip():
                orgs.append(org.strip())
                domains[org.strip()] = [d.strip() for d in domain_text.split() if d.strip()]
        if not orgs:
            self.show_error("Name at least one organisation, like: internal, partner.")
            return
        settings = self.settings
        if not self._ask_identity(Path(folder).expanduser(), name, orgs, domains):
            return

        def work() -> str:
            workspace = Workspace.init(
                Path(folder).expanduser(), name, orgs, settings=settings, domains=domains
            )
            root = str(workspace.root)
            workspace.close()
            return root

        self._start_work(f"Creating {name}…")
        self.tasks.run(work, self._on_ready, self._on_failed, owner=self)

    def _ask_identity(
        self, root: Path, name: str, orgs: list[str], domains: dict[str, list[str]]
    ) -> bool:
        """Who makes the first commit: asked here, on the GUI thread, when nobody is known
        yet (the worker that creates the knowledge base cannot ask)."""
        from kbapp import identity
        from kbapp.config import KbConfig, Organisation
        from kbapp.ui.identity_dialog import FirstRunDialog

        here = root if (root / ".git").exists() else None
        if identity.resolve(self.settings, None, here)[0].known:
            return True
        config = KbConfig(
            name=name,
            organisations=[Organisation(org, domains=domains.get(org, [])) for org in orgs],
        )
        dialog = FirstRunDialog(
            self.settings, config, here, f"kbapp makes the first commit of {name} with them.", self
        )
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return True
        self.show_error("Tell kbapp who you are first: it commits with your name and e-mail.")
        return False

    def _on_url_edited(self, text: str) -> None:
        if not self._folder_touched:
            self.folder_edit.setText(folder_for(text.strip()) if text.strip() else "")

    def start_clone(self) -> None:
        """Clone the address into the folder: git's progress is shown, Cancel stops it and
        removes what was written; credentials are asked in a dialog when git needs them."""
        from kbapp.sync import sync
        from kbapp.ui.askpass import askpass_server

        url, folder = self.url_edit.text().strip(), self.folder_edit.text().strip()
        if self.busy:
            return
        if not url or not folder:
            self.show_error("Give the shared repository's address and a folder for it.")
            return
        self._cancel = threading.Event()
        cancelled = self._cancel.is_set
        prompting = askpass_server().prompting()
        settings, report = self.settings, self.clone_progressed.emit

        def work() -> str:
            workspace = sync.clone(
                url,
                Path(folder).expanduser(),
                settings,
                prompting=prompting,
                progress=report,
                cancelled=cancelled,
            )
            root = str(workspace.root)
            workspace.close()
            return root

        self._start_work(f"Cloning {url}…")
        self.cancel_clone_button.setEnabled(True)
        self.clone_progress.setRange(0, 0)
        self.clone_progress.show()
        self.clone_stage.setText("Connecting…")
        self.tasks.run(work, self._on_ready, self._on_failed, owner=self)

    def cancel_clone(self) -> None:
        self._cancel.set()
        self.clone_stage.setText("Cancelling…")

    def _on_clone_progress(self, stage: str, done: int, total: int) -> None:
        if not self.busy or not stage:
            return
        self.clone_stage.setText(stage)
        if total:
            self.clone_progress.setRange(0, total)
            self.clone_progress.setValue(min(done, total))

    # ------------------------------------------------------------------ outcome

    def _start_work(self, text: str) -> None:
        self.busy = True
        self.status.setText(text)
        for button in (
            self.clone_button,
            self.open_button,
            self.create_button,
            self.demo_button,
            self.start_clone_button,
        ):
            button.setEnabled(False)

    def _stop_work(self) -> None:
        self.busy = False
        for button in (
            self.clone_button,
            self.open_button,
            self.create_button,
            self.demo_button,
            self.start_clone_button,
        ):
            button.setEnabled(True)
        self.cancel_clone_button.setEnabled(False)
        self.clone_progress.hide()
        self.clone_stage.setText("")

    def _on_ready(self, root: str) -> None:
        self._stop_work()
        self.status.setText("")
        self.chosen.emit(root)

    def _on_failed(self, error: Exception) -> None:
        self._stop_work()
        self.show_error(str(error) if isinstance(error, KbError) else f"That did not work: {error}")

    def show_error(self, text: str) -> None:
        self.status.setText(text)


class StartWindow(QMainWindow):
    """Shown when kbapp starts without a knowledge base to open; replaced by the main window
    (:attr:`successor`) once one is chosen."""

    def __init__(self, settings: Settings, note: str = "") -> None:
        super().__init__()
        self.setObjectName("startWindow")
        self.setWindowTitle("kbapp")
        self.settings = settings
        self.tasks = Tasks(self)
        self.chooser = KbChooser(settings, self.tasks, note)
        self.chooser.chosen.connect(self.open_kb)
        self.setCentralWidget(self.chooser)
        self.successor: QMainWindow | None = None
        self.resize(860, 560)

    def open_kb(self, folder: str) -> QMainWindow | None:
        from kbapp.ui.app import open_window_on
        from kbapp.workspace import Workspace

        try:
            workspace = Workspace.open(folder, self.settings)
        except (KbError, OSError) as exc:
            self.chooser.show_error(f"Could not open {folder}: {exc}")
            return None
        self.settings.remember_kb(workspace.root)
        self.settings.default_kb = str(workspace.root)
        try:
            self.settings.save()
        except OSError:
            pass
        self.successor = open_window_on(workspace)  # its own size, placed by the desktop
        self.close()
        return self.successor

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.chooser.busy:
            self.chooser.cancel_clone()
        self.tasks.wait(10000)
        super().closeEvent(event)


class KbChooserDialog(QDialog):
    """``Ctrl+O`` in a running window: the same list and choices; the window switches to the
    knowledge base chosen."""

    def __init__(
        self, parent: QWidget, settings: Settings, tasks: Tasks, switch: Callable[[str], object]
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open knowledge base")
        self.chooser = KbChooser(settings, tasks, parent=self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.chooser)
        self.chooser.chosen.connect(self._chosen)
        self.switch = switch
        self.resize(820, 520)

    def _chosen(self, folder: str) -> None:
        self.accept()
        self.switch(folder)

    def reject(self) -> None:
        if self.chooser.busy:
            answer = QMessageBox.question(self, "kbapp", "Stop the clone in progress?")
            if answer != QMessageBox.StandardButton.Yes:
                return
            self.chooser.cancel_clone()
        super().reject()
