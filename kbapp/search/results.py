"""What a search answers: the index's state, the hits and the response (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IndexState:
    ready: bool
    indexing: bool = False
    percent: int = 0
    message: str = ""


@dataclass
class SearchHit:
    id: str
    path: str
    title: str
    type: str
    status: str
    owner_org: str
    review_state: str
    score: float
    snippets: list[str] = field(default_factory=list)
    kb: str = ""
    #: The folder of the knowledge base it is in (two may share a name).
    kb_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "title": self.title,
            "type": self.type,
            "status": self.status,
            "owner_org": self.owner_org,
            "review_state": self.review_state,
            "score": round(self.score, 4),
            "snippets": list(self.snippets),
            "kb": self.kb,
            "kb_path": self.kb_path,
        }


@dataclass
class SearchResponse:
    hits: list[SearchHit] = field(default_factory=list)
    total: int = 0
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    suggestion: str | None = None
    elapsed_ms: float = 0.0
    indexing: bool = False
    #: How far the index build is while ``indexing`` (None when unknown).
    indexing_percent: int | None = None
    #: The query's words (as typed; a synonym phrase such as "mapped drive" as one).
    words: list[str] = field(default_factory=list)
    #: No document has all of :attr:`words`: the hits are the documents with some of them.
    some_words_only: bool = False
    #: The words no document has at all.
    unmatched_words: list[str] = field(default_factory=list)
    #: When :attr:`some_words_only`: the most of the words one of the first ten hits has
    #: (0: not known).
    most_words: int = 0

    def indexing_note(self) -> str:
        """What to say about an index build still running, or ""."""
        if not self.indexing:
            return ""
        percent = f" ({self.indexing_percent} %)" if self.indexing_percent is not None else ""
        return f"still indexing{percent}, results so far"

    def some_words_note(self) -> str:
        """What to say when no document has all the words (the hits have some), or ""."""
        if not self.some_words_only or not self.hits:
            return ""
        # what the first hits have: one of the words, more than half of them, or as many as
        # the one with the most has
        count = self.most_words or (1 if len(self.words) == 2 else len(self.words) - 1)
        if count <= 1:
            most = "one of them"
        elif 2 * count > len(self.words):
            most = "most of them"
        else:
            most = f"{count} of them"
        note = f"No document has all of: {' '.join(self.words)}; showing those with {most}"
        if self.unmatched_words:
            verb = "is" if len(self.unmatched_words) == 1 else "are"
            note += f" ({', '.join(self.unmatched_words)} {verb} in none)"
        return note + "."

    def to_dict(self) -> dict[str, Any]:
        return {
            "results": [hit.to_dict() for hit in self.hits],
            "total": self.total,
            "facets": {k: [[v, n] for v, n in values] for k, values in self.facets.items()},
            "suggestion": self.suggestion,
            "elapsed_ms": round(self.elapsed_ms, 2),
            "indexing": self.indexing,
            "indexing_percent": self.indexing_percent,
            "words": list(self.words),
            "some_words_only": self.some_words_only,
            "unmatched_words": list(self.unmatched_words),
            "most_words": self.most_words,
        }
