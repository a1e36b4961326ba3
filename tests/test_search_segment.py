"""The fast build path writes the index Whoosh's own writer writes.

Full builds and updates file postings with :class:`kbapp.search.segment.SortedSegmentWriter`
and analyse each text once (:func:`kbapp.search.analysis.analyse_text`). The searcher reads
what Whoosh's writer would have written, so both paths must give the same terms, postings,
weights, field lengths, stored fields and columns: here the same documents go through both,
into real indexes on disk, and are compared file by file and through Whoosh's readers.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from array import array
from pathlib import Path
from typing import Any

import pytest
from search_helpers import DOCS, populate
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3FieldWriter, W3PostingsWriter
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.index import TOC
from whoosh.writing import SegmentWriter

from kbapp.search import SearchIndex, analysis
from kbapp.search.postings import TermSets
from kbapp.search.schema import (
    CODEC,
    PAIRS_FIELD,
    PREFIX_FIELD,
    PREFIX_GRAMS,
    PREFIX_MAX,
    PREFIX_MIN,
    SEQUENCE_FIELD,
    SNIPPET_FIELD,
    TEXT_FIELDS,
    make_schema,
    read_document,
)
from kbapp.search.segment import SortedSegmentWriter
from kbapp.search.tables import DocTable
from kbapp.workspace import Workspace

SUPPORT = "gautamanand-dot__SupportArticles-docs"
KB_TEXTS = [
    "KB KB 1234 x",
    "kb number no 123456 KB id: 99999 KB article 1234567 kb nr 12 1234",
    "Q327825 KB327825 kb12 KB is 123456",
    "kb 123 kb 12345678 KB 123456789 and KB\n\nnumber: 4567",
    "Original KB number: 327825; see also KB2919355 and q123456.",
]


def _documents(root: Path, paths: list[str]) -> list[dict[str, Any]]:
    found = [read_document(root, path) for path in paths]
    return [doc.fields for doc in found if doc.fields is not None]


def _empty_index(directory: Path) -> Any:
    directory.mkdir(parents=True)
    whoosh_index.create_in(str(directory), make_schema()).close()
    return whoosh_index.open_dir(str(directory))


def _build_both(tmp_path: Path, documents: list[dict[str, Any]]) -> tuple[Path, Path]:
    """The documents indexed by Whoosh's writer and by the fast writer, one segment each."""
    standard = tmp_path / "standard"
    ix = _empty_index(standard)
    writer = ix.writer(compound=False, codec=CODEC, limitmb=256)
    for fields in documents:
        writer.add_document(**fields)
    writer.commit(merge=False)
    ix.close()

    fast = tmp_path / "fast"
    ix = _empty_index(fast)
    sorted_writer = SortedSegmentWriter(ix, CODEC)
    for fields in documents:
        sorted_writer.add_document(fields)
    segment = sorted_writer.finish()
    TOC(ix.schema, [segment], ix.latest_generation() + 1).write(ix.storage, ix.indexname)
    ix.close()
    return standard, fast


def _segment_files(directory: Path) -> dict[str, str]:
    """MD5 of each segment file by its kind (the name without the random segment id)."""
    out = {}
    for path in directory.iterdir():
        found = re.fullmatch(r"MAIN_[a-z0-9]+\.(.+)", path.name)
        if found:
            out[found.group(1)] = hashlib.md5(path.read_bytes()).hexdigest()
    return out


def _contents(directory: Path) -> dict[str, Any]:
    """Everything the searcher reads, through Whoosh's reader."""
    ix = whoosh_index.open_dir(str(directory))
    with ix.reader() as reader:
        postings = {}
        for fieldname, term in reader.all_terms():
            matcher = reader.postings(fieldname, term)
            items = []
            while matcher.is_active():
                items.append((matcher.id(), matcher.weight(), matcher.value()))
                matcher.next()
            postings[(fieldname, term)] = items
        count = reader.doc_count_all()
        lengths = {
            name: [reader.doc_field_length(n, name) for n in range(count)] for name in TEXT_FIELDS
        }
        stored = [reader.stored_fields(n) for n in range(count)]
        columns = {
            name: list(reader.column_reader(name, translate=False))
            for name in (SEQUENCE_FIELD, PAIRS_FIELD, SNIPPET_FIELD)
        }
    ix.close()
    return {
        "postings": postings,
        "lengths": lengths,
        "stored": stored,
        "columns": columns,
        "count": count,
    }


