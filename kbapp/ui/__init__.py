"""The PySide6 window: adapts the core to a desktop user interface; owns no business logic."""
