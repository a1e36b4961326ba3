"""Facet counts over a query's hits (type, organisation, status, tags, systems): each
value's number of hits, the most frequent first, from the per-segment tables of
:class:`~kbapp.search.tables.DocTable` (an update reads nothing again).

Three ways, the same counts: the hits as a bitset against each value's (one ``&`` and
``bit_count`` per value, in C: type, organisation, a team's tags), a count over the hits' own
values (a look-up per hit: cheaper when the values are many, or the hits few), and, for a
large knowledge base whose hits are a NumPy mask (:mod:`kbapp.search.masks`), one
``bincount`` per facet field over every document having a value.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from typing import Any

from kbapp.search.masks import Masks
from kbapp.search.schema import FACET_FIELDS
from kbapp.search.tables import DocTable

FACET_LIMIT = 20
FACET_SETS_UP_TO = 64
#: Facets with at most this many values may be counted with bitsets: one ``&`` of the hits'
#: bitset and a value's costs about this share of a count's look-up per document number.
FACET_BIT_COST = 0.008


class FacetCounter:
    """Facet counts on one searcher's documents (a new one per searcher generation)."""

    def __init__(self, table: DocTable) -> None:
        self.table = table
        self._per_doc: dict[str, float] = {}

    def count(
        self, docs: Iterable[int] | Any, masks: Masks | None = None
    ) -> dict[str, list[tuple[str, int]]]:
        """Counts of each facet value over ``docs`` (the first :data:`FACET_LIMIT` of each
        facet, the most frequent first), the cheapest way per facet. Most documents hit
        (common words): what is not hit is looked at instead. A NumPy mask of the hits,
        with the searcher's ``masks``: one count of every value at once per facet."""
        if hasattr(docs, "dtype"):
            if masks is not None:
                return {
                    key: _top(masks.facet_counts(name, docs)) for key, name in FACET_FIELDS.items()
                }
            array: Any = docs
            docs = array.nonzero()[0].tolist()
        hits = docs if isinstance(docs, (set, frozenset)) else frozenset(docs)
        out = {}
        size = self.table.size
        missed = self.table.everything() - hits if len(hits) > size // 2 else None
        looked = hits if missed is None else missed
        looked_bits: int | None = None
        for key, name in FACET_FIELDS.items():
            values = self.table.facet_sets(name)
            per_doc = self._values_per_doc(name, values)
            by_bits = len(values) <= FACET_SETS_UP_TO and len(
                values
            ) * size * FACET_BIT_COST <= per_doc * len(looked)
            if by_bits:
                if looked_bits is None:
                    looked_bits = self.table.bitset(looked, size)
                bits = self.table.facet_bits(name)
                if missed is not None:
                    counted = [
                        (v, len(members) - (looked_bits & bits[v]).bit_count())
                        for v, members in values.items()
                    ]
                else:
                    counted = [(v, (looked_bits & bits[v]).bit_count()) for v in values]
            else:
                column = self.table.values[name]
                if name in ("tag", "system"):
                    counts = Counter(itertools.chain.from_iterable(map(column.__getitem__, looked)))
                else:
                    counts = Counter(map(column.__getitem__, looked))
                if missed is not None:
                    counted = [(v, len(members) - counts[v]) for v, members in values.items()]
                else:
                    counted = [(v, counts[v]) for v in values]
            out[key] = _top(counted)
        return out

    def _values_per_doc(self, name: str, values: dict[str, frozenset[int]]) -> float:
        """How many values of a facet a document has on average (1 at most for one-valued
        facets; a document's tags are several)."""
        found = self._per_doc.get(name)
        if found is None:
            found = max(1.0, sum(len(m) for m in values.values()) / max(self.table.size, 1))
            self._per_doc[name] = found
        return found


def _top(counted: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The values hit, the most hits first (then by value), the first :data:`FACET_LIMIT`."""
    items = [(value, count) for value, count in counted if count]
    return sorted(items, key=lambda kv: (-kv[1], kv[0]))[:FACET_LIMIT]
