"""Answering one query on an open Whoosh searcher: doc sets, BM25F ranking, facets, typos.

Which documents match is worked out with Python sets of document numbers, one per term,
read straight from the posting blocks and cached while the index does not change; Whoosh
only scores the candidates (BM25F, title/labels/headings above the body). That keeps the
total count and the facet counts over every hit cheap, and lets "all words first, then
some words" be two small scored passes instead of one big one.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import logging
import math
import mmap
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from whoosh import query as wq
from whoosh.matching.wrappers import FilterMatcher
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from kbapp.search.analysis import (
    QUERY_NOISE,
    join_identifiers,
    pair_hash,
    phrase_form,
    phrase_terms,
    query_words,
    stem,
    word_terms,
)
from kbapp.search.query import ParsedQuery
from kbapp.search.schema import (
    FACET_FIELDS,
    PAIRS_FIELD,
    PREFIX_MAX,
    PREFIX_MIN,
    SEQUENCE_FIELD,
    TEXT_FIELDS,
)
from kbapp.search.vocabulary import Vocabulary

log = logging.getLogger(__name__)

#: Published documents rank above in-review and drafts with the same text score.
STATUS_FACTOR = {"published": 1.0, "in-review": 0.85, "draft": 0.7}
PHRASE_FIELDS = ("title", "headings", "labels", "body", "code")
#: Words together: a document's score is multiplied by (1 + the share of the query's
#: neighbouring word pairs it has as neighbours too) ** PROXIMITY_POWER (Lucene edismax's pf2,
#: as a factor): a pasted message held word for word ranks above its words spread apart.
PROXIMITY_POWER = 3.0
PROXIMITY_POWER_PER_PAIR = 0.75
#: How many of the best documents by BM25F are re-ranked with the proximity factor.
PROXIMITY_DEPTH = 100
#: Pseudo-relevance feedback (RM3) for queries of three words or more: the words that weigh
#: most in the best PRF_DOCS documents (by their share of each document's text, weighted by the
#: document's score, times their rarity) are added, PRF_TERMS of them at up to PRF_WEIGHT of a
#: query word, to re-rank the documents the query found (never to find others). 0 turns it off.
PRF_TERMS = 0
PRF_DOCS = 5
PRF_WEIGHT = 0.3
#: A synonym (another member of the word's group) scores at this share of the word itself.
SYNONYM_WEIGHT = 0.8
#: Share of a long query's words a document must have to rank in the first tier.
COVERAGE_NEED = 0.5
#: The score is multiplied by (share of the query's words the document has) ** COVERAGE_POWER.
COVERAGE_POWER = 2.0
#: A long query's words count towards a document's share by their rarity (log(1 + N / df)),
#: not one each. Off: measured in issue 15 (own words: fresh +0.03, blind +0.01, held 0,
#: fitted dev -0.09 MRR@10), within the noise of 27-38 queries.
COVERAGE_BY_RARITY = False
#: Longest phrase (in words) looked up in the synonym table.
SYNONYM_SPAN = 4
FACET_LIMIT = 20
#: Facets with at most this many values are counted by set intersections.
FACET_SETS_UP_TO = 64
_EMPTY: frozenset[int] = frozenset()
#: (document set, document numbers, one number each): a term's postings or BM25F shares.
_Shares = tuple[frozenset[int], list[int], list[float]]


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


class MappedColumn:
    """One per-document bytes column of one segment (the term sequences, the pair hashes),
    read in place: the column file is memory-mapped, so checking a document is one C call on
    its bytes (a ``find``, a binary search), with nothing copied or decoded."""

    def __init__(self, reader: Any, fieldname: str) -> None:
        self._column: Any = None
        self._map: mmap.mmap | None = None
        self._view: memoryview | None = None
        self._numbers: memoryview | None = None
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
        return out

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

    def _load_values(self, name: str) -> None:
        joined: list[Any] = []
        for _reader, _offset, table in self.leaves:
            joined.extend(table.values[name])
        dict.__setitem__(self.values, name, joined)

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

    def containing(self, docnums: frozenset[int], needle: bytes) -> frozenset[int]:
        """The documents of ``docnums`` whose term sequence contains ``needle``."""
        return self._per_segment(docnums, SEQUENCE_FIELD, lambda c, d: c.containing(d, needle))

    def having_pairs(self, docnums: frozenset[int], hashes: list[int]) -> frozenset[int]:
        """The documents of ``docnums`` that have all the term pairs ``hashes``."""
        return self._per_segment(docnums, PAIRS_FIELD, lambda c, d: c.having(d, hashes))

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


def _leaf_blocks(reader: Any, fieldname: str, btext: bytes) -> Iterator[tuple[Any, Any]]:
    """(ids, weights) of one term's postings in one segment, a block at a time."""
    matcher = reader.postings(fieldname, btext)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
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


