"""Tesseract (``nep``) on a labelled folder, scored like ``nepocr eval``.

    python tools/eval_tesseract.py data_cache/eval/lens_val [--psm 8] [--json]

All images go through one Tesseract process (a list file), as a fair comparison.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from nepocr_desktop.lib.read.charset import normalize_text
from nepocr_desktop.lib.read.metrics import error_rates
from nepocr_desktop.lib.storage.dataset import read_dataset


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path)
    ap.add_argument("--psm", default="8", help="page segmentation mode (8: one word)")
    ap.add_argument("--lang", default="nep")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    samples = read_dataset(args.dir)
    with tempfile.TemporaryDirectory() as tmp:
        lst = Path(tmp) / "list.txt"
        lst.write_text("".join(f"{s.path.resolve()}\n" for s in samples))
        t0 = time.time()
        subprocess.run(["tesseract", str(lst), str(Path(tmp) / "out"), "-l", args.lang, "--psm", args.psm],
                       check=True, capture_output=True)
        secs = time.time() - t0
        pages = (Path(tmp) / "out.txt").read_text(encoding="utf-8").split("\f")
    preds = [normalize_text(p) for p in pages[: len(samples)]]
    cer, wer = error_rates(zip(preds, (normalize_text(s.text) for s in samples)))
    res = {"n": len(samples), "cer": cer, "wer": wer, "ms_per_word": 1000 * secs / max(1, len(samples))}
    print(json.dumps(res) if args.json else
          f"n {res['n']}  CER {100 * cer:.2f}%  WER {100 * wer:.2f}%  {res['ms_per_word']:.1f} ms/word")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
