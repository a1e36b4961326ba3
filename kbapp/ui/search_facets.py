"""The facet filters above the search results: one list per facet (type, organisation, system,
tag) filled with the values the last answer counted, and the filters chosen in them as the
terms a query carries (``type:sop``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QWidget

if TYPE_CHECKING:  # Whoosh loads on the worker that opens the index, not at start-up
    from kbapp.search import SearchResponse

#: Facet key -> (label, the field name a query filters it with).
FACETS = {
    "type": ("Type", "type"),
    "owner_org": ("Organisation", "owner_org"),
    "systems": ("System", "systems"),
    "tags": ("Tag", "tags"),
}


def quote_value(value: str) -> str:
    return f'"{value}"' if any(c in value for c in ' :"()') else value


class FacetBar(QWidget):
    """The facet lists, two by two; :attr:`changed` when the user chose a value."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combos: dict[str, QComboBox] = {}
        #: Facet key -> the value chosen.
        self.filters: dict[str, str] = {}
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for number, (key, (label, _field)) in enumerate(FACETS.items()):
            combo = QComboBox()
            combo.setObjectName(f"facet-{key}")
            combo.setToolTip(f"Only results of this {label.lower()}")
            combo.addItem(f"{label}: any", "")
            combo.activated.connect(lambda _i, k=key: self._on_chosen(k))
            # Shares the column's width: four combos sized to their longest value made the
            # search column (and the window) wider than a 1366-pixel screen allows; four in
            # one row of that column cut their own labels ("Organisatio", "System: an").
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(2)
            self.combos[key] = combo
            layout.addWidget(combo, number // 2, number % 2)

    def terms(self) -> list[str]:
        """The chosen filters as query terms."""
        return [f"{FACETS[key][1]}:{quote_value(value)}" for key, value in self.filters.items()]

    def fill(self, response: SearchResponse) -> None:
        """The values the answer counted (the first 30 of each), the chosen one kept."""
        for key, combo in self.combos.items():
            label = FACETS[key][0]
            chosen = self.filters.get(key, "")
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(f"{label}: any", "")
            for value, count in response.facets.get(key, [])[:30]:
                combo.addItem(f"{value} ({count})", value)
            if chosen:
                index = combo.findData(chosen)
                if index < 0:
                    combo.addItem(f"{chosen} (0)", chosen)
                    index = combo.count() - 1
                combo.setCurrentIndex(index)
            combo.blockSignals(False)

    def set_filter(self, key: str, value: str) -> None:
        """Filter by a facet value (as choosing it in its list does)."""
        combo = self.combos[key]
        index = combo.findData(value)
        if index < 0:
            combo.addItem(value, value)
            index = combo.count() - 1
        combo.setCurrentIndex(index)
        self._on_chosen(key)

    def _on_chosen(self, key: str) -> None:
        value = self.combos[key].currentData()
        if value:
            self.filters[key] = str(value)
        else:
            self.filters.pop(key, None)
        self.changed.emit()
