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

from nepocr_desktop.lib.read.quantize import CALIBRATION_TEXTS, CALIBRATION_WORDS
from nepocr_desktop.lib.training.augment import augment_synthetic
from nepocr_desktop.lib.training.synth import render_text
from nepocr_desktop.paths import calibration_path, fonts_dir

CALIBRATION_SEED = 20261124


def render_calibration_words(count: int = CALIBRATION_WORDS, seed: int = CALIBRATION_SEED) -> list[np.ndarray]:
    """``count`` calibration words in the bundled fonts with the training augmentation, as
    uint8 gray images."""
    fonts = sorted(fonts_dir().glob("*.ttf"))
    if not fonts:
        raise SystemExit(f"no fonts in {fonts_dir()} to render calibration words")
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        word = CALIBRATION_TEXTS[k % len(CALIBRATION_TEXTS)]
        img = render_text(word, fonts[k % len(fonts)], size=int(rng.integers(36, 60)))
        out.append(augment_synthetic(img, rng, pen=0.3))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=calibration_path())
    args = ap.parse_args(argv)
    images = render_calibration_words()
    with open(args.out, "wb") as f:
        np.savez_compressed(f, **{f"word{k:02d}": img for k, img in enumerate(images)})
    print(f"{len(images)} words -> {args.out} ({args.out.stat().st_size / 1e3:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
