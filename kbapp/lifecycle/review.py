"""When a document is due for review, and what state its review is in.

Due date = ``review.last_reviewed`` + interval (the document's own ``review.interval_days``,
else the type's default from ``.kb/config.toml``), and never before ``review.due`` when a
document has one (an import schedules first reviews that way; a review clears it). States: ``ok``, ``due`` (within
:data:`DUE_SOON_DAYS`), ``overdue``, ``never`` (never reviewed). Retired documents are not
reviewed (``retired``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from kbapp.config import KbConfig
from kbapp.documents.schema import LIVE_STATUSES
from kbapp.errors import KbError

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

    def when(self) -> str:
        """How far the review is from due, in words: "never reviewed", "75 days overdue",
        "due today", "due in 1 day", "retired: no reviews". The CLI's table and the window's queue say it so."""
        days = self.days_left
        if self.state is ReviewState.RETIRED:
            return "retired: no reviews"
        if days is None:
            return "never reviewed"
        if days == 0:
            return "due today"
        count = f"{abs(days):,} day{'' if abs(days) == 1 else 's'}"
        return f"{count} overdue" if days < 0 else f"due in {count}"


def review_info(
    *,
    doc_type: str,
    status: str,
    last_reviewed: dt.date | None,
    interval_days: int | None,
    config: KbConfig,
    today: dt.date | None = None,
    scheduled: dt.date | None = None,
) -> ReviewInfo:
    today = today or dt.date.today()
    interval = interval_days or config.review_interval(doc_type)
    if status == "retired":
        return ReviewInfo(ReviewState.RETIRED, None, last_reviewed, interval)
    if last_reviewed is None and scheduled is None:
        return ReviewInfo(ReviewState.NEVER, None, None, interval)
    candidates = [d for d in (scheduled,) if d is not None]
    if last_reviewed is not None:
        try:
            candidates.append(last_reviewed + dt.timedelta(days=interval))
        except OverflowError:  # a last review in the year 9999: due after the calendar ends
            candidates.append(dt.date.max)
    due = max(candidates)
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
    :class:`~kbapp.documents.model.Document` (anything with type, status and review fields)."""
    last = getattr(entry, "last_reviewed_date", None)
    if last is None and not hasattr(entry, "last_reviewed_date"):
        last = getattr(entry, "last_reviewed", None)
    interval = getattr(entry, "review_interval", None)
    if interval is None:
        interval = getattr(entry, "review_interval_days", None)
    scheduled = getattr(entry, "review_due_date", None)
    if scheduled is None and not hasattr(entry, "review_due_date"):
        scheduled = getattr(entry, "review_due", None)
    return review_info(
        doc_type=str(getattr(entry, "type", "")),
        status=str(getattr(entry, "status", "")),
        last_reviewed=_date(last),
        interval_days=interval if isinstance(interval, int) else None,
        config=config,
        today=today,
        scheduled=_date(scheduled),
    )


def _date(value: object) -> dt.date | None:
    """A date, or the ISO text a catalog row holds (``2026-01-31``)."""
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


# --------------------------------------------------------------------------- the review queue

#: The order the queue shows states in: what is late first.
_STATE_ORDER = {
    ReviewState.OVERDUE: 0,
    ReviewState.NEVER: 1,
    ReviewState.DUE: 2,
    ReviewState.OK: 3,
    ReviewState.RETIRED: 4,
}


@dataclass(frozen=True)
class ReviewItem:
    """One document in the review queue."""

    doc_id: str
    path: str
    title: str
    type: str
    status: str
    owner_org: str
    owners: tuple[str, ...]
    info: ReviewInfo

    @property
    def state(self) -> ReviewState:
        return self.info.state

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.doc_id,
            "path": self.path,
            "title": self.title,
            "type": self.type,
            "status": self.status,
            "owner_org": self.owner_org,
            "owners": list(self.owners),
            "state": self.info.state.value,
            "due": self.info.due.isoformat() if self.info.due else None,
            "days_left": self.info.days_left,
            "last_reviewed": self.info.last_reviewed.isoformat()
            if self.info.last_reviewed
            else None,
            "interval_days": self.info.interval_days,
        }


def parse_within(text: str) -> int:
    """``30d``, ``6w``, ``3m`` (30-day months) or a plain number of days."""
    match = re.fullmatch(r"\s*(\d+)\s*([dwm]?)\s*", text.lower())
    if not match:
        raise KbError(f"{text!r} is not a period; write it like 30d, 6w or 3m")
    number, unit = int(match.group(1)), match.group(2) or "d"
    return number * {"d": 1, "w": 7, "m": 30}[unit]


#: What :func:`review_queue` reads of each document: ask the catalog for these
#: (``catalog.summaries(REVIEW_COLUMNS)``), light rows instead of whole entries.
REVIEW_COLUMNS = (
    "path",
    "doc_id",
    "title",
    "type",
    "status",
    "owner_org",
    "owners",
    "review_interval",
    "last_reviewed",
    "review_due",
)


def queue_sort_key(item: ReviewItem) -> tuple[int, int, str]:
    days = item.info.days_left if item.info.days_left is not None else 0
    return (_STATE_ORDER[item.state], days, item.title.casefold())


def review_queue(
    entries: Iterable[Any],
    config: KbConfig,
    *,
    today: dt.date | None = None,
    org: str | None = None,
    owner: str | None = None,
    within_days: int | None = DUE_SOON_DAYS,
    include_ok: bool = False,
) -> list[ReviewItem]:
    """Documents to review, most urgent first: overdue (longest overdue first), never reviewed, then
    due within ``within_days`` (None: any time). Published and in-review documents only;
    ``org`` filters on the owning organisation, ``owner`` on an owner's address."""
    today = today or dt.date.today()
    items: list[ReviewItem] = []
    for entry in entries:
        if getattr(entry, "usable", True) is False:
            continue
        if entry.status not in LIVE_STATUSES:
            continue
        if org and entry.owner_org != org:
            continue
        owners = tuple(entry.owners or ())
        if owner and owner.casefold() not in {o.casefold() for o in owners}:
            continue
        info = review_state_of(entry, config, today)
        if info.state is ReviewState.OK and not include_ok:
            if within_days is None or info.days_left is None or info.days_left > within_days:
                continue
        items.append(
            ReviewItem(
                entry.doc_id,
                entry.path,
                entry.title,
                entry.type,
                entry.status,
                entry.owner_org,
                owners,
                info,
            )
        )
    items.sort(key=queue_sort_key)
    return items


def next_review(
    entries: Iterable[Any],
    config: KbConfig,
    *,
    today: dt.date | None = None,
    org: str | None = None,
    owner: str | None = None,
) -> ReviewItem | None:
    """The live document whose review comes first (any time from now), for a queue with
    nothing in it: after an import the first reviews start weeks later."""
    items = review_queue(entries, config, today=today, org=org, owner=owner, include_ok=True)
    dated = [i for i in items if i.info.due is not None]
    return min(dated, key=lambda i: (i.info.due, i.title.casefold())) if dated else None


def nothing_due(within: str, upcoming: ReviewItem | None) -> str:
    """'Nothing to review within 14 days; next: <title>, due in 15 days (2026-12-16).' The
    CLI and the window's queue say it so."""
    nothing = f"Nothing to review within {within}"
    if upcoming is None or upcoming.info.due is None:
        return f"{nothing}."
    return (
        f"{nothing}; next: {upcoming.title}, {upcoming.info.when()} "
        f"({upcoming.info.due.isoformat()})."
    )
