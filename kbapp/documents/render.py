"""Markdown -> safe HTML for the reader, ``kbapp show --html`` and reports.

Documents come from another organisation, so rendering treats them as untrusted: Python-Markdown
turns them into HTML, then nh3 (ammonia) keeps only an allow-list of tags and attributes. No
script, no event handlers, no style attributes, no iframes/objects/SVG, links only to
http(s)/mailto and kbapp's own ``kb:`` / ``ticket:`` schemes (a ``copy:`` link is only ever the
renderer's own, added above each code block after sanitising), images only from relative paths
(remote images are replaced by a note, since loading them would tell a tracker who read what).
Input that would make Python-Markdown slow or crash is shown as plain text instead of being
parsed: more than 2 MB, a line longer than 50 KB, thousands of consecutive non-blank lines (the
block parser re-scans the rest of a block for each line it splits off: quadratic), huge tables,
or nesting deeper than any real document (recursion). See tests/test_hostile.py.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath
from urllib.parse import unquote

import markdown
import nh3
from pygments.formatters import HtmlFormatter

from kbapp.documents import mdlines
from kbapp.documents.mdext import (
    AlertExtension,
    ScaffoldExtension,
    TaskListExtension,
    WikiLinkExtension,
    WikiResolver,
)

#: Bodies larger than this, or with a longer line, are shown as plain text (no parsing).
MAX_RENDER_CHARS = 2_000_000
MAX_RENDER_LINE = 50_000
#: Limits past which formatting time grows too fast (measured in tests/test_hostile.py).
MAX_BLOCK_LINES = 3_000  # consecutive non-blank lines outside code fences
MAX_TABLE_CELLS = 50_000  # '|' characters in the whole body
MAX_INDENT = 400  # leading spaces: about 100 levels of nested lists
MAX_QUOTE_DEPTH = 100  # '>' at the start of a line
MAX_BLOCKS = 8_000  # blank-line separated blocks (the block parser inserts into a list)
MAX_BRACKET_COST = 30_000_000  # sum over paragraphs of '[' count x length (about 2.5 s)
MAX_TICK_COST = 300_000_000  # the same for '`' (about 0.7 s)

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
    "var",
}
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
}
#: Schemes a document's own links and images may use. ``copy:N`` is not one of them: the
#: renderer adds a Copy link above each code block after sanitising, and a document's own
#: ``copy:0`` link (over a block that only looks like code) would put another block on the
#: clipboard (adversarial finding A7).
URL_SCHEMES = {"http", "https", "mailto", "kb", "ticket"}
#: Class names of kbapp's own additions to the page (the Copy link, the note of a blocked
#: image): a document may not dress its content as them.
UI_CLASSES = frozenset({"codecopy", "blocked-image"})

_SCHEME_RE = re.compile(r"^\s*[a-zA-Z][a-zA-Z0-9+.-]*:|^\s*//")
_PRE_RE = re.compile(r"<pre\b[^>]*>(.*?)</pre>", re.S)
_TAG_RE = re.compile(r"<[^>]+>")
_IMG_NO_SRC_RE = re.compile(r"<img(?![^>]*\ssrc=)([^>]*)>")
#: A link whose address the sanitiser dropped (``copy:``, ``javascript:`` ...): shown as the
#: text it is, not in a link's colour (a look-alike of kbapp's Copy link stays plain text).
_A_NO_HREF_RE = re.compile(r"<a\b(?![^>]*\shref=)([^>]*)>(.*?)</a>", re.S)
_ID_RE = re.compile(r'\sid="[^"]*"')
_ALT_RE = re.compile(r'\salt="([^"]*)"')
_LAST_NEWLINE_RE = re.compile(r"\n((?:</code>)?</pre>)$")
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


def browser_url(value: str) -> str:
    """``value`` as a browser reads it (the WHATWG URL parser): leading and trailing C0
    controls and spaces dropped, tabs and newlines dropped anywhere, backslashes read as
    slashes. ``\\\\host\\share\\x.png`` and ``/<tab>/host/x.png`` are both ``//host/...``."""
    value = value.strip("".join(chr(c) for c in range(0x21)))
    value = value.replace("\t", "").replace("\n", "").replace("\r", "")
    return value.replace("\\", "/")


