"""How text becomes index terms: prose is stemmed, identifiers survive whole and by their parts.

One pass of one regular expression does the work of a Whoosh analyser chain (tokeniser,
lowercase, stop words, stemmer) without a generator per filter; Whoosh's own chain was the
largest single cost of a full build. A word such as ``ORA-00600``, ``kube-apiserver``,
``db01.prod.example.com``, ``/var/log/syslog``, ``snake_case`` or ``etcdNoLeader`` is indexed

- whole, lowercased (``ora-00600``, ``etcdnoleader``), so the whole identifier matches exactly;
- joined without separators (``kubeapiserver``, ``snakecase``; ``I/O`` as ``io`` and
  ``Hyper-V`` as ``hyperv``: one-letter pieces too), so a user who leaves out the hyphen
  still finds it;
- by its parts (``ora`` ``00600``; ``etcd`` ``no`` ``leader``), at consecutive positions, so
  ``etcd no leader`` and the phrase ``"etcd no leader"`` find the alert.

Text is folded first (:func:`fold`), by the indexer and the query side alike: compatibility
forms (the ligature ``ﬁ``, full-width ``ＡＢＣ``, ``²``), accents (``café``, ``İstanbul``) and
case beyond ASCII (``Straße`` = ``strasse``) match their plain forms. A text that is ASCII
already is not touched (one :meth:`str.isascii` per text).

A query keeps each word whole (``query`` mode). Phrases are matched on a second form of each
text field, the sequence of its phrase terms (a plain word's stem, an identifier's parts; see
:func:`term_sequence`), which the index keeps per document beside the postings: a quoted phrase
is a substring search in the few documents that have all its terms.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

from whoosh.analysis import Token, Tokenizer
from whoosh.lang.porter import stem as _porter_stem

from kbapp.search.markup import clean_markup as clean_markup
from kbapp.search.wordlists import QUERY_NOISE as QUERY_NOISE
from kbapp.search.wordlists import STOP_WORDS

#: A word, or an identifier made of words joined by - . / \ _ @ (no separator at either end).
WORD_RE = re.compile(r"\w+(?:[-./\\@]\w+)*", re.UNICODE)
#: :data:`WORD_RE` for a text of ASCII characters only (:func:`words_of`): the same matches
#: (``\w`` of an ASCII character is ``[A-Za-z0-9_]`` either way), found a third faster (a
#: table look-up per character instead of Unicode's).
_ASCII_WORD_RE = re.compile(WORD_RE.pattern, re.ASCII)
_SEPARATORS_RE = re.compile(r"[-./\\@_]+")
#: A separator other than the dot: one-letter pieces joined by it are a word ("I/O", "A-B"),
#: where dots between single letters are an abbreviation ("i.e.", "U.S.").
_JOINERS_RE = re.compile(r"[-/\\@_]")
#: Where a CamelCase word splits: etcdNoLeader, KubeAPIServerDown, HTTPServer2Error.
_CAMEL_PART_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_CAMEL_RE = re.compile(r"[a-z][A-Z]|[A-Z]{2}[a-z]")

#: The combining accents of the generic blocks (Combining Diacritical Marks, its Extended and
#: Supplement blocks, those for symbols, half marks): what Latin, Greek and Cyrillic letters
#: decompose into besides their base letter. The marks of scripts whose vowels are written
#: with them (Devanagari, Thai, Hebrew points...) are kept: there they make the word.
_MARKS_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
#: Letters that neither decomposition nor lowercasing makes plain (Lucene's ASCIIFoldingFilter
#: folds them too), and the few whose case folding differs from ``str.lower`` (``ß``, final
#: ``ς``): after these, ``fold(text).lower() == fold(text).casefold()`` for every character
#: (tests/test_search_fold.py checks it over all of Unicode). Upper case stays upper case
#: (``Æ`` -> ``Ae``, title case being the commoner), so that CamelCase identifiers still
#: split where they did.
_LETTERS = {
    "ß": "ss",
    "ẞ": "SS",
    "ς": "σ",
    "Σ": "σ",  # (str.lower writes a final sigma as "ς", casefold as "σ")
    "æ": "ae",
    "Æ": "Ae",
    "œ": "oe",
    "Œ": "Oe",
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "Th",
    "ı": "i",
    "ħ": "h",
    "Ħ": "H",
    "ŧ": "t",
    "Ŧ": "T",
    **{chr(c): chr(c).casefold() for c in range(0x1C80, 0x1C89)},  # old Cyrillic forms
}
_LETTERS_RE = re.compile("[" + "".join(_LETTERS) + "]")


def fold(text: str) -> str:
    """``text`` as it is matched: compatibility forms as their plain letters (NFKC: ``ﬁ`` ->
    ``fi``, full-width ``ＫＢ`` -> ``KB``, ``½`` -> ``1⁄2``), without accents (NFD, less the
    combining marks: ``é`` -> ``e``, ``İ`` -> ``I``), ``ß`` -> ``ss``, ``ø`` -> ``o``.
    Lowercasing is left to the analysis (``lower`` of the result is its case folding), which
    splits CamelCase first. The one rule for the index and the query: every text the
    analysis reads goes through it. An ASCII text is returned as it is."""
    if text.isascii():
        return text
    # NFKD: compatibility forms and accents apart in one pass (no-break spaces, dashes and
    # ligatures often leave it ASCII); NFC then puts together what is left (Hangul, the
    # marks kept)
    text = unicodedata.normalize("NFKD", text)
    if text.isascii():
        return text
    text = _MARKS_RE.sub("", text)
    if text.isascii():
        return text
    text = unicodedata.normalize("NFC", text)
    if _LETTERS_RE.search(text) is None:
        return text
    return _LETTERS_RE.sub(_letter, text)


def _letter(found: re.Match[str]) -> str:
    return _LETTERS[found.group()]


class _FoldedChars(dict[str, str]):
    """character -> :func:`fold` of it, made on first lookup."""

    def __missing__(self, char: str) -> str:
        found = self[char] = fold(char)
        return found


_FOLDED_CHARS = _FoldedChars()
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]+")


class FoldedText:
    """A text folded (:func:`fold`, one character at a time) with the way back to the
    original's offsets: the fragments of a hit are cut from the text as written while the
    query's terms are found in its folded form (``istanbul`` marks ``İstanbul``)."""

    def __init__(self, text: str) -> None:
        self.original_length = len(text)
        #: (start in the folded text, start in the original, lengths there and here, whether
        #: the piece kept its length: an ASCII stretch, or characters folded one to one)
        self._pieces: list[tuple[int, int, int, int, bool]] = []
        out: list[str] = []
        folded_at = original_at = 0
        chars = _FOLDED_CHARS

        def keep(piece: str, original: int, length: int, same: bool) -> None:
            nonlocal folded_at
            self._pieces.append((folded_at, original, len(piece), length, same))
            out.append(piece)
            folded_at += len(piece)

        for run in _NON_ASCII_RE.finditer(text):
            start, end = run.span()
            if start > original_at:
                keep(text[original_at:start], original_at, start - original_at, True)
            folds = list(map(chars.__getitem__, run.group()))
            joined = "".join(folds)
            if not unicodedata.is_normalized("NFC", joined):
                # a character composes with one before it, as in the text folded whole (a
                # mark written apart that is kept: half-width ``ｶﾞ`` -> ``ガ``; Hangul jamo)
                for offset, length, piece in _clusters(run.group(), folds):
                    keep(piece, start + offset, length, length == len(piece) == 1)
            elif len(joined) == end - start and all(len(f) == 1 for f in folds):
                keep(joined, start, end - start, True)
            else:
                for offset, piece in enumerate(folds):
                    keep(piece, start + offset, 1, len(piece) == 1)
            original_at = end
        if original_at < len(text) or not self._pieces:
            keep(text[original_at:], original_at, len(text) - original_at, True)
        #: the folded text
        self.text = "".join(out)
        self._starts = [piece[0] for piece in self._pieces]

    def original(self, position: int) -> int:
        """The offset in the original text of ``position`` in the folded one (a word's
        start or end: the end of a word takes in the accents written apart after it)."""
        at = bisect.bisect_right(self._starts, position) - 1
        folded_start, original_start, folded_length, original_length, same = self._pieces[at]
        if same:
            return original_start + min(position - folded_start, original_length)
        return (
            original_start
            if position < folded_start + folded_length
            else (original_start + original_length)
        )


