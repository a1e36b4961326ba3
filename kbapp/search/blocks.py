"""A term's postings read straight from a segment's files, a block at a time: its document
numbers (:func:`leaf_ids`), its (ids, weights) blocks (:func:`leaf_blocks`, decoded as
Whoosh 3's block matcher decodes them, without its calls per block) and the words of the
prefix field that start with what is being typed (:func:`prefix_terms`).

Whoosh's matchers cost a Python call per posting; these read the same numbers in bulk.
The private names of Whoosh they use are checked by :mod:`kbapp.search.whoosh_fixes`.
"""

from __future__ import annotations

import io
import itertools
import pickle
import struct
import zlib
from array import array
from collections.abc import Iterator
from typing import Any

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound

from kbapp.search.schema import PREFIX_FIELD


def leaf_ids(reader: Any, fieldname: str, btext: bytes, with_deleted: bool = False) -> list[int]:
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


def leaf_blocks(matcher: Any) -> Iterator[tuple[Any, Any]]:
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


def prefix_terms(reader: Any, bprefix: bytes) -> Iterator[tuple[bytes, Any]]:
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
