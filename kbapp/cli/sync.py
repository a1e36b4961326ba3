"""Commands of sync between the organisations: sync, status, conflicts, resolve, history, diff,
restore, clone, and the merge driver git calls."""

from __future__ import annotations

import argparse

from kbapp.cli.common import Context


def register(sub: argparse._SubParsersAction) -> None:
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


def cmd_merge_driver(args: argparse.Namespace, ctx: Context) -> int:
    from kbapp.mergedriver import run_driver

    return run_driver(args.base, args.mine, args.theirs, args.path)
