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

:func:`import_whoosh` imports Whoosh with those three resolved cheaply: while Whoosh's modules
load, ``sys.modules`` holds a stand-in for each (``urlretrieve`` and ``variations`` import the
real function on their first call; ``cached_property`` is :func:`functools.cached_property`,
which does the same for a plain method: computes once, keeps the value in the instance's
``__dict__``, ``del`` resets it). Then the stand-ins are taken out again: a later ``import
urllib.request``, ``import cached_property`` or ``import whoosh.lang.morph_en`` by any code
imports the real module, as if Whoosh had never been imported.

It runs from :mod:`kbapp.search`'s ``__init__``, before any of kbapp's modules imports Whoosh
(every one is in ``kbapp.search``; tests/test_search_whoosh_import.py checks both). Only for
the pinned Whoosh (:data:`kbapp.search.whoosh_fixes.WHOOSH_VERSION`, repeated here so that this
runs before Whoosh's modules are loaded): another version is imported as it comes, and
:mod:`kbapp.search.whoosh_fixes` then refuses it.

The stand-ins are in ``sys.modules`` only while this imports Whoosh, which happens in the
thread that first imports :mod:`kbapp.search` (the CLI and the window both do it at start,
before they start threads).
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Iterator
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
    """``sys.modules`` holds ``stand_ins`` (those not imported already) inside, and as it
    was after."""
    placed = {name: module for name, module in stand_ins.items() if name not in sys.modules}
    sys.modules.update(placed)
    try:
        yield
    finally:
        for name, module in placed.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
            # a package's submodule, imported, is an attribute of the package: not this one
            parent, _, child = name.rpartition(".")
            if parent and getattr(sys.modules.get(parent), child, None) is module:
                delattr(sys.modules[parent], child)


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