class TermSets:
    """Cached document sets of terms on one searcher."""

    def __init__(self, searcher: Searcher, table: DocTable, size: int = 1024) -> None:
        self.searcher = searcher
        self.table = table
        self.leaves = searcher.reader().leaf_readers()
        self._cache: OrderedDict[tuple[str, str], tuple[frozenset[int], list[int], list[float]]]
        self._cache = OrderedDict()
        self._size = size

    def postings(self, fieldname: str, term: str) -> tuple[frozenset[int], list[int], list[float]]:
        """(document set, document numbers, weights) of a term, read once per searcher."""
        key = (fieldname, term)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        btext = term.encode("utf-8")
        ids: list[int] = []
        weights: list[float] = []
        for reader, offset in self.leaves:
            if (fieldname, btext) not in reader:
                continue
            deleted = reader.deleted_docs_set if reader.has_deletions() else None
            for block_ids, block_weights in _leaf_blocks(reader, fieldname, btext):
                if deleted:
                    for d, w in zip(block_ids, block_weights):
                        if d not in deleted:
                            ids.append(d + offset)
                            weights.append(w)
                else:
                    ids.extend(map(offset.__add__, block_ids) if offset else block_ids)
                    weights.extend(block_weights)
        found = (frozenset(ids), ids, weights)
        self._cache[key] = found
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return found

    def docs(self, fieldname: str, term: str) -> frozenset[int]:
        return self.postings(fieldname, term)[0]

    def any_field(self, term: str) -> frozenset[int]:
        """Documents having ``term`` in any text field."""
        key = ("", term)
        found = self._cache.get(key)
        if found is None:
            docs = frozenset().union(*(self.docs(f, term) for f in PHRASE_FIELDS))
            found = (docs, [], [])
            self._cache[key] = found
        return found[0]

    def phrase_docs(self, terms: list[str]) -> frozenset[int]:
        """Documents where ``terms`` follow each other in one field: the documents having all
        the terms (rarest first), then the phrase looked for in their term sequences."""
        if len(terms) == 1:
            return self.any_field(terms[0])
        candidates: frozenset[int] | None = None
        for docs in sorted((self.any_field(t) for t in terms), key=len):
            candidates = docs if candidates is None else candidates & docs
            if not candidates:
                return _EMPTY
        # Every pair of neighbours must be one of the document's pairs (a binary search in
        # its sorted pair hashes); a longer phrase is then looked for in the survivors' term
        # sequences. (A 32-bit hash: a document has a pair it lacks only if two of its own
        # pairs collide with the phrase's, about once in 5 million documents checked.)
        hashes = sorted({pair_hash(a, b) for a, b in itertools.pairwise(terms)})
        found = self.table.having_pairs(candidates or _EMPTY, hashes)
        if len(terms) > 2 and found:
            needle = (" " + " ".join(terms) + " ").encode("utf-8")
            found = self.table.containing(found, needle)
        return found


# --------------------------------------------------------------------------- query plan


@dataclass
class Alternative:
    """One way a word may match: a term, or a phrase (a multi-word synonym)."""

    terms: list[str]
    prefix: str | None = None
    #: Below 1 for a synonym or a weaker form of the word (its score share).
    weight: float = 1.0

    def specs(self) -> list[tuple[str, str, float]]:
        """(field, term, boost) of every term that scores this alternative."""
        if self.prefix is not None:
            return [("prefix", self.prefix, self.weight)]
        w = self.weight
        return [(f, t, b * w) for t in self.terms for f, b in TEXT_FIELDS.items()]

    def query(self) -> wq.Query:
        return wq.Or([wq.Term(f, t, boost=b) for f, t, b in self.specs()])

    def docs(self, sets: TermSets) -> frozenset[int]:
        if self.prefix is not None:
            return sets.docs("prefix", self.prefix)
        if len(self.terms) == 1:
            return frozenset().union(*(sets.docs(f, self.terms[0]) for f in TEXT_FIELDS))
        return sets.phrase_docs(self.terms)