def decoded_url(value: str) -> str:
    """``value`` percent-decoded until nothing changes (``%255C`` too), then read as a browser
    reads it: the path a viewer that decodes ``%5C%5Chost`` or ``%2F%2Fhost`` would open."""
    for _ in range(5):
        decoded = unquote(value)
        if decoded == value:
            break
        value = decoded
    return browser_url(value)


def _url_refused(tag: str, attribute: str, value: str) -> bool:
    scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", value)
    if scheme and scheme.group(1).lower() not in URL_SCHEMES:
        return True  # javascript:, file:, data:, a drive letter... however it was written
    if tag == "img" and attribute == "src" and (_SCHEME_RE.match(value) or value.startswith("/")):
        return True  # remote (or data:/file:) image: never fetched; nor one by absolute path
        # (a file of the reader's machine, or a share: file:///host/share)
    # protocol-relative or UNC: resolved against a file: base it reaches a network share (and
    # hands it the user's credentials on Windows)
    return attribute == "href" and value.startswith("//")


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute in ("href", "src"):
        value = browser_url(value)  # judged, and handed on, as the browser will read it
        # ... and as a viewer that percent-decodes the path first reads it (Qt's QUrl.path())
        if _url_refused(tag, attribute, value) or _url_refused(tag, attribute, decoded_url(value)):
            return None
    if attribute == "class":
        # Only kbapp's own class names (and Pygments' short ones) survive: no page-wide tricks.
        kept = [
            c
            for c in value.split()
            if re.fullmatch(r"[a-zA-Z][\w-]{0,40}", c) and c.lower() not in UI_CLASSES
        ]
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
    md = markdown.Markdown(
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
            ScaffoldExtension(),
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
    # "\<Unknown error code>" is text, as CommonMark (and DocFX, which writes it) has it:
    # Python-Markdown does not count "<" as escapable, so the backslash stayed and the rest
    # became a tag the sanitiser removed with its words ("0x800423f4 (\)").
    md.ESCAPED_CHARS = [*md.ESCAPED_CHARS, "<"]
    return md


def render_markdown(
    body: str,
    resolver: WikiResolver | None = None,
    extensions: list[markdown.Extension] | None = None,
) -> Rendered:
    """Render a document body (front matter already removed) to sanitised HTML."""
    reason = plain_text_reason(body)
    md = _markdown(resolver, list(extensions or []))
    if reason is None:
        try:
            raw = md.convert(body)
        except RecursionError:
            reason = "it is nested too deeply to format"
    if reason is not None:
        note = (
            '<div class="admonition warning"><p class="admonition-title">Shown as plain text</p>'
            f"<p>This document is shown unformatted: {html.escape(reason)}.</p></div>"
        )
        return Rendered(
            note + "<pre>" + html.escape(body[:MAX_RENDER_CHARS]) + "</pre>",
            plain_text_fallback=True,
        )
    clean = sanitise(raw)
    clean = _IMG_NO_SRC_RE.sub(_blocked_image, clean)
    clean = _A_NO_HREF_RE.sub(_not_a_link, clean)
    clean, blocks = _add_copy_links(clean)
    toc = [
        TocEntry(int(m.group(1)), html.unescape(_TAG_RE.sub("", m.group(3))).strip(), m.group(2))
        for m in _HEADING_RE.finditer(clean)
    ]
    return Rendered(clean, toc, blocks, getattr(md, "task_count", 0))


def plain_text_reason(body: str) -> str | None:
    """Why ``body`` must not be given to the Markdown parser, or None when it is safe."""
    if len(body) > MAX_RENDER_CHARS:
        return f"it is too large to format safely ({len(body) // 1024} KB)"
    if body.count("|") > MAX_TABLE_CELLS:
        return "its tables are too large to format safely"
    run = blocks = 0
    # Unclosed links and code spans make the inline parser rescan the rest of their paragraph:
    # the cost grows with (brackets in a paragraph) x (its length).
    block_chars = block_brackets = block_ticks = 0
    bracket_cost = tick_cost = 0
    for _number, line, kind in mdlines.lines(body + "\n"):  # a last empty line ends the run
        if len(line) > MAX_RENDER_LINE:
            return f"a line is too long to format safely ({len(line) // 1024} KB)"
        stripped = line.lstrip(" \t")
        if kind != "text" or not stripped:
            blocks += 1 if run else 0
            if blocks > MAX_BLOCKS:
                return f"it has more than {MAX_BLOCKS} paragraphs"
            bracket_cost += block_brackets * block_chars
            tick_cost += block_ticks * block_chars
            block_chars = block_brackets = block_ticks = run = 0
            if bracket_cost > MAX_BRACKET_COST or tick_cost > MAX_TICK_COST:
                return "it has too many unclosed links or code spans to format safely"
            continue
        run += 1
        if run > MAX_BLOCK_LINES:
            return f"it has more than {MAX_BLOCK_LINES} lines without a blank line"
        if not stripped.startswith("|"):  # table cells are parsed one by one
            block_chars += len(line) + 1
            block_brackets += line.count("[")
            block_ticks += line.count("`")
        leading = line[: len(line) - len(stripped)]
        if len(leading) + 3 * leading.count("\t") > MAX_INDENT:
            return "it is nested too deeply to format"
        if stripped.startswith(">"):
            quotes = stripped[: len(stripped) - len(stripped.lstrip("> \t"))]
            if quotes.count(">") > MAX_QUOTE_DEPTH:
                return "it is nested too deeply to format"
    return None


def _blocked_image(match: re.Match[str]) -> str:
    alt = _ALT_RE.search(match.group(1))
    label = alt.group(1) if alt and alt.group(1) else "image"
    return f'<span class="blocked-image">[{label}: remote images are not loaded]</span>'


def _not_a_link(match: re.Match[str]) -> str:
    anchor = _ID_RE.search(match.group(1))  # a jump target keeps its id
    return f"<span{anchor.group(0)}>{match.group(2)}</span>" if anchor else match.group(2)


def _add_copy_links(clean: str) -> tuple[str, list[str]]:
    blocks: list[str] = []

    def replace(match: re.Match[str]) -> str:
        blocks.append(html.unescape(_TAG_RE.sub("", match.group(1))).rstrip("\n"))
        link = f'<p class="codecopy"><a href="copy:{len(blocks) - 1}">Copy</a></p>'
        # The newline that ends the last line: a browser draws nothing for it, Qt's rich
        # text (the reader, previews, history) an empty shaded line under every block.
        return link + _LAST_NEWLINE_RE.sub(r"\1", match.group(0))

    return _PRE_RE.sub(replace, clean), blocks


def local_image_path(
    folder: str, source: str, flavour: type[PurePath] = PurePath
) -> PurePosixPath | None:
    """The knowledge-base path (relative, '/'-separated) of an image ``source`` (an already
    percent-decoded URL path) referenced by a document in ``folder`` (relative to the
    knowledge base), or None when it is not a plain relative path that stays inside: absolute,
    UNC (``\\\\host\\share``, ``//host/share``), drive-letter (``C:x``), alternate data
    stream or ``..`` escaping, as ``flavour`` (``PureWindowsPath``, ``PurePosixPath``; the
    running system's by default) would read it. Pure path logic only: judged before any
    file-system call, which on Windows would already open an SMB connection to the host."""
    if not source or "\\" in source or ":" in source or "\0" in source:
        return None
    path = flavour(source)
    if path.is_absolute() or path.drive or path.root or path.anchor:
        return None
    parts: list[str] = [p for p in PurePosixPath(folder).parts if p not in ("", ".")]
    if any(p == ".." or p.startswith("/") for p in parts):
        return None
    for part in path.parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return PurePosixPath(*parts) if parts else None


def pygments_css(style: str = "default") -> str:
    return HtmlFormatter(style=style).get_style_defs(".codehilite")
