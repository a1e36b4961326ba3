"""Files bundled inside the package (``kbapp/templates/``, ``kbapp/resources/``: real folders, no
symlinks, so the wheel carries them on every platform), read with importlib.resources."""

from __future__ import annotations

import importlib.resources
from importlib.resources.abc import Traversable


def templates_dir() -> Traversable:
    """The standard document templates (``kbapp/templates/*.md``)."""
    return importlib.resources.files("kbapp") / "templates"


def resource(*parts: str) -> Traversable:
    """A file or folder under ``kbapp/resources/`` (icons, stylesheet, the demo knowledge base)."""
    node = importlib.resources.files("kbapp") / "resources"
    for part in parts:
        node = node / part
    return node


def read_text(*parts: str) -> str:
    return resource(*parts).read_text(encoding="utf-8")
