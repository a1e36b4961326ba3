"""A new index segment written from whole documents, postings filed per term.

Whoosh's ``SegmentWriter`` puts every posting through its posting pool (one Python call and
a size estimate each), sorts the pool, and hands the sorted postings one by one to the
codec's field writer (two calls and four type checks each). That was 30 % of a full build.
:class:`SortedSegmentWriter` writes the same segment with the same codec calls: each
document's field values go to the codec's per-document writer exactly as
``SegmentWriter.add_document`` sends them, the postings are kept per field and term as they
come (documents arrive in order, so each term's list is already sorted), and at the end each
term's list is given to the codec's field writer (``start_field`` / ``start_term`` /
``finish_term``) a block at a time instead of a posting at a time. The files are the ones
Whoosh's writer makes (tests/test_search_segment.py compares both, file by file).

The block fill uses private names of whoosh-reloaded 2.7.5's ``W3FieldWriter`` and
``W3PostingsWriter`` (listed in :data:`kbapp.search.whoosh_fixes.PRIVATE_NAMES`, checked
with the version when kbapp's search is imported).
"""

from __future__ import annotations

import hashlib
import struct
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from itertools import accumulate, chain, compress, groupby, repeat, starmap
from operator import add, and_, itemgetter, methodcaller
from pickle import dumps
from typing import TYPE_CHECKING, Any

from whoosh.codec.whoosh3 import W3Codec, W3TermInfo
from whoosh.reading import SegmentReader
from whoosh.system import pack_uint, pack_ushort
from whoosh.util.numeric import length_to_byte

from kbapp.search import whoosh_fixes
from kbapp.search.schema import CODEC, WeightedWords

if TYPE_CHECKING:
    from kbapp.search.schema import IndexedDocument

whoosh_fixes.apply()

#: W3TermInfo's packing (flags, total weight, documents, shortest and longest length, top
#: weight, first and last document), here with the inline flag set.
_INLINE_INFO = W3TermInfo._struct
#: A hash table slot of the term table (filetables.HashWriter).
_POINTER = struct.Struct("!Iq")
#: The length bytes of a term table row (filetables.HashWriter).
_LENGTHS = struct.Struct("!ii")
#: How a field's postings are filed (:meth:`SortedSegmentWriter._plan`): ``{term: count}``
#: of a text field, ``{word: weight}`` of weighted words, or the field's own ``index``.
_COUNTS, _WEIGHTED, _TERMS = 1, 2, 3
#: No field lengths are kept per posting (CODEC.length_stats is off): W3TermInfo's byte for 0.
_NO_LENGTH = length_to_byte(0)


