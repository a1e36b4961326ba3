"""Incident mode in the window: the banner with its running timer, the checklist of the
runbook being read, notes, the timeline, and the searches that found nothing.

The widgets adapt :class:`kbapp.lifecycle.incident.Incidents` (core, no Qt): they call it when the user
ticks or types, and redraw from it when its ``changed`` event fires. Nothing here decides what
is recorded or how; a restart finds the incident again because the core keeps it in SQLite.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape

from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from kbapp.documents.links import WIKI_LINK_RE
from kbapp.documents.model import Document
from kbapp.documents.render import render_markdown
from kbapp.documents.schema import ID_RE
from kbapp.errors import KbError
from kbapp.lifecycle.activity import Incident, utc_now
from kbapp.lifecycle.checklist import Step, checklist_steps
from kbapp.lifecycle.incident import Incidents, TimelineEntry, format_duration
from kbapp.ui import dialog_parts, style
from kbapp.ui.incident_banners import CaptureBanner, IncidentBanner
from kbapp.ui.tasks import relay

STEP_ROLE = Qt.ItemDataRole.UserRole + 1
_CODE_SPAN_RE = re.compile(r"`([^`]+)`")
_MD_LINK_RE = re.compile(r"(?<!!)\[([^\]\n]+)\]\([^)\n]*\)")


class ChecklistPanel(QWidget):
    """Beside the reader during an incident: the runbook's steps to tick (Space), the step
    chosen rendered with its commands as blocks to copy (Ctrl+C, or the Copy links), a note
    box, the timeline so far, and searches that found nothing (each one click from a draft)."""

    draft_requested = Signal(str)  # a search that found nothing

    def __init__(self, incidents: Incidents, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.incidents = incidents
        self.document: Document | None = None
        self._filling = False
        self._create_checklist()
        self._create_notes()
        self._create_timeline()
        self._create_layout()
        relay(self, incidents.changed, self._on_incident_changed)
        self.refresh()

    def _create_checklist(self) -> None:
        self.runbook_label = QLabel("Open a runbook to follow its steps here.")
        self.runbook_label.setWordWrap(True)
        self.steps = QListWidget()
        self.steps.setObjectName("incidentSteps")
        self.steps.setAccessibleName("Runbook steps")
        self.steps.setToolTip("Space ticks the step; Ctrl+C copies its commands")
        self.steps.setWordWrap(True)
        self.steps.itemChanged.connect(self._on_step_changed)
        self.steps.currentItemChanged.connect(lambda *_: self._show_step())
        self._steps: list[Step] = []
        self._steps_doc: Document | None = None
        # Ctrl+C copies the step's commands (the list's own Ctrl+C copies the item's label).
        self.steps.installEventFilter(self)
        # The step chosen, as the reader shows it: its commands verbatim, each block with a
        # Copy link (Tab reaches the links, Enter follows one).
        self.step_view = QTextBrowser()
        self.step_view.setObjectName("stepView")
        self.step_view.setAccessibleName("The step chosen, with its commands")
        self.step_view.setOpenLinks(False)
        self.step_view.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.step_view.anchorClicked.connect(self._on_step_link)
        self.copy_button = QPushButton("Copy commands")
        self.copy_button.setToolTip("Copy the step's commands, line for line (Ctrl+C)")
        self.copy_button.clicked.connect(self.copy_commands)
        self.copy_status = QLabel()
        self.copy_status.setObjectName("hint")

    def _create_notes(self) -> None:
        self.note_edit = QLineEdit()
        # Short enough to read whole in the panel beside the views on a laptop screen.
        self.note_edit.setPlaceholderText("Add a note, press Enter")
        self.note_edit.setToolTip(
            "Enter adds the note to the timeline (Ctrl+Shift+N comes here); "
            "a note starting with $ is a command: the capture lists it under Commands"
        )
        self.note_edit.returnPressed.connect(self._on_note_entered)

    def _create_timeline(self) -> None:
        self.timeline = QListWidget()
        self.timeline.setAccessibleName("Incident timeline")
        self.timeline.setWordWrap(True)
        self.gaps = QListWidget()
        self.gaps.setAccessibleName("Searches that found nothing")
        self.gaps.setToolTip("Double-click to start a draft for it")
        self.gaps.itemActivated.connect(lambda item: self.draft_requested.emit(item.text()))
        self.write_gap_button = QPushButton("Write it…")
        self.write_gap_button.clicked.connect(self._on_write_gap)

    def _create_layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self.runbook_label)
        layout.addWidget(self.steps, 3)
        layout.addWidget(self.step_view, 2)
        copy_row = QHBoxLayout()
        copy_row.addWidget(self.copy_status, 1)
        copy_row.addWidget(self.copy_button)
        layout.addLayout(copy_row)
        layout.addWidget(self.note_edit)
        layout.addWidget(QLabel("Timeline"))
        layout.addWidget(self.timeline, 2)
        gaps_row = QHBoxLayout()
        gaps_row.addWidget(QLabel("Found nothing for"), 1)
        gaps_row.addWidget(self.write_gap_button)
        layout.addLayout(gaps_row)
        layout.addWidget(self.gaps, 1)

    # ------------------------------------------------------------------ content

    def show_document(self, doc: Document | None) -> None:
        """Follow ``doc``'s steps (the window calls this when the reader shows a document)."""
        self.document = doc
        self._fill_steps()

    def refresh(self) -> None:
        self._fill_steps()
        self._fill_timeline()

    def _fill_steps(self) -> None:
        self._filling = True
        keep = self.current_step()
        keep_number = keep.number if keep is not None and self._steps_doc == self.document else None
        try:
            self.steps.clear()
            doc = self.document
            if doc is None:
                self.runbook_label.setText("Open a runbook to follow its steps here.")
                self._steps = []
                return
            steps = checklist_steps(doc.body)
            self._steps = steps
            active = self.incidents.active()
            ticked = self.incidents.session(active).ticked_steps(doc.id) if active else set()
            self.runbook_label.setText(
                f"<b>{escape(doc.title, quote=False)}</b> — {len(ticked)} of {len(steps)} steps done"
                if steps
                else f"<b>{escape(doc.title, quote=False)}</b> has no numbered steps to tick."
            )
            section = None
            for step in steps:
                if step.section != section:
                    section = step.section
                    self.steps.addItem(_section_item(section))
                self.steps.addItem(
                    _step_item(step, step.number in ticked, active is not None, self._title_of)
                )
            self._choose_step(keep_number)
        finally:
            self._filling = False
            self._steps_doc = self.document
            self._show_step()

    def _title_of(self, target: str) -> str:
        """What a ``[[target]]`` link names: the title of the document with that id."""
        entries = self.incidents.workspace.catalog.by_id(target) if ID_RE.match(target) else []
        return entries[0].title if len(entries) == 1 else target

    def _choose_step(self, keep_number: int | None) -> None:
        """The keys start on the step being worked on: the one chosen before a redraw, else
        the first not ticked yet."""
        items = self.step_items()
        chosen = (
            next((i for i in items if i.data(STEP_ROLE) == keep_number), None)
            or next((i for i in items if i.checkState() != Qt.CheckState.Checked), None)
            or (items[0] if items else None)
        )
        if chosen is not None:
            self.steps.setCurrentItem(chosen)

    def current_step(self) -> Step | None:
        item = self.steps.currentItem()
        number = item.data(STEP_ROLE) if item is not None else None
        if number is None or not 0 < int(number) <= len(self._steps):
            return None
        return self._steps[int(number) - 1]

    def _show_step(self) -> None:
        step = self.current_step()
        self.copy_button.setEnabled(bool(step and step.code))
        self.copy_status.clear()
        if step is None:
            self.step_view.setHtml(
                "<p>Choose a step (↑↓) to see it here with its commands.</p>" if self._steps else ""
            )
            return
        workspace = self.incidents.workspace
        rendered = render_markdown(step.markdown(), resolver=workspace.wiki_target)
        self.step_view.document().setDefaultStyleSheet(style.reader_css(self.palette()))
        self.step_view.setHtml(rendered.html)

    def copy_commands(self) -> bool:
        """Put the chosen step's commands on the clipboard, verbatim (its text if none)."""
        step = self.current_step()
        if step is None:
            return False
        text = step.commands if step.code else step.text
        QGuiApplication.clipboard().setText(text)
        lines = text.count("\n") + 1
        what = "command line" if step.code else "step text line"
        self.copy_status.setText(f"Copied {lines} {what}{'s' if lines != 1 else ''}.")
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.steps
            and isinstance(event, QKeyEvent)
            and event.matches(QKeySequence.StandardKey.Copy)
        ):
            if event.type() == QEvent.Type.KeyPress:
                self.copy_commands()
            else:
                event.accept()  # ShortcutOverride: the key is the list's, not a shortcut's
            return True
        return super().eventFilter(watched, event)

    def _on_step_link(self, url: QUrl) -> None:
        step = self.current_step()
        if (
            url.scheme() == "copy"
            and step is not None
            and url.path().isdigit()
            and int(url.path()) < len(step.code)
        ):
            block = step.code[int(url.path())].text
            QGuiApplication.clipboard().setText(block)
            lines = block.count("\n") + 1
            self.copy_status.setText(f"Copied {lines} line{'s' if lines != 1 else ''}.")

    def _fill_timeline(self) -> None:
        self.timeline.clear()
        self.gaps.clear()
        active = self.incidents.active()
        if active is None:
            return
        session = self.incidents.session(active)
        for entry in session.timeline:
            self.timeline.addItem(timeline_text(entry))
        self.timeline.scrollToBottom()
        self.gaps.addItems(session.failed_searches)

    def step_items(self) -> list[QListWidgetItem]:
        return [
            self.steps.item(i)
            for i in range(self.steps.count())
            if self.steps.item(i).data(STEP_ROLE) is not None
        ]

    # ------------------------------------------------------------------ user actions

    def _on_step_changed(self, item: QListWidgetItem) -> None:
        if self._filling or self.document is None:
            return
        number = item.data(STEP_ROLE)
        if number is None:
            return
        done = item.checkState() == Qt.CheckState.Checked
        self.incidents.tick(self.document, int(number), done)

    def _on_note_entered(self) -> None:
        text = self.note_edit.text().strip()
        if not text or self.incidents.active() is None:
            return
        self.incidents.note(text)
        self.note_edit.clear()

    def _on_write_gap(self) -> None:
        item = self.gaps.currentItem() or (self.gaps.item(0) if self.gaps.count() else None)
        if item is not None:
            self.draft_requested.emit(item.text())

    def _on_incident_changed(self, incident: Incident) -> None:
        self.refresh()


