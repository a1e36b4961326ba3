"""The bar above the views: what happened, and the buttons to deal with it (a sync's
changes, conflicts waiting, incoming changes, typing kept by a crash)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
)

#: A notice's button: what it does, or a menu of (label, what it does) when there are several.
NoticeAction = Callable[[], None] | list[tuple[str, Callable[[], None]]]


class Notice(QFrame):
    """A bar above the text: what happened, and the buttons to deal with it (a button with a
    list offers a menu: one entry per document)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("notice")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.buttons = QHBoxLayout()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addLayout(self.buttons)
        self.hide()

    def show_message(self, text: str, buttons: list[tuple[str, NoticeAction]]) -> None:
        while self.buttons.count():
            item = self.buttons.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.label.setText(text)
        dismiss: list[tuple[str, NoticeAction]] = [("Dismiss", self.hide)]
        for label, handler in buttons + dismiss:
            button = QPushButton(label)
            if isinstance(handler, list):
                menu = QMenu(button)
                for entry, run in handler:
                    menu.addAction(entry).triggered.connect(lambda _c=False, r=run: r())
                button.setMenu(menu)
            else:
                button.clicked.connect(lambda _c=False, h=handler: h())
            self.buttons.addWidget(button)
        self.show()

    def button_texts(self) -> list[str]:
        """The buttons' labels, in order (Dismiss last)."""
        texts = []
        for index in range(self.buttons.count()):
            item = self.buttons.itemAt(index)
            widget = item.widget() if item is not None else None
            if isinstance(widget, QPushButton):
                texts.append(widget.text())
        return texts
