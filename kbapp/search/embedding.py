"""The meaning model kbapp reads itself: WordLlama's shipped files (MIT, ``wordllama`` on PyPI,
a default dependency): static 256-dimension embeddings of Llama 2's 32,000 tokens (16 MB) and
the tokenizer's definition. A text's vector is the mean of its tokens' rows, made unit length:
the same vectors as ``WordLlama.load().embed(texts, norm=True)`` (a test compares them on real
articles) without importing WordLlama, which brings pydantic, requests and tokenizers (their
import and the tokenizer file's load: ~75 ms; the pieces kept beside the vectors: ~10 ms). A
query is tokenised in plain Python and its ~10 rows read from the weights file; NumPy is
imported only to embed many texts at once. Nothing is downloaded, ever. How the vectors are
used: :mod:`kbapp.search.semantic`."""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import re
import struct
import threading
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from pathlib import Path

log = logging.getLogger(__name__)

#: The package whose files hold the model.
PACKAGE = "wordllama"
#: The model's files inside the package (WordLlama 0.4's default: ``l2_supercat``, 256
#: dimensions) and the name of the weights' tensor.
WEIGHTS_FILE = "weights/l2_supercat_256.safetensors"
TOKENIZER_FILE = "tokenizers/l2_supercat_tokenizer_config.json"
TENSOR = "embedding.weight"
#: Recorded with the vectors: vectors of another model (or of an older file layout) are
#: computed again.
MODEL = "wordllama-0.4/l2_supercat_256"
#: More texts than this at once are embedded with NumPy (its import costs ~0.1 s; plain
#: Python costs ~2 ms per 1,000-character document).
BULK = 32
#: Documents embedded per NumPy batch while building.
BATCH = 256

_FOUND: list[Path | None] = []


def package_dir() -> Path | None:
    """Where the model's package is installed (looked up, not imported), if it is, with both
    of its files. Looked up once per process."""
    if not _FOUND:
        _FOUND.append(_find_package())
    return _FOUND[0]


def _find_package() -> Path | None:
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    found = Path(next(iter(spec.submodule_search_locations)))
    if not (found / WEIGHTS_FILE).is_file() or not (found / TOKENIZER_FILE).is_file():
        return None
    return found


def installed() -> bool:
    """Whether the model's files are installed (looked up, not imported)."""
    return package_dir() is not None


# ---------------------------------------------------------------------- the tokenizer

#: Llama 2's word boundary marker: the tokenizer file's normalizer prepends it to the text
#: and writes it for every space.
SPACE = "\u2581"
#: Text split into pieces that no token crosses: no token has the marker after anything but
#: the marker (checked when the pieces are loaded).
_CHUNK = re.compile(f"{SPACE}*[^{SPACE}]+|{SPACE}+")
#: A merge that is not possible.
_NEVER = 1 << 62


class ModelFileError(ValueError):
    """A file of the model is not laid out as this reading of it expects (another version of
    WordLlama): refused rather than misread."""


