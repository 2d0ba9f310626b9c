"""Write ``lens_val_scanner``: the ``lens_val`` photos as a low-resolution black-and-white scanner
(or fax) would give them, a scanner the model never saw in training.

    python tools/make_scanner_set.py data_cache/eval/lens_val --out data_cache/eval/lens_val_scanner

Each crop is stretched to full contrast, reduced to ``--scale`` of its resolution (a 0.4 of a
phone photo's resolution is about a 100 dpi scan of a handwritten page), cut at one fixed
threshold into black and white, and enlarged back with square pixels: blocky, thickened strokes
and closed loops. The words and writers are those of ``lens_val``; only the device is new.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from nepocr_desktop.lib.errors import NepocrError
from nepocr_desktop.lib.read.preprocess import load_gray
from nepocr_desktop.lib.storage.dataset import read_dataset, write_dataset


def low_res_bilevel(gray: np.ndarray, scale: float = 0.4, threshold: float = 0.6) -> np.ndarray:
    """``gray`` (uint8, dark ink on light paper) as a low-resolution bilevel scan of the same size."""
    g = gray.astype(np.float32)
    lo, hi = np.percentile(g, 2), np.percentile(g, 98)
    g = np.clip((g - lo) / max(hi - lo, 1.0), 0.0, 1.0)
    h, w = gray.shape
    small = cv2.resize(g, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    bw = np.where(small > threshold, 255, 0).astype(np.uint8)
    return cv2.resize(bw, (w, h), interpolation=cv2.INTER_NEAREST)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="a labelled folder (labels.tsv and images)")
    ap.add_argument("--out", type=Path, default=Path("data_cache/eval/lens_val_scanner"))
    ap.add_argument("--scale", type=float, default=0.4)
    ap.add_argument("--threshold", type=float, default=0.6, help="of the stretched gray; darker is ink")
    args = ap.parse_args(argv)
    try:
        samples = read_dataset(args.source)
        count = write_dataset(args.out, ((low_res_bilevel(load_gray(s.path), args.scale, args.threshold), s.text)
                                         for s in samples))
    except NepocrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.out}: {count} images", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