@dataclass
class WordPlan:
    word: str
    alternatives: list[Alternative] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)
    #: The words as typed (several for a phrase found in the synonym table).
    words: list[str] = field(default_factory=list)

    def specs(self) -> list[tuple[str, str, float]]:
        best: dict[tuple[str, str], float] = {}
        for a in self.alternatives:
            for fieldname, term, boost in a.specs():
                key = (fieldname, term)
                if boost > best.get(key, 0.0):
                    best[key] = boost
        return [(f, t, b) for (f, t), b in best.items()]

    def docs(self, sets: TermSets) -> frozenset[int]:
        return frozenset().union(*(a.docs(sets) for a in self.alternatives))

    def terms(self) -> list[str]:
        return [t for a in self.alternatives for t in a.terms]


def _pair_hashes(words: list[str]) -> list[int]:
    """Hashes of the neighbouring phrase terms of the query's words, in the order typed."""
    terms = [term for word in words for term in phrase_form(word)]
    return sorted({pair_hash(a, b) for a, b in itertools.pairwise(terms) if a != b})


@dataclass
class Outcome:
    ranked: list[tuple[int, float]]
    total: int
    hit_docs: frozenset[int]
    suggestion: str | None
    highlight_terms: set[str]
    highlight_prefix: str | None


_BUILTIN_SYNONYMS: list[list[str]] | None = None


def builtin_synonyms() -> list[list[str]]:
    """The IT synonym groups shipped with kbapp (``kbapp/search/synonyms.txt``)."""
    global _BUILTIN_SYNONYMS
    if _BUILTIN_SYNONYMS is None:
        from importlib.resources import files

        text = files("kbapp.search").joinpath("synonyms.txt").read_text(encoding="utf-8")
        groups = []
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            members = [m.strip().lower() for m in line.split(",") if m.strip()]
            if len(members) > 1:
                groups.append(members)
        _BUILTIN_SYNONYMS = groups
    return _BUILTIN_SYNONYMS


def synonym_groups(synonyms: dict[str, list[str]], builtin: bool = True) -> dict[str, list[str]]:
    """Synonyms both ways: k8s → kubernetes and kubernetes → k8s; the shipped groups (every
    member stands for every other) and then the knowledge base's own (``.kb/config.toml``)."""
    groups: dict[str, list[str]] = {}
    for members in builtin_synonyms() if builtin else []:
        for word in members:
            groups.setdefault(word, []).extend(m for m in members if m != word)
    for word, alternatives in synonyms.items():
        for alt in alternatives:
            groups.setdefault(word, []).append(alt)
            groups.setdefault(alt, []).append(word)
    return {k: list(dict.fromkeys(v)) for k, v in groups.items()}


def _synonym_terms(text: str) -> tuple[str, ...]:
    """The phrase terms of a synonym; none for a phrase that stop words reduce to one word
    ("log on" would otherwise stand for every "log", "sign in" for every "sign")."""
    terms = tuple(phrase_terms(text))
    if len(terms) == 1 and len(text.split()) > 1:
        return ()
    return terms


class SynonymTable:
    """Synonym groups keyed by their phrase terms (stems), so that ``network drives`` finds
    the entry ``network drive`` and ``cmd.exe`` the entry ``cmd.exe``."""

    def __init__(self, groups: dict[str, list[str]]) -> None:
        self.entries: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for key, alternatives in groups.items():
            key_terms = _synonym_terms(key)
            if not key_terms:
                continue
            alts = self.entries.setdefault(key_terms, [])
            for alt in alternatives:
                alt_terms = _synonym_terms(alt)
                if alt_terms and alt_terms != key_terms and alt_terms not in alts:
                    alts.append(alt_terms)
        self.span = max((len(k) for k in self.entries), default=0)

    def match(self, forms: list[tuple[str, ...]], start: int) -> tuple[int, tuple[str, ...]] | None:
        """The longest entry made of the words ``forms[start:]`` begin with: (words, key)."""
        for end in range(min(len(forms), start + SYNONYM_SPAN), start, -1):
            key = tuple(term for form in forms[start:end] for term in form)
            if key in self.entries:
                return end - start, key
        return None


