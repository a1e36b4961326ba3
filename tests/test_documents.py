"""Document model: exact round trip, minimal edits, derived fields, clear errors."""

from __future__ import annotations

import datetime as dt

import pytest

from kbapp.documents import model as documents
from kbapp.documents import schema
from kbapp.errors import DocumentError

FULL = b"""---
id: kb-3f9c2a1e          # stable, unique
title: Fail over the payments database
type: sop
status: published
owner_org: partner
owners:
  - dba-oncall@partner.example
systems:
  - payments-db
tags:
  - failover
  - postgres
custom_key: {nested: [1, 2]}   # unknown keys are kept
review:
  interval_days: 90
  last_reviewed: 2026-10-01
  reviewed_by: ana@internal.example
template: sop/1
---
# Fail over the payments database

## Purpose
Text.
"""


@pytest.mark.parametrize(
    "data",
    [
        FULL,
        FULL.replace(b"\n", b"\r\n"),
        documents.BOM + FULL,
        documents.BOM + FULL.replace(b"\n", b"\r\n"),
        FULL.rstrip(b"\n"),  # no trailing newline
        b"# Just a heading\n\nNo front matter at all.\n",
        b"",
        b"---\n---\nempty front matter\n",
        b"---\ntitle: Hugo page\nweight: 20\n---\n\n# Title\n",
        b"---\ntitle: DocFX\nms.date: 05/25/2020\nms.reviewer: someone\n---\n> [!NOTE]\n> x\n",
        b"+++\ntitle = 'TOML front matter'\n+++\nbody\n",
        b"---\ntitle: ends with dots\n...\nbody\n",
        b"line one\r\nmixed\nendings\r\n",
        b"---\nbroken: [yaml\n---\nbody kept\n",
    ],
)
def test_unchanged_document_round_trips_byte_for_byte(data: bytes) -> None:
    doc = documents.parse(data, "x.md")
    assert not doc.is_modified
    assert documents.serialise(doc) == data


def test_changing_one_field_keeps_comments_order_and_unknown_keys() -> None:
    doc = documents.parse(FULL, "x.md")
    doc.meta["status"] = "retired"
    doc.meta["tags"] = ["failover", "postgres", "dr"]
    out = documents.serialise(doc).decode()
    assert "id: kb-3f9c2a1e          # stable, unique" in out
    assert "custom_key: {nested: [1, 2]}   # unknown keys are kept" in out
    assert "status: retired" in out
    assert "  - dr\n" in out
    assert out.index("title:") < out.index("status:") < out.index("custom_key")
    assert out.endswith("## Purpose\nText.\n")  # body untouched


def test_crlf_and_bom_survive_an_edit() -> None:
    data = documents.BOM + FULL.replace(b"\n", b"\r\n")
    doc = documents.parse(data, "x.md")
    doc.body += "More.\n"
    doc.meta["status"] = "draft"
    out = documents.serialise(doc)
    assert out.startswith(documents.BOM)
    assert b"\n" not in out.replace(b"\r\n", b"")
    assert out.endswith(b"More.\r\n")


def test_adding_front_matter_to_a_plain_file_puts_known_keys_first() -> None:
    doc = documents.parse(b"# Restart the VPN\n\nSteps.\n", "vpn.md")
    assert doc.title == "Restart the VPN"
    doc.meta.update(tags=["vpn"], id="kb-00000001", title=doc.title, type="sop")
    out = documents.serialise(doc).decode()
    assert out.startswith(
        "---\nid: kb-00000001\ntitle: Restart the VPN\ntype: sop\ntags:\n  - vpn\n---\n"
    )
    assert out.endswith("# Restart the VPN\n\nSteps.\n")


def test_fields_and_field_lines() -> None:
    doc = documents.parse(FULL, "x.md")
    assert doc.id == "kb-3f9c2a1e"
    assert doc.type == "sop" and doc.status == "published" and doc.owner_org == "partner"
    assert doc.tags == ["failover", "postgres"]
    assert doc.last_reviewed == dt.date(2026, 10, 1)
    assert doc.review_interval_days == 90
    assert doc.field_lines["status"] == 5
    assert doc.field_lines["review.last_reviewed"] == 17
    assert doc.field_lines["tags[1]"] == 13
    assert doc.body_start_line() == 21


def test_documents_without_front_matter_derive_what_is_needed() -> None:
    doc = documents.parse(
        b"Intro\n\n## Symptoms\nx\n## Cause\ny\n## Resolution\nz\n", "a/disk-full.md"
    )
    assert doc.title == "Disk full"
    assert doc.type == "troubleshooting"
    assert doc.status == "draft"
    assert doc.id == documents.derived_id("a/disk-full.md")
    assert schema.ID_RE.match(doc.id)


