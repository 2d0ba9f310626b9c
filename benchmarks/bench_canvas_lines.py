"""Writing on two lines of the Write tab: found, laid out as one line, read.

    python benchmarks/bench_canvas_lines.py --data data_cache/eval/lens_val --threads 1

Pairs of words of a labelled folder (images 0 and 1, 2 and 3, ...) are reduced to pen strokes as
``tools/make_stroke_set.py`` does and written on the canvas's page as a person who runs out of room
would: the first word on a line at the top, the second on a line below it, each word 100-150 page
units high and the space between the lines 30-80 units (``--mouse``: with a mouse's shake and
sparse events). Each pair is read as the app reads the Write tab (``recognize_drawings``, the word
list): the page drawn as one image with both lines in it (as it was read before lines were found),
the lines laid out as one line (``reading_image``, what the Write tab hands over now), and, for
reference, the two words written side by side on one line. The truth is "first second".

It also counts how often the lines are found right: two lines for every pair, and one line for
every word written alone (any other count is a word split in two).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


from nepocr_desktop.lib.read.metrics import error_rates
from nepocr_desktop.lib.read.preprocess import load_gray
from nepocr_desktop.lib.read.results import Recognition
from nepocr_desktop.lib.read.strokes import (
    PAGE_HEIGHT,
    PAGE_WIDTH,
    PenStroke,
    for_reading,
    ink_bounds,
    reading_image,
    render_strokes,
    split_lines,
)
from nepocr_desktop.lib.storage.dataset import read_dataset
from nepocr_desktop.lib.training.strokes import WritingStyle, simulate_writing, trace_strokes


def _moved(strokes: list[PenStroke], dx: float, dy: float, scale: float = 1.0) -> list[PenStroke]:
    return [PenStroke(s.points * scale + np.array([dx, dy]), s.widths) for s in strokes]


def _word(gray: np.ndarray, height: float, rng: np.random.Generator, mouse: bool) -> list[PenStroke]:
    """A word written ``height`` page units high, its ink's top left corner at (0, 0)."""
    pen = float(rng.uniform(2, 8))
    style = (WritingStyle(pen=pen, shake=float(rng.uniform(0.5, 2.0)), spacing=float(rng.uniform(6, 18)), height=height)
             if mouse else WritingStyle(pen=pen, spacing=3.0, height=height))
    strokes = simulate_writing(trace_strokes(gray)[0], gray.shape[0], style, rng)
    x0, y0, _x1, _y1 = ink_bounds(strokes)
    return _moved(strokes, -x0, -y0)


def _fit(strokes: list[PenStroke], width: float) -> list[PenStroke]:
    """The word made narrower than ``width`` if it is wider (a long word written smaller)."""
    x0, _y0, x1, _y1 = ink_bounds(strokes)
    return strokes if x1 - x0 <= width else _moved(strokes, 0, 0, width / (x1 - x0))


def two_lines(first: list[PenStroke], second: list[PenStroke], rng: np.random.Generator) -> list[PenStroke]:
    a = _fit(first, PAGE_WIDTH - 100)
    b = _fit(second, PAGE_WIDTH - 100)
    top = float(rng.uniform(20, 40))
    a = _moved(a, float(rng.uniform(40, 70)), top)
    bottom = ink_bounds(a)[3]
    b = _moved(b, float(rng.uniform(40, 90)), bottom + float(rng.uniform(30, 80)))
    return a + b


def one_line_written(first: list[PenStroke], second: list[PenStroke], rng: np.random.Generator) -> list[PenStroke]:
    """The two words side by side on one line, their middles level, a word's space apart."""
    a, b = first, second
    ha, hb = ink_bounds(a)[3], ink_bounds(b)[3]
    a = _moved(a, 60, 150 - ha / 2)
    b = _moved(b, ink_bounds(a)[2] + float(rng.uniform(0.3, 0.7)) * (ha + hb) / 2, 150 - hb / 2)
    return a + b


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("data_cache/eval/lens_val"), help="a folder with labels.tsv")
    ap.add_argument("--pairs", type=int, default=0, help="how many pairs (default: all)")
    ap.add_argument("--model", help="model file (default: the bundled model)")
    ap.add_argument("--mouse", action="store_true", help="written with a mouse's shake and sparse events")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from nepocr_desktop.recognizer import Recognizer

    rows = [(s.path, s.text) for s in read_dataset(args.data)]
    pairs = len(rows) // 2 if args.pairs <= 0 else min(args.pairs, len(rows) // 2)
    rng = np.random.default_rng(args.seed)
    words = []
    for path, _text in rows[:2 * pairs]:
        words.append(_word(load_gray(path), float(rng.uniform(100, 150)), rng, args.mouse))
    truths = [f"{rows[2 * k][1]} {rows[2 * k + 1][1]}" for k in range(pairs)]
    pages = [two_lines(words[2 * k], words[2 * k + 1], rng) for k in range(pairs)]
    side = [one_line_written(words[2 * k], words[2 * k + 1], rng) for k in range(pairs)]

    found_two = sum(len(split_lines(p)) == 2 for p in pages)
    alone_split = sum(len(split_lines(_moved(w, 60, 100))) != 1 for w in words)
    side_split = sum(len(split_lines(p)) != 1 for p in side)

    size = (PAGE_WIDTH, PAGE_HEIGHT)
    wide = (4 * PAGE_WIDTH, PAGE_HEIGHT)
    images = {
        "both lines in one image (before)": [render_strokes(for_reading(p), size) for p in pages],
        "the lines laid out as one line (now)": [reading_image(p, size) for p in pages],
        "written on one line (reference)": [reading_image(p, wide) for p in side],
    }
    rec = Recognizer(args.model, device="cpu", lexicon=True)
    print(f"{args.data}: {pairs} pairs{' (mouse)' if args.mouse else ''}, seed {args.seed}")
    print(f"two lines found: {found_two}/{pairs}; a word alone split: {alone_split}/{len(words)}; "
          f"two words on one line split: {side_split}/{pairs}")
    print("| how the two lines are read | CER | WER | ms a pair |")
    print("| --- | --- | --- | --- |")
    for name, imgs in images.items():
        t0 = time.perf_counter()
        got = rec.recognize_drawings(imgs)
        ms = (time.perf_counter() - t0) * 1000 / max(1, len(imgs))
        texts = [g.text if isinstance(g, Recognition) else "" for g in got]
        c, w = error_rates(zip(texts, truths))
        print(f"| {name} | {100 * c:.2f}% | {100 * w:.1f}% | {ms:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
