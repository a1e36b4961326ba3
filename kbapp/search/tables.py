"""What a search reads from an open Whoosh searcher, cached while the index does not change:
per-document facet values, field lengths and byte columns (term sequences, pair hashes) per
segment, and each term's postings (document set, numbers, weights) read a block at a time.

Which documents match is worked out with Python sets of document numbers, one per term,
read straight from the posting blocks: that keeps the total count and the facet counts over
every hit cheap, and lets "all words first, then some words" be two small scored passes.
"""

from __future__ import annotations

import bisect
import io
import itertools
import mmap
import pickle
import struct
import sys
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from kbapp.search.analysis import pair_hash
from kbapp.search.schema import PAIRS_FIELD, PREFIX_FIELD, PREFIX_GRAMS, SEQUENCE_FIELD

#: The text fields a phrase (and a word's "any field" set) is looked for in.
PHRASE_FIELDS = ("title", "headings", "labels", "body", "code")
EMPTY: frozenset[int] = frozenset()
#: A phrase's pair check runs in NumPy (one binary search per document, all documents at
#: once, in C) from this many candidate documents of a segment when NumPy is already loaded,
#: and imports it from VECTOR_IMPORT_FROM on (its import costs about as much as checking
#: 40,000 documents one by one: a small knowledge base's ``kbapp search`` never loads it).
VECTOR_FROM = 256
VECTOR_IMPORT_FROM = 20_000
#: Off: every check one document at a time (the tests compare both ways).
VECTORS = True
#: Half the width of the window a phrase's pair is first looked for in, in a document's
#: sorted pair hashes (see :meth:`MappedColumn.having_vector`).
PAIR_WINDOW = 64
#: Postings kept as NumPy arrays per searcher (:meth:`TermSets.arrays`).
VECTOR_CACHE = 64
#: (document set, document numbers, one number each): a term's postings or BM25F shares.
Shares = tuple[frozenset[int], Sequence[int], Sequence[float]]


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
                members[value] = ids = _leaf_ids(reader, name, term, with_deleted=True)
                for docnum in ids:
                    lists[docnum] = (*lists[docnum], value)
            dict.__setitem__(self.values, name, lists)
        else:
            column: list[str] = [""] * size
            for term in reader.lexicon(name):
                value = term.decode("utf-8")
                members[value] = ids = _leaf_ids(reader, name, term, with_deleted=True)
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


_DONTNEED = getattr(mmap, "MADV_DONTNEED", None)


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


