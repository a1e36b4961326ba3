"""A minimal background runner for the dashboard until ``kbapp/ui/tasks.py`` (the window's
one helper for slow work) is available; replace the call in lifecycle.py by it then."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

_alive: set[object] = set()


class _Relay(QObject):
    finished = Signal(object)
    failed = Signal(object)


class _Job(QRunnable):
    def __init__(self, work: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.work = work
        self.relay = relay

    def run(self) -> None:
        try:
            result = self.work()
        except Exception as exc:  # noqa: BLE001 - handed to the GUI thread to show
            self.relay.failed.emit(exc)
        else:
            self.relay.finished.emit(result)


def run(pool: QThreadPool, work: Callable[[], Any], done: Callable[[Any], None],
        failed: Callable[[Exception], None] | None = None) -> None:
    relay = _Relay()  # lives on the GUI thread: its signals are delivered there (queued)
    _alive.add(relay)

    def finish(result: Any) -> None:
        _alive.discard(relay)
        done(result)

    def fail(exc: Exception) -> None:
        _alive.discard(relay)
        if failed is not None:
            failed(exc)

    relay.finished.connect(finish)
    relay.failed.connect(fail)
    pool.start(_Job(work, relay))
