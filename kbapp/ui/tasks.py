"""The window's one helper for slow work (git-cola ``qtutils.Task``, napari ``create_worker``).

Slow work is a plain core function (search, render, sync, index, report). :class:`Tasks` runs
it on a :class:`QThreadPool` and delivers its result, its error and its progress on the GUI
thread through queued signals. Work started with a ``key`` supersedes earlier work with the
same key: when an older answer arrives after a newer request was made, it is dropped (git-cola's
timestamp check), so a slow search for "pay" never overwrites the answer for "payments".

:func:`relay` brings a core :class:`~kbapp.events.Event` (which may fire on a worker thread,
e.g. during a sync) onto the GUI thread.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, QTimer, Signal

from kbapp.events import Event

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[Exception], None]
ProgressHandler = Callable[[int, int], None]


class _Relay(QObject):
    """Lives on the GUI thread; signals emitted from a worker reach its slots queued."""

    finished = Signal(object)
    failed = Signal(object)
    progressed = Signal(int, int)


class _Job(QRunnable):
    def __init__(self, work: Callable[..., Any], relay: _Relay, with_progress: bool) -> None:
        super().__init__()
        self.work = work
        self.relay = relay
        self.with_progress = with_progress

    def run(self) -> None:
        try:
            result = self.work(self.relay.progressed.emit) if self.with_progress else self.work()
        except Exception as exc:  # noqa: BLE001 - handed to the GUI thread to show
            outcome, value = self.relay.failed, exc
        else:
            outcome, value = self.relay.finished, result
        try:
            outcome.emit(value)
        except RuntimeError:  # the application is shutting down: nobody is waiting
            pass


class Ticket:
    """One piece of started work; ``stale`` once newer work with the same key was started."""

    def __init__(self, tasks: Tasks, key: str | None, generation: int) -> None:
        self._tasks = tasks
        self.key = key
        self.generation = generation
        self.started = time.perf_counter()
        self.finished = False

    @property
    def stale(self) -> bool:
        return self.key is not None and self._tasks._generations.get(self.key) != self.generation


class Tasks(QObject):
    """Runs slow work in the background; one per window."""

    #: True while any work is running (for a busy indicator).
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._generations: dict[str, int] = {}
        self._relays: set[_Relay] = set()

    def run(
        self,
        work: Callable[..., Any],
        done: Done | None = None,
        failed: Failed | None = None,
        *,
        key: str | None = None,
        owner: QObject | None = None,
        progress: ProgressHandler | None = None,
    ) -> Ticket:
        """Run ``work()`` on the pool; ``done(result)`` or ``failed(error)`` on the GUI thread.

        With ``progress``, ``work`` is called with one argument, a thread-safe
        ``report(done, total)`` whose calls reach ``progress`` on the GUI thread. With ``key``,
        starting new work with the same key makes this one stale: its answer is dropped.
        With ``owner`` (the widget that shows the answer), nothing is delivered once the owner
        is gone (the window closed while the work ran).
        """
        generation = 0
        if key is not None:
            generation = self._generations.get(key, 0) + 1
            self._generations[key] = generation
        ticket = Ticket(self, key, generation)
        # The relay belongs to no widget: a worker may still be emitting on it when the widget
        # that asked is closed, so it lives until its answer arrived (then deleteLater).
        relay = _Relay()
        self._relays.add(relay)
        if len(self._relays) == 1:
            self.busy_changed.emit(True)
        self._deliver(relay, ticket, owner, done, failed, progress)
        self.pool.start(_Job(work, relay, progress is not None))
        return ticket

    def _deliver(
        self,
        relay: _Relay,
        ticket: Ticket,
        owner: QObject | None,
        done: Done | None,
        failed: Failed | None,
        progress: ProgressHandler | None,
    ) -> None:
        """Connect ``relay`` to what the caller wants on the GUI thread: the answer, an error
        or progress, unless the ticket went stale or the owner is gone."""

        def wanted() -> bool:
            return not ticket.stale and (owner is None or shiboken6.isValid(owner))

        def finish(result: Any) -> None:
            self._release(relay, ticket)
            relay.deleteLater()
            if wanted() and done is not None:
                done(result)

        def fail(error: Exception) -> None:
            self._release(relay, ticket)
            relay.deleteLater()
            if not wanted():
                return
            if failed is not None:
                failed(error)
            else:
                log.error("background work failed: %s", error, exc_info=error)

        def report(number: int, total: int) -> None:
            if progress is not None and wanted():
                progress(number, total)

        relay.finished.connect(finish)
        relay.failed.connect(fail)
        relay.progressed.connect(report)

    def cancel(self, key: str) -> None:
        """Drop whatever answer work with ``key`` gives (the work itself runs to its end)."""
        self._generations[key] = self._generations.get(key, 0) + 1

    @property
    def busy(self) -> bool:
        return bool(self._relays)

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Wait for running work and deliver its results (tests, closing the window)."""
        deadline = time.monotonic() + timeout_ms / 1000
        while self._relays and time.monotonic() < deadline:
            self.pool.waitForDone(20)
            QCoreApplication.processEvents()
        return not self._relays

    def _release(self, relay: _Relay, ticket: Ticket) -> None:
        ticket.finished = True
        self._relays.discard(relay)
        if not self._relays and shiboken6.isValid(self):
            self.busy_changed.emit(False)


def run_or_inline(
    tasks: Tasks | None,
    work: Callable[[], Any],
    done: Done,
    failed: Failed | None = None,
    *,
    owner: QObject | None = None,
    key: str | None = None,
    waiting: Callable[[], object] | None = None,
) -> None:
    """Run ``work`` for a view that may have no pool: with ``tasks``, on the pool
    (:meth:`Tasks.run`, after ``waiting()`` says the view is reading); without (a view built on
    its own, in a test or a script), right here, ``done(work())``, and an error is raised."""
    if tasks is None:
        done(work())
        return
    if waiting is not None:
        waiting()
    tasks.run(work, done, failed, owner=owner, key=key)


class _EventRelay(QObject):
    fired = Signal(object)


def relay(owner: QObject, event: Event[Any], handler: Callable[[Any], object]) -> None:
    """Call ``handler`` on the GUI thread whenever the core ``event`` fires (from any thread),
    for as long as the Qt object ``owner`` lives."""
    bridge = _EventRelay(owner)
    bridge.fired.connect(handler)
    emit = bridge.fired.emit
    event.connect(emit)
    owner.destroyed.connect(lambda *_: event.disconnect(emit))


class GarbageCollector(QObject):
    """Python's cycle collection on the GUI thread, between events, instead of wherever an
    allocation crosses the threshold: inside a Qt callback (an event filter, a widget being
    built) or on a worker thread, where collecting a cycle that holds Qt wrappers crashed the
    window (segfaults "Garbage-collecting" with a search index build running in a worker).
    The usual PyQt/PySide remedy: automatic collection off, the same thresholds checked on a
    timer of the GUI thread."""

    def __init__(self, parent: QObject, interval_ms: int = 250) -> None:
        super().__init__(parent)
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect)
        self.timer.start(interval_ms)

    def collect(self) -> None:
        first, second, third = gc.get_threshold()
        zero, one, two = gc.get_count()
        if zero > first:
            generation = 2 if two > third else 1 if one > second else 0
            gc.collect(generation)


def collect_garbage_on_gui_thread(app: QCoreApplication) -> GarbageCollector:
    """Install :class:`GarbageCollector` on ``app`` once; returns it."""
    existing = app.findChild(GarbageCollector)
    return existing if existing is not None else GarbageCollector(app)
