"""Full-text search for the knowledge base (Whoosh; no Qt).

``SearchIndex.for_workspace(ws)`` gives the workspace's index; ``search(text)`` answers a
query with :class:`SearchResponse`. See :mod:`kbapp.search.index` for how the index keeps in
step with the files, :mod:`kbapp.search.analysis` for what a word becomes, and
:mod:`kbapp.search.query` for the query language.

The names below are imported on first use (PEP 562), so a build worker (``python -m
kbapp.search.build``) loads only the modules a build needs, not the searcher's.
"""

from typing import TYPE_CHECKING, Any

from kbapp.search.whoosh_import import import_whoosh

# first, before any module of this package imports Whoosh: without the ~80 ms of modules
# Whoosh imports and never uses (see kbapp.search.whoosh_import)
import_whoosh()

# the fixes applied, and another Whoosh version refused, whatever is imported first
from kbapp.search import whoosh_fixes  # noqa: E402, F401

if TYPE_CHECKING:
    from kbapp.search.index import SearchIndex
    from kbapp.search.multi import search_all
    from kbapp.search.results import IndexState, SearchHit, SearchResponse

__all__ = ["IndexState", "SearchHit", "SearchIndex", "SearchResponse", "search_all"]

_HOMES = {
    "SearchIndex": "kbapp.search.index",
    "search_all": "kbapp.search.multi",
    "IndexState": "kbapp.search.results",
    "SearchHit": "kbapp.search.results",
    "SearchResponse": "kbapp.search.results",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
