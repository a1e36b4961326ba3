"""Meaning as well as words, for questions typed in an engineer's own words (optional).

``pip install 'kbapp[semantic]'`` brings WordLlama (MIT, static word embeddings that ship in
its wheel: no download, no GPU, NumPy inference) and the ``semantic_search`` setting turns it
on (``kbapp settings semantic_search true``). Without the package or the setting nothing here
is imported by a search, and the search is the plain lexical one.

What it does: a query that reads like a sentence (:func:`looks_like_sentence`: four words or
more, no error code, identifier, path, filter or quoted phrase, and not found word for word in
a document, which is a pasted message the lexical ranking already places first) has the best
:data:`DEPTH` documents of the lexical ranking re-ordered by their lexical score times
``exp(STRENGTH × (cosine − best cosine))``: a document whose text means what the query says
moves up past documents that only share its words. Documents outside the lexical list are
never added. Every other query keeps its lexical order.

The documents' vectors (their title and the first :data:`TEXT_CHARS` characters of their
readable text, as stored in the index) live beside the index in ``semantic/``: computed for
every document when the index is rebuilt or caught up (the background path), reused by
content when the text did not change, and refreshed for the documents a save re-indexed
(at once when the model is loaded, else at the next search that needs them).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The package the ``semantic`` extra installs.
PACKAGE = "wordllama"
#: How many of the best lexical documents are re-ordered.
DEPTH = 50
#: How far meaning moves a document: its score is multiplied by
#: exp(STRENGTH × (its cosine − the best cosine among the candidates)).
STRENGTH = 6.0
#: Fewer words than this is a keyword query, not a sentence.
MIN_WORDS = 4
#: How much of a document's readable text is embedded (after its title). Static embeddings
#: average their tokens: a whole long article would drown its subject in its procedure.
TEXT_CHARS = 1000
#: Documents embedded per batch while building.
BATCH = 256
#: Folder beside the index that holds the vectors.
DIRECTORY = "semantic"

#: A word that is an identifier, a code, a path or query syntax, not prose.
_NOT_PROSE = re.compile(r"[0-9_:\"=/\\<>{}\[\]]|[a-z][A-Z]|^[-+]")


def installed() -> bool:
    """Whether the ``semantic`` extra is installed (looked up, not imported)."""
    return importlib.util.find_spec(PACKAGE) is not None


def looks_like_sentence(text: str) -> bool:
    """A question in words: at least :data:`MIN_WORDS` words, none of them an identifier,
    error code, number, path or query syntax (filters, quotes, exclusions)."""
    words = text.split()
    return len(words) >= MIN_WORDS and not any(_NOT_PROSE.search(w) for w in words)


def document_text(title: str, readable: str) -> str:
    """What is embedded of a document: its title, then the start of its readable text."""
    return f"{title}.\n{readable[:TEXT_CHARS]}" if title else readable[:TEXT_CHARS]


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


class Model:
    """The embedding model, loaded on first use (once per process; ~1 s and ~30 MB)."""

    _lock = threading.Lock()
    _loaded: Any = None

    @classmethod
    def get(cls) -> Any:
        with cls._lock:
            if cls._loaded is None:
                import wordllama  # the optional extra: imported only here

                # The wheel ships the model's weights and tokenizer; pointing the cache at the
                # package itself finds both there (WordLlama looks for the tokenizer in a
                # folder named after the singular "tokenizer" otherwise) and downloads never.
                cls._loaded = wordllama.WordLlama.load(
                    cache_dir=Path(wordllama.__file__).parent, disable_download=True
                )
            return cls._loaded

    @classmethod
    def is_loaded(cls) -> bool:
        return cls._loaded is not None

    @classmethod
    def embed(cls, texts: Sequence[str]) -> Any:
        """Unit vectors (float32, one row per text)."""
        return cls.get().embed(list(texts), norm=True, batch_size=64)


class DocumentVectors:
    """The documents' vectors beside the index: ``vectors.npy`` (float16, one row per
    document) and ``documents.json`` (each row's path and text key, and the paths whose
    text changed since: refreshed before they are next compared)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.RLock()
        self._loaded = False
        self._rows: dict[str, int] = {}
        self._keys: list[str] = []
        self._paths: list[str] = []
        self._stale: set[str] = set()
        self._matrix: Any = None
        self._seen: tuple[int, int] | None = None

    # ---------------------------------------------------------------- files

    def _load(self) -> None:
        """Read the files, again when another process (``kbapp index`` beside the window)
        wrote them since: one ``stat`` when nothing changed."""
        try:
            found = (self.directory / "documents.json").stat()
            seen: tuple[int, int] | None = (found.st_mtime_ns, found.st_size)
        except OSError:
            seen = None
        if self._loaded and seen == self._seen:
            return
        self._loaded, self._seen = True, seen
        try:
            meta = json.loads((self.directory / "documents.json").read_text(encoding="utf-8"))
            import numpy as np

            matrix = np.load(self.directory / "vectors.npy")
        except (OSError, ValueError):
            meta, matrix = {}, None
        paths, keys = list(meta.get("paths", [])), list(meta.get("keys", []))
        if (
            matrix is None
            or meta.get("model") != PACKAGE
            or len(paths) != len(keys)
            or len(paths) != len(matrix)
        ):  # none yet, or half written: none until the next build
            self._paths, self._keys, self._matrix, self._rows = [], [], None, {}
            self._stale = set()
            return
        self._paths, self._keys, self._matrix = paths, keys, matrix
        self._rows = {p: i for i, p in enumerate(paths)}
        self._stale = set(meta.get("stale", []))

    def _save(self) -> None:
        import numpy as np

        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f"vectors.{os.getpid()}.tmp.npy"
        matrix = self._matrix if self._matrix is not None else np.zeros((0, 0), np.float16)
        np.save(tmp, matrix)
        os.replace(tmp, self.directory / "vectors.npy")
        meta = {
            "model": PACKAGE,
            "paths": self._paths,
            "keys": self._keys,
            "stale": sorted(self._stale),
        }
        tmp_meta = self.directory / f"documents.{os.getpid()}.tmp"
        tmp_meta.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp_meta, self.directory / "documents.json")
        found = (self.directory / "documents.json").stat()
        self._seen = (found.st_mtime_ns, found.st_size)

    # ---------------------------------------------------------------- state

    def ready(self) -> bool:
        """Whether there are vectors to compare with (built at least once)."""
        with self._lock:
            self._load()
            return self._matrix is not None and len(self._paths) > 0

    def count(self) -> int:
        with self._lock:
            self._load()
            return len(self._paths)

    def mark_stale(self, paths: Iterable[str]) -> None:
        """These documents changed (or went): refresh their vectors before the next use."""
        with self._lock:
            self._load()
            before = len(self._stale)
            self._stale.update(paths)
            if len(self._stale) != before and self._matrix is not None:
                self._save()

    def stale(self) -> set[str]:
        with self._lock:
            self._load()
            return set(self._stale)

    # ---------------------------------------------------------------- building

    def replace(
        self,
        texts: dict[str, str | None],
        *,
        complete: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Set the vectors of ``texts`` (path -> text to embed; None: the document is gone).
        ``complete``: ``texts`` holds every document, so the others are dropped. A document
        whose text is unchanged keeps its vector. Returns how many texts were embedded."""
        import numpy as np

        with self._lock:
            self._load()
            old_rows, old_keys, old = self._rows, self._keys, self._matrix
            wanted = {p: t for p, t in texts.items() if t is not None}
            kept = [] if complete else [p for p in old_rows if p not in texts]
            paths = sorted([*wanted, *kept])
            keys: list[str] = []
            source: list[int] = []  # the old row to copy, or -1: embed
            todo: list[int] = []
            for number, path in enumerate(paths):
                row = old_rows.get(path, -1) if old is not None else -1
                if path in wanted:
                    key = _key(wanted[path] or "")
                    if row >= 0 and old_keys[row] != key:
                        row = -1
                else:
                    key = old_keys[row]
                keys.append(key)
                source.append(row)
                if row < 0:
                    todo.append(number)
            fresh: dict[int, Any] = {}
            for start in range(0, len(todo), BATCH):
                chunk = todo[start : start + BATCH]
                fresh.update(zip(chunk, Model.embed([wanted[paths[n]] or "" for n in chunk])))
                if progress:
                    progress(min(start + BATCH, len(todo)), len(todo))
            dim = (
                len(next(iter(fresh.values())))
                if fresh
                else (old.shape[1] if old is not None else 0)
            )
            matrix = np.zeros((len(paths), dim), dtype=np.float16)
            for number, row in enumerate(source):
                matrix[number] = fresh[number] if row < 0 else old[row]
            self._paths, self._keys, self._matrix = paths, keys, matrix
            self._rows = {p: i for i, p in enumerate(paths)}
            self._stale = set() if complete else self._stale - set(texts)
            self._save()
            return len(todo)

    # ---------------------------------------------------------------- comparing

    def similarities(self, query_vector: Any, paths: Sequence[str]) -> list[float | None]:
        """Cosine of each document with the query (None: no vector for it)."""
        with self._lock:
            self._load()
            rows = [self._rows.get(p) for p in paths]
            found = [r for r in rows if r is not None]
            if self._matrix is None or not found:
                return [None] * len(paths)
            values = self._matrix[found].astype("float32") @ query_vector
            it = iter(values.tolist())
            return [next(it) if r is not None else None for r in rows]


def rerank(
    ranked: list[tuple[int, float]],
    paths: Sequence[str],
    similarities: Sequence[float | None],
) -> list[tuple[int, float]]:
    """Lexical score × exp(STRENGTH × (cosine − best cosine)); a document without a vector
    counts as having the mean cosine. Stable: ties keep the lexical order."""
    import math

    known = [s for s in similarities if s is not None]
    if not known:
        return ranked
    best, middle = max(known), sum(known) / len(known)
    blended = [
        (docnum, score * math.exp(STRENGTH * ((middle if sim is None else sim) - best)))
        for (docnum, score), sim in zip(ranked, similarities)
    ]
    order = sorted(range(len(blended)), key=lambda i: -blended[i][1])
    return [blended[i] for i in order]


class SemanticRanker:
    """The re-ranker of one index: its vectors, and what the index calls at its hook points
    (:meth:`applies` and :meth:`rerank` around a search, :meth:`changed` after an update,
    :meth:`build` after a rebuild or catch-up)."""

    #: How many lexical results a search asks for, to re-order.
    depth = DEPTH

    def __init__(self, directory: Path) -> None:
        self.vectors = DocumentVectors(directory)

    @staticmethod
    def applies(query: str) -> bool:
        """Whether ``query`` is one to re-rank (it reads like a sentence)."""
        return looks_like_sentence(query)

    def rerank(
        self, runner: Any, query: str, ranked: list[tuple[int, float]], limit: int
    ) -> list[tuple[int, float]]:
        """The best ``limit`` of the lexical ``ranked`` (its best :data:`DEPTH`) re-ordered by
        meaning; unchanged when a document holds the query word for word (a pasted
        message) or when there are no vectors yet."""
        from kbapp.search.analysis import phrase_terms

        terms = phrase_terms(query)
        if len(ranked) < 2 or not self.vectors.ready():
            return ranked[:limit]
        if len(terms) >= 3 and runner.sets.phrase_docs(terms):
            return ranked[:limit]
        top = ranked[:DEPTH]
        paths = [runner.searcher.stored_fields(d).get("path", "") for d, _ in top]
        stale = self.vectors.stale() & set(paths)
        if stale:
            self.vectors.replace(document_texts(runner.reader, stale))
        query_vector = Model.embed([query])[0]
        moved = rerank(top, paths, self.vectors.similarities(query_vector, paths))
        return (moved + ranked[DEPTH:])[:limit]

    def changed(self, reader: Any, paths: Sequence[str]) -> None:
        """Documents an update re-indexed: refreshed now when the model is loaded (a
        window that searched), else marked to be refreshed when next compared."""
        if not self.vectors.ready():
            return
        if Model.is_loaded():
            self.vectors.replace(document_texts(reader, paths))
        else:
            self.vectors.mark_stale(paths)

    def build(
        self,
        reader: Any,
        progress: Callable[[int, int], None] | None = None,
        *,
        everything: bool = False,
    ) -> int:
        """Vectors for the documents of the index that lack one: every document (unchanged
        texts keep theirs) when ``everything`` or when the count differs from the index's,
        else only those marked stale. Returns how many texts were embedded."""
        vectors = self.vectors
        if everything or not vectors.ready() or vectors.count() != reader.doc_count():
            texts = document_texts(reader, None)
            return vectors.replace(texts, complete=True, progress=progress)
        stale = vectors.stale()
        return vectors.replace(document_texts(reader, stale)) if stale else 0


def document_texts(reader: Any, paths: Iterable[str] | None) -> dict[str, str | None]:
    """Path -> text to embed, from the index (its stored title and readable text), for
    ``paths`` (None for those no longer indexed) or, with ``paths=None``, every document."""
    from whoosh.reading import TermNotFound

    from kbapp.search.schema import SNIPPET_FIELD

    column = reader.column_reader(SNIPPET_FIELD) if reader.has_column(SNIPPET_FIELD) else None

    def text(docnum: int, fields: dict[str, Any]) -> str:
        readable = bytes(column[docnum]).decode("utf-8", "replace") if column is not None else ""
        return document_text(str(fields.get("title", "")), readable)

    if paths is None:
        return {
            fields["path"]: text(docnum, fields)
            for docnum, fields in reader.iter_docs()
            if fields.get("path")
        }
    found: dict[str, str | None] = {}
    for path in paths:
        try:
            docnum = reader.first_id("path", path)
        except TermNotFound:
            docnum = None
        found[path] = None if docnum is None else text(docnum, reader.stored_fields(docnum))
    return found
