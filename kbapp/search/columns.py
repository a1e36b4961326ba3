"""One per-document bytes column of one segment (the term sequences, the pair hashes),
read in place from the memory-mapped column file: :class:`MappedColumn`, whose checks (which
documents contain a phrase, hold all of a phrase's pairs, how many of a query's pairs each
has) are one C call per document, or in NumPy for many documents at once.
"""

from __future__ import annotations

import bisect
import mmap
from collections.abc import Iterable
from typing import Any

from kbapp.search.vectors import numpy_for

#: Half the width of the window a phrase's pair is first looked for in, in a document's
#: sorted pair hashes, around the place guessed for it (see :meth:`MappedColumn.having_vector`).
PAIR_WINDOW = 8
#: How many times that guess is corrected by the hash read at the place guessed before.
PAIR_GUESSES = 1
#: Documents checked together (the arrays of a step stay in the processor's cache: 20 %
#: faster than all 25,000 of a segment at once).
PAIR_CHUNK = 4096

_DONTNEED = getattr(mmap, "MADV_DONTNEED", None)


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

    def close(self) -> None:
        """Unmap the column file (its segment's reader is being closed): a mapping left to
        the garbage collector keeps the file open, and Windows then cannot move or delete
        the index folder (a full rebuild's swap, a merge's clean-up)."""
        self._vectors = None
        for view in (self._numbers, self._view):
            if view is not None:
                view.release()
        self._numbers = self._view = None
        if self._map is not None:
            self._map.close()
            self._map = None
        self._column = None

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

    @staticmethod
    def _bisect(np: Any, column: Any, base: Any, n: Any, number: int) -> tuple[Any, Any]:
        """Halve each range base .. base + n (n ≥ 1) while it is longer than one, keeping
        the first number not below ``number`` in it (the ranges given are changed)."""
        top = int(n.max()) if len(n) else 0
        for _step in range(max(top - 1, 0).bit_length()):
            half = n >> 1
            base += half * (column.take(base + half) < number)
            n -= half
        return base, n

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
        if len(docs) > PAIR_CHUNK:
            return np.concatenate(
                [
                    self.having_vector(np, docs[at : at + PAIR_CHUNK], numbers)
                    for at in range(0, len(docs), PAIR_CHUNK)
                ]
            )
        column, starts, sizes = self._vectors
        first = starts[docs]
        count = sizes[docs]
        keep = count > 0
        last = len(column) - 1
        for number in numbers:
            # Python's bisect_left in every document's slice at once, without branches: the
            # first number not below ``number`` is at one of base .. base + n; halve n while
            # it is more than one, then look at base
            base, n = first[keep], count[keep]
            if not len(base):
                break
            end = base + n
            # A document's pair hashes are sorted and spread evenly over 32 bits: the first
            # not below ``number`` is near base + n * number / 2**32, and nearer still after
            # moving from there by n * (number - the hash found there) / 2**32 (interpolation
            # search). Where the hashes either side of a window around that guess bracket it
            # (the one before the window below ``number``, the one after it not), the search
            # is in the window only: the guess and the window are a cache line or two of the
            # 90 MB column instead of a miss per halving; the other documents (a few in a
            # hundred) are searched in their whole slice, apart. The same answer either way.
            guess = base + ((n * number) >> 32)
            for _step in range(PAIR_GUESSES):
                moved = (number - column.take(guess).astype(np.int64)) * n
                guess += moved >> 32
                np.clip(guess, base, end - 1, out=guess)
            low = np.maximum(base, guess - PAIR_WINDOW)
            high = np.minimum(end, guess + PAIR_WINDOW)
            inside = (low == base) | (column.take(np.maximum(low - 1, 0)) < number)
            inside &= (high == end) | (column.take(np.minimum(high, last)) >= number)
            outside = np.flatnonzero(~inside)
            base, n = low, high - low
            if len(outside):
                base[outside], n[outside] = self._bisect(
                    np, column, first[keep][outside], count[keep][outside], number
                )
            base, n = self._bisect(np, column, base, n, number)
            base += column.take(np.minimum(base, last)) < number
            found = base < end
            found[found] = column.take(base[found]) == number
            keep[keep] = found
        # (no release: a check of this many documents maps most of the column again, which
        # cost more than the check itself; the pages are the system's file cache, given back
        # by the next check of a few documents)
        return docs[keep]
