"""``python -m nepocr_desktop.gui [--model PATH] [--device D] [--self-test] [IMAGE]``."""

import sys

from .app import run

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
