"""Incident mode: the session an engineer runs while an incident is open.

Started with a ticket id (``INC-20417``), a title and optional systems. While it runs, every
runbook step ticked, every note, every search and every document opened is recorded with a
timestamp in the local activity store (:mod:`kbapp.lifecycle.activity`): it survives a restart of the
window or a second terminal, and is never committed by itself. Ending it leads to capture
(:mod:`kbapp.lifecycle.capture`), which turns the session into a post-incident document.

One incident runs at a time per knowledge base clone; ``Incidents.changed`` tells the window's
banner, timer and checklist to redraw.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from kbapp.documents.model import Document
from kbapp.errors import KbError
from kbapp.events import Event
from kbapp.lifecycle.activity import (
    ActivityStore,
    Incident,
    IncidentEvent,
    Open,
    Search,
    activity_for,
    utc_now,
)
from kbapp.lifecycle.checklist import Step, checklist_steps
from kbapp.workspace import Workspace

_TICKET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._#/:-]{0,63}$")

# Timeline entry kinds, in the words the timeline shows.
START, END, TICK, UNTICK, NOTE, VERDICT, SEARCH, OPEN = (
    "start",
    "end",
    "tick",
    "untick",
    "note",
    "verdict",
    "search",
    "open",
)
#: Recorded when the user says an ended incident needs no capture (not on the timeline).
DISMISS = "dismiss-capture"


#: What an incident started before anyone opened a ticket is called: ``NO-TICKET-`` and when
#: it started (UTC), unique to the second; the capture and its document can name the real one.
NO_TICKET = "NO-TICKET"


def provisional_ticket(started: dt.datetime) -> str:
    return f"{NO_TICKET}-{started:%Y%m%d-%H%M%S}"


def normalise_ticket(ticket: str) -> str:
    """``inc-20417 `` -> ``INC-20417``; refuses what cannot be a ticket id."""
    value = ticket.strip()
    if not value or not _TICKET_RE.match(value):
        raise KbError(f"{ticket!r} is not a ticket id; give the incident's ticket, like INC-20417")
    return value.upper() if re.match(r"^[A-Za-z]+-\d+$", value) else value


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str
    text: str
    doc_id: str = ""
    doc_title: str = ""
    step: int | None = None
    hits: int | None = None


@dataclass
class RunbookUse:
    """A document consulted during the incident, and which of its steps were ticked."""

    doc_id: str
    title: str
    path: str = ""
    doc_type: str = ""
    first_opened: dt.datetime | None = None
    opens: int = 0
    #: step number -> (step text, when it was ticked) for the steps ticked at the end.
    ticked: dict[int, tuple[str, dt.datetime]] = field(default_factory=dict)
    verdict: str = ""  # "right", "needs-fix" or ""


@dataclass
class Session:
    """Everything recorded for one incident, read back for the banner, capture and reports."""

    incident: Incident
    timeline: list[TimelineEntry]
    runbooks: list[RunbookUse]

    @property
    def ticket(self) -> str:
        return self.incident.ticket

    @property
    def notes(self) -> list[TimelineEntry]:
        return [e for e in self.timeline if e.kind == NOTE]

    @property
    def failed_searches(self) -> list[str]:
        """Searches that found nothing, in the order first made, without repeats."""
        seen: dict[str, str] = {}
        for entry in self.timeline:
            if entry.kind == SEARCH and entry.hits == 0:
                seen.setdefault(entry.text.casefold(), entry.text)
        return list(seen.values())

    def ticked_steps(self, doc_id: str) -> set[int]:
        for use in self.runbooks:
            if use.doc_id == doc_id:
                return set(use.ticked)
        return set()


class Incidents:
    """Incident sessions of one workspace. Get it with :func:`incidents_for`."""

    def __init__(self, workspace: Workspace, store: ActivityStore | None = None) -> None:
        self.workspace = workspace
        self.store = store or activity_for(workspace)
        #: Emitted with the incident after anything about it changed (start, tick, note, end).
        self.changed: Event[Incident] = Event()

    # ------------------------------------------------------------------ finding

    def active(self) -> Incident | None:
        """The incident running now, if any (it survives restarts: it is in the store)."""
        with self.store.session() as session:
            return session.scalars(
                select(Incident).where(Incident.ended_at.is_(None)).order_by(Incident.id.desc())
            ).first()

    def get(self, ticket: str | None = None) -> Incident:
        """The incident with this ticket (its latest session), else the active one."""
        if ticket is None:
            active = self.active()
            if active is None:
                raise KbError("no incident is running; start one with 'kbapp incident start INC-…'")
            return active
        wanted = normalise_ticket(ticket)
        with self.store.session() as session:
            found = session.scalars(
                select(Incident).where(Incident.ticket == wanted).order_by(Incident.id.desc())
            ).first()
        if found is None:
            raise KbError(f"no incident {wanted} was recorded on this machine")
        return found

    def all(self) -> list[Incident]:
        return self.store.incidents()

    # ------------------------------------------------------------------ the session

    def start(
        self,
        ticket: str,
        title: str = "",
        systems: Iterable[str] = (),
        *,
        now: dt.datetime | None = None,
    ) -> Incident:
        """Start the incident of ``ticket``; with no ticket yet (3 a.m., nobody opened one),
        under a provisional name (:func:`provisional_ticket`). The one running already is
        resumed, not restarted, when ``ticket`` is its own or none."""
        wanted = normalise_ticket(ticket) if ticket.strip() else None
        running = self.active()
        if running is not None:
            if wanted is None or running.ticket == wanted:
                return running  # pressing Ctrl+I twice resumes, it does not restart
            raise KbError(f"{running.ticket} is still running; end it first ('kbapp incident end')")
        now = now or utc_now()
        ticket = wanted or provisional_ticket(now)
        incident = Incident(
            ticket=ticket,
            title=" ".join(title.split()),
            systems=_clean_list(systems),
            started_at=now,
            started_by=self.workspace.identity.email,
        )
        with self.store.session() as session:
            session.add(incident)
            session.flush()
            session.add(
                IncidentEvent(incident_id=incident.id, at=now, kind=START, text=incident.title)
            )
            session.commit()
        self._changed(incident)
        return incident

    def end(self, summary: str = "", *, now: dt.datetime | None = None) -> Incident:
        incident = self.get()
        now = now or utc_now()
        with self.store.session() as session:
            row = session.get(Incident, incident.id)
            assert row is not None
            row.ended_at = max(now, row.started_at)
            row.summary = summary.strip()
            session.add(
                IncidentEvent(incident_id=row.id, at=row.ended_at, kind=END, text=row.summary)
            )
            session.commit()
            incident = row
        self._changed(incident)
        return incident

    def note(self, text: str, *, now: dt.datetime | None = None) -> IncidentEvent:
        text = text.strip()
        if not text:
            raise KbError("a note needs some text")
        return self._event(NOTE, text=text, now=now)

    def tick(
        self,
        doc: Document,
        step: int | Step,
        done: bool = True,
        *,
        now: dt.datetime | None = None,
    ) -> IncidentEvent:
        """Tick (or untick) step ``step`` (1-based) of runbook ``doc``."""
        steps = checklist_steps(doc.body)
        number = step.number if isinstance(step, Step) else int(step)
        if not 1 <= number <= len(steps):
            raise KbError(
                f"{doc.title} has {len(steps)} steps; there is no step {number}"
                if steps
                else f"{doc.title} has no numbered steps or task items to tick"
            )
        chosen = steps[number - 1]
        return self._event(
            TICK if done else UNTICK, doc=doc, step=number, step_text=chosen.text, now=now
        )

    def verdict(
        self,
        doc_id: str,
        title: str,
        verdict: str,
        *,
        incident: Incident | None = None,
        now: dt.datetime | None = None,
    ) -> IncidentEvent:
        if verdict not in ("right", "needs-fix"):
            raise ValueError(verdict)
        return self._event(
            VERDICT, text=verdict, doc_id=doc_id, doc_title=title, incident=incident, now=now
        )

    def record_search(
        self, query: str, hits: int, *, now: dt.datetime | None = None
    ) -> Search | None:
        """Record a search (with the running incident, if any)."""
        active = self.active()
        search = self.store.record_search(
            query, hits, incident_id=active.id if active else None, at=now
        )
        if active is not None and search is not None:
            self._changed(active)
        return search

    def record_open(self, doc: Document, *, now: dt.datetime | None = None) -> Open:
        """Record that a document was opened (with the running incident, if any)."""
        active = self.active()
        opened = self.store.record_open(
            doc.id,
            path=doc.path,
            title=doc.title,
            doc_type=doc.type,
            incident_id=active.id if active else None,
            at=now,
        )
        if active is not None:
            self._changed(active)
        return opened

    def mark_captured(self, incident: Incident, doc_id: str) -> None:
        with self.store.session() as session:
            row = session.get(Incident, incident.id)
            if row is not None:
                row.captured_doc = doc_id
                session.commit()
                incident.captured_doc = doc_id
        self._changed(incident)

    def waiting_capture(self) -> Incident | None:
        """The latest incident that ended and was neither captured nor dismissed: the window
        keeps offering its capture (a banner, a menu entry) until one of the two happens."""
        with self.store.session() as session:
            dismissed = select(IncidentEvent.incident_id).where(IncidentEvent.kind == DISMISS)
            return session.scalars(
                select(Incident)
                .where(
                    Incident.ended_at.is_not(None),
                    Incident.captured_doc == "",
                    Incident.id.not_in(dismissed),
                )
                .order_by(Incident.ended_at.desc(), Incident.id.desc())
            ).first()

    def dismiss_capture(self, incident: Incident, *, now: dt.datetime | None = None) -> None:
        """Stop offering the capture of ``incident`` (it can still be captured by its ticket)."""
        self._event(DISMISS, incident=incident, now=now)

    # ------------------------------------------------------------------ reading back

    def session(self, incident: Incident | None = None) -> Session:
        """Timeline and runbooks used of ``incident`` (default: the running one)."""
        incident = incident or self.get()
        with self.store.session() as session:
            events = list(
                session.scalars(
                    select(IncidentEvent)
                    .where(IncidentEvent.incident_id == incident.id)
                    .order_by(IncidentEvent.at, IncidentEvent.id)
                )
            )
            searches = list(
                session.scalars(
                    select(Search).where(Search.incident_id == incident.id).order_by(Search.at)
                )
            )
            opens = list(
                session.scalars(
                    select(Open).where(Open.incident_id == incident.id).order_by(Open.at)
                )
            )
        timeline: list[TimelineEntry] = []
        uses: dict[str, RunbookUse] = {}

        def use(doc_id: str, title: str) -> RunbookUse:
            if doc_id not in uses:
                uses[doc_id] = RunbookUse(doc_id, title)
            return uses[doc_id]

        for opened in opens:
            item = use(opened.doc_id, opened.title)
            item.path, item.doc_type = opened.path, opened.type
            item.opens += 1
            item.first_opened = item.first_opened or opened.at
            timeline.append(
                TimelineEntry(opened.at, OPEN, opened.title, opened.doc_id, opened.title)
            )
        for search in searches:
            timeline.append(TimelineEntry(search.at, SEARCH, search.query, hits=search.hits))
        for ev in events:
            if ev.kind in (TICK, UNTICK):
                item = use(ev.doc_id, ev.doc_title)
                if ev.kind == TICK:
                    item.ticked[ev.step or 0] = (ev.step_text, ev.at)
                else:
                    item.ticked.pop(ev.step or 0, None)
                timeline.append(
                    TimelineEntry(ev.at, ev.kind, ev.step_text, ev.doc_id, ev.doc_title, ev.step)
                )
            elif ev.kind == DISMISS:
                continue
            elif ev.kind == VERDICT:
                use(ev.doc_id, ev.doc_title).verdict = ev.text
                timeline.append(TimelineEntry(ev.at, VERDICT, ev.text, ev.doc_id, ev.doc_title))
            else:
                timeline.append(TimelineEntry(ev.at, ev.kind, ev.text))
        order = {START: 0, OPEN: 1, SEARCH: 1, TICK: 2, UNTICK: 2, NOTE: 2, VERDICT: 3, END: 4}
        timeline.sort(key=lambda e: (e.at, order.get(e.kind, 2)))
        runbooks = sorted(uses.values(), key=lambda u: u.first_opened or incident.started_at)
        return Session(incident, timeline, runbooks)

    # ------------------------------------------------------------------ helpers

    def _event(
        self,
        kind: str,
        *,
        text: str = "",
        doc: Document | None = None,
        doc_id: str = "",
        doc_title: str = "",
        step: int | None = None,
        step_text: str = "",
        incident: Incident | None = None,
        now: dt.datetime | None = None,
    ) -> IncidentEvent:
        incident = incident or self.get()
        if doc is not None:
            doc_id, doc_title = doc.id, doc.title
        record = IncidentEvent(
            incident_id=incident.id,
            at=now or utc_now(),
            kind=kind,
            doc_id=doc_id,
            doc_title=doc_title,
            step=step,
            step_text=step_text,
            text=text,
        )
        self.store.add(record, "incident")
        self._changed(incident)
        return record

    def _changed(self, incident: Incident) -> None:
        self.changed.emit(incident)


def incidents_for(workspace: Workspace) -> Incidents:
    """The workspace's incident sessions (one object per open workspace)."""
    incidents: Incidents = workspace.service("incidents", Incidents)
    return incidents


def _clean_list(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def format_duration(delta: dt.timedelta) -> str:
    """``1 h 05 min``, ``12 min``, ``45 s``: for the banner and the timeline."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        days, hours = divmod(hours, 24)
        if days:
            return f"{days} d {hours} h {minutes:02d} min"
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"