class MappedColumn:
    """One per-document bytes column of one segment (the term sequences, the pair hashes),
    read in place: the column file is memory-mapped, so checking a document is one C call on
    its bytes (a ``find``, a binary search), with nothing copied or decoded.

    A check (a synonym phrase of common words: a thousand documents) maps a page or two of
    each document; the pages are given back when it ends (they stay in the system's file
    cache; the next check maps them again), or a pasted sentence with a few synonym phrases
    kept 15-30 MiB of the index mapped in the process: its peak memory went from 41 to
    67 MiB."""

    def __init__(self, reader: Any, fieldname: str) -> None:
        self._column: Any = None
        self._map: mmap.mmap | None = None
        self._view: memoryview | None = None
        self._numbers: memoryview | None = None
        #: (the column as NumPy's array of numbers, each document's first number and count)
        self._vectors: tuple[Any, Any, Any] | None = None
        self._offsets: Any = ()
        self._lengths: Any = ()
        self._base = 0
        if not reader.has_column(fieldname):
            return
        column = reader.column_reader(fieldname, translate=False)
        self._column = column
        try:  # Whoosh's VarBytesColumn reader: its offsets, lengths and file
            self._offsets, self._lengths = column._offsets, column._lengths
            self._base = column._basepos
            handle = column._dbfile.file
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            self._view = memoryview(self._map)
        except (AttributeError, OSError, ValueError):  # another codec, or no file to map
            self._map = self._view = None

    def containing(self, docnums: Iterable[int], needle: bytes) -> list[int]:
        """The segment-local ``docnums`` whose value contains ``needle``."""
        if self._column is None:
            return []
        if self._map is None:
            return [d for d in docnums if needle in self._column[d]]
        find, offsets, lengths, base = self._map.find, self._offsets, self._lengths, self._base
        out = []
        for docnum in docnums:
            start = base + offsets[docnum]
            if find(needle, start, start + lengths[docnum]) >= 0:
                out.append(docnum)
        self.release()
        return out

    def release(self) -> None:
        """Give the pages read so far back to the system (read again when needed)."""
        if self._map is not None and _DONTNEED is not None:
            try:
                self._map.madvise(_DONTNEED)
            except (OSError, ValueError):  # not supported here: the pages stay mapped
                pass

    def value(self, docnum: int) -> bytes:
        """One document's bytes."""
        if self._column is None:
            return b""
        if self._map is None:
            return bytes(self._column[docnum])
        start = self._base + self._offsets[docnum]
        return self._map[start : start + self._lengths[docnum]]

    def counts(self, docnums: Iterable[int], numbers: list[int]) -> list[int]:
        """How many of ``numbers`` each of ``docnums`` holds in its sorted array (0 without)."""
        docnums = list(docnums)
        if self._column is None:
            return [0] * len(docnums)
        out = []
        if self._view is not None and self._lengths:
            if self._numbers is None:
                total = self._offsets[-1] + self._lengths[-1]
                self._numbers = self._view[self._base : self._base + total].cast("I")
            array_: Any = self._numbers
            offsets, lengths, bisect_left = self._offsets, self._lengths, bisect.bisect_left
            for docnum in docnums:
                lo = offsets[docnum] >> 2
                hi = lo + (lengths[docnum] >> 2)
                count = 0
                for number in numbers:
                    i = bisect_left(array_, number, lo, hi)
                    if i < hi and array_[i] == number:
                        count += 1
                out.append(count)
            self.release()
            return out
        for docnum in docnums:
            one = memoryview(self._column[docnum]).cast("I")
            size = len(one)
            count = 0
            for number in numbers:
                i = bisect.bisect_left(one, number)
                if i < size and one[i] == number:
                    count += 1
            out.append(count)
        return out

    def having(self, docnums: Iterable[int], numbers: list[int]) -> list[int]:
        """The segment-local ``docnums`` whose value, a sorted array of unsigned 32-bit
        numbers, holds all of ``numbers``."""
        if self._column is None:
            return []
        out = []
        if self._view is not None and self._lengths:
            docnums = docnums if isinstance(docnums, list) else list(docnums)
            np = numpy_for(len(docnums))
            if np is not None:
                found: list[int] = self.having_vector(
                    np, np.asarray(docnums, dtype=np.int64), numbers
                ).tolist()
                return found
            # the whole column as one array: each document's numbers are a slice of it
            if self._numbers is None:
                total = self._offsets[-1] + self._lengths[-1]
                self._numbers = self._view[self._base : self._base + total].cast("I")
            numbers_ = self._numbers
            offsets, lengths, bisect_left = self._offsets, self._lengths, bisect.bisect_left
            for docnum in docnums:
                lo = offsets[docnum] >> 2
                hi = lo + (lengths[docnum] >> 2)
                for number in numbers:
                    i = bisect_left(numbers_, number, lo, hi)
                    if i == hi or numbers_[i] != number:
                        break
                else:
                    out.append(docnum)
            self.release()
            return out
        for docnum in docnums:
            array_ = memoryview(self._column[docnum]).cast("I")
            size = len(array_)
            for number in numbers:
                i = bisect.bisect_left(array_, number)
                if i == size or array_[i] != number:
                    break
            else:
                out.append(docnum)
        return out

    def can_vector(self) -> bool:
        """Whether :meth:`having_vector` can read this column (mapped in place)."""
        return self._view is not None and bool(self._lengths)

    def having_vector(self, np: Any, docs: Any, numbers: list[int]) -> Any:
        """:meth:`having` in NumPy (``docs``: an array of segment-local document numbers;
        :meth:`can_vector` must be true): every document's binary search at once, a step at
        a time (the same answer: each document's slice of the column searched for each
        number). Returns the array of those that hold them all."""
        if self._vectors is None:
            total = self._offsets[-1] + self._lengths[-1]
            column = np.frombuffer(self._map, dtype=np.uint32, count=total >> 2, offset=self._base)
            starts = np.asarray(self._offsets, dtype=np.int64) >> 2
            sizes = np.asarray(self._lengths, dtype=np.int64) >> 2
            self._vectors = (column, starts, sizes)
        column, starts, sizes = self._vectors
        first = starts[docs]
        count = sizes[docs]
        keep = count > 0
        for number in numbers:
            # Python's bisect_left in every document's slice at once, without branches: the
            # first number not below ``number`` is at one of base .. base + n; halve n while
            # it is more than one, then look at base
            base, n = first[keep], count[keep]
            if not len(base):
                break
            end = base + n
            # A document's pair hashes are sorted and spread evenly over 32 bits: the first
            # not below ``number`` is near base + n * number / 2**32. Where the numbers
            # either side of a window around that guess bracket it (the one before the
            # window below ``number``, the one after it not), the search is in the window
            # only: a cache line or two instead of a miss per halving in a 90 MB column;
            # elsewhere in the whole slice. The same answer either way.
            guess = base + ((n * number) >> 32)
            low = np.maximum(base, guess - PAIR_WINDOW)
            high = np.minimum(end, guess + PAIR_WINDOW)
            last = len(column) - 1
            inside = (low == base) | (column.take(np.maximum(low - 1, 0)) < number)
            inside &= (high == end) | (column.take(np.minimum(high, last)) >= number)
            base = np.where(inside, low, base)
            n = np.where(inside, high - low, n)
            for _step in range(int(n.max() - 1).bit_length()):
                half = n >> 1
                base += half * (column.take(base + half) < number)
                n -= half
            base += column.take(base) < number
            found = base < end
            found[found] = column.take(base[found]) == number
            keep[keep] = found
        # (no release: a check of this many documents maps most of the column again, which
        # cost more than the check itself; the pages are the system's file cache, given back
        # by the next check of a few documents)
        return docs[keep]


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