class SortedSegmentWriter:
    """Writes one new segment of the index ``ix`` (not committed: :meth:`finish` returns the
    segment, for a table of contents the caller writes)."""

    def __init__(self, ix: Any, codec: W3Codec) -> None:
        info = ix._read_toc()
        self.schema = info.schema
        for name, field in self.schema.items():
            if field.vector or field.separate_spelling():
                raise ValueError(f"field {name!r}: term vectors and spelling are not supported")
        self.storage = ix.storage
        self.codec = codec
        self.segment = codec.new_segment(ix.storage, ix.indexname)
        self.perdoc = codec.per_document_writer(ix.storage, self.segment)
        self.docnum = 0
        #: field -> its postings in the order they came (grouped per term at the end)
        self.postings: dict[str, _FieldPostings] = {}
        #: the keys of a document's field values -> what to do with each (:meth:`_plan`)
        self._plans: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}

    def add_document(self, fields: dict[str, Any]) -> None:
        """What ``SegmentWriter.add_document(**fields)`` does, postings kept per term. A text
        field's value may be ``{term: count}`` (see :mod:`kbapp.search.schema`)."""
        docnum = self.docnum
        perdoc = self.perdoc
        keys = tuple(fields)
        plan = self._plans.get(keys)
        if plan is None:
            plan = self._plans[keys] = self._plan(fields)
        perdoc.start_doc(docnum)
        try:
            for name, field, postings, kind, boost_key, stored_key, stored, column in plan:
                value = fields[name]
                if value is None:
                    continue
                length = 0
                if postings is not None:
                    boost = (
                        float(fields[boost_key])
                        if boost_key
                        else float(fields["_boost"])
                        if "_boost" in fields
                        else 1.0
                    )
                    if kind == _COUNTS and isinstance(value, dict):
                        length = postings.add_counts(
                            docnum, field.count_map(value), field.format.field_boost * boost
                        )
                    elif kind == _WEIGHTED and isinstance(value, dict):
                        postings.add_weighted(docnum, value, boost)
                    else:
                        scorable = field.scorable
                        for tbytes, freq, weight, vbytes in field.index(value):
                            if scorable:
                                length += freq
                            postings.add(tbytes.decode("utf-8"), docnum, weight * boost, vbytes)
                custom = fields.get(stored_key, value) if stored_key else value
                perdoc.add_field(name, field, custom if stored else None, length)
                if column and custom is not None:
                    perdoc.add_column_value(name, column, field.to_column_value(custom))
        except Exception:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self.docnum += 1

    def _plan(self, fields: dict[str, Any]) -> list[tuple[Any, ...]]:
        """What :meth:`add_document` does with each field of documents whose field values
        have the keys of ``fields`` (the same for every document of a build: worked out
        once): (name, field, its postings or None when not indexed, how its postings are
        filed, the key of its boost and of its stored value when given, stored or not, its
        column), by name."""
        schema = self.schema
        names = sorted(name for name in fields if not name.startswith("_"))
        for name in names:
            if name not in schema:
                raise ValueError(f"no field named {name!r} in the schema")
        plan = []
        for name in names:
            field = schema[name]
            postings = None
            if field.indexed:
                postings = self.postings.get(name)
                if postings is None:
                    postings = self.postings[name] = _FieldPostings()
            if getattr(field, "count_map", None) is not None and field.scorable:
                kind = _COUNTS
            elif isinstance(field, WeightedWords):
                kind = _WEIGHTED
            else:
                kind = _TERMS
            boost_key = f"_{name}_boost"
            stored_key = f"_stored_{name}"
            plan.append(
                (
                    name,
                    field,
                    postings,
                    kind,
                    boost_key if boost_key in fields else "",
                    stored_key if stored_key in fields else "",
                    field.stored,
                    field.column_type,
                )
            )
        return plan

    def doc_count(self) -> int:
        return self.docnum

    def discard(self) -> None:
        """Close the segment's files without writing postings (nothing was added); the
        files are not listed in any table of contents, and the next commit removes them."""
        self.perdoc.close()

    def finish(self) -> Any:
        """Write the postings and close the segment's files; returns the segment."""
        self.perdoc.close()
        writer = self.codec.field_writer(self.storage, self.segment)
        try:
            _write_terms(writer, self.schema, self.postings)
        finally:
            writer.close()
        self.postings = {}
        self.segment.set_doc_count(self.docnum)
        return self.segment


