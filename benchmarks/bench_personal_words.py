"""The personal word list: how much reading a user's words again gains once they were corrected.

    python benchmarks/bench_personal_words.py [--sets lens_val lens_val_strokes lens_val_scanner]
        [--sizes 30 100 300] [--seeds 0 1 2] [--model M] [--threads 1]

A user corrects N images of a labelled set (a random draw of images, so a word may be written
again among the rest, as people do); the rest is read as the app reads (int8, beam search with the
word list and character model) without and with the words of those N corrections as the personal
word list. Prints one JSON object per set, size and seed: CER of all the other images, of those
whose word was among the corrections ("repeated") and of the others, before and after. No network
is trained: the gain is the word list's alone.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch

from nepocr_desktop.lib.read.metrics import edit_distance
from nepocr_desktop.lib.read.preprocess import load_gray
from nepocr_desktop.lib.storage.dataset import read_dataset
from nepocr_desktop.recognizer import Recognizer

EVAL = Path("data_cache/eval")


def rate(errors: list[int], lengths: list[int], keep: list[bool]) -> float | None:
    n = sum(c for c, k in zip(lengths, keep) if k)
    return round(100 * sum(e for e, k in zip(errors, keep) if k) / n, 2) if n else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", type=Path, default=EVAL, help="the labelled eval folders")
    ap.add_argument("--sets", nargs="+", default=["lens_val", "lens_val_strokes", "lens_val_scanner"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[30, 100, 300])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--model", type=Path, default=None, help="default: the bundled model")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rec = Recognizer(args.model, lexicon=True)
    for name in args.sets:
        folder = args.eval / name
        if not folder.is_dir():
            print(json.dumps({"set": name, "skipped": f"{folder} not found"}))
            continue
        rows = [s for s in read_dataset(folder) if s.text.strip()]
        images = {s.path: load_gray(s.path) for s in rows}
        for n in args.sizes:
            for seed in args.seeds:
                order = list(rows)
                random.Random(seed).shuffle(order)
                corrected, rest = order[:n], order[n:]
                words = {s.text for s in corrected}
                repeated = [s.text in words for s in rest]
                lengths = [len(s.text) for s in rest]
                row: dict = {"set": name, "corrections": n, "seed": seed, "other_images": len(rest),
                             "repeated_images": sum(repeated)}
                t0 = time.time()
                for when, user in (("before", []), ("after", [s.text for s in corrected])):
                    rec.set_user_words(user)
                    out = rec.recognize([images[s.path] for s in rest])
                    errors = [edit_distance(s.text, o.text) for s, o in zip(rest, out)]
                    row[f"cer_{when}"] = rate(errors, lengths, [True] * len(rest))
                    row[f"repeated_cer_{when}"] = rate(errors, lengths, repeated)
                    row[f"others_cer_{when}"] = rate(errors, lengths, [not r for r in repeated])
                row["seconds"] = round(time.time() - t0, 1)
                print(json.dumps(row, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