def _leaf_ids(reader: Any, fieldname: str, btext: bytes, with_deleted: bool = False) -> list[int]:
    """Document numbers of one term in one segment, read a block at a time (the matcher's
    own ``all_ids`` costs a Python call per posting)."""
    matcher = reader.postings(fieldname, btext)
    deleted = None
    if isinstance(matcher, FilterMatcher):
        deleted = None if with_deleted else reader.deleted_docs_set
        matcher = matcher.child
    ids: list[int] = []
    try:
        while matcher.is_active():
            if getattr(matcher, "_ids", None) is None and hasattr(matcher, "_read_ids"):
                matcher._read_ids()
            block = getattr(matcher, "_ids", None)
            if block is None or not hasattr(matcher, "_next_block"):
                ids.extend(matcher.all_ids())
                break
            ids.extend(block[matcher._i : matcher._blocklength])
            matcher._next_block()
    except AttributeError:  # another codec: the slow, general way
        ids = list(reader.postings(fieldname, btext).all_ids())
        deleted = None
    if deleted:
        ids = [i for i in ids if i not in deleted]
    return ids


def _leaf_blocks(matcher: Any) -> Iterator[tuple[Any, Any]]:
    """(ids, weights) of one term's postings in one segment (its ``reader.postings``), a
    block at a time."""
    if isinstance(matcher, FilterMatcher):  # deleted documents: the caller filters them
        matcher = matcher.child
        if type(matcher) is W3LeafMatcher:
            yield from _raw_blocks(matcher)
            return
        matcher.reset()  # the filter had moved it past the leading deleted postings
    if type(matcher) is W3LeafMatcher:
        yield from _raw_blocks(matcher)
        return
    if hasattr(matcher, "_next_block") and hasattr(matcher, "_read_weights"):
        while matcher.is_active():
            if matcher._ids is None:
                matcher._read_ids()
            if matcher._weights is None:
                matcher._read_weights()
            yield matcher._ids, matcher._weights
            matcher._next_block()
        return
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    yield ids, weights


