"""Commands of incident mode: a timed session of a runbook's steps, notes and searches
(``kbapp incident start|note|steps|tick|end|status|list|dismiss``); what it recorded becomes a
document with ``kbapp capture`` (:mod:`kbapp.cli.lifecycle`)."""

from __future__ import annotations

import argparse
import datetime as dt

from kbapp.cli.common import Context, print_json, print_table
from kbapp.errors import KbError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("incident", help="incident mode: a timed session of steps, notes, searches")
    inc = p.add_subparsers(dest="incident_command", metavar="ACTION", required=True)
    q = inc.add_parser("start", help="start an incident (ticket id, title, systems)")
    q.add_argument(
        "ticket",
        nargs="?",
        default="",
        help="the incident's ticket, like INC-20417 (none yet: a provisional NO-TICKET-... name)",
    )
    q.add_argument("--title", default="", help="what is happening, in a few words")
    q.add_argument("--system", action="append", default=[], help="a system affected (repeat)")
    q.set_defaults(func=cmd_incident_start)
    q = inc.add_parser("note", help="add a timestamped note ('$ cmd' notes become Commands)")
    q.add_argument("text", nargs="+")
    q.set_defaults(func=cmd_incident_note)
    q = inc.add_parser("steps", help="show a runbook's steps as a checklist (records it as used)")
    q.add_argument("ref", help="runbook id, path or title")
    q.set_defaults(func=cmd_incident_steps)
    q = inc.add_parser("tick", help="tick a runbook step (numbers from 'incident steps')")
    q.add_argument("ref", help="runbook id, path or title")
    q.add_argument("steps", nargs="+", type=int, metavar="STEP")
    q.add_argument("--undo", action="store_true", help="untick instead")
    q.set_defaults(func=cmd_incident_tick)
    q = inc.add_parser("end", help="end the incident (then capture it)")
    q.add_argument("--summary", default="", help="how it was resolved, in one line")
    q.set_defaults(func=cmd_incident_end)
    q = inc.add_parser("status", help="the running (or a given) incident: timer, steps, notes")
    q.add_argument("ticket", nargs="?")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_incident_status)
    q = inc.add_parser("list", help="incidents recorded on this machine")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_incident_list)
    q = inc.add_parser("dismiss", help="stop offering to capture an ended incident")
    q.add_argument("ticket", nargs="?", help="default: the one waiting to be captured")
    q.set_defaults(func=cmd_incident_dismiss)