def test_hugo_and_docfx_front_matter_load() -> None:
    hugo = documents.parse(
        b"---\ntitle: Alertmanager Down\nweight: 20\n---\n# AlertmanagerDown\n## Meaning\n## Impact\n",
        "h.md",
    )
    assert hugo.title == "Alertmanager Down" and hugo.type == "runbook"
    docfx = documents.parse(b"---\ntitle: T\nms.date: 05/25/2020\nkeywords: a, b\n---\nx", "d.md")
    assert docfx.meta["ms.date"] == "05/25/2020" and docfx.tags == ["a", "b"]


def test_guess_type_from_headings() -> None:
    assert (
        documents.guess_type("## Meaning\n## Impact\n## Diagnosis\n## Mitigation\n")[0] == "runbook"
    )
    assert documents.guess_type("## Symptoms\n## Cause\n## Resolution\n")[0] == "troubleshooting"
    assert documents.guess_type("## Workaround\n")[0] == "known-error"
    kind, reason = documents.guess_type("nothing here")
    assert kind == "troubleshooting" and "default" in reason


def test_headings_ignore_code_blocks() -> None:
    doc = documents.parse(b"# Title\n```bash\n# not a heading\n```\n## Real\n", "x.md")
    assert [(h.level, h.text) for h in doc.headings()] == [(1, "Title"), (2, "Real")]


def test_fenced_code_lines_follow_commonmark() -> None:
    from kbapp.documents import mdlines

    body = (
        "a\n````md\n```\nstill code\n~~~\n````\n# b\n  ~~~\n~~~~~ x\n  ~~~~\n"
        "text [[kb-0000000a]]\n```\nunclosed"
    )
    kinds = [(n, k) for n, _line, k in mdlines.lines(body)]
    assert kinds == [
        (1, "text"),
        (2, "fence"),
        (3, "code"),
        (4, "code"),
        (5, "code"),
        (6, "fence"),
        (7, "text"),
        (8, "fence"),
        (9, "code"),
        (10, "fence"),
        (11, "text"),
        (12, "fence"),
        (13, "code"),
    ]
    # the same rule for headings, links and the index's code field
    doc = documents.parse(("---\ntitle: t\n---\n" + body).encode(), "x.md")
    assert [h.text for h in doc.headings()] == ["b"]
    from kbapp.documents.links import extract_links
    from kbapp.search.schema import split_code

    assert [link.target for link in extract_links(body)] == ["kb-0000000a"]
    prose, code = split_code(body)
    assert prose.split("\n") == ["a", "# b", "text [[kb-0000000a]]"] and "unclosed" in code


def test_fences_inside_list_items_are_fences_as_the_reader_renders_them() -> None:
    from kbapp.documents import mdlines
    from kbapp.documents.render import render_markdown

    body = (
        "10. Restart:\n\n    ```bash\n    # not a heading\n    ```\n"
        "- a\n    - b\n\n        ~~~\n        # nor this\n        ~~~\n"
        "Back at the margin.\n\n    ```\n    indented code, not a fence\n"
    )
    kinds = [k for _, _, k in mdlines.lines(body)]
    assert kinds[2:5] == ["fence", "code", "fence"]
    assert kinds[8:11] == ["fence", "code", "fence"]
    assert kinds[11:] == ["text", "text", "text", "text", "text"]
    assert "not a heading</span>" in render_markdown(body).html  # the renderer agrees
    doc = documents.parse(("---\ntitle: t\n---\n" + body).encode(), "x.md")
    assert doc.headings() == []
    # one line at a time, the state kept as a number (the editor's highlighter)
    state = mdlines.State.unpack(-1)
    for line, (_n, _line, expected) in zip(body.split("\n"), mdlines.lines(body)):
        kind, state = mdlines.step(state, line)
        assert kind == expected
        assert mdlines.State.unpack(state.pack()) == state
    assert mdlines.without_fences("a\n```sh\nls\n```\nb") == "a\n\nls\n\nb"


def test_broken_yaml_keeps_the_body_and_says_where() -> None:
    doc = documents.parse(b"---\ntitle: ok\ntags: [unclosed\n---\n# Body\n", "b.md")
    assert doc.front_matter_error is not None
    assert doc.front_matter_error.line in (3, 4)
    assert "not valid YAML" in str(doc.front_matter_error)
    assert doc.body == "# Body\n"
    doc.meta["title"] = "new"
    with pytest.raises(DocumentError, match="fix the YAML first"):
        documents.serialise(doc)