def _assert_same_index(tmp_path: Path, documents: list[dict[str, Any]]) -> dict[str, Any]:
    standard, fast = _build_both(tmp_path, documents)
    files = _segment_files(standard)
    assert {"trm", "pst", "_stored.col", "_body_len.col"} <= set(files)
    assert _segment_files(fast) == files
    expected = _contents(standard)
    assert _contents(fast) == expected
    assert expected["count"] == len(documents)
    return expected


def test_the_fast_writer_writes_whooshs_files_for_the_fixture_documents(
    tmp_path: Path, populated_kb: Workspace
) -> None:
    documents = _documents(populated_kb.root, sorted(DOCS))
    contents = _assert_same_index(tmp_path, documents)
    assert ("body", b"0x80070005") in contents["postings"]


def test_the_fast_writer_writes_whooshs_files_for_real_articles(
    tmp_path: Path, corpora: Path
) -> None:
    root = corpora / SUPPORT
    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.md"))
    documents = _documents(root, paths[:: max(1, len(paths) // 220)][:220])
    assert len(documents) > 150
    contents = _assert_same_index(tmp_path, documents)
    postings = contents["postings"]
    # what makes the comparison worth having: terms in more than one 128-posting block,
    # inlined terms (under 8 postings), posting values (prefixes), KB numbers, identifiers
    assert max(len(p) for p in postings.values()) > 128
    assert min(len(p) for p in postings.values()) == 1
    assert any(items[0][2] for (field, _), items in postings.items() if field == "prefix")
    assert any(term.startswith(b"kb") and term[2:].isdigit() for _, term in postings)


def test_one_pass_analysis_gives_the_terms_counts_and_sequences_of_the_full_analysis(
    corpora: Path,
) -> None:
    root = corpora / SUPPORT
    texts = list(KB_TEXTS)
    for path in itertools.islice(sorted(root.rglob("*.md")), 0, None, 40):
        text = path.read_text(encoding="utf-8", errors="replace")
        texts += [text, text.upper(), text[:400]]
    assert len(texts) > 300
    for text in texts:
        spelling: set[str] = set()
        counts, terms = analysis.analyse_text(text, spelling)
        assert counts == {t: len(p) for t, p in analysis.index_terms(text).items()}, text[:80]
        # the spelling words: the plain words of the text that are words (no digits)
        plain = analysis.plain_words(text)
        assert spelling == {w for w in plain if w.isalpha() and len(w) <= 30}, text[:80]
        sequence = analysis.term_sequence(text)
        assert analysis.sequence_text(terms) == sequence
        assert analysis.pair_hashes(terms) == analysis.sequence_pair_hashes(sequence)
    counts, _ = analysis.analyse_text(" ".join(KB_TEXTS))
    assert {"kb1234", "kb123456", "kb327825", "kb2919355", "kb4567"} <= set(counts)
    assert "kb123456789" not in counts and "kb123" not in counts


def test_the_private_names_the_fast_writer_fills_are_there(tmp_path: Path) -> None:
    """Instance attributes of Whoosh's writers that SortedSegmentWriter reads or sets (its
    class-level names are in whoosh_fixes.PRIVATE_NAMES, checked with the version)."""
    ix = _empty_index(tmp_path / "ix")
    writer = SortedSegmentWriter(ix, CODEC)
    fields = writer.codec.field_writer(writer.storage, writer.segment)
    assert isinstance(fields, W3FieldWriter)
    assert isinstance(fields._tindex, OrderedHashWriter)
    for name in ("dbfile", "buckets", "hashtype", "hashfn", "lastkey", "index"):
        assert hasattr(fields._tindex, name), name
    assert isinstance(fields._tindex.index.array, array)  # a GrowableArray's array
    fields.start_field("body", ix.schema["body"])
    assert isinstance(fields._postwriter, W3PostingsWriter)
    assert isinstance(fields._fieldid, int)
    fields.start_term(b"word")
    for name in ("_blocklimit", "_inlinelimit", "_ids", "_weights", "_values", "_maxweight"):
        assert hasattr(fields._postwriter, name), name
    fields.add(0, 1.0, b"", 0)
    fields.finish_term()
    fields.finish_field()
    fields.close()
    whoosh_writer = SegmentWriter(ix, _lk=False, codec=CODEC)
    assert hasattr(whoosh_writer, "_added")
    whoosh_writer.cancel()
    ix.close()


def test_saves_write_their_own_segment_and_small_segments_are_merged(
    kb: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kbapp.search.segment as segment_module

    monkeypatch.setattr(segment_module, "MERGE_SMALL_AT", 3)
    populate(kb)
    index = SearchIndex.for_workspace(kb)
    index.rebuild()
    paths = sorted(DOCS)[:7]
    counts = []
    for number, path in enumerate(paths):
        original = (kb.root / path).read_text(encoding="utf-8")
        (kb.root / path).write_text(original + f"\nQuasar{number} step.\n", encoding="utf-8")
        assert index.update([path]) == 1
        counts.append(len(index._ix._read_toc().segments))
        assert [h.path for h in index.search(f"quasar{number} ").hits] == [path]
    # a save adds a segment; once three small ones are there the next save merges them
    assert counts[:4] == [2, 3, 2, 3]
    for number, path in enumerate(paths):
        assert [h.path for h in index.search(f"quasar{number} ").hits] == [path]
    assert index._ix.doc_count() == len(DOCS)
    (kb.root / paths[0]).unlink()
    assert index.update([paths[0]]) == 1
    assert index.search("quasar0 ").hits == []
    assert index._ix.doc_count() == len(DOCS) - 1


def test_one_reading_of_a_body_gives_its_prose_code_and_headings(corpora: Path) -> None:
    """schema.split_body reads the lines once for what split_code, Document.headings and
    the snippet text (mdlines.without_fences) each read them for."""
    from kbapp.documents import mdlines
    from kbapp.documents import model as documents
    from kbapp.search.markup import clean_markup
    from kbapp.search.schema import _read_body, split_body
    from kbapp.search.snippets import readable_text

    root = corpora / SUPPORT
    bodies = ["# A\n```\n# not a heading\n```\n## B ##\ntext", "no heading # here\n#nospace"]
    for path in itertools.islice(sorted(root.rglob("*.md")), 0, None, 20):
        doc = documents.parse(path.read_bytes(), path.name)
        bodies += [doc.body, clean_markup(doc.body)]
    for body in bodies:
        prose, code = [], []
        for _number, line, kind in mdlines.lines(body):
            if kind != "fence":
                (code if kind == "code" else prose).append(line)
        headings = documents.Document(path="x.md", meta={}, body=body).headings()
        assert split_body(body) == ("\n".join(prose), "\n".join(code), headings), body[:80]
        # the same reading gives the body without its fences, for the snippet text
        unfenced = _read_body(body)[3]
        assert unfenced == mdlines.without_fences(body)
        assert readable_text(body, "A", unfenced=unfenced) == readable_text(body, "A", cleaned=body)


def _edge_grams(words: dict[str, float]) -> dict[str, float]:
    """Every edge n-gram (PREFIX_MIN to PREFIX_MAX letters) of the words, with the largest
    weight of the words it starts: what the prefix field held until index version 12."""
    grams: dict[str, float] = {}
    for word, weight in words.items():
        for end in range(PREFIX_MIN, min(len(word), PREFIX_MAX) + 1):
            if grams.get(word[:end], 0.0) < weight:
                grams[word[:end]] = weight
    return grams


def test_a_typed_prefix_finds_what_the_edge_ngrams_of_the_words_found(
    tmp_path: Path, corpora: Path
) -> None:
    root = corpora / SUPPORT
    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.md"))
    documents = _documents(root, paths[3 :: max(1, len(paths) // 150)][:150])
    # two segments (document numbers offset in the second) and a deleted document
    ix = _empty_index(tmp_path / "index")
    segments = []
    for part in (documents[:90], documents[90:]):
        writer = SortedSegmentWriter(ix, CODEC)
        for fields in part:
            writer.add_document(fields)
        segments.append(writer.finish())
    TOC(ix.schema, segments, ix.latest_generation() + 1).write(ix.storage, ix.indexname)
    ix.close()
    ix = whoosh_index.open_dir(str(tmp_path / "index"))
    gone = documents[95]["path"]
    deleting = ix.writer(codec=CODEC)
    deleting.delete_by_term("path", gone)
    deleting.commit(merge=False)
    expected: dict[str, dict[int, float]] = {}
    for number, fields in enumerate(documents):
        if fields["path"] == gone:
            continue
        for gram, weight in _edge_grams(fields[PREFIX_FIELD]).items():
            expected.setdefault(gram, {})[number] = weight
    # the field keeps far fewer terms than the grams
    assert len({w for f in documents for w in f[PREFIX_FIELD]}) < len(expected) / 2
    with ix.searcher() as searcher:
        sets = TermSets(searcher, DocTable(searcher, {}))
        for gram, docs in expected.items():
            ids, weights = sets.read(PREFIX_FIELD, gram)
            assert dict(zip(ids, weights)) == docs, gram
            assert list(ids) == sorted(ids)
        assert [len(found) for found in sets.read(PREFIX_FIELD, "zzzzq")] == [0, 0]
    assert any(len(g) > PREFIX_GRAMS and len(d) > 8 for g, d in expected.items())
    ix.close()


def test_a_words_documents_outlive_a_flood_of_postings(
    search_index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word's documents in any field (and a phrase's) are kept apart from the postings:
    a long query reads each word's postings in five fields, and in one cache those pushed
    out the document sets the other queries use (the 40 incident queries run a second time
    read half their postings again: the tail of the in-process figures)."""
    runner = search_index._current_runner()
    assert runner is not None
    sets = TermSets(runner.searcher, runner.table, size=8)
    error = sets.any_field("error")
    phrase = sets.phrase_docs(["intern", "error"])
    assert phrase and phrase <= error
    for word in ["etcd", "leader", "payment", "databas"]:
        sets.any_field(word)  # five fields' postings each: 20 for a cache of 8
    read: list[tuple[str, str]] = []
    original = sets._matchers  # every read of a term's postings in a field starts here

    def counted(fieldname: str, term: str) -> Any:
        read.append((fieldname, term))
        return original(fieldname, term)

    monkeypatch.setattr(sets, "_matchers", counted)
    assert sets.any_field("error") == error and sets.phrase_docs(["intern", "error"]) == phrase
    assert read == []


def test_words_of_an_ascii_text_are_word_res(corpora: Path) -> None:
    """An ASCII text's words are found with an ASCII pattern (faster): the same words as
    WORD_RE finds, on real articles and on random strings of the characters that matter."""
    import random

    texts = [
        path.read_text(encoding="utf-8", errors="replace")
        for path in sorted((corpora / "gautamanand-dot__SupportArticles-docs").rglob("*.md"))[::40]
    ]
    chooser = random.Random(15)
    for alphabet in ("aZ09_-./\\@ \t\n:x", "aZ09_-./\\@ \t\n:é\u00a0ß\u0660x"):
        texts += ["".join(chooser.choices(alphabet, k=60)) for _ in range(10_000)]
    ascii_texts = 0
    for text in texts:
        assert analysis.words_of(text) == analysis.WORD_RE.findall(text)
        ascii_texts += text.isascii()
    assert ascii_texts > 1000


def test_pair_hashes_continued_from_each_terms_crc_are_the_joined_pairs() -> None:
    """``pair_hashes`` continues each pair's CRC from its first term's (cached): the same
    hashes as the CRC of the two terms joined by a space, for terms of any characters."""
    import random
    import zlib

    chooser = random.Random(15)
    terms = ["a", "b", "é", "日本", "x y", "", "kb327825", "ünï", "0x80070005", "a"]
    for _ in range(20_000):
        text = [chooser.choice(terms) for _ in range(chooser.randint(0, 12))]
        joined = {zlib.crc32(" ".join(pair).encode()) for pair in itertools.pairwise(text)}
        assert analysis.pair_hashes(text) == joined