def _local_time(moment: dt.datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def cmd_incident_start(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.incident import incidents_for

    incident = incidents_for(ctx.workspace).start(args.ticket, args.title, args.system)
    print(
        f"{incident.ticket} started {_local_time(incident.started_at)}"
        + (f": {incident.title}" if incident.title else "")
    )
    ctx.info("Record with 'kbapp incident steps|tick|note'; finish with 'kbapp incident end'.")
    return 0


def cmd_incident_note(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.incident import incidents_for

    event = incidents_for(ctx.workspace).note(" ".join(args.text))
    print(f"{event.at.astimezone():%H:%M} note added")
    return 0


def cmd_incident_steps(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.checklist import checklist_steps
    from kbapp.lifecycle.incident import incidents_for

    workspace = ctx.workspace
    incidents = incidents_for(workspace)
    doc = workspace.load(args.ref)
    incidents.record_open(doc)
    active = incidents.active()
    ticked = incidents.session(active).ticked_steps(doc.id) if active else set()
    steps = checklist_steps(doc.body)
    print(f"{doc.title} ({doc.id})")
    if not steps:
        print("  no numbered steps or task items")
    section = None
    for step in steps:
        if step.section != section:
            section = step.section
            print(f"  {section}" if section else "")
        box = "[x]" if step.number in ticked else "[ ]"
        indent = "  " * step.depth
        print(f"    {box} {step.number:>2}. {indent}{step.text}")
        for line in step.commands.split("\n") if step.code else []:
            print(f"             {indent}{line}")  # verbatim, to copy from the terminal
    return 0


def cmd_incident_tick(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.incident import incidents_for

    incidents = incidents_for(ctx.workspace)
    doc = ctx.workspace.load(args.ref)
    for number in args.steps:
        event = incidents.tick(doc, number, done=not args.undo)
        verb = "unticked" if args.undo else "ticked"
        print(f"{event.at.astimezone():%H:%M} {verb} {number}. {event.step_text}")
    return 0


def cmd_incident_end(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.incident import format_duration, incidents_for

    incident = incidents_for(ctx.workspace).end(args.summary)
    print(f"{incident.ticket} ended after {format_duration(incident.duration())}")
    ctx.info(
        f"Capture it while it is fresh: kbapp capture --incident {incident.ticket} --from-session"
    )
    return 0


def cmd_incident_status(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.incident import format_duration, incidents_for

    incidents = incidents_for(ctx.workspace)
    if args.ticket is None and incidents.active() is None:
        if args.json:
            print_json(None)
        else:
            print("No incident is running.")
        return 0
    session = incidents.session(incidents.get(args.ticket))
    incident = session.incident
    if args.json:
        print_json(
            {
                "ticket": incident.ticket,
                "title": incident.title,
                "systems": incident.systems,
                "started": incident.started_at,
                "ended": incident.ended_at,
                "running": incident.active,
                "duration_s": int(incident.duration().total_seconds()),
                "captured_doc": incident.captured_doc or None,
                "runbooks": [
                    {
                        "id": u.doc_id,
                        "title": u.title,
                        "opens": u.opens,
                        "ticked": sorted(u.ticked),
                        "verdict": u.verdict or None,
                    }
                    for u in session.runbooks
                ],
                "timeline": [
                    {
                        "at": e.at,
                        "kind": e.kind,
                        "text": e.text,
                        "doc_id": e.doc_id or None,
                        "step": e.step,
                        "hits": e.hits,
                    }
                    for e in session.timeline
                ],
            }
        )
        return 0
    state = "running" if incident.active else "ended"
    print(f"{incident.ticket} {incident.title}".rstrip())
    print(
        f"  {state}, {format_duration(incident.duration())} since "
        f"{_local_time(incident.started_at)}"
        + (f"; systems: {', '.join(incident.systems)}" if incident.systems else "")
    )
    if incident.captured_doc:
        print(f"  captured as {incident.captured_doc}")
    for use in session.runbooks:
        print(f"  used {use.doc_id} {use.title}: {len(use.ticked)} steps ticked")
    for entry in session.timeline:
        text = entry.text if entry.kind != "search" else f"{entry.text!r} ({entry.hits} results)"
        print(f"  {entry.at.astimezone():%H:%M} {entry.kind:<7} {text}")
    return 0


def cmd_incident_dismiss(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.incident import incidents_for

    incidents = incidents_for(ctx.workspace)
    incident = incidents.get(args.ticket) if args.ticket else incidents.waiting_capture()
    if incident is None:
        raise KbError("no ended incident waits to be captured")
    incidents.dismiss_capture(incident)
    print(f"{incident.ticket} will not be offered for capture again")
    ctx.info(f"It can still be captured: kbapp capture --incident {incident.ticket} --from-session")
    return 0


def cmd_incident_list(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.incident import format_duration, incidents_for

    rows = incidents_for(ctx.workspace).all()
    if args.json:
        print_json(
            [
                {
                    "ticket": i.ticket,
                    "title": i.title,
                    "started": i.started_at,
                    "ended": i.ended_at,
                    "captured_doc": i.captured_doc or None,
                }
                for i in rows
            ]
        )
        return 0
    print_table(
        [
            (
                i.ticket,
                _local_time(i.started_at),
                format_duration(i.duration()),
                i.captured_doc or ("running" if i.active else "not captured"),
                i.title,
            )
            for i in rows
        ],
        ["TICKET", "STARTED", "LASTED", "CAPTURED", "TITLE"],
    )
    return 0