class Tokenizer:
    """The tokenizer of WordLlama's default model (Llama 2's byte-pair encoding, as its
    ``tokenizers`` JSON defines it: special tokens split out, ``▁`` prepended and written for
    every space, byte fallback, no pre-tokenizer), in plain Python.

    Its merges are not read: in this file they are exactly every split of a token into two
    tokens, ranked by the merged token's id, then the left and right parts' ids, with the
    merges of runs of ``▁`` last (how ``tokenizers`` converts a SentencePiece model). That was
    checked against the file's list; a test checks the ids against ``tokenizers`` itself on
    real articles."""

    def __init__(self, pieces: Sequence[str]) -> None:
        self.pieces = list(pieces)
        if len(self.pieces) > 1 << 15:  # a merge's rank packs three ids in 15 bits each
            raise ModelFileError("the tokenizer has more tokens than kbapp reads")
        self.ids_of: dict[str, int] = {p: i for i, p in enumerate(self.pieces)}
        if len(self.ids_of) != len(self.pieces):
            raise ModelFileError("the tokenizer's pieces are not unique")
        try:
            self._byte = [self.ids_of[f"<0x{b:02X}>"] for b in range(256)]
            self._special = {p: self.ids_of[p] for p in ("<unk>", "<s>", "</s>")}
        except KeyError as missing:
            raise ModelFileError(f"the tokenizer has no {missing}") from None
        self._special_re = re.compile("|".join(re.escape(p) for p in self._special))
        self._pairs: set[str] | None = None
        #: The size and time of the file the pieces were read from (see :meth:`load`).
        self.source: list[int] = []

    # --------------------------------------------------------------- loading

    @classmethod
    def from_file(cls, path: Path) -> Tokenizer:
        """Read the ``tokenizers`` JSON file, checking that it is what this class reads."""
        data = json.loads(path.read_text(encoding="utf-8"))
        model = data.get("model") or {}
        expected_normalizer = {
            "type": "Sequence",
            "normalizers": [
                {"type": "Prepend", "prepend": SPACE},
                {"type": "Replace", "pattern": {"String": " "}, "content": SPACE},
            ],
        }
        if (
            model.get("type") != "BPE"
            or not model.get("byte_fallback")
            or model.get("continuing_subword_prefix")
            or model.get("end_of_word_suffix")
            or model.get("dropout")
            or model.get("ignore_merges")
            or data.get("pre_tokenizer") is not None
            or data.get("normalizer") != expected_normalizer
            or [t.get("content") for t in data.get("added_tokens", [])] != ["<unk>", "<s>", "</s>"]
        ):
            raise ModelFileError(f"{path} is not the tokenizer kbapp knows how to read")
        vocab: dict[str, int] = model["vocab"]
        pieces = sorted(vocab, key=vocab.__getitem__)
        if [vocab[p] for p in pieces] != list(range(len(pieces))):
            raise ModelFileError(f"{path}: the token ids are not 0 to {len(pieces) - 1}")
        tokenizer = cls(pieces)
        tokenizer._check_merges(
            [
                tuple(m.split(" ")) if isinstance(m, str) else tuple(m)
                for m in model.get("merges", [])
            ]
        )
        return tokenizer

    def _check_merges(self, merges: list[tuple[str, ...]]) -> None:
        """The file's merges are the ones :meth:`_rank` derives, in its order."""
        try:
            ranks = [self._rank(*merge) for merge in merges]
        except (KeyError, TypeError):
            raise ModelFileError("a merge of the tokenizer is not two of its tokens") from None
        splits = sum(
            1
            for piece in self.pieces
            for cut in range(1, len(piece))
            if piece[:cut] in self.ids_of and piece[cut:] in self.ids_of
        )
        if _NEVER in ranks or any(a >= b for a, b in pairwise(ranks)) or splits != len(merges):
            raise ModelFileError("the tokenizer's merges are not the ones kbapp derives")
        if any(SPACE in p.lstrip(SPACE) for p in self.pieces if p.strip(SPACE)):
            raise ModelFileError("a token holds a word boundary inside it")

    @classmethod
    def load(cls, source: Path, cache: Path | None = None) -> Tokenizer:
        """The tokenizer of ``source`` (the model's JSON file), through ``cache`` (its pieces,
        written the first time, read again while ``source`` keeps its size and time)."""
        found = source.stat()
        stamp = [found.st_size, found.st_mtime_ns]
        if cache is not None:
            try:
                saved = json.loads(cache.read_text(encoding="utf-8"))
                if saved.get("model") == MODEL and saved.get("source") == stamp:
                    tokenizer = cls(saved["pieces"])
                    tokenizer.source = stamp
                    return tokenizer
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                pass
        tokenizer = cls.from_file(source)
        tokenizer.source = stamp
        if cache is not None:
            tokenizer.keep(cache)
        return tokenizer

    def keep(self, cache: Path) -> None:
        """Write the pieces to ``cache`` for :meth:`load` (a read-only place: not kept)."""
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(
                {"model": MODEL, "source": self.source, "pieces": self.pieces},
                ensure_ascii=False,
            )
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, cache)
        except OSError as exc:
            log.debug("could not keep the tokenizer's pieces in %s: %s", cache, exc)

    # --------------------------------------------------------------- encoding

    def ids(self, text: str, cache: dict[str, list[int]] | None = None) -> list[int]:
        """The token ids of ``text`` (``encode(text, add_special_tokens=False).ids``).
        ``cache``: chunk -> ids, shared by the texts of a batch."""
        out: list[int] = []
        start = 0
        for special in self._special_re.finditer(text):
            self._segment(text[start : special.start()], out, cache)
            out.append(self._special[special.group()])
            start = special.end()
        self._segment(text[start:], out, cache)
        return out

    def _segment(self, text: str, out: list[int], cache: dict[str, list[int]] | None) -> None:
        if not text:
            return
        for chunk in _CHUNK.findall(SPACE + text.replace(" ", SPACE)):
            if cache is None:
                out.extend(self._bpe(chunk))
                continue
            found = cache.get(chunk)
            if found is None:
                found = cache[chunk] = self._split_bpe(chunk, cache)
            out.extend(found)

    def _split_bpe(self, chunk: str, cache: dict[str, list[int]]) -> list[int]:
        """:meth:`_bpe` of a chunk cut where no token has the two characters side by side
        (nothing can be merged across): its parts recur across documents."""
        if self._pairs is None:
            self._pairs = {
                p[i : i + 2]
                for p in self.pieces
                if len(p) > 1 and not (p.startswith("<0x") and len(p) == 6)
                for i in range(len(p) - 1)
            }
        pairs, out, start = self._pairs, [], 0
        for i in range(1, len(chunk)):
            if chunk[i - 1 : i + 1] not in pairs:
                out.extend(self._cached_bpe(chunk[start:i], cache))
                start = i
        out.extend(self._cached_bpe(chunk[start:], cache))
        return out

    def _cached_bpe(self, part: str, cache: dict[str, list[int]]) -> list[int]:
        key = "\0" + part  # parts and whole chunks in one dictionary
        found = cache.get(key)
        if found is None:
            found = cache[key] = self._bpe(part)
        return found

    def _rank(self, left: str, right: str) -> int:
        """The merge's priority (lower first), :data:`_NEVER` when there is no such merge."""
        ids = self.ids_of
        merged = ids.get(left + right)
        if merged is None:
            return _NEVER
        spaces = 1 if not (left + right).strip(SPACE) else 0
        return (((spaces << 15 | merged) << 15 | ids[left]) << 15) | ids[right]

    def _bpe(self, chunk: str) -> list[int]:
        """Byte-pair encoding of one chunk: the best-ranked merge first, leftmost on ties."""
        ids = self.ids_of
        whole = ids.get(chunk)
        if whole is not None:
            return [whole]
        symbols: list[str] = []
        for char in chunk:
            if char in ids:
                symbols.append(char)
            else:  # byte fallback
                symbols.extend(self.pieces[self._byte[b]] for b in char.encode("utf-8"))
        rank = self._rank
        ranks = [rank(symbols[i], symbols[i + 1]) for i in range(len(symbols) - 1)]
        while ranks:
            best = min(ranks)
            if best == _NEVER:
                break
            i = ranks.index(best)
            symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
            del ranks[i]
            if i > 0:
                ranks[i - 1] = rank(symbols[i - 1], symbols[i])
            if i < len(ranks):
                ranks[i] = rank(symbols[i], symbols[i + 1])
        return [ids[s] for s in symbols]


