"""Capture after resolution: turn an incident into knowledge while it is fresh.

- :func:`draft_capture` makes a post-incident document from its template, pre-filled from the
  recorded session: ticket, systems, the timeline of ticked steps, notes and searches, the steps
  that resolved it, commands noted, and links to the runbooks used.
- :func:`runbook_was_right` adds the incident to a runbook's ``incidents`` list (the reuse
  signal search results and reports show) and commits it; :func:`notes_for_fix` gathers what
  the engineer wrote, to put beside the runbook when it needs a fix.
- :func:`draft_for_gap` turns a search that found nothing into a new draft from the template
  that fits it, in one step.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from kbapp.config import KbConfig
from kbapp.documents.mdlines import fence
from kbapp.documents.model import Document
from kbapp.errors import KbError
from kbapp.lifecycle.activity import Incident
from kbapp.lifecycle.checklist import Step, checklist_steps
from kbapp.lifecycle.incident import (
    END,
    NOTE,
    OPEN,
    SEARCH,
    START,
    TICK,
    UNTICK,
    VERDICT,
    Incidents,
    RunbookUse,
    Session,
    TimelineEntry,
    format_duration,
    incidents_for,
    normalise_ticket,
)
from kbapp.workspace import Workspace
from kbapp.workspace_save import SaveResult

CAPTURE_TEMPLATE = "post-incident"
_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
_ALERT_NAME_RE = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*){1,}$")  # PaymentsApiHigh5xxRate
_ERROR_CODE_RE = re.compile(
    r"\b(?:0x[0-9a-f]{4,}|[A-Z]{2,}[-_]?\d{2,}|E\d{3,}|ORA-\d+|errno|exit code|error|exception"
    r"|failed|timeout|refused|denied)\b",
    re.I,
)
_HOW_TO_RE = re.compile(
    r"^(?:how (?:to|do i)|procedure|steps to|set ?up|install|rotate|renew|"
    r"add|create|onboard|offboard|restore|fail ?over|upgrade|patch)\b",
    re.I,
)


@dataclass
class CaptureDraft:
    """A pre-filled, not yet saved post-incident document, and what it was made from."""

    document: Document
    incident: Incident | None
    session: Session | None
    #: Runbooks consulted during the incident, for "this runbook was right / needs a fix".
    runbooks: list[RunbookUse] = field(default_factory=list)


def _local(moment: dt.datetime, tz: dt.tzinfo | None) -> dt.datetime:
    return moment.astimezone(tz) if tz is not None else moment.astimezone()


def _clock(moment: dt.datetime, tz: dt.tzinfo | None, day: dt.date | None = None) -> str:
    local = _local(moment, tz)
    return local.strftime("%H:%M") if local.date() == day else local.strftime("%Y-%m-%d %H:%M")


def ticket_link(config: KbConfig, ticket: str) -> str:
    """``[INC-20417](https://…)`` when the knowledge base says where tickets live."""
    for system in config.tickets:
        if system.compiled().fullmatch(ticket):
            return f"[{ticket}]({system.url.replace('{id}', ticket)})"
    return ticket


def draft_capture(
    workspace: Workspace,
    ticket: str,
    *,
    from_session: bool = True,
    title: str | None = None,
    verdicts: dict[str, str] | None = None,
    tz: dt.tzinfo | None = None,
    today: dt.date | None = None,
) -> CaptureDraft:
    """A post-incident draft for ``ticket``.

    With ``from_session`` (and a session recorded on this machine) it is pre-filled from it;
    without, only the ticket, title and systems are filled. ``verdicts`` maps runbook ids to
    "right" / "needs-fix" as decided in the capture flow, so the Follow-up section can list the
    runbooks to fix. Times are written in ``tz`` (default: this machine's zone)."""
    ticket = normalise_ticket(ticket)
    incidents = incidents_for(workspace)
    incident: Incident | None = None
    session: Session | None = None
    try:
        incident = incidents.get(ticket)
    except KbError:
        if from_session:
            raise KbError(
                f"no incident session {ticket} was recorded on this machine; run without "
                "--from-session to capture it from scratch"
            ) from None
    if from_session and incident is not None:
        session = incidents.session(incident)
    chosen_title = (title or (incident.title if incident else "") or f"Incident {ticket}").strip()
    systems = list(incident.systems) if incident else []
    if session is not None and not systems:
        for use in session.runbooks:
            entries = workspace.catalog.by_id(use.doc_id)
            for system in entries[0].systems if entries else []:
                if system not in systems:
                    systems.append(system)
    day = today or (incident.started_at.date() if incident else None) or dt.date.today()
    doc = workspace.draft_from_template(
        CAPTURE_TEMPLATE,
        chosen_title,
        systems=systems,
        today=day,
        variables={"ticket": ticket},
    )
    incidents_list = doc.list_field("incidents")
    if ticket not in incidents_list:
        doc.set("incidents", [*incidents_list, ticket])
    verdicts = dict(verdicts or {})
    if session is not None:
        for use in session.runbooks:
            verdicts.setdefault(use.doc_id, use.verdict)
        used = [u.doc_id for u in session.runbooks if _is_reference(u)]
        if used:
            related = doc.list_field("related")
            doc.set("related", related + [i for i in used if i not in related])
        steps = {
            use.doc_id: _runbook_steps(workspace, use.doc_id)
            for use in session.runbooks
            if use.ticked
        }
        doc.body = _fill_body(
            doc.body, workspace.config, ticket, incident, session, verdicts, tz, steps
        )
    elif incident is not None or title:
        doc.body = fill_section(
            doc.body, "Links", f"- Ticket: {ticket_link(workspace.config, ticket)}"
        )
    return CaptureDraft(doc, incident, session, list(session.runbooks) if session else [])


def _runbook_steps(workspace: Workspace, doc_id: str) -> list[Step]:
    """The runbook's steps as it reads now (for the commands of the steps ticked)."""
    try:
        return checklist_steps(workspace.load(doc_id).body)
    except (KbError, OSError):
        return []  # removed or unreadable since: the step texts recorded still say what was done


def _ticked_step(steps: list[Step], number: int, text: str) -> Step | None:
    """The step that was ticked: by its number while its text is the one recorded, else the
    step with that text (the runbook was edited since), else none."""
    if 0 < number <= len(steps) and steps[number - 1].text == text:
        return steps[number - 1]
    return next((step for step in steps if step.text == text), None)


def _is_reference(use: RunbookUse) -> bool:
    """A document consulted for the incident (not the capture document itself)."""
    return use.doc_type != CAPTURE_TEMPLATE


def _fill_body(
    body: str,
    config: KbConfig,
    ticket: str,
    incident: Incident | None,
    session: Session,
    verdicts: dict[str, str],
    tz: dt.tzinfo | None,
    steps: dict[str, list[Step]] | None = None,
) -> str:
    assert incident is not None
    steps = steps or {}
    start = _local(incident.started_at, tz)
    day = start.date()
    zone = start.strftime("%Z") or start.strftime("UTC%z")
    end_text = (
        f", resolved {_clock(incident.ended_at, tz, day)} ({format_duration(incident.duration())})"
        if incident.ended_at
        else " (still running when this was written)"
    )
    issue = [
        f"{ticket}: {incident.title or 'incident'} — started {start:%Y-%m-%d %H:%M} {zone}"
        f"{end_text}."
    ]
    if incident.summary:
        issue += ["", incident.summary]
    body = fill_section(body, "Issue", "\n".join(issue))
    if incident.systems:
        body = fill_section(body, "Environment", "Systems: " + ", ".join(incident.systems))

    resolution: list[tuple[dt.datetime, str, Step | None]] = []
    for use in session.runbooks:
        for number, (text, at) in sorted(use.ticked.items(), key=lambda kv: kv[1][1]):
            resolution.append(
                (
                    at,
                    f"{text} (step {number} of [[{use.doc_id}]], {_clock(at, tz, day)})",
                    _ticked_step(steps.get(use.doc_id, []), number, text),
                )
            )
    resolution.sort(key=lambda item: item[0])
    if resolution:
        items = []
        for n, (_, line, step) in enumerate(resolution, start=1):
            # The step's commands go under it verbatim, fenced inside the list item: never
            # joined into its line ("ping -c 5 a ping -c 5 b" would be wrong knowledge).
            indent = " " * max(4, len(f"{n}. "))  # Python-Markdown nests at 4
            blocks = (
                [fence(block.text, block.lang, indent) for block in step.code]
                if step is not None
                else []
            )
            items.append("\n\n".join([f"{n}. {line}", *blocks]))
        loose = any(step is not None and step.code for _, _, step in resolution)
        body = fill_section(
            body, "Resolution", ("\n\n" if loose else "\n").join(items), drop_placeholder_items=True
        )

    commands = [
        e.text[1:].strip() if e.text.startswith("$") else e.text.strip("`").strip()
        for e in session.notes
        if e.text.startswith(("$", "`"))
    ]
    if commands:
        body = fill_section(body, "Commands", fence("\n".join(commands)), drop_empty_fences=True)

    body = fill_section(
        body,
        "Timeline",
        f"Times are {zone}, starting {day.isoformat()}.\n\n"
        + "\n".join(_timeline_line(e, tz, day) for e in session.timeline),
    )

    follow_up = []
    for use in session.runbooks:
        verdict = verdicts.get(use.doc_id, "")
        if verdict == "needs-fix":
            follow_up.append(
                f"- [ ] Fix [[{use.doc_id}]] ({use.title}): it did not match "
                "what was needed during this incident"
            )
    for query in session.failed_searches:
        follow_up.append(f"- [ ] Nothing was found for “{query}”: write it down?")
    if follow_up:
        body = fill_section(body, "Follow-up", "\n".join(follow_up))

    links = [f"- Ticket: {ticket_link(config, ticket)}"]
    for use in session.runbooks:
        if not _is_reference(use):
            continue
        n = len(use.ticked)
        ticked = f", {n} step{'s' if n != 1 else ''} ticked" if n else ""
        verdict = {"right": ", was right", "needs-fix": ", needs a fix"}.get(
            verdicts.get(use.doc_id, ""), ""
        )
        links.append(f"- [[{use.doc_id}]] {use.title}{ticked}{verdict}")
    return fill_section(body, "Links", "\n".join(links))


def _timeline_line(entry: TimelineEntry, tz: dt.tzinfo | None, day: dt.date) -> str:
    when = _clock(entry.at, tz, day)
    if entry.kind == START:
        what = "Incident started" + (f": {entry.text}" if entry.text else "")
    elif entry.kind == END:
        what = "Resolved" + (f": {entry.text}" if entry.text else "")
    elif entry.kind == TICK:
        what = f"Done: {entry.text} (step {entry.step} of [[{entry.doc_id}]])"
    elif entry.kind == UNTICK:
        what = f"Undone: {entry.text} (step {entry.step} of [[{entry.doc_id}]])"
    elif entry.kind == NOTE:
        what = f"Note: {entry.text}"
    elif entry.kind == SEARCH:
        found = "nothing found" if entry.hits == 0 else f"{entry.hits} results"
        what = f"Searched “{entry.text}” ({found})"
    elif entry.kind == OPEN:
        what = f"Opened [[{entry.doc_id}]]"
    elif entry.kind == VERDICT:
        what = f"[[{entry.doc_id}]] " + ("was right" if entry.text == "right" else "needs a fix")
    else:
        what = entry.text
    return f"- **{when}** {what}"


def fill_section(
    body: str,
    heading: str,
    content: str,
    *,
    drop_placeholder_items: bool = False,
    drop_empty_fences: bool = False,
) -> str:
    """Put ``content`` in the ``## heading`` section, after the template's guidance comment
    (kept, so the writer still sees it). A section the template lacks is added at the end."""
    lines = body.split("\n")
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if re.match(rf"^##[ \t]+{re.escape(heading)}[ \t#]*$", line, re.I)
        ),
        None,
    )
    if start is None:
        return body.rstrip("\n") + f"\n\n## {heading}\n\n{content}\n"
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(r"^#{1,2}[ \t]", lines[i])), len(lines)
    )
    section = "\n".join(lines[start + 1 : end])
    comments = "\n\n".join(m.group(0) for m in _COMMENT_RE.finditer(section))
    rest = _COMMENT_RE.sub("", section)
    if drop_placeholder_items:
        rest = re.sub(r"^\s*(?:\d+\.|[-*])[ \t]*$", "", rest, flags=re.M)
    if drop_empty_fences:
        rest = re.sub(r"^```[^\n]*\n```[ \t]*$", "", rest, flags=re.M)
    kept = rest.strip()
    parts = [p for p in (comments, kept, content.strip()) if p]
    new_section = ["", *"\n\n".join(parts).split("\n"), ""]
    return "\n".join(lines[: start + 1] + new_section + lines[end:])


