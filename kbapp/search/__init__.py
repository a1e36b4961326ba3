"""Full-text search for the knowledge base (Whoosh; no Qt).

``SearchIndex.for_workspace(ws)`` gives the workspace's index; ``search(text)`` answers a
query with :class:`SearchResponse`. See :mod:`kbapp.search.index` for how the index keeps in
step with the files, :mod:`kbapp.search.analysis` for what a word becomes, and
:mod:`kbapp.search.query` for the query language.
"""

from kbapp.search.index import SearchIndex
from kbapp.search.multi import search_all
from kbapp.search.results import IndexState, SearchHit, SearchResponse

__all__ = ["IndexState", "SearchHit", "SearchIndex", "SearchResponse", "search_all"]
