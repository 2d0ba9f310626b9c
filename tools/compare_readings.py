"""Compare two models word by word on the same images, from the files ``nepocr eval --predictions`` writes.

    nepocr eval data_cache/eval/hands_more --lexicon --model a.pt --predictions a.tsv
    nepocr eval data_cache/eval/hands_more --lexicon --model b.pt --predictions b.tsv
    python tools/compare_readings.py a.tsv b.tsv [--json]

Prints the CER of each, the difference B - A with its bootstrap interval (images resampled, paired),
and how many images B reads better, worse or the same: whether a difference is more than the
luck of which words a test set happens to hold.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from nepocr_desktop.lib.read.metrics import cer, edit_distance, paired_interval


def read_predictions(path: Path) -> dict[str, tuple[str, str]]:
    """path -> (label, reading)."""
    out = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split("\t")
        if len(parts) != 3:
            raise SystemExit(f"{path}:{n}: expected path<TAB>label<TAB>reading")
        out[parts[0]] = (parts[1], parts[2])
    return out


def compare(a: dict[str, tuple[str, str]], b: dict[str, tuple[str, str]], confidence: float = 0.9) -> dict:
    common = sorted(set(a) & set(b))
    if not common:
        raise SystemExit("the two files have no image in common")
    if any(a[p][0] != b[p][0] for p in common):
        raise SystemExit("the two files give different labels for the same image")
    lengths = np.array([max(1, len(a[p][0])) for p in common], np.float64)
    ea = np.array([edit_distance(a[p][1], a[p][0]) for p in common], np.float64)
    eb = np.array([edit_distance(b[p][1], b[p][0]) for p in common], np.float64)
    delta, lo, hi = paired_interval(ea, eb, lengths, confidence)
    return {"images": len(common), "cer_a": cer(ea, lengths), "cer_b": cer(eb, lengths),
            "delta": delta, "delta_low": lo, "delta_high": hi, "confidence": confidence,
            "b_better": int((eb < ea).sum()), "b_worse": int((eb > ea).sum()), "same": int((eb == ea).sum()),
            "only_in_one": len(set(a) ^ set(b))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--confidence", type=float, default=0.9)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    r = compare(read_predictions(args.a), read_predictions(args.b), args.confidence)
    if args.json:
        print(json.dumps(r))
        return 0
    pc = 100 * r["confidence"]
    print(f"{r['images']} images: CER {100 * r['cer_a']:.2f}% (A) -> {100 * r['cer_b']:.2f}% (B), "
          f"{100 * r['delta']:+.2f} points ({pc:.0f}% interval {100 * r['delta_low']:+.2f} to "
          f"{100 * r['delta_high']:+.2f}); B better on {r['b_better']}, worse on {r['b_worse']}, "
          f"the same on {r['same']}")
    if r["only_in_one"]:
        print(f"{r['only_in_one']} images are in only one file and were left out", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
