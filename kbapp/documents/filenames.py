"""What a Markdown file is called: the one definition of the Markdown extensions.

A leaf (no YAML, no git): the search process and the link reader use it without loading the
document parser."""

from __future__ import annotations

#: The extensions of Markdown files (GitHub linguist's list), in any case. kbapp's own
#: documents are ``.md`` (listed, indexed, written); a Markdown file with another extension
#: still gets the document rules when it is committed, and ``kbapp lint`` suggests renaming
#: it (:func:`kbapp.trust.policy.is_markdown_path`).
MARKDOWN_EXTENSIONS = (
    ".md",
    ".markdown",
    ".mdown",
    ".mdwn",
    ".mkd",
    ".mkdn",
    ".mkdown",
    ".ronn",
    ".workbook",
    ".livemd",
)
#: The same as git pathspecs (``git ls-files``, ``git grep``).
MARKDOWN_PATHSPECS = tuple(f":(icase)*{extension}" for extension in MARKDOWN_EXTENSIONS)


def is_markdown_name(path: str) -> bool:
    """Whether ``path`` names a Markdown file (:data:`MARKDOWN_EXTENSIONS`, any case)."""
    return path.lower().endswith(MARKDOWN_EXTENSIONS)
