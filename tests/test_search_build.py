"""A full build in worker processes gives the index a build in one process gives (real
SupportArticles, real indexes on disk), and hands back what the vectors are made of."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from whoosh import index as whoosh_index

from kbapp.search import analysis, semantic, vocabulary
from kbapp.search.build import Build, balanced_shares

SUPPORT = "gautamanand-dot__SupportArticles-docs"


def test_shares_are_consecutive_runs_of_about_equal_bytes(tmp_path: Path) -> None:
    sizes = [5000, 100, 100, 100, 9000, 300, 300, 2000, 50, 4000, 10, 10]
    paths = []
    for number, size in enumerate(sizes):
        name = f"d{number:02}.md"
        (tmp_path / name).write_bytes(b"x" * size)
        paths.append(name)
    paths.append("gone.md")  # removed meanwhile: counts as an empty file
    for workers in (1, 2, 3, 4):
        shares = balanced_shares(str(tmp_path), paths, workers)
        assert list(itertools.chain.from_iterable(shares)) == paths  # all, in order
        assert len(shares) == workers and all(shares)
    costs = {p: (tmp_path / p).stat().st_size + 1024 if p != "gone.md" else 1024 for p in paths}
    first, second = (
        sum(costs[p] for p in share) for share in balanced_shares(str(tmp_path), paths, 2)
    )
    # the cut falls within one document of the middle
    assert abs(first - second) <= 2 * max(costs.values())
    assert balanced_shares(str(tmp_path), paths[:1], 2) == [paths[:1]]
    assert balanced_shares(str(tmp_path), [], 2) == []


def _contents(directory: Path) -> dict[str, Any]:
    """Every stored document in index order, and each (field, term) with its documents'
    paths and weights."""
    ix = whoosh_index.open_dir(str(directory))
    with ix.reader() as reader:
        stored = [fields for _docnum, fields in reader.iter_docs()]
        paths = [fields["path"] for fields in stored]
        terms: dict[tuple[str, bytes], list[tuple[str, float]]] = {}
        for fieldname, btext in reader.all_terms():
            postings = reader.postings(fieldname, btext)
            terms[(fieldname, btext)] = [
                (paths[docnum], weight) for docnum, weight in postings.items_as("weight")
            ]
        texts = semantic.document_texts(reader, None)
    ix.close()
    return {"stored": stored, "terms": terms, "texts": texts}


def test_a_build_in_workers_is_the_build_in_one_process(corpora: Path, tmp_path: Path) -> None:
    root = corpora / SUPPORT
    listed = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.md"))
    paths = listed[:: max(1, len(listed) // 150)][:150]
    built = {}
    for workers in (1, 2):
        directory = tmp_path / f"ix-{workers}"
        build = Build(directory, str(root), paths, workers, lambda done, total: None)
        digests, _index_id = build.finish()
        assert sorted(digests) == paths
        built[workers] = (directory, build.texts)
    one, two = (_contents(built[w][0]) for w in (1, 2))
    # the same documents in the same order (each worker a run of consecutive paths), the
    # same terms with the same postings, the same spelling vocabulary
    assert [f["path"] for f in two["stored"]] == [f["path"] for f in one["stored"]] == paths
    assert two["stored"] == one["stored"]
    assert two["terms"] == one["terms"]
    assert vocabulary.Vocabulary(built[2][0]).words == vocabulary.Vocabulary(built[1][0]).words
    assert len(whoosh_index.open_dir(str(built[2][0]))._read_toc().segments) == 2
    # the workers hand back the texts the vectors are made of: what the index gives back
    assert built[1][1] is None  # one process: read from the index
    assert built[2][1] == one["texts"] == two["texts"]


def test_the_workers_make_the_vectors_the_texts_lack(corpora: Path, tmp_path: Path) -> None:
    """On a first build the workers embed their shares' texts while they build the index;
    the parent keeps those vectors: the same bytes as embedding them after the build."""
    if not semantic.installed():
        pytest.skip("the semantic extra (WordLlama's model files) is not installed")
    root = corpora / SUPPORT
    listed = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.md"))
    paths = listed[:: max(1, len(listed) // 60)][:60]
    known = semantic.DocumentVectors(tmp_path / "known")
    build = Build(tmp_path / "ix", str(root), paths, 2, lambda d, t: None, tmp_path / "known")
    build.finish()
    assert build.texts is not None and build.rows
    assert set(build.rows) == {semantic._key(t) for t in build.texts.values()}
    # what the parent would have embedded itself
    assert known.replace(dict(build.texts), complete=True) == len(build.texts)
    rows = {
        key: known._data[i * known._dim * 2 : (i + 1) * known._dim * 2]
        for i, key in enumerate(known._keys)
    }
    assert build.rows == rows
    # a second build: the vectors are there, the workers make none
    again = Build(tmp_path / "ix2", str(root), paths, 2, lambda d, t: None, tmp_path / "known")
    again.finish()
    assert again.rows == {}
    fresh = semantic.DocumentVectors(tmp_path / "fresh")
    assert fresh.replace(dict(build.texts), complete=True, rows=build.rows) == len(build.texts)
    assert fresh.file.read_bytes() == known.file.read_bytes()
    # a few new texts are embedded as the parent embeds a few (plain Python), not taken from
    # the workers' bulk rows: the vectors are those a build in one process makes
    few = dict(list(build.texts.items())[:5])
    alone, given = (semantic.DocumentVectors(tmp_path / name) for name in ("alone", "given"))
    assert alone.replace(few) == given.replace(few, rows=build.rows) == 5
    assert alone.file.read_bytes() == given.file.read_bytes()


def test_recorded_spelling_words_are_those_of_every_text(corpora: Path) -> None:
    """A worker records each new word's spelling words once (analysis.record_spelling)
    instead of collecting them per text: the same words."""
    root = corpora / SUPPORT
    texts = [
        p.read_text(encoding="utf-8", errors="replace")
        for p in itertools.islice(sorted(root.rglob("*.md")), 0, None, 60)
    ]
    per_text: set[str] = set()
    for text in texts:
        analysis.analyse_text(text, per_text)
    try:
        recorded = analysis.record_spelling()
        ignored: set[str] = set()
        for text in texts:
            analysis.analyse_text(text, ignored)
            analysis.analyse_text(text, ignored)  # words met again add nothing
        assert recorded == per_text
        assert not ignored  # recorded instead
    finally:
        analysis._text_cache.spelling = None
    assert per_text, "no words"


@pytest.mark.parametrize("text", ["_Applies to:_ x", "a_b_c", r"\_x_", "é_x_", "_a_b_ c"])
def test_label_emphasis_is_dropped_outside_words_only(text: str) -> None:
    from kbapp.search.markup import clean_markup

    expected = {
        "_Applies to:_ x": "Applies to: x",
        "a_b_c": "a_b_c",
        r"\_x_": "_x_",
        "é_x_": "é_x_",
        "_a_b_ c": "_a_b_ c",  # no closing underscore outside a word
    }
    assert clean_markup(text) == expected[text]
