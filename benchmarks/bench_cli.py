"""Many words in one ``nepocr recognize`` call against Tesseract ``nep``, whole processes.

    python benchmarks/bench_cli.py [--data DIR ...] [--n 484 870] [--runs 3]

Both are timed from the launch of their process to its exit, the start-up included: nepocr
reads every image named on its command line (``nepocr recognize IMG...``), Tesseract every
image of a list file, told that each image is one word (``tesseract LIST OUT -l nep --psm 8``)
and in its default page mode (``tesseract LIST OUT -l nep``, as a user runs it without options).
Each round runs the floor (``python -c "import torch"``), nepocr and Tesseract (both ways) once
for every word count; the medians are compared. One thread each (``OMP_NUM_THREADS=1``, ``OMP_THREAD_LIMIT=1``). The words
are the labelled images of the ``--data`` folders in order (default: data_cache/eval/lens_val,
then data_cache/eval/hands_heldout).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, table, update_results

TARGET_SPEEDUP = 8.0


def labelled(folders: list[Path]) -> list[tuple[Path, str]]:
    from nepocr_desktop.lib.storage.dataset import read_dataset

    return [(s.path, s.text) for folder in folders for s in read_dataset(folder)]


def cer(preds: list[str], refs: list[str]) -> float:
    from nepocr_desktop.lib.read.charset import normalize_text
    from nepocr_desktop.lib.read.metrics import error_rates

    return error_rates(zip((normalize_text(p) for p in preds), (normalize_text(r) for r in refs)))[0]


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed ({res.returncode}): {res.stderr[-800:]}")
    return seconds, res.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, nargs="+",
                    default=[ROOT / "data_cache" / "eval" / "lens_val", ROOT / "data_cache" / "eval" / "hands_heldout"])
    ap.add_argument("--n", type=int, nargs="+", default=[484, 870], help="word counts (default 484 870)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        sys.exit("tesseract is not installed")
    words = labelled([d for d in args.data if d.is_dir()])
    if len(words) < max(args.n):
        sys.exit(f"only {len(words)} labelled images in {', '.join(map(str, args.data))}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(OMP_NUM_THREADS="1", OMP_THREAD_LIMIT="1")
    times: dict[tuple[str, int], list[float]] = {}
    outputs: dict[tuple[str, int], str] = {}
    with tempfile.TemporaryDirectory(prefix="nepocr-bench-") as tmp:
        lists = {}
        for n in args.n:
            lists[n] = Path(tmp) / f"list{n}.txt"
            lists[n].write_text("".join(f"{p.resolve()}\n" for p, _ in words[:n]), encoding="utf-8")
        run([sys.executable, "-m", "nepocr_desktop", "recognize", str(words[0][0])], env)  # the int8 copy cached
        for _ in range(args.runs):
            for n in args.n:
                for name, cmd in (
                        ("floor", [sys.executable, "-c", "import torch"]),
                        ("nepocr", [sys.executable, "-m", "nepocr_desktop", "recognize",
                                    *(str(p.resolve()) for p, _ in words[:n])]),
                        ("tesseract", [tesseract, str(lists[n]), str(Path(tmp) / f"out{n}"), "-l", "nep",
                                       "--psm", "8"]),
                        ("tesseract_page", [tesseract, str(lists[n]), str(Path(tmp) / f"page{n}"), "-l", "nep"])):
                    seconds, out = run(cmd, env)
                    times.setdefault((name, n), []).append(seconds)
                    if name == "tesseract_page":
                        out = (Path(tmp) / f"page{n}.txt").read_text(encoding="utf-8")
                    if name == "tesseract":
                        out = (Path(tmp) / f"out{n}.txt").read_text(encoding="utf-8")
                    outputs[(name, n)] = out
    rows = [["words", "nepocr recognize", "Tesseract nep --psm 8", "speed-up", "Tesseract nep (default mode)",
             "speed-up", "import torch (floor)", "CER nepocr / Tesseract --psm 8 / default"]]
    verdicts = []
    for n in args.n:
        refs = [t for _, t in words[:n]]
        nep = [line.partition("\t")[2] for line in outputs[("nepocr", n)].splitlines()]
        tess = outputs[("tesseract", n)].split("\f")[:n]
        page = [" ".join(t.split()) for t in outputs[("tesseract_page", n)].split("\f")[:n]]
        m = {k: statistics.median(times[(k, n)]) for k in ("nepocr", "tesseract", "tesseract_page", "floor")}
        ratio, ratio_page = m["tesseract"] / m["nepocr"], m["tesseract_page"] / m["nepocr"]
        rows.append([str(n), f"{m['nepocr']:.2f} s ({n / m['nepocr']:.0f} words/s)",
                     f"{m['tesseract']:.2f} s ({n / m['tesseract']:.0f} words/s)", f"{ratio:.1f}x",
                     f"{m['tesseract_page']:.2f} s ({n / m['tesseract_page']:.0f} words/s)", f"{ratio_page:.1f}x",
                     f"{m['floor']:.2f} s",
                     f"{cer(nep, refs):.1%} / {cer(tess, refs):.1%} / {cer(page, refs):.1%}"])
        for label, r in (("Tesseract --psm 8", ratio), ("Tesseract in its default mode", ratio_page)):
            verdicts.append(f"{n} words: {r:.1f}x {label} ({'meets' if r >= TARGET_SPEEDUP else 'misses'} the "
                            f">= {TARGET_SPEEDUP:g}x target)")
        verdicts.append(f"{n} words: nepocr over the floor {m['nepocr'] - m['floor']:.2f} s")
    spread = "; ".join(f"{k} {n}: {min(v):.2f}-{max(v):.2f} s" for (k, n), v in sorted(times.items()))
    intro = (f"Words: the first N labelled images of {', '.join(d.name for d in args.data)} (in order). "
             f"{args.runs} rounds, medians; whole processes timed from launch to exit; one thread each.")
    body = "\n".join([
        intro, "",
        table(rows), "", *(f"- {v}." for v in verdicts), f"- Ranges: {spread}."])
    print(body)
    if not args.no_write:
        update_results("cli-throughput", "Many words in one call (whole processes)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