#: The most characters :func:`_clusters` folds together (each one more folds them all again).
_CLUSTER_MOST = 32


def _clusters(run: str, folds: list[str]) -> list[tuple[int, int, str]]:
    """(offset, length, folded) of the pieces of ``run`` (characters folded one at a time as
    ``folds``) that fold apart: a character that composes with the piece before it (or
    folds to nothing) joins it. The pieces' foldings make :func:`fold` of ``run``; where
    they do not (a reordering of marks), the run is one piece."""
    pieces: list[tuple[int, int, str]] = []
    for offset, piece in enumerate(folds):
        if pieces:
            begun, length, before = pieces[-1]
            if not piece:  # (a mark the folding drops: it changes nothing before it)
                pieces[-1] = (begun, length + 1, before)
                continue
            if unicodedata.normalize("NFC", before + piece) != before + piece:
                if length >= _CLUSTER_MOST:  # (marks reordered on and on: a made-up text)
                    break
                pieces[-1] = (begun, length + 1, fold(run[begun : offset + 1]))
                continue
        pieces.append((offset, 1, piece))
    whole = fold(run)
    if (
        sum(length for _, length, _ in pieces) != len(run)
        or "".join(piece for _, _, piece in pieces) != whole
    ):
        return [(0, len(run), whole)]
    return pieces


