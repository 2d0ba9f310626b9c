"""``python -m nepocr_desktop``: the same as the ``nepocr`` command."""

import sys

from nepocr_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
