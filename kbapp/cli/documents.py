"""Commands on the knowledge base and its documents: init, new, import, list, show, lint, ..."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
from collections.abc import Callable
from typing import Any

from kbapp.cli.common import (
    Context,
    PhaseProgress,
    Progress,
    counted,
    print_json,
    print_table,
)
from kbapp.config import SENSITIVITIES
from kbapp.documents import model as documents
from kbapp.documents import schema
from kbapp.errors import KbError
from kbapp.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="make a folder a new knowledge base (a git repository)")
    p.add_argument("path", help="folder to create or use")
    p.add_argument("--name", required=True, help='what the knowledge base is called ("Ops KB")')
    p.add_argument(
        "--org",
        action="append",
        default=[],
        metavar="NAME[=DOMAIN,...]",
        help="an organisation taking part, with its e-mail domains "
        "(repeat: --org internal=corp.example --org partner=msp.example)",
    )
    p.add_argument(
        "--sensitivity",
        choices=SENSITIVITIES,
        default="shared",
        help="shared: both organisations push here (default); internal: yours only",
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("new", help="create a document from a template; prints its path")
    p.add_argument(
        "--type",
        "-t",
        required=True,
        dest="template",
        help="template: sop, runbook, troubleshooting, known-error, post-incident, ...",
    )
    p.add_argument("--title", required=True)
    p.add_argument("--system", action="append", default=[], help="a system it is about (repeat)")
    p.add_argument("--tag", action="append", default=[], help="a tag (repeat)")
    p.add_argument("--folder", help="folder inside the knowledge base (default: by type)")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("import", help="import a folder of Markdown files")
    p.add_argument("source", help="folder to import (its sub-folders are kept)")
    p.add_argument("--into", default="", metavar="DIR", help="folder in the knowledge base")
    p.add_argument(
        "--status",
        default="published",
        choices=schema.STATUSES,
        help="status for documents that have none (default: published)",
    )
    p.add_argument(
        "--org", help="owning organisation for documents that name none (default: yours)"
    )
    p.add_argument(
        "--review-start",
        type=_date,
        metavar="YYYY-MM-DD",
        help="first reviews are spread over each type's review interval from this "
        "day (default: in 15 days, after the 'due soon' window)",
    )
    p.add_argument(
        "--allow-secrets",
        action="store_true",
        help="import files whose lines look like secrets, recording each value as a "
        "reviewed false positive (without it you are asked on a terminal; elsewhere "
        "those files are held back and listed)",
    )
    p.add_argument(
        "--no-index",
        dest="index",
        action="store_false",
        help="do not bring the search index up to date afterwards",
    )
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("list", help="list documents, filtered by their fields")
    p.add_argument("--type")
    p.add_argument("--status")
    p.add_argument("--org", help="owning organisation")
    p.add_argument("--tag")
    p.add_argument("--system")
    p.add_argument("--owner")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="show one document (by id, path or title)")
    p.add_argument("ref", help="kb-3f9c2a1e, a path, or an exact title")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--html", action="store_true", help="print the sanitised HTML rendering")
    group.add_argument("--raw", action="store_true", help="print the file exactly as stored")
    group.add_argument("--json", action="store_true", help="metadata and body as JSON")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("lint", help="check documents; exit status 1 when there are errors")
    p.add_argument("paths", nargs="*", help="documents to check (default: all)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--errors-only", action="store_true", help="do not print warnings")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("move", help="rename or move a document (its id and links stay valid)")
    p.add_argument("ref")
    p.add_argument("new_path", help="new path inside the knowledge base")
    p.set_defaults(func=cmd_move)

    p = sub.add_parser("templates", help="list the document templates")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_templates)

    p = sub.add_parser("demo", help="set up the demo knowledge base and print its folder")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "settings",
        help="show or change your settings (name, e-mail, ...)",
        description="Lists are given comma-separated, or changed one item at a time with "
        "--add/--remove: 'kbapp settings also_search --add ~/internal-kb' searches "
        "that knowledge base together with the one open.",
    )
    p.add_argument("key", nargs="?", help="setting to show or change (e.g. user_email)")
    p.add_argument("value", nargs="?", help="new value")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--add", metavar="ITEM", help="add ITEM to a list setting")
    group.add_argument("--remove", metavar="ITEM", help="remove ITEM from a list setting")
    p.set_defaults(func=cmd_settings)


# --------------------------------------------------------------------------- commands


def cmd_init(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.workspace import Workspace

    orgs = []
    domains: dict[str, list[str]] = {}
    for spec in args.org or ["internal", "partner"]:
        name, _, domain_text = spec.partition("=")
        name = name.strip()
        if not name:
            raise KbError(f"--org {spec!r}: give a name, like --org partner=msp.example")
        orgs.append(name)
        domains[name] = [d.strip() for d in domain_text.split(",") if d.strip()]
    workspace = Workspace.init(
        args.path,
        args.name,
        orgs,
        sensitivity=args.sensitivity,
        settings=ctx.settings,
        interaction=ctx.interaction,
        domains=domains,
    )
    ctx.settings.remember_kb(workspace.root)
    ctx.settings.save()
    print(workspace.root)
    ctx.info(f"Created knowledge base {args.name!r} with organisations {', '.join(orgs)}.")
    return 0


def cmd_new(args: argparse.Namespace, ctx: Context) -> int:
    result = ctx.workspace.create(
        args.template, args.title, systems=args.system, tags=args.tag, folder=args.folder
    )
    print(ctx.workspace.root / result.path)
    return 0


def cmd_import(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.documents.importer import import_folder

    progress = PhaseProgress()
    allow: bool | Callable[[list[Any]], bool] = args.allow_secrets
    if not allow and sys.stdin.isatty() and sys.stderr.isatty() and not args.json:
        allow = _ask_about_secrets(progress)
    report = import_folder(
        ctx.workspace,
        args.source,
        args.into,
        status=args.status,
        owner_org=args.org,
        review_start=args.review_start,
        allow_secrets=allow,
        progress=progress,
        build_index=args.index,
    )
    progress.finish()
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
    return 0


def _ask_about_secrets(progress: PhaseProgress) -> Callable[[list[Any]], bool]:
    """On a terminal: list the secret-looking lines and ask once whether they are samples."""

    def ask(held: list[Any]) -> bool:
        progress.finish()
        files = sorted({h.source for h in held})
        print(f"{len(files)} files have lines that look like secrets:", file=sys.stderr)
        for item in held:
            print(f"  {item.where}: {item.message.split(';')[0]} [{item.rule}]", file=sys.stderr)
        answer = input(
            "Are these samples, not real secrets? Import them and record each value "
            "as a reviewed false positive [y/N] "
        )
        return answer.strip().lower() in ("y", "yes")

    return ask


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2027-01-15") from None


def cmd_list(args: argparse.Namespace, ctx: Context) -> int:
    workspace = ctx.workspace
    workspace.refresh()
    entries = workspace.catalog.query(
        type=args.type,
        status=args.status,
        org=args.org,
        tag=args.tag,
        system=args.system,
        owner=args.owner,
    )
    if not entries:
        _no_such_value(args, workspace)
    if args.json:
        print_json([e.to_dict() for e in entries])
        return 0
    rows = [(e.doc_id, e.type, e.status, e.owner_org or "-", e.title) for e in entries]
    print_table(rows, ["ID", "TYPE", "STATUS", "ORG", "TITLE"])
    ctx.info(counted(len(entries), "document"))
    return 0


def _no_such_value(args: argparse.Namespace, workspace: Any) -> None:
    """Nothing listed: say so when a filter names a type, status or organisation that no
    document can have ('--type sops' answered '0 documents', as if there were no SOP)."""
    from kbapp.documents.schema import STATUSES

    types = sorted(
        set(workspace.templates.types()) | {e.type for e in workspace.catalog.all() if e.type}
    )
    if args.type and args.type not in types:
        raise KbError(f"there is no type {args.type!r}; the types are {', '.join(types)}")
    if args.status and args.status not in STATUSES:
        raise KbError(f"there is no status {args.status!r}; the statuses are {', '.join(STATUSES)}")
    orgs = workspace.config.org_names
    if args.org and orgs and args.org not in orgs:
        raise KbError(
            f"{args.org!r} is not an organisation of this knowledge base ({', '.join(orgs)})"
        )


def cmd_show(args: argparse.Namespace, ctx: Context) -> int:
    workspace = ctx.workspace
    doc = workspace.load(args.ref)
    if args.raw:
        sys.stdout.buffer.write(documents.serialise(doc))
        return 0
    if args.html:
        print(workspace.render(doc).html)
        return 0
    if args.json:
        from kbapp.documents.frontmatter import plain

        print_json(
            {
                "id": doc.id,
                "path": doc.path,
                "title": doc.title,
                "type": doc.type,
                "status": doc.status,
                "meta": plain(doc.meta),
                "body": doc.body,
            }
        )
        return 0
    leading = documents.leading_title(doc.body)
    print(_header(doc, leading[0] if leading else None))
    print(leading[1] if leading else doc.body)  # the file keeps its heading
    return 0


def _header(doc: documents.Document, heading: str | None = None) -> str:
    """The page's heading and its metadata, as the reader shows them: ``heading`` is the
    level-1 heading the body starts with (left out of the body printed under it). When it
    says something else than the title (an imported article whose front matter has a shorter
    title), the title is one "listed as" row, not a second heading."""
    shown = heading if heading is not None else doc.title
    lines = [shown, "=" * min(len(shown), 78)]
    fields: list[tuple[str, Any]] = []
    if heading is not None and not documents.same_title(heading, doc.title):
        fields.append(("listed as", doc.title))
    fields += [
        ("id", doc.id),
        ("path", doc.path),
        ("type", f"{doc.type} · {doc.status}" + (f" · {doc.owner_org}" if doc.owner_org else "")),
        ("owners", ", ".join(doc.owners)),
        ("systems", ", ".join(doc.systems)),
        ("tags", ", ".join(doc.tags)),
        ("incidents", ", ".join(doc.incidents)),
    ]
    if doc.last_reviewed:
        by = f" by {doc.reviewed_by}" if doc.reviewed_by else ""
        fields.append(("reviewed", f"{doc.last_reviewed.isoformat()}{by}"))
    if doc.sensitivity != "shared":
        fields.append(("sensitivity", doc.sensitivity))
    lines += [f"{name:>10}: {value}" for name, value in fields if value]
    if doc.front_matter_error is not None:
        lines.append(f"   warning: {doc.front_matter_error}")
    return "\n".join(lines) + "\n"


def cmd_lint(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.documents.lint import lint_workspace

    workspace = ctx.workspace
    paths = [workspace.resolve(p) for p in args.paths] if args.paths else None
    progress = Progress("Checking documents", enabled=None if not args.quiet else False)
    report = lint_workspace(workspace, paths, progress=progress)
    progress.finish()
    if args.json:
        print_json(report.to_dict())
    else:
        for problem in report.problems:
            if args.errors_only and problem.severity != "error":
                continue
            print(problem)
        ctx.info(
            f"{counted(report.checked, 'document')} checked: "
            f"{counted(len(report.errors), 'error')}, {counted(len(report.warnings), 'warning')}"
        )
    return 1 if report.errors else 0


def cmd_move(args: argparse.Namespace, ctx: Context) -> int:
    result = ctx.workspace.move(args.ref, args.new_path)
    print(ctx.workspace.root / result.path)
    return 0


def cmd_templates(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.documents.templates import TemplateLibrary

    try:  # the knowledge base's own templates when one is given, else the standard ones
        library = ctx.workspace.templates
    except KbError:
        library = TemplateLibrary()
    if args.json:
        print_json(
            [
                {
                    "name": t.name,
                    "version": t.version,
                    "type": t.type,
                    "label": t.label,
                    "origin": t.origin,
                    "required_sections": t.required_sections,
                    "required_fields": t.required_fields,
                    "description": t.description,
                }
                for t in library
            ]
        )
    else:
        print_table(
            [(t.name, str(t.version), t.origin, t.label) for t in library],
            ["NAME", "VERSION", "FROM", "WHAT IT IS FOR"],
        )
    for problem in library.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.demo import ensure_demo

    root = ensure_demo()
    first = not ctx.settings.default_kb
    ctx.settings.remember_kb(root)  # the default when there was none, as 'kbapp init' does
    ctx.settings.save()
    print(root)
    if first:
        ctx.info("It is your default knowledge base now: try 'kbapp search vpn'.")
    return 0


def cmd_settings(args: argparse.Namespace, ctx: Context) -> int:
    settings = ctx.settings
    names = [f.name for f in dataclasses.fields(Settings) if f.name not in ("path", "version")]
    if args.key is None:
        for name in names:
            print(f"{name} = {getattr(settings, name)!r}")
        return 0
    if args.key not in names:
        raise KbError(f"there is no setting {args.key!r}; settings: {', '.join(names)}")
    current = getattr(settings, args.key)
    if args.add is not None or args.remove is not None:
        return _change_list(settings, args)
    if args.value is None:
        if isinstance(current, list):
            for item in current:
                print(item)
        else:
            print(current)
        return 0
    value: Any = args.value
    if isinstance(current, bool):
        value = args.value.lower() in ("1", "true", "yes", "on")
    elif isinstance(current, int):
        try:
            value = int(args.value)
        except ValueError:
            raise KbError(f"{args.key} must be a whole number") from None
    elif isinstance(current, list):
        value = [part for part in args.value.split(",") if part]
    setattr(settings, args.key, value)
    settings.save()
    return 0


def _change_list(settings: Settings, args: argparse.Namespace) -> int:
    """``--add``/``--remove`` one item of a list setting; knowledge bases by their folder."""
    from kbapp import knowledge_bases

    items = getattr(settings, args.key)
    if not isinstance(items, list) or args.value is not None:
        raise KbError(
            f"--add and --remove change a list setting on their own; {args.key} "
            f"is {'a list' if isinstance(items, list) else 'not a list'}"
        )
    if args.key == "also_search":
        if args.add is not None:
            root = knowledge_bases.add_searched(settings, args.add)
            print(f"Searching {root} together with the knowledge base open.")
        elif not knowledge_bases.remove_searched(settings, args.remove):
            raise KbError(
                f"{args.remove} is not searched together (see 'kbapp settings also_search')"
            )
    elif args.add is not None:
        if args.add not in items:
            setattr(settings, args.key, [*items, args.add])
    elif args.remove in items:
        setattr(settings, args.key, [item for item in items if item != args.remove])
    else:
        raise KbError(f"{args.remove!r} is not in {args.key}")
    settings.save()
    return 0
