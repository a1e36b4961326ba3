"""Property-based tests (hypothesis) of the merge driver (kbapp.mergedriver, from the sync work).

Both sides start from one base document and edit it at random (tags, owners, status, review,
title, body lines). Whatever they do:

- merging is symmetric where the rules say it should be: the same list items whichever side is
  "mine", the same status and review date, the same clean/conflicting verdict;
- no list item either side added is lost, and no item both sides kept is dropped;
- the two candidates sync commits and offers (``mine``/``theirs``) never hold a conflict marker,
  and a clean merge's text has none either; both candidates read back as valid documents.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kbapp.documents import model as documents
from kbapp.documents.schema import STATUS_RANK
from kbapp.sync.mergedriver import merge, merge_lists, merge_meta
from kbapp.trust.policy import conflict_marker_line

EXAMPLES = int(os.environ.get("KBAPP_FUZZ_EXAMPLES", "60"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_items = st.sampled_from(["failover", "postgres", "dns", "k8s", "backup", "tls", "vpn", "ldap"])
_item_lists = st.lists(_items, unique=True, max_size=5)
_lines = st.sampled_from(
    [
        "Stop writes.",
        "Promote the replica.",
        "Check lag.",
        "## Steps",
        "## Verification",
        "",
        "1. Restart.",
        "Run the smoke test.",
        "Note.",
    ]
)
_dates = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2026, 12, 31))


@st.composite
def _base(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    meta: dict[str, Any] = {
        "id": "kb-3f9c2a1e",
        "title": "Fail over",
        "type": "sop",
        "status": draw(st.sampled_from(sorted(STATUS_RANK))),
        "tags": draw(_item_lists),
        "owners": draw(
            st.lists(
                st.sampled_from(["ana@x.example", "pat@y.example", "li@x.example"]),
                unique=True,
                max_size=3,
            )
        ),
        "review": {
            "interval_days": 90,
            "last_reviewed": draw(_dates),
            "reviewed_by": "ana@x.example",
        },
    }
    return meta, draw(st.lists(_lines, min_size=1, max_size=8))


@st.composite
def _edited(
    draw: st.DrawFn, base: tuple[dict[str, Any], list[str]], who: str
) -> tuple[dict[str, Any], list[str]]:
    meta = {
        k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
        for k, v in base[0].items()
    }
    if draw(st.booleans()):
        meta["tags"] = [t for t in meta["tags"] if draw(st.booleans())] + draw(_item_lists)
        meta["tags"] = list(dict.fromkeys(meta["tags"]))
    if draw(st.booleans()):
        meta["owners"] = list(dict.fromkeys(meta["owners"] + [f"{who}@z.example"]))
    if draw(st.booleans()):
        meta["status"] = draw(st.sampled_from(sorted(STATUS_RANK)))
    if draw(st.booleans()):
        meta["review"] = dict(
            meta["review"], last_reviewed=draw(_dates), reviewed_by=f"{who}@z.example"
        )
    if draw(st.booleans()):
        meta["title"] = f"Fail over ({who})"
    body = list(base[1])
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(body)))
        action = draw(st.sampled_from(["insert", "delete", "change"]))
        if action == "insert" or not body:
            body.insert(position, draw(_lines) + f" ({who})")
        elif action == "delete":
            del body[min(position, len(body) - 1)]
        else:
            body[min(position, len(body) - 1)] = draw(_lines) + f" [{who}]"
    return meta, body


def _data(meta: dict[str, Any], body: list[str]) -> bytes:
    return documents.serialise(documents.Document("x.md", dict(meta), "\n".join(body) + "\n"))


@st.composite
def _three(draw: st.DrawFn) -> tuple[tuple[dict[str, Any], list[str]], ...]:
    base = draw(_base())
    return base, draw(_edited(base, "mine")), draw(_edited(base, "theirs"))


@SETTINGS
@given(_item_lists, _item_lists, _item_lists)
def test_list_merge_keeps_every_addition_and_is_symmetric(
    base: list[str], mine: list[str], theirs: list[str]
) -> None:
    merged = merge_lists(base, mine, theirs)
    for item in set(mine) | set(theirs):
        if item not in base or (item in mine and item in theirs):
            assert item in merged, (item, base, mine, theirs, merged)
    for item in merged:
        assert item in mine or item in theirs
    assert sorted(merged) == sorted(merge_lists(base, theirs, mine))
    assert len(merged) == len(set(merged))


@SETTINGS
@given(_three())
def test_front_matter_merge_is_symmetric_and_loses_no_list_item(three: Any) -> None:
    (base, _), (mine, _), (theirs, _) = three
    one_mine, one_theirs, conflicts = merge_meta(base, mine, theirs)
    two_mine, _two_theirs, conflicts_swapped = merge_meta(base, theirs, mine)
    assert sorted(conflicts) == sorted(conflicts_swapped)
    for name in ("tags", "owners"):
        assert sorted(one_mine[name]) == sorted(two_mine[name])
        added = (set(mine[name]) | set(theirs[name])) - set(base[name])
        kept = set(mine[name]) & set(theirs[name])
        assert added | kept <= set(one_mine[name])
    assert one_mine["status"] == two_mine["status"]
    assert one_mine["review"]["last_reviewed"] == two_mine["review"]["last_reviewed"]
    # A field one side changed takes that side; changed on both: the rule of its meaning.
    statuses = [s["status"] for s in (mine, theirs) if s["status"] != base["status"]]
    if len(statuses) == 2:
        assert one_mine["status"] == max(statuses, key=STATUS_RANK.__getitem__)
    dates = [
        s["review"]["last_reviewed"]
        for s in (mine, theirs)
        if s["review"]["last_reviewed"] != base["review"]["last_reviewed"]
    ]
    expected = max(dates) if dates else base["review"]["last_reviewed"]
    if len(dates) == 1:
        expected = dates[0]
    assert one_mine["review"]["last_reviewed"] == expected
    if not conflicts:
        assert one_mine == one_theirs


@settings(
    max_examples=max(20, EXAMPLES // 2),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_three())
def test_whole_document_merge_never_emits_a_marker_in_what_sync_commits(three: Any) -> None:
    (base, base_body), (mine, mine_body), (theirs, theirs_body) = three
    result = merge(
        _data(base, base_body), _data(mine, mine_body), _data(theirs, theirs_body), "x.md"
    )
    event("conflict: " + ",".join(result.conflicts) if result.conflicts else "clean")
    for candidate in (result.mine, result.theirs):
        assert conflict_marker_line(candidate.decode("utf-8")) is None
        doc = documents.parse(candidate, "x.md")
        assert doc.front_matter_error is None
        for item in (set(mine["tags"]) | set(theirs["tags"])) - set(base["tags"]):
            assert item in doc.meta["tags"]
    if result.clean:
        assert result.text == result.mine == result.theirs
        assert conflict_marker_line(result.text.decode("utf-8")) is None
    swapped = merge(
        _data(base, base_body), _data(theirs, theirs_body), _data(mine, mine_body), "x.md"
    )
    assert swapped.clean == result.clean