_stems: dict[str, str] = {}


def stem(word: str) -> str:
    """Porter stem of a lowercase word; identifiers with digits are left alone."""
    found = _stems.get(word)
    if found is None:
        found = _porter_stem(word) if word.isalpha() else word
        if len(_stems) < 200_000:
            _stems[word] = found
    return found


_HEX_RE = re.compile(r"0[xX][0-9a-fA-F]{2,}")
#: A KB article number written as one word: KB327825 (also Q327825, the older form).
_KB_WORD_RE = re.compile(r"kb(\d{4,8})|q(\d{6})")
#: Words allowed between "KB" and its number: "KB number: 327825", "KB article 327825".
_KB_FILLERS = frozenset(["number", "article", "no", "id", "nr"])


#: (``\bKB``, written with the letters first: a pattern that starts with ``\b`` is tried at
#: every position of the text, one that starts with letters only where they are: 3x faster)
_KB_DECLARED_RE = re.compile(
    r"KB(?<!\wKB) (?:article )?(?:number|ID|no\.?):[ \t]*(\d{4,8})\b", re.IGNORECASE
)


def declared_kb_numbers(text: str) -> list[str]:
    """The numbers a text declares as its own KB number ("Original KB number: 327825")."""
    head = fold(text[:3000])
    return list(dict.fromkeys(_KB_DECLARED_RE.findall(head))) if "KB" in head else []


def hex_terms(lower: str) -> list[str]:
    """The terms of a hexadecimal code ``0x...`` (lowercase): whole, without ``0x``, and
    without leading zeros (``0x0000007b`` -> ``0x0000007b 0000007b 7b``)."""
    digits = lower[2:]
    short = digits.lstrip("0") or "0"
    return list(dict.fromkeys([lower, digits, short]))


def kb_term(number: str) -> str:
    """The one term a KB article number is indexed and searched as: ``KB327825``, ``KB
    327825``, ``KB number: 327825`` and ``Q327825`` all become ``kb327825``."""
    return "kb" + number


def is_simple(word: str) -> bool:
    """A plain word: letters and digits only, not CamelCase nor 0x... (the fast path)."""
    return word.isalnum() and not _CAMEL_RE.search(word) and not _HEX_RE.fullmatch(word)


def parts_of(word: str) -> list[str]:
    """The lowercase parts of an identifier: split at separators, CamelCase and 0x prefixes."""
    out: list[str] = []
    for piece in _SEPARATORS_RE.split(word):
        if not piece:
            continue
        if _CAMEL_RE.search(piece):
            out.extend(p.lower() for p in _CAMEL_PART_RE.findall(piece))
        else:
            out.append(piece.lower())
    return out


