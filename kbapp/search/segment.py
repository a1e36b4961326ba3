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
import itertools
import struct
from array import array
from collections.abc import Iterator
from pickle import dumps
from typing import Any

from whoosh.codec.whoosh3 import W3Codec, W3TermInfo
from whoosh.system import pack_ushort
from whoosh.util.numeric import length_to_byte

from kbapp.search import whoosh_fixes

whoosh_fixes.apply()

#: (document numbers, weights, values) of one term's postings, in document order.
Postings = tuple[list[int], list[float], list[bytes]]
#: W3TermInfo's packing (flags, total weight, documents, shortest and longest length, top
#: weight, first and last document), here with the inline flag set.
_INLINE_INFO = W3TermInfo._struct
#: The length bytes of a term table row (filetables.HashWriter).
_LENGTHS = struct.Struct("!ii")
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

    def add_document(self, fields: dict[str, Any]) -> None:
        """What ``SegmentWriter.add_document(**fields)`` does, postings kept per term. A text
        field's value may be ``{term: count}`` (see :mod:`kbapp.search.schema`)."""
        schema = self.schema
        docnum = self.docnum
        perdoc = self.perdoc
        docboost = float(fields["_boost"]) if "_boost" in fields else 1.0
        names = sorted(name for name in fields if not name.startswith("_"))
        for name in names:
            if name not in schema:
                raise ValueError(f"no field named {name!r} in the schema")
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if field.indexed:
                    boost_key = f"_{name}_boost"
                    boost = float(fields[boost_key]) if boost_key in fields else docboost
                    found = self.postings.get(name)
                    if found is None:
                        found = self.postings[name] = _FieldPostings()
                    counts = getattr(field, "counts", None)
                    if counts is not None and field.scorable and isinstance(value, dict):
                        length = found.add_counts(
                            docnum, dict(counts(value)), field.format.field_boost * boost
                        )
                    else:
                        scorable = field.scorable
                        for tbytes, freq, weight, vbytes in field.index(value):
                            if scorable:
                                length += freq
                            found.add(tbytes.decode("utf-8"), docnum, weight * boost, vbytes)
                custom = fields.get(f"_stored_{name}", value)
                perdoc.add_field(name, field, custom if field.stored else None, length)
                column = field.column_type
                if column and custom is not None:
                    perdoc.add_column_value(name, column, field.to_column_value(custom))
        except Exception:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self.docnum += 1

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
    ``start_field`` / ``finish_field`` per field and its postings writer per term, as
    ``FieldWriter.add_postings`` does. The term table rows ``finish_term`` would add one by
    one (key, term info; an MD5 hash each) are gathered in one buffer and written at the
    end, and a term of fewer postings than the inline limit gets its term info packed here
    (Whoosh's ``W3TermInfo.to_bytes`` of the same values) instead of through four objects."""
    table = writer._tindex
    dbfile = table.dbfile
    base = dbfile.tell()
    buffer = bytearray()
    buckets = table.buckets
    md5 = table.hashtype == 0
    hashfn = table.hashfn
    lastkey = table.lastkey
    index = table.index
    for name in sorted(postings):
        terms = postings[name]
        if not terms.terms:
            continue
        field = schema[name]
        writer.start_field(name, field)
        prefix = pack_ushort(writer._fieldid)
        postwriter = writer._postwriter
        limit = postwriter._blocklimit
        inline_below = min(postwriter._inlinelimit, limit + 1)
        for btext, (docs, weights, values) in terms.by_term():
            count = len(docs)
            if values and len(values) != count:
                raise ValueError(f"field {name!r}: postings with and without values")
            if count < inline_below:
                w32 = array("f", weights)
                top = max(weights)
                info = _INLINE_INFO.pack(
                    1, sum(w32), count, 0, _NO_LENGTH, max(top, 0), docs[0], docs[-1]
                ) + dumps((tuple(docs), tuple(w32), tuple(values)), 2)
            else:
                postwriter.start_postings(field.format, W3TermInfo())
                _fill_blocks(postwriter, limit, docs, weights, values)
                info = postwriter.finish_postings().to_bytes()
            key = prefix + btext
            at = base + len(buffer)
            index.append(at)
            buffer += _LENGTHS.pack(len(key), len(info))
            buffer += key
            buffer += info
            found_hash = (
                int.from_bytes(hashlib.md5(key, usedforsecurity=False).digest()[-4:], "big")
                if md5
                else hashfn(key)
            )
            buckets[found_hash & 255].append((found_hash, at))
            lastkey = key
        writer.finish_field()
    dbfile.write(bytes(buffer))
    table.lastkey = lastkey


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
        self.docs.extend(itertools.repeat(docnum, number))
        found = counts.values()
        self.weights.extend(found if boost == 1.0 else [c * boost for c in found])
        self.values.extend(itertools.repeat(b"", number))
        return sum(found)

    def by_term(self) -> Iterator[tuple[bytes, Postings]]:
        """(term, postings) in term order, each term's postings in document order."""
        terms, docs, weights, values = self.terms, self.docs, self.weights, self.values
        # stable: a term's postings stay in the order they came, the documents' order
        order = sorted(range(len(terms)), key=terms.__getitem__)
        for term, group in itertools.groupby(order, key=terms.__getitem__):
            at = list(group)
            found = list(filter(None, map(values.__getitem__, at)))
            yield (
                term.encode("utf-8"),
                (list(map(docs.__getitem__, at)), list(map(weights.__getitem__, at)), found),
            )


def _fill_blocks(
    postwriter: Any, limit: int, docs: list[int], weights: list[float], values: list[bytes]
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
