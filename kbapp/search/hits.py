"""Search hits as the result list shows them: stored fields, review state and snippets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kbapp.lifecycle.review import review_info
from kbapp.search.results import SearchHit
from kbapp.search.schema import SNIPPET_FIELD
from kbapp.search.snippets import Highlighter


class SnippetTexts:
    """The readable text of documents, stored (compressed) in the index when they were
    indexed: a hit's snippets need no read and no clean-up of its whole file. The column
    reader is kept until the searcher changes."""

    def __init__(self) -> None:
        self._column: tuple[Any, Any] | None = None

    def forget(self) -> None:
        """Let go of the searcher's runner and column (its readers are being closed)."""
        self._column = None

    def texts(self, runner: Any, docnums: list[int]) -> list[str]:
        if not docnums:
            return []
        column = self._column
        if column is None or column[0] is not runner:
            reader = runner.reader
            found = (
                reader.column_reader(SNIPPET_FIELD) if reader.has_column(SNIPPET_FIELD) else None
            )
            column = self._column = (runner, found)
        if column[1] is None:
            return [""] * len(docnums)
        return [bytes(column[1][d]).decode("utf-8", "replace") for d in docnums]


def make_hits(
    outcome: Any, stored: list[dict[str, Any]], texts: list[str], config: Any, kb_path: str
) -> list[SearchHit]:
    """The hits of ``outcome`` (ranked document numbers and scores) from their ``stored``
    fields; the first ``len(texts)`` get highlighted fragments of their text."""
    highlighter = Highlighter(
        outcome.highlight_terms, outcome.highlight_prefix, outcome.highlight_phrases
    )
    hits = []
    for number, ((_docnum, score), fields_) in enumerate(zip(outcome.ranked, stored)):
        review = fields_.get("review") or (None, None, "", None)
        last = review[0]
        due = review[3] if len(review) > 3 else None  # stored before review.due existed
        info = review_info(
            doc_type=fields_.get("type", ""),
            status=fields_.get("status", ""),
            last_reviewed=dt.date.fromisoformat(last) if last else None,
            interval_days=review[1],
            config=config,
            scheduled=dt.date.fromisoformat(due) if due else None,
        )
        hit = SearchHit(
            id=fields_.get("doc_id", ""),
            path=fields_.get("path", ""),
            title=fields_.get("title", ""),
            type=fields_.get("type", ""),
            status=fields_.get("status", ""),
            owner_org=fields_.get("owner_org", ""),
            review_state=info.state.value,
            score=score,
            kb=config.name,
            kb_path=kb_path,
        )
        if number < len(texts):
            hit.snippets = highlighter.fragments(texts[number])
        hits.append(hit)
    return hits
