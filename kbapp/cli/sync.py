"""Commands of sync between the organisations: sync, fetch, status, conflicts, resolve, history,
diff, restore, clone, and the merge driver git calls.

Exit status: 0 done, 1 error (offline included: nothing was exchanged), 3 conflicts waiting.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kbapp.cli import EXIT_CONFLICTS
from kbapp.cli.common import Context, Progress, counted, print_json, print_table
from kbapp.errors import KbError
from kbapp.identity import MISSING


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="commit pending work, get the other side's, publish yours")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser(
        "refused",
        help="what the shared repository refuses in your unpublished changes",
        description="Checks your unpublished commits with the shared repository's own policy "
        "(file, line, rule). --drop rebuilds them with the refused files as the shared "
        "repository has them, keeping every other change; your version of those files stays "
        "on disk to be fixed, the commits as they were stay under refs/kbapp/kept/.",
    )
    p.add_argument(
        "--drop", action="store_true", help="take the refused files out of the unpublished commits"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_refused)

    p = sub.add_parser("fetch", help="look for new changes in the shared repository (no merge)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("status", help="local changes, commits to send and to get, conflicts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("conflicts", help="documents waiting for you to choose between versions")
    p.add_argument("--json", action="store_true", help="include the texts (mine, theirs, base)")
    p.set_defaults(func=cmd_conflicts)

    p = sub.add_parser("resolve", help="settle a conflict with your version, theirs, or a file")
    p.add_argument("path", help="the document's path (as 'kbapp conflicts' lists it)")
    choice = p.add_mutually_exclusive_group(required=True)
    choice.add_argument("--mine", action="store_true", help="keep the version you have now")
    choice.add_argument(
        "--theirs",
        action="store_true",
        help="take the other side's version (with your other changes)",
    )
    choice.add_argument(
        "--file",
        metavar="EDITED.md",
        type=Path,
        help="use this file's text (for instance a version you merged by hand)",
    )
    p.set_defaults(func=cmd_resolve)

    p = sub.add_parser("history", help="a document's versions: who, organisation, when, what")
    p.add_argument("ref", help="id, path or title")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("diff", help="what changed in a document between two versions")
    p.add_argument("ref", help="id, path or title")
    p.add_argument("--from", dest="from_rev", required=True, metavar="REV")
    p.add_argument("--to", dest="to_rev", default="HEAD", metavar="REV")
    p.add_argument(
        "--html",
        nargs="?",
        const="rendered",
        choices=("rendered", "side-by-side"),
        help="print the changes as HTML, as the window's history shows them: the new version "
        "rendered with changed blocks marked (default), or both texts side by side",
    )
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("restore", help="bring back an old version of a document (a new commit)")
    p.add_argument("ref", help="id, path or title")
    p.add_argument("--rev", required=True, metavar="REV", help="the version ('kbapp history')")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("clone", help="get a shared knowledge base and set it up")
    p.add_argument("url", help="the shared repository (ssh, https, git:// or a path)")
    p.add_argument("path", help="a new folder for it")
    p.set_defaults(func=cmd_clone)

    p = sub.add_parser(
        "merge-driver",
        help="merge a document by meaning (git calls this: merge=kbapp in .gitattributes)",
        description="git merge driver: kbapp merge-driver %%O %%A %%B %%P. Merges front matter "
        "field by field and the body by lines into %%A; exit 0 when clean, 1 when conflicts "
        "are left (marked in %%A).",
    )
    p.add_argument("base", metavar="O")
    p.add_argument("mine", metavar="A")
    p.add_argument("theirs", metavar="B")
    p.add_argument("path", metavar="P", nargs="?", default="")
    p.set_defaults(func=cmd_merge_driver)


def _change_rows(changes: list[Any]) -> list[list[str]]:
    return [[c.kind, c.path, c.author + (f" ({c.org})" if c.org else ""), c.title] for c in changes]


def cmd_sync(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.sync import sync

    progress = Progress("sync", enabled=None if not (args.json or args.quiet) else False)
    report = sync.sync(ctx.workspace, progress=progress)
    progress.finish()
    if args.json:
        print_json(report.to_dict())
    else:
        for sentence in report.repaired:
            ctx.info(f"repaired: {sentence}")
        if report.changed_by_others:
            print("Changed by others:")
            print_table(_change_rows(report.changed_by_others), ["change", "path", "by", "title"])
        if report.published:
            print("Published:")
            print_table(_change_rows(report.published), ["change", "path", "by", "title"])
        if report.conflicts:
            print(
                "Conflicts waiting (see 'kbapp conflicts', settle with 'kbapp resolve PATH "
                "--mine|--theirs|--file F'):"
            )
            for path in report.conflicts:
                print(f"  {path}")
        print(report.message)
    if report.offline or not report.pushed:
        if not args.json:
            print("kbapp: " + report.message, file=sys.stderr)
        return 1
    return EXIT_CONFLICTS if report.conflicts else 0


def cmd_refused(args: argparse.Namespace, ctx: Context) -> int:
    from dataclasses import asdict

    from kbapp.sync import refused

    if args.drop:
        report = refused.drop_refused(ctx.workspace)
        if args.json:
            data = asdict(report)
            print_json(data)
        else:
            print(report.message)
        return 1 if report.left_unfixed else 0
    found = refused.check_unpublished(ctx.workspace)
    if args.json:
        print_json([asdict(r) for r in found])
    elif not found:
        print("Nothing refused: the shared repository accepts your unpublished changes.")
    else:
        print_table(
            [[r.path, str(r.line or ""), r.rule, r.commit[:10], r.message] for r in found],
            ["file", "line", "rule", "commit", "problem"],
        )
        print("Take them out with 'kbapp refused --drop' (your version stays on disk).")
    return 1 if found else 0


def cmd_fetch(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.sync import sync

    report = sync.fetch(ctx.workspace)
    if args.json:
        print_json(
            {"incoming": report.incoming, "offline": report.offline, "message": report.message}
        )
    else:
        print(report.message)
    return 1 if report.offline else 0


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.sync import sync

    status = sync.status(ctx.workspace)
    if args.json:
        print_json(status.to_dict())
        return 0
    when = status.last_sync.astimezone().strftime("%Y-%m-%d %H:%M") if status.last_sync else "never"
    print(f"branch {status.branch or '(detached)'} -> {status.remote or '(no shared repository)'}")
    print(
        f"{status.local_changes} file(s) changed and not committed, {status.ahead} commit(s) to "
        f"publish, {status.behind} to get"
    )
    print(
        f"{status.conflicts} conflict(s) waiting; last sync {when}"
        + ("; the shared repository was unreachable last time" if status.offline else "")
    )
    return 0


def cmd_conflicts(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.sync import conflicts

    waiting = conflicts.list_conflicts(ctx.workspace)
    if args.json:
        print_json([c.to_dict() for c in waiting])
    elif not waiting:
        print("No conflicts.")
    else:
        print_table(
            [
                [c.path, c.their_author + (f" ({c.their_org})" if c.their_org else ""), c.summary]
                for c in waiting
            ],
            ["path", "other side", "what"],
        )
    return EXIT_CONFLICTS if waiting else 0


def cmd_resolve(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.sync import conflicts

    ws = ctx.workspace
    path = _conflict_path(ctx, args.path)
    conflict = conflicts.get(ws, path)
    if conflict is None:
        waiting = ", ".join(conflicts.conflict_paths(ws)) or "none"
        raise KbError(f"no conflict is waiting for {path} (waiting: {waiting})")
    text: str | None
    if args.mine:
        text = None if conflict.mine_deleted else conflict.mine
    elif args.theirs:
        text = None if conflict.theirs_deleted else conflict.theirs
    else:
        try:
            text = args.file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KbError(f"{args.file} cannot be read: {exc}") from None
    result = conflicts.resolve(ws, path, text=text)
    ctx.info(
        f"resolved {path}"
        + (f" ({result.commit[:10]})" if result.commit else "")
        + "; 'kbapp sync' publishes it"
    )
    left = conflicts.conflict_paths(ws)
    return EXIT_CONFLICTS if left else 0


def _conflict_path(ctx: Context, given: str) -> str:
    ws = ctx.workspace
    candidate = Path(given).expanduser()
    if candidate.is_absolute() or (Path.cwd() / candidate).exists():
        try:
            return ws.relative(candidate)
        except KbError:
            pass
    return given.strip().lstrip("/")


def cmd_history(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.sync import history

    versions = history.history(ctx.workspace, args.ref)
    if args.json:
        print_json([v.to_dict() for v in versions])
        return 0
    print_table(
        [[v.rev[:10], v.when, v.author, v.org, v.path, v.message] for v in versions],
        ["rev", "date", "author", "org", "path", "message"],
    )
    return 0


def cmd_diff(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.sync import history

    if not args.html:
        sys.stdout.write(history.diff(ctx.workspace, args.ref, args.from_rev, args.to_rev))
        return 0
    comparison = history.compare(ctx.workspace, args.ref, args.from_rev, args.to_rev)
    print(comparison.rendered_html() if args.html == "rendered" else comparison.side_by_side_html())
    return 0


def cmd_restore(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.sync import history

    result = history.restore(ctx.workspace, args.ref, args.rev)
    if result.commit:
        print(f"restored {result.path} as {result.commit[:10]}")
    else:
        print(f"{result.path} is already that version")
    return 0


def cmd_clone(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.cli.common import Progress
    from kbapp.sync import sync
    from kbapp.sync.git import Prompting

    bars: dict[str, Progress] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage and total:
            bars.setdefault(stage, Progress(f"{stage:<20}"))(done, total)

    ws = sync.clone(
        args.url,
        args.path,
        ctx.settings,
        ctx.interaction,
        prompting=Prompting.for_console(),
        progress=progress,
    )
    try:
        _catch_up_index(ws)
        identity = ws.identity
        count = ws.catalog.count()
        print(f"cloned {args.url} into {ws.root} ({counted(count, 'document')})")
        if not identity.known:
            print(f"kbapp: {MISSING}", file=sys.stderr)
        elif not identity.org:
            print(
                f"kbapp: {identity.email} matches no organisation in .kb/config.toml; set "
                "'kbapp settings organisation NAME'",
                file=sys.stderr,
            )
        else:
            ctx.info(f"you commit as {identity.name} <{identity.email}> ({identity.org})")
    finally:
        ws.close()
    return 0


def _catch_up_index(ws: Any) -> None:
    """Build the search index when the search package is installed (it is optional here)."""
    try:
        from kbapp.search import SearchIndex
    except ImportError:
        return
    SearchIndex.for_workspace(ws).catch_up()


def cmd_merge_driver(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.sync.mergedriver import run_driver

    return run_driver(args.base, args.mine, args.theirs, args.path)
