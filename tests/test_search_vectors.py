"""The NumPy paths of a search (a phrase's pair check over many documents, BM25F of every
document and the best k: kbapp/search/columns.py, scoring.py, searcher.py) answer exactly what
the document-at-a-time Python paths answer: the same documents, order, scores (bit for bit),
totals and hit sets, on real on-disk indexes: about 600 real documents, and a knowledge base
whose documents were saved again and deleted (segments with deleted documents, several
segments), with filters, exclusions, retired documents and k larger than the hits."""

from __future__ import annotations

import builtins
import random
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import git, write_doc
from search_helpers import front
from test_search_topk import random_queries

from kbapp.search import SearchIndex
from kbapp.search import blocks as blocks_module
from kbapp.search import columns as columns_module
from kbapp.search import postings as postings_module
from kbapp.search import vectors as vectors_module
from kbapp.search.analysis import pair_hash, word_terms
from kbapp.search.blocks import leaf_arrays, leaf_blocks
from kbapp.search.plan import Alternative
from kbapp.search.postings import PHRASE_FIELDS
from kbapp.search.query import parse_query
from kbapp.search.schema import PAIRS_FIELD
from kbapp.search.searcher import Outcome, QueryRunner
from kbapp.workspace import Workspace

np = pytest.importorskip("numpy")

WORDS = [
    "disk",
    "full",
    "restart",
    "service",
    "database",
    "replica",
    "failover",
    "backup",
    "restore",
    "memory",
    "network",
    "latency",
    "timeout",
    "certificate",
    "expired",
    "renew",
    "cluster",
    "node",
    "volume",
    "snapshot",
    "quota",
    "login",
    "password",
    "locked",
    "permission",
    "denied",
    "token",
    "session",
    "firewall",
    "upgrade",
    "rollback",
]
PHRASES = ["disk full", "restart the service", "certificate expired", "replica lag alert"]
TYPES = ("runbook", "sop", "troubleshooting", "known-error")
STATUSES = ("published", "published", "published", "in-review", "draft", "retired")


def _body(rng: random.Random) -> str:
    words = [rng.choice(WORDS[: rng.randint(4, len(WORDS))]) for _ in range(rng.randint(20, 90))]
    for _ in range(rng.randint(0, 3)):
        at = rng.randrange(len(words) + 1)
        words[at:at] = rng.choice(PHRASES).split()
    return "## Steps\n\n" + " ".join(words) + "\n"


def _doc(rng: random.Random, number: int) -> tuple[str, str]:
    doc_type = rng.choice(TYPES)
    title = " ".join(rng.sample(WORDS, 3))
    text = front(
        f"kb-{number:08x}",
        title,
        doc_type,
        rng.choice(STATUSES),
        tags=tuple(rng.sample(("db", "net", "auth"), rng.randint(0, 2))),
    )
    return f"{doc_type}s/doc-{number:04d}.md", text + _body(rng)


@pytest.fixture
def churned(kb: Workspace) -> Iterator[SearchIndex]:
    """240 documents indexed, then 40 saved again and 15 deleted: segments with deleted
    documents, and new small segments."""
    rng = random.Random(15)
    paths = []
    for number in range(240):
        relative, text = _doc(rng, number)
        write_doc(kb, relative, text)
        paths.append(relative)
    git(kb.root, "add", "-A")
    git(kb.root, "commit", "-q", "-m", "Documents")
    index = SearchIndex.for_workspace(kb)
    index.catch_up()
    for relative in rng.sample(paths, 40):
        number = int(relative.rsplit("-", 1)[1][:4])
        write_doc(kb, relative, _doc(rng, number)[1])
        index.update([relative])
    gone = rng.sample(paths, 15)
    for relative in gone:
        (kb.root / relative).unlink()
    index.update(gone)
    yield index


def _runners(index: SearchIndex) -> tuple[QueryRunner, QueryRunner]:
    """Two runners on the index's searcher, each with caches of its own (a phrase's
    documents are kept per runner: each way does its own check)."""
    found = index._current_runner()
    assert found is not None
    return tuple(  # type: ignore[return-value]
        QueryRunner(found.searcher, found.table, found.synonyms, found.vocabulary) for _ in range(2)
    )


