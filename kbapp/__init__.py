"""kbapp: a desktop knowledge base and SOP manager for IT teams that co-source with a partner.

The core (everything outside :mod:`kbapp.ui`) is plain Python: the command line, the tests
and any future server use it without a display.
"""

__version__ = "0.1.0"
