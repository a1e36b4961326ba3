"""Property-based tests (hypothesis) of the front matter parser and writer.

- parsing never fails with anything but a clear DocumentError, whatever the bytes;
- an unchanged document is written back byte for byte;
- whatever front matter kbapp writes (new, or patched into an existing block) reads back as
  exactly the data that was written, with the body untouched.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbapp.documents import model as documents
from kbapp.errors import DocumentError

#: KBAPP_FUZZ_EXAMPLES raises the count for a longer fuzzing run (docs/benchmarks.md).
EXAMPLES = int(os.environ.get("KBAPP_FUZZ_EXAMPLES", "150"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
_key = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
_scalar = st.one_of(
    _text,
    st.integers(min_value=-(10**12), max_value=10**12),
    st.booleans(),
    st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2200, 12, 31)),
    st.none(),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_key, inner, max_size=3)),
    max_leaves=8,
)
_meta = st.dictionaries(_key, _value, max_size=6)
_body = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=200
)

# Text that looks like Markdown with front matter, to reach deep into the parser.
_yamlish = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "---",
                "...",
                "+++",
                "- item",
                "  - nested",
                "key: value",
                "a: [1, 2",
                "b: {c: d}",
                "&anchor x",
                "*anchor",
                "!!python/object:os.system",
                "? complex",
                "date: 2026-02-30",
                "\t",
                "'quoted",
                '"dq',
                "|",
                ">",
                "# comment",
                "",
            ]
        ),
        _text,
    ),
    max_size=12,
).map("\n".join)


def _plain(value: Any) -> Any:
    """What a value reads back as (dates stay dates; tuples are lists)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@SETTINGS
@given(st.binary(max_size=400))
def test_any_bytes_parse_or_fail_with_a_clear_error(data: bytes) -> None:
    try:
        doc = documents.parse(data, "fuzz.md")
    except DocumentError as exc:
        assert exc.reason
        return
    assert documents.serialise(doc) == data  # unchanged: the same bytes


@SETTINGS
@given(_yamlish, _body, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_front_matter_like_text_round_trips_byte_for_byte(
    front: str, body: str, newline: str, bom: bool
) -> None:
    text = f"---{newline}{front.replace(chr(10), newline)}{newline}---{newline}{body}"
    data = (documents.BOM if bom else b"") + text.encode("utf-8")
    doc = documents.parse(data, "fuzz.md")
    assert documents.serialise(doc) == data
    if doc.front_matter_error is None:
        assert isinstance(doc.meta, dict)
    _ = (
        doc.title,
        doc.type,
        doc.status,
        doc.tags,
        doc.owners,
        doc.review,
        doc.last_reviewed,
        doc.headings(),
        doc.related,
        doc.review_interval_days,
    )  # properties never raise


@SETTINGS
@given(_meta, _body)
def test_new_front_matter_reads_back_as_written(meta: dict[str, Any], body: str) -> None:
    doc = documents.Document("fuzz.md", meta=dict(meta), body=body)
    data = documents.serialise(doc)
    again = documents.parse(data, "fuzz.md")
    assert again.front_matter_error is None, data
    assert again.meta == _plain(meta)
    assert again.body == body


@SETTINGS
@given(_meta, _meta, st.lists(_key, max_size=3), _body)
def test_patched_front_matter_reads_back_as_the_new_data(
    original: dict[str, Any], changes: dict[str, Any], removed: list[str], body: str
) -> None:
    start = documents.parse(
        documents.serialise(documents.Document("f.md", dict(original), body)), "f.md"
    )
    edited = documents.parse(documents.serialise(start), "f.md")
    for key in removed:
        edited.meta.pop(key, None)
    edited.meta.update(changes)
    expected = _plain(edited.meta)
    data = documents.serialise(edited)
    again = documents.parse(data, "f.md")
    assert again.front_matter_error is None, data
    assert again.meta == expected
    assert again.body == body
