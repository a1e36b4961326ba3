"""Hostile content: whatever another organisation writes, rendering it runs nothing, loads
nothing from the network, finishes in bounded time and never crashes.

The corpus is tests/hostile/*.md (small files, one trick per line) plus generated inputs that
are too large to keep in git (huge tables, deep nesting, 10 MB lines, parser bombs). Every
output is walked with an HTML parser and checked against what the reader can act on.
"""

from __future__ import annotations

import html
import os
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kbapp.documents import model as documents
from kbapp.documents.render import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown
from kbapp.errors import DocumentError

CORPUS = Path(__file__).with_name("hostile")
#: Every input must render within this (generous: the test machine may be busy).
TIME_LIMIT_S = 10.0
SAFE_SCHEMES = ("http:", "https:", "mailto:", "kb:", "copy:", "ticket:")


def _generated() -> dict[str, str]:
    row = "| " + " | ".join("cell" for _ in range(40)) + " |\n"
    return {
        "huge-table": "| "
        + " | ".join(f"h{i}" for i in range(40))
        + " |\n|"
        + "---|" * 40
        + "\n"
        + row * 5000,
        "big-table-still-formatted": "| a | b | c |\n|---|---|---|\n"
        + "| x | [l](https://ok.example) | `c` |\n" * 1500,
        "deep-list": "".join("   " * i + "1. item\n" for i in range(1000)),
        "deep-list-bullets": "".join("  " * i + "- item\n" for i in range(2000)),
        "list-100-deep": "".join("    " * i + "- item\n" for i in range(100)),
        "deep-quote": ">" * 5000 + " deep\n",
        "deep-html": "<div>" * 50000 + "x" + "</div>" * 50000,
        "line-10mb": "x" * 10_000_000,
        "line-10mb-script": ("<script>alert(1)</script>" * 400_000)[:10_000_000],
        "many-lines-no-blank": "# heading\n" * 50_000,
        "unclosed-links": ("[a](" * 2000 + "\n\n") * 100,
        "unclosed-brackets": ("[" * 5000 + "]" * 5000 + "\n\n") * 50,
        "unclosed-code-spans": ("`a " * 3000 + "\n\n") * 100,
        "emphasis-bomb": ("*a **b _c " * 500 + "\n\n") * 300,
        "many-images": "![t](https://tracker.example/p.gif) " * 20_000,
        "many-scripts": "<script>alert(1)</script>\n\n" * 20_000,
        "nul-bytes": "text \x00 more <img src=x onerror=alert(1)> \x00",
        "mixed-newlines": "# A\r\r\n<script>x</script>\r\n\r[l](javascript:x)\r",
    }


def _corpus() -> list[tuple[str, str]]:
    cases = []
    for path in sorted(CORPUS.glob("*.md")):
        if path.name != "README.md":
            cases.append((path.name, path.read_text(encoding="utf-8")))
    cases += list(_generated().items())
    return cases


CASES = _corpus()


class _Checker(HTMLParser):
    """Collects everything in rendered HTML that the reader could execute or fetch."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}>")
        allowed = ALLOWED_ATTRIBUTES["*"] | ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel"}
        for name, value in attrs:
            value = value or ""
            squashed = "".join(html.unescape(value).split()).lower()
            if name not in allowed:
                self.problems.append(f"attribute {name} on <{tag}>")
            if (
                name == "href"
                and ":" in squashed.split("/")[0]
                and not squashed.startswith(SAFE_SCHEMES)
            ):
                self.problems.append(f"link to {value!r}")
            if name == "href" and squashed.startswith("//"):
                self.problems.append(f"protocol-relative link {value!r}")
            if name == "src" and (":" in squashed.split("/")[0] or squashed.startswith("//")):
                self.problems.append(f"remote or inline source {value!r}")
            if any(bad in squashed for bad in ("javascript:", "vbscript:", "data:", "file:")):
                self.problems.append(f"{name}={value!r} on <{tag}>")

    handle_startendtag = handle_starttag


def _render_timed(body: str) -> tuple[str, float]:
    started = time.perf_counter()
    html_out = render_markdown(body).html
    return html_out, time.perf_counter() - started


@pytest.mark.parametrize(("name", "text"), CASES, ids=[name for name, _ in CASES])
def test_hostile_input_renders_safely_and_quickly(name: str, text: str) -> None:
    try:
        body = documents.parse(text.encode("utf-8"), f"hostile/{name}").body
    except DocumentError as exc:  # refused with a message (a binary file): the reader shows
        assert exc.reason and name in str(exc)  # that; the renderer must still be safe
        body = text
    output, elapsed = _render_timed(body)
    assert elapsed < TIME_LIMIT_S, f"{name} took {elapsed:.1f} s"
    checker = _Checker()
    checker.feed(output)
    checker.close()
    assert checker.problems == [], checker.problems[:5]
    _record(name, elapsed)


def test_the_corpus_covers_every_kind_of_attack() -> None:
    names = {name for name, _ in CASES}
    for expected in (
        "scripts.md",
        "links.md",
        "handlers.md",
        "svg.md",
        "frames.md",
        "tracking.md",
        "css.md",
        "billion-laughs.md",
        "huge-table",
        "deep-list",
        "line-10mb",
    ):
        assert expected in names
    assert len(CASES) >= 30


def test_yaml_bombs_and_tags_are_refused_not_expanded() -> None:
    for name in ("billion-laughs.md", "yaml-tags.md", "yaml-deep.md"):  # each refused quickly
        started = time.perf_counter()
        doc = documents.parse((CORPUS / name).read_bytes(), name)
        assert time.perf_counter() - started < 2
        assert doc.front_matter_error is not None, name  # reported, body still readable
        assert doc.title  # from the heading
    assert "aliases" in str(
        documents.parse((CORPUS / "billion-laughs.md").read_bytes(), "b").front_matter_error
    )


def test_formatting_survives_where_it_is_safe() -> None:
    """The limits do not turn ordinary documents into plain text."""
    out = render_markdown(dict(CASES)["big-table-still-formatted"])
    assert not out.plain_text_fallback and out.html.count("<tr>") == 1501
    out = render_markdown(dict(CASES)["list-100-deep"])
    assert not out.plain_text_fallback and out.html.count("<ul>") == 100
    links = render_markdown((CORPUS / "links.md").read_text())
    assert '<a href="https://ok.example" rel="noopener noreferrer nofollow">' in links.html
    code = render_markdown((CORPUS / "code.md").read_text()).html
    assert "alert(1)" in code and "&lt;" in code and "<script" not in code  # text, kept
    tracking = render_markdown((CORPUS / "tracking.md").read_text()).html
    assert tracking.count("remote images are not loaded") >= 3


def test_show_html_from_the_command_line_is_sanitised(kb, cli) -> None:  # type: ignore[no-untyped-def]
    target = kb.root / "hostile.md"
    target.write_text(
        (CORPUS / "handlers.md").read_text()
        + "\nText after.\n\n"
        + (CORPUS / "scripts.md").read_text()
    )
    result = cli("--kb", kb.root, "show", "--html", target)
    assert result.code == 0 and "Text after." in result.out and "hover" in result.out
    checker = _Checker()
    checker.feed(result.out)
    assert checker.problems == []


def _record(name: str, elapsed: float) -> None:
    """With KBAPP_TRUST_FIGURES=FILE, note each input's rendering time there."""
    target = os.environ.get("KBAPP_TRUST_FIGURES")
    if not target:
        return
    import json

    path = Path(target)
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault("hostile_render_s", {})[name] = round(elapsed, 3)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
