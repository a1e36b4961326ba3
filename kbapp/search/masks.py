"""Which documents match, as NumPy boolean masks (one entry per document number of the
searcher), for a knowledge base large enough that NumPy is loaded
(:func:`~kbapp.search.vectors.numpy_for`).

The same documents as the sets of :class:`~kbapp.search.postings.TermSets`: a term's mask is
its postings' document numbers (deleted documents left out as they are there), a word's the
union over its alternatives and, for a word, over the text fields; a phrase's the documents
having all its terms whose pair hashes (and term sequence) hold it. What a query counts is
then a few operations over arrays of 50,000 entries (a long query's words as one count
vector, the tiers as comparisons of it), where frozensets of 40,000 numbers each cost a
Python object per document; the facets are counted from the hits' mask (one ``bincount``
per facet field).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kbapp.search.analysis import pair_hash
from kbapp.search.postings import PHRASE_FIELDS, TermSets
from kbapp.search.schema import PREFIX_FIELD
from kbapp.search.tables import DocTable

if TYPE_CHECKING:
    from kbapp.search.plan import Alternative, WordPlan

#: Masks of words and phrases kept per searcher (each one byte per document).
MASK_CACHE = 64


class Masks:
    """Document masks of terms, words and phrases on one searcher."""

    def __init__(self, np: Any, sets: TermSets, table: DocTable) -> None:
        self.np = np
        self.sets = sets
        self.table = table
        self.size = table.size
        self._cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
        #: facet field -> (its values, each entry's document, each entry's value number)
        self._facets: dict[str, tuple[list[str], Any, Any]] = {}

    def empty(self) -> Any:
        return self.np.zeros(self.size, dtype=bool)

    def of(self, docnums: Iterable[int]) -> Any:
        """A mask of document numbers."""
        np = self.np
        mask = self.empty()
        ids = docnums if isinstance(docnums, (set, frozenset, list)) else list(docnums)
        if ids:
            mask[np.fromiter(ids, dtype=np.int64, count=len(ids))] = True
        return mask

    def term(self, fieldname: str, term: str) -> Any:
        """The documents of a term in one field (a filter: ``type:sop``)."""
        mask = self.empty()
        ids = self.sets.arrays(self.np, fieldname, term)[0]
        mask[ids] = True
        return mask

    def any_field(self, term: str) -> Any:
        """The documents having ``term`` in any text field (:meth:`TermSets.any_field`)."""
        key = ("", term)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        mask = self.empty()
        for fieldname in PHRASE_FIELDS:
            ids = self.sets.arrays(self.np, fieldname, term)[0]
            if len(ids):
                mask[ids] = True
        self._keep(key, mask)
        return mask

    def phrase(self, terms: list[str]) -> Any:
        """The documents where ``terms`` follow each other (:meth:`TermSets.phrase_docs`)."""
        if len(terms) == 1:
            return self.any_field(terms[0])
        if not terms:
            return self.empty()
        key = (" ", " ".join(terms))
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        np = self.np
        candidates = self.any_field(terms[0]).copy()
        for term in terms[1:]:
            candidates &= self.any_field(term)
        ordered = np.flatnonzero(candidates)
        mask = self.empty()
        if len(ordered):
            hashes = sorted({pair_hash(a, b) for a, b in itertools.pairwise(terms)})
            found = self.table.having_pairs_array(np, ordered, hashes)
            if found is None:  # (a column not mapped: one document at a time)
                docs = self.table.having_pairs(frozenset(ordered.tolist()), hashes)
                found = np.fromiter(sorted(docs), dtype=np.int64, count=len(docs))
            if len(terms) > 2 and len(found):
                needle = (" " + " ".join(terms) + " ").encode("utf-8")
                docs = self.table.containing(frozenset(found.tolist()), needle)
                found = np.fromiter(sorted(docs), dtype=np.int64, count=len(docs))
            mask[found] = True
        self._keep(key, mask)
        return mask

    def alternative(self, alternative: Alternative) -> Any:
        """:meth:`Alternative.docs` as a mask."""
        if alternative.prefix is not None:
            return self.term(PREFIX_FIELD, alternative.prefix)
        return self.phrase(alternative.terms)

    def word(self, plan: WordPlan) -> Any:
        """:meth:`WordPlan.docs` as a mask."""
        if len(plan.alternatives) == 1:
            return self.alternative(plan.alternatives[0])
        mask = self.empty()
        for alternative in plan.alternatives:
            mask |= self.alternative(alternative)
        return mask

    def _keep(self, key: tuple[str, str], mask: Any) -> None:
        self._cache[key] = mask
        if len(self._cache) > MASK_CACHE:
            self._cache.popitem(last=False)

    def facet_counts(self, name: str, hits: Any) -> list[tuple[str, int]]:
        """How many of the ``hits`` (a mask) have each value of a facet field, in the order
        of :meth:`DocTable.facet_sets` (the same counts as intersecting each value's
        documents with the hits)."""
        np = self.np
        found = self._facets.get(name)
        if found is None:
            values = self.table.facet_sets(name)
            sizes = [len(members) for members in values.values()]
            docs = np.fromiter(
                itertools.chain.from_iterable(values.values()), dtype=np.int64, count=sum(sizes)
            )
            codes = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
            found = self._facets[name] = (list(values), docs, codes)
        names, docs, codes = found
        counts = np.bincount(codes[hits[docs]], minlength=len(names)).tolist()
        return list(zip(names, counts))


def has_docs(docs: frozenset[int] | Any) -> bool:
    """Whether a set or a NumPy mask of documents holds any."""
    return bool(docs) if isinstance(docs, frozenset) else bool(docs.any())
