"""The search index of one workspace: where it lives, keeping it in step, answering queries.

The index is derived data under ``.git/kbapp/index``; it is never the source of truth. It
follows the files three ways: a save announces the changed document
(``workspace.documents_changed``) and that one document is re-indexed; :meth:`catch_up`
asks the catalog which files changed outside kbapp (a partner's plain-git edit, a pull) and
indexes just those; an index that is missing, unreadable or from another kbapp version is
rebuilt, and search answers with an "indexing N%" state meanwhile.

Writers are serialised by a lock file next to the index, so a second kbapp process that
wants to write waits for the first (up to :attr:`SearchIndex.write_timeout`) instead of
failing. One searcher stays open and is refreshed only when the index has changed.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from whoosh import index as whoosh_index
from whoosh.searching import Searcher
from whoosh.util.filelock import FileLock

from kbapp.errors import KbError
from kbapp.search import ondisk, stamp, vocabulary
from kbapp.search.hits import SnippetTexts, make_hits
from kbapp.search.ondisk import BUILDING_FILE, CORRUPTION_ERRORS, IndexUnusable
from kbapp.search.ondisk import MANIFEST_FILE as MANIFEST_FILE
from kbapp.search.ondisk import META_FILE as META_FILE
from kbapp.search.plan import synonym_groups
from kbapp.search.query import parse_query
from kbapp.search.results import IndexState, SearchResponse
from kbapp.search.schema import IndexedDocument, read_document
from kbapp.search.searcher import QueryRunner, reopen_searcher
from kbapp.search.tables import DocTable, SegmentTable

if TYPE_CHECKING:
    # The catalog (SQLAlchemy) is used only when something changed: a search whose files
    # are as the index last saw them never loads it.
    from kbapp.catalog import CatalogChanges
    from kbapp.search.semantic import SemanticRanker
    from kbapp.workspace import Workspace

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
#: From this many documents on, a full build runs in worker processes.
PARALLEL_FROM = 400
#: A catch-up with more changed documents than this (and half the index) rebuilds instead.
REBUILD_FROM = 2000
#: The share (percent) of a full build's progress given to the catalog's reading of the files.
READ_SHARE = 30
#: The folder beside the index where full builds keep their word analyses for the next one
#: (:mod:`kbapp.search.wordstore`).
WORDS_DIR = "index-words"


class SearchIndex:
    """The workspace's full-text index. Get it with :meth:`for_workspace`."""

    #: Seconds a writer waits for another process's writer before giving up.
    write_timeout = 600.0
    #: Seconds between checks for commits made by another process.
    recheck_seconds = 0.5

    @classmethod
    def for_workspace(cls, ws: Workspace) -> SearchIndex:
        index: SearchIndex = ws.service("search", cls)
        return index

    def __init__(self, ws: Workspace, directory: Path | None = None) -> None:
        self.ws = ws
        self.directory = Path(directory) if directory else ws.data_dir / "index"
        self._lock_path = self.directory.with_name(self.directory.name + ".lock")
        self._building_path = self.directory.with_name(self.directory.name + "." + BUILDING_FILE)
        self._searcher_lock = threading.RLock()
        self._write_mutex = threading.Lock()
        self._pending: set[str] = set()
        self._pending_lock = threading.Lock()
        self._quiet_thread: int | None = None
        self._ix: Any = None
        self._searcher: Searcher | None = None
        self._leaf_readers: dict[tuple[str, int], Any] = {}
        self._generation = -1
        self._runner: QueryRunner | None = None
        self._segment_tables: dict[str, SegmentTable] = {}
        self._checked_at = 0.0
        #: the version record's (inode, time, size) and the folder's time when last seen
        self._record_seen: tuple[int, ...] | None = None
        self._needs_rebuild = False
        self._state = IndexState(ready=False, message="not opened")
        self._config_seen: Any = None
        self._index_id = ""
        self._catalog_checked = False
        self._snippets = SnippetTexts()
        self._synonyms: dict[str, list[str]] = {}
        self._closed = False
        self._vocabulary = vocabulary.Vocabulary(self.directory)
        self._semantic: SemanticRanker | None = None
        self._semantic_lock = threading.Lock()  # the search and the writer thread both ask
        self._open()
        ws.documents_changed.connect(self._on_documents_changed)

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> IndexState:
        return self._state

    @property
    def needs_rebuild(self) -> bool:
        return self._needs_rebuild

    def _set_state(self, **changes: Any) -> None:
        self._state = dataclasses.replace(self._state, **changes)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.ws.documents_changed.disconnect(self._on_documents_changed)
        with self._searcher_lock:
            self._drop_searcher()
            if self._ix is not None:
                self._ix.close()
            self._ix = None

    # ------------------------------------------------------------------ opening and checking

    def _open(self, locked: bool = False) -> None:
        try:
            ix, meta = ondisk.open_checked(self.directory, self._lock_path, locked)
        except IndexUnusable as exc:
            log.info("search index at %s: %s; it will be rebuilt", self.directory, exc)
            self._needs_rebuild = True
            self._set_state(
                ready=False,
                indexing=False,
                percent=0,
                message=f"The search index {exc}; it will be rebuilt.",
            )
            return
        with self._searcher_lock:
            self._ix = ix
            self._drop_searcher()
        self._needs_rebuild = False
        self._index_id = str(meta.get("uuid"))
        self._catalog_checked = False
        self._set_state(ready=True, indexing=False, percent=100, message="")

    def _check_catalog_record(self) -> None:
        """The catalog's record of what is indexed must belong to this index (else it is
        forgotten: every document counts as not indexed)."""
        if self._ix is None:
            return
        # another process may have rebuilt the index (a new id) since it was opened
        current = ondisk.index_id(self.directory) or self._index_id
        if current != self._index_id:
            self._index_id, self._catalog_checked = current, False
        if self._catalog_checked:
            return
        if self.ws.catalog.get_meta("search_index") != self._index_id:
            self.ws.catalog.forget_indexing()
            self.ws.catalog.set_meta("search_index", self._index_id)
        self._catalog_checked = True

    # ------------------------------------------------------------------ the searcher

    def _current_runner(self) -> QueryRunner | None:
        """The long-lived searcher's runner, reopened only when the index changed."""
        if self._ix is None:
            return None
        now = time.monotonic()
        if self._searcher is None:
            self._reopen_searcher()
        elif now - self._checked_at > self.recheck_seconds or self._record_replaced():
            self._checked_at = now
            current = ondisk.index_id(self.directory)
            if current and current != self._index_id:
                # another process rebuilt it (its first commit may have the old one's
                # generation number): the new index's readers and vocabulary, and the
                # catalog's record checked against it
                self._drop_searcher()
                self._vocabulary = vocabulary.Vocabulary(self.directory)
                self._index_id, self._catalog_checked = current, False
                self._reopen_searcher()
            elif self._ix.latest_generation() != self._generation:
                self._reopen_searcher()
        if self.ws.config is not self._config_seen:  # .kb/config.toml was reloaded
            self._config_seen = self.ws.config
            self._synonyms = synonym_groups(self.ws.config.synonyms)
            self._runner = None
        if self._runner is None and self._searcher is not None:
            table = DocTable(self._searcher, self._segment_tables)
            self._runner = QueryRunner(self._searcher, table, self._synonyms, self._vocabulary)
        return self._runner

    def _record_replaced(self) -> bool:
        """Whether the version record was replaced, or the folder's files changed, since the
        last look (two stats, no read: every search asks). Another process's rebuild
        replaces the record, and its commits write a new table of contents, before they
        delete the files of the segments they replaced, which this process's readers open
        only when first asked for (a snippet or length column): a search between two checks
        found them missing and showed its hits without snippets."""
        try:
            record = (self.directory / META_FILE).stat()
            folder = self.directory.stat()
            seen: tuple[int, ...] | None = (
                record.st_ino,
                record.st_mtime_ns,
                record.st_size,
                folder.st_mtime_ns,
            )
        except OSError:
            seen = None
        if seen == self._record_seen:
            return False
        self._record_seen = seen
        return True

    def _reopen_searcher(self) -> None:
        """A searcher on the latest commit that reuses the readers of unchanged segments."""
        self._searcher, self._leaf_readers, self._generation = reopen_searcher(
            self._ix, self._leaf_readers
        )
        self._checked_at = time.monotonic()
        self._runner = None

    def _drop_searcher(self) -> None:
        """Close the searcher's readers (the next search opens new ones)."""
        for reader in self._leaf_readers.values():
            reader.close()
        self._leaf_readers = {}
        self._searcher = None
        self._runner = None
        # and the columns mapped through them (the tables are kept: segments never change),
        # nor is the runner kept by the last search's snippets
        for table in self._segment_tables.values():
            table.close_columns()
        self._snippets.forget()

    def _after_commit(self) -> None:
        with self._searcher_lock:
            if self._searcher is not None:
                self._reopen_searcher()

    # ------------------------------------------------------------------ searching

    def search(
        self, query: str, limit: int = 20, *, snippets: int = 10, facets: bool = True
    ) -> SearchResponse:
        """Search; never raises for what the user typed. ``snippets``: how many of the first
        hits get highlighted fragments (the ones on screen); ``facets=False``: no facet
        counts (a printed result list shows none)."""
        started = time.perf_counter()
        percent = self.indexing_percent()
        indexing = percent is not None
        parsed = parse_query(query or "")
        if parsed.empty or self._closed:
            return SearchResponse(
                indexing=indexing, elapsed_ms=_ms(started), indexing_percent=percent
            )
        paused = gc.isenabled()
        if paused:
            # no cycle collection in the middle of a query: the postings and document sets
            # it reads are young objects, walked again by each collection an allocation
            # triggers; one collection after it instead (the window collects on its own
            # timer and keeps automatic collection off: left so)
            gc.disable()
        try:
            with self._searcher_lock:
                runner = self._current_runner()
                if runner is None:
                    return SearchResponse(
                        indexing=True, elapsed_ms=_ms(started), indexing_percent=percent or 0
                    )
                semantic = self._semantic_ranker(query)
                wanted = max(1, limit)
                depth = wanted if semantic is None else max(wanted, semantic.depth)
                outcome = runner.run(query, parsed, depth)
                if semantic is not None:
                    outcome.ranked = semantic.rerank(runner, query, outcome.ranked, wanted)
                counts = runner.facets(outcome.hit_docs) if facets else {}
                stored = [runner.searcher.stored_fields(d) for d, _ in outcome.ranked]
                texts = self._snippets.texts(runner, [d for d, _ in outcome.ranked[:snippets]])
        except CORRUPTION_ERRORS as exc:  # a damaged index: rebuild it, answer "indexing"
            log.warning("search failed, the index will be rebuilt: %r", exc, exc_info=True)
            self._needs_rebuild = True
            self._set_state(ready=False, message="The search index is damaged; rebuilding it.")
            return SearchResponse(indexing=True, elapsed_ms=_ms(started), indexing_percent=0)
        finally:
            if paused:
                gc.enable()
        hits = make_hits(outcome, stored, texts, self.ws.config, str(self.ws.root))
        return SearchResponse(
            hits,
            outcome.total,
            counts,
            outcome.suggestion,
            _ms(started),
            indexing,
            percent,
            words=outcome.words,
            some_words_only=outcome.some_words_only,
            unmatched_words=outcome.unmatched_words,
            most_words=outcome.most_words,
        )

    def indexing_percent(self) -> int | None:
        """How far an index build is (this process's or another's), None when none runs."""
        if self._state.indexing:
            return self._state.percent
        if self._needs_rebuild:
            return 0
        return self._other_build_percent()

    def _other_build_percent(self) -> int | None:
        """How far another process's build is, from what it writes (None: no build)."""
        return ondisk.building_percent(self._building_path)

    # ------------------------------------------------------------------ writing

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """This process's one writer, and the lock file that makes other processes wait."""
        self._write_mutex.acquire()
        try:
            lock = FileLock(str(self._lock_path))
            deadline = time.monotonic() + self.write_timeout
            delay = 0.02
            while not lock.acquire(blocking=False):
                if time.monotonic() > deadline:
                    raise KbError(
                        "the search index is being written by another kbapp process; "
                        "try again when it has finished"
                    )
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
            try:
                yield
                self._flush_pending()
            finally:
                lock.release()
        finally:
            self._write_mutex.release()
        self._drain()

    def _on_documents_changed(self, changes: CatalogChanges) -> None:
        if threading.get_ident() == self._quiet_thread:
            return  # catch_up indexes what its own refresh found
        paths = changes.changed_paths + changes.removed
        if not paths:
            return
        with self._pending_lock:
            self._pending.update(paths)
        self._drain()

    def _drain(self) -> None:
        """Index pending paths now, unless another thread is writing (it will, before it
        lets go) or the index is to be rebuilt anyway."""
        while self._pending and not self._needs_rebuild and not self._closed:
            if not self._write_mutex.acquire(blocking=False):
                return
            self._write_mutex.release()
            with self._writing():
                pass

    def _flush_pending(self) -> None:
        while not self._needs_rebuild:
            with self._pending_lock:
                paths, self._pending = sorted(self._pending), set()
            if not paths:
                return
            self._update_locked(paths, None)

    def update(self, paths: Sequence[str], progress: Progress | None = None) -> int:
        """Re-index ``paths`` (added, changed or removed); returns how many were read."""
        paths = list(dict.fromkeys(paths))
        if not paths:
            return 0
        if self._needs_rebuild:
            return self.rebuild(progress)
        with self._writing():
            return self._update_locked(paths, progress)

    def _update_locked(self, paths: list[str], progress: Progress | None) -> int:
        if self._ix is None or self._needs_rebuild:
            return 0
        self._check_catalog_record()
        # the writing side of Whoosh and kbapp: not loaded by a process that only searches
        from kbapp.search.segment import write_documents

        documents = self._read_many(paths, progress)
        digests, words = write_documents(self._ix, documents, self.write_timeout)
        ondisk.write_manifest(self.directory)
        self._vocabulary.add(words)
        self.ws.catalog.mark_indexed(digests)
        self._after_commit()
        if (semantic := self._semantic_ranker()) is not None:
            with self._ix.reader() as reader:
                semantic.changed(reader, paths)
        return len(paths)

    def _read_many(self, paths: list[str], progress: Progress | None) -> Iterator[IndexedDocument]:
        """Read and analyse documents, reporting progress."""
        total = len(paths)
        root = str(self.ws.root)
        step = max(1, total // 100)
        for number, relative in enumerate(paths, start=1):
            yield read_document(root, relative)
            if number % step == 0 or number == total:
                self._set_state(percent=min(99, 100 * number // total))
                if progress:
                    progress(number, total)

    def rebuild(self, progress: Progress | None = None) -> int:
        """Index every document afresh into a new index, then swap it in; searches answer from
        the old index (if it is readable) until then. Returns the number of documents."""
        with self._writing():
            return self._rebuild_locked(progress)

    def _rebuild_locked(
        self, progress: Progress | None, refresh_progress: Progress | None = None
    ) -> int:
        self._set_state(indexing=True, percent=0, message="Indexing…")
        building = self._building_path
        ondisk.say_building(building, 0)

        def say(percent: int) -> None:
            if percent != self._state.percent:
                self._set_state(percent=percent)
                ondisk.say_building(building, percent)

        # the catalog is brought up to date while the workers build: each its share of the bar
        shares = {"read": 0.0, "built": 0.0}

        def reading(done: int, total: int) -> None:
            # the catalog reads new files (a first build: every file)
            shares["read"] = done / max(1, total)
            say(min(99, int(READ_SHARE * shares["read"] + (100 - READ_SHARE) * shares["built"])))
            if refresh_progress:
                refresh_progress(done, total)

        try:
            began = time.time_ns()
            new_dir = self.directory.with_name(self.directory.name + ".new")
            # the workers start first and load what they need while the documents are listed
            # when the last build listed enough of them for workers (none listed: a first
            # build lists them first)
            before = stamp.load(self.directory)
            listed_before = len(before["paths"]) if before else 0  # type: ignore[arg-type]
            paths: list[str] | None = None
            if listed_before < PARALLEL_FROM:
                paths = sorted(self.ws.document_paths())
            workers = (
                min(os.cpu_count() or 1, 4)
                if max(listed_before, len(paths or ())) >= PARALLEL_FROM
                else 1
            )

            # the caller sees the catalog's refresh, then the indexing (its progress bar shows
            # one step at a time): the workers' counts wait until the refresh is done
            held: list[tuple[int, int]] = []
            held_lock = threading.Lock()
            refreshed = [False]

            def report(done: int, total: int) -> None:
                shares["built"] = done / max(1, total)
                say(
                    min(99, int(READ_SHARE * shares["read"] + (100 - READ_SHARE) * shares["built"]))
                )
                with held_lock:
                    if not refreshed[0]:
                        held[:] = [(done, total)]
                        return
                if progress:
                    progress(done, total)

            # worker processes, shutil, uuid: not loaded by a process that only searches
            from kbapp.search.build import Build, replace_index

            # the workers also make the vectors the documents' texts lack (all of them on a
            # first build) while they build the index
            semantic = self._semantic_ranker()
            vectors = semantic.vectors.directory if semantic and not semantic.failed else None
            # and take the analyses of the words the previous full build met (WORDS_DIR)
            words = self.directory.with_name(WORDS_DIR)
            build = Build(new_dir, str(self.ws.root), paths, workers, report, vectors, words)
            try:
                if paths is None:
                    # the documents as the catalog will list them once refreshed (the refresh
                    # checks these same paths)
                    paths = sorted(self.ws.document_paths())
                    build.assign(paths)
                self._refresh_catalog(reading, paths)
                files = self.ws.catalog.files()
                shares["read"] = 1.0
                with held_lock:
                    refreshed[0] = True
                    waiting = list(held)
                if progress:
                    for done, total in waiting:
                        progress(done, total)
                digests, index_id = build.finish()
            except BaseException:
                build.cancel()
                raise
            stamp.save(new_dir, stamp.take(self.ws.root, files, began))
            with self._searcher_lock:
                # the old index's readers and mapped columns closed first, so that its files
                # go now (Windows does not delete a file a process has open)
                self._drop_searcher()
                self._segment_tables.clear()
                replace_index(self.directory, new_dir)
                catalog = self.ws.catalog
                catalog.mark_reindexed(digests, {"search_index": index_id})
                # a file changed after its worker read it and before the refresh did (an
                # editor, a pull in a terminal): indexed as it is now before the lock goes
                changed_meanwhile = catalog.stale_paths()
                self._ix = whoosh_index.open_dir(str(self.directory))
                self._index_id = index_id
                self._catalog_checked = True
                self._vocabulary = vocabulary.Vocabulary(self.directory)
                self._runner = None
                self._needs_rebuild = False
            with self._pending_lock:  # (the caller's _writing flushes them)
                self._pending.update(changed_meanwhile)
            # the texts to embed came from the workers: the new index is not read again for them
            self._build_vectors(progress, everything=True, texts=build.texts, rows=build.rows)
            self._set_state(ready=True, indexing=False, percent=100, message="")
            return len(build.paths)
        except BaseException:
            self._set_state(indexing=False, message="Indexing failed; it will be tried again.")
            raise
        finally:
            building.unlink(missing_ok=True)

    # ------------------------------------------------------------------ meaning (optional)

    def _semantic_ranker(self, query: str | None = None) -> SemanticRanker | None:
        """The meaning re-ranker (:mod:`kbapp.search.semantic`) when the ``semantic_search``
        setting is on and the ``semantic`` extra is installed; given a ``query``, only if it
        reads like a sentence. Nothing of it is imported otherwise."""
        if not self.ws.settings.semantic_search:
            return None
        ranker = self._semantic
        if ranker is None:
            with self._semantic_lock:
                if self._semantic is None:
                    from kbapp.search import semantic

                    if not semantic.installed():
                        return None
                    self._semantic = semantic.SemanticRanker(self.directory.with_name("semantic"))
                ranker = self._semantic
        if query is not None and not ranker.applies(query):
            return None
        return ranker

    def _build_vectors(
        self,
        progress: Progress | None,
        everything: bool = False,
        texts: dict[str, str] | None = None,
        rows: dict[str, bytes] | None = None,
    ) -> None:
        """Vectors for the documents the re-ranker has not embedded yet: all of them when it
        was just turned on, those whose text changed after a rebuild (``everything``), else
        only those saved since (a look at its list when nothing changed). ``texts``: every
        indexed document's text to embed, when the build has them already; ``rows``: the
        vectors its workers made."""
        semantic = self._semantic_ranker()
        if semantic is None or self._ix is None:
            return
        with self._ix.reader() as reader:
            semantic.build(reader, progress, everything=everything, texts=texts, rows=rows)

    def _refresh_catalog(
        self, progress: Progress | None = None, paths: list[str] | None = None
    ) -> None:
        """Bring the catalog up to date without this index re-indexing on the event
        (``paths``: the documents, when the caller has just listed them)."""
        self._quiet_thread = threading.get_ident()
        try:
            self.ws.refresh(progress=progress, paths=paths)
        finally:
            self._quiet_thread = None

    def up_to_date(self) -> bool:
        """Whether the files are as the index last saw them (see :mod:`kbapp.search.stamp`):
        a ``stat`` per document, no catalog, no git."""
        if self._needs_rebuild or self._ix is None:
            return False
        found = stamp.load(self.directory)
        return found is not None and stamp.unchanged(self.ws.root, found)

    def catch_up(
        self,
        progress: Progress | None = None,
        *,
        refresh_progress: Progress | None = None,
        wait: bool = True,
    ) -> int:
        """Index what changed since the index last saw the files (rebuilding it when it is
        missing or damaged). Returns the number of documents (re)indexed or removed.
        ``refresh_progress`` follows the catalog's refresh that comes first.

        Costs a ``stat`` per document when nothing changed. ``wait=False``: when another
        process is building the index, return at once (searches then answer "still
        indexing" from what there is) instead of waiting for it."""
        if self.up_to_date():
            if wait:
                self._build_vectors(progress)
            return 0
        if not wait and not self._state.indexing and self._other_build_percent() is not None:
            return 0  # another process is building
        if self._needs_rebuild:
            with self._writing():
                # Another process may have rebuilt it while this one waited.
                if self._needs_rebuild:
                    self._open(locked=True)
                if self._needs_rebuild:
                    return self._rebuild_locked(progress, refresh_progress)
        began = time.time_ns()
        self._refresh_catalog(refresh_progress)
        catalog = self.ws.catalog
        self._check_catalog_record()
        stale = catalog.stale_paths()
        files = catalog.files()
        known = {path for path, _size, _mtime in files}
        with self._searcher_lock:
            runner = self._current_runner()
            indexed = (
                {t.decode("utf-8") for t in runner.reader.lexicon("path")} if runner else set()
            )
        gone = sorted(indexed - known)
        paths = stale + gone
        if not paths:
            stamp.save(self.directory, stamp.take(self.ws.root, files, began))
            return 0
        if len(paths) > REBUILD_FROM and len(paths) * 2 > len(known):
            return self.rebuild(progress)
        self._set_state(indexing=True, percent=0, message=f"Indexing {len(paths)} documents…")
        try:
            with self._writing():
                count = self._update_locked(paths, progress)
            if not self._needs_rebuild:
                stamp.save(self.directory, stamp.take(self.ws.root, files, began))
            if wait:
                self._build_vectors(progress)
            return count
        finally:
            self._set_state(indexing=False, percent=100, message="")


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
