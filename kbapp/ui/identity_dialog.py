"""Who you are, once: the first-run dialog (name, e-mail, organisation) and the fields it
shares with the Settings dialog.

Shown when neither kbapp's settings nor git say who the user is (every new laptop), and again
when a commit-making action finds nobody known (``Workspace.require_identity`` asks through the
window's interaction). It is prefilled from what git has configured; the organisation is
offered from ``.kb/config.toml`` (its organisations and their e-mail domains) and follows the
e-mail typed until the user picks one. The answer is written to kbapp's settings and applies
at once: the workspace takes the new identity from the settings' ``changed`` event.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from kbapp import identity
from kbapp.config import KbConfig, Organisation
from kbapp.settings import LABELS, Settings
from kbapp.sync.git import git_identity
from kbapp.ui import dialog_parts

#: The organisation combo's first entry: none chosen, the e-mail's domain decides.
FROM_EMAIL = ""


class IdentityFields(QWidget):
    """Name, e-mail and organisation, as a form (object names are the settings' keys)."""

    def __init__(self, config: KbConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("user_name")
        self.name_edit.setPlaceholderText("First and last name, as your colleagues know you")
        self.email_edit = QLineEdit()
        self.email_edit.setObjectName("user_email")
        domain = next((d for org in config.organisations for d in org.domains), "example.org")
        self.email_edit.setPlaceholderText(f"name@{domain.lstrip('@')}")
        self.org_combo = QComboBox()
        self.org_combo.setObjectName("organisation")
        self.org_combo.addItem("From my e-mail address", FROM_EMAIL)
        for org in config.organisations:
            domains = ", ".join(org.domains)
            self.org_combo.addItem(_named(org) + (f" · {domains}" if domains else ""), org.name)
        self.org_hint = dialog_parts.hint_label()
        # the longest hint takes two lines: reserve them so it is never cut off
        self.org_hint.setMinimumHeight(self.org_hint.fontMetrics().lineSpacing() * 2 + 4)
        self.email_edit.textChanged.connect(self._update_hint)
        self.org_combo.currentIndexChanged.connect(self._update_hint)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(LABELS["user_name"], self.name_edit)
        form.addRow(LABELS["user_email"], self.email_edit)
        form.addRow(LABELS["organisation"], self.org_combo)
        form.addRow("", self.org_hint)

    def load(self, name: str, email: str, organisation: str) -> None:
        self.name_edit.setText(name)
        self.email_edit.setText(email)
        index = self.org_combo.findData(organisation)
        self.org_combo.setCurrentIndex(max(index, 0))
        self._update_hint()

    def values(self) -> dict[str, str]:
        """The settings as typed: ``user_name``, ``user_email``, ``organisation`` ("" when
        the e-mail's domain decides)."""
        return {
            "user_name": " ".join(self.name_edit.text().split()),
            "user_email": self.email_edit.text().strip(),
            "organisation": str(self.org_combo.currentData() or ""),
        }

    def organisation(self) -> str:
        """The organisation the answer amounts to ("" when none is known)."""
        values = self.values()
        return values["organisation"] or self.config.org_for_email(values["user_email"])

    def _update_hint(self, *_args: object) -> None:
        values = self.values()
        if not self.config.organisations:
            self.org_hint.setText("This knowledge base names no organisations.")
        elif values["organisation"]:
            self.org_hint.setText("Your commits are marked as this organisation's.")
        elif not values["user_email"]:
            self.org_hint.setText("Taken from your e-mail's domain, or choose it above.")
        else:
            derived = self.config.organisation(self.config.org_for_email(values["user_email"]))
            self.org_hint.setText(
                f"From your e-mail: {_named(derived)}."
                if derived
                else "Your e-mail's domain matches no organisation here: choose yours above."
            )


def _named(org: Organisation) -> str:
    """ "Kestrel Managed Services (partner)"; just "partner" when the title says no more."""
    if org.title and org.title.casefold() != org.name.casefold():
        return f"{org.title} ({org.name})"
    return org.name


class FirstRunDialog(dialog_parts.FittedDialog):
    """ "Who are you?": asked once, before kbapp makes its first commit for this person."""

    def __init__(
        self,
        settings: Settings,
        config: KbConfig,
        root: Path | None,
        reason: str = "",
        parent: QWidget | None = None,
    ) -> None:
        """``config``: the knowledge base's (its organisations are offered); ``root``: its work
        tree (its own git identity counts), None for one not made yet."""
        super().__init__(parent)
        self.settings = settings
        self.root = root
        self.setObjectName("firstRunDialog")
        self.setWindowTitle("Welcome to kbapp")
        self.reason_label = dialog_parts.hint_label(html.escape(reason))
        self.reason_label.setVisible(bool(reason))
        self.fields = IdentityFields(config)
        known = git_identity(root)  # what git has configured, to start from
        self.fields.load(
            settings.user_name or known.name,
            settings.user_email or known.email,
            settings.organisation,
        )
        self.error_label = dialog_parts.error_label()
        self.buttons = dialog_parts.ok_cancel(self, "Save", "Not now")
        layout = QVBoxLayout(self)
        layout.addWidget(self._intro())
        layout.addWidget(self.reason_label)
        layout.addWidget(self.fields)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.resize(520, 0)
        self._focus_first_empty()

    @staticmethod
    def _intro() -> QLabel:
        intro = QLabel(
            "<b>Who are you?</b><br>kbapp records every change in git with your name and "
            "e-mail, so that both organisations see who wrote and reviewed what. You say it "
            "once; change it later in Settings (Ctrl+,)."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        return intro

    def _focus_first_empty(self) -> None:
        first_empty = next(
            (edit for edit in (self.fields.name_edit, self.fields.email_edit) if not edit.text()),
            self.fields.name_edit,
        )
        first_empty.setFocus()

    def accept(self) -> None:
        values = self.fields.values()
        problem = identity.check(values["user_name"], values["user_email"], self.root)
        if problem:
            self.error_label.setText(problem)
            return
        if not apply(self.settings, values, self.error_label):
            return
        super().accept()


def apply(settings: Settings, values: Mapping[str, object], error_label: QLabel) -> bool:
    """Write ``values`` to the settings (they apply at once through ``settings.changed``);
    False, with the reason in ``error_label``, when that cannot be done."""
    try:
        settings.update(values)
    except ValueError as exc:
        error_label.setText(str(exc))
        return False
    except OSError as exc:  # applied for this session; said so
        error_label.setText(f"Applied, but your settings file could not be written: {exc}")
    return True
