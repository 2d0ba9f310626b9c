"""Reading while the app learns: how slow the window and the reading get during fine-tuning.

    python benchmarks/bench_learning.py [--samples 40] [--data DIR] [--no-write]

Run as the app runs: an offscreen Qt application whose event loop is timed by a 10 ms timer (how
late each tick comes is how long the window would not answer), a reading thread that reads one
word as the Write tab hands it over every 100 ms (``recognize_drawings``, the word list), and the
app's own fine-tuning worker (``gui/finetune_worker.py``, on its low-priority QThread) learning
from ``--samples`` corrections in a sample store of a temporary folder. The figures are taken
first with nothing learning, then for as long as learning runs. torch uses its default threads,
as the app does.

Words read: pen strokes of the words of ``--data`` (by default ``data_cache/eval/lens_val``, or the
rendered words of ``common.word_images``) drawn as the Write tab draws them; the corrections
learned from: other words of the same folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from common import ROOT, percentile, table, update_results, word_images

TICK_MS = 10
READ_EVERY = 0.1


class Sampler:
    """Event-loop lag (ms late per tick) and reading times (ms), in phases."""

    def __init__(self) -> None:
        self.phase = "idle"
        self.lag: dict[str, list[float]] = {"idle": [], "learning": []}
        self.read: dict[str, list[float]] = {"idle": [], "learning": []}
        self._last = time.perf_counter()

    def start(self) -> None:
        self._last = time.perf_counter()

    def tick(self) -> None:
        now = time.perf_counter()
        self.lag[self.phase].append(max(0.0, (now - self._last) * 1000 - TICK_MS))
        self._last = now


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "data_cache" / "eval" / "lens_val")
    parser.add_argument("--samples", type=int, default=40, help="corrections learned from")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds measured with nothing learning")
    parser.add_argument("--no-settle", action="store_true",
                        help="leave out the app's settle_heap after the model is loaded (to measure without it)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md as it is")
    args = parser.parse_args()

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from nepocr_desktop.gui.finetune_worker import FinetuneJob, FinetuneWorker, start_worker
    from nepocr_desktop.lib.read.preprocess import load_gray
    from nepocr_desktop.lib.storage.store import SampleStore
    from nepocr_desktop.lib.system.memory import settle_heap
    from nepocr_desktop.lib.training.strokes import WritingStyle, redraw_as_strokes
    from nepocr_desktop.paths import bundled_model_path
    from nepocr_desktop.recognizer import Recognizer

    items, described = word_images(args.samples + 60, args.data if args.data.is_dir() else None)
    if len(items) < args.samples + 20:
        print(f"error: {len(items)} words found, {args.samples + 20} needed", file=sys.stderr)
        return 1
    rng = np.random.default_rng(0)
    learn, read = items[: args.samples], items[args.samples:]
    style = WritingStyle(pen=5.0, spacing=3.0, reading=True)  # drawn as the Write tab hands writing over
    reading = [redraw_as_strokes(load_gray(w.path), rng, style) for w in read]
    store = SampleStore(Path(tempfile.mkdtemp(prefix="nepocr-bench-")) / "samples.sqlite3")
    ids = [store.add(load_gray(w.path), w.text, source="import") for w in learn]

    app = QApplication.instance() or QApplication([])
    sampler = Sampler()
    rec = Recognizer(None, lexicon=True, beam=8)
    rec.warmup()
    if not args.no_settle:
        settle_heap()  # as the app does once a model is loaded
    stop = threading.Event()

    def reader() -> None:
        i = 0
        while not stop.is_set():
            t = time.perf_counter()
            rec.recognize_drawings([reading[i % len(reading)]])
            sampler.read[sampler.phase].append((time.perf_counter() - t) * 1000)
            i += 1
            stop.wait(READ_EVERY)

    timer = QTimer(interval=TICK_MS)
    timer.timeout.connect(sampler.tick)
    sampler.start()
    timer.start()
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    end = time.time() + args.idle
    while time.time() < end:
        app.processEvents()
        time.sleep(0.001)

    worker = FinetuneWorker(FinetuneJob(bundled_model_path(), store, ids))
    outcome: list[object] = []
    worker.finished.connect(outcome.append)
    worker.failed.connect(outcome.append)
    sampler.phase = "learning"
    started = time.time()
    qthread = start_worker(worker)
    while not qthread.isFinished() or not outcome:
        app.processEvents()
        time.sleep(0.001)
    seconds = time.time() - started
    stop.set()
    thread.join()
    timer.stop()
    qthread.wait()
    store.close()

    rows = [["", "window: ms late per 10 ms tick, p50 / p95 / max", "ticks 50 ms or more late",
             "one word read, ms p50 / p95 / max", "words read"]]
    for phase in ("idle", "learning"):
        lag, rd = sampler.lag[phase], sampler.read[phase]
        rows.append([phase if phase == "idle" else f"learning ({seconds:.0f} s)",
                     " / ".join(f"{percentile(lag, q):.1f}" for q in (50, 95)) + f" / {max(lag):.0f}",
                     f"{sum(v >= 50 for v in lag)} of {len(lag)}",
                     " / ".join(f"{percentile(rd, q):.1f}" for q in (50, 95)) + f" / {max(rd):.0f}",
                     len(rd)])
    result = outcome[0]
    what = result if isinstance(result, str) else (
        f"{'new model' if result.accepted else 'base kept'} ({result.train_samples} samples learned from)")
    body = (f"Words: {described}; {args.samples} learned from (as imported images), the others read as "
            f"pen strokes. torch threads: {__import__('torch').get_num_threads()}; "
            f"{'without' if args.no_settle else 'with'} settle_heap. Learning ended: {what}.\n\n"
            + table(rows))
    print(body)
    if not args.no_write:
        update_results("learning", "Reading while the app learns", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