#: word as written -> ((term, position offset), ...) and how many positions it takes. Words
#: follow a Zipf distribution, so nearly every word of a document is a dictionary hit.
_word_cache: dict[str, tuple[tuple[tuple[str, int], ...], int]] = {}
_plain_cache: dict[str, tuple[str, ...]] = {}
_phrase_cache: dict[str, tuple[str, ...]] = {}
_CACHE_LIMIT = 500_000


def _analyse_word(word: str) -> tuple[tuple[tuple[str, int], ...], int]:
    if is_simple(word):
        lower = word.lower()
        if lower in STOP_WORDS:
            return (), 0
        return ((stem(lower), 0),), 1
    items = list(dict.fromkeys(_identifier_terms(word, 0)))
    width = max(offset for _, offset in items) + 1
    return tuple(items), width


def index_terms(text: str) -> dict[str, list[int]]:
    """Every term of ``text`` with its positions, as the index stores them."""
    terms: dict[str, list[int]] = {}
    pos = 0
    cache = _word_cache
    text = fold(text)
    kb_pending = 0  # words left in which a number is the KB number announced by "KB"
    for word in WORD_RE.findall(text):
        entry = cache.get(word)
        if entry is None:
            entry = _analyse_word(word)
            if len(cache) < _CACHE_LIMIT:
                cache[word] = entry
        items, width = entry
        if kb_pending:
            kb_pending -= 1
            if word.isdigit() and 4 <= len(word) <= 8:
                items = (*items, (kb_term(word), 0))
                kb_pending = 0
            elif word.lower() not in _KB_FILLERS:
                kb_pending = 0
        if len(word) <= 10 and word[:1] in "kKqQ":
            lower = word.lower()
            if lower == "kb":
                kb_pending = 3
            else:
                found_kb = _KB_WORD_RE.fullmatch(lower)
                if found_kb:
                    items = (
                        (kb_term((found_kb.group(1) or found_kb.group(2))), 0),
                        ((found_kb.group(1) or found_kb.group(2)), 0),
                    )
        if not width:
            continue
        for term, offset in items:
            found = terms.get(term)
            if found is None:
                terms[term] = [pos + offset]
            elif found[-1] != pos + offset:
                found.append(pos + offset)
        pos += width
    return terms


def _joined_forms(lower: str, pieces: list[str], parts: list[str]) -> list[str]:
    """An identifier written without its separators: the join of its ``parts`` (the pieces
    kept as terms) and the join of all its ``pieces``, one-letter ones and stop words too
    (``I/O`` -> ``io``, ``Hyper-V`` -> ``hyperv``, ``add-on`` -> ``addon``), each when it
    differs from the word. Pieces that are all digits (dates, versions, addresses) and a
    dotted abbreviation of single letters (``i.e.`` would be ``ie``) are not joined whole."""
    found: list[str] = []
    joined = "".join(parts)
    if joined and joined != lower and len(parts) > 1:
        found.append(joined)
    whole = "".join(pieces)
    if (
        len(pieces) > 1
        and whole != lower
        and whole != joined
        and not all(piece.isdigit() for piece in pieces)
        and not (all(len(piece) == 1 for piece in pieces) and not _JOINERS_RE.search(lower))
    ):
        found.append(whole)
    return found


def _identifier_terms(word: str, pos: int) -> list[tuple[str, int]]:
    lower = word.lower()
    if _HEX_RE.fullmatch(word):  # 0x80070005 is also found as 80070005; 0x0000007B as 7b
        return [(term, pos) for term in hex_terms(lower)]
    pieces = parts_of(word)
    parts = [p for p in pieces if len(p) > 1 and p not in STOP_WORDS]
    out = [(stem(lower), pos)]
    out.extend((stem(joined), pos) for joined in _joined_forms(lower, pieces, parts))
    if len(parts) > 1 or (parts and parts[0] != lower):
        out.extend((stem(part), pos + offset) for offset, part in enumerate(parts))
    return out


