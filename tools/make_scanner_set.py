"""Write ``lens_val_scanner``: the ``lens_val`` photos as a black-and-white document scanner gives
them, a device the model never saw in training.

    python tools/make_scanner_set.py data_cache/eval/lens_val --out data_cache/eval/lens_val_scanner

A scanner lights the page evenly and, in its black-and-white mode, cuts every pixel at one fixed
threshold. So each crop's uneven light is divided out (the paper's brightness estimated by a
closing as wide as half the crop's height), the crop is reduced to ``--scale`` of its resolution
(the ``lens_val`` crops are 30-45 px high; at 0.7 a word's letters are about 15 px high, a scan of
ordinary handwriting at roughly 100 dpi), cut at ``--threshold`` of the paper's brightness, and
enlarged back with square pixels: blocky strokes, thin ones broken, small loops closed, no gray.
The words and writers are those of ``lens_val``; only the device is new. (The crops looked at stay
readable to a person; at 0.4 many did not.)

``--binarise`` writes the other kind of black-and-white image people bring: a page scanned, or
photographed, at full resolution and made two-level by software (an archive's binarised scans, a
scanning app's "document" mode). Each crop is cut by the app's own page binarisation
(:func:`nepocr_desktop.lib.page.binarization.binarize`: the paper's light divided out, a local
Sauvola threshold), at its own resolution: clean, sharp strokes, faint ones sometimes broken:

    python tools/make_scanner_set.py data_cache/eval/lens_val --binarise --out data_cache/eval/lens_val_bw
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from nepocr_desktop.lib.errors import NepocrError
from nepocr_desktop.lib.page.binarization import binarize
from nepocr_desktop.lib.read.preprocess import load_gray
from nepocr_desktop.lib.storage.dataset import read_dataset, write_dataset
from nepocr_desktop.lib.training.augment import flatten_paper


def low_res_bilevel(gray: np.ndarray, scale: float = 0.7, threshold: float = 0.75) -> np.ndarray:
    """``gray`` (uint8, dark ink on light paper) as a bilevel scan at ``scale``, same size as given."""
    g = flatten_paper(gray)
    h, w = g.shape
    if scale != 1.0:
        g = cv2.resize(g, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    bw = np.where(g > threshold, 255, 0).astype(np.uint8)
    return cv2.resize(bw, (w, h), interpolation=cv2.INTER_NEAREST) if scale != 1.0 else bw


def binarised(gray: np.ndarray) -> np.ndarray:
    """``gray`` (uint8) as software binarises a full-resolution scan: black ink on white, no grey."""
    return np.where(binarize(gray) > 0, 0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="a labelled folder (labels.tsv and images)")
    ap.add_argument("--out", type=Path, default=Path("data_cache/eval/lens_val_scanner"))
    ap.add_argument("--scale", type=float, default=0.7)
    ap.add_argument("--threshold", type=float, default=0.75, help="of the paper's brightness; darker is ink")
    ap.add_argument("--binarise", action="store_true",
                    help="binarise at full resolution with the app's page binarisation instead "
                         "(--scale and --threshold are not used)")
    args = ap.parse_args(argv)

    def scan(gray: np.ndarray) -> np.ndarray:
        return binarised(gray) if args.binarise else low_res_bilevel(gray, args.scale, args.threshold)

    try:
        samples = read_dataset(args.source)
        count = write_dataset(args.out, ((scan(load_gray(s.path)), s.text) for s in samples))
    except NepocrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.out}: {count} images", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
