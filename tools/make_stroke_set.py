"""Write stroke-domain evaluation sets: word images written again as canvas pen strokes.

    python tools/make_stroke_set.py data_cache/eval/lens_val --out data_cache/eval/lens_val_strokes
    python tools/make_stroke_set.py data_cache/eval/lens_val --out data_cache/eval/lens_val_mouse --mouse

Each image of a labelled folder (``labels.tsv``) is reduced to the centre lines of its ink
(binarised, thinned to a skeleton, traced into polylines, specks and spurs dropped), scaled to
the height people write at between the canvas's guides, and rendered by the canvas's own
renderer (``render_strokes``: its page size, smoothing, round pen and crop margin) with pen
widths 2-8 page units in turn (``--pen W``: width W for every word; ``--reading``: drawn again as
the Write tab hands drawings to the recognizer, with the one pen of ``for_reading``). ``--mouse`` adds
a mouse's shake and sparse, angular input events. Words are written 130-220 page units high
(``--height LOW HIGH`` for other sizes). The result is a folder ``nepocr eval`` reads, with the same
labels. ``--trace-height``, ``--upscale``, ``--epsilon``, ``--spur`` and ``--no-close`` trace with another tracer
than the sets' usual one (``TraceStyle``), to see how much a figure owes to one tracer's faults:

    python tools/make_stroke_set.py data_cache/eval/lens_val --out data_cache/eval/lens_val_strokes_read_t32 \
        --reading --trace-height 32 --epsilon 1.5 --spur 0.5 --no-close
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from nepocr_desktop.lib.read.preprocess import load_gray
from nepocr_desktop.lib.read.strokes import READING_PEN
from nepocr_desktop.lib.storage.dataset import read_dataset, write_dataset
from nepocr_desktop.lib.training.strokes import TraceStyle, WritingStyle, redraw_as_strokes, trace_strokes


def add_height_argument(ap: argparse.ArgumentParser) -> None:
    """``--height LOW HIGH``: the range of the words' heights on the page (read with :func:`heights`)."""
    ap.add_argument("--height", type=float, nargs=2, default=(130.0, 220.0), metavar=("LOW", "HIGH"),
                    help="range of the words' heights on the page, page units (default 130 220)")


def heights(ap: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[float, float]:
    """The ``--height`` range, or a one-line usage error for a range that is not one."""
    low, high = args.height
    if not 0 < low <= high:
        ap.error("--height: LOW and HIGH must be positive, LOW no more than HIGH")
    return low, high


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path, help="a folder with labels.tsv (path<TAB>text)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--mouse", action="store_true", help="mouse writing: shake and sparse input events")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--pen", type=float, help="one pen width for every word (default: 2-8 in turn)")
    ap.add_argument("--reading", action="store_true",
                    help=f"drawn as the Write tab hands writing to the recognizer: one pen, {READING_PEN:g} units "
                         "for writing of a usual size, in proportion for smaller or larger writing")
    add_height_argument(ap)
    default = TraceStyle()
    ap.add_argument("--trace-height", type=float, default=default.height,
                    help=f"rows the ink is scaled to before thinning (default {default.height:g})")
    ap.add_argument("--epsilon", type=float, default=default.epsilon,
                    help=f"polyline simplification, pixels (default {default.epsilon:g})")
    ap.add_argument("--spur", type=float, default=default.spur,
                    help=f"side branches shorter than this many stroke widths are dropped (default {default.spur:g})")
    ap.add_argument("--no-close", action="store_true", help="leave small gaps in the ink open before thinning")
    ap.add_argument("--upscale", type=float, default=default.upscale,
                    help=f"the gray image scaled up this much (cubic) before it is binarised (default {default.upscale:g})")
    args = ap.parse_args(argv)
    if args.trace_height <= 0 or args.epsilon < 0 or args.spur < 0 or not args.upscale >= 1:
        ap.error("--trace-height must be positive, --epsilon and --spur not negative, --upscale at least 1")
    tracer = TraceStyle(height=args.trace_height, upscale=args.upscale, epsilon=args.epsilon, spur=args.spur,
                        close=not args.no_close)
    if args.reading:
        args.pen = READING_PEN
    low, high = heights(ap, args)
    rows = [(s.path, s.text) for s in read_dataset(args.src)]
    rng = np.random.default_rng(args.seed)

    def redrawn():
        for k, (path, text) in enumerate(rows):
            gray = load_gray(path)
            pen = args.pen or 2.0 + k % 7  # 2..8 page units in turn
            if args.mouse:
                style = WritingStyle(pen=pen, shake=float(rng.uniform(0.5, 2.0)),
                                     spacing=float(rng.uniform(6, 18)), height=float(rng.uniform(low, high)),
                                     reading=args.reading)
            else:
                style = WritingStyle(pen=pen, spacing=3.0, height=float(rng.uniform(low, high)), reading=args.reading)
            yield redraw_as_strokes(gray, rng, style=style, paths=trace_strokes(gray, style=tracer)), text

    count = write_dataset(args.out, redrawn())
    print(f"{args.out}: {count} images", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
