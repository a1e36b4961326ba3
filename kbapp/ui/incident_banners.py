"""The banners of an incident: the one across the window while an incident runs (name, severity,
running time, End), and the one that offers to capture what was learned once it ended."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from kbapp.lifecycle.activity import Incident, utc_now
from kbapp.lifecycle.incident import Incidents
from kbapp.ui import style
from kbapp.ui.tasks import relay

BANNER_STYLE = (
    "QFrame#incidentBanner { background: #B03A2E; border-radius: 4px; }"
    "QFrame#incidentBanner QLabel { color: white; }"
    "QFrame#incidentBanner QPushButton { padding: 3px 10px; }"
)


def clock(delta: dt.timedelta) -> str:
    """``01:02:03`` for the banner's timer."""
    seconds = max(int(delta.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


class IncidentBanner(QFrame):
    """The red bar across the window while an incident runs: ticket, title, timer, actions."""

    note_requested = Signal()
    end_requested = Signal()

    def __init__(self, incidents: Incidents, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.incidents = incidents
        self.setObjectName("incidentBanner")
        self.setStyleSheet(BANNER_STYLE)
        self._create_labels()
        self._create_buttons()
        self._create_timer()
        relay(self, incidents.changed, self._on_incident_changed)
        self.refresh()

    def _create_labels(self) -> None:
        self.ticket_label = QLabel()
        bold = QFont(self.ticket_label.font())
        bold.setBold(True)
        self.ticket_label.setFont(bold)
        self.title_label = QLabel()
        self.timer_label = QLabel("00:00:00")
        mono = style.monospace_font(self.timer_label.font().pointSize() + 2)
        mono.setBold(True)
        self.timer_label.setFont(mono)
        self.timer_label.setAccessibleName("Time since the incident started")

    def _create_buttons(self) -> None:
        self.note_button = QPushButton("&Note…")
        self.note_button.clicked.connect(self.note_requested)
        self.end_button = QPushButton("&End incident…")
        self.end_button.clicked.connect(self.end_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(QLabel("●"))
        layout.addWidget(self.ticket_label)
        layout.addWidget(self.title_label, 1)
        layout.addWidget(self.timer_label)
        layout.addWidget(self.note_button)
        layout.addWidget(self.end_button)

    def _create_timer(self) -> None:
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._update_clock)
        self._incident: Incident | None = None

    def refresh(self) -> None:
        self._incident = self.incidents.active()
        if self._incident is None:
            self._timer.stop()
            self.hide()
            return
        self.ticket_label.setText(self._incident.ticket)
        systems = ", ".join(self._incident.systems)
        self.title_label.setText(self._incident.title + (f"  ·  {systems}" if systems else ""))
        self._update_clock()
        self._timer.start()
        self.show()

    def _update_clock(self) -> None:
        if self._incident is not None:
            self.timer_label.setText(clock(utc_now() - self._incident.started_at))

    def _on_incident_changed(self, incident: Incident) -> None:
        self.refresh()


class CaptureBanner(QFrame):
    """Under the window's toolbar after an incident ended and until it is captured or
    dismissed: "Later" in the capture dialog must leave a way back to it."""

    capture_requested = Signal(str)  # the ticket

    def __init__(self, incidents: Incidents, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.incidents = incidents
        self.incident: Incident | None = None
        self.setObjectName("notice")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.capture_button = QPushButton("&Capture…")
        self.capture_button.clicked.connect(self._on_capture)
        self.dismiss_button = QPushButton("Don't capture")
        self.dismiss_button.setToolTip("Stop offering it (kbapp capture --incident still can)")
        self.dismiss_button.clicked.connect(self._on_dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.capture_button)
        layout.addWidget(self.dismiss_button)
        relay(self, incidents.changed, lambda _incident: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        self.incident = None if self.incidents.active() else self.incidents.waiting_capture()
        if self.incident is None:
            self.hide()
            return
        ended = (self.incident.ended_at or utc_now()).astimezone()
        when = ended.strftime("%H:%M" if ended.date() == dt.date.today() else "%Y-%m-%d %H:%M")
        title = f" ({self.incident.title})" if self.incident.title else ""
        self.label.setText(
            f"{self.incident.ticket}{title} ended at {when} and is not captured "
            "yet: write down what it taught while it is fresh."
        )
        self.show()

    def _on_capture(self) -> None:
        if self.incident is not None:
            self.capture_requested.emit(self.incident.ticket)

    def _on_dismiss(self) -> None:
        if self.incident is not None:
            self.incidents.dismiss_capture(self.incident)