def save_capture(workspace: Workspace, draft: CaptureDraft) -> SaveResult:
    """Save and commit the capture document (``Capture: <title>``) and link the session to it."""
    result = workspace.save(draft.document, verb="Capture")
    if draft.incident is not None:
        incidents_for(workspace).mark_captured(draft.incident, draft.document.id)
    return result


# --------------------------------------------------------------------------- runbook verdicts


def runbook_was_right(workspace: Workspace, ref: str, ticket: str) -> SaveResult | None:
    """Add ``ticket`` to the runbook's ``incidents`` list and commit it (``Used in INC-…: <title>``).
    Returns None when the runbook already lists the incident."""
    ticket = normalise_ticket(ticket)
    doc = workspace.load(ref)
    listed = doc.incidents
    _record_verdict(workspace, doc, ticket, "right")
    if ticket in listed:
        return None
    doc.set("incidents", [*listed, ticket])
    return workspace.save(doc, message=f"Used in {ticket}: {doc.title}")


def runbook_needs_fix(workspace: Workspace, ref: str, ticket: str) -> tuple[Document, str]:
    """Record that the runbook needs a fix; returns it and the incident's notes to show beside
    it in the editor."""
    ticket = normalise_ticket(ticket)
    doc = workspace.load(ref)
    _record_verdict(workspace, doc, ticket, "needs-fix")
    return doc, notes_for_fix(incidents_for(workspace), ticket, doc.id)


