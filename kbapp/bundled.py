"""Files bundled with kbapp: the standard document templates (``templates/``) and the
resources (``resources/``: icons, stylesheets, report templates, the demo knowledge base),
top-level folders of the project. The wheel carries them inside the package
(``kbapp/templates``, ``kbapp/resources``: pyproject.toml's ``force-include``, real files, no
symlinks, so every platform gets them); a source checkout or an editable install reads them
where they are. Read with importlib.resources' Traversable either way."""

from __future__ import annotations

import importlib.resources
from importlib.resources.abc import Traversable
from pathlib import Path

#: The project's top folder, in a source checkout or an editable install.
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _bundled(name: str) -> Traversable:
    installed = importlib.resources.files("kbapp") / name
    if installed.is_dir():  # an installed wheel
        return installed
    return _SOURCE_ROOT / name


def templates_dir() -> Traversable:
    """The standard document templates (``templates/*.md``)."""
    return _bundled("templates")


def resource(*parts: str) -> Traversable:
    """A file or folder under ``resources/`` (icons, stylesheet, the demo knowledge base)."""
    node = _bundled("resources")
    for part in parts:
        node = node / part
    return node


def read_text(*parts: str) -> str:
    return resource(*parts).read_text(encoding="utf-8")
