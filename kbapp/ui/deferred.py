"""What the window builds after its first paint.

The lifecycle and co-sourcing views (review queue, health, incident mode, responsibility
matrix, handovers, onboarding) stand on core modules that take a while to import (SQLAlchemy,
Jinja2, ...). The window shows itself first, a worker imports these, and the views are built
when they are in (:meth:`kbapp.ui.window.MainWindow.start`), or on first use if that is sooner.
"""

from __future__ import annotations

import importlib

#: Core modules behind the lifecycle and co-sourcing views (SQLAlchemy for the activity store
#: and the catalog, Jinja2 for the report, ...): a worker imports them after the window is
#: shown, and the views are built when they are in (see :meth:`MainWindow.start`).
DEFERRED_MODULES = (
    "kbapp.catalog",
    "kbapp.lifecycle.incident",
    "kbapp.lifecycle.capture",
    "kbapp.lifecycle.report_html",
    "kbapp.lifecycle.review_actions",
    "kbapp.cosourcing.matrix",
    "kbapp.cosourcing.handover",
    "kbapp.cosourcing.onboarding",
)


def import_deferred() -> None:
    """Import them (on a worker: the window stays responsive meanwhile)."""
    for name in DEFERRED_MODULES:
        importlib.import_module(name)
