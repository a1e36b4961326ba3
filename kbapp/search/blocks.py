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


#: Pickle opcodes of a block as Whoosh 3 writes it (``dumps(..., 2)``): a tuple of four or
#: more is MARK ... TUPLE, of one to three TUPLE1-3 (0x85-0x87); a small integer BININT1 (one
#: byte), BININT2 (two), BININT (four, signed); a float BINFLOAT (eight bytes, big-endian); a
#: tuple is memoised (BINPUT 0 in its own pickle).
_MARK, _TUPLE, _BININT1, _BININT2, _BININT, _BINFLOAT, _NONE, _BINPUT, _STOP = b"(tKMJGNq."
#: Bytes an integer's opcode and value take, by opcode (0: not an integer opcode).
_INT_WIDTH = bytes({_BININT1: 2, _BININT2: 3, _BININT: 5}.get(op, 0) for op in range(256))


def stored_length(matcher: Any) -> int:
    """How many bytes a term's postings take in one segment (0: not a block matcher)."""
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    if type(matcher) is not W3LeafMatcher:
        return 0
    length = matcher._length
    return int(length[0] if isinstance(length, tuple) else length)


def leaf_arrays(np: Any, matcher: Any) -> tuple[Any, Any] | None:
    """:func:`leaf_blocks` of one term in one segment (deleted documents included) as two
    NumPy arrays, document numbers (int64) and weights (float64), decoded from the bytes
    of the pickled blocks with NumPy operations over all of the term's blocks at once (a
    Python step per block only to find where each starts), instead of two ``pickle``
    calls per block and a Python number per posting: the same numbers.

    Each block is what Whoosh 3's writer pickles: a header (count, last id, top weight,
    compression, shortest and longest length) and data (the ids, each after the first a
    difference from the one before; the weights: None when all are 1.0, one float when
    all are equal, else a float each; values). Every opcode the decoding relies on is
    checked; None when a block is written otherwise (compressed, a difference of 256 or
    more, another codec), and :func:`leaf_blocks` reads the term."""
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    if type(matcher) is not W3LeafMatcher or matcher._byteids:
        return None
    length = matcher._length
    length = length[0] if isinstance(length, tuple) else length
    return decode_blocks(np, matcher._postfile.get(matcher._startoffset, length))


def decode_blocks(np: Any, buffer: bytes) -> tuple[Any, Any] | None:
    """A term's postings in one segment decoded from their bytes (:func:`leaf_arrays`), or
    None when they are not laid out as expected."""
    if buffer[:4] != WHOOSH3_HEADER_MAGIC:
        return None
    try:
        return _decode_blocks(np, buffer)
    except (IndexError, ValueError, struct.error):  # places past the end: another layout
        return None


