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

And two speed-ups with the same results: the codec turns document numbers into gaps and
back with Python generators (one call per posting, on every block read and written); here
``itertools.accumulate`` and ``map(operator.sub, ...)`` do it in C. Reading the postings of a
term in 9,000 documents was a third of a three-word query's time.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Iterator
from typing import Any

from whoosh.codec import whoosh3
from whoosh.matching.mcore import ListMatcher

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


def apply() -> None:
    global _applied
    if not _applied:
        whoosh3.W3PerDocReader._cached_reader = _cached_reader
        if not hasattr(whoosh3.W3TermInfo, "set_inline"):
            whoosh3.W3TermInfo.set_inline = whoosh3.W3TermInfo.set_inlined
        ListMatcher.value = _list_matcher_value
        whoosh3.delta_decode = _delta_decode
        whoosh3.delta_encode = _delta_encode
        _applied = True


apply()
