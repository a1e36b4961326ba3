"""Commands of the knowledge lifecycle: capture, reviews, retire, feedback, report (incident
mode is :mod:`kbapp.cli.incident`)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kbapp.cli.common import Context, Progress, counted, print_json, print_table
from kbapp.errors import KbError

if TYPE_CHECKING:
    from kbapp.config import KbConfig


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _add_today(parser: argparse.ArgumentParser) -> None:
    # For reproducible output (tests, a report "as of" the meeting day).
    parser.add_argument("--today", type=_date, default=None, help=argparse.SUPPRESS)


def register(sub: argparse._SubParsersAction) -> None:
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
    p = sub.add_parser(
        "report",
        aliases=["health"],  # the window's name for it: Knowledge base health, Ctrl+Shift+H
        help="the health report for the joint review meeting",
    )
    p.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained HTML page")
    p.add_argument("--csv", type=Path, metavar="DIR", help="write every table as CSV into DIR")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--period", default="90d", help="'this period' (default 90d)")
    _add_today(p)
    p.set_defaults(func=cmd_report)


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
    from kbapp.lifecycle.review import REVIEW_COLUMNS, parse_within, review_queue

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
    rows = workspace.catalog.summaries(REVIEW_COLUMNS)
    items = review_queue(
        rows,
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
    if not items:
        ctx.info(_nothing_due(rows, workspace.config, args, owner))
        return 0

    print_table(
        [
            (
                i.doc_id,
                i.info.when(),
                i.info.due.isoformat() if i.info.due else "-",
                i.owner_org or "-",
                ", ".join(i.owners) or "-",
                i.title,
            )
            for i in items
        ],
        ["ID", "STATE", "DUE", "ORG", "OWNERS", "TITLE"],
    )
    ctx.info(f"{counted(len(items), 'document')} to review")
    return 0


def cmd_review_done(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.lifecycle.review_actions import mark_reviewed

    result = mark_reviewed(ctx.workspace, args.ref, note=args.note, today=args.today)
    print(f"reviewed: {result.path}" + (f" ({result.commit[:8]})" if result.commit else ""))
    return 0


def _nothing_due(
    rows: list[Any], config: KbConfig, args: argparse.Namespace, owner: str | None
) -> str:
    """After an import the first reviews start weeks later: say when, not '0 documents'."""
    from kbapp.lifecycle.review import next_review, nothing_due

    within = args.within
    if within.endswith("d") and within[:-1].isdigit():
        within = counted(int(within[:-1]), "day")
    upcoming = next_review(rows, config, today=args.today, org=args.org, owner=owner)
    return nothing_due(within, upcoming)


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
    print(f"Last reviewed {changes.reviewed_words()}: {rev.subject}")
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
        link = "links" if len(linked) == 1 else "link"
        print(
            f"warning: {counted(len(linked), 'document')} {link} to it:\n{names}", file=sys.stderr
        )
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

    progress = Progress("Checking documents", enabled=None if not args.quiet else False)
    report = build_report(
        ctx.workspace,
        today=args.today,
        period_days=parse_within(args.period),
        progress=progress,
    )
    progress.finish()
    if args.html:
        print(write_html(report, args.html))
    if args.csv:
        for path in write_csv(report, args.csv):
            print(path)
    if args.json:
        print_json(report.to_dict())
    if not (args.html or args.csv or args.json):
        gaps = len(report.content_gaps)
        print(
            f"{report.kb_name}, as of {report.today}: {counted(report.documents, 'document')}, "
            f"{counted(len(report.overdue), 'review')} overdue, {len(report.due_soon)} due soon, "
            f"{len(report.never_reviewed)} never reviewed, {len(report.without_owners)} "
            f"without owners, {counted(report.lint_errors, 'lint error')}, "
            f"{counted(len(report.broken_links), 'broken link')}, "
            f"{counted(len(report.captured), 'incident')} captured, "
            f"{gaps} {'search' if gaps == 1 else 'searches'} that found nothing."
        )
        ctx.info("Write it out with --html FILE and/or --csv DIR.")
    return 0
