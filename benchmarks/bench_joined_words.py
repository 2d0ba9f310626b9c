"""How well joined words are cut: words joined from real crops, read by the model that cut them.

    python benchmarks/bench_joined_words.py [--data ../shared/data] [--n 600] [--seed 3] [--model M]

The real training crops of ``nepali_lens_words`` (the word-disjoint training split of ``nepocr
train``) are cut between aksharas where the model aligns them and joined, the start of one word to
the end of another (``lib/training/recombine.py``, as fine-tuning and ``--weights realjoin`` do).
The same model then reads ``--n`` joined words (greedy, spaces dropped: the joint's gap is sometimes
read as one; ``cer_with_spaces`` keeps them and ``read_with_space`` is the share of words read as two). A cut that gives part of an akshara to its neighbour leaves a label that does not
match the ink, so fewer errors here mean cleaner cuts. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from nepocr_desktop.lib.read.metrics import error_rates
from nepocr_desktop.lib.read.modelio import build_trainable, load_model
from nepocr_desktop.lib.read.preprocess import load_gray
from nepocr_desktop.lib.training.corpus import lens_words
from nepocr_desktop.lib.training.recombine import Recombined, word_pieces
from nepocr_desktop.paths import bundled_model_path
from nepocr_desktop.recognizer import Recognizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    folder = args.data / "nepali_lens_words"
    if not folder.exists():
        raise SystemExit(f"{folder} not found: this benchmark needs the real word crops")
    t0 = time.perf_counter()
    split = lens_words(folder)
    pairs = [(load_gray(s.path), s.text) for s in split.train]
    path = args.model or bundled_model_path()
    loaded = load_model(path)
    aligner = build_trainable(loaded.info, loaded).eval()
    pieces = [p for p in word_pieces(aligner, loaded.info.charset, loaded.info.preprocess, pairs) if p is not None]
    joined = Recombined(pieces)
    rng = np.random.default_rng(args.seed)
    words = [joined(rng) for _ in range(args.n)]
    readings = Recognizer(path, int8=False).recognize([img for img, _ in words])
    cer, wer = error_rates((r.text.replace(" ", ""), text) for r, (_, text) in zip(readings, words))
    cer_spaced, _ = error_rates((r.text, text) for r, (_, text) in zip(readings, words))
    spaced = sum(" " in r.text.strip() for r in readings) / max(1, len(readings))
    print(json.dumps({"model": str(path), "crops": len(pairs), "cut": len(pieces), "joined": args.n,
                      "seed": args.seed, "cer": round(100 * cer, 2), "wer": round(100 * wer, 1),
                      "cer_with_spaces": round(100 * cer_spaced, 2), "read_with_space": round(100 * spaced, 1),
                      "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
