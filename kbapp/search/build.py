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

import gc
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.index import TOC, clean_files

from kbapp.errors import KbError
from kbapp.search import ondisk, vocabulary
from kbapp.search.schema import CODEC, make_schema, read_document
from kbapp.search.segment import SortedSegmentWriter

PROGRESS_EVERY = 25


def build_segment(
    index_dir: str,
    root: str,
    paths: list[str],
    report: Callable[[int], None] | None = None,
) -> tuple[Any, dict[str, str], list[str]]:
    """Index ``paths`` into a new segment of the index at ``index_dir``.
    Returns (segment or None, {path: content hash}, spelling words)."""
    ix = whoosh_index.open_dir(index_dir)
    writer = SortedSegmentWriter(ix, CODEC)
    digests: dict[str, str] = {}
    words: set[str] = set()
    for number, relative in enumerate(paths, start=1):
        doc = read_document(root, relative)
        if doc.fields is not None:
            writer.add_document(doc.fields)
            words.update(doc.words)
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


def parallel_build(
    index_dir: Path,
    root: str,
    paths: list[str],
    workers: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, str], set[str]]:
    """Fill the empty index at ``index_dir`` from ``paths`` using ``workers`` processes."""
    shares = [share for share in (paths[i::workers] for i in range(workers)) if share]
    scratch = Path(tempfile.mkdtemp(prefix="kbapp-build-", dir=index_dir.parent))
    done_counts = [0] * len(shares)
    lock = threading.Lock()
    package_parent = str(Path(__file__).resolve().parent.parent.parent)
    env = {
        **os.environ,
        "PYTHONPATH": package_parent + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    try:
        procs = []
        for number, share in enumerate(shares):
            listing = scratch / f"share-{number}.txt"
            listing.write_text("\n".join(share), encoding="utf-8")
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "kbapp.search.build",
                        str(index_dir),
                        root,
                        str(listing),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                )
            )

        def follow(number: int, proc: subprocess.Popen[str]) -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("progress "):
                    with lock:
                        done_counts[number] = int(line.split()[1])
                        done = sum(done_counts)
                    if progress:
                        progress(min(done, len(paths) - 1), len(paths))

        readers = [
            threading.Thread(target=follow, args=(n, p), daemon=True) for n, p in enumerate(procs)
        ]
        for reader in readers:
            reader.start()
        errors = []
        for proc, reader in zip(procs, readers):
            assert proc.stderr is not None
            stderr = proc.stderr.read()
            proc.wait()
            reader.join()
            proc.stderr.close()
            if proc.stdout is not None:
                proc.stdout.close()
            if proc.returncode != 0:
                errors.append(stderr.strip())
        if errors:
            raise KbError("building the search index failed", details="\n\n".join(errors))
        segments = []
        digests: dict[str, str] = {}
        words: set[str] = set()
        for number in range(len(shares)):
            with open(scratch / f"share-{number}.txt.out", "rb") as handle:
                segment, found, share_words = pickle.load(handle)
            if segment is not None:
                segments.append(segment)
            digests.update(found)
            words.update(share_words)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_toc(index_dir, segments)
    if progress:
        progress(len(paths), len(paths))
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
    shutil.rmtree(new_dir, ignore_errors=True)
    new_dir.mkdir(parents=True)
    whoosh_index.create_in(str(new_dir), make_schema()).close()
    if workers > 1:
        digests, words = parallel_build(new_dir, root, paths, workers, progress)
    else:
        digests, words = local_build(new_dir, root, paths, progress)
    vocabulary.write(new_dir, words)
    index_id = uuid.uuid4().hex
    ondisk.write_meta(new_dir, index_id)
    ondisk.write_manifest(new_dir)
    return digests, index_id


def replace_index(directory: Path, new_dir: Path) -> None:
    """Put the index built at ``new_dir`` in the place of the one at ``directory``."""
    old = directory.with_name(directory.name + f".old-{os.getpid()}")
    if directory.exists():
        os.replace(directory, old)
    os.replace(new_dir, directory)
    shutil.rmtree(old, ignore_errors=True)


def write_toc(index_dir: Path, segments: list[Any]) -> None:
    """Commit the index at ``index_dir`` as made of ``segments`` (new, written by
    :func:`build_segment`)."""
    ix = whoosh_index.open_dir(str(index_dir))
    generation = ix.latest_generation() + 1
    TOC(ix.schema, segments, generation).write(ix.storage, ix.indexname)
    clean_files(ix.storage, ix.indexname, generation, segments)
    ix.close()
    shutil.rmtree(index_dir / f"{ix.indexname}.tmp", ignore_errors=True)


def _worker(index_dir: str, root: str, listing: str) -> int:
    # A worker's objects live until it exits and hold no reference cycles worth finding:
    # the cyclic collector would only walk its millions of postings and cached words again
    # and again (a tenth of its time).
    gc.disable()
    paths = Path(listing).read_text(encoding="utf-8").split("\n")

    def report(done: int) -> None:
        print(f"progress {done}", flush=True)

    paths = [p for p in paths if p]
    result = build_segment(index_dir, root, paths, report)
    with open(listing + ".out", "wb") as handle:
        pickle.dump(result, handle)
    print(f"progress {len(paths)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_worker(*sys.argv[1:4]))