def _record_verdict(workspace: Workspace, doc: Document, ticket: str, verdict: str) -> None:
    incidents = incidents_for(workspace)
    try:
        incident = incidents.get(ticket)
    except KbError:
        return  # an incident handled without incident mode: nothing local to record
    incidents.verdict(doc.id, doc.title, verdict, incident=incident)


def notes_for_fix(incidents: Incidents, ticket: str, doc_id: str) -> str:
    """The incident's notes and this runbook's ticked/unticked steps, as Markdown."""
    try:
        session = incidents.session(incidents.get(ticket))
    except KbError:
        return f"No session of {ticket} was recorded on this machine."
    day = session.incident.started_at.astimezone().date()
    lines = [f"### {ticket}: {session.incident.title or 'incident'}", ""]
    relevant = [
        e
        for e in session.timeline
        if e.kind == NOTE or (e.doc_id == doc_id and e.kind in (TICK, UNTICK))
    ]
    lines += [_timeline_line(e, None, day) for e in relevant] or ["(no notes were taken)"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- content gaps


def suggest_template(query: str, incident_running: bool = False) -> str:
    """The template a search that found nothing most likely asks for.

    An alert name (``PaymentsApiHigh5xxRate``) asks for a runbook; an error message or code for
    a troubleshooting guide; "how to …" or a task verb for an SOP. During an incident, a runbook.
    """
    text = query.strip()
    if _ALERT_NAME_RE.match(text.replace(" ", "")) and " " not in text:
        return "runbook"
    if _HOW_TO_RE.match(text):
        return "sop"
    if _ERROR_CODE_RE.search(text):
        return "troubleshooting"
    return "runbook" if incident_running else "troubleshooting"


def draft_for_gap(
    workspace: Workspace,
    query: str,
    *,
    template: str | None = None,
    title: str | None = None,
    today: dt.date | None = None,
) -> Document:
    """A new draft for a search that found nothing: the right template, the query as its title
    (and as a tag line the next search will hit), the running incident's systems and ticket."""
    query = " ".join(query.split())
    if not query:
        raise KbError(
            '--gap needs the words of the search that found nothing, e.g. --gap "vpn drops every hour"'
        )
    incident = incidents_for(workspace).active()
    chosen = template or suggest_template(query, incident_running=incident is not None)
    doc = workspace.draft_from_template(
        chosen,
        title or _title_from_query(query),
        systems=list(incident.systems) if incident else None,
        today=today,
    )
    if incident is not None:
        doc.set("incidents", [incident.ticket])
    note = (
        f"<!-- Written because a search for “{query}” found nothing"
        + (f" during {incident.ticket}" if incident else "")
        + ". Keep those words in the "
        "text so the next search finds this. -->"
    )
    lines = doc.body.split("\n")
    heading = next((i for i, line in enumerate(lines) if line.startswith("# ")), -1)
    lines[heading + 1 : heading + 1] = ["", note]
    doc.body = "\n".join(lines)
    return doc


def _title_from_query(query: str) -> str:
    text = query.strip().strip("\"'")
    return text[:1].upper() + text[1:] if text and not _ALERT_NAME_RE.match(text) else text


def create_for_gap(workspace: Workspace, query: str, **kwargs: object) -> SaveResult:
    """:func:`draft_for_gap`, saved and committed (``Create: <title>``) in one step."""
    doc = draft_for_gap(workspace, query, **kwargs)  # type: ignore[arg-type]
    return workspace.save(doc, verb="Create")
