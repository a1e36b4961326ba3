"""Full builds in worker processes: each worker reads, analyses and writes its own segment.

Each worker writes its segment with :class:`~kbapp.search.segment.SortedSegmentWriter`
(Whoosh's segment files, postings filed per term instead of through Whoosh's posting pool),
as Whoosh's ``MpWriter`` with ``multisegment=True`` does but fed with paths instead of
pickled documents, and the parent only writes the table of contents that lists the
finished segments. Searching a few segments costs little; later updates add small segments
that are merged once ten have piled up (:func:`kbapp.search.segment.merge_small_segments`).

Workers are plain ``python -m kbapp.search.build`` processes rather than ``multiprocessing``
children: a forked child of the (threaded) window can deadlock, and a spawned one re-imports
the parent's ``__main__``, which an embedding script may not guard.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import itertools
import os
import pickle
import queue
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, clean_files

from kbapp.errors import KbError
from kbapp.fsutil import replace_file
from kbapp.search import analysis, frontstore, ondisk, vocabulary, wordstore
from kbapp.search.schema import (
    CODEC,
    SNIPPET_FIELD,
    SUMMARY_FIELD,
    make_schema,
    read_document,
)
from kbapp.search.segment import SortedSegmentWriter

PROGRESS_EVERY = 25
#: What a document costs a worker whatever its size, in bytes of text (for
#: :func:`balanced_shares`).
DOCUMENT_BYTES = 1024
#: The workers' files (their shares, results and errors) are in a folder named so beside the
#: index.
SCRATCH_PREFIX = "kbapp-build-"


def build_segment(
    index_dir: str,
    root: str,
    paths: list[str],
    report: Callable[[int], None] | None = None,
    texts: dict[str, str] | None = None,
    read_front: Callable[[Any], tuple[dict[str, Any], dict[str, int]]] | None = None,
) -> tuple[Any, dict[str, str], list[str]]:
    """Index ``paths`` into a new segment of the index at ``index_dir``.
    Returns (segment or None, {path: content hash}, spelling words). ``texts``: a dict that
    gets each indexed document's text to embed (what the vectors are made of: its stored
    title and summary and its readable text, :func:`_text_to_embed`); ``read_front``: what
    reads a front matter block (see :func:`~kbapp.search.schema.read_document`)."""
    ix = whoosh_index.open_dir(index_dir)
    writer = SortedSegmentWriter(ix, CODEC)
    digests: dict[str, str] = {}
    words: set[str] = set()
    for number, relative in enumerate(paths, start=1):
        doc = read_document(root, relative, read_front)
        if doc.fields is not None:
            writer.add_document(doc.fields)
            words.update(doc.words)
            if texts is not None:
                texts[relative] = _text_to_embed(doc.fields)
        if doc.digest:
            digests[relative] = doc.digest
        if report and number % PROGRESS_EVERY == 0:
            report(number)
    segment = None
    if writer.doc_count():
        segment = writer.finish()
    else:
        writer.discard()
    return segment, digests, sorted(words)


def _text_to_embed(fields: dict[str, Any]) -> str:
    """What :func:`kbapp.search.semantic.document_texts` reads back from the index for a
    document (its stored title and summary, its readable text), from the fields it is
    indexed with."""
    from kbapp.search.semantic import stored_document_text

    stored = {"title": fields.get("_stored_title") or "", SUMMARY_FIELD: fields.get(SUMMARY_FIELD)}
    return stored_document_text(stored, fields[SNIPPET_FIELD].decode("utf-8", "replace"))


def balanced_shares(root: str, paths: list[str], workers: int) -> list[list[str]]:
    """``paths`` cut into ``workers`` runs of consecutive paths with about the same work each:
    the same number of bytes, counting :data:`DOCUMENT_BYTES` more per document for what a
    document costs whatever its size. Consecutive, so the index keeps the documents in the
    order of ``paths`` (as a build in one process does) and a worker meets fewer new words
    (a folder's documents share their vocabulary); by bytes, so the workers end together."""
    costs = []
    for relative in paths:
        try:
            size = os.stat(os.path.join(root, relative)).st_size
        except OSError:
            size = 0
        costs.append(size + DOCUMENT_BYTES)
    ends = list(itertools.accumulate(costs))
    total = ends[-1] if ends else 0
    cuts = [0]
    for number in range(1, workers):
        cut = bisect.bisect_left(ends, total * number / workers) + 1
        # at least one document each, when there are enough
        cuts.append(max(0, min(max(cut, cuts[-1] + 1), len(paths) - (workers - number))))
    cuts.append(len(paths))
    return [paths[a:b] for a, b in itertools.pairwise(cuts) if b > a]


class _Workers:
    """``workers`` worker processes that will build into the empty index at ``index_dir``,
    started at once, before the documents are known: they load what they need (their
    imports, the stored word analyses and front matter) while the caller lists the
    documents, then :meth:`assign` gives each its share. :meth:`wait` collects their
    segments and commits them."""

    def __init__(
        self,
        index_dir: Path,
        root: str,
        workers: int,
        progress: Callable[[int, int], None] | None,
        vectors: Path | None = None,
        words: Path | None = None,
    ) -> None:
        self.index_dir = index_dir
        self.root = root
        self.total = 0
        self.progress = progress
        self.shares: list[list[str]] = []
        self.scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=index_dir.parent))
        self.done_counts = [0] * workers
        self.lock = threading.Lock()
        #: the numbers of the workers whose output ended, in the order they ended
        self.ended: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.procs: list[subprocess.Popen[str]] = []
        self.readers: list[threading.Thread] = []
        package_parent = str(Path(__file__).resolve().parent.parent.parent)
        env = {
            **os.environ,
            "PYTHONPATH": package_parent + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        try:
            for number in range(workers):
                # errors to a file: nobody reads a pipe while the parent does other work
                with open(self.scratch / f"share-{number}.err", "wb") as errors:
                    self.procs.append(
                        subprocess.Popen(
                            [
                                sys.executable,
                                "-m",
                                "kbapp.search.build",
                                str(index_dir),
                                root,
                                str(self.scratch / f"share-{number}.txt"),
                                str(vectors or ""),
                                str(words or ""),
                                str(number),
                            ],
                            # closed once its share is written: the worker's signal to start
                            stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE,
                            stderr=errors,
                            text=True,
                            env=env,
                        )
                    )
            for number, proc in enumerate(self.procs):
                reader = threading.Thread(target=self._follow, args=(number, proc), daemon=True)
                reader.start()
                self.readers.append(reader)
        except BaseException:
            self.cancel()
            raise

    def assign(self, paths: list[str]) -> None:
        """Give the workers their shares of ``paths`` (runs of consecutive paths of about
        equal bytes, :func:`balanced_shares`; a worker left without one builds nothing)."""
        self.total = len(paths)
        self.shares = balanced_shares(self.root, paths, len(self.procs))
        for number, proc in enumerate(self.procs):
            share = self.shares[number] if number < len(self.shares) else []
            listing = self.scratch / f"share-{number}.txt"
            listing.write_text("\n".join(share), encoding="utf-8")
            if proc.stdin is not None:
                with contextlib.suppress(OSError):  # it ended already: wait() says why
                    proc.stdin.close()

    def _follow(self, number: int, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if line.startswith("progress "):
                    with self.lock:
                        self.done_counts[number] = int(line.split()[1])
                        done = sum(self.done_counts)
                    if self.progress:
                        self.progress(min(done, self.total - 1), self.total)
        finally:
            # the worker's output ended: it has exited (or is exiting)
            self.ended.put(number)

    def wait(self) -> tuple[dict[str, str], set[str], dict[str, str], dict[str, bytes]]:
        """Wait for the workers, then commit their segments; ({path: hash}, spelling words,
        {path: text to embed}, {text key: vector} of the texts the vectors lacked)."""
        try:
            errors = []
            results: dict[int, Any] = {}
            running = dict(enumerate(self.procs))
            while running:
                # the first worker to end is read while the others still build (on the core
                # it freed), not after the last one
                number = self.ended.get()
                proc = running.pop(number)
                proc.wait()
                self.readers[number].join()
                if proc.stdout is not None:
                    proc.stdout.close()
                if proc.returncode != 0:
                    found = self.scratch / f"share-{number}.err"
                    errors.append(found.read_text(encoding="utf-8", errors="replace").strip())
                elif not errors:
                    with open(self.scratch / f"share-{number}.txt.out", "rb") as handle:
                        results[number] = pickle.load(handle)
            if errors:
                raise KbError("building the search index failed", details="\n\n".join(errors))
            segments = []
            digests: dict[str, str] = {}
            words: set[str] = set()
            texts: dict[str, str] = {}
            rows: dict[str, bytes] = {}
            for number in range(len(self.procs)):
                segment, found_digests, share_words, share_texts, share_rows = results[number]
                if segment is not None:
                    segments.append(segment)
                digests.update(found_digests)
                words.update(share_words)
                texts.update(share_texts)
                rows.update(share_rows)
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
        write_toc(self.index_dir, segments)
        if self.progress:
            self.progress(self.total, self.total)
        return digests, words, texts, rows

    def cancel(self) -> None:
        """Stop the workers (the caller failed while they ran) and remove their files."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def parallel_build(
    index_dir: Path,
    root: str,
    paths: list[str],
    workers: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, str], set[str]]:
    """Fill the empty index at ``index_dir`` from ``paths`` using ``workers`` processes."""
    running = _Workers(index_dir, root, workers, progress)
    try:
        running.assign(paths)
    except BaseException:
        running.cancel()
        raise
    digests, words, _texts, _rows = running.wait()
    return digests, words


def local_build(
    index_dir: Path, root: str, paths: list[str], progress: Callable[[int, int], None]
) -> tuple[dict[str, str], set[str]]:
    """Fill the empty index at ``index_dir`` from ``paths`` in this process (a small build)."""
    segment, digests, words = build_segment(
        str(index_dir), root, paths, lambda done: progress(done, len(paths))
    )
    write_toc(index_dir, [segment] if segment is not None else [])
    progress(len(paths), len(paths))
    return digests, set(words)


class Build:
    """A new index at ``new_dir`` (made afresh) of the documents at ``paths``, under way:
    ``workers`` processes started at once (one worker: the documents are read in this process
    by :meth:`finish`), so the caller can do other work (bring the catalog up to date) while
    they run. ``paths`` None: the workers start and wait for the documents, which the caller
    lists meanwhile and gives with :meth:`assign`. :meth:`finish` or :meth:`cancel` must
    follow."""

    def __init__(
        self,
        new_dir: Path,
        root: str,
        paths: list[str] | None,
        workers: int,
        progress: Callable[[int, int], None],
        vectors: Path | None = None,
        words: Path | None = None,
    ) -> None:
        shutil.rmtree(new_dir, ignore_errors=True)
        # a build killed before it could clean up left its workers' files (the caller holds
        # the index's write lock: no other build of it is running)
        for stale in new_dir.parent.glob(SCRATCH_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)
        new_dir.mkdir(parents=True)
        whoosh_index.create_in(str(new_dir), make_schema()).close()
        self.new_dir, self.root, self.progress = new_dir, root, progress
        self.paths: list[str] = []
        self.texts: dict[str, str] | None = None
        self.rows: dict[str, bytes] = {}
        self._workers = (
            _Workers(new_dir, root, workers, progress, vectors, words) if workers > 1 else None
        )
        if paths is not None:
            try:
                self.assign(paths)
            except BaseException:
                self.cancel()
                raise

    def assign(self, paths: list[str]) -> None:
        """The documents to index (once: when they were not given at the start)."""
        self.paths = paths
        if self._workers is not None:
            self._workers.assign(paths)

    def finish(self) -> tuple[dict[str, str], str]:
        """The documents indexed, then the spelling vocabulary, the version record and the
        manifest. Returns ({path: content hash}, the new index's id); :attr:`texts` then
        holds each indexed document's text to embed when the workers gave them (else
        None: read them from the index), :attr:`rows` the vectors they made (``vectors``:
        the folder of the vectors they make those of the texts it lacks for; None: none)."""
        if self._workers is not None:
            digests, words, self.texts, self.rows = self._workers.wait()
        else:
            digests, words = local_build(self.new_dir, self.root, self.paths, self.progress)
        vocabulary.write(self.new_dir, words)
        index_id = uuid.uuid4().hex
        ondisk.write_meta(self.new_dir, index_id)
        ondisk.write_manifest(self.new_dir)
        return digests, index_id

    def cancel(self) -> None:
        if self._workers is not None:
            self._workers.cancel()


def build_index(
    new_dir: Path,
    root: str,
    paths: list[str],
    workers: int,
    progress: Callable[[int, int], None],
) -> tuple[dict[str, str], str]:
    """A new index at ``new_dir`` (made afresh) of the documents at ``paths``: ``workers``
    processes (one: in this process), then the spelling vocabulary, the version record and
    the manifest. Returns ({path: content hash}, the new index's id)."""
    return Build(new_dir, root, paths, workers, progress).finish()


def replace_index(directory: Path, new_dir: Path) -> None:
    """Put the index built at ``new_dir`` in the place of the one at ``directory``, as the
    next generation of it, Whoosh's way: the new segments' files (new names) are moved in,
    a table of contents listing only them is committed, then kbapp's files beside them, and
    the old generation's files are removed, or left to a later commit to remove where a
    process still has them open. The folder itself is never renamed: Windows refuses to
    rename a folder, or delete a file, that another process (a window searching while
    ``kbapp index --rebuild`` runs in a terminal) has open, and that process keeps
    searching the old generation until it sees the new index's id."""
    # an earlier kbapp renamed the old index away to ``index.old-<pid>`` and deleted it
    # after the swap: one stopped in between (or that Windows kept from deleting) left it
    for old in directory.parent.glob(directory.name + ".old-*"):
        shutil.rmtree(old, ignore_errors=True)
    if not (directory / ondisk.META_FILE).is_file():  # no index there yet (or a wreck)
        shutil.rmtree(directory, ignore_errors=True)
        if not directory.exists():
            os.replace(new_dir, directory)
            return
        directory.mkdir(exist_ok=True)
    built = whoosh_index.open_dir(str(new_dir))
    toc = built._read_toc()
    name = built.indexname
    built.close()
    tocs = TOC._pattern(name)
    generation = 1 + max(
        (
            int(found.group(1))
            for entry in os.scandir(directory)
            if (found := tocs.match(entry.name))
        ),
        default=-1,
    )
    moved = [entry.name for entry in os.scandir(new_dir) if entry.is_file()]
    for file_name in moved:
        if TOC._segment_pattern(name).match(file_name):
            os.replace(new_dir / file_name, directory / file_name)
    storage = FileStorage(str(directory))
    TOC(toc.schema, toc.segments, generation).write(storage, name)
    # the spelling words and the stamp, then the version record (the new id: a process that
    # reads it finds the new generation)
    for file_name in sorted(moved, key=lambda moving: moving == ondisk.META_FILE):
        if file_name.startswith("kbapp-") and file_name != ondisk.MANIFEST_FILE:
            replace_file(new_dir / file_name, directory / file_name)
    for entry in os.scandir(directory):  # e.g. the old index's words added since its build
        if entry.name.startswith("kbapp-") and entry.name not in moved and entry.is_file():
            with contextlib.suppress(OSError):  # Windows: being read this moment
                Path(entry.path).unlink(missing_ok=True)
    # the manifest lists the new generation's files only, before the old ones go: a process
    # stopped in between left a manifest of files deleted, and the next open found a sound
    # index "damaged" and rebuilt it
    current = {segment.segment_id() for segment in toc.segments}
    segment_file = TOC._segment_pattern(name)
    ondisk.write_manifest(
        directory,
        lambda file_name: (
            file_name == TOC._filename(name, generation)
            or bool((found := segment_file.match(file_name)) and found.group(1) in current)
        ),
    )
    clean_files(storage, name, generation, toc.segments)
    shutil.rmtree(new_dir, ignore_errors=True)


def write_toc(index_dir: Path, segments: list[Any]) -> None:
    """Commit the index at ``index_dir`` as made of ``segments`` (new, written by
    :func:`build_segment`)."""
    ix = whoosh_index.open_dir(str(index_dir))
    generation = ix.latest_generation() + 1
    TOC(ix.schema, segments, generation).write(ix.storage, ix.indexname)
    clean_files(ix.storage, ix.indexname, generation, segments)
    ix.close()
    shutil.rmtree(index_dir / f"{ix.indexname}.tmp", ignore_errors=True)


def _worker(
    index_dir: str, root: str, listing: str, vectors: str = "", words: str = "", share: str = "0"
) -> int:
    # A worker's objects live until it exits and hold no reference cycles worth finding:
    # the cyclic collector would only walk its millions of postings and cached words again
    # and again (a tenth of its time).
    gc.disable()

    def report(done: int) -> None:
        print(f"progress {done}", flush=True)

    # the worker's spelling words, each added once when the word is first analysed
    # and the analyses of the words the previous full build's worker met (``words``: their
    # folder; none: every word analysed here)
    stored = wordstore.load(Path(words), int(share)) if words else {}
    spelling = analysis.record_spelling(stored)
    # and the front matter it read (frontstore, in the same folder)
    front = (
        frontstore.FrontMatterReader(frontstore.load(Path(words), int(share))) if words else None
    )
    # all loaded while the parent lists the documents: its share is in the listing once the
    # parent closes this process's input
    sys.stdin.read()
    paths = [p for p in Path(listing).read_text(encoding="utf-8").split("\n") if p]
    texts: dict[str, str] = {}
    segment, digests, found = build_segment(index_dir, root, paths, report, texts, front)
    if words:
        met, fresh = analysis.looked_up()
        if fresh or len(met) != len(stored):  # new words, or words no longer met
            wordstore.save(Path(words), int(share), met)
    if front is not None and front.changed():
        frontstore.save(Path(words), int(share), front.met)
    rows = _new_vectors(Path(vectors), list(texts.values())) if vectors else {}
    result = (segment, digests, sorted(spelling.union(found)), texts, rows)
    with open(listing + ".out", "wb") as handle:
        pickle.dump(result, handle)
    print(f"progress {len(paths)}", flush=True)
    return 0


def _new_vectors(directory: Path, texts: list[str]) -> dict[str, bytes]:
    """The vectors of those of ``texts`` the vectors at ``directory`` lack (a first build: all
    of them), made here, beside the other worker's, instead of one after the other in the
    parent once the index is built; none when the model cannot be read (the parent then
    tries, and says why)."""
    from kbapp.search.semantic import DocumentVectors

    try:
        return DocumentVectors(directory).embed_new(texts)
    except (OSError, ValueError, struct.error):
        return {}


if __name__ == "__main__":
    code = _worker(*sys.argv[1:7])
    # The results are written and closed: exit without tearing the interpreter down (freeing
    # a worker's millions of postings and cached words one by one took 0.2-0.4 s, which the
    # parent waited for). An error takes the normal way out, with its traceback.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
