"""Reading what the user typed: words, "phrases", -exclusions, field filters, the word being typed.

The reader never fails: an unclosed quote runs to the end, a filter on an unknown field is
taken as words, a lone ``-`` is ignored. ``-word`` excludes only words of three letters or
more, so that a pasted command (``df -hi``, ``kubectl get pods -o wide``) is searched as
written. What it produces is turned into Whoosh queries by
:mod:`kbapp.search.searcher`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kbapp.search.schema import FILTER_FIELDS

_FILTER_RE = re.compile(r"([A-Za-z_]+):(?=\S)")


@dataclass
class ParsedQuery:
    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    filters: list[tuple[str, str]] = field(default_factory=list)  # (index field, value)
    excluded_words: list[str] = field(default_factory=list)
    excluded_phrases: list[str] = field(default_factory=list)
    excluded_filters: list[tuple[str, str]] = field(default_factory=list)
    #: The last word when the text does not end with a space: the user may still be typing it.
    prefix: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.words or self.phrases or self.filters)

    def wants_retired(self) -> bool:
        return any(f == "status" and v.lower() == "retired" for f, v in self.filters)


def parse_query(text: str) -> ParsedQuery:
    parsed = ParsedQuery()
    i, n = 0, len(text)
    last_kind = ""
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negate = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        if negate and text[i + 1] not in '"' and not _FILTER_RE.match(text, i + 1):
            # "-hi" in "df -hi" is a command option, not an exclusion: only words of three
            # letters or more are excluded.
            end = i + 1
            while end < n and not text[end].isspace():
                end += 1
            negate = end - i - 1 >= 3
        if negate:
            i += 1
        if text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            phrase = text[i + 1 : end].strip()
            i = end + 1
            if phrase:
                (parsed.excluded_phrases if negate else parsed.phrases).append(phrase)
            last_kind = "phrase"
            continue
        match = _FILTER_RE.match(text, i)
        if match and match.group(1).lower() in FILTER_FIELDS:
            name = FILTER_FIELDS[match.group(1).lower()]
            i = match.end()
            if text[i] == '"':
                end = text.find('"', i + 1)
                end = n if end < 0 else end
                value = text[i + 1 : end].strip()
                i = end + 1
            else:
                end = i
                while end < n and not text[end].isspace():
                    end += 1
                value, i = text[i:end], end
            if value:
                (parsed.excluded_filters if negate else parsed.filters).append((name, value))
            last_kind = "filter"
            continue
        end = i
        while end < n and not text[end].isspace():
            end += 1
        word = text[i:end].strip('"')
        i = end
        if word:
            (parsed.excluded_words if negate else parsed.words).append(word)
            last_kind = "excluded" if negate else "word"
    if last_kind == "word" and text and not text[-1].isspace():
        parsed.prefix = parsed.words[-1]
    return parsed
