"""Importing Whoosh without the modules it imports and never uses.

whoosh-reloaded 2.7.5 loads, at import, three things kbapp's search never calls:

- ``whoosh.compat`` does ``from urllib.request import urlretrieve`` (a name Whoosh itself never
  uses), which imports ``http.client``, ``email`` and ``ssl``: 35-40 ms of every ``kbapp
  search`` process;
- ``whoosh.reading`` does ``from cached_property import cached_property`` (for one property,
  ``SegmentReader.deleted_docs_set``), and that package imports ``asyncio``: ~30 ms;
- ``whoosh.query.terms`` does ``from whoosh.lang.morph_en import variations`` (for the
  ``Variations`` query, which kbapp does not build), a module that compiles 50 regular
  expressions at import: ~13 ms.

:func:`import_whoosh` imports Whoosh with those three resolved cheaply: while it imports
Whoosh's modules, the ``from ... import`` statements of Whoosh's modules that name them, in
this thread, get a stand-in module (``urlretrieve`` and ``variations`` import the real
function on their first call; ``cached_property`` is :func:`functools.cached_property`, which
does the same for a plain method: computes once, keeps the value in the instance's
``__dict__``, ``del`` resets it). Why ``__import__`` and not stand-ins in ``sys.modules``:
another thread importing one of the three meanwhile would get the stand-in.
``sys.modules`` is never touched, nor is any other thread's import (the window imports the
search on a worker thread): a later ``import urllib.request``, ``import cached_property`` or
``import whoosh.lang.morph_en``, by any code, imports the real module as usual.

It runs from :mod:`kbapp.search`'s ``__init__``, before any of kbapp's modules imports Whoosh
(every one is in ``kbapp.search``; tests/test_search_whoosh_import.py checks both). Only for
the pinned Whoosh (:data:`kbapp.search.whoosh_fixes.WHOOSH_VERSION`, repeated here so that this
runs before Whoosh's modules are loaded): another version is imported as it comes, and
:mod:`kbapp.search.whoosh_fixes` then refuses it.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

#: The Whoosh whose imports are known (``whoosh_fixes.WHOOSH_VERSION``, which is checked
#: to be the same by the tests).
WHOOSH_VERSION = (2, 7, 5)

#: The Whoosh modules that import the three names; importing them imports the rest that
#: kbapp uses (the tests check that no other Whoosh module imports them).
WHOOSH_MODULES = ("whoosh.compat", "whoosh.reading", "whoosh.query", "whoosh.searching")

#: The modules replaced while Whoosh loads.
STAND_IN_NAMES = ("urllib.request", "cached_property", "whoosh.lang.morph_en")


def _on_first_call(module: str, name: str) -> Callable[..., Any]:
    """A function that imports ``module.name`` when called, and calls it."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{module}.{name}, imported on the first call (see {__name__})."
    return call


def _stand_ins() -> dict[str, ModuleType]:
    urllib_request = ModuleType("urllib.request", f"A stand-in of {__name__}.")
    urllib_request.urlretrieve = _on_first_call("urllib.request", "urlretrieve")  # type: ignore[attr-defined]
    package = ModuleType("cached_property", f"A stand-in of {__name__}.")
    package.cached_property = functools.cached_property  # type: ignore[attr-defined]
    morph_en = ModuleType("whoosh.lang.morph_en", f"A stand-in of {__name__}.")
    morph_en.variations = _on_first_call("whoosh.lang.morph_en", "variations")  # type: ignore[attr-defined]
    return {
        "urllib.request": urllib_request,
        "cached_property": package,
        "whoosh.lang.morph_en": morph_en,
    }


@contextmanager
def _standing_in(stand_ins: dict[str, ModuleType]) -> Iterator[None]:
    """Inside, a ``from NAME import ...`` in a Whoosh module run by this thread gets
    ``stand_ins[NAME]`` (when NAME is not imported already); every other import is left to
    Python's own."""
    thread = threading.get_ident()
    python_import = builtins.__import__

    def kbapp_import(
        name: str,
        globals: Mapping[str, object] | None = None,  # noqa: A002  (__import__'s own names)
        locals: Mapping[str, object] | None = None,  # noqa: A002
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> ModuleType:
        if (
            fromlist
            and not level
            and name in stand_ins
            and name not in sys.modules
            and threading.get_ident() == thread
            and str((globals or {}).get("__name__", "")).startswith("whoosh.")
        ):
            return stand_ins[name]
        return python_import(name, globals, locals, fromlist, level)

    builtins.__import__ = kbapp_import
    try:
        yield
    finally:
        if builtins.__import__ is kbapp_import:
            builtins.__import__ = python_import


def import_whoosh() -> None:
    """Import the Whoosh modules kbapp uses, without ``urllib.request``, ``asyncio`` and
    Whoosh's English morphology (see the module's docstring). Does nothing the second time."""
    if all(name in sys.modules for name in WHOOSH_MODULES):
        return
    import whoosh  # (its __init__ holds the version and imports nothing)

    if tuple(whoosh.__version__[:3]) != WHOOSH_VERSION:
        for name in WHOOSH_MODULES:  # as it comes: whoosh_fixes says what is wrong
            importlib.import_module(name)
        return
    with _standing_in(_stand_ins()):
        for name in WHOOSH_MODULES:
            importlib.import_module(name)
