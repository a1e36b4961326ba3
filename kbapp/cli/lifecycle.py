"""Commands of the knowledge lifecycle: incident mode, capture, reviews, retire, feedback, report."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from kbapp.cli.common import Context, print_json, print_table
from kbapp.errors import KbError


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _add_today(parser: argparse.ArgumentParser) -> None:
    # For reproducible output (tests, a report "as of" the meeting day).
    parser.add_argument("--today", type=_date, default=None, help=argparse.SUPPRESS)


def register(sub: argparse._SubParsersAction) -> None:
    # ---------------------------------------------------------------- incident
    p = sub.add_parser("incident", help="incident mode: a timed session of steps, notes, searches")
    inc = p.add_subparsers(dest="incident_command", metavar="ACTION", required=True)
    q = inc.add_parser("start", help="start an incident (ticket id, title, systems)")
    q.add_argument("ticket", help="the incident's ticket, like INC-20417")
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

    # ---------------------------------------------------------------- capture
    p = sub.add_parser("capture", help="write a post-incident document (or a missing one)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--incident", metavar="INC-…", help="the incident's ticket")
    group.add_argument(
        "--gap", metavar="QUERY", help="a search that found nothing: create a draft for it"
    )
    p.add_argument(
        "--from-session",
        action="store_true",
        help="pre-fill from the incident session recorded on this machine",
    )
    p.add_argument("--title", help="title (default: the incident's)")
    p.add_argument("--type", dest="template", help="template for --gap (default: guessed)")
    p.add_argument(
        "--right",
        action="append",
        default=[],
        metavar="ID",
        help="a runbook used that was right: adds the incident to its list (repeat)",
    )
    p.add_argument(
        "--needs-fix",
        action="append",
        default=[],
        metavar="ID",
        help="a runbook used that needs a fix: listed in Follow-up (repeat)",
    )
    p.add_argument(
        "--print",
        action="store_true",
        dest="dry_run",
        help="print the document instead of saving it",
    )
    _add_today(p)
    p.set_defaults(func=cmd_capture)

    # ---------------------------------------------------------------- review
    p = sub.add_parser("review", help="periodic reviews: what is due, mark reviewed, send back")
    rev = p.add_subparsers(dest="review_command", metavar="ACTION", required=True)
    q = rev.add_parser("due", help="documents due or overdue for review, most urgent first")
    q.add_argument("--org", help="owning organisation")
    q.add_argument("--owner", help="an owner's e-mail, or 'me'")
    q.add_argument(
        "--within",
        default="14d",
        metavar="PERIOD",
        help="due within this period: 30d, 6w, 3m (default 14d)",
    )
    q.add_argument("--sort", choices=["urgency", "due", "title", "org", "owner"], default="urgency")
    q.add_argument("--json", action="store_true")
    _add_today(q)
    q.set_defaults(func=cmd_review_due)
    q = rev.add_parser("done", help="mark a document reviewed (commits 'Review: <title>')")
    q.add_argument("ref")
    q.add_argument("--note", default="", help="what was checked (goes in the commit)")
    _add_today(q)
    q.set_defaults(func=cmd_review_done)
    q = rev.add_parser("needs-changes", help="move a document to in-review with a note")
    q.add_argument("ref")
    q.add_argument("--note", required=True, help="what needs to change")
    q.set_defaults(func=cmd_review_needs_changes)
    q = rev.add_parser("diff", help="what changed since the document was last reviewed")
    q.add_argument("ref")
    q.set_defaults(func=cmd_review_diff)

    p = sub.add_parser("retire", help="retire a document (hidden from default search)")
    p.add_argument("ref")
    p.add_argument("--reason", required=True, help="why (shown at the top of the document)")
    p.add_argument("--replaced-by", metavar="ID", help="the document to read instead")
    _add_today(p)
    p.set_defaults(func=cmd_retire)

    p = sub.add_parser("feedback", help="say whether a document helped (kept on this machine)")
    p.add_argument("ref")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--helpful", action="store_true", dest="helpful", default=None)
    group.add_argument("--not-helpful", action="store_false", dest="helpful")
    p.add_argument("--comment", default="")
    p.set_defaults(func=cmd_feedback)

    # ---------------------------------------------------------------- report
    p = sub.add_parser("report", help="the health report for the joint review meeting")
    p.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained HTML page")
    p.add_argument("--csv", type=Path, metavar="DIR", help="write every table as CSV into DIR")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--period", default="90d", help="'this period' (default 90d)")
    _add_today(p)
    p.set_defaults(func=cmd_report)


# --------------------------------------------------------------------------- incident


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
    from kbapp.errors import KbError
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


# --------------------------------------------------------------------------- capture


def cmd_capture(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.documents import model as documents
    from kbapp.lifecycle import capture

    workspace = ctx.workspace
    if args.gap is not None:
        doc = capture.draft_for_gap(
            workspace, args.gap, template=args.template, title=args.title, today=args.today
        )
        if args.dry_run:
            sys.stdout.buffer.write(documents.serialise(doc))
            return 0
        result = workspace.save(doc, verb="Create")
        print(workspace.root / result.path)
        ctx.info(f"Created a {doc.type} draft for {args.gap!r}.")
        return 0
    verdicts = {workspace.entry(ref).doc_id: "right" for ref in args.right}
    verdicts.update({workspace.entry(ref).doc_id: "needs-fix" for ref in args.needs_fix})
    draft = capture.draft_capture(
        workspace,
        args.incident,
        from_session=args.from_session,
        title=args.title,
        verdicts=verdicts,
        today=args.today,
    )
    if args.dry_run:
        sys.stdout.buffer.write(documents.serialise(draft.document))
        return 0
    result = capture.save_capture(workspace, draft)
    print(workspace.root / result.path)
    ticket = draft.document.incidents[-1]
    for ref in args.right:
        capture.runbook_was_right(workspace, ref, ticket)
    for ref in args.needs_fix:
        doc, _notes = capture.runbook_needs_fix(workspace, ref, ticket)
        ctx.info(f"{doc.title} needs a fix: {workspace.root / doc.path}")
    undecided = [
        u for u in draft.runbooks if u.doc_id not in verdicts and u.doc_type != "post-incident"
    ]
    for use in undecided:
        ctx.info(
            f"Used {use.doc_id} {use.title}: was it right? --right {use.doc_id} "
            f"or --needs-fix {use.doc_id}"
        )
    return 0


# --------------------------------------------------------------------------- reviews


def cmd_review_due(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.review import parse_within, review_queue

    workspace = ctx.workspace
    workspace.refresh()
    owner = args.owner
    if owner == "me":
        owner = workspace.identity.email
        if not owner:
            raise KbError(
                "kbapp does not know your e-mail; set it with "
                "'kbapp settings user_email you@example.com'"
            )
    if args.org and workspace.config.organisations and args.org not in workspace.config.org_names:
        raise KbError(
            f"{args.org!r} is not an organisation of this knowledge base "
            f"({', '.join(workspace.config.org_names)})"
        )
    items = review_queue(
        workspace.catalog.all(),
        workspace.config,
        today=args.today,
        org=args.org,
        owner=owner,
        within_days=parse_within(args.within),
    )
    if args.sort != "urgency":
        key = {
            "due": lambda i: (i.info.due or dt.date.min, i.title.casefold()),
            "title": lambda i: i.title.casefold(),
            "org": lambda i: (i.owner_org, i.title.casefold()),
            "owner": lambda i: (",".join(i.owners), i.title.casefold()),
        }[args.sort]
        items.sort(key=key)
    if args.json:
        print_json([item.to_dict() for item in items])
        return 0

    def when(item: object) -> str:
        info = item.info  # type: ignore[attr-defined]
        if info.days_left is None:
            return "never reviewed"
        if info.days_left < 0:
            return f"{-info.days_left} days overdue"
        return "due today" if info.days_left == 0 else f"due in {info.days_left} days"

    print_table(
        [
            (
                i.doc_id,
                when(i),
                i.info.due.isoformat() if i.info.due else "-",
                i.owner_org or "-",
                ", ".join(i.owners) or "-",
                i.title,
            )
            for i in items
        ],
        ["ID", "STATE", "DUE", "ORG", "OWNERS", "TITLE"],
    )
    ctx.info(f"{len(items)} documents to review")
    return 0


def cmd_review_done(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.review_actions import mark_reviewed

    result = mark_reviewed(ctx.workspace, args.ref, note=args.note, today=args.today)
    print(f"reviewed: {result.path}" + (f" ({result.commit[:8]})" if result.commit else ""))
    return 0


def cmd_review_needs_changes(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.review_actions import needs_changes

    result = needs_changes(ctx.workspace, args.ref, note=args.note)
    print(f"in review: {result.path}" + (f" ({result.commit[:8]})" if result.commit else ""))
    return 0


def cmd_review_diff(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.review_actions import changes_since_review

    changes = changes_since_review(ctx.workspace, args.ref)
    if changes.reviewed_in is None:
        print(f"{changes.path} was never reviewed; all of it needs a look.")
        return 0
    rev = changes.reviewed_in
    print(f"Last reviewed in {rev.short} on {rev.date:%Y-%m-%d} by {rev.author}: {rev.subject}")
    for commit in changes.commits:
        print(f"  since: {commit.short} {commit.date:%Y-%m-%d} {commit.author}: {commit.subject}")
    if not changes.changed:
        print("Nothing changed since.")
    else:
        sys.stdout.write(changes.diff)
    return 0


def cmd_retire(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.review_actions import linking_documents, retire

    workspace = ctx.workspace
    linked = linking_documents(workspace, args.ref)
    if linked:
        names = "\n".join(f"  {e.doc_id} {e.title}" for e in linked)
        print(f"warning: {len(linked)} documents link to it:\n{names}", file=sys.stderr)
        if not ctx.interaction.confirm("Retire it anyway?", default=True):
            print("Not retired.", file=sys.stderr)
            return 1
    result = retire(
        workspace, args.ref, reason=args.reason, replaced_by=args.replaced_by, today=args.today
    )
    print(f"retired: {result.path}")
    return 0


def cmd_feedback(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.activity import activity_for
    from kbapp.lifecycle.incident import incidents_for

    workspace = ctx.workspace
    doc = workspace.load(args.ref)
    active = incidents_for(workspace).active()
    activity_for(workspace).record_feedback(
        doc.id,
        args.helpful,
        title=doc.title,
        comment=args.comment,
        by=workspace.identity.email,
        incident_id=active.id if active else None,
    )
    print(f"{'helpful' if args.helpful else 'not helpful'}: {doc.title}")
    return 0


# --------------------------------------------------------------------------- report


def cmd_report(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.report import build_report, write_csv, write_html
    from kbapp.lifecycle.review import parse_within

    report = build_report(ctx.workspace, today=args.today, period_days=parse_within(args.period))
    if args.html:
        print(write_html(report, args.html))
    if args.csv:
        for path in write_csv(report, args.csv):
            print(path)
    if args.json:
        print_json(report.to_dict())
    if not (args.html or args.csv or args.json):
        print(
            f"{report.kb_name}, as of {report.today}: {report.documents} documents, "
            f"{len(report.overdue)} reviews overdue, {len(report.due_soon)} due soon, "
            f"{len(report.never_reviewed)} never reviewed, {len(report.without_owners)} "
            f"without owners, {report.lint_errors} lint errors, {len(report.broken_links)} "
            f"broken links, {len(report.captured)} incidents captured, "
            f"{len(report.content_gaps)} searches that found nothing."
        )
        ctx.info("Write it out with --html FILE and/or --csv DIR.")
    return 0