def _decode_blocks(np: Any, buffer: bytes) -> tuple[Any, Any] | None:
    """:func:`decode_blocks`, raising an error for places past the end."""
    # where each block starts (its length, then its header and data)
    unpack_length = _BLOCK_LENGTH.unpack_from
    starts_: list[int] = []
    at = 4
    while True:
        starts_.append(at)
        size = unpack_length(buffer, at)[0]
        if size < 0:  # (the last block's length is negative)
            break
        at += _BLOCK_LENGTH.size + size
    if at + _BLOCK_LENGTH.size - size > len(buffer):  # (cut short)
        return None
    raw = np.frombuffer(buffer, dtype=np.uint8)
    widths = np.frombuffer(_INT_WIDTH, dtype=np.uint8)
    block = np.asarray(starts_, dtype=np.int64) + _BLOCK_LENGTH.size
    checks = []  # (positions, the byte each must be)

    def expect(where: Any, byte: int) -> None:
        checks.append((where, byte))

    def integer(where: Any) -> tuple[Any, Any]:
        """The integer whose opcode is at ``where`` (BININT1/2/BININT) and its width."""
        op = raw[where]
        width = widths[op].astype(np.int64)
        one = raw[where + 1].astype(np.int64)
        two = one | (raw[np.minimum(where + 2, len(raw) - 1)].astype(np.int64) << 8)
        four = raw[np.minimum(where[:, None] + np.arange(1, 5), len(raw) - 1)].copy()
        four = four.view("<i4").ravel().astype(np.int64)
        value = np.where(op == _BININT1, one, np.where(op == _BININT2, two, four))
        return value, width

    # the header: PROTO 2, MARK, count, last id, top weight, compression, lengths, TUPLE
    expect(block, 0x80)
    expect(block + 2, _MARK)
    counts, width = integer(block + 3)
    expect(block + 3, _BININT1)
    at = block + 5
    _last, width = integer(at)
    if not width.all():
        return None
    at = at + width
    expect(at, _BINFLOAT)
    expect(at + 9, _BININT1)
    compression = raw[at + 10]
    for step in (11, 13):
        expect(at + step, _BININT1)
    expect(at + 15, _TUPLE)
    expect(at + 16, _BINPUT)
    expect(at + 18, _STOP)
    if compression.any() or not counts.all():
        return None
    # the data: PROTO 2, (MARK,) the ids, TUPLE, BINPUT 0, the weights
    data = at + 19
    expect(data, 0x80)
    marked = counts >= 4
    expect(data[marked] + 2, _MARK)
    first_at = data + 2 + marked
    firsts, width = integer(first_at)
    if not width.all():
        return None
    run = first_at + width
    ids_end = run + 2 * (counts - 1)
    expect(ids_end[marked], _TUPLE)
    small = ~marked
    if small.any() and not (raw[ids_end[small]] == 0x84 + counts[small]).all():
        return None
    expect(ids_end + 1, _BINPUT)
    expect(ids_end + 2, 0)
    weights_at = ids_end + 3
    op = raw[weights_at]
    follows = raw[np.minimum(weights_at + 9, len(raw) - 1)]
    none = op == _NONE
    apart = ((op == _MARK) & marked) | (
        (op == _BINFLOAT) & small & (counts > 1) & (follows == _BINFLOAT)
    )
    single = (op == _BINFLOAT) & ~apart
    if not (none | apart | single).all():
        return None
    weights_at = weights_at + ((op == _MARK) & marked)
    for where, byte in checks:
        if len(where) and not (raw[where] == byte).all():
            return None
    sizes = counts
    total = int(sizes.sum())
    begins = np.zeros(len(sizes), dtype=np.int64)
    np.cumsum(sizes[:-1], out=begins[1:])
    every = np.arange(total, dtype=np.int64)
    # the ids after each block's first: BININT1 opcodes (a difference each) two bytes apart
    where = np.repeat(run - 2 - 2 * begins, sizes)
    where += 2 * every
    where[begins] = run  # (the first's own opcode is checked above)
    if not (raw[where] == _BININT1).all():
        return None
    steps = raw[where + 1].astype(np.int64)
    steps[begins] = firsts
    ids = np.cumsum(steps)
    # the differences add up within a block only: each block's first id is whole
    if len(sizes) > 1:
        ids -= np.repeat(np.concatenate([[0], ids[begins[1:] - 1]]), sizes)
    # eight bytes at any place of the buffer as one big-endian float: row k, column p is
    # the float at byte 9k + p (a block's floats are one column, rows in a run: a view)
    padded = np.zeros((len(raw) + 23) // 8 * 8, dtype=np.uint8)
    padded[: len(raw)] = raw
    floats = np.lib.stride_tricks.as_strided(
        padded.view(">f8"), shape=(len(raw) // 9 + 1, 9), strides=(9, 1), writeable=False
    )
    starts = weights_at + 1  # (the first float's bytes)
    one = np.ones(len(sizes), dtype=np.float64)  # (none: every weight 1.0)
    if single.any():  # made a 32-bit float, as :func:`_raw_blocks` makes it
        at = starts[single]
        one[single] = floats[at // 9, at % 9].astype(np.float32)
    weights = np.repeat(one, sizes)
    if apart.any():
        rows = np.repeat(starts // 9 - begins, sizes) + every
        columns = np.repeat(starts % 9, sizes)
        if not apart.all():
            each = np.repeat(apart, sizes)
            rows, columns = rows[each], columns[each]
        ops = padded[9 * rows + columns - 1]
        if not (ops == _BINFLOAT).all():
            return None
        found = floats[rows, columns]
        if apart.all():
            weights = found.astype(np.float64)
        else:
            weights[each] = found
    return ids, weights
