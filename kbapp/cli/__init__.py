"""The ``kbapp`` command line: the same core as the window, one subcommand per user action.

Each module in this package registers its subcommands (``register(subparsers)``); a command is
a function ``(args, ctx) -> int``. Errors the user can fix are :class:`~kbapp.errors.KbError`
and print one sentence (``--debug`` adds the details and a traceback); nothing else prints a
traceback unless asked.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from kbapp import __version__
from kbapp.cli import cosourcing as cosourcing_commands
from kbapp.cli import documents as documents_commands
from kbapp.cli import lifecycle as lifecycle_commands
from kbapp.cli import search as search_commands
from kbapp.cli import sync as sync_commands
from kbapp.cli import trust as trust_commands
from kbapp.cli.common import Context, fail, terminal_safe_output
from kbapp.errors import KbError

#: Modules that add subcommands, in the order ``kbapp --help`` lists them.
COMMAND_MODULES = [
    documents_commands,
    lifecycle_commands,
    search_commands,
    sync_commands,
    cosourcing_commands,
    trust_commands,
]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CONFLICTS = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kbapp",
        description=(
            "A knowledge base of SOPs, runbooks and troubleshooting guides kept in git and "
            "shared between an IT team and its partner. Without a command, opens the window."
        ),
        epilog=(
            "The knowledge base is taken from --kb, else $KBAPP_KB, else the default in your "
            "settings ('kbapp settings default_kb PATH'). Exit status: 0 done, 1 error, "
            "2 bad usage, 3 conflicts waiting."
        ),
    )
    parser.add_argument("--kb", metavar="PATH", help="the knowledge base to work on")
    parser.add_argument("-y", "--yes", action="store_true", help="answer yes to every question")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only results and errors")
    parser.add_argument("--debug", action="store_true", help="show details and tracebacks")
    parser.add_argument("--version", action="version", version=f"kbapp {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        return _open_window(args)
    ctx = Context(args)
    with terminal_safe_output():  # messages quote titles and paths from the other side
        try:
            return int(args.func(args, ctx) or 0)
        except KbError as exc:
            return fail(exc, debug=args.debug)
        except KeyboardInterrupt:
            print("kbapp: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            return 0
        except Exception as exc:  # never a bare traceback for a user
            if args.debug:
                raise
            print(f"kbapp: unexpected error: {exc!r} (run with --debug for details)", file=sys.stderr)
            return EXIT_ERROR
        finally:
            ctx.close()


def _open_window(args: argparse.Namespace) -> int:
    try:
        from kbapp.ui.app import main as window_main  # the one place the CLI reaches for Qt
    except ImportError as exc:
        print(f"kbapp: the window is not available ({exc}); see 'kbapp --help' for commands",
              file=sys.stderr)
        return EXIT_ERROR
    return int(window_main(kb=args.kb) or 0)
