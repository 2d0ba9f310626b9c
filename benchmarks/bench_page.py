"""End-to-end time of a ~300-word handwritten page on CPU: segmentation plus recognition.

    python tools/make_page_testset.py --out data_cache/pages --pages 2 --seed 2
    python benchmarks/bench_page.py data_cache/pages [--model model/nepocr.pt] [--threads 1 2]

Two generated pages (real word crops on paper) are stacked into one tall page so that it holds
about 300 words; the page is read three times and the median is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from nepocr_desktop.lib.page.segment import segment_page
from nepocr_desktop.lib.read.preprocess import load_gray
from nepocr_desktop.page import read_page
from nepocr_desktop.paths import bundled_model_path
from nepocr_desktop.recognizer import Recognizer


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pages", type=Path, help="folder of generated page_*.png")
    ap.add_argument("--model", type=Path, default=bundled_model_path())
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    files = sorted(args.pages.glob("page_*.png"))[:2]
    grays = [load_gray(f) for f in files]
    w = max(g.shape[1] for g in grays)
    page = np.vstack([np.pad(g, ((0, 0), (0, w - g.shape[1])), constant_values=int(np.median(g))) for g in grays])
    for threads in args.threads:
        torch.set_num_threads(threads)
        rec = Recognizer(args.model, device="cpu")
        rec.warmup()
        seg, total, words = [], [], 0
        for _ in range(3):
            t0 = time.perf_counter()
            structure = segment_page(page)
            t1 = time.perf_counter()
            result = read_page(rec, page, page=structure)
            t2 = time.perf_counter()
            seg.append(t1 - t0)
            total.append(t2 - t0)
            words = len(result.words)
        print(f"{page.shape[1]}x{page.shape[0]} page, {words} words, {threads} thread(s): "
              f"{statistics.median(total):.2f} s end to end (segmentation {statistics.median(seg):.2f} s), "
              f"{1000 * statistics.median(total) / max(1, words):.1f} ms per word")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
