"""Words written through the real Write tab with the X pointer, read as the app reads them.

Run from the project root with Xvfb, xdotool and ImageMagick installed::

    Xvfb :99 -screen 0 1400x900x24 &
    DISPLAY=:99 QT_QPA_PLATFORM=xcb python tools/replay_canvas.py data_cache/eval/lens_val --n 40 --out DIR

The first ``--n`` images of a labelled folder are reduced to the centre lines of their ink and
written as a mouse writes them (shake, sparse angular events: the styles of
``tools/make_stroke_set.py --mouse``) by moving the X pointer over the canvas of the running app
with the button held (xdotool), 130-220 page units high (``--height LOW HIGH`` for other sizes).
The app reads each word once the pen stops, and Ctrl+S saves it with its reading (background
learning is turned off, so the model given reads every word). The app's own sample store then holds
every word as the app read it: the tool prints the CER and WER of the app's readings against the
true words, and writes the images the app read to DIR (``labels.tsv``, the true words), so that
``nepocr eval DIR --json --lexicon --drawings`` shows whether the command line reads them alike.

``--lines 2`` writes the words in pairs, the second word on a line below the first, each 100-150
page units high (as ``benchmarks/bench_canvas_lines.py`` places them); the truth of a pair is the
two words with a space between them. ``--shot PNG`` keeps a screenshot of the last word or pair
read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nepocr_desktop.gui.settings import Settings
from nepocr_desktop.lib.read.metrics import error_rates
from nepocr_desktop.lib.read.preprocess import load_gray
from nepocr_desktop.lib.read.strokes import PAGE_WIDTH, PenStroke, ink_bounds
from nepocr_desktop.lib.storage.dataset import read_dataset, write_dataset
from nepocr_desktop.lib.storage.store import DB_NAME, SampleStore
from nepocr_desktop.lib.training.strokes import WritingStyle, simulate_writing, trace_strokes

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_canvas_lines import two_lines
from make_stroke_set import add_height_argument, heights
from take_screenshots import canvas_on_screen, draw, xdotool

ROOT = Path(__file__).resolve().parents[1]


def write(strokes, box: tuple[int, int, int, int]) -> None:
    """Move the X pointer along ``strokes`` (page units) over the canvas whose paper is ``box``."""
    x0, y0, w, _h = box
    scale = w / PAGE_WIDTH
    draw([[(round(x0 + x * scale), round(y0 + y * scale)) for x, y in s.points] for s in strokes])


def _at_origin(strokes: list[PenStroke]) -> list[PenStroke]:
    x0, y0, _x1, _y1 = ink_bounds(strokes)
    return [PenStroke(s.points - [x0, y0], s.widths) for s in strokes]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path, help="a labelled folder (labels.tsv)")
    ap.add_argument("--out", type=Path, required=True, help="where the images the app read are written")
    ap.add_argument("--n", type=int, default=40, help="words to write")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--model", help="model file (default: the bundled one)")
    ap.add_argument("--lines", type=int, choices=(1, 2), default=1, help="1: a word at a time; 2: pairs of words on two lines")
    ap.add_argument("--shot", type=Path, help="a screenshot of the last reading (PNG)")
    add_height_argument(ap)
    args = ap.parse_args()
    low, high = heights(ap, args)
    rows = [(s.path, s.text) for s in read_dataset(args.src)][: args.n]
    rng = np.random.default_rng(args.seed)
    data = Path(tempfile.mkdtemp(prefix="nepocr-replay-"))
    # every word is read by the model given: no learning in the background from the saved words
    settings = Settings(data / "settings.ini")
    settings.background_learning = False
    settings.sync()
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", NEPOCR_DATA_DIR=str(data))
    cmd = [sys.executable, "-m", "nepocr_desktop.gui"] + (["--model", args.model] if args.model else [])
    app = subprocess.Popen(cmd, cwd=ROOT, env=env)
    written: list[str] = []
    try:
        win, box = canvas_on_screen(data, data / "probe.png")
        for group in ([r] for r in rows) if args.lines == 1 else zip(rows[0::2], rows[1::2]):
            words = []
            for path, _text in group:
                gray = load_gray(path)
                paths, _width = trace_strokes(gray)
                height = float(rng.uniform(low, high) if args.lines == 1 else rng.uniform(100, 150))
                style = WritingStyle(pen=5.0, shake=float(rng.uniform(0.5, 2.0)), spacing=float(rng.uniform(6, 18)),
                                     height=height)
                words.append(simulate_writing(paths, gray.shape[0], style, rng))
            if not all(words):
                continue  # nothing to write
            strokes = words[0] if args.lines == 1 else two_lines(_at_origin(words[0]), _at_origin(words[1]), rng)
            if max(float(s.points[:, 0].max()) for s in strokes) > PAGE_WIDTH - 10:
                continue  # wider than the page
            write(strokes, box)
            time.sleep(2.0)  # the pen stops, the word is read
            if args.shot:
                subprocess.run(["import", "-window", "root", str(args.shot)], check=False)
            text = " ".join(t for _p, t in group)
            xdotool("windowfocus", "--sync", win)
            xdotool("key", "ctrl+s")  # saved with its reading; the canvas is cleared
            time.sleep(0.8)
            written.append(text)
    finally:
        app.terminate()
        app.wait(10)
    with SampleStore(data / DB_NAME) as store:
        samples = sorted(store.list(), key=lambda s: s.id)
        pairs = [(s.prediction or s.label, truth) for s, truth in zip(samples, written)]
        images = [(store.image(s.id), truth) for s, truth in zip(samples, written)]
    write_dataset(args.out, iter(images))
    cer, wer = error_rates([(pred, truth) for pred, truth in pairs])
    print(json.dumps({"written": len(written), "saved": len(samples), "cer": round(cer, 6), "wer": round(wer, 6),
                      "readings": [{"truth": t, "app": p} for p, t in pairs]}, ensure_ascii=False))
    return 0 if len(samples) == len(written) else 1


if __name__ == "__main__":
    raise SystemExit(main())
