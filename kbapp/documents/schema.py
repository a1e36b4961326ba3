"""The document schema: every front matter field kbapp knows, described once.

Each :class:`Field` says what a field is called, what it holds (a Python type), whether lint
wants it present, what a document without it counts as, which values it may take, where it
goes when kbapp writes it (its place in :data:`FIELDS` is its place in the file), how the
merge driver merges two changes to it, which catalog column keeps it and whether the metadata
form edits it. The readers:

- :mod:`kbapp.documents.model`: defaults (a document without ``status`` is a draft);
- :mod:`kbapp.documents.frontmatter` and :mod:`kbapp.documents.templates`: :data:`ORDER`;
- :mod:`kbapp.documents.lint` and :mod:`kbapp.trust.policy`: :meth:`Field.problem`, presence;
- :mod:`kbapp.sync.mergedriver`: :attr:`Field.merge`, :data:`STATUS_RANK`;
- :mod:`kbapp.catalog`: :attr:`Field.catalog`, :attr:`Field.attribute`;
- the command line and the metadata form: :data:`STATUSES`, :data:`SENSITIVITIES`, labels.

docs/format.md's field table and the standard templates are checked against it
(``tests/test_schema.py``). Unknown keys are not described here: kbapp keeps them untouched.
Vocabularies that belong to a knowledge base rather than to kbapp (document types come from
its templates, organisations from ``.kb/config.toml``) are named by :attr:`Field.vocabulary`.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kbapp.config import MAX_INTERVAL_DAYS, SENSITIVITIES, valid_interval

#: A document id: ``kb-`` and 8 hex digits. Stable: the file may be renamed or moved.
ID_RE = re.compile(r"^kb-[0-9a-f]{8}$")

#: Where a document is in its life, in the order a writer moves it along.
STATUSES = ("draft", "in-review", "published", "retired")
#: Statuses of documents in use: reviewed on schedule, counted as live in the matrix.
LIVE_STATUSES = ("published", "in-review")
#: How conservative a status is: a merge keeps the more conservative of two changed statuses
#: (withdrawing a document or sending it back to review is never undone by a merge).
STATUS_RANK = {"published": 0, "in-review": 1, "draft": 2, "retired": 3}

ERROR = "error"
WARNING = "warning"


class Merge(enum.Enum):
    """How the merge driver combines a field that both sides changed differently.

    Whatever a field is declared as, a YAML list merges as :attr:`SET` and a mapping as
    :attr:`MAP` (so unknown keys merge as well as known ones); the rules for single values
    below apply when both sides hold one."""

    SCALAR = "scalar"  # a conflict on the field, for the user to settle
    SET = "set"  # union in order (mine, then what theirs added), minus what either removed
    MAP = "map"  # key by key, each by its own rule
    LATER = "later"  # dates: the later one
    EARLIER = "earlier"  # dates: the earlier one
    CONSERVATIVE = "conservative"  # the higher rank in STATUS_RANK
    FOLLOWS_REVIEW = "follows review"  # whoever made the later review.last_reviewed


@dataclass(frozen=True)
class Field:
    """One front matter field. Nested fields are named with dots (``review.interval_days``)."""

    name: str
    #: What the value is: str, int, list, dict or datetime.date.
    value_type: type
    label: str
    #: What a list holds (str or dict); None for other types.
    items: type | None = None
    #: What a document without the field counts as (None: nothing).
    default: Any = None
    #: How lint reports the field missing: "error", "warning" or "" (optional).
    required: str = ""
    #: The values it may take, when kbapp fixes them.
    allowed: tuple[str, ...] = ()
    #: Where its values come from when the knowledge base decides: "templates" (the document
    #: types), "organisations" (``.kb/config.toml``), "parties" (organisations or people's
    #: e-mail addresses), "ids" (other documents).
    vocabulary: str = ""
    merge: Merge = Merge.SCALAR
    #: The catalog column that keeps it ("" = only in the catalog's copy of all front matter).
    catalog: str = ""
    #: The :class:`~kbapp.documents.model.Document` property that reads it (default applied).
    attribute: str = ""
    #: The server refuses a push where the field holds something it cannot take.
    checked_on_push: bool = False
    #: The editor's metadata form edits it.
    form: bool = False
    #: Other keys the same information is read from (written by other tools).
    aliases: tuple[str, ...] = ()
    #: A valid value, when that is more than its type and vocabulary say.
    valid: Callable[[Any], bool] | None = None
    #: What is wrong with a value that is not valid ("is not an id like kb-3f9c2a1e").
    expected: str = ""

    @property
    def top(self) -> str:
        """The top-level key the field is written under (``review`` for review.due)."""
        return self.name.split(".", 1)[0]

    @property
    def key(self) -> str:
        """Its own key inside its parent mapping (``due`` for review.due)."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def is_text_list(self) -> bool:
        """A list of plain values, written one item per line."""
        return self.value_type is list and self.items is str

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` for this field, or None when it is fine."""
        if self.allowed:
            return None if value in self.allowed else self.expected or self._not_one_of()
        if self.valid is not None:
            return None if self.valid(value) else self.expected
        return None

    def _not_one_of(self) -> str:
        if len(self.allowed) == 2:
            return f"is not {self.allowed[0]!r} or {self.allowed[1]!r}"
        return f"is not one of {', '.join(self.allowed)}"


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(ID_RE.match(value))


def as_date(value: Any) -> dt.date | None:
    """A date field's value as a date (YAML gives dates, hand-written text gives strings)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _is_date(value: Any) -> bool:
    return as_date(value) is not None


def _raci(name: str, label: str) -> Field:
    return Field(name, list, label, items=str, merge=Merge.SET, vocabulary="parties")


#: Every field kbapp knows, in the order kbapp writes them; unknown keys follow, in their order.
FIELDS: tuple[Field, ...] = (
    Field(
        "id",
        str,
        "Id",
        required=ERROR,
        catalog="doc_id",
        attribute="id",
        checked_on_push=True,
        valid=_is_id,
        expected="is not an id like kb-3f9c2a1e",
    ),
    Field(
        "title",
        str,
        "Title",
        required=WARNING,
        catalog="title",
        attribute="title",
        form=True,
    ),
    Field(
        "type",
        str,
        "Type",
        required=ERROR,
        vocabulary="templates",
        catalog="type",
        attribute="type",
        form=True,
    ),
    Field(
        "status",
        str,
        "Status",
        default="draft",
        required=WARNING,
        allowed=STATUSES,
        merge=Merge.CONSERVATIVE,
        catalog="status",
        attribute="status",
        checked_on_push=True,
        form=True,
    ),
    Field(
        "owner_org",
        str,
        "Organisation",
        default="",
        required=WARNING,
        vocabulary="organisations",
        catalog="owner_org",
        attribute="owner_org",
        form=True,
    ),
    Field(
        "owners",
        list,
        "Owners",
        items=str,
        merge=Merge.SET,
        catalog="owners",
        attribute="owners",
        form=True,
    ),
    Field(
        "systems",
        list,
        "Systems",
        items=str,
        merge=Merge.SET,
        catalog="systems",
        attribute="systems",
        form=True,
    ),
    Field(
        "tags",
        list,
        "Tags",
        items=str,
        merge=Merge.SET,
        catalog="tags",
        attribute="tags",
        form=True,
        aliases=("keywords",),
    ),
    Field(
        "sensitivity",
        str,
        "Sensitivity",
        default="shared",
        allowed=SENSITIVITIES,
        catalog="sensitivity",
        attribute="sensitivity",
        checked_on_push=True,
        form=True,
    ),
    Field(
        "review",
        dict,
        "Review",
        merge=Merge.MAP,
        checked_on_push=True,
        valid=lambda value: isinstance(value, dict),
        expected="must hold interval_days, last_reviewed, reviewed_by",
    ),
    Field(
        "review.interval_days",
        int,
        "Review every",
        catalog="review_interval",
        attribute="review_interval_days",
        checked_on_push=True,
        form=True,
        valid=valid_interval,
        expected=f"is not a number of days between 1 and {MAX_INTERVAL_DAYS}",
    ),
    Field(
        "review.last_reviewed",
        dt.date,
        "Last reviewed",
        merge=Merge.LATER,
        catalog="last_reviewed",
        attribute="last_reviewed",
        valid=_is_date,
        expected="is not a date (YYYY-MM-DD)",
    ),
    Field(
        "review.reviewed_by",
        str,
        "Reviewed by",
        merge=Merge.FOLLOWS_REVIEW,
        catalog="reviewed_by",
        attribute="reviewed_by",
    ),
    Field(
        "review.due",
        dt.date,
        "Review due",
        catalog="review_due",
        attribute="review_due",
        valid=_is_date,
        expected="is not a date (YYYY-MM-DD)",
    ),
    Field(
        "incidents",
        list,
        "Incidents",
        items=str,
        merge=Merge.SET,
        catalog="incidents",
        attribute="incidents",
        form=True,
    ),
    Field(
        "related",
        list,
        "Related",
        items=str,
        vocabulary="ids",
        merge=Merge.SET,
        catalog="related",
        attribute="related",
    ),
    _raci("responsible", "Responsible"),
    _raci("accountable", "Accountable"),
    _raci("consulted", "Consulted"),
    _raci("informed", "Informed"),
    Field("escalation", list, "Escalation", items=dict, merge=Merge.SET),
    Field("handover", dict, "Handover", merge=Merge.MAP),
    Field("handover.from", str, "Handed over by", vocabulary="organisations"),
    Field("handover.to", str, "Handed over to", vocabulary="organisations"),
    Field(
        "handover.started",
        dt.date,
        "Handover started",
        merge=Merge.EARLIER,
        valid=_is_date,
        expected="is not a date (YYYY-MM-DD)",
    ),
    Field("handover.steps", list, "Handover steps", items=dict, merge=Merge.SET),
    Field("template", str, "Template", default="", catalog="template", attribute="template"),
)

#: Field by (dotted) name.
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
#: The top-level keys in the order kbapp writes them.
ORDER: tuple[str, ...] = tuple(f.name for f in FIELDS if "." not in f.name)
#: Top-level fields that hold a list of plain values (one item per line).
TEXT_LIST_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.is_text_list)
#: Who does what (co-sourcing): the four RACI lists, in order.
RACI_FIELDS: tuple[str, ...] = ("responsible", "accountable", "consulted", "informed")
#: The fields the editor's metadata form edits, in the order they are written.
FORM_FIELDS: tuple[Field, ...] = tuple(f for f in FIELDS if f.form)
#: Fields the catalog keeps in columns of their own.
CATALOGUED: tuple[Field, ...] = tuple(f for f in FIELDS if f.catalog)


def field(name: str) -> Field:
    """The field called ``name`` (dotted below a mapping); KeyError for one kbapp does not know."""
    return BY_NAME[name]


def default(name: str) -> Any:
    """What a document without field ``name`` counts as."""
    return BY_NAME[name].default


def merge_rule(name: str) -> Merge:
    """How the merge driver merges field ``name``; an unknown field's change is a conflict."""
    known = BY_NAME.get(name)
    return known.merge if known is not None else Merge.SCALAR


def rank(key: str) -> int:
    """Where top-level key ``key`` goes when written: its place in :data:`ORDER`, unknown keys
    after every known one."""
    try:
        return ORDER.index(key)
    except ValueError:
        return len(ORDER)


def value_at(meta: dict[str, Any], name: str) -> Any:
    """The value of dotted field ``name`` in ``meta``, None when absent (or not below a map)."""
    value: Any = meta
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