def word_terms(word: str) -> list[str]:
    """The terms one query word is looked up as (the word whole, lowercased and stemmed; a KB
    number as :func:`kb_term`, a hex code without ``0x`` and leading zeros)."""
    word = fold(word)
    lower = word.lower()
    if lower in STOP_WORDS:
        return []
    found_kb = _KB_WORD_RE.fullmatch(lower)
    if found_kb:
        return [kb_term(found_kb.group(1) or found_kb.group(2))]
    if _HEX_RE.fullmatch(word):
        return [hex_terms(lower)[-1]]
    return [stem(lower)]


def join_identifiers(words: list[str]) -> list[str]:
    """Query words with a KB number written apart made one word: ``KB 327825`` and ``KB
    number 327825`` -> ``KB327825`` (the index keeps all three forms as :func:`kb_term`)."""
    out: list[str] = []
    i = 0
    while i < len(words):
        if words[i].lower() == "kb":
            j = i + 1
            while j < len(words) and j - i <= 2 and words[j].lower() in _KB_FILLERS:
                j += 1
            if j < len(words) and words[j].isdigit() and 4 <= len(words[j]) <= 8:
                out.append("KB" + words[j])
                i = j + 1
                continue
        out.append(words[i])
        i += 1
    return out


def query_words(text: str) -> list[str]:
    """The words of a query text, each kept whole (identifiers are not split), folded
    (:func:`fold`) as the index's words are, without the drive letter of a pasted Windows
    path (the ``C`` of ``C:\\Windows\\...`` would find every "C#" and "C++" document)."""
    text = fold(text)
    return [
        m.group()
        for m in WORD_RE.finditer(text)
        if m.group().lower() not in STOP_WORDS
        and not (len(m.group()) == 1 and text[m.end() : m.end() + 2] in (":\\", ":/"))
    ]


def typed_words(text: str) -> dict[str, str]:
    """Each word of :func:`query_words` of ``text`` whose folding changed it -> the word as
    it was typed (``Istanbul`` -> ``İstanbul``), to say the user's words back to them."""
    if text.isascii():
        return {}
    folded = FoldedText(text)
    return {
        m.group(): text[folded.original(m.start()) : folded.original(m.end())]
        for m in WORD_RE.finditer(folded.text)
    }


def phrase_form(word: str) -> tuple[str, ...]:
    """The terms one word takes in a phrase: a plain word its stem, an identifier its parts
    (``ORA-00600`` → ``ora 00600``), ``0x80070005`` its digits. The index keeps each text field
    as this sequence of terms (:func:`term_sequence`), so a phrase is a run of it."""
    found = _phrase_cache.get(word)
    if found is None:
        if not word.isascii() and (folded := fold(word)) != word:  # (a query's words are)
            found = tuple(term for w in WORD_RE.findall(folded) for term in phrase_form(w))
        elif is_simple(word):
            found = tuple(word_terms(word))
        elif _HEX_RE.fullmatch(word):
            found = (word.lower()[2:],)
        else:
            parts = [p for p in parts_of(word) if len(p) > 1 and p not in STOP_WORDS]
            found = tuple(stem(p) for p in parts) or (stem(word.lower()),)
        if len(_phrase_cache) < _CACHE_LIMIT:
            _phrase_cache[word] = found
    return found


def phrase_terms(text: str) -> list[str]:
    """The terms of a quoted phrase, identifiers split into parts (see :func:`phrase_form`)."""
    return [term for word in WORD_RE.findall(fold(text)) for term in phrase_form(word)]


def pair_hash(first: str, second: str) -> int:
    """A stable 32-bit number for two neighbouring phrase terms (the index keeps each
    document's set of them, sorted, so a two-word phrase is a binary search per document)."""
    return zlib.crc32(f"{first} {second}".encode())


def sequence_pair_hashes(sequence: str) -> set[int]:
    """:func:`pair_hash` of every two neighbouring terms in a :func:`term_sequence`."""
    terms = sequence.split(" ")
    crc = zlib.crc32
    return {crc(f"{a} {b}".encode()) for a, b in itertools.pairwise(terms) if a and b}


