"""``python -m kbapp.hooks``: the name git runs from other repositories' config and installed
hooks, kept stable; the code is in :mod:`kbapp.sync.hooks`."""

import sys

from kbapp.sync.hooks import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