# ---------------------------------------------------------------------- the model


class Model:
    """The model's token table, read from its safetensors file (float16 rows), and the
    tokenizer; :meth:`vector` for a query (plain Python, a few rows read), :meth:`vectors` for
    many texts (NumPy). Loaded once per process, on first use."""

    _lock = threading.Lock()
    _loaded: Model | None = None

    def __init__(self, weights: Path, tokenizer: Tokenizer) -> None:
        self.weights = weights
        self.tokenizer = tokenizer
        with weights.open("rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
        tensor = header.get(TENSOR) or {}
        shape = tensor.get("shape") or []
        if tensor.get("dtype") != "F16" or len(shape) != 2:
            raise ModelFileError(f"{weights}: no float16 table {TENSOR!r}")
        self.rows, self.dim = int(shape[0]), int(shape[1])
        begin, end = tensor["data_offsets"]
        if end - begin != self.rows * self.dim * 2 or self.rows < len(tokenizer.pieces):
            raise ModelFileError(f"{weights}: the table does not fit the tokenizer")
        self.offset = 8 + size + begin
        self._row = struct.Struct(f"<{self.dim}e")

    @classmethod
    def get(cls, cache: Path | None = None) -> Model:
        """The model (``cache``: where the tokenizer's pieces are kept, see
        :meth:`Tokenizer.load`). Raises :class:`FileNotFoundError` when not installed."""
        with cls._lock:
            if cls._loaded is None:
                found = package_dir()
                if found is None:
                    raise FileNotFoundError(f"the {PACKAGE} package's model is not installed")
                tokenizer = Tokenizer.load(found / TOKENIZER_FILE, cache)
                cls._loaded = Model(found / WEIGHTS_FILE, tokenizer)
            return cls._loaded

    @classmethod
    def is_loaded(cls) -> bool:
        return cls._loaded is not None

    # ---------------------------------------------------------------- one text

    def token_rows(self, ids: Iterable[int]) -> dict[int, tuple[float, ...]]:
        """The table's rows for ``ids``, read from the file."""
        found: dict[int, tuple[float, ...]] = {}
        width = self.dim * 2
        with self.weights.open("rb") as f:
            for token in sorted(set(ids)):
                f.seek(self.offset + min(token, self.rows - 1) * width)
                found[token] = self._row.unpack(f.read(width))
        return found

    def vector(self, text: str) -> list[float]:
        """The unit vector of ``text``: the mean of its tokens' rows made unit length (the
        sum has the mean's direction; all zeros for a text without tokens)."""
        ids = self.tokenizer.ids(text)
        if not ids:
            return [0.0] * self.dim
        rows = self.token_rows(ids)
        sums = [sum(column) for column in zip(*(rows[t] for t in ids))]
        length = math.sqrt(sum(x * x for x in sums))
        return [x / length for x in sums] if length else [0.0] * self.dim

    # ---------------------------------------------------------------- many texts

    def vectors(
        self,
        texts: Sequence[str],
        progress: Callable[[int, int], None] | None = None,
        bulk: bool = False,
    ) -> bytes:
        """The unit vectors of ``texts`` as little-endian float16 rows, one per text: in plain
        Python for a few, with NumPy for more than :data:`BULK` or when ``bulk`` (computed as
        WordLlama does: float32 sums of the rows, divided by the count, then by the norm; a
        row may differ from plain Python's in its last float16 bit)."""
        if len(texts) <= BULK and not bulk:
            found = b"".join(self._row.pack(*self.vector(t)) for t in texts)
            if progress:
                progress(len(texts), len(texts))
            return found
        import numpy as np  # only for many texts at once

        table = np.fromfile(
            self.weights, dtype="<f2", count=self.rows * self.dim, offset=self.offset
        ).reshape(self.rows, self.dim)
        table = table.astype(np.float32)
        sums = np.zeros((len(texts), self.dim), dtype=np.float32)
        counts = np.ones(len(texts), dtype=np.float32)
        cache: dict[str, list[int]] = {}
        for number, text in enumerate(texts):
            ids = self.tokenizer.ids(text, cache)
            if ids:  # the rows added one after the other, in float32: WordLlama's order
                sums[number] = table[ids].sum(axis=0, dtype=np.float32)
                counts[number] = len(ids)
            if progress and (number + 1) % BATCH == 0:
                progress(number + 1, len(texts))
        means = sums / counts[:, None]
        norms = np.linalg.norm(means, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        out = (means / norms).astype("<f2")
        if progress:
            progress(len(texts), len(texts))
        return out.tobytes()
