"""Meaning as well as words, for questions typed in an engineer's own words.

WordLlama (MIT, ``wordllama`` on PyPI, a default dependency) ships a small model in its wheel:
static 256-dimension embeddings of Llama 2's 32,000 tokens (16 MB) and the tokenizer's
definition. A text's vector is the mean of its tokens' rows, made unit length. kbapp reads
those two shipped files itself (:mod:`kbapp.search.embedding`) and computes the same
vectors as ``WordLlama.load().embed(texts, norm=True)`` (a test compares them on real
articles) without importing WordLlama, which brings pydantic, requests and tokenizers: a query
is tokenised in plain Python and its ~10 rows read from the weights file; NumPy is imported
only to embed many documents at once (a rebuild). Nothing is downloaded, ever. The
``semantic_search`` setting (on by default) turns it off: ``kbapp settings semantic_search
false``.

What it does: a query that reads like a sentence (:func:`looks_like_sentence`: four words or
more, no error code, identifier, path, filter or quoted phrase, and not found word for word in
a document, which is a pasted message the lexical ranking already places first) has the best
:data:`DEPTH` documents of the lexical ranking re-ordered by their lexical score times
``exp(STRENGTH × (cosine − best cosine))``: a document whose text means what the query says
moves up past documents that only share its words. Documents outside the lexical list are
never added. Every other query keeps its lexical order.

A query with version numbers and product names in it ("visual studio 2012", "win7 clients",
"office 365") is still a sentence; an error code, an event id or an HTTP status is not
(:func:`looks_like_sentence`).

The documents' vectors (their title, the summary of their front matter, ``description:`` or
``summary:``, and the first :data:`TEXT_CHARS` characters of their readable text, as stored
in the index: :func:`document_text`) live beside the index in ``semantic/vectors.bin``:
computed for every document when the index is rebuilt or caught up (the background path),
reused by content when the text did not change, and refreshed for the documents an update
re-indexed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import struct
import threading
from collections.abc import Callable, Iterable, Sequence
from operator import mul
from pathlib import Path
from typing import Any

from kbapp.fsutil import replace_file
from kbapp.search.embedding import BULK, MODEL, Model
from kbapp.search.embedding import installed as installed  # whether meaning is available

log = logging.getLogger(__name__)

#: How many of the best lexical documents are re-ordered.
DEPTH = 50
#: How far meaning moves a document: its score is multiplied by
#: exp(STRENGTH × (its cosine − the best cosine among the candidates)).
STRENGTH = 8.0
#: Fewer words than this is a keyword query, not a sentence.
MIN_WORDS = 4
#: How much of a document's readable text is embedded (after its title). Static embeddings
#: average their tokens: a whole long article would drown its subject in its procedure.
TEXT_CHARS = 1000
#: Folder beside the index that holds the vectors.
DIRECTORY = "semantic"
#: The file in it (a JSON line, then the rows: little-endian float16).
VECTORS_FILE = "vectors.bin"
#: What a document's vector is made of (:func:`document_text`), recorded in the file: vectors
#: of another recipe are not compared with (they are all made again by the next build).
#: 1: title and opening text; 2: title, front-matter summary and opening text.
RECIPE = 2
#: The tokenizer's pieces in id order, copied from the model's file the first time (reading
#: that 1.8 MB file costs a search process ~30 ms; this list ~7 ms).
PIECES_FILE = "pieces.json"

#: A word that is an identifier, a code, a path or query syntax, not prose.
_NOT_PROSE = re.compile(r"[0-9_:\"=/\\<>{}\[\]]|[a-z][A-Z]|^[-+]")
#: A word with digits that is still prose: a year or a version of a product ("2012",
#: "8.1", "365", "win7", "sp1", "r2", "ie11", "64-bit", "x64"), never a code or an id (three
#: digits or more other than a year or 365, hexadecimal, KB numbers, event ids).
_VERSION = re.compile(
    r"(?:(?:19|20)\d\d|365|\d{1,2}(?:\.\d{1,2})?|[a-z]{1,7}\d{1,2}(?:\.\d)?|\d{1,2}-bit|x64|x86)"
    r"[,.;!?)]*",
    re.IGNORECASE,
)


#: What a version never holds: an identifier's or query syntax's characters.
_SYNTAX = re.compile(r"[_:\"=/\\<>{}\[\]]|[a-z][A-Z]")


def _prose(word: str) -> bool:
    if not _NOT_PROSE.search(word):
        return True
    word = word.lstrip("(")
    return (
        _VERSION.fullmatch(word) is not None
        and not word.lower().startswith(("kb", "0x"))
        and not _SYNTAX.search(word)
    )


def looks_like_sentence(text: str) -> bool:
    """A question in words: at least :data:`MIN_WORDS` words, none of them an identifier,
    error code, path or query syntax (filters, quotes, exclusions); numbers only as years and
    versions of products."""
    words = text.split()
    return len(words) >= MIN_WORDS and all(_prose(w) for w in words)


def document_text(title: str, readable: str, summary: str = "") -> str:
    """What is embedded of a document: its title, the summary its front matter gives (its
    author's words for what it is about), then the start of its readable text."""
    head = "\n".join(part for part in (f"{title}." if title else "", summary) if part)
    return f"{head}\n{readable[:TEXT_CHARS]}" if head else readable[:TEXT_CHARS]


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


# ---------------------------------------------------------------------- the documents' vectors


class DocumentVectors:
    """The documents' vectors beside the index, in one file (:data:`VECTORS_FILE`, replaced
    whole): a JSON line (the model, the width, each row's path and text key), then the rows,
    little-endian float16. Read again when another process (``kbapp index`` beside the window)
    wrote it: one ``stat`` when nothing changed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.file = directory / VECTORS_FILE
        self._lock = threading.RLock()
        self._loaded = False
        self._rows: dict[str, int] = {}
        self._keys: list[str] = []
        self._paths: list[str] = []
        self._data = b""
        self._dim = 0
        self._seen: tuple[int, int] | None = None

    # ---------------------------------------------------------------- files

    def _load(self) -> None:
        try:
            found = self.file.stat()
            seen: tuple[int, int] | None = (found.st_mtime_ns, found.st_size)
        except OSError:
            seen = None
        if self._loaded and seen == self._seen:
            return
        self._loaded, self._seen = True, seen
        self._paths, self._keys, self._data, self._rows, self._dim = [], [], b"", {}, 0
        if seen is None:
            return
        try:
            raw = self.file.read_bytes()
            line, _, data = raw.partition(b"\n")
            meta = json.loads(line)
            paths, keys, dim = list(meta["paths"]), list(meta["keys"]), int(meta["dim"])
        except (OSError, ValueError, KeyError, TypeError):
            return  # none yet, or damaged: none until the next build
        if (
            meta.get("model") != MODEL
            or meta.get("recipe", 1) != RECIPE
            or len(paths) != len(keys)
            or len(data) != len(paths) * dim * 2
        ):
            return  # another model's, or half written
        self._paths, self._keys, self._data, self._dim = paths, keys, data, dim
        self._rows = {p: i for i, p in enumerate(paths)}

    def _save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "model": MODEL,
            "recipe": RECIPE,
            "dim": self._dim,
            "paths": self._paths,
            "keys": self._keys,
        }
        tmp = self.directory / f"{VECTORS_FILE}.{os.getpid()}.tmp"
        with tmp.open("wb") as f:
            f.write(json.dumps(meta, ensure_ascii=False).encode("utf-8") + b"\n")
            f.write(self._data)
        try:
            replace_file(tmp, self.file)
        except PermissionError:
            tmp.unlink(missing_ok=True)
            raise
        found = self.file.stat()
        self._seen = (found.st_mtime_ns, found.st_size)
        pieces = self.directory / PIECES_FILE
        model = Model._loaded
        if model is not None and model.tokenizer.source and not pieces.exists():
            model.tokenizer.keep(pieces)  # a search here then reads these, not the model's file
        # the files of the version that imported WordLlama
        for old in ("vectors.npy", "documents.json"):
            (self.directory / old).unlink(missing_ok=True)

    # ---------------------------------------------------------------- state

    def ready(self) -> bool:
        """Whether there are vectors to compare with (built at least once)."""
        with self._lock:
            self._load()
            return len(self._paths) > 0

    def count(self) -> int:
        with self._lock:
            self._load()
            return len(self._paths)

    def model(self) -> Model:
        return Model.get(self.directory / PIECES_FILE)

    # ---------------------------------------------------------------- building

    def replace(
        self,
        texts: dict[str, str | None],
        *,
        complete: bool = False,
        progress: Callable[[int, int], None] | None = None,
        rows: dict[str, bytes] | None = None,
    ) -> int:
        """Set the vectors of ``texts`` (path -> text to embed; None: the document is gone).
        ``complete``: ``texts`` holds every document, so the others are dropped. A text that
        has a vector already (the same document unchanged, or a moved one) keeps it. Returns
        how many texts were embedded. The embedding runs outside the lock: a search compares
        with the vectors there meanwhile. ``rows``: vectors already made (by
        :meth:`embed_new` in a full build's workers), by text key: not made again."""
        wanted = {p: t for p, t in texts.items() if t is not None}
        keyed = {p: _key(t) for p, t in wanted.items()}
        with self._lock:
            self._load()
            known = set(self._keys)
        todo = {k: wanted[p] for p, k in keyed.items() if k not in known}
        # (what the workers made is what this would make only if it embeds them in bulk)
        use = rows if rows and len(todo) > BULK else {}
        fresh: dict[str, bytes] = {k: use[k] for k in todo if k in use}
        rest = {k: t for k, t in todo.items() if k not in fresh}
        if rest:
            fresh.update(self._embed(list(rest), list(rest.values()), progress))
        with self._lock:
            self._load()  # again: another thread or process may have written meanwhile
            width = self._dim * 2
            if fresh and width != len(next(iter(fresh.values()))):
                width = 0  # vectors of another width: none of them kept
            by_key = {
                key: self._data[row * width : (row + 1) * width]
                for row, key in enumerate(self._keys if width else [])
            }
            by_key.update(fresh)
            old_key = dict(zip(self._paths, self._keys)) if width else {}
            kept = [] if complete else [p for p in old_key if p not in texts]
            paths = sorted([*wanted, *kept])
            keys = [keyed[p] if p in keyed else old_key[p] for p in paths]
            missing = {k: wanted[p] for p, k in zip(paths, keys) if k not in by_key}
            if missing:  # dropped by another writer meanwhile (rare): embedded now
                by_key.update(self._embed(list(missing), list(missing.values()), None))
            dim = len(next(iter(by_key.values()))) // 2 if by_key else self._dim
            data = b"".join(by_key[k] for k in keys)
            if paths and (dim, paths, keys, data) == (
                self._dim,
                self._paths,
                self._keys,
                self._data,
            ):
                # the file holds these already (as read just now): not written again
                return len(todo) + len(missing)
            self._dim, self._data = dim, data
            self._paths, self._keys = paths, keys
            self._rows = {p: i for i, p in enumerate(paths)}
            self._save()
            return len(todo) + len(missing)

    def embed_new(self, texts: Iterable[str]) -> dict[str, bytes]:
        """The vectors of those of ``texts`` that have none here yet, by text key: what
        :meth:`replace` would embed of them (a full build's workers make these, each for its
        share, while the index is built, and hand them to :meth:`replace` as ``rows``), made
        in bulk (NumPy) as :meth:`replace` makes more than :data:`BULK` at once, whatever
        their number: :meth:`replace` takes them only when it would have made them so."""
        with self._lock:
            self._load()
            known = set(self._keys)
        todo = {key: text for text in texts if (key := _key(text)) not in known}
        return self._embed(list(todo), list(todo.values()), None, bulk=True) if todo else {}

    def _embed(
        self,
        keys: list[str],
        texts: list[str],
        progress: Callable[[int, int], None] | None,
        bulk: bool = False,
    ) -> dict[str, bytes]:
        model = self.model()
        width = model.dim * 2
        rows = model.vectors(texts, progress, bulk)
        return {key: rows[at * width : (at + 1) * width] for at, key in enumerate(keys)}

    # ---------------------------------------------------------------- comparing

    def similarities(
        self, query_vector: Sequence[float], paths: Sequence[str]
    ) -> list[float | None]:
        """Cosine of each document with the query (None: no vector for it)."""
        with self._lock:
            self._load()
            if not self._dim or len(query_vector) != self._dim:
                return [None] * len(paths)
            row = struct.Struct(f"<{self._dim}e")
            width, data = self._dim * 2, self._data
            found: list[float | None] = []
            for path in paths:
                number = self._rows.get(path)
                found.append(
                    None
                    if number is None
                    else sum(map(mul, row.unpack_from(data, number * width), query_vector))
                )
            return found


# ---------------------------------------------------------------------- ranking


def rerank(
    ranked: list[tuple[int, float]],
    paths: Sequence[str],
    similarities: Sequence[float | None],
) -> list[tuple[int, float]]:
    """Lexical score × exp(STRENGTH × (cosine − best cosine)); a document without a vector
    counts as having the mean cosine. Stable: ties keep the lexical order."""
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
        #: Why it stopped for this process (the model's files unreadable, the vectors not
        #: writable): searches are by words only, and the index is never blamed for it.
        self.failed: str | None = None

    def _fail(self, exc: Exception) -> None:
        if self.failed is None:
            log.warning("search by meaning is off until kbapp restarts: %s", exc)
        self.failed = f"{type(exc).__name__}: {exc}"

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
        if len(ranked) < 2 or self.failed or not self.vectors.ready():
            return ranked[:limit]
        if len(terms) >= 3 and runner.sets.phrase_docs(terms):
            return ranked[:limit]
        top = ranked[:DEPTH]
        paths = [runner.searcher.stored_fields(d).get("path", "") for d, _ in top]
        try:
            query_vector = self.vectors.model().vector(query)
            similarities = self.vectors.similarities(query_vector, paths)
        except (OSError, ValueError, struct.error) as exc:  # never "a damaged index"
            self._fail(exc)
            return ranked[:limit]
        moved = rerank(top, paths, similarities)
        return (moved + ranked[DEPTH:])[:limit]

    def changed(self, reader: Any, paths: Sequence[str]) -> None:
        """Documents an update re-indexed (or removed): their vectors, at once (a few
        documents cost milliseconds)."""
        if self.failed or not self.vectors.ready():
            return
        texts = document_texts(reader, paths)
        try:
            self.vectors.replace(texts)
        except (OSError, ValueError, struct.error) as exc:
            self._fail(exc)

    def build(
        self,
        reader: Any,
        progress: Callable[[int, int], None] | None = None,
        *,
        everything: bool = False,
        texts: dict[str, str] | None = None,
        rows: dict[str, bytes] | None = None,
    ) -> int:
        """Vectors for the documents of the index: every document (unchanged texts keep
        theirs) when ``everything``, when there are none yet or when their count differs from
        the index's; else nothing. Returns how many texts were embedded. ``texts``: what
        :func:`document_texts` would read from ``reader`` for every document, when the
        caller has it (a full build's workers made it); ``rows``: vectors they made
        (:meth:`DocumentVectors.embed_new`)."""
        vectors = self.vectors
        if self.failed:
            return 0
        if everything or not vectors.ready() or vectors.count() != reader.doc_count():
            found: dict[str, str | None] = (
                document_texts(reader, None) if texts is None else dict(texts)
            )
            try:
                return vectors.replace(found, complete=True, progress=progress, rows=rows)
            except (OSError, ValueError, struct.error) as exc:
                self._fail(exc)
        return 0


def document_texts(reader: Any, paths: Iterable[str] | None) -> dict[str, str | None]:
    """Path -> text to embed, from the index (its stored title, summary and readable text), for
    ``paths`` (None for those no longer indexed) or, with ``paths=None``, every document."""
    from whoosh.reading import TermNotFound

    from kbapp.search.schema import SNIPPET_FIELD

    column = reader.column_reader(SNIPPET_FIELD) if reader.has_column(SNIPPET_FIELD) else None

    def text(docnum: int, fields: dict[str, Any]) -> str:
        readable = bytes(column[docnum]).decode("utf-8", "replace") if column is not None else ""
        return stored_document_text(fields, readable)

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


def stored_document_text(stored: dict[str, Any], readable: str) -> str:
    """The text to embed of a document whose stored fields are ``stored`` and whose readable
    text (the snippet column) is ``readable``: what :func:`document_texts` reads back from
    the index, and what a full build's workers hand over from the fields they index."""
    from kbapp.search.schema import SUMMARY_FIELD

    summary = str(stored.get(SUMMARY_FIELD) or "")
    return document_text(str(stored.get("title", "")), readable, summary)
