"""Highlighted fragments of a document's text, made only for the results on screen.

The index stores no character offsets (they would double its size and build time). Instead the
query's terms become one case-insensitive regular expression over their stems; each candidate
it finds is checked by analysing just that word, so ``failing`` matches the term ``fail`` and
``etcdNoLeader`` matches ``leader``. A 10 kB document takes well under a millisecond.
"""

from __future__ import annotations

import bisect
import html
import itertools
import re
from collections.abc import Iterable
from typing import NamedTuple

from kbapp.documents import mdlines
from kbapp.search.analysis import WORD_RE, FoldedText, index_terms, parts_of
from kbapp.search.markup import clean_markup

FRAGMENT_CHARS = 160
MAX_FRAGMENTS = 3
_SPACE_RE = re.compile(r"\s+")
_WORD_CHARS = re.compile(r"[\w\-./\\@]")
_RUN = re.compile(r"[\w\-./\\@]*")
_RUN_TO_END = re.compile(r"[\w\-./\\@]+\Z")
#: How far back a word is followed (a longer run of word characters is cut there).
_LONGEST_WORD = 200

# Markdown syntax a reader does not want in a result row. Every pattern is bounded and linear:
# the text is untrusted and this runs on each keystroke. Patterns for whole lines start with the
# line's "\n" (the text gets one in front) rather than ``^`` in multiline mode: a literal first
# character lets the regular expression engine jump from line to line instead of trying every
# position (readable_text: 1.3 ms → 0.2 ms for a synthetic runbook of 1,000 words).
_EOL = r"(?=\n|\Z)"
_HEADING_RE = re.compile(r"\n[ \t]{0,3}#{1,6}[ \t]+([^\n]*?)[ \t#]*" + _EOL)
_WIKI_RE = re.compile(r"\[\[([^\]|\n]{1,200})(?:\|([^\]\n]{1,200}))?\]\]")
# (``!?\[``, the same, has no first character the engine can jump to)
_LINK_RE = re.compile(r"(?:!\[|\[)([^\]\n]{0,300})\]\((?:[^()\n]|\([^()\n]{0,200}\)){0,1000}\)")
_TABLE_RULE_RE = re.compile(r"\n[ \t]*\|?[ \t:|-]*-[ \t:|-]*" + _EOL)
_TAG_RE = re.compile(r"</?[A-Za-z][^<>\n]{0,300}>|<!--[^\n]{0,300}?-->")
_LINE_MARKS_RE = re.compile(r"\n[ \t]*(?:>[ \t]?|[-*+][ \t]+(?:\[[ xX]\][ \t]+)?)")
_INLINE_MARKS_RE = re.compile(r"\*\*|__|``*")  # each branch starts with a literal
_TABLE_ROW_RE = re.compile(r"\n[ \t]*\|([^\n]*?)\|?[ \t]*" + _EOL)
_CELL_RE = re.compile(r"[ \t]*\|[ \t]*")


def readable_text(
    body: str, title: str = "", *, cleaned: str | None = None, unfenced: str | None = None
) -> str:
    """``body`` as a reader sees it, for fragments: no heading marks, backticks, link targets,
    HTML tags or table rules; ``[[kb-id|label]]`` becomes its label. A first heading that only
    repeats ``title`` (shown above the fragments) is dropped. Comments, DocFX/Hugo markup
    and entities go first (:func:`~kbapp.search.markup.clean_markup`, as for the index;
    ``cleaned``: what it gave for ``body``, when the caller has it already; ``unfenced``:
    that with its fence lines emptied, :func:`~kbapp.documents.mdlines.without_fences`)."""
    if unfenced is None:
        unfenced = mdlines.without_fences(clean_markup(body) if cleaned is None else cleaned)
    text = "\n" + unfenced
    first = _HEADING_RE.search(text)
    if first and title and first.group(1).strip().casefold() == title.strip().casefold():
        text = text[: first.start()] + "\n" + text[first.end() :]
    if "#" in text:
        text = _HEADING_RE.sub(lambda m: "\n" + _heading(m.group(1)), text)
    if "[[" in text:
        text = _WIKI_RE.sub(lambda m: m.group(2) or m.group(1), text)
    if "](" in text:
        text = _LINK_RE.sub(r"\1", text)
    text = _TABLE_RULE_RE.sub("\n", text)
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    if "|" in text:
        text = _TABLE_ROW_RE.sub(lambda m: "\n" + _CELL_RE.sub(" · ", m.group(1).strip()), text)
    text = _LINE_MARKS_RE.sub("\n", text)
    if "`" in text or "**" in text or "__" in text:
        text = _INLINE_MARKS_RE.sub("", text)
    return text.strip()


