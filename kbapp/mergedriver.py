"""``python -m kbapp.mergedriver``: the name git runs from other repositories' config and installed
hooks, kept stable; the code is in :mod:`kbapp.sync.mergedriver`."""

import sys

from kbapp.sync.mergedriver import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