def _write_terms(writer: Any, schema: Any, postings: dict[str, _FieldPostings]) -> None:
    """File every term through the codec's field writer ``writer`` (a ``W3FieldWriter``): its
    ``start_field`` / ``finish_field`` per field and its postings writer for each term with
    more postings than the inline limit, as ``FieldWriter.add_postings`` does. Everything
    else is done for all of a field's terms at once, with ``map`` over C functions rather
    than a Python loop per term: the term table rows ``finish_term`` would add one by one
    (key, term info, the MD5 hash of the key), and the term info of the terms whose postings
    are kept inline (most terms), packed as Whoosh's ``W3TermInfo.to_bytes`` packs them."""
    table = writer._tindex
    # the hash tables are written when the field writer closes the term table
    table._write_hashes = partial(_write_hashes, table)
    dbfile = table.dbfile
    position = dbfile.tell()
    md5 = table.hashtype == 0
    rows: list[bytes] = []
    for name in sorted(postings):
        grouped = postings[name].grouped()
        if grouped is None:
            continue
        terms, docs, weights, values, counts = grouped
        field = schema[name]
        writer.start_field(name, field)
        prefix = pack_ushort(writer._fieldid)
        postwriter = writer._postwriter
        limit = postwriter._blocklimit
        inline_below = min(postwriter._inlinelimit, limit + 1)
        # every term's inline term info (flags, total weight, documents, lengths, top weight,
        # first and last document; then its postings pickled), replaced below for the terms
        # whose postings go to blocks
        w32 = list(map(_FLOAT32, weights))
        number = len(terms)
        packed = map(
            _INLINE_INFO.pack,
            repeat(1, number),
            map(sum, w32),
            counts,
            repeat(0),
            repeat(_NO_LENGTH),
            map(max, map(max, weights), repeat(0)),
            map(_FIRST, docs),
            map(_LAST, docs),
        )
        third = map(tuple, values) if values is not None else repeat(())
        pickled = map(_PICKLE, zip(map(tuple, docs), map(tuple, w32), third))
        infos = list(map(bytes.__add__, packed, pickled))
        for at in compress(range(number), map(inline_below.__le__, counts)):
            postwriter.start_postings(field.format, W3TermInfo())
            _fill_blocks(
                postwriter, limit, docs[at], weights[at], values[at] if values is not None else []
            )
            infos[at] = postwriter.finish_postings().to_bytes()
        keys = list(map(prefix.__add__, map(str.encode, terms)))
        key_lengths = list(map(len, keys))
        info_lengths = list(map(len, infos))
        rows.extend(
            chain.from_iterable(zip(map(_LENGTHS.pack, key_lengths, info_lengths), keys, infos))
        )
        row_lengths = map(add, map(add, key_lengths, info_lengths), repeat(_LENGTHS.size))
        starts = list(accumulate(row_lengths, initial=position))
        position = starts.pop()
        if md5:
            hashes = list(map(_FROM_BIG_ENDIAN, map(_LAST4, map(_DIGEST, map(_MD5, keys)))))
        else:
            hashes = list(map(table.hashfn, keys))
        _extend_index(table.index, starts)
        # each row goes into the bucket of its hash's low byte, in term order
        entries = list(zip(hashes, starts))
        bucket_of = list(map(and_, hashes, repeat(255)))
        order = sorted(range(number), key=bucket_of.__getitem__)
        for bucket, group in groupby(order, key=bucket_of.__getitem__):
            table.buckets[bucket].extend(map(entries.__getitem__, group))
        table.lastkey = keys[-1]
        writer.finish_field()
    dbfile.write(b"".join(rows))


def _write_hashes(table: Any) -> None:
    """``HashWriter._write_hashes`` (the 256 hash tables of the term table's rows, each slot
    a packed (hash, position), linear probing from ``(hash >> 8) % slots``) with each table
    written in one call instead of one call per slot."""
    dbfile = table.dbfile
    null = (0, 0)
    pack = _POINTER.pack
    for entries in table.buckets:
        numslots = 2 * len(entries)
        table.directory.append((dbfile.tell(), numslots))
        hashtable = [null] * numslots
        for hashval, position in entries:
            slot = (hashval >> 8) % numslots
            while hashtable[slot] is not null:
                slot = (slot + 1) % numslots
            hashtable[slot] = (hashval, position)
        dbfile.write(b"".join(starmap(pack, hashtable)))


def _extend_index(index: Any, starts: list[int]) -> None:
    """``index.extend(starts)`` for Whoosh's ``GrowableArray`` (which appends one at a time):
    its array widened first when the last (largest) position does not fit."""
    try:
        array(index.array.typecode, starts[-1:])
    except OverflowError:
        index._retype(starts[-1])
    index.array.extend(starts)


