"""Write ``resources/calibration.npz``: the words the int8 copy of the network is calibrated on.

Usage: python tools/make_calibration_set.py [--out resources/calibration.npz]

Common words (``quantize.CALIBRATION_TEXTS``) rendered in the bundled fonts with the training
augmentation, stored as uint8 gray images (the app prepares them for whichever model it loads).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nepocr_desktop.lib.read.quantize import CALIBRATION_FILE, render_calibration_words


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / CALIBRATION_FILE)
    args = ap.parse_args(argv)
    images = render_calibration_words()
    with open(args.out, "wb") as f:
        np.savez_compressed(f, **{f"word{k:02d}": img for k, img in enumerate(images)})
    print(f"{len(images)} words -> {args.out} ({args.out.stat().st_size / 1e3:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
