"""Plain-Python change notification for core models (no Qt in the core).

Widgets subscribe in their constructor (``workspace.documents_changed.connect(self._on_...)``);
the Qt layer re-emits on the GUI thread where needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Event(Generic[T]):
    """A list of callbacks called with one value; a failing callback never breaks the others."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[T], object]] = []

    def connect(self, callback: Callable[[T], object]) -> None:
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[T], object]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, value: T) -> None:
        for callback in list(self._callbacks):
            try:
                callback(value)
            except Exception:  # a broken listener must not stop a save or a sync
                log.exception("event listener %r failed", callback)
