"""Links between documents: ``[text](other.md)`` and ``[[kb-id]]`` / ``[[Title]]``."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote

from kbapp.documents import mdlines
from kbapp.documents.filenames import is_markdown_name

WIKI_LINK_RE = re.compile(r"\[\[([^\[\]|\n]{1,200})(?:\|([^\[\]\n]{1,200}))?\]\]")
_MD_LINK_RE = re.compile(
    r"(?<!!)\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REF_DEF_RE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)
_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
_INLINE_CODE_RE = re.compile(r"(`+)(?:(?!\1).)+?\1")


@dataclass(frozen=True)
class Link:
    target: str  # as written, without the #fragment
    line: int  # 1-based line in the body
    kind: str  # "path" (relative .md link) or "wiki" ([[...]])

    def key(self) -> str:
        return f"{self.kind}:{self.target}"


def extract_links(body: str) -> list[Link]:
    """Internal links in a Markdown body, outside code blocks and inline code."""
    found: list[Link] = []
    if "<!--" in body:  # guidance comments mention [[kb-id]] as an example
        body = _COMMENT_RE.sub(lambda m: "\n" * m.group(0).count("\n"), body)
    for number, line, kind in mdlines.lines(body):
        if kind != "text" or line.startswith(("    ", "\t")):
            continue
        if "[" not in line:
            continue
        text = _INLINE_CODE_RE.sub("", line)
        for match in WIKI_LINK_RE.finditer(text):
            found.append(Link(match.group(1).strip(), number, "wiki"))
        for match in list(_MD_LINK_RE.finditer(text)) + list(_REF_DEF_RE.finditer(text)):
            target = match.group(1)
            path = _document_target(target)
            if path:
                found.append(Link(path, number, "path"))
    return found


def _document_target(target: str) -> str | None:
    """The path part of a link to another Markdown file, or None for anything else."""
    if _SCHEME_RE.match(target) or target.startswith(("#", "//")):
        return None
    path = unquote(target.split("#", 1)[0].split("?", 1)[0])
    if not is_markdown_name(path):
        return None
    return path


def resolve_relative(from_path: str, target: str) -> str:
    """``target`` (as linked from the document at ``from_path``) as a KB-relative path."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(from_path), target))