def term_sequence(text: str) -> str:
    """``text`` as the space-separated sequence of its phrase terms, with a space at both ends:
    a phrase occurs in the text if and only if ``" " + " ".join(phrase_terms(phrase)) + " "``
    is a substring of it. Punctuation and stop words are not in the sequence, so a phrase
    runs across them (as in Lucene and SQLite FTS5)."""
    cache, form = _phrase_cache, phrase_form
    out: list[str] = []
    for word in WORD_RE.findall(fold(text)):
        out.extend(cache.get(word) or form(word))
    return " " + " ".join(out) + " "


Entry = tuple[tuple[str, ...], tuple[str, ...], bool, tuple[str, ...]]


class _WordCache(dict[str, Entry]):
    """word as written -> (its index terms, its phrase form, whether it may be part of a KB
    number, its spelling words): what :func:`analyse_text` needs of each word, made by
    :func:`_text_entry` on the first lookup (``map(cache.__getitem__, words)`` runs in C and
    calls Python only for a word not seen yet) or taken from :attr:`stored`. Past
    :data:`_CACHE_LIMIT` words a new word is analysed again at each lookup. ``spelling``: a
    set that gets the spelling words of every word looked up the first time
    (:func:`record_spelling`); ``fresh``: how many words were analysed, not found stored."""

    spelling: set[str] | None = None
    stored: dict[str, Entry]
    fresh = 0

    def __init__(self) -> None:
        super().__init__()
        self.stored = {}

    def __missing__(self, word: str) -> Entry:
        entry = self.stored.get(word)
        if entry is None:
            entry = _text_entry(word)
            self.fresh += 1
        if len(self) < _CACHE_LIMIT:
            self[word] = entry
        if self.spelling is not None:
            self.spelling.update(entry[3])
        return entry


_text_cache = _WordCache()

#: What :func:`_text_entry` makes of a word, as a version: raise it when that changes (the
#: word analyses a build keeps for the next one, :mod:`kbapp.search.wordstore`, are only
#: used by the same version and the same source of this module and its word lists).
ANALYSIS_VERSION = 3


def record_spelling(stored: dict[str, Entry] | None = None) -> set[str]:
    """From now on, the spelling words (:func:`spelling_words`) of every text this process
    analyses go into the set returned, whatever ``spelling`` :func:`analyse_text` is given:
    for a worker process of a full build, whose vocabulary is that of all its texts (each
    word's spelling words are added once, when it is first looked up, instead of once per
    text). The word cache starts empty, so every word is looked up after this call;
    ``stored``: word analyses made earlier (by :func:`_text_entry`, the same version), used
    instead of analysing those words again."""
    found: set[str] = set()
    _text_cache.clear()
    _text_cache.spelling = found
    _text_cache.stored = stored or {}
    _text_cache.fresh = 0
    return found


def looked_up() -> tuple[dict[str, Entry], int]:
    """The words looked up since :func:`record_spelling` with their analyses, and how many
    of them were analysed here (not stored)."""
    return dict(_text_cache), _text_cache.fresh


