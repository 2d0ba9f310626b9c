"""Simulated user: fine-tune on N words of a user, measure CER on the rest of their words.

    python benchmarks/bench_finetune.py [--model model/nepocr.pt] [--sizes 50 200] [--threads 2]
                                        [--user crops|writer]

``--user crops`` (default): real word crops the model never saw, the word-disjoint validation
split of ``../shared/data/nepali_lens_words``. They come from many writers, so this measures
learning more of the same kind of data, not one person's hand.

``--user writer``: one consistent hand the model never saw, drawn as on the canvas: words of the
bundled lexicon rendered in a face held out of training (AnnapurnaSIL), redrawn with one pen
width and one slant (outside the slant range of training) and a little wobble per word.

Either way the fine-tune set and the test set are split by word, so the test words are new to
the fine-tuned model too. Prints CER before/after and wall time for each size, one JSON per line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from nepocr_desktop.finetuning import replay_material
from nepocr_desktop.lib.augment import elastic, pen_strokes, to_gray, to_ink, warp
from nepocr_desktop.lib.corpus import bucket, lens_words
from nepocr_desktop.lib.finetune import FinetuneConfig, finetune
from nepocr_desktop.lib.modelio import load_model
from nepocr_desktop.lib.preprocess import load_gray
from nepocr_desktop.lib.synth import find_fonts, render_text
from nepocr_desktop.lib.train import evaluate, prepare_validation
from nepocr_desktop.paths import bundled_model_path


class SimulatedWriter:
    """One hand: a held-out face, one pen (radius in pixels at 48 px type), one slant and
    stretch; small variation per word."""

    def __init__(self, font: Path, seed: int = 7, slant: float = 0.45, pen: float = 2.0, stretch: float = 1.2):
        self.font, self.seed, self.slant, self.pen, self.stretch = font, seed, slant, pen, stretch

    def write(self, word: str) -> np.ndarray:
        rng = np.random.default_rng([self.seed, bucket(word, 1 << 30)])
        ink = to_ink(render_text(word, self.font, size=48))
        ink = pen_strokes(ink, rng, radius=self.pen / ink.shape[0])
        ink = warp(ink, rng.uniform(-1.5, 1.5), self.slant + rng.uniform(-0.04, 0.04),
                   self.stretch * np.exp(rng.uniform(-0.05, 0.05)))
        ink = elastic(ink, rng, amp=0.012)
        return to_gray(np.clip(ink, 0, 1))


def crop_users(data: Path) -> tuple[list[str], dict[str, list]]:
    """Words (in a fixed shuffled order) and their real crops from the validation split."""
    split = lens_words(data / "nepali_lens_words")
    words = sorted({s.text for s in split.val}, key=lambda w: (bucket("user:" + w, 1 << 30), w))
    by_word: dict[str, list] = {}
    for s in split.val:
        by_word.setdefault(s.text, []).append((load_gray(s.path), s.text))
    return words, by_word


def writer_user(lexicon: list[str], count: int) -> tuple[list[str], dict[str, list]]:
    """``count`` lexicon words written by one simulated hand."""
    fonts = [f for f in find_fonts(held_out=True) if "annapurna" in f.name.lower()] or find_fonts(held_out=True)
    if not fonts:
        raise SystemExit("no held-out font (AnnapurnaSIL or Gargi) is installed: apt-get install fonts-sil-annapurna")
    writer = SimulatedWriter(min(fonts))
    pool = sorted((w for w in lexicon if 3 <= len(w) <= 10), key=lambda w: (bucket("writer:" + w, 1 << 30), w))
    words = pool[:count]
    return words, {w: [(writer.write(w), w)] for w in words}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--model", type=Path, default=bundled_model_path())
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=FinetuneConfig.epochs)
    ap.add_argument("--lr", type=float, default=FinetuneConfig.lr)
    ap.add_argument("--user", choices=["crops", "writer"], default="crops")
    ap.add_argument("--test-words", type=int, default=300, help="(--user writer) words in the test set")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    lex, fonts = replay_material()
    if args.user == "crops":
        words, by_word = crop_users(args.data)
    else:
        words, by_word = writer_user(lex, max(args.sizes) + args.test_words)
    base = load_model(args.model)
    results = []
    for n in args.sizes:
        train, test = [], []
        for w in words:
            (train if len(train) < n else test).extend(by_word[w])
        test_p = prepare_validation(test, base.info.preprocess)
        torch.manual_seed(0)
        t0 = time.time()
        res = finetune(base, train, lex, fonts, FinetuneConfig(epochs=args.epochs, lr=args.lr))
        secs = time.time() - t0
        before = evaluate(base.module, base.info.charset, test_p, torch.device("cpu"))[0]
        after = evaluate(res.model, res.info.charset, test_p, torch.device("cpu"))[0]
        row = {"user": args.user, "samples": len(train), "test_images": len(test), "cer_before": round(before, 4),
               "cer_after": round(after, 4), "relative_reduction": round(1 - after / before, 4) if before else None,
               "general_cer_before": round(res.general_cer_before, 4),
               "general_cer_after": round(res.general_cer_after, 4), "seconds": round(secs, 1),
               "threads": args.threads, "lr": res.lr}
        results.append(row)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
