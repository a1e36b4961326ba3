"""Markdown -> safe HTML for the reader, ``kbapp show --html`` and reports.

Documents come from another organisation, so rendering treats them as untrusted: Python-Markdown
turns them into HTML, then nh3 (ammonia) keeps only an allow-list of tags and attributes. No
script, no event handlers, no style attributes, no iframes/objects/SVG, links only to
http(s)/mailto and kbapp's own ``kb:`` / ``copy:`` schemes, images only from relative paths
(remote images are replaced by a note, since loading them would tell a tracker who read what).
Oversized input is shown as plain text instead of being parsed.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import markdown
import nh3
from pygments.formatters import HtmlFormatter

from kbapp.mdext import AlertExtension, TaskListExtension, WikiLinkExtension, WikiResolver

#: Bodies larger than this, or with a longer line, are shown as plain text (no parsing).
MAX_RENDER_CHARS = 2_000_000
MAX_RENDER_LINE = 50_000

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div",
    "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
    "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
}
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto", "kb", "copy", "ticket"}

_SCHEME_RE = re.compile(r"^\s*[a-zA-Z][a-zA-Z0-9+.-]*:|^\s*//")
_PRE_RE = re.compile(r"<pre\b[^>]*>(.*?)</pre>", re.S)
_TAG_RE = re.compile(r"<[^>]+>")
_IMG_NO_SRC_RE = re.compile(r"<img(?![^>]*\ssrc=)([^>]*)>")
_ALT_RE = re.compile(r'\salt="([^"]*)"')
_HEADING_RE = re.compile(r'<h([1-6]) id="([^"]+)">(.*?)</h\1>', re.S)


@dataclass
class TocEntry:
    level: int
    title: str
    anchor: str


@dataclass
class Rendered:
    html: str
    toc: list[TocEntry] = field(default_factory=list)
    code_blocks: list[str] = field(default_factory=list)
    task_count: int = 0
    plain_text_fallback: bool = False


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and _SCHEME_RE.match(value):
        return None  # remote (or data:/file:) image: never fetched
    if attribute == "class":
        # Only kbapp's own class names (and Pygments' short ones) survive: no page-wide tricks.
        kept = [c for c in value.split() if re.fullmatch(r"[a-zA-Z][\w-]{0,40}", c)]
        return " ".join(kept) or None
    return value


def sanitise(raw_html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes."""
    return nh3.clean(
        raw_html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        attribute_filter=_attribute_filter,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def _markdown(resolver: WikiResolver | None, extra: list[markdown.Extension]) -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            "tables",
            "pymdownx.highlight",
            "pymdownx.superfences",  # fences inside list items too (runbook steps)
            "codehilite",
            "toc",
            "admonition",
            "sane_lists",
            "def_list",
            "footnotes",
            AlertExtension(),
            TaskListExtension(),
            WikiLinkExtension(resolver=resolver),
            *extra,
        ],
        extension_configs={
            "codehilite": {"css_class": "codehilite", "guess_lang": False, "linenums": False},
            "pymdownx.highlight": {"css_class": "codehilite", "guess_lang": False},
            "toc": {"permalink": False, "toc_depth": "1-4"},
        },
        output_format="html",
    )


def render_markdown(
    body: str,
    resolver: WikiResolver | None = None,
    extensions: list[markdown.Extension] | None = None,
) -> Rendered:
    """Render a document body (front matter already removed) to sanitised HTML."""
    longest = max((len(line) for line in body.split("\n")), default=0)
    if len(body) > MAX_RENDER_CHARS or longest > MAX_RENDER_LINE:
        note = (
            '<div class="admonition warning"><p class="admonition-title">Shown as plain text</p>'
            "<p>This document is too large to format safely "
            f"({len(body) // 1024} KB, longest line {longest // 1024} KB).</p></div>"
        )
        return Rendered(note + "<pre>" + html.escape(body[:MAX_RENDER_CHARS]) + "</pre>",
                        plain_text_fallback=True)
    md = _markdown(resolver, list(extensions or []))
    raw = md.convert(body)
    clean = sanitise(raw)
    clean = _IMG_NO_SRC_RE.sub(_blocked_image, clean)
    clean, blocks = _add_copy_links(clean)
    toc = [
        TocEntry(int(m.group(1)), html.unescape(_TAG_RE.sub("", m.group(3))).strip(), m.group(2))
        for m in _HEADING_RE.finditer(clean)
    ]
    return Rendered(clean, toc, blocks, getattr(md, "task_count", 0))


def _blocked_image(match: re.Match[str]) -> str:
    alt = _ALT_RE.search(match.group(1))
    label = alt.group(1) if alt and alt.group(1) else "image"
    return f'<span class="blocked-image">[{label}: remote images are not loaded]</span>'


def _add_copy_links(clean: str) -> tuple[str, list[str]]:
    blocks: list[str] = []

    def replace(match: re.Match[str]) -> str:
        blocks.append(html.unescape(_TAG_RE.sub("", match.group(1))).rstrip("\n"))
        link = f'<p class="codecopy"><a href="copy:{len(blocks) - 1}">Copy</a></p>'
        return link + match.group(0)

    return _PRE_RE.sub(replace, clean), blocks


def pygments_css(style: str = "default") -> str:
    return HtmlFormatter(style=style).get_style_defs(".codehilite")