def _heading(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".:?!" else f"{text}:"


class _Word(NamedTuple):
    """A word of a text the query's terms may mark."""

    start: int
    end: int
    #: It matches on its own (a term or the prefix).
    alone: bool
    #: The phrase words it is.
    in_phrases: frozenset[str]


class Highlighter:
    """Finds the query's terms in a text; build one per query, use it for each shown hit.

    ``phrases`` are the query's phrases (quoted, or a synonym of several words: "no space
    left" for "disk full"): their words are marked only where they stand together, in order
    (stop words between them allowed, as the index's phrases do), never one by one: "no"
    alone in a text is not a match of "no space left"."""

    def __init__(
        self,
        terms: Iterable[str],
        prefix: str | None = None,
        phrases: Iterable[tuple[str, ...]] = (),
    ) -> None:
        self.terms = {t for t in terms if t}
        self.phrases = sorted({p for p in phrases if len(p) > 1}, key=len, reverse=True)
        #: The word being typed: any word starting with it matches.
        self.prefix = prefix.lower() if prefix else None
        self._phrase_terms = {t for p in self.phrases for t in p}
        self._verdicts: dict[str, tuple[bool, frozenset[str]]] = {}
        self._shown: dict[str, frozenset[str]] = {}
        wanted = {_stem_prefix(t) for t in self.terms | self._phrase_terms}
        if self.prefix:
            wanted.add(self.prefix)
        stems = sorted(wanted, key=len, reverse=True)
        # A stem of one or two letters ("i", "as") is looked for as a whole word only: found
        # inside words it made a candidate of every "i" of a long article (0.5 s a query).
        alternatives = [re.escape(s) if len(s) > 2 else rf"\b{re.escape(s)}\b" for s in stems]
        self._pattern = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None

    def _verdict(self, word: str) -> tuple[bool, frozenset[str]]:
        """Whether ``word`` matches on its own (a term or the prefix), and the phrase words
        it is."""
        verdict = self._verdicts.get(word)
        if verdict is None:
            terms = index_terms(word)
            alone = bool(self.terms.intersection(terms)) or bool(
                self.prefix and any(p.startswith(self.prefix) for p in _plain_parts(word))
            )
            verdict = self._verdicts[word] = (
                alone,
                frozenset(self._phrase_terms.intersection(terms)),
            )
        return verdict

    def matches(self, text: str, limit: int = 40) -> list[tuple[int, int]]:
        """(start, end) of the first ``limit`` words in ``text`` that the terms match. The
        terms are looked for in the text folded as the index folds it (``istanbul`` marks
        ``İstanbul``, ``file`` marks ``ﬁle``); the offsets are the text's own."""
        if self._pattern is None:
            return []
        if not text.isascii():
            folded = FoldedText(text)
            if folded.text != text:
                found = self._matches(folded.text, limit)
                return [(folded.original(start), folded.original(end)) for start, end in found]
        return self._matches(text, limit)

    def _matches(self, text: str, limit: int) -> list[tuple[int, int]]:
        assert self._pattern is not None
        words: list[_Word] = []  # in text order
        alone_count = phrase_only = 0
        last_end = -1
        # only phrases (a quoted phrase alone): nothing after the phrase words kept is shown
        phrases_only = not self.terms and not self.prefix
        for candidate in self._pattern.finditer(text):
            if phrases_only and phrase_only >= 2 * limit:
                break
            if candidate.start() < last_end:
                continue
            start, end = _word_around(text, candidate.start(), candidate.end())
            if start < last_end:
                continue
            word_match = WORD_RE.match(text, start)
            if word_match is None:
                continue
            end = max(end, word_match.end()) if word_match.end() <= end else end
            alone, in_phrases = self._verdict(text[start:end])
            # a phrase's words are kept a bounded number of times ("no" of "no space left"
            # may stand in a long text hundreds of times), and never stop the search for
            # the words that match alone
            if alone or (in_phrases and phrase_only < 2 * limit):
                words.append(_Word(start, end, alone, in_phrases))
                last_end = end
                alone_count += alone
                phrase_only += not alone
                if alone_count >= limit:
                    break
            else:
                last_end = candidate.end()
        return self._with_phrases(text, words)[:limit]

    def _with_phrases(self, text: str, words: list[_Word]) -> list[tuple[int, int]]:
        """The words that match alone, and those of a phrase that stands whole."""
        found: list[tuple[int, int]] = []
        i = 0
        while i < len(words):
            length = self._phrase_at(text, words, i) if words[i].in_phrases else 0
            if length:
                found.extend((w.start, w.end) for w in words[i : i + length])
                i += length
                continue
            if words[i].alone:
                found.append((words[i].start, words[i].end))
            i += 1
        return found

    def _phrase_at(self, text: str, words: list[_Word], i: int) -> int:
        """How many of ``words`` from ``i`` on make one of the phrases (0: none)."""
        first = words[i].in_phrases
        for phrase in self.phrases:
            if phrase[0] not in first or i + len(phrase) > len(words):
                continue
            run = words[i : i + len(phrase)]
            if all(term in w.in_phrases for term, w in zip(phrase, run)) and all(
                _only_stop_words(text[a.end : b.start]) for a, b in itertools.pairwise(run)
            ):
                return len(phrase)
        return 0

    def _shows(self, word: str) -> frozenset[str]:
        """The query's terms a matched word stands for ("payments-api": "payment" and
        "api"); the word itself when it matched as the word being typed."""
        found = self._shown.get(word)
        if found is None:
            terms = index_terms(word)
            found = frozenset(
                self.terms.intersection(terms) | self._phrase_terms.intersection(terms)
            )
            found = self._shown[word] = found or frozenset((word.lower(),))
        return found

    def fragments(self, text: str, limit: int = MAX_FRAGMENTS) -> list[str]:
        """Up to ``limit`` HTML fragments, matches wrapped in ``<b class="match">``."""
        if limit <= 0:
            return []
        spans = self.matches(text, limit=4 * limit)
        if not spans:  # matched on a field, not the text: the text's opening says what it is
            opening = _window(text, 0, 0)
            return [_render(text, *opening, [])] if text.strip() else []
        # A window around each match. A result row shows its first fragment's first lines, so
        # the window showing the most of the query comes first ("payments 503" showed "...of
        # requests to api.[payments].tidewater.example" before the line that has both); then
        # the windows that add words not shown yet (and, when the matches are few, the others),
        # each cut where a chosen one starts or ends. Among equals, the earlier in the text.
        shows = [self._shows(text[s:e]) for s, e in spans]
        around = [_window(text, s, e) for s, e in spans]
        starts, ends = [s for s, _ in spans], [e for _, e in spans]
        unions: dict[tuple[int, int], frozenset[str]] = {}
        chosen: list[tuple[int, int]] = []  # fragment windows, best first
        seen: frozenset[str] = frozenset()
        while len(chosen) < limit:
            best: tuple[int, int, int, int, frozenset[str]] | None = None
            for i, (start, end) in enumerate(spans):
                window = _cut(start, end, around[i], chosen)
                if window is None:
                    continue
                win_start, win_end = window
                # the matches in order do not overlap: those inside are a run of them
                run = (bisect.bisect_left(starts, win_start), bisect.bisect_right(ends, win_end))
                shown = unions.get(run)
                if shown is None:
                    shown = unions[run] = frozenset().union(*shows[run[0] : run[1]])
                new = len(shown - seen)
                if not new and len(spans) > limit:  # more matches than room: only news
                    continue
                if best is None or (new, len(shown)) > (best[0], best[1]):
                    best = (new, len(shown), win_start, win_end, shown)
            if best is None:
                break
            chosen.append((best[2], best[3]))
            seen |= best[4]
        out = []
        for win_start, win_end in chosen:
            inside = [(s, e) for s, e in spans if s >= win_start and e <= win_end]
            out.append(_render(text, win_start, win_end, inside))
        return out


def _only_stop_words(gap: str) -> bool:
    """Whether the text between two words of a phrase holds no word the index keeps."""
    return len(gap) <= 40 and not any(index_terms(w) for w in WORD_RE.findall(gap))


def _plain_parts(word: str) -> list[str]:
    return [word.lower(), *parts_of(word)]


def _stem_prefix(term: str) -> str:
    # Porter stems are nearly always a prefix of the word once the last letter is dropped
    # ("happi" <- "happy"); the analysis of the whole word then decides.
    return term[:-1] if len(term) > 4 and term[-1] in "ie" else term


def _word_around(text: str, start: int, end: int) -> tuple[int, int]:
    # the run of word characters around [start, end), found by the regex engine (a Python
    # loop over the characters was a third of the time of ten long articles' snippets)
    if start > 0 and _WORD_CHARS.match(text[start - 1]):
        lo = max(0, start - _LONGEST_WORD)
        found = _RUN_TO_END.search(text, lo, start)
        start = found.start() if found else start
    run = _RUN.match(text, end)  # "*": always matches, maybe empty
    end = run.end() if run else end
    while end > start and text[end - 1] in "-./\\@":
        end -= 1
    while start < end and text[start] in "-./\\@":
        start += 1
    return start, end


def _window(text: str, start: int, end: int) -> tuple[int, int]:
    room = max(FRAGMENT_CHARS - (end - start), 20)
    # little before the match: a result row may show one line of it, the match must be there
    win_start = max(0, start - room // 6)
    win_end = min(len(text), end + room - (start - win_start))
    if win_start > 0:
        space = text.find(" ", win_start, start)
        win_start = space + 1 if space >= 0 else win_start
    if win_end < len(text):
        space = text.rfind(" ", end, win_end)
        win_end = space if space >= 0 else win_end
    return win_start, win_end


def _cut(
    start: int, end: int, window: tuple[int, int], chosen: list[tuple[int, int]]
) -> tuple[int, int] | None:
    """``window`` (around the match at ``start``-``end``) cut so as not to overlap the
    ``chosen`` windows; None when the match is shown in one of them already."""
    win_start, win_end = window
    for c_start, c_end in chosen:
        if start < c_end and c_start < end:
            return None
        if c_end <= start:
            win_start = max(win_start, c_end)
        else:
            win_end = min(win_end, c_start)
    return win_start, win_end


def _render(text: str, win_start: int, win_end: int, spans: list[tuple[int, int]]) -> str:
    pieces: list[str] = ["…" if win_start > 0 else ""]
    cursor = win_start
    for start, end in spans:
        pieces.append(html.escape(_SPACE_RE.sub(" ", text[cursor:start])))
        pieces.append(f'<b class="match">{html.escape(text[start:end])}</b>')
        cursor = end
    pieces.append(html.escape(_SPACE_RE.sub(" ", text[cursor:win_end])))
    if win_end < len(text):
        pieces.append("…")
    return "".join(pieces).strip()
