"""The ``kbapp`` command line: the same core as the window, one subcommand per user action.

Each module in this package registers its subcommands (``register(subparsers)``); a command is
a function ``(args, ctx) -> int``. Errors the user can fix are :class:`~kbapp.errors.KbError`
and print one sentence (``--debug`` adds the details and a traceback); nothing else prints a
traceback unless asked.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from kbapp import __version__
from kbapp.errors import KbError

#: Modules that add subcommands, in the order ``kbapp --help`` lists them.
COMMAND_MODULE_NAMES = [
    "kbapp.cli.documents",
    "kbapp.cli.incident",
    "kbapp.cli.lifecycle",
    "kbapp.cli.search",
    "kbapp.cli.sync",
    "kbapp.cli.cosourcing",
    "kbapp.cli.trust",
]
#: The module of each command, so that ``kbapp search`` imports only the search commands
#: (importing every command module, and what they import, was 300 ms of a 150 ms budget).
#: A command missing here still works: then every module is imported.
COMMAND_MODULE_OF = {
    "search": "kbapp.cli.search",
    "index": "kbapp.cli.search",
}


def command_modules(names: Sequence[str] = COMMAND_MODULE_NAMES) -> list[ModuleType]:
    return [importlib.import_module(name) for name in names]


def _command_word(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` (the first word that is not a global option)."""
    words = iter(argv)
    for word in words:
        if word == "--kb":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


#: Every command's exit status (the one definition; the command modules import it from here):
#: done, an error (one sentence printed), bad usage (argparse), conflicts waiting (sync, status,
#: resolve).
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CONFLICTS = 0, 1, 2, 3


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given ``argv``, with only the subcommands of the command it names."""
    parser = argparse.ArgumentParser(
        prog="kbapp",
        description=(
            "A knowledge base of SOPs, runbooks and troubleshooting guides kept in git and "
            "shared between an IT team and its partner. Without a command, opens the window."
        ),
        epilog=(
            "The knowledge base is taken from --kb, else $KBAPP_KB, else the one the current "
            "folder is in, else the default in your settings ('kbapp settings default_kb "
            "PATH'). Exit status: 0 done, 1 error, "
            "2 bad usage, 3 conflicts waiting."
        ),
    )
    parser.add_argument("--kb", metavar="PATH", help="the knowledge base to work on")
    parser.add_argument(
        "--demo-when-none",
        action="store_true",
        help="window: with no knowledge base configured, open the demo one "
        "instead of the start screen (what 'python3 tasks.py run' does)",
    )
    parser.add_argument("-y", "--yes", action="store_true", help="answer yes to every question")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only results and errors")
    parser.add_argument("--debug", action="store_true", help="show details and tracebacks")
    parser.add_argument("--version", action="version", version=f"kbapp {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    word = _command_word(argv) if argv is not None else None
    only = COMMAND_MODULE_OF.get(word or "")
    for module in command_modules([only] if only else COMMAND_MODULE_NAMES):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    unknown = _unknown_command(parser, argv)
    if unknown:
        print(f"kbapp: {unknown}", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        return _open_window(args)
    from kbapp.cli.common import Context, fail, terminal_safe_output

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
            print(
                f"kbapp: unexpected error: {exc!r} (run with --debug for details)", file=sys.stderr
            )
            return EXIT_ERROR
        finally:
            ctx.close()


def _unknown_command(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """One sentence for a command that does not exist, with the nearest one (argparse's own
    message is its usage and every command, five lines for a typo)."""
    word = _command_word(argv)
    if word is None:
        return None
    commands = [
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    ]
    if not commands or word in commands:
        return None
    import difflib

    near = difflib.get_close_matches(word, commands, n=1)
    hint = f"; did you mean '{near[0]}'?" if near else ""
    return f"there is no command '{word}'{hint} ('kbapp --help' lists them all)"


def _open_window(args: argparse.Namespace) -> int:
    try:
        from kbapp.ui.app import main as window_main  # the one place the CLI reaches for Qt
    except ImportError as exc:
        print(
            f"kbapp: the window is not available ({exc}); see 'kbapp --help' for commands",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return int(window_main(kb=args.kb, demo_when_none=args.demo_when_none) or 0)