_FLOAT32 = partial(array, "f")
_PICKLE = partial(dumps, protocol=2)
_FIRST, _LAST, _LAST4 = itemgetter(0), itemgetter(-1), itemgetter(slice(-4, None))
_DIGEST = methodcaller("digest")
_FROM_BIG_ENDIAN = partial(int.from_bytes, byteorder="big")
_MD5 = partial(hashlib.md5, usedforsecurity=False)


class _FieldPostings:
    """One field's postings as they come, in flat lists (appending to one list per term
    touched a different object per posting: half the writer's time went there)."""

    def __init__(self) -> None:
        self.terms: list[str] = []
        self.docs: list[int] = []
        self.weights: list[float] = []
        self.values: list[bytes] = []

    def add(self, term: str, docnum: int, weight: float, vbytes: bytes) -> None:
        self.terms.append(term)
        self.docs.append(docnum)
        self.weights.append(weight)
        self.values.append(vbytes)

    def add_counts(self, docnum: int, counts: dict[str, int], boost: float) -> int:
        """A document's text field as ``{term: count}``; the weight is Whoosh's, the count
        times the format's and the field's boost (kept as the count when that is 1: blocks
        store weights as 32-bit floats either way). Returns the field's length."""
        number = len(counts)
        self.terms.extend(counts)
        self.docs.extend(repeat(docnum, number))
        found = counts.values()
        self.weights.extend(found if boost == 1.0 else [c * boost for c in found])
        self.values.extend(repeat(b"", number))
        return sum(found)

    def add_weighted(self, docnum: int, weights: dict[str, float], boost: float) -> None:
        """A document's ``{word: weight}`` of a :class:`~kbapp.search.schema.WeightedWords`
        field: the postings its ``index`` gives (weight times ``boost``, value 1), in C."""
        number = len(weights)
        self.terms.extend(weights)
        self.docs.extend(repeat(docnum, number))
        found = map(float, weights.values())
        self.weights.extend(found if boost == 1.0 else [w * boost for w in found])
        # a bytes object per posting, as index() gives: the inline term info pickles them
        # (one object repeated would be pickled as references, other bytes than Whoosh's)
        self.values.extend(map(pack_uint, repeat(1, number)))

    def grouped(
        self,
    ) -> (
        tuple[
            list[str],
            list[tuple[int, ...]],
            list[tuple[float, ...]],
            list[tuple[bytes, ...]] | None,
            list[int],
        ]
        | None
    ):
        """(terms in order; per term its documents, weights and values (None: no term has
        values) in document order; per term its number of postings), or None without terms.
        A stable sort by each term's rank among the field's distinct terms (integers compare
        faster than strings; a string's order is its UTF-8 bytes' order), the postings then
        picked in that order by one ``itemgetter`` (a C loop, where ``map`` over
        ``__getitem__`` made a call per posting)."""
        terms = self.terms
        if not terms:
            return None
        counter = Counter(terms)
        distinct = sorted(counter)
        rank = dict(zip(distinct, range(len(distinct))))
        ranks = list(map(rank.__getitem__, terms))
        order = sorted(range(len(terms)), key=ranks.__getitem__)
        counts = list(map(counter.__getitem__, distinct))
        ends = list(accumulate(counts))
        slices = list(map(slice, [0, *ends[:-1]], ends))
        pick = _picker(order)
        docs: tuple[int, ...] = pick(self.docs)
        weights: tuple[float, ...] = pick(self.weights)
        by_docs = list(map(docs.__getitem__, slices))
        by_weights = list(map(weights.__getitem__, slices))
        by_values: list[tuple[bytes, ...]] | None = None
        if any(self.values):
            if not all(self.values):
                raise ValueError("postings with and without values in one field")
            values: tuple[bytes, ...] = pick(self.values)
            by_values = list(map(values.__getitem__, slices))
        return distinct, by_docs, by_weights, by_values, counts