def timeline_text(entry: TimelineEntry) -> str:
    when = entry.at.astimezone().strftime("%H:%M")
    what = {
        "start": "Started",
        "end": "Resolved",
        "tick": f"✓ {entry.text}",
        "untick": f"✗ {entry.text}",
        "note": f"Note: {entry.text}",
        "search": f"Searched “{entry.text}” ({'nothing' if entry.hits == 0 else entry.hits})",
        "open": f"Opened {entry.doc_title}",
        "verdict": f"{entry.doc_title}: {entry.text}",
    }.get(entry.kind, entry.text)
    if entry.kind in ("start", "end") and entry.text:
        what += f": {entry.text}"
    return f"{when}  {what}"


def _section_item(section: str | None) -> QListWidgetItem:
    """A heading in the list of steps, bold and not tickable."""
    header = QListWidgetItem(section or "Steps")
    header.setFlags(Qt.ItemFlag.ItemIsEnabled)
    font = header.font()
    font.setBold(True)
    header.setFont(font)
    return header


def readable(text: str, title_of: Callable[[str], str] = str) -> str:
    """A step's Markdown as words: code marks dropped (the view below renders them), a link
    as its text, ``[[kb-3f9c2a1e]]`` as the title of that document (``title_of``), so the
    list never shows ``[[kb-d62ab34c]]`` where a runbook's name belongs."""
    text = _CODE_SPAN_RE.sub(r"\1", text)
    text = _MD_LINK_RE.sub(r"\1", text)
    return WIKI_LINK_RE.sub(lambda m: (m.group(2) or title_of(m.group(1).strip())).strip(), text)