def _both(
    runners: tuple[QueryRunner, QueryRunner],
    query: str,
    limit: int,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Outcome, Outcome]:
    outcomes = []
    for runner, vectors in zip(runners, (True, False)):
        monkeypatch.setattr(vectors_module, "VECTORS", vectors)
        outcomes.append(runner.run(query, parse_query(query), limit))
    return outcomes[0], outcomes[1]


def _same(
    vector: Outcome,
    python: Outcome,
    query: str,
    runners: tuple[QueryRunner, QueryRunner] | None = None,
) -> bool:
    """Asserts the two outcomes are the same; given the ``runners``, their facets too.
    Returns whether the vector way's hits were a NumPy mask."""
    assert vector.ranked == python.ranked, query
    assert vector.total == python.total, query
    assert vector.hits() == python.hits(), query
    assert vector.suggestion == python.suggestion, query
    assert vector.some_words_only == python.some_words_only, query
    assert vector.unmatched_words == python.unmatched_words, query
    assert isinstance(python.hit_docs, frozenset), query
    if runners is not None:
        # the hits as a NumPy mask (the vector runner's) or a set: the same facets
        assert runners[0].facets(vector.hit_docs) == runners[1].facets(python.hit_docs), query
    return isinstance(vector.hit_docs, np.ndarray)


@pytest.fixture
def every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """NumPy for any number of documents (loaded here), as for a large knowledge base."""
    monkeypatch.setattr(vectors_module, "VECTOR_FROM", 1)


