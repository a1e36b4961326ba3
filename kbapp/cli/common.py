"""What every command needs: the workspace, output helpers, a progress bar."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kbapp.errors import KbError
from kbapp.interaction import ConsoleInteraction, terminal_safe
from kbapp.settings import Settings, choose_kb
from kbapp.workspace import Workspace

if TYPE_CHECKING:
    from kbapp.knowledge_bases import OtherKnowledgeBases


class Context:
    """Per-invocation state: settings, the open workspace, how to talk to the user."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.settings = Settings.load()
        self.interaction = ConsoleInteraction(
            assume_yes=True if getattr(args, "yes", False) else None,
            quiet=getattr(args, "quiet", False),
        )
        self._workspace: Workspace | None = None
        self._others: OtherKnowledgeBases | None = None

    def kb_path(self) -> Path:
        chosen = choose_kb(self.args.kb, self.settings)
        if chosen is None:
            raise KbError(
                "no knowledge base given: use --kb PATH, set KBAPP_KB, run kbapp in one's "
                "folder, or make one with 'kbapp init PATH' ('kbapp demo' sets up the demo "
                "knowledge base)"
            )
        return chosen

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            from kbapp.sync.git import Prompting

            self._workspace = Workspace.open(self.kb_path(), self.settings, self.interaction)
            # git and ssh may ask for credentials on the terminal, never without one
            self._workspace.git.prompting = Prompting.for_console()
        return self._workspace

    @property
    def reading_workspace(self) -> Workspace:
        """The workspace for a command that only reads it (a search): opened without the
        repairs a writing command makes first."""
        if self._workspace is None:
            self._workspace = Workspace.open(
                self.kb_path(), self.settings, self.interaction, repair=False
            )
        return self._workspace

    def other_kbs(self) -> OtherKnowledgeBases:
        """The knowledge bases searched together with this one (``settings.also_search``);
        each one skipped is said in one line on stderr."""
        if self._others is None:
            from kbapp.knowledge_bases import open_others

            self._others = open_others(self.settings, self.workspace.root, self.interaction)
            for warning in self._others.warnings:
                self.warn(warning)
        return self._others

    def close(self) -> None:
        if self._others is not None:
            self._others.close()
        if self._workspace is not None:
            self._workspace.close()

    def info(self, message: str) -> None:
        if not self.args.quiet:
            print(message, file=sys.stderr)

    def warn(self, message: str) -> None:
        print(f"kbapp: warning: {message}", file=sys.stderr)


def fail(exc: KbError, debug: bool = False) -> int:
    print(f"kbapp: {exc}", file=sys.stderr)
    if exc.details and (debug or len(exc.details) < 400) and exc.details not in str(exc):
        for line in exc.details.strip().splitlines()[:20]:
            print(f"  {line}", file=sys.stderr)
    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    return 1


class _SafeBuffer:
    """A binary stream for ``sys.stdout.buffer`` that filters like :class:`TerminalSafeStream`."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def write(self, data: bytes) -> int:
        self._raw.write(terminal_safe(bytes(data).decode("utf-8", "replace")).encode("utf-8"))
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class TerminalSafeStream:
    """Wraps ``sys.stdout``/``sys.stderr``: titles, bodies and messages from the other
    organisation reach the terminal as text, never as control sequences. Raw bytes written to
    ``.buffer`` (``show --raw``, ``--dry-run``) stay untouched when they go to a file or pipe."""

    def __init__(self, stream: Any) -> None:
        self.unfiltered = stream

    def write(self, text: str) -> int:
        self.unfiltered.write(terminal_safe(text))
        return len(text)

    @property
    def buffer(self) -> Any:
        raw = self.unfiltered.buffer
        return _SafeBuffer(raw) if self.unfiltered.isatty() else raw

    def __getattr__(self, name: str) -> Any:
        return getattr(self.unfiltered, name)


@contextlib.contextmanager
def terminal_safe_output() -> Iterator[None]:
    """Everything printed inside goes through :func:`terminal_safe` (the one place)."""
    saved = sys.stdout, sys.stderr
    sys.stdout = TerminalSafeStream(saved[0])
    sys.stderr = TerminalSafeStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def counted(count: int, noun: str) -> str:
    """``1 document``, ``2 documents``: a count with its noun, as a sentence says it."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def print_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
    """Columns sized to their content, the last one left to wrap."""
    if not rows:
        return
    widths = [len(h) for h in headers]
    for row in rows:
        for index, cell in enumerate(row[:-1]):
            widths[index] = min(max(widths[index], len(cell)), 48)
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line.rstrip())
    for row in rows:
        cells = [c[:w].ljust(w) for c, w in zip(row[:-1], widths)] + [row[-1]]
        print("  ".join(cells).rstrip())


class Progress:
    """A one-line progress bar on stderr (only on a terminal); call with (done, total)."""

    def __init__(self, label: str, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        filled = int(width * done / total) if total else width
        percent = 100 * done // total if total else 100
        stream = getattr(sys.stderr, "unfiltered", sys.stderr)  # its \r is kbapp's own
        stream.write(
            f"\r{terminal_safe(self.label)} [{'#' * filled}{'.' * (width - filled)}] "
            f"{percent:3d}% {done}/{total}"
        )
        stream.flush()
        self._shown = True
        if done >= total:
            self.finish()

    def finish(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._shown = False


class PhaseProgress:
    """Progress of work done in phases, called with (phase, done, total): a bar per phase on a
    terminal, one line per phase otherwise (a log or a pipe still shows that work goes on)."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.terminal = sys.stderr.isatty() if enabled is None else enabled
        self._phase = ""
        self._bar: Progress | None = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self._phase:
            self.finish()
            self._phase = phase
            if self.terminal:
                self._bar = Progress(phase)
            else:
                sys.stderr.write(f"{phase} ({total:,})...\n" if total > 1 else f"{phase}...\n")
                sys.stderr.flush()
        if self._bar is not None:
            self._bar(done, total)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.finish()
            self._bar = None
            self._shown = False
