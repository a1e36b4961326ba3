"""A full build keeps its workers' word analyses for the next one (kbapp.search.wordstore):
the next build's index is the same, an analysis of another version or a damaged file is
ignored (real SupportArticles, real worker processes and indexes on disk)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from test_search_build import SUPPORT, _contents

from kbapp.search import analysis, vocabulary, wordstore
from kbapp.search.build import Build


def _paths(root: Path, count: int, start: int = 0) -> list[str]:
    listed = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.md"))
    return listed[start :: max(1, len(listed) // count)][:count]


def _build(directory: Path, root: Path, paths: list[str], words: Path | None) -> dict:
    Build(directory, str(root), paths, 2, lambda done, total: None, None, words).finish()
    return {**_contents(directory), "vocabulary": vocabulary.Vocabulary(directory).words}


def test_a_build_with_stored_words_is_the_build_without(corpora: Path, tmp_path: Path) -> None:
    root = corpora / SUPPORT
    paths = _paths(root, 80)
    words = tmp_path / "words"
    first = _build(tmp_path / "ix1", root, paths, words)  # nothing stored yet
    stored = [wordstore.load(words, share) for share in (0, 1)]
    assert all(stored) and set(stored[0]) != set(stored[1])  # each worker its share's words
    made = {path: path.stat().st_mtime_ns for path in words.iterdir()}
    again = _build(tmp_path / "ix2", root, paths, words)  # every word stored
    assert {path: path.stat().st_mtime_ns for path in words.iterdir()} == made  # not rewritten
    more = sorted({*paths, *_paths(root, 40, start=7)})  # documents with words not stored
    grown = _build(tmp_path / "ix3", root, more, words)
    unstored = _build(tmp_path / "ix4", root, more, None)
    plain = _build(tmp_path / "ix5", root, paths, None)
    assert first == again == plain
    assert grown == unstored
    # the files now hold the words of the new shares
    assert len(wordstore.load(words, 0)) + len(wordstore.load(words, 1)) > sum(map(len, stored))


def _tampered(words: Path, key: str) -> None:
    """Worker 0's stored analysis of "printer" replaced by a made-up term, under ``key``."""
    with open(words / wordstore.FILE.format(0), "rb") as handle:
        _key, entries = pickle.load(handle)
    entries["printer"] = (("madeupterm",), ("madeupterm",), False, ())
    wordstore.save(words, 0, entries, key)


def _has_made_up_term(directory: Path) -> bool:
    return any(term == b"madeupterm" for (_field, term) in _contents(directory)["terms"])


def test_stored_analyses_are_used_only_by_their_version(corpora: Path, tmp_path: Path) -> None:
    root = corpora / SUPPORT
    paths = [p for p in _paths(root, 300) if "printer" in (root / p).read_text(errors="replace")]
    paths = paths[:6]
    assert len(paths) >= 4, "no articles with the word"
    words = tmp_path / "words"
    _build(tmp_path / "ix0", root, paths, words)
    # an entry stored under this version is taken as it is (so the store is what is read)
    _tampered(words, wordstore.version())
    _build(tmp_path / "ix1", root, paths, words)
    assert _has_made_up_term(tmp_path / "ix1")
    # the same file under another analysis version is ignored, and replaced
    _tampered(words, "0-00000000")
    _build(tmp_path / "ix2", root, paths, words)
    assert not _has_made_up_term(tmp_path / "ix2")
    assert wordstore.load(words, 0)["printer"] == analysis._text_entry("printer")


def test_the_version_follows_the_analysis_version(monkeypatch: pytest.MonkeyPatch) -> None:
    current = wordstore.version()
    assert current.startswith(f"{analysis.ANALYSIS_VERSION}-")
    monkeypatch.setattr(analysis, "ANALYSIS_VERSION", analysis.ANALYSIS_VERSION + 1)
    assert wordstore.version() not in ("", current)


def test_the_version_follows_the_stemmer_and_the_unicode_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word's analysis is also Whoosh's Porter stemmer's (an upgrade of whoosh-reloaded)
    and Python's Unicode database's (``isalpha``, ``lower``: a new Python): analyses stored
    by another of either would index words as the queries no longer analyse them."""
    import unicodedata

    from whoosh.lang import porter

    current = wordstore.version()
    changed = tmp_path / "porter.py"
    changed.write_bytes(Path(porter.__file__).read_bytes() + b"\n# a later release\n")
    with monkeypatch.context() as patched:
        patched.setattr(porter, "__file__", str(changed))
        assert wordstore.version() not in ("", current)
    assert wordstore.version() == current
    monkeypatch.setattr(unicodedata, "unidata_version", "99.0.0")
    assert wordstore.version() not in ("", current)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a pickle",
        pickle.dumps({"word": "no version"}),
        pickle.dumps(("key",)),
        pickle.dumps(("key", ["not", "a", "dict"])),
    ],
)
def test_a_damaged_store_is_ignored(tmp_path: Path, content: bytes) -> None:
    (tmp_path / wordstore.FILE.format(0)).write_bytes(content)
    assert wordstore.load(tmp_path, 0, "key") == {}
    wordstore.save(tmp_path, 0, {"word": analysis._text_entry("word")}, "key")
    assert wordstore.load(tmp_path, 0, "key") == {"word": analysis._text_entry("word")}
    full = tmp_path / wordstore.FILE.format(0)
    full.write_bytes(full.read_bytes()[:-5])  # cut short
    assert wordstore.load(tmp_path, 0, "key") == {}
    assert wordstore.load(tmp_path, 1, "key") == {}  # none stored


def test_a_damaged_store_leaves_the_build_as_it_is(corpora: Path, tmp_path: Path) -> None:
    root = corpora / SUPPORT
    paths = _paths(root, 40)
    words = tmp_path / "words"
    words.mkdir()
    for share in (0, 1):
        (words / wordstore.FILE.format(share)).write_bytes(b"\x80\x05garbage")
    assert _build(tmp_path / "ix1", root, paths, words) == _build(
        tmp_path / "ix2", root, paths, None
    )
    assert wordstore.load(words, 0) and wordstore.load(words, 1)  # written afresh


@pytest.mark.parametrize(
    "entry",
    [
        "junk",
        ("printer",),
        (("printer",), ("printer",), False),
        (("printer",), ("printer",), False, None),
        ((7,), ("printer",), False, ()),
        (("printer",), "printer", False, ()),
        (("printer",), ("printer",), "no", ()),
    ],
)
def test_stored_entries_not_of_the_expected_shape_are_ignored(
    corpora: Path, tmp_path: Path, entry: object
) -> None:
    """A store that loads but holds an entry no analysis makes (damaged, or written by hand)
    is ignored as a damaged file is: a build that took it failed, and so did every later one
    (each took the same file again)."""
    root = corpora / SUPPORT
    paths = [p for p in _paths(root, 300) if "printer" in (root / p).read_text(errors="replace")]
    paths = paths[:6]
    words = tmp_path / "words"
    expected = _build(tmp_path / "ix0", root, paths, words)
    with open(words / wordstore.FILE.format(0), "rb") as handle:
        key, entries = pickle.load(handle)
    entries["printer"] = entry
    (words / wordstore.FILE.format(0)).write_bytes(pickle.dumps((key, entries)))
    assert wordstore.load(words, 0) == {}
    assert _build(tmp_path / "ix1", root, paths, words) == expected