def test_numpy_ranking_is_the_python_ranking_on_real_documents(
    corpus_search_index: SearchIndex, every_size: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runners = _runners(corpus_search_index)
    compared = masks = 0
    for number, query in enumerate(random_queries(300, seed=151)):
        limit = (10, 1, 3, 100, 1000)[number % 5]
        vector, python = _both(runners, query, limit, monkeypatch)
        masks += _same(vector, python, query, runners if number % 5 == 0 else None)
        compared += len(python.ranked) > 1
    assert compared > 200  # most queries found several documents to rank
    assert masks > 250  # matched as NumPy masks (all but queries with nothing to score)


def test_numpy_ranking_after_saves_and_deletions(
    churned: SearchIndex, every_size: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runners = _runners(churned)
    reader = runners[0].reader
    assert len(reader.leaf_readers()) > 1
    assert any(leaf.has_deletions() for leaf, _offset in reader.leaf_readers())
    rng = random.Random(7)
    queries = [f'"{p}" ' for p in PHRASES] + ['"full restart" ', '"service disk" ']
    queries += [f'"{p}" {rng.choice(WORDS)} ' for p in PHRASES]
    queries += [" ".join(rng.sample(WORDS, k)) + " " for k in (1, 2, 3, 5, 8) for _ in range(6)]
    queries += [f"type:{t} {rng.choice(WORDS)} " for t in TYPES]
    queries += [f"tag:db {rng.choice(WORDS)} -{rng.choice(WORDS)} ", "status:retired disk "]
    queries += ["type:sop -tag:net restart service ", '-"disk full" restart ', "faliover "]
    hits = masks = 0
    for query in queries:
        for limit in (1, 10, 1000):  # 1000: more than every hit
            vector, python = _both(runners, query, limit, monkeypatch)
            masks += _same(vector, python, query, runners if limit == 10 else None)
            if limit == 1000:
                assert len(python.ranked) == python.total or len(python.ranked) == 1000
            hits += bool(python.ranked)
    assert hits > 3 * len(queries) * 0.8
    assert masks > 3 * len(queries) * 0.9
    # the documents deleted are never found
    live = {d for d, _ in runners[1].run("disk ", parse_query("disk "), 1000).ranked}
    deleted = set().union(
        *(
            {offset + d for d in leaf.deleted_docs_set}
            for leaf, offset in reader.leaf_readers()
            if leaf.has_deletions()
        )
    )
    assert live and not live & deleted


@pytest.mark.parametrize(
    ("window", "guesses", "chunk"), [(1, 0, 4096), (2, 1, 7), (3, 2, 4096), (8, 1, 50), (64, 0, 1)]
)
def test_pair_check_in_numpy_is_the_binary_search(
    churned: SearchIndex, window: int, guesses: int, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every document of every segment, for hashes each document holds (its first, last and
    middle ones), hashes next to them, and the extremes of 32 bits; with windows around the
    guessed place (corrected 0-2 times) small enough that many searches leave them for the
    whole slice; the documents checked all at once or in chunks of 1-50."""
    monkeypatch.setattr(columns_module, "PAIR_WINDOW", window)
    monkeypatch.setattr(columns_module, "PAIR_GUESSES", guesses)
    monkeypatch.setattr(columns_module, "PAIR_CHUNK", chunk)
    runner = churned._current_runner()
    assert runner is not None
    checked = 0
    for reader, _offset, table in runner.table.leaves:
        column = table.column(reader, PAIRS_FIELD)
        assert column.can_vector()
        docs = list(range(table.size))
        numbers = {0, 1, 2**32 - 1, 2**32 - 2, pair_hash("disk", "full")}
        for docnum in docs:
            held = np.frombuffer(column.value(docnum), dtype=np.uint32).tolist()
            if held:
                numbers.update((held[0], held[-1], held[len(held) // 2]))
                numbers.update(((held[0] + 1) % 2**32, max(held[-1] - 1, 0)))
        for number in sorted(numbers):
            expected = column.having(docs[:1], [number]) + [
                d for d in docs[1:] if d in column.having([d], [number])
            ]
            found = column.having_vector(np, np.asarray(docs, dtype=np.int64), [number])
            assert found.tolist() == expected, number
            checked += len(expected)
        pairs = [pair_hash("disk", "full"), pair_hash("restart", "servic")]
        assert column.having_vector(np, np.asarray(docs), pairs).tolist() == column.having(
            docs[:0] + [d for d in docs if column.having([d], pairs)], pairs
        )
    assert checked > 200


def test_numpy_is_imported_only_for_large_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loaded: used from VECTOR_FROM documents (or postings) on. Not loaded: imported only
    for VECTOR_IMPORT_FROM documents, so a small knowledge base's search never pays its
    import (tests/test_search_lifecycle.py checks a ``kbapp search`` process)."""
    numpy_for = vectors_module.numpy_for
    assert numpy_for(vectors_module.VECTOR_FROM - 1) is None
    assert numpy_for(vectors_module.VECTOR_FROM) is np
    assert numpy_for(1, work=vectors_module.VECTOR_FROM) is np
    # not loaded (and, here, not installed): no import below VECTOR_IMPORT_FROM documents
    tried: list[int] = []
    real_import = builtins.__import__

    def import_(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "numpy":
            tried.append(1)
            raise ImportError("no numpy here")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "numpy")
    monkeypatch.setattr(builtins, "__import__", import_)
    assert numpy_for(vectors_module.VECTOR_IMPORT_FROM - 1, work=10**6) is None
    assert not tried
    assert numpy_for(vectors_module.VECTOR_IMPORT_FROM) is None
    assert tried
    monkeypatch.undo()
    assert numpy_for(vectors_module.VECTOR_IMPORT_FROM) is np
    monkeypatch.setattr(vectors_module, "VECTORS", False)
    assert numpy_for(vectors_module.VECTOR_IMPORT_FROM) is None


def _public_postings(reader: Any, offset: int, fieldname: str, term: bytes) -> list[Any]:
    """(document number, weight) of a term through Whoosh's public matcher interface (one
    call per posting; deleted documents skipped by Whoosh)."""
    matcher = reader.postings(fieldname, term)
    out = []
    while matcher.is_active():
        out.append((matcher.id() + offset, matcher.weight()))
        matcher.next()
    return out


@pytest.mark.parametrize("fixture", ["corpus_search_index", "churned"])
def test_postings_read_in_one_go_are_whoosh_postings(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """Each term's blocks decoded from one read of the postings file (deleted documents left
    out) are the postings Whoosh's matcher gives, one by one: terms of one block and of many,
    in segments with and without deletions."""
    index: SearchIndex = request.getfixturevalue(fixture)
    runner = _runners(index)[0]
    many_blocks = 0
    step = 7 if fixture == "corpus_search_index" else 1
    for fieldname in ("body", "title", "code"):
        for reader, offset in runner.reader.leaf_readers():
            for term in list(reader.lexicon(fieldname))[::step]:
                public = _public_postings(reader, offset, fieldname, term)
                ids, weights = runner.sets.read(fieldname, term.decode("utf-8"))
                ours = [
                    (d, w)
                    for d, w in zip(ids, weights)
                    if offset <= d < offset + reader.doc_count_all()
                ]
                assert ours == public, term
                many_blocks += len(public) > 128
    assert many_blocks >= 3


def test_no_cycle_collection_inside_a_query_and_the_collector_left_as_found(
    churned: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Automatic collection is off while a query runs (its postings and document sets are
    not walked again by each collection it triggers), on again after, and left off when
    the caller had it off (the window collects on its own timer); the answers are the same."""
    import gc

    seen: list[bool] = []
    original = QueryRunner.run

    def run(self: QueryRunner, *args: Any) -> Outcome:
        seen.append(gc.isenabled())
        return original(self, *args)

    monkeypatch.setattr(QueryRunner, "run", run)
    was = gc.isenabled()
    try:
        gc.enable()
        on = [churned.search(q, 10) for q in ("disk full", "replica failover backup", "restore")]
        assert gc.isenabled()
        gc.disable()
        off = [churned.search(q, 10) for q in ("disk full", "replica failover backup", "restore")]
        assert not gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
    assert seen == [False] * 6
    assert [(r.total, [(h.path, h.score) for h in r.hits]) for r in on] == [
        (r.total, [(h.path, h.score) for h in r.hits]) for r in off
    ]
    assert on[0].total > 0


@pytest.mark.parametrize("fixture", ["corpus_search_index", "churned"])
def test_scores_of_a_few_documents_are_their_scores_among_all(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """BM25F of a few documents only (each one's postings found by a binary search: a phrase
    of common words found in a few hundred documents) is, bit for bit, what adding up every
    posting gives them, in segments with and without deletions; the search uses it."""
    index: SearchIndex = request.getfixturevalue(fixture)
    runner = _runners(index)[0]
    rng = random.Random(3)
    scorer, size = runner.scorer, runner.table.size
    if fixture == "churned":  # the words its documents are written in (no corpus needed)
        words = random.Random(5)
        queries = [" ".join(words.sample(WORDS, words.randint(1, 4))) for _ in range(60)]
    else:
        queries = list(random_queries(60, seed=5))
    checked = 0
    for query in [*queries, *PHRASES]:
        terms = [t for word in query.split() for t in word_terms(word.strip('"'))]
        if not terms:
            continue
        # each word in every text field, and one at a share of a field's weight only
        specs = Alternative(terms).specs() + [("body", terms[0], 0.4)]
        every = scorer.dense_vector(np, specs)
        for count in (1, 7, size // 3, size):
            docs = np.array(sorted(rng.sample(range(size), count)), dtype=np.int64)
            assert scorer.dense_at(np, specs, docs).tolist() == every[docs].tolist(), query
            checked += 1
    assert checked > 150


@pytest.mark.parametrize(("window", "guesses", "chunk"), [(1, 1, 13), (8, 1, 4096), (64, 0, 64)])
def test_a_phrase_of_common_words_finds_exactly_the_documents_holding_it_in_order(
    churned: SearchIndex,
    every_size: None,
    window: int,
    guesses: int,
    chunk: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A quoted phrase of words most documents have (so the pair check runs in NumPy over
    most of the index) finds the documents whose text holds its words together and in that
    order, none else: against a scan of every live document's term sequences, in every
    segment of an index saved again and with deletions; the reversed phrase too."""
    monkeypatch.setattr(columns_module, "PAIR_WINDOW", window)
    monkeypatch.setattr(columns_module, "PAIR_GUESSES", guesses)
    monkeypatch.setattr(columns_module, "PAIR_CHUNK", chunk)
    runner = churned._current_runner()
    assert runner is not None
    masks = runner.masks()
    assert masks is not None
    reader = runner.searcher.reader()
    deleted = set().union(
        *(
            {offset + d for d in leaf.deleted_docs_set}
            for leaf, offset in reader.leaf_readers()
            if leaf.has_deletions()
        )
    )
    live = [d for d in range(runner.table.size) if d not in deleted]
    checked = 0
    for phrase in ("disk full", "full disk", "restart service", "service restart", "node disk"):
        terms = [t for w in phrase.split() for t in word_terms(w)]
        found = np.flatnonzero(masks.phrase(terms)).tolist()
        needle = " " + " ".join(terms) + " "
        expected = [
            d
            for d in live
            if any(needle in " " + part + " " for part in runner.table.sequence(d).split("\n"))
        ]
        assert found == expected, phrase
        both = masks.any_field(terms[0]) & masks.any_field(terms[1])
        assert int(both.sum()) >= 100  # (of the 225 live documents: checked in NumPy)
        checked += len(expected)
    assert checked > 100


def _blocks_read(matcher: Any) -> tuple[list[int], list[float]]:
    ids: list[int] = []
    weights: list[float] = []
    for block_ids, block_weights in leaf_blocks(matcher):
        ids.extend(block_ids)
        weights.extend(block_weights)
    return ids, weights


def test_postings_decoded_in_numpy_are_the_blocks_numbers(
    corpus_search_index: SearchIndex, churned: SearchIndex
) -> None:
    """Every term of every text field and filter field of two real indexes (600 real
    documents in one segment; an index saved again, with deletions): the postings NumPy
    decodes from the pickled blocks are the numbers Whoosh's block layout gives, document
    numbers and weights alike (blocks of 1-128 postings, weights none, one or one each,
    first ids of one, two and four bytes), or None (a difference of 256 or more)."""
    decoded = declined = 0
    for index in (corpus_search_index, churned):
        runner = index._current_runner()
        assert runner is not None
        for leaf, _offset in runner.searcher.reader().leaf_readers():
            for fieldname in (*PHRASE_FIELDS, "tag", "type", "status"):
                for btext in leaf.lexicon(fieldname):
                    found = leaf_arrays(np, leaf.postings(fieldname, btext))
                    if found is None:
                        declined += 1
                        continue
                    ids, weights = _blocks_read(leaf.postings(fieldname, btext))
                    assert found[0].dtype == np.int64 and found[1].dtype == np.float64
                    assert found[0].tolist() == ids, (fieldname, btext)
                    assert found[1].tolist() == weights, (fieldname, btext)
                    decoded += len(ids) >= 8  # (shorter ones are inline: no blocks)
    assert decoded > 500 and declined > 50


def test_a_segment_decoded_in_numpy_drops_its_deleted_documents(
    churned: SearchIndex, every_size: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A term's postings read through NumPy (every term, however short) are the ones read
    block by block: deleted documents left out, the segments' offsets added, the same
    weights and document counts."""
    runner = churned._current_runner()
    assert runner is not None
    reader = runner.searcher.reader()
    assert any(leaf.has_deletions() for leaf, _offset in reader.leaf_readers())
    monkeypatch.setattr(postings_module, "ARRAY_BYTES", 0)
    sets = runner.sets
    through = 0
    for fieldname in ("body", "title", "type"):
        for btext in reader.lexicon(fieldname):
            term = btext.decode("utf-8")
            found = sets._read_arrays(sets._matchers(fieldname, term))
            expected = sets._read_term(sets._matchers(fieldname, term))
            if found is None:
                continue
            through += 1
            assert list(found[0]) == expected[0], term
            assert list(found[1]) == expected[1], term
            assert found[2] == expected[2], term
    assert through > 20


def test_postings_written_another_way_are_left_to_the_block_read(churned: SearchIndex) -> None:
    """Bytes the NumPy decoding does not recognise (an id's opcode changed, the weights'
    opcode changed, the postings cut short) give None, never other numbers or an error:
    the term is then read block by block."""
    runner = churned._current_runner()
    assert runner is not None
    leaf = runner.searcher.reader().leaf_readers()[0][0]
    btext = max(leaf.lexicon("body"), key=lambda t: leaf.doc_frequency("body", t))
    matcher = leaf.postings("body", btext)
    matcher = getattr(matcher, "child", matcher)
    size = blocks_module.stored_length(matcher)
    buffer = bytes(matcher._postfile.get(matcher._startoffset, size))
    assert blocks_module.decode_blocks(np, buffer) is not None
    ids = blocks_module.decode_blocks(np, buffer)[0]
    assert len(ids) > 100
    opcodes = [at for at in range(len(buffer) - 1) if buffer[at] == ord("K")]
    changed = bytearray(buffer)
    changed[opcodes[len(opcodes) // 2]] = ord("M")  # an id (or a count) of two bytes
    assert blocks_module.decode_blocks(np, bytes(changed)) is None
    floats = [at for at in range(len(buffer)) if buffer[at] == ord("G")]
    changed = bytearray(buffer)
    changed[floats[len(floats) // 2]] = ord("J")
    assert blocks_module.decode_blocks(np, bytes(changed)) is None
    for cut in (len(buffer) // 2, len(buffer) - 3):
        assert blocks_module.decode_blocks(np, buffer[:cut]) is None
