"""Commands for trust between the organisations: hooks, the policy check, the server's
pre-receive hook, the audit trail, and moving a document to another knowledge base (an
internal-only one, or back)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kbapp.cli.common import Context, print_json, print_table
from kbapp.errors import KbError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hooks", help="install git hooks that run kbapp's commit policy")
    hooks_sub = p.add_subparsers(dest="hooks_command", metavar="ACTION", required=True)
    q = hooks_sub.add_parser(
        "install", help="install the pre-commit hook in this clone (for committing with plain git)"
    )
    q.add_argument("--force", action="store_true", help="replace a pre-commit hook not from kbapp")
    q.set_defaults(func=cmd_hooks_install)

    p = sub.add_parser(
        "policy-check",
        help="check files against the commit policy (secrets, "
        "sensitivity, conflict markers); exit status 1 when something is wrong",
    )
    p.add_argument("paths", nargs="*", help="files to check (default: what is staged)")
    p.add_argument("--staged", action="store_true", help="check the staged files (the default)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_policy_check)

    p = sub.add_parser("server-hook", help="the shared remote's policy (pre-receive hook)")
    server_sub = p.add_subparsers(dest="server_command", metavar="ACTION", required=True)
    q = server_sub.add_parser(
        "pre-receive",
        help="run as the bare repository's pre-receive "
        "hook: reads the pushed refs on stdin, exit 1 rejects the push",
    )
    q.set_defaults(func=cmd_pre_receive)
    q = server_sub.add_parser("install", help="install the pre-receive hook in a bare repository")
    q.add_argument("bare", help="path of the bare repository both organisations push to")
    q.add_argument("--force", action="store_true", help="replace a pre-receive hook not from kbapp")
    q.add_argument(
        "--pushers",
        metavar="FILE",
        help='TOML file mapping the server\'s user names to e-mails ([pushers] alice = "a@x"), '
        "for GitLab, gitolite or http-backend, which tell hooks a user name",
    )
    q.set_defaults(func=cmd_server_install)

    p = sub.add_parser("audit", help="every change with author, organisation, documents and kind")
    p.add_argument(
        "--since", metavar="DATE", help="only changes since DATE (2026-01-31, '2 weeks ago')"
    )
    p.add_argument("--org", help="only changes by this organisation")
    p.add_argument("--limit", type=int, help="at most this many changes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser(
        "move-to-kb",
        help="move a document to another knowledge base (e.g. an internal one)",
        description="Commits the document into the other knowledge base (same path and id "
        "unless taken there), then removes it from this one. An 'internal' document "
        "never goes into a shared knowledge base.",
    )
    p.add_argument("ref", help="the document: kb-3f9c2a1e, a path, or an exact title")
    p.add_argument("--to", required=True, metavar="PATH", help="the other knowledge base's folder")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_move_to_kb)


def cmd_hooks_install(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.sync.hooks import install_pre_commit

    hook = install_pre_commit(ctx.workspace.git, force=args.force)
    print(hook)
    ctx.info("Commits made with plain git in this clone now pass kbapp's commit policy first.")
    return 0


def cmd_policy_check(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.config import load_config
    from kbapp.sync.git import Git, find_root
    from kbapp.sync.hooks import check_files, check_staged, print_violations

    root = find_root(Path(args.kb or ".").expanduser().resolve())
    git = Git(root)
    if args.paths:
        relative = []
        for path in args.paths:
            full = Path(path).expanduser().resolve()
            try:
                relative.append(full.relative_to(root).as_posix())
            except ValueError:
                raise KbError(f"{path} is not inside {root}") from None
        violations = check_files(root, relative, load_config(root))
    else:
        violations = check_staged(git)
    if args.json:
        print_json(
            [
                {"path": v.path, "line": v.line, "rule": v.rule, "message": v.message}
                for v in violations
            ]
        )
    else:
        print_violations(violations)
    return 1 if violations else 0


def cmd_pre_receive(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.sync.hooks import run_pre_receive

    return run_pre_receive(Path.cwd(), sys.stdin.read())


def cmd_server_install(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.sync.hooks import install_pre_receive, pusher_warning

    pushers = Path(args.pushers) if args.pushers else None
    hook = install_pre_receive(Path(args.bare), force=args.force, pushers=pushers)
    print(hook)
    ctx.info("Pushes to this repository are now checked by kbapp's server policy.")
    warning = pusher_warning(Path(args.bare))
    if warning:
        ctx.warn(warning)
    return 0


def cmd_audit(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.trust.audit import audit

    entries = audit(ctx.workspace, since=args.since, org=args.org, limit=args.limit)
    if args.json:
        print_json([e.to_dict() for e in entries])
        return 0
    rows = []
    for entry in entries:
        docs = entry.documents
        shown = ", ".join(f"{d.path} ({d.change})" for d in docs[:3])
        if len(docs) > 3:
            shown += f" and {len(docs) - 3} more"
        org = entry.org or "?"
        if entry.org_source == "mismatch":
            org += " (!)"
        rows.append(
            (
                entry.date.strftime("%Y-%m-%d %H:%M"),
                entry.commit[:10],
                org,
                entry.author,
                entry.kind,
                shown or entry.subject,
            )
        )
    print_table(rows, ["DATE", "COMMIT", "ORG", "AUTHOR", "KIND", "DOCUMENTS"])
    if any(e.org_source == "mismatch" for e in entries):
        ctx.info("(!) the KB-Org trailer names another organisation than the author's e-mail.")
    ctx.info(f"{len(entries)} changes")
    return 0


def cmd_move_to_kb(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.knowledge_bases import move_to_kb
    from kbapp.workspace import Workspace

    with Workspace.open(Path(args.to).expanduser(), ctx.settings, ctx.interaction) as target:
        moved = move_to_kb(ctx.workspace, args.ref, target)
    if args.json:
        print_json(moved.to_dict())
        return 0
    print(Path(moved.target_root) / moved.target_path)
    for sentence in moved.sentences():
        ctx.info(sentence)
    return 0