def _text_entry(word: str) -> tuple[tuple[str, ...], tuple[str, ...], bool, tuple[str, ...]]:
    """What :func:`index_terms`, :func:`phrase_form` and :func:`plain_words` make of one word
    (its parts found once; tests/test_search_segment.py checks it against them)."""
    if word.isalpha() and not _CAMEL_RE.search(word):  # most words: one stem, or a stop word
        lower = word.lower()
        if lower in STOP_WORDS:
            return (), (), False, ()
        single = (stem(lower),)
        spelling: tuple[str, ...] = (lower,) if 2 < len(lower) <= 30 else ()
        return single, single, lower == "kb", spelling
    lower = word.lower()
    if word.isalnum() and not _CAMEL_RE.search(word):  # letters and digits: a term as it is
        if word[:1] in "kKqQ" and len(word) <= 10:
            found_kb = _KB_WORD_RE.fullmatch(lower)
            if found_kb:  # KB327825, Q327825: as index_terms files them
                number: str = found_kb.group(1) or found_kb.group(2)
                return (kb_term(number), number), (kb_term(number),), False, ()
        if not (word[:1] == "0" and _HEX_RE.fullmatch(word)):
            return (lower,), (lower,), False, ()
    if _HEX_RE.fullmatch(word):
        return _text_entry_reference(word)
    # an identifier: whole, joined, and by its parts (as _identifier_terms)
    pieces = parts_of(word)
    parts = [p for p in pieces if len(p) > 1 and p not in STOP_WORDS]
    items = [(stem(lower), 0)]
    items.extend((stem(joined), 0) for joined in _joined_forms(lower, pieces, parts))
    stems = [stem(part) for part in parts]
    if len(parts) > 1 or (parts and parts[0] != lower):
        items.extend(zip(stems, range(len(stems))))
    terms = tuple(term for term, _offset in dict.fromkeys(items))
    form = _phrase_cache.get(word)
    if form is None:
        form = tuple(stems) or (stem(lower),)
        if len(_phrase_cache) < _CACHE_LIMIT:
            _phrase_cache[word] = form
    spelling = tuple(
        w
        for w in dict.fromkeys([lower, *pieces])
        if 2 < len(w) <= 30 and w.isalpha() and w not in STOP_WORDS
    )
    return terms, form, lower == "kb", spelling


def _text_entry_reference(
    word: str,
) -> tuple[tuple[str, ...], tuple[str, ...], bool, tuple[str, ...]]:
    """:func:`_text_entry` spelled out with the functions it stands for (for hex codes, and
    for the tests)."""
    items, _width = _analyse_word(word)
    terms: tuple[str, ...] = tuple(term for term, _offset in items)
    lower = word.lower()
    if len(word) <= 10 and word[:1] in "kKqQ" and lower != "kb":
        found_kb = _KB_WORD_RE.fullmatch(lower)
        if found_kb:
            number: str = found_kb.group(1) or found_kb.group(2)
            terms = (kb_term(number), number)
    spelling = tuple(w for w in _plain_forms(word) if w.isalpha() and len(w) <= 30)
    return terms, phrase_form(word), lower == "kb", spelling


def analyse_text(text: str, spelling: set[str] | None = None) -> tuple[dict[str, int], list[str]]:
    """One pass over ``text`` for the index: each term's count (``len`` of its positions in
    :func:`index_terms`) and the phrase terms in order (the words of :func:`term_sequence`).
    Each distinct word is analysed once (and cached); the rest runs in C: ``map`` over the
    cache, ``Counter`` for the counts. ``spelling``: a set that gets the text's words for the
    spelling vocabulary (:func:`spelling_words` of the text; with :func:`record_spelling`
    they go to its set, once per word, instead). The text is folded first (:func:`fold`)."""
    if not text.isascii():
        text = fold(text)
    words = words_of(text)
    cache = _text_cache
    entries = list(map(cache.__getitem__, words))
    counts = Counter(itertools.chain.from_iterable(map(_TERMS, entries)))
    # "KB 327825", "KB number: 327825": the number also counts as the KB term (index_terms
    # looks at most three words past a "KB", across fillers). Only a word spelt "kb" in any
    # case can start one: a text without those two letters has none.
    if "kb" in text or "KB" in text or "Kb" in text or "kB" in text:
        for at in itertools.compress(range(len(words)), map(_KB_FLAG, entries)):
            for word in words[at + 1 : at + 4]:
                if word.isdigit() and 4 <= len(word) <= 8:
                    counts[kb_term(word)] += 1
                    break
                if word.lower() not in _KB_FILLERS:
                    break
    if spelling is not None and cache.spelling is None:
        spelling.update(
            itertools.chain.from_iterable(map(_SPELLING, map(cache.__getitem__, set(words))))
        )
    return counts, list(itertools.chain.from_iterable(map(_FORM, entries)))


def words_of(text: str) -> list[str]:
    """``WORD_RE.findall(text)``."""
    return (_ASCII_WORD_RE if text.isascii() else WORD_RE).findall(text)


