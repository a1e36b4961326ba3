"""Markdown as its reader reads it: what is not the document's text is taken out before the
text is indexed or shown in a snippet (HTML comments, DocFX and Hugo markup, entities)."""

from __future__ import annotations

import html
import re

_DOCFX_ALERT_RE = re.compile(
    r"\[!(?:INCLUDE\s*\[[^\]\n]{0,200}\]\([^)\n]{0,300}\)|[A-Za-z-]{2,20}(?:\s[^\]\n]{0,200})?)\]"
)
_TRIPLE_COLON_RE = re.compile(r":::[ \t]*[\w-]+((?:[^:\n]|:(?!::)){0,1000}):::")
_TRIPLE_COLON_LINE_RE = re.compile(r"\n[ \t]*:::[^\n]{0,200}")
_ALT_TEXT_RE = re.compile(r'alt-text="([^"\n]{0,300})"')
_SHORTCODE_RE = re.compile(r"\{\{[<%][^\n]{0,300}?[%>]\}\}")
#: ``_label_`` not inside a word: the underscore first and the character before it looked at
#: from there (a pattern that starts with a look-behind is tried at every position of the
#: text, one that starts with a literal jumps from underscore to underscore: 10x faster).
_EMPHASIS_LABEL_RE = re.compile(r"_(?<![\w\\]_)([^_\n]{1,80}?)_(?!\w)")
_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()<>#+!|~-])")


def clean_markup(text: str) -> str:
    """Markdown as its reader reads it, before it is indexed or shown in a fragment: no HTML
    comments (template guidance such as ``<!-- What must be true before starting -->`` is not
    the document's text), no DocFX/Hugo markup (``[!NOTE]``, ``[!INCLUDE [...](...)]``,
    ``:::image ...:::`` (its alt text is kept), ``{{< ... >}}``), no emphasis around labels
    (``_Applies to:_``), no backslash escapes, HTML entities decoded (``&nbsp;``). Line
    structure is kept, so headings, lists and code fences are still recognised afterwards."""
    if "<!--" in text:
        text = _drop_comments(text)
    if "[!" in text:
        text = _DOCFX_ALERT_RE.sub("", text)
    if ":::" in text:
        text = _TRIPLE_COLON_RE.sub(_triple_colon, text)
        text = _TRIPLE_COLON_LINE_RE.sub("\n", "\n" + text)[1:]
    if "{{" in text:
        text = _SHORTCODE_RE.sub("", text)
    if "_" in text:
        text = _EMPHASIS_LABEL_RE.sub(r"\1", text)
    if "\\" in text:
        text = _ESCAPE_RE.sub(r"\1", text)
    if "&" in text:
        text = html.unescape(text).replace("\xa0", " ")
    return text


def _drop_comments(text: str) -> str:
    """``text`` without ``<!-- ... -->`` (an unclosed one runs to the end, as in a browser),
    the lines it spanned kept as empty lines. A loop of ``find``: linear on any input."""
    out: list[str] = []
    cursor = 0
    while True:
        start = text.find("<!--", cursor)
        if start < 0:
            out.append(text[cursor:])
            break
        out.append(text[cursor:start])
        end = text.find("-->", start + 4)
        stop = len(text) if end < 0 else end + 3
        out.append("\n" * text.count("\n", start, stop))
        cursor = stop
    return "".join(out)


def _triple_colon(match: re.Match[str]) -> str:
    alt = _ALT_TEXT_RE.search(match.group(1))
    return alt.group(1) if alt else ""
