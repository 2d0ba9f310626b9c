"""Simulated user: fine-tune on N real word crops the model never saw, measure CER on the rest.

    python benchmarks/bench_finetune.py [--model model/nepocr.pt] [--sizes 50 200] [--threads 2]

Uses the word-disjoint validation split of ``../shared/data/nepali_lens_words`` (never trained
on). The fine-tune set and the test set are also split by word, so the test words are new to
the fine-tuned model too. Prints CER before/after and wall time for each size.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from nepocr_desktop.finetuning import replay_material
from nepocr_desktop.lib.corpus import bucket, lens_words
from nepocr_desktop.lib.finetune import FinetuneConfig, finetune
from nepocr_desktop.lib.modelio import load_model
from nepocr_desktop.lib.preprocess import load_gray
from nepocr_desktop.lib.train import evaluate, prepare_validation
from nepocr_desktop.paths import bundled_model_path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--model", type=Path, default=bundled_model_path())
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=FinetuneConfig.epochs)
    ap.add_argument("--lr", type=float, default=FinetuneConfig.lr)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    split = lens_words(args.data / "nepali_lens_words")
    words = sorted({s.text for s in split.val}, key=lambda w: (bucket("user:" + w, 1 << 30), w))
    by_word: dict[str, list] = {}
    for s in split.val:
        by_word.setdefault(s.text, []).append((load_gray(s.path), s.text))
    lex, fonts = replay_material()
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
        row = {"samples": len(train), "test_images": len(test), "cer_before": round(before, 4),
               "cer_after": round(after, 4), "relative_reduction": round(1 - after / before, 4) if before else None,
               "general_cer_before": round(res.general_cer_before, 4),
               "general_cer_after": round(res.general_cer_after, 4), "seconds": round(secs, 1),
               "threads": args.threads, "lr": args.lr}
        results.append(row)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
