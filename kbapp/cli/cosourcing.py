"""Commands of the co-sourcing model: matrix, handover, onboarding."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from kbapp.cli.common import Context, print_json, print_table
from kbapp.errors import KbError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "matrix", help="responsibility matrix: systems × types, who is responsible, and the gaps"
    )
    p.add_argument("--html", metavar="FILE", help="write the matrix as a self-contained HTML page")
    p.add_argument("--csv", metavar="FILE", help="write the matrix as CSV")
    p.add_argument("--json", action="store_true")
    p.add_argument("--gaps", action="store_true", help="print only the gaps; exit 1 when there are")
    p.set_defaults(func=cmd_matrix)

    p = sub.add_parser(
        "handover",
        help="hand a procedure over to the other organisation, step "
        "by step (recorded in the document through commits)",
    )
    steps = p.add_subparsers(dest="handover_command", metavar="ACTION", required=True)
    q = steps.add_parser("start", help="start handing a document's procedure over")
    q.add_argument("ref", help="the document: kb-id, path or title")
    q.add_argument("--to", required=True, help="the organisation taking it over")
    q.add_argument(
        "--from",
        dest="from_org",
        help="the organisation handing it over (default: who is responsible now)",
    )
    q.add_argument("--restart", action="store_true", help="begin again when one is in progress")
    q.set_defaults(func=cmd_handover_start)
    q = steps.add_parser(
        "step",
        help="record a step: knowledge-transfer, reviewed, "
        "supervised-run (needs --ticket), signed-off",
    )
    q.add_argument("ref")
    q.add_argument("step")
    q.add_argument("--date", help="when it was done (YYYY-MM-DD; default today)")
    q.add_argument("--ticket", default="", help="the ticket it was done under (INC-…, CHG-…)")
    q.add_argument("--note", default="")
    q.set_defaults(func=cmd_handover_step)
    q = steps.add_parser("status", help="the steps of one handover, or every handover")
    q.add_argument("ref", nargs="?")
    q.add_argument("--open", action="store_true", help="only handovers not signed off yet")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_handover_status)

    p = sub.add_parser(
        "onboarding",
        help="an onboarding path's reading list and what you have "
        "read (tracked on this machine only)",
    )
    p.add_argument("ref", help="the onboarding document")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--read", metavar="ITEM", help="mark an item read (number or kb-id)")
    group.add_argument("--unread", metavar="ITEM", help="mark an item unread")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_onboarding)


# --------------------------------------------------------------------------- matrix


def cmd_matrix(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.cosourcing import matrix as matrix_module
    from kbapp.fsutil import atomic_write

    workspace = ctx.workspace
    matrix = matrix_module.matrix_for(workspace)
    if args.html:
        path = Path(args.html)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, matrix_module.render_html(matrix, workspace.config.name).encode())
        ctx.info(f"Wrote {path}")
    if args.csv:
        path = Path(args.csv)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, matrix_module.csv_text(matrix).encode())
        ctx.info(f"Wrote {path}")
    if args.json:
        print_json(matrix.to_dict())
        return 0
    if not args.gaps and not (args.html or args.csv):
        rows = (
            [
                (
                    system,
                    *[matrix_module.cell_text(matrix.cell(system, t)) for t in matrix.types[:-1]],
                    matrix_module.cell_text(matrix.cell(system, matrix.types[-1])),
                )
                for system in matrix.systems
            ]
            if matrix.types
            else []
        )
        print_table(rows, ["SYSTEM", *[t.upper() for t in matrix.types]])
        print()
    if args.gaps or not (args.html or args.csv):
        for gap in matrix.gaps:
            print(f"{gap.kind}: {gap.message}")
        systems, gaps = len(matrix.systems), len(matrix.gaps)
        ctx.info(
            f"{systems} system{'s' if systems != 1 else ''}, {gaps} gap{'s' if gaps != 1 else ''}"
        )
    return 1 if args.gaps and matrix.gaps else 0


# --------------------------------------------------------------------------- handover


def cmd_handover_start(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.cosourcing import handover

    result = handover.start(
        ctx.workspace, args.ref, args.to, from_org=args.from_org, restart=args.restart
    )
    ctx.info(
        f"Handover started ({result.commit[:10] if result.commit else 'no commit'}); "
        f"next: kbapp handover step {args.ref} knowledge-transfer"
    )
    print(result.path)
    return 0


def cmd_handover_step(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.cosourcing import handover

    date = None
    if args.date:
        try:
            date = dt.date.fromisoformat(args.date)
        except ValueError:
            raise KbError(f"{args.date!r} is not a date; write it as YYYY-MM-DD") from None
    handover.record_step(
        ctx.workspace, args.ref, args.step, date=date, ticket=args.ticket, note=args.note
    )
    current = handover.of_document(ctx.workspace.load(args.ref), ctx.workspace.config)
    print(current.state if current else "")
    return 0


def cmd_handover_status(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.cosourcing import handover

    workspace = ctx.workspace
    if args.ref:
        doc = workspace.load(args.ref)
        current = handover.of_document(doc, workspace.config)
        if current is None:
            raise KbError(f"{doc.title} has no handover")
        if args.json:
            print_json(current.to_dict())
            return 0
        print(
            f"{current.title}: {current.from_org} → {current.to_org}, started "
            f"{current.started or '?'} ({current.state})"
        )
        for step in handover.STEPS:
            records = current.done(step.name)
            if not records:
                print(f"  [ ] {step.label}")
            for record in records:
                extra = ", ".join(x for x in (record.by, record.ticket, record.note) if x)
                print(
                    f"  [x] {step.label}: {record.date or '?'}" + (f" ({extra})" if extra else "")
                )
        return 0
    found = handover.handovers(workspace, include_complete=not args.open)
    if args.json:
        print_json([h.to_dict() for h in found])
        return 0
    print_table(handover.describe(found), ["ID", "HANDOVER", "DONE", "NEXT", "TITLE"])
    ctx.info(f"{len(found)} handovers, {sum(1 for h in found if not h.complete)} in progress")
    return 0


# --------------------------------------------------------------------------- onboarding


def cmd_onboarding(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.cosourcing import onboarding

    workspace = ctx.workspace
    if args.read or args.unread:
        state = onboarding.mark(workspace, args.ref, args.read or args.unread, read=bool(args.read))
    else:
        state = onboarding.progress(workspace, args.ref)
    if args.json:
        print_json(state.to_dict())
        return 0
    print(f"{state.title}: {state.done} of {len(state.items)} read")
    for item in state.items:
        mark = "x" if state.is_read(item) else " "
        where = f"  {item.doc_id}" if item.doc_id else ""
        print(f"  [{mark}] {item.number}. {item.text}{where}")
    return 0