def _step_item(
    step: Step, ticked: bool, tickable: bool, title_of: Callable[[str], str] = str
) -> QListWidgetItem:
    """One step: its number, indented by depth, its text as words (:func:`readable`), and
    how many command lines it has (they are shown below the list, line for line: a narrow
    list would wrap them into what looks like other commands)."""
    indent = "    " * step.depth
    lines = step.commands.count("\n") + 1 if step.code else 0
    code = (
        f"\n{indent}      ↳ {lines} command line{'s' if lines != 1 else ''} (Ctrl+C copies)"
        if lines
        else ""
    )
    plain = readable(step.text, title_of)
    item = QListWidgetItem(f"{step.number}. {indent}{plain}{code}")
    item.setData(STEP_ROLE, step.number)
    flags = Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable
    if tickable:
        flags |= Qt.ItemFlag.ItemIsEnabled
    item.setFlags(flags)
    item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
    return item


class StartIncidentDialog(dialog_parts.FittedDialog):
    """Ctrl+I: ticket, title and systems of the incident to start."""

    def __init__(
        self, incidents: Incidents, systems: list[str] | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.incidents = incidents
        self.incident: Incident | None = None
        self.setWindowTitle("Start an incident")
        self.ticket_edit = QLineEdit()
        self.ticket_edit.setPlaceholderText("INC-20417, or empty when there is none yet")
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText("What is happening, in a few words")
        self.systems_edit = QLineEdit()
        self.systems_edit.setPlaceholderText(", ".join((systems or [])[:3]) or "payments-db, api")
        self.error_label = dialog_parts.error_label()
        form = QFormLayout()
        form.addRow("&Ticket", self.ticket_edit)
        form.addRow("T&itle", self.title_edit)
        form.addRow("&Systems", self.systems_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(dialog_parts.ok_cancel(self, "Start"))
        # wide enough for its title bar and the fields' hints (it opened 200 px wide, the
        # title "Start a…cident", the hints cut off)
        self.resize(480, 0)

    def accept(self) -> None:
        try:
            self.incident = self.incidents.start(
                self.ticket_edit.text(),
                self.title_edit.text(),
                [s for s in self.systems_edit.text().split(",") if s.strip()],
            )
        except KbError as exc:
            self.error_label.setText(str(exc))
            return
        super().accept()


class IncidentMode(QObject):
    """Ties incident mode to a window: the window places ``banner`` and ``panel`` and tells
    this object what the user searches and opens; this object records it with the incident."""

    ended = Signal(object)  # the Incident, after it ended: the window opens the capture flow
    active_changed = Signal(bool)

    def __init__(self, incidents: Incidents, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.incidents = incidents
        self.banner = IncidentBanner(incidents)
        self.panel = ChecklistPanel(incidents)
        self.capture_banner = CaptureBanner(incidents)
        self.end_prompt: QMessageBox | None = None
        self.banner.end_requested.connect(self.request_end)
        self.banner.note_requested.connect(self.panel.note_edit.setFocus)
        self._was_active = incidents.active() is not None
        relay(self, incidents.changed, self._on_incident_changed)

    @property
    def active(self) -> bool:
        return self.incidents.active() is not None

    def start(self, ticket: str, title: str = "", systems: list[str] | None = None) -> Incident:
        return self.incidents.start(ticket, title, systems or [])

    def request_end(self) -> QMessageBox | None:
        """Ask before ending (one keystroke must not end an incident); Yes ends it and opens
        the capture."""
        incident = self.incidents.active()
        if incident is None:
            return None
        title = f" ({incident.title})" if incident.title else ""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "End incident?",
            f"End {incident.ticket}{title} after "
            f"{format_duration(utc_now() - incident.started_at)}?",
            parent=self.banner.window(),
        )
        box.setInformativeText("The capture opens next, pre-filled from what was recorded.")
        end = box.addButton("&End incident", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("&Keep it running", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.finished.connect(lambda _result: self._on_end_answered(box.clickedButton() is end))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.end_prompt = box
        box.open()
        return box

    def _on_end_answered(self, confirmed: bool) -> None:
        self.end_prompt = None
        if confirmed:
            self.end()

    def end(self, summary: str = "") -> Incident | None:
        if not self.active:
            return None
        incident = self.incidents.end(summary)
        self.ended.emit(incident)
        return incident

    def record_search(self, query: str, hits: int) -> None:
        self.incidents.record_search(query, hits)

    def record_open(self, doc: Document) -> None:
        self.incidents.record_open(doc)
        self.panel.show_document(doc)

    def step(self, number: int) -> Step | None:
        doc = self.panel.document
        steps = checklist_steps(doc.body) if doc else []
        return steps[number - 1] if 0 < number <= len(steps) else None

    def _on_incident_changed(self, incident: Incident) -> None:
        active = self.active
        if active != self._was_active:
            self._was_active = active
            self.active_changed.emit(active)
