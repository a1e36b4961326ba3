"""Corrections to whoosh-reloaded 2.7.5, applied when kbapp's search is imported.

- ``W3PerDocReader._cached_reader`` remembers that a field has *no* length column only when it
  has one: for every posting of a field that is not scorable (tags, prefixes, the spelling
  vocabulary...) it asked the file system again. Writing a segment of 300 runbooks made
  180,000 ``stat`` calls and took most of the commit. Segment files never change once
  written, so the answer can be cached either way.
- Posting lists short enough to be "inlined" in the term table call ``set_inline`` on the
  term info, which is named ``set_inlined``: the default ``inlinelimit=1`` never inlines, so
  nobody noticed. kbapp inlines terms with fewer than 8 postings (most terms), which saves a
  block write each.
- ``ListMatcher.value()`` (the matcher of inlined postings) answers ``''``, a str, for a field
  without values; merging segments (Whoosh does it after a few small commits, e.g. a handful
  of saves) then fails with ``AssertionError: vbytes=''``. It answers ``b''``. (Found by
  tests/test_search_trust.py.)

And three speed-ups with the same results: the codec turns document numbers into gaps and
back with Python generators (one call per posting, on every block read and written); here
``itertools.accumulate`` and ``map(operator.sub, ...)`` do it in C. Reading the postings of a
term in 9,000 documents was a third of a three-word query's time. Likewise a bytes column
(stored fields, snippet texts, pair hashes) works out where each document's value starts
from the lengths with ``itertools.accumulate``, not a Python loop: opening the columns a
search reads was 7 loops over every document of every segment, in each ``kbapp search``.

The version is pinned in pyproject.toml (``whoosh-reloaded==2.7.5``; upstream has been
dormant since 2024) and checked here: these patches, the block readers of
:mod:`kbapp.search.searcher` and the segment writer of :mod:`kbapp.search.segment` use
Whoosh's private names, which another version may rename. :func:`missing_private_names`
lists those that are gone (tests/test_search_lifecycle.py runs it), so a Whoosh that
changed under kbapp fails loudly instead of searching wrongly.
"""

from __future__ import annotations

import itertools
import operator
import struct
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

import whoosh
from whoosh import columns, writing
from whoosh import index as whoosh_index
from whoosh.codec import whoosh3
from whoosh.filedb import filetables
from whoosh.matching.mcore import ListMatcher
from whoosh.reading import SegmentReader
from whoosh.util.numlists import GrowableArray

#: The Whoosh these corrections and kbapp's use of its private names were written for.
WHOOSH_VERSION = (2, 7, 5)

#: Private names kbapp reads or replaces, on classes and modules (the block readers' instance
#: attributes -- ``_ids``, ``_offsets``... -- are checked on a real index by the tests).
PRIVATE_NAMES: list[tuple[Any, str]] = [
    (whoosh3.W3PerDocReader, "_cached_reader"),
    (whoosh3.W3TermInfo, "set_inlined"),
    (whoosh3.W3LeafMatcher, "_read_ids"),
    (whoosh3.W3LeafMatcher, "_read_weights"),
    (whoosh3.W3LeafMatcher, "_next_block"),
    # the postings' blocks are decoded as these decode them (kbapp/search/blocks.py)
    (whoosh3.W3LeafMatcher, "_goto"),
    (whoosh3.W3LeafMatcher, "_read_data"),
    (whoosh3, "WHOOSH3_HEADER_MAGIC"),
    (whoosh3, "delta_decode"),
    (whoosh3, "delta_encode"),
    # ... and their bytes as these write them (blocks.leaf_arrays reads the pickles)
    (whoosh3.W3PostingsWriter, "_mini_ids"),
    (whoosh3.W3PostingsWriter, "_mini_weights"),
    (whoosh3, "LENGTHS_COLUMN"),
    (columns.VarBytesColumn.Reader, "_read_offsets_and_lengths"),
    (ListMatcher, "value"),
    (whoosh_index.FileIndex, "_read_toc"),
    (writing.SegmentWriter, "_finalize_segment"),
    (SegmentReader, "segment"),
    # kbapp.search.segment (the build's writer; its instance attributes are checked by
    # tests/test_search_segment.py, and its files compared with Whoosh's writer's)
    (writing.SegmentWriter, "_check_state"),
    (writing.SegmentWriter, "_merge_segments"),
    (writing.SegmentWriter, "_close_segment"),
    (writing.SegmentWriter, "_commit_toc"),
    (writing.SegmentWriter, "_finish"),
    (whoosh3.W3PostingsWriter, "_write_block"),
    (whoosh3.W3TermInfo, "_struct"),
    (GrowableArray, "_retype"),
    (filetables.HashWriter, "_write_hashes"),
    (filetables, "_pointer"),
]