_TERMS, _FORM = operator.itemgetter(0), operator.itemgetter(1)
_KB_FLAG, _SPELLING = operator.itemgetter(2), operator.itemgetter(3)


def spelling_words(text: str) -> list[str]:
    """The words of ``text`` worth keeping for spelling corrections: lowercase, unstemmed,
    alphabetic, 3 to 30 letters (an identifier's alphabetic parts too)."""
    found: set[str] = set()
    analyse_text(text, found)
    return sorted(found)


def sequence_text(terms: list[str]) -> str:
    """The :func:`term_sequence` of a text from its phrase terms (:func:`analyse_text`)."""
    return " " + " ".join(terms) + " "


def pair_hashes(terms: list[str]) -> set[int]:
    """:func:`sequence_pair_hashes` of a text from its phrase terms (:func:`analyse_text`).
    The CRC of ``first second`` is the CRC of ``second`` continued from the CRC of ``first ``
    (``zlib.crc32(b, crc32(a)) == crc32(a + b)``): each term's bytes and the CRC of its bytes
    and a space are made once (cached), a pair then costs one ``crc32`` call in C instead of
    a tuple, a joined string and its encoding (a quarter fewer instructions in a build)."""
    return set(
        map(
            zlib.crc32,
            map(_term_bytes.__getitem__, itertools.islice(terms, 1, None)),
            map(_term_crc.__getitem__, terms),
        )
    )


class _TermBytes(dict[str, bytes]):
    """term -> its UTF-8 bytes, made on the first lookup (up to :data:`_CACHE_LIMIT` kept)."""

    def __missing__(self, term: str) -> bytes:
        found = term.encode()
        if len(self) < _CACHE_LIMIT:
            self[term] = found
        return found


class _TermCrc(dict[str, int]):
    """term -> the CRC-32 of its UTF-8 bytes and a space, where a pair's hash starts from
    (:func:`pair_hashes`), made on the first lookup (up to :data:`_CACHE_LIMIT` kept)."""

    def __missing__(self, term: str) -> int:
        found = zlib.crc32(term.encode() + b" ")
        if len(self) < _CACHE_LIMIT:
            self[term] = found
        return found


_term_bytes = _TermBytes()
_term_crc = _TermCrc()


def _plain_forms(word: str) -> tuple[str, ...]:
    candidates = [word.lower()] if is_simple(word) else [word.lower(), *parts_of(word)]
    return tuple(c for c in candidates if len(c) > 2 and c not in STOP_WORDS)


def plain_words(text: str) -> list[str]:
    """Lowercase unstemmed words of three letters or more (spelling vocabulary and prefixes)."""
    cache = _plain_cache
    lookup: Any = cache
    unique = set(words_of(fold(text)))
    missing = unique.difference(cache)
    if missing:
        if len(cache) + len(missing) <= _CACHE_LIMIT:
            for word in missing:
                cache[word] = _plain_forms(word)
        else:  # the cache is full: a lookup table for this text only
            lookup = {word: cache.get(word) or _plain_forms(word) for word in unique}
    return sorted(set(itertools.chain.from_iterable(map(lookup.__getitem__, unique))))


class KbAnalyzer(Tokenizer):
    """The same analysis as a Whoosh analyser, for Whoosh's own tools (highlighting, the
    query parser in tests) and for inspecting what a text becomes (``kbapp`` tests)."""

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if mode == "query":
            for offset, word in enumerate(query_words(value)):
                for term in word_terms(word):
                    token.text = term
                    token.pos = start_pos + offset
                    token.boost = 1.0
                    token.stopped = False
                    yield token
            return
        for term, poslist in index_terms(value).items():
            for pos in poslist:
                token.text = term
                token.pos = start_pos + pos
                token.boost = 1.0
                token.stopped = False
                yield token


def analyze(text: str) -> list[str]:
    """All terms of ``text`` in index order (for tests and ``kbapp search --explain``)."""
    by_pos: list[tuple[int, str]] = [
        (pos, term) for term, poslist in index_terms(text).items() for pos in poslist
    ]
    return [term for _, term in sorted(by_pos)]
