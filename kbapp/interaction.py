"""How the core talks to the person using it, without knowing whether that is a terminal or a
window (git-cola ``interaction.py``, napari notifications).

The core calls ``interaction.notify(...)`` / ``interaction.confirm(...)``; the CLI installs
:class:`ConsoleInteraction`, the window installs a Qt implementation. No dialog code lives in
file or git code.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from enum import Enum
from typing import Protocol

#: What a terminal would act on instead of showing: C0 controls but tab and newline (a lone
#: carriage return rewrites the line), DEL, ESC and so every escape sequence (colours, cursor
#: moves that fake screen text, OSC 52 clipboard writes, window titles), C1 controls (8-bit
#: CSI, OSC), and bidirectional overrides that make text read in another order. A carriage
#: return that ends a line (CRLF: a Windows file in a diff) is harmless and kept.
_UNSAFE_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]|\r(?!\n)")


def terminal_safe(text: str) -> str:
    """``text`` with everything a terminal would interpret replaced by U+FFFD (visible): the
    one filter for text that reaches a terminal (the CLI's output, the hooks' messages)."""
    return _UNSAFE_RE.sub("\ufffd", text)


class Level(str, Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Interaction(Protocol):
    def notify(self, message: str, level: Level = Level.INFO, details: str = "") -> None: ...

    def confirm(self, question: str, default: bool = False) -> bool: ...

    def ask_settings(self, reason: str, keys: Sequence[str]) -> bool:
        """kbapp needs the user's settings ``keys`` (who they are) before it goes on: ask for
        them, ``reason`` saying why. True when the user answered (the settings then hold the
        answer); False when they did not, or when this face cannot ask (the command line: it
        stops with a sentence naming the ``kbapp settings`` commands instead)."""
        ...


class ConsoleInteraction:
    """Messages to stderr; questions answered on the terminal, or by ``assume_yes``."""

    def __init__(self, assume_yes: bool | None = None, quiet: bool = False) -> None:
        self.assume_yes = assume_yes
        self.quiet = quiet

    def notify(self, message: str, level: Level = Level.INFO, details: str = "") -> None:
        if self.quiet and level is Level.INFO:
            return
        prefix = "" if level is Level.INFO else f"{level.value}: "
        print(terminal_safe(f"{prefix}{message}"), file=sys.stderr)

    def confirm(self, question: str, default: bool = False) -> bool:
        if self.assume_yes is not None:
            return self.assume_yes
        if not sys.stdin.isatty():
            return default
        hint = "[Y/n]" if default else "[y/N]"
        answer = input(terminal_safe(f"{question} {hint} ")).strip().lower()
        return default if not answer else answer in ("y", "yes")

    def ask_settings(self, reason: str, keys: Sequence[str]) -> bool:
        return False  # the caller's error names the 'kbapp settings' commands


class SilentInteraction:
    """For library use and tests: records what would have been shown."""

    def __init__(self, answer: bool = False) -> None:
        self.answer = answer
        self.messages: list[tuple[Level, str]] = []

    def notify(self, message: str, level: Level = Level.INFO, details: str = "") -> None:
        self.messages.append((level, message))

    def confirm(self, question: str, default: bool = False) -> bool:
        self.messages.append((Level.INFO, question))
        return self.answer

    def ask_settings(self, reason: str, keys: Sequence[str]) -> bool:
        self.messages.append((Level.INFO, reason))
        return False