class WhooshChanged(RuntimeError):
    """The installed Whoosh is not the one kbapp's search was written for."""


def missing_private_names() -> list[str]:
    """The private names of :data:`PRIVATE_NAMES` that the installed Whoosh lacks."""
    return [
        f"{getattr(owner, '__name__', owner)}.{name}"
        for owner, name in PRIVATE_NAMES
        if not hasattr(owner, name)
    ]


_applied = False


def _cached_reader(self: Any, fieldname: str, column: Any) -> Any:
    readers = self._readers
    if fieldname in readers:
        return readers[fieldname]
    reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
    readers[fieldname] = reader
    return reader


_list_value = ListMatcher.value


def _list_matcher_value(self: Any) -> Any:
    value = _list_value(self)
    return b"" if isinstance(value, str) and not value else value


def _delta_decode(nums: Iterable[int]) -> Iterator[int]:
    return itertools.accumulate(nums)


def _delta_encode(nums: Iterable[int]) -> Iterator[int]:
    nums = list(nums)
    return map(operator.sub, nums, [0, *nums[:-1]])


def _read_offsets_and_lengths(self: Any) -> None:
    """``VarBytesColumn.Reader._read_offsets_and_lengths``, the offsets summed in C."""
    dbfile, doccount = self._dbfile, self._doccount
    # the lengths array ends with its type code (then, when the offsets were written too,
    # their type code and "X")
    lastbyte = self._basepos + self._length - 1
    lens_code = chr(dbfile.get_byte(lastbyte))
    offsets = None
    if lens_code == "X":
        self.had_stored_offsets = True
        lens_code = chr(dbfile.get_byte(lastbyte - 2))
        offsets_code = chr(dbfile.get_byte(lastbyte - 1))
        offsetstart = (lastbyte - 2) - doccount * struct.calcsize(offsets_code)
        offsets = dbfile.get_array(offsetstart, offsets_code, doccount)
        lastbyte = offsetstart
    lenstart = lastbyte - struct.calcsize(lens_code) * doccount
    lengths = dbfile.get_array(lenstart, lens_code, doccount)
    if offsets is None:
        offsets = array("L", itertools.accumulate(lengths, initial=0))
        offsets.pop()  # (the end of the last value)
    self._offsets = offsets
    self._lengths = lengths


def apply() -> None:
    global _applied
    if not _applied:
        if tuple(whoosh.__version__[:3]) != WHOOSH_VERSION:
            raise WhooshChanged(
                f"kbapp's search needs whoosh-reloaded {'.'.join(map(str, WHOOSH_VERSION))}, "
                f"not {whoosh.versionstring()}; reinstall kbapp to get it"
            )
        missing = missing_private_names()
        if missing:
            raise WhooshChanged("the installed Whoosh lacks " + ", ".join(missing))
        whoosh3.W3PerDocReader._cached_reader = _cached_reader
        if not hasattr(whoosh3.W3TermInfo, "set_inline"):
            whoosh3.W3TermInfo.set_inline = whoosh3.W3TermInfo.set_inlined
        ListMatcher.value = _list_matcher_value
        whoosh3.delta_decode = _delta_decode
        whoosh3.delta_encode = _delta_encode
        columns.VarBytesColumn.Reader._read_offsets_and_lengths = _read_offsets_and_lengths
        _applied = True


apply()
