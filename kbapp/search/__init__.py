"""Full-text search for the knowledge base (Whoosh; no Qt).

``SearchIndex.for_workspace(ws)`` gives the workspace's index; ``search(text)`` answers a
query with :class:`SearchResponse`. See :mod:`kbapp.search.index` for how the index keeps in
step with the files, :mod:`kbapp.search.analysis` for what a word becomes, and
:mod:`kbapp.search.query` for the query language.
"""

from kbapp.search.whoosh_import import import_whoosh

# first, before any module of this package imports Whoosh: without the ~80 ms of modules
# Whoosh imports and never uses (see kbapp.search.whoosh_import)
import_whoosh()

from kbapp.search.index import SearchIndex  # noqa: E402
from kbapp.search.multi import search_all  # noqa: E402
from kbapp.search.results import IndexState, SearchHit, SearchResponse  # noqa: E402

__all__ = ["IndexState", "SearchHit", "SearchIndex", "SearchResponse", "search_all"]
