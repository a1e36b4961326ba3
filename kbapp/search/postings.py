"""Each term's postings on one searcher (:class:`TermSets`): document numbers and weights
read once per searcher and kept a while, a term's document set made when asked, the
documents of a word in any text field and of a phrase (all its terms, then its pairs and
its term sequence checked in :class:`~kbapp.search.tables.DocTable`'s columns).

Which documents match is worked out with Python sets of document numbers, one per term,
read straight from the posting blocks (:mod:`kbapp.search.blocks`): that keeps the total
count and the facet counts over every hit cheap, and lets "all words first, then some words"
be two small scored passes.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from whoosh.reading import TermNotFound
from whoosh.searching import Searcher

from kbapp.search.analysis import pair_hash
from kbapp.search.blocks import leaf_arrays, leaf_blocks, prefix_terms, stored_length
from kbapp.search.schema import PREFIX_FIELD, PREFIX_GRAMS
from kbapp.search.tables import DocTable
from kbapp.search.vectors import numpy_for

#: The text fields a phrase (and a word's "any field" set) is looked for in.
PHRASE_FIELDS = ("title", "headings", "labels", "body", "code")
EMPTY: frozenset[int] = frozenset()
#: A term's postings are decoded in NumPy (:func:`leaf_arrays`) when a segment holds this
#: many bytes of them or more (about 3,500 postings; below, NumPy's calls cost more than
#: decoding them one by one).
ARRAY_BYTES = 40_000
#: Postings kept as NumPy arrays per searcher (:meth:`TermSets.arrays`).
VECTOR_CACHE = 64
#: (document set, document numbers, one number each): a term's postings or BM25F shares.
Shares = tuple[frozenset[int], Sequence[int], Sequence[float]]


class TermSets:
    """Cached document sets of terms on one searcher."""

    def __init__(self, searcher: Searcher, table: DocTable, size: int = 1024) -> None:
        self.searcher = searcher
        self.table = table
        self.leaves = searcher.reader().leaf_readers()
        #: (field, term), ("", term) or (" ", phrase) -> [document set or None, numbers, weights]
        self._cache: OrderedDict[tuple[str, str], list[Any]] = OrderedDict()
        self._size = size
        self._vectors: OrderedDict[tuple[str, str], tuple[Any, Any]] = OrderedDict()

    def postings(self, fieldname: str, term: str) -> Shares:
        """(document set, document numbers, weights) of a term, read once per searcher."""
        ids, weights = self.read(fieldname, term)
        return self.docs(fieldname, term), ids, weights

    def read(self, fieldname: str, term: str) -> tuple[Sequence[int], Sequence[float]]:
        """(document numbers, weights) of a term, read once per searcher; its document set
        is made only when asked (:meth:`docs`): a word is looked for in five fields, and
        the five sets beside their union were most of a long query's memory."""
        key = (fieldname, term)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found[1], found[2]
        if fieldname == PREFIX_FIELD and len(term) > PREFIX_GRAMS:
            listed, listed_weights = self._read_prefix(term)
            written = len(listed)  # (no idf: the prefix field is not scored by BM25)
        else:
            matchers = self._matchers(fieldname, term)
            found_arrays = self._read_arrays(matchers)
            if found_arrays is not None:
                self._keep(key, [None, *found_arrays])
                return found_arrays[0], found_arrays[1]
            listed, listed_weights, written = self._read_term(matchers)
        # kept as arrays of numbers, which the garbage collector never looks into (tuples of
        # a query's new postings were walked once by the first collection after it: 20-45 ms
        # of a query at 50,000 documents) and NumPy reads in place (:meth:`arrays`)
        ids, weights = array("q", listed), array("d", listed_weights)
        self._keep(key, [None, ids, weights, written])
        return ids, weights

    def arrays(self, np: Any, fieldname: str, term: str) -> tuple[Any, Any]:
        """A term's postings (:meth:`read`) as NumPy arrays (document numbers, weights),
        kept a while."""
        key = (fieldname, term)
        found = self._vectors.get(key)
        if found is not None:
            self._vectors.move_to_end(key)
            return found
        ids, weights = self.read(fieldname, term)
        if not len(ids):
            found = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))
        else:  # the arrays' own memory, as NumPy arrays (the same numbers, nothing copied)
            found = (np.frombuffer(ids, dtype=np.int64), np.frombuffer(weights, dtype=np.float64))
        self._vectors[key] = found
        if len(self._vectors) > VECTOR_CACHE:
            self._vectors.popitem(last=False)
        return found

    def _matchers(self, fieldname: str, term: str) -> list[tuple[Any, int, Any]]:
        """(segment, its first document number, the term's postings there) of each segment
        holding the term."""
        btext = term.encode("utf-8")
        found = []
        for reader, offset in self.leaves:
            try:  # (one look-up in the term table: asking "in reader" first was a second)
                found.append((reader, offset, reader.postings(fieldname, btext)))
            except TermNotFound:
                continue
        return found

    def _read_arrays(self, matchers: list[tuple[Any, int, Any]]) -> tuple[array, array, int] | None:
        """:meth:`_read_term` through NumPy (:func:`leaf_arrays`: each segment's blocks
        decoded at once, deleted documents dropped by a mask) for a term with long postings
        in a knowledge base large enough that NumPy is loaded: the same numbers, as the
        arrays :meth:`read` keeps. None for a term whose postings are all short (NumPy's
        calls cost more there), without NumPy, or when a segment's blocks are written
        otherwise."""
        np = numpy_for(self.table.size)
        if np is None:
            return None
        if not any(stored_length(m) >= ARRAY_BYTES for _r, _o, m in matchers):
            return None
        id_parts, weight_parts = [], []
        written = 0
        for reader, offset, matcher in matchers:
            found = leaf_arrays(np, matcher)
            if found is None:
                return None
            ids, weights = found
            written += len(ids)
            if reader.has_deletions():
                deleted = reader.deleted_docs_set
                if deleted:
                    gone = np.fromiter(deleted, dtype=np.int64, count=len(deleted))
                    kept = ~np.isin(ids, gone)
                    ids, weights = ids[kept], weights[kept]
            id_parts.append(ids + offset if offset else ids)
            weight_parts.append(weights)
        ids_out, weights_out = array("q"), array("d")
        if id_parts:
            ids_out.frombytes(np.concatenate(id_parts).astype(np.int64).tobytes())
            weights_out.frombytes(np.concatenate(weight_parts).astype(np.float64).tobytes())
        return ids_out, weights_out, written

    def _read_term(
        self, matchers: list[tuple[Any, int, Any]]
    ) -> tuple[list[int], list[float], int]:
        """(document numbers, weights, postings written) of a term from its ``matchers``
        (:meth:`_matchers`), a block at a time, deleted documents left out."""
        ids: list[int] = []
        weights: list[float] = []
        written = 0
        for reader, offset, matcher in matchers:
            deleted = reader.deleted_docs_set if reader.has_deletions() else None
            for block_ids, block_weights in leaf_blocks(matcher):
                written += len(block_ids)
                if deleted and not deleted.isdisjoint(block_ids):
                    # the postings between the deleted ones (a block's numbers are sorted):
                    # a few slices, not a look-up per posting
                    start = 0
                    for gone in sorted(deleted.intersection(block_ids)):
                        at = bisect.bisect_left(block_ids, gone)
                        kept = block_ids[start:at]
                        ids.extend(map(offset.__add__, kept) if offset else kept)
                        weights.extend(block_weights[start:at])
                        start = at + 1
                    kept = block_ids[start:]
                    ids.extend(map(offset.__add__, kept) if offset else kept)
                    weights.extend(block_weights[start:])
                else:
                    ids.extend(map(offset.__add__, block_ids) if offset else block_ids)
                    weights.extend(block_weights)
        return ids, weights, written

    def _read_prefix(self, prefix: str) -> tuple[list[int], list[float]]:
        """The documents having a word that starts with ``prefix`` in the field of words
        being typed (:data:`~kbapp.search.schema.PREFIX_FIELD`), each with the largest weight
        of those words: what the edge n-gram ``prefix`` of those words gave (a prefix of up
        to :data:`~kbapp.search.schema.PREFIX_GRAMS` letters is a term of its own). The term table
        is sorted, so the words are read from ``prefix`` on until one does not start with
        it, each with its term info; a word of few documents has its postings in it."""
        best: dict[int, float] = {}
        bprefix = prefix.encode("utf-8")
        for reader, offset in self.leaves:
            id_lists: list[Any] = []
            weight_lists: list[Any] = []
            for btext, inlined in prefix_terms(reader, bprefix):
                if inlined is not None:
                    id_lists.append(inlined[0])
                    weight_lists.append(inlined[1])
                    continue
                for block_ids, block_weights in leaf_blocks(reader.postings(PREFIX_FIELD, btext)):
                    id_lists.append(block_ids)
                    weight_lists.append(block_weights)
            ids = list(itertools.chain.from_iterable(id_lists))
            weights = list(itertools.chain.from_iterable(weight_lists))
            # the largest weight of each document last, so the dict keeps it
            order = sorted(range(len(weights)), key=weights.__getitem__)
            leaf = dict(zip(map(ids.__getitem__, order), map(weights.__getitem__, order)))
            if reader.has_deletions():
                for docnum in reader.deleted_docs_set.intersection(leaf):
                    del leaf[docnum]
            best.update(zip(map(offset.__add__, leaf), leaf.values()) if offset else leaf.items())
        found = sorted(best)
        return found, list(map(best.__getitem__, found))

    def known_size(self, fieldname: str, term: str) -> int:
        """How many postings of a term were read, if they are kept (0 if not)."""
        found = self._cache.get((fieldname, term))
        return len(found[1]) if found is not None else 0

    def written(self, fieldname: str, term: str) -> int:
        """How many postings of a term the segments hold, deleted documents included: its
        document frequency as Whoosh's term table has it (the idf's), counted while reading."""
        self.read(fieldname, term)
        return int(self._cache[(fieldname, term)][3])

    def docs(self, fieldname: str, term: str) -> frozenset[int]:
        ids = self.read(fieldname, term)[0]
        entry = self._cache[(fieldname, term)]
        if entry[0] is None:
            entry[0] = frozenset(ids)
        return entry[0]

    def any_field(self, term: str) -> frozenset[int]:
        """Documents having ``term`` in any text field."""
        key = ("", term)
        found = self._cache.get(key)
        if found is None:
            docs = frozenset(
                itertools.chain.from_iterable(self.read(f, term)[0] for f in PHRASE_FIELDS)
            )
            self._keep(key, [docs, [], [], 0])
            return docs
        self._cache.move_to_end(key)
        return found[0]

    def _keep(self, key: tuple[str, str], entry: list[Any]) -> None:
        self._cache[key] = entry
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)

    def phrase_docs(self, terms: list[str]) -> frozenset[int]:
        """Documents where ``terms`` follow each other in one field: the documents having all
        the terms (rarest first), then the phrase looked for in their term sequences."""
        if len(terms) == 1:
            return self.any_field(terms[0])
        # kept like a term's postings: a synonym phrase ("not show up", "command prompt") is
        # looked up by every query that has one of its group's words, typing repeats it
        key = (" ", " ".join(terms))
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found[0]
        docs = self._phrase_docs(terms)
        self._keep(key, [docs, [], [], 0])
        return docs

    def _phrase_docs(self, terms: list[str]) -> frozenset[int]:
        candidates: frozenset[int] | None = None
        for docs in sorted((self.any_field(t) for t in terms), key=len):
            candidates = docs if candidates is None else candidates & docs
            if not candidates:
                return EMPTY
        # Every pair of neighbours must be one of the document's pairs (a binary search in
        # its sorted pair hashes); a longer phrase is then looked for in the survivors' term
        # sequences. (A 32-bit hash: a document has a pair it lacks only if two of its own
        # pairs collide with the phrase's, about once in 5 million documents checked.)
        hashes = sorted({pair_hash(a, b) for a, b in itertools.pairwise(terms)})
        found = self.table.having_pairs(candidates or EMPTY, hashes)
        if len(terms) > 2 and found:
            needle = (" " + " ".join(terms) + " ").encode("utf-8")
            found = self.table.containing(found, needle)
        return found
