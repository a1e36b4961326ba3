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

from array import array
from typing import Any

from whoosh.codec.whoosh3 import W3Codec

from kbapp.search import whoosh_fixes

whoosh_fixes.apply()

#: (document numbers, weights, values) of one term's postings, in document order.
Postings = tuple[list[int], list[float], list[bytes]]


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
        #: field -> term -> postings
        self.postings: dict[str, dict[str, Postings]] = {}

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
                    terms = self.postings.get(name)
                    if terms is None:
                        terms = self.postings[name] = {}
                    counts = getattr(field, "counts", None)
                    if counts is not None and field.scorable and isinstance(value, dict):
                        length = _add_counts(
                            terms, docnum, counts(value), field.format.field_boost, boost
                        )
                    else:
                        scorable = field.scorable
                        for tbytes, freq, weight, vbytes in field.index(value):
                            if scorable:
                                length += freq
                            term = tbytes.decode("utf-8")
                            found = terms.get(term)
                            if found is None:
                                found = terms[term] = ([], [], [])
                            found[0].append(docnum)
                            found[1].append(weight * boost)
                            if vbytes:
                                found[2].append(vbytes)
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

    def finish(self) -> Any:
        """Write the postings and close the segment's files; returns the segment."""
        self.perdoc.close()
        writer = self.codec.field_writer(self.storage, self.segment)
        try:
            for name in sorted(self.postings):
                terms = self.postings[name]
                if not terms:
                    continue
                writer.start_field(name, self.schema[name])
                postwriter = writer._postwriter
                limit = postwriter._blocklimit
                for btext, (docs, weights, values) in sorted(
                    (term.encode("utf-8"), found) for term, found in terms.items()
                ):
                    if values and len(values) != len(docs):
                        raise ValueError(f"field {name!r}: postings with and without values")
                    writer.start_term(btext)
                    _fill_blocks(postwriter, limit, docs, weights, values)
                    writer.finish_term()
                writer.finish_field()
        finally:
            writer.close()
        self.postings = {}
        self.segment.set_doc_count(self.docnum)
        return self.segment


def _add_counts(
    terms: dict[str, Postings], docnum: int, counts: Any, field_boost: float, boost: float
) -> int:
    """File the postings of one document's text field, given as (term, count) pairs; the
    weight is Whoosh's: the count times the format's boost, times the field's boost."""
    length = 0
    for term, count in counts:
        weight = count * field_boost * boost
        found = terms.get(term)
        if found is None:
            terms[term] = ([docnum], [weight], [])
        else:
            found[0].append(docnum)
            found[1].append(weight)
        length += count
    return length


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
        postwriter._maxweight = top if top > 0 else 0