def _picker(order: list[int]) -> Callable[[list[Any]], tuple[Any, ...]]:
    """A function that gives the items of a list at the positions ``order``, as a tuple."""
    if len(order) == 1:
        (only,) = order
        return lambda items: (items[only],)
    return itemgetter(*order)


def _fill_blocks(
    postwriter: Any,
    limit: int,
    docs: Sequence[int],
    weights: Sequence[float],
    values: Sequence[bytes],
) -> None:
    """Give a term's postings to the codec's postings writer a block at a time: the buffers
    ``add_posting`` would have filled one posting at a time, then the writer's own
    ``_write_block`` (or ``finish_postings``, for the last block or inline postings)."""
    for start in range(0, len(docs), limit):
        if start:
            postwriter._write_block()
        chunk = weights[start : start + limit]
        postwriter._ids = array("I", docs[start : start + limit])
        postwriter._weights = array("f", chunk)
        postwriter._values = values[start : start + limit]
        # add_posting keeps the largest weight seen, starting from 0
        top = max(chunk)
        postwriter._maxweight = float(top) if top > 0 else 0


def write_documents(
    ix: Any, documents: Iterable[IndexedDocument], timeout: float
) -> tuple[dict[str, str], set[str]]:
    """Re-index ``documents`` (read and analysed; a removed one has no fields) in the index
    ``ix``: Whoosh's writer deletes the old versions (and merges small segments), the new
    versions go into a segment of their own, written per term. Returns ({path: content
    hash}, their spelling words)."""
    writer = ix.writer(timeout=timeout, delay=0.05, compound=False, codec=CODEC)
    digests: dict[str, str] = {}
    words: set[str] = set()
    fresh: SortedSegmentWriter | None = None
    try:
        for doc in documents:
            writer.delete_by_term("path", doc.path)
            if doc.fields is not None:
                if fresh is None:
                    fresh = SortedSegmentWriter(ix, CODEC)
                fresh.add_document(doc.fields)
                words.update(doc.words)
            if doc.digest:
                digests[doc.path] = doc.digest
        commit_segments(writer, fresh, merge_small_segments)
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
    return digests, words


def commit_segments(writer: Any, fresh: SortedSegmentWriter | None, mergetype: Any) -> None:
    """``writer.commit(mergetype=mergetype)`` for a Whoosh ``SegmentWriter`` that made the
    deletions (and the merges its policy chose) while ``fresh`` wrote the added documents:
    the table of contents lists the kept segments, the merged one and ``fresh``'s."""
    writer._check_state()
    final = writer._merge_segments(mergetype, None, None)
    if writer._added:  # the merge policy gave it segments to merge
        final.append(writer._finalize_segment())
    else:
        writer._close_segment()
    if fresh is not None and fresh.doc_count():
        final.append(fresh.finish())
    writer._commit_toc(final)
    writer._finish()


#: Segments of fewer documents are "small" (left by saves), and are merged once this many
#: of them have piled up (see :func:`merge_small_segments`).
SMALL_SEGMENT, MERGE_SMALL_AT = 500, 10


def merge_small_segments(writer: Any, segments: list[Any]) -> list[Any]:
    """Whoosh merge policy for updates: segments whose documents are all deleted are dropped;
    the small segments that saves leave behind are merged into one only once
    :data:`MERGE_SMALL_AT` of them have piled up. (Whoosh's own policy merged every few
    commits, and sometimes a large segment too: one save in five took 0.3-2.5 s.)"""
    kept = [s for s in segments if s.doc_count_all() > s.deleted_count()]
    small = [s for s in kept if s.doc_count_all() < SMALL_SEGMENT]
    if len(small) < MERGE_SMALL_AT:
        return kept
    for segment in small:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [s for s in kept if s not in small]
