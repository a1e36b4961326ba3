"""What a search reads per document from an open Whoosh searcher, cached while the index
does not change: per-document facet values (:class:`SegmentTable`, one per segment, built
once: a refresh after an update builds only the new small segment's), field lengths (BM25's
normalisation) and the byte columns of term sequences and pair hashes
(:class:`~kbapp.search.columns.MappedColumn`), joined over the searcher's segments by
:class:`DocTable`.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Any

from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from kbapp.search.blocks import leaf_ids
from kbapp.search.columns import MappedColumn
from kbapp.search.schema import PAIRS_FIELD, SEQUENCE_FIELD
from kbapp.search.vectors import numpy_for


class _Loaded(dict[str, Any]):
    """A dict whose entries are made on first use (by ``load(key)``, which stores them)."""

    def __init__(self, load: Callable[[str], None]) -> None:
        super().__init__()
        self._load = load

    def __missing__(self, key: str) -> Any:
        self._load(key)
        return dict.__getitem__(self, key)


class SegmentTable:
    """Per-document facet values of one segment (segments never change, so this is built once
    per segment: a refresh after a 10-document update only builds the new small segment).
    Each field is read on first use: a search process that shows no facets reads the
    status only (the ranking's factor), not all five (60 ms on 6,000 documents)."""

    def __init__(self, reader: Any) -> None:
        size = reader.doc_count_all()
        self.size = size
        self._reader = reader
        self._lengths: dict[str, list[int]] = {}
        self.values: dict[str, list[Any]] = _Loaded(self._load)
        #: facet field -> value -> its documents (deleted ones too: hits never include them)
        self.members: dict[str, dict[str, list[int]]] = _Loaded(self._load)
        self._columns: dict[str, MappedColumn] = {}
        self._bits: dict[str, dict[str, int]] = {}
        self._columns_reader: Any = None

    def _load(self, name: str) -> None:
        reader, size = self._reader, self.size
        members: dict[str, list[int]] = {}
        if name in ("tag", "system"):
            lists: list[tuple[str, ...]] = [()] * size
            for term in reader.lexicon(name):
                value = term.decode("utf-8")
                members[value] = ids = leaf_ids(reader, name, term, with_deleted=True)
                for docnum in ids:
                    lists[docnum] = (*lists[docnum], value)
            dict.__setitem__(self.values, name, lists)
        else:
            column: list[str] = [""] * size
            for term in reader.lexicon(name):
                value = term.decode("utf-8")
                members[value] = ids = leaf_ids(reader, name, term, with_deleted=True)
                for docnum in ids:
                    column[docnum] = value
            dict.__setitem__(self.values, name, column)
        dict.__setitem__(self.members, name, members)

    def bits(self, name: str) -> dict[str, int]:
        """Each value of a facet field with its documents as a bitset: an integer with the
        lowest bit of byte ``d`` set for document ``d`` (counted against the hits' own with
        one ``&`` and ``bit_count``, in C)."""
        found = self._bits.get(name)
        if found is None:
            found = {}
            for value, ids in self.members[name].items():
                mask = bytearray(self.size)
                for docnum in ids:
                    mask[docnum] = 1
                found[value] = int.from_bytes(mask, "little")
            self._bits[name] = found
        return found

    def column(self, reader: Any, fieldname: str) -> MappedColumn:
        """A per-document column of this segment, opened through ``reader`` (a segment whose
        deletions changed gets a new reader and the old one is closed: open again)."""
        if self._columns_reader is not reader:
            self._columns = {}
            self._columns_reader = reader
        found = self._columns.get(fieldname)
        if found is None:
            found = self._columns[fieldname] = MappedColumn(reader, fieldname)
        return found

    def lengths(self, reader: Any, fieldname: str) -> list[int]:
        """Each document's length of a text field (BM25's normalisation), read once."""
        found = self._lengths.get(fieldname)
        if found is None:
            found = _field_lengths(reader, fieldname, self.size)
            self._lengths[fieldname] = found
        return found


_BYTE_LENGTH = [byte_to_length(i) for i in range(256)]


def _field_lengths(reader: Any, fieldname: str, size: int) -> list[int]:
    try:  # the length column's bytes in one read
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN

        column = reader._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        if column is None:
            return [0] * size
        raw = column._dbfile.get(column._basepos, column._count)
        lengths = [_BYTE_LENGTH[b] for b in raw]
        return lengths + [0] * (size - len(lengths))
    except Exception:  # noqa: BLE001 - another codec: one document at a time
        return [reader.doc_field_length(d, fieldname) or 0 for d in range(size)]


class DocTable:
    """Facet values for every document number of one searcher (segments concatenated)."""

    def __init__(self, searcher: Searcher, cache: dict[str, SegmentTable]) -> None:
        self.values: dict[str, list[Any]] = _Loaded(self._load_values)
        used: dict[str, SegmentTable] = {}
        self.leaves: list[tuple[Any, int, SegmentTable]] = []
        self._lengths: dict[str, list[int]] = {}
        for reader, offset in searcher.reader().leaf_readers():
            key = _segment_key(reader)
            table = cache.get(key) or SegmentTable(reader)
            table._reader = reader  # the live reader (fields not read yet are read through it)
            used[key] = table
            self.leaves.append((reader, offset, table))
        cache.clear()
        cache.update(used)
        self._facet_sets: dict[str, dict[str, frozenset[int]]] = {}
        self._facet_bits: dict[str, dict[str, int]] = {}
        self._everything: frozenset[int] | None = None

    def _load_values(self, name: str) -> None:
        joined: list[Any] = []
        for _reader, _offset, table in self.leaves:
            joined.extend(table.values[name])
        dict.__setitem__(self.values, name, joined)

    @property
    def size(self) -> int:
        """Document numbers of the searcher (deleted ones included)."""
        return sum(table.size for _reader, _offset, table in self.leaves)

    def everything(self) -> frozenset[int]:
        """Every document number of the searcher (deleted ones included)."""
        if self._everything is None:
            self._everything = frozenset(range(self.size))
        return self._everything

    def facet_sets(self, name: str) -> dict[str, frozenset[int]]:
        """Each value of a facet field with its documents (from the segment tables, so an
        update reads nothing again)."""
        found = self._facet_sets.get(name)
        if found is None:
            merged: dict[str, list[int]] = {}
            for _reader, offset, table in self.leaves:
                for value, ids in table.members[name].items():
                    merged.setdefault(value, []).extend(map(offset.__add__, ids) if offset else ids)
            found = self._facet_sets[name] = {v: frozenset(ids) for v, ids in merged.items()}
        return found

    def facet_bits(self, name: str) -> dict[str, int]:
        """:meth:`facet_sets` as bitsets (see :meth:`SegmentTable.bits`): each segment's
        shifted to its first document number (a refresh after an update makes the new small
        segment's only)."""
        found = self._facet_bits.get(name)
        if found is None:
            found = {}
            for _reader, offset, table in self.leaves:
                for value, bits in table.bits(name).items():
                    found[value] = found.get(value, 0) | (bits << (8 * offset))
            self._facet_bits[name] = found
        return found

    @staticmethod
    def bitset(docnums: Iterable[int], size: int) -> int:
        """Document numbers as a bitset (see :meth:`SegmentTable.bits`)."""
        mask = bytearray(size)
        for docnum in docnums:
            mask[docnum] = 1
        return int.from_bytes(mask, "little")

    def containing(self, docnums: frozenset[int], needle: bytes) -> frozenset[int]:
        """The documents of ``docnums`` whose term sequence contains ``needle``."""
        return self._per_segment(docnums, SEQUENCE_FIELD, lambda c, d: c.containing(d, needle))

    def having_pairs(self, docnums: frozenset[int], hashes: list[int]) -> frozenset[int]:
        """The documents of ``docnums`` that have all the term pairs ``hashes``: in NumPy for
        many documents (:func:`numpy_for`), the same answer."""
        np = numpy_for(len(docnums))
        found = None
        if np is not None:
            ordered = np.fromiter(docnums, dtype=np.int64, count=len(docnums))
            ordered.sort()
            found = self.having_pairs_array(np, ordered, hashes)
        if found is None:
            return self._per_segment(docnums, PAIRS_FIELD, lambda c, d: c.having(d, hashes))
        return frozenset(found.tolist())

    def having_pairs_array(self, np: Any, ordered: Any, hashes: list[int]) -> Any:
        """:meth:`having_pairs` of a sorted NumPy array of document numbers, as one (None
        when a segment's column cannot be read in place)."""
        columns = [table.column(reader, PAIRS_FIELD) for reader, _offset, table in self.leaves]
        if not all(c.can_vector() for c in columns):
            return None
        found = []
        for (_reader, offset, table), column in zip(self.leaves, columns):
            lo, hi = np.searchsorted(ordered, [offset, offset + table.size]).tolist()
            if lo < hi:
                found.append(column.having_vector(np, ordered[lo:hi] - offset, hashes) + offset)
        if not found:
            return ordered[:0]
        return np.concatenate(found)

    def sequence(self, docnum: int) -> str:
        """A document's term sequences (all text fields, see :data:`SEQUENCE_FIELD`)."""
        for reader, offset, table in self.leaves:
            if offset <= docnum < offset + table.size:
                raw = table.column(reader, SEQUENCE_FIELD).value(docnum - offset)
                return raw.decode("utf-8", errors="replace")
        return ""

    def pair_counts(self, docnums: Iterable[int], hashes: list[int]) -> dict[int, int]:
        """How many of the term pairs ``hashes`` each of ``docnums`` has."""
        out: dict[int, int] = {}
        ordered = sorted(docnums)
        for reader, offset, table in self.leaves:
            lo = bisect.bisect_left(ordered, offset)
            hi = bisect.bisect_left(ordered, offset + table.size)
            if lo == hi:
                continue
            local = [d - offset for d in ordered[lo:hi]]
            found = table.column(reader, PAIRS_FIELD).counts(local, hashes)
            out.update(zip(ordered[lo:hi], found))
        return out

    def _per_segment(
        self,
        docnums: frozenset[int],
        fieldname: str,
        check: Callable[[MappedColumn, Iterable[int]], list[int]],
    ) -> frozenset[int]:
        out: list[int] = []
        ordered = sorted(docnums)
        for reader, offset, table in self.leaves:
            lo = bisect.bisect_left(ordered, offset)
            hi = bisect.bisect_left(ordered, offset + table.size)
            if lo == hi:
                continue
            local = map((-offset).__add__, ordered[lo:hi]) if offset else ordered[lo:hi]
            found = check(table.column(reader, fieldname), local)
            out.extend(map(offset.__add__, found) if offset else found)
        return frozenset(out)

    def lengths(self, fieldname: str) -> list[int]:
        found = self._lengths.get(fieldname)
        if found is None:
            found = []
            for reader, _offset, table in self.leaves:
                found.extend(table.lengths(reader, fieldname))
            self._lengths[fieldname] = found
        return found


def _segment_key(reader: Any) -> str:
    try:
        return str(reader.segment().segment_id())
    except Exception:  # noqa: BLE001 - not a segment reader: do not cache
        return f"id-{id(reader)}"