def test_front_matter_that_is_not_a_mapping() -> None:
    doc = documents.parse(b"---\n- a\n- b\n---\nbody\n", "l.md")
    assert "not a list" in str(doc.front_matter_error)


def test_billion_laughs_is_refused() -> None:
    bomb = b"---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b]\n---\n"
    doc = documents.parse(bomb, "bomb.md")
    assert "aliases" in str(doc.front_matter_error)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary file"),
        (b"caf\xe9 latin-1", "not UTF-8"),
    ],
)
def test_what_is_not_a_text_document_gets_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(DocumentError, match=message) as info:
        documents.parse(data, "bad.md")
    assert str(info.value).startswith("bad.md")


def test_huge_file_is_refused_before_reading(tmp_path) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "big.md"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(DocumentError, match="50 MB"):
        documents.load(big, "big.md")


def test_write_is_atomic_and_leaves_no_temporaries(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "d.md"
    path.write_bytes(FULL)
    doc = documents.load(path, "d.md")
    doc.meta["status"] = "draft"
    documents.write(doc, path)
    assert b"status: draft" in path.read_bytes()
    assert not doc.is_modified
    assert [p.name for p in tmp_path.iterdir()] == ["d.md"]


def test_new_ids_look_right() -> None:
    ids = {documents.new_id() for _ in range(200)}
    assert len(ids) == 200 and all(schema.ID_RE.match(i) for i in ids)


def test_conflict_markers_inside_fenced_code_are_text() -> None:
    """The commit policy asks mdlines, the one place that knows fences, whether a conflict
    marker is inside code: a ```` fence is not closed by a shorter ``` one."""
    from kbapp.trust.policy import conflict_marker_line

    block = "<<<<<<< ours\nmine\n=======\ntheirs\n>>>>>>> theirs\n"
    assert conflict_marker_line("# Doc\n\n" + block) == 3
    assert conflict_marker_line("# Doc\n\n```text\n" + block + "```\n") is None
    assert conflict_marker_line("````md\n```\n```\n" + block + "````\n") is None
    assert conflict_marker_line("```\ncode\n```\n" + block) == 4


def test_same_title_sets_aside_case_punctuation_quotes_and_markup() -> None:
    # Pairs of a front matter title and the body's own heading met in imported articles.
    assert documents.same_title(
        '"Access is denied" error and SQL Server doesn\'t start',
        "Access is denied error and SQL Server doesn't start",
    )
    assert documents.same_title(
        "Active Directory replication Event ID 2042: It has been too long",
        "Active Directory replication Event ID 2042 (It has been too long)",
    )
    assert documents.same_title("How to Turn on **Debug** Logging", "How to turn on debug logging")
    assert documents.same_title("Salt &amp; pepper", "Salt & pepper")
    assert not documents.same_title(
        "Error message when you deploy an SSIS package to a different server",
        "SSIS package fails to use DQS Cleansing Component",
    )
    assert not documents.same_title("", "")
    assert not documents.same_title("Reset the VPN", "Reset the VPN token")


def test_leading_title_is_the_heading_the_body_starts_with() -> None:
    assert documents.leading_title("\n# Fail over\n\nText\n") == ("Fail over", "Text\n")
    assert documents.leading_title("Fail over\n=========\n\n## Steps\n") == (
        "Fail over",
        "## Steps\n",
    )
    assert documents.leading_title("Intro first\n\n# Fail over\n") is None
    assert documents.leading_title("## Steps\n") is None
    assert documents.leading_title("```\n# not a heading\n```\n") is None
    assert documents.leading_title("") is None


def test_a_headings_plain_text_is_the_three_substitutions() -> None:
    """``_plain_heading`` skips the patterns whose first characters a heading lacks and
    drops emphasis marks with ``str.translate``: the same text as the three substitutions
    it stands for, on random headings of the characters that matter."""
    import random
    import re

    from kbapp.documents.model import _plain_heading

    def substituted(text: str) -> str:
        text = re.sub(r"\{#[^}]*\}\s*$", "", text)
        text = re.sub(r"[*_`]", "", text)
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
        return text.strip()

    chooser = random.Random(15)
    for _ in range(50_000):
        text = "".join(chooser.choices("a{#}[]()*_` \t\nx", k=chooser.randint(0, 25)))
        assert _plain_heading(text) == substituted(text), text
    assert _plain_heading("**Run** [the `tool`](x.md) {#run}") == "Run the tool"