class QueryRunner:
    """Runs parsed queries on one searcher (a new runner per searcher generation)."""

    def __init__(
        self,
        searcher: Searcher,
        table: DocTable,
        synonyms: dict[str, list[str]],
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.searcher = searcher
        self.vocabulary = vocabulary
        self.table = table
        self.sets = TermSets(searcher, table)
        self._scores: OrderedDict[tuple[str, str, float], _Shares] = OrderedDict()
        self._status_factors: list[float] | None = None
        self.synonyms = synonyms
        self.synonym_table = SynonymTable(synonyms)
        self.reader = searcher.reader()

    # ------------------------------------------------------------------ planning

    def plan_word(
        self,
        word: str,
        is_prefix: bool,
        synonyms: list[tuple[str, ...]] = (),  # type: ignore[assignment]
    ) -> WordPlan | None:
        terms = word_terms(word)
        plan = WordPlan(word, words=[word])
        if terms:
            plan.alternatives.append(Alternative(terms))
            if terms[0].startswith("kb") and terms[0][2:].isdigit():
                # a KB number also finds the documents that only mention the number
                plan.alternatives.append(Alternative([terms[0][2:]], weight=0.5))
        lower = word.lower()
        for syn_terms in synonyms:
            plan.alternatives.append(Alternative(list(syn_terms), weight=SYNONYM_WEIGHT))
        if is_prefix and len(lower) >= PREFIX_MIN and lower.isalnum():
            # the index keeps prefixes of up to PREFIX_MAX letters
            plan.alternatives.append(Alternative([], prefix=lower[:PREFIX_MAX]))
        return plan if plan.alternatives else None

    def correct(self, plan: WordPlan) -> None:
        """Add spelling corrections of a word that matches nothing."""
        lower = plan.word.lower()
        if len(lower) < 4 or not lower.isalpha() or self.vocabulary is None:
            return
        scored = []
        for candidate in self.vocabulary.near(lower):
            term = stem(candidate)
            frequency = sum(self.reader.doc_frequency(f, term) for f in TEXT_FIELDS)
            if frequency:  # words of deleted documents are still in the vocabulary
                scored.append((-frequency, candidate))
        ranked = [w for _, w in sorted(scored)[:3]]
        plan.corrections = ranked
        for candidate in ranked:
            plan.alternatives.append(Alternative([stem(candidate)]))

    # ------------------------------------------------------------------ running

    def run(self, text: str, parsed: ParsedQuery, limit: int) -> Outcome:
        sets = self.sets
        required: list[frozenset[int]] = []
        phrase_specs: list[tuple[str, str, float]] = []
        highlight: set[str] = set()
        # Phrases and filters must match.
        for phrase in parsed.phrases:
            terms = phrase_terms(phrase)
            if not terms:
                continue
            highlight.update(terms)
            alt = Alternative(terms)
            required.append(alt.docs(sets))
            phrase_specs.extend(alt.specs())
        for name, value in parsed.filters:
            required.append(sets.docs(name, value.lower()))
        # Words: each one a union over its alternatives.
        plans: list[WordPlan] = []
        words = join_identifiers([w for chunk in parsed.words for w in query_words(chunk)])
        prefix_word = None
        if parsed.prefix is not None:
            tail = query_words(parsed.prefix)
            prefix_word = tail[-1] if tail else None
        forms = [phrase_form(w) for w in words]
        table = self.synonym_table
        index = 0
        while index < len(words):
            word = words[index]
            found = table.match(forms, index) if table.entries else None
            if found is not None and found[0] > 1:
                # a phrase of the synonym table: one concept, its words together or a synonym
                span, key = found
                plan = WordPlan(
                    " ".join(words[index : index + span]), words=words[index : index + span]
                )
                plan.alternatives.append(Alternative(list(key)))
                plan.alternatives.extend(
                    Alternative(list(alt), weight=SYNONYM_WEIGHT) for alt in table.entries[key]
                )
                plans.append(plan)
                index += span
                continue
            is_prefix = index == len(words) - 1 and word == prefix_word
            synonyms = table.entries[found[1]] if found is not None else []
            word_plan = self.plan_word(word, is_prefix, synonyms)
            if word_plan is not None:
                plans.append(word_plan)
            index += 1
        pairs = _pair_hashes(words) if len(plans) > 1 else []
        if len(plans) >= 3:
            content = [p for p in plans if p.word.lower() not in QUERY_NOISE or p.corrections]
            if len(content) >= 2:
                plans = content
        word_docs = [p.docs(sets) for p in plans]
        suggestion_words: dict[str, str] = {}
        for plan, docs in zip(plans, word_docs):
            if not docs:
                self.correct(plan)
                if plan.corrections:
                    suggestion_words[plan.word] = plan.corrections[0]
        word_docs = [p.docs(sets) if p.corrections else d for p, d in zip(plans, word_docs)]
        for plan in plans:
            highlight.update(plan.terms())
        # What is never shown: exclusions, and retired documents unless asked for.
        masked: set[int] = set()
        if not parsed.wants_retired():
            masked.update(sets.docs("status", "retired"))
        for word in parsed.excluded_words:
            for w in query_words(word):
                masked.update(Alternative(word_terms(w)).docs(sets) if word_terms(w) else ())
        for phrase in parsed.excluded_phrases:
            terms = phrase_terms(phrase)
            if terms:
                masked.update(Alternative(terms).docs(sets))
        for name, value in parsed.excluded_filters:
            masked.update(sets.docs(name, value.lower()))

        if not plans and not required:
            return Outcome([], 0, _EMPTY, None, highlight, None)
        base: frozenset[int] | None = None
        for docs in required:
            base = docs if base is None else base & docs
        every = base
        for docs in word_docs:
            every = docs if every is None else every & docs
        all_docs = frozenset(every or ()) - masked
        specs = [spec for plan in plans for spec in plan.specs()] + phrase_specs
        if len(plans) <= 2:
            # One or two words: documents with all of them, then those with some.
            ranked = self._ranked(all_docs, specs, limit, frozenset(masked), pairs=pairs)
            hit_docs, total = all_docs, len(all_docs)
            if len(plans) == 2 and len(ranked) < limit:
                some = (word_docs[0] | word_docs[1]) - masked - all_docs
                if base is not None:
                    some &= base
                ranked += self._ranked(some, specs, limit - len(ranked), None, pairs=pairs)
                hit_docs, total = all_docs | some, total + len(some)
        else:
            # Three words or more (a symptom in the user's own words): documents with at
            # least half of them first (COVERAGE_NEED), ranked by BM25F times the share of
            # the words they have (squared), then documents with fewer.
            coverage = self._coverage(word_docs)
            words_counted = 1
            candidates = frozenset().union(*word_docs) - masked
            if base is not None:
                candidates &= base
            # (by count: at least half rounded down, 3 of 7)
            need = (
                COVERAGE_NEED
                if COVERAGE_BY_RARITY
                else int(len(plans) * COVERAGE_NEED) / len(plans) - 1e-9
            )
            enough = frozenset(d for d in candidates if coverage[d] >= need)
            ranked = self._ranked(enough, specs, limit, None, coverage, words_counted, pairs)
            if len(ranked) < limit:
                ranked += self._ranked(
                    candidates - enough,
                    specs,
                    limit - len(ranked),
                    None,
                    coverage,
                    words_counted,
                    pairs,
                )
            if PRF_TERMS and ranked:
                extra = self._feedback(ranked, plans)
                if extra:
                    ranked = self._ranked(
                        enough, specs + extra, limit, None, coverage, words_counted, pairs
                    )
                    if len(ranked) < limit:
                        ranked += self._ranked(
                            candidates - enough,
                            specs + extra,
                            limit - len(ranked),
                            None,
                            coverage,
                            words_counted,
                            pairs,
                        )
            hit_docs, total = candidates, len(candidates)
        suggestion = None
        if suggestion_words:
            suggestion = text
            for wrong, right in suggestion_words.items():
                suggestion = suggestion.replace(wrong, right)
        prefix = prefix_word.lower() if prefix_word else None
        return Outcome(ranked, total, hit_docs, suggestion, highlight, prefix)

    def _coverage(self, word_docs: list[frozenset[int]]) -> dict[int, float]:
        """Each document's share of a long query's words (0 to 1). With
        :data:`COVERAGE_BY_RARITY`, each word counts by its rarity (log(1 + N / documents with
        it)): "dhcp" and "rdp" say more about a problem than "windows" and "server", so a
        document holding the rare words of a sentence ranks above one holding its common ones.
        A word no document has counts for nothing."""
        if not COVERAGE_BY_RARITY:
            counts = Counter(itertools.chain.from_iterable(word_docs))
            size = len(word_docs)
            return {d: c / size for d, c in counts.items()}
        n = max(self.reader.doc_count_all(), 1)
        weights = [math.log(1.0 + n / len(docs)) if docs else 0.0 for docs in word_docs]
        total = sum(weights) or 1.0
        shares: dict[int, float] = {}
        get = shares.get
        for weight, docs in zip(weights, word_docs):
            share = weight / total
            for docnum in docs:
                shares[docnum] = get(docnum, 0.0) + share
        return shares

    def _ranked(
        self,
        docs: frozenset[int],
        specs: list[tuple[str, str, float]],
        limit: int,
        masked: frozenset[int] | None,
        coverage: dict[int, float] | None = None,
        words: int = 1,
        pairs: list[int] | None = None,
    ) -> list[tuple[int, float]]:
        """The best ``limit`` of ``docs`` by BM25F, times the status factor and, given
        ``coverage`` (how many of the ``words`` each document has), the squared share; given
        the hashes of the query's neighbouring word ``pairs``, the best
        :data:`PROXIMITY_DEPTH` of those are then re-ranked by the share of the pairs they
        have (words together, in the query's order, rank above the same words apart)."""
        if not docs or limit <= 0:
            return []
        status = self.table.values["status"]
        if not specs:  # filters only: published first, then index order
            ordered = sorted(docs, key=lambda d: -STATUS_FACTOR.get(status[d], 0.8))
            return [(d, 0.0) for d in ordered[:limit]]
        scores = self._bm25(docs, specs).get
        if self._status_factors is None:
            self._status_factors = [STATUS_FACTOR.get(s, 0.8) for s in status]
        factors = self._status_factors
        # in document order, so that equal scores keep it (nlargest is stable)
        if coverage is not None:
            final = {
                d: scores(d, 0.0) * factors[d] * coverage[d] ** COVERAGE_POWER for d in sorted(docs)
            }
        else:
            final = {d: scores(d, 0.0) * factors[d] for d in sorted(docs)}
        if pairs:
            depth = max(PROXIMITY_DEPTH, limit)
            best = (
                heapq.nlargest(depth, final, key=final.__getitem__)
                if len(final) > depth
                else list(final)
            )
            counts = self.table.pair_counts(best, pairs)
            size = len(pairs)
            # the longer the query, the more its word order says (a pasted message)
            power = min(PROXIMITY_POWER, PROXIMITY_POWER_PER_PAIR * size)
            factor = [(1.0 + c / size) ** power for c in range(size + 1)]
            final = {d: final[d] * factor[counts.get(d, 0)] for d in sorted(best)}
        return [(d, final[d]) for d in heapq.nlargest(limit, final, key=final.__getitem__)]

    def _feedback(
        self, ranked: list[tuple[int, float]], plans: list[WordPlan]
    ) -> list[tuple[str, str, float]]:
        """RM3 expansion terms (as scoring specs) from the best ranked documents."""
        top = [(d, s) for d, s in ranked[:PRF_DOCS] if s > 0]
        total = sum(s for _, s in top)
        if not top or total <= 0:
            return []
        known = {t for plan in plans for t in plan.terms()}
        weights: dict[str, float] = {}
        seen_in: Counter[str] = Counter()
        for docnum, score in top:
            terms = self.table.sequence(docnum).split()
            if not terms:
                continue
            counts = Counter(terms)
            share = score / total / len(terms)
            for term, count in counts.items():
                weights[term] = weights.get(term, 0.0) + share * count
                seen_in[term] += 1
        n = max(self.reader.doc_count(), 1)
        scored = []
        for term, weight in weights.items():
            if term in known or len(term) < 3 or term.isdigit() or seen_in[term] < 2:
                continue
            frequency = self.reader.doc_frequency("body", term)
            if not frequency or frequency > n * 0.1:
                continue
            scored.append((weight * math.log(n / frequency), term))
        scored.sort(reverse=True)
        chosen = scored[:PRF_TERMS]
        if not chosen:
            return []
        best = chosen[0][0]
        return [
            (f, term, b * PRF_WEIGHT * value / best)
            for value, term in chosen
            for f, b in TEXT_FIELDS.items()
        ]

    def _bm25(self, docs: frozenset[int], specs: list[tuple[str, str, float]]) -> dict[int, float]:
        """BM25F (Whoosh's formula, B=0.75, K1=1.2) of ``docs`` (the result may hold others
        too), from postings read a block at a time and document lengths read once per
        segment. Whoosh's own collector costs a Python call per posting and per length
        lookup, and its union matcher cannot skip blocks: scoring 10,000 hits took 100-500
        ms."""
        scores: dict[int, float] = {}
        get = scores.get
        # A word looked up in every text field with the usual weights (the common case) is
        # scored from one list merged over the fields, not five.
        by_term: dict[str, set[str]] = {}
        for fieldname, term, boost in specs:
            if TEXT_FIELDS.get(fieldname) == boost:
                by_term.setdefault(term, set()).add(fieldname)
        whole = {t for t, names in by_term.items() if len(names) == len(TEXT_FIELDS)}
        merged = [("", t, 0.0) for t in sorted(whole)]
        rest = [spec for spec in specs if not (spec[1] in whole and spec[0] in TEXT_FIELDS)]
        for fieldname, term, boost in merged + rest:
            if fieldname:
                _docset, ids, contributions = self._contributions(fieldname, term, boost)
            else:
                _docset, ids, contributions = self._all_fields(term)
            if not ids:
                continue
            if len(ids) <= 2 * len(docs):
                # most postings are wanted: scoring the others too is cheaper than asking
                # (callers read the scores of ``docs`` only)
                for docnum, value in zip(ids, contributions):
                    scores[docnum] = get(docnum, 0.0) + value
            else:
                for docnum, value in zip(ids, contributions):
                    if docnum in docs:
                        scores[docnum] = get(docnum, 0.0) + value
        return scores

    def _all_fields(self, term: str) -> tuple[frozenset[int], list[int], list[float]]:
        """:meth:`_contributions` of ``term`` summed over all text fields with their weights."""
        key = ("", term, 0.0)
        found = self._scores.get(key)
        if found is not None:
            self._scores.move_to_end(key)
            return found
        sums: dict[int, float] = {}
        get = sums.get
        for fieldname, boost in TEXT_FIELDS.items():
            _docset, ids, values = self._contributions(fieldname, term, boost)
            for docnum, value in zip(ids, values):
                sums[docnum] = get(docnum, 0.0) + value
        found = (frozenset(sums), list(sums), list(sums.values()))
        self._scores[key] = found
        if len(self._scores) > 256:
            self._scores.popitem(last=False)
        return found

    def _contributions(
        self, fieldname: str, term: str, boost: float
    ) -> tuple[frozenset[int], list[int], list[float]]:
        """(document set, document numbers, each one's BM25F share) of a term in a field: it
        depends only on the index, so it is worked out once per searcher."""
        key = (fieldname, term, boost)
        found = self._scores.get(key)
        if found is not None:
            self._scores.move_to_end(key)
            return found
        docset, ids, weights = self.sets.postings(fieldname, term)
        if fieldname in TEXT_FIELDS and ids:
            k1, b = 1.2, 0.75
            searcher = self.searcher
            idf = searcher.idf(fieldname, term) * boost
            average = searcher.avg_field_length(fieldname) or 1.0
            lengths = self.table.lengths(fieldname)
            top = idf * (k1 + 1)
            base = k1 * (1 - b)
            slope = k1 * b / average
            values = [top * tf / (tf + base + slope * lengths[d]) for d, tf in zip(ids, weights)]
        else:
            values = [tf * boost for tf in weights]
        found = (docset, ids, values)
        self._scores[key] = found
        if len(self._scores) > 256:
            self._scores.popitem(last=False)
        return found

    def facets(self, docs: Iterable[int]) -> dict[str, list[tuple[str, int]]]:
        """Counts of each facet value over ``docs``: one set intersection per value when a
        facet has few values (type, organisation, a team's tags: C loops), else a count over
        the documents' own values."""
        hits = docs if isinstance(docs, (set, frozenset)) else frozenset(docs)
        out: dict[str, list[tuple[str, int]]] = {}
        for key, name in FACET_FIELDS.items():
            values = self.table.facet_sets(name)
            if len(values) <= FACET_SETS_UP_TO:
                counted = [(value, len(members & hits)) for value, members in values.items()]
                items = [(value, count) for value, count in counted if count]
            else:
                column = self.table.values[name]
                if name in ("tag", "system"):
                    counts = Counter(itertools.chain.from_iterable(map(column.__getitem__, hits)))
                else:
                    counts = Counter(map(column.__getitem__, hits))
                    counts.pop("", None)
                items = list(counts.items())
            out[key] = sorted(items, key=lambda kv: (-kv[1], kv[0]))[:FACET_LIMIT]
        return out