_BLOCK_LENGTH = struct.Struct("!i")


def _raw_blocks(matcher: Any) -> list[tuple[Any, Any]]:
    """(ids, weights) of every block of a term's postings in one segment, decoded from the
    postings file as Whoosh 3's block matcher decodes them (``W3LeafMatcher._goto``,
    ``_read_data``, ``_read_ids``, ``_read_weights``: the same numbers), without the
    matcher's calls, seeks and reads per block: the term's postings are one read, then each
    block is its length, its pickled header and its (compressed) pickled data."""
    length = matcher._length
    length = length[0] if isinstance(length, tuple) else length  # (Whoosh keeps a tuple)
    buffer = matcher._postfile.get(matcher._startoffset, length)
    if buffer[:4] != WHOOSH3_HEADER_MAGIC:
        raise struct.error(f"no block of postings at {matcher._startoffset}")
    stream = io.BytesIO(buffer)
    unpack_length = _BLOCK_LENGTH.unpack_from
    byteids = matcher._byteids
    blocks: list[tuple[Any, Any]] = []
    at = 4
    while True:
        size = unpack_length(buffer, at)[0]
        end = at + _BLOCK_LENGTH.size + abs(size)
        stream.seek(at + _BLOCK_LENGTH.size)
        count, _maxid, _maxweight, compression, _shortest, _longest = pickle.load(stream)
        data = buffer[stream.tell() : end]
        ids, weights = pickle.loads(zlib.decompress(data) if compression else data)[:2]
        if not byteids:  # (stored as differences)
            ids = tuple(itertools.accumulate(ids))
        if weights is None:
            weights = array("f", (1.0 for _ in range(count)))
        elif isinstance(weights, float):
            weights = array("f", (weights for _ in range(count)))
        blocks.append((ids, weights))
        if size < 0:  # (the last block's length is negative)
            return blocks
        at = end


def _prefix_terms(reader: Any, bprefix: bytes) -> Iterator[tuple[bytes, Any]]:
    """(word, its inline postings or None) of each word of the prefix field that starts with
    ``bprefix``, in one segment: from the term table's sorted keys with their term infos
    (``W3TermsReader.items_from``), or through ``expand_prefix`` for another codec."""
    terms = getattr(reader, "_terms", None)
    if terms is None or not hasattr(terms, "items_from"):
        for btext in reader.expand_prefix(PREFIX_FIELD, bprefix):
            yield btext, None
        return
    try:
        for (fieldname, btext), info in terms.items_from(PREFIX_FIELD, bprefix):
            if fieldname != PREFIX_FIELD or not btext.startswith(bprefix):
                return
            yield btext, getattr(info, "_inlined", None)
    except (KeyError, TermNotFound):  # no such field in this segment
        return


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
            listed, listed_weights, written = self._read_term(fieldname, term)
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

    def _read_term(self, fieldname: str, term: str) -> tuple[list[int], list[float], int]:
        btext = term.encode("utf-8")
        ids: list[int] = []
        weights: list[float] = []
        written = 0
        for reader, offset in self.leaves:
            try:  # (one look-up in the term table: asking "in reader" first was a second)
                matcher = reader.postings(fieldname, btext)
            except TermNotFound:
                continue
            deleted = reader.deleted_docs_set if reader.has_deletions() else None
            for block_ids, block_weights in _leaf_blocks(matcher):
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
            for btext, inlined in _prefix_terms(reader, bprefix):
                if inlined is not None:
                    id_lists.append(inlined[0])
                    weight_lists.append(inlined[1])
                    continue
                for block_ids, block_weights in _leaf_blocks(reader.postings(PREFIX_FIELD, btext)):
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
