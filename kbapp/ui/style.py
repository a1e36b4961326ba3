"""How the window looks: the stylesheet and reader CSS from ``resources/ui``, light or dark
after the system's palette, and the coloured badges used in result rows and headers."""

from __future__ import annotations

import html
from string import Template

from PySide6.QtGui import QColor, QFont, QPalette

from kbapp.bundled import read_text
from kbapp.documents.render import pygments_css

#: Badge colours (background, text) by kind: type, status, review state, organisation.
BADGE_COLOURS = {
    "type": ("#3B5B7A", "#FFFFFF"),
    "org": ("#5B4A8A", "#FFFFFF"),
    "draft": ("#7F8C8D", "#FFFFFF"),
    "in-review": ("#B9770E", "#FFFFFF"),
    "published": ("#1E8449", "#FFFFFF"),
    "retired": ("#4D4D4D", "#FFFFFF"),
    "overdue": ("#C0392B", "#FFFFFF"),
    "due": ("#B9770E", "#FFFFFF"),
    "never": ("#7F8C8D", "#FFFFFF"),
    "internal": ("#922B21", "#FFFFFF"),
    "conflict": ("#C0392B", "#FFFFFF"),
    "kb": ("#1F6F78", "#FFFFFF"),  # which knowledge base a result is in (several searched)
}


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def monospace_font(point_size: int | None = None) -> QFont:
    """The fixed-width font of text one types or compares (the editor, diffs, conflicts)."""
    font = QFont("DejaVu Sans Mono")
    font.setStyleHint(QFont.StyleHint.Monospace)
    if point_size is not None:
        font.setPointSize(point_size)
    return font


def badge(text: str, kind: str) -> str:
    """A small coloured label as Qt rich text (inline style: QLabel has no stylesheet)."""
    background, colour = BADGE_COLOURS.get(kind, BADGE_COLOURS["type"])
    return (
        f"<span style='background-color:{background}; color:{colour}; font-size:small;'>"
        f"&nbsp;{html.escape(text)}&nbsp;</span>"
    )


def _colours(palette: QPalette) -> dict[str, str]:
    dark = is_dark(palette)
    text = palette.color(QPalette.ColorRole.Text)
    return {
        "text": text.name(),
        "muted": QColor("#9AA4AE" if dark else "#5F6B76").name(),
        "link": QColor("#7CB7FF" if dark else "#1A5FB4").name(),
        "code_bg": QColor("#2A2E33" if dark else "#F4F6F8").name(),
        "border": QColor("#444A51" if dark else "#D5DAE0").name(),
        "accent": QColor("#3D8FD1" if dark else "#1A5FB4").name(),
        "match_bg": QColor("#6B5B00" if dark else "#FFE680").name(),
        "panel": palette.color(QPalette.ColorRole.Base).name(),
        "alt": QColor("#30353B" if dark else "#EEF2F6").name(),
    }


def reader_css(palette: QPalette) -> str:
    """CSS for rendered documents (QTextDocument's CSS subset) and code highlighting."""
    css = Template(read_text("ui", "reader.css")).safe_substitute(_colours(palette))
    return css + pygments_css("monokai" if is_dark(palette) else "default")


def stylesheet(palette: QPalette) -> str:
    """The application's Qt stylesheet, coloured for the palette in use."""
    return Template(read_text("ui", "style.qss")).safe_substitute(_colours(palette))
