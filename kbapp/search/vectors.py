"""When search work runs in NumPy: :func:`numpy_for` and the sizes it decides by.

From :data:`VECTOR_FROM` documents (or postings) on, when NumPy is loaded, a phrase's pair
check (:mod:`kbapp.search.columns`), BM25F of every document (:mod:`kbapp.search.ranking`)
and the documents as masks (:mod:`kbapp.search.masks`) run in NumPy instead of a Python loop,
with the same answers; :data:`VECTORS` off runs everything one document at a time.
"""

from __future__ import annotations

import sys
from typing import Any

#: A phrase's pair check runs in NumPy (one binary search per document, all documents at
#: once, in C) from this many candidate documents of a segment when NumPy is already loaded,
#: and imports it from VECTOR_IMPORT_FROM on (its import costs about as much as checking
#: 40,000 documents one by one: a small knowledge base's ``kbapp search`` never loads it).
VECTOR_FROM = 256
VECTOR_IMPORT_FROM = 20_000
#: Off: every check one document at a time (the tests compare both ways).
VECTORS = True


def numpy_for(size: int, work: int = 0) -> Any:
    """NumPy, for work on ``size`` documents at once (or ``work`` postings): None below
    :data:`VECTOR_FROM`, when it is not installed, or when importing it would cost more
    than the work (fewer than :data:`VECTOR_IMPORT_FROM` documents)."""
    if not VECTORS or max(size, work) < VECTOR_FROM:
        return None
    found = sys.modules.get("numpy")
    if found is None and size >= VECTOR_IMPORT_FROM:
        try:
            import numpy as found
        except ImportError:  # (a platform without it: one document at a time)
            return None
    return found
