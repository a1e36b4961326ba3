"""When a document is due for review, and what state its review is in.

Due date = ``review.last_reviewed`` + interval (the document's own ``review.interval_days``,
else the type's default from ``.kb/config.toml``). States: ``ok``, ``due`` (within
:data:`DUE_SOON_DAYS`), ``overdue``, ``never`` (never reviewed). Retired documents are not
reviewed (``retired``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from kbapp.config import KbConfig

DUE_SOON_DAYS = 14


class ReviewState(str, Enum):
    OK = "ok"
    DUE = "due"
    OVERDUE = "overdue"
    NEVER = "never"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        return {
            "ok": "reviewed",
            "due": "review due soon",
            "overdue": "review overdue",
            "never": "never reviewed",
            "retired": "retired",
        }[self.value]


@dataclass(frozen=True)
class ReviewInfo:
    state: ReviewState
    due: dt.date | None
    last_reviewed: dt.date | None
    interval_days: int
    #: Days until due (negative when overdue), relative to the day it was computed for.
    days_left: int | None = None


def review_info(
    *,
    doc_type: str,
    status: str,
    last_reviewed: dt.date | None,
    interval_days: int | None,
    config: KbConfig,
    today: dt.date | None = None,
) -> ReviewInfo:
    today = today or dt.date.today()
    interval = interval_days or config.review_interval(doc_type)
    if status == "retired":
        return ReviewInfo(ReviewState.RETIRED, None, last_reviewed, interval)
    if last_reviewed is None:
        return ReviewInfo(ReviewState.NEVER, None, None, interval)
    due = last_reviewed + dt.timedelta(days=interval)
    left = (due - today).days
    if left < 0:
        state = ReviewState.OVERDUE
    elif left <= DUE_SOON_DAYS:
        state = ReviewState.DUE
    else:
        state = ReviewState.OK
    return ReviewInfo(state, due, last_reviewed, interval, left)


def review_state_of(entry: object, config: KbConfig, today: dt.date | None = None) -> ReviewInfo:
    """Review info for a catalog :class:`~kbapp.catalog.Entry` or a
    :class:`~kbapp.documents.Document` (anything with type, status and review fields)."""
    last = getattr(entry, "last_reviewed_date", None)
    if last is None and not hasattr(entry, "last_reviewed_date"):
        last = getattr(entry, "last_reviewed", None)
    interval = getattr(entry, "review_interval", None)
    if interval is None:
        interval = getattr(entry, "review_interval_days", None)
    return review_info(
        doc_type=str(getattr(entry, "type", "")),
        status=str(getattr(entry, "status", "")),
        last_reviewed=last if isinstance(last, dt.date) else None,
        interval_days=interval if isinstance(interval, int) else None,
        config=config,
        today=today,
    )
