"""Per-word latency and throughput of nepocr on CPU, beside Tesseract ``nep`` on the same images.

    python benchmarks/bench_latency.py [--model PATH] [--n 200] [--threads 1] [--data DIR]

nepocr is timed two ways: one image per call (latency p50/p95, as when a person checks one
word) and all images in one call (batched, as when a page or folder is read; the median of
``--repeat`` runs, as for Tesseract). Each time covers
reading the file, preprocessing, the network and decoding. Tesseract reads the same files from
a list file in one process with ``--psm 8`` (one word per image), so its start-up is paid once,
as nepocr's model loading is. Both are scored (CER) against the labels. The figures are printed
and written to the "Latency" section of benchmarks/RESULTS.md.
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

from common import model_description, percentile, table, update_results, word_images

TARGET_P50_MS = 10.0
TARGET_SPEEDUP = 5.0


def run_nepocr(model: Path | None, paths: list[Path], beam: int, lexicon: bool = False,
               int8: bool = True, repeat: int = 3) -> dict:
    from nepocr_desktop.lib.language.prior import LanguagePrior
    from nepocr_desktop.recognizer import Recognition, Recognizer

    t0 = time.perf_counter()
    rec = Recognizer(model, device="cpu", beam=beam, lexicon=lexicon, int8=int8)
    load_s = time.perf_counter() - t0
    rec.warmup()
    rec.recognize(paths[:8])  # file cache and allocator warm for both modes

    def unseen() -> None:
        """Each pass reads its words as never seen: the word scores the prior keeps are dropped."""
        if isinstance(rec.lexicon, LanguagePrior):
            rec.lexicon.forget()

    unseen()
    single_ms = []
    t0 = time.perf_counter()
    for p in paths:
        t1 = time.perf_counter()
        rec.recognize([p])
        single_ms.append((time.perf_counter() - t1) * 1000.0)
    single_total = time.perf_counter() - t0

    batch_runs = []
    for _ in range(repeat):
        unseen()
        t0 = time.perf_counter()
        results = rec.recognize(paths)
        batch_runs.append(time.perf_counter() - t0)
    texts = [r.text if isinstance(r, Recognition) else "" for r in results]
    failures = sum(not isinstance(r, Recognition) for r in results)
    return {"load_s": load_s, "single_ms": single_ms, "single_total": single_total,
            "batch_total": statistics.median(batch_runs), "batch_runs": batch_runs, "texts": texts,
            "failures": failures, "model": rec.model_path, "precision": rec.precision}


def run_tesseract(paths: list[Path], lang: str, threads: int, repeat: int = 3) -> dict | None:
    exe = shutil.which("tesseract")
    if exe is None:
        return None
    env = dict(os.environ, OMP_THREAD_LIMIT=str(threads))
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.txt"
        warm.write_text("".join(f"{p.resolve()}\n" for p in paths[:4]), encoding="utf-8")
        subprocess.run([exe, str(warm), str(Path(tmp) / "w"), "-l", lang, "--psm", "8"],
                       check=True, capture_output=True, env=env)
        lst = Path(tmp) / "list.txt"
        lst.write_text("".join(f"{p.resolve()}\n" for p in paths), encoding="utf-8")
        runs = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run([exe, str(lst), str(Path(tmp) / "out"), "-l", lang, "--psm", "8"],
                           check=True, capture_output=True, env=env)
            runs.append(time.perf_counter() - t0)
        pages = (Path(tmp) / "out.txt").read_text(encoding="utf-8").split("\f")
    version = subprocess.run([exe, "--version"], check=False, capture_output=True, text=True).stdout.split("\n")[0]
    return {"total": statistics.median(runs), "runs": runs, "texts": pages[: len(paths)],
            "version": version.strip()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="model file (default: the bundled model)")
    ap.add_argument("--n", type=int, default=200, help="number of word images (default 200)")
    ap.add_argument("--data", type=Path, default=None,
                    help="labelled word folder (default: ../shared/data/nepali_lens_words)")
    ap.add_argument("--threads", type=int, default=1,
                    help="CPU threads for torch and for Tesseract (default 1)")
    ap.add_argument("--beam", type=int, default=1, help="nepocr beam width (default 1: greedy)")
    ap.add_argument("--lang", default="nep", help="Tesseract language (default nep)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="batched runs of each reader; the median is reported (default 3)")
    ap.add_argument("--float", action="store_true", help="run nepocr's network in float32, not int8")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args(argv)

    import torch

    from nepocr_desktop.lib.read.charset import normalize_text
    from nepocr_desktop.lib.read.metrics import error_rates

    torch.set_num_threads(args.threads)
    items, source = word_images(args.n, args.data)
    paths = [w.path for w in items]
    refs = [normalize_text(w.text) for w in items]
    n = len(items)

    repeat = max(1, args.repeat)
    nep = run_nepocr(args.model, paths, args.beam, int8=not args.float, repeat=repeat)
    app = run_nepocr(args.model, paths, 1, lexicon=True, int8=not args.float, repeat=repeat)
    tess = run_tesseract(paths, args.lang, args.threads, repeat=repeat)

    p50, p95 = percentile(nep["single_ms"], 50), percentile(nep["single_ms"], 95)
    single_wps = n / nep["single_total"]
    batch_wps = n / nep["batch_total"]
    def scores(texts: list[str]) -> tuple[str, str]:
        pred = [normalize_text(t) for t in texts]
        cer, _ = error_rates(zip(pred, refs))
        return f"{100 * cer:.1f}%", f"{100 * sum(p == r for p, r in zip(pred, refs)) / n:.1f}%"

    app_wps = n / app["batch_total"]
    app_p50, app_p95 = percentile(app["single_ms"], 50), percentile(app["single_ms"], 95)
    rows = [["", "ms/word p50", "ms/word p95", "words/s", "CER", "words exactly right"],
            ["nepocr, one image per call", f"{p50:.2f}", f"{p95:.2f}", f"{single_wps:.0f}", "", ""],
            ["nepocr, all images in one call", f"{1000 / batch_wps:.2f} (mean)", "",
             f"{batch_wps:.0f}", *scores(nep["texts"])],
            ["nepocr as the app reads (beam 8, word list and character model), one image per call",
             f"{app_p50:.2f}", f"{app_p95:.2f}", f"{n / app['single_total']:.0f}", "", ""],
            ["the same, all images in one call", f"{1000 / app_wps:.2f} (mean)", "",
             f"{app_wps:.0f}", *scores(app["texts"])]]
    tess_wps = None
    if tess is not None:
        tess_wps = n / tess["total"]
        rows.append([f"Tesseract {args.lang} --psm 8, one process", f"{1000 / tess_wps:.2f} (mean)", "",
                     f"{tess_wps:.0f}", *scores(tess["texts"])])

    lines = [
        (f"Images: {source}. Model: {model_description(nep['model'])}, run in {nep['precision']}. "
         f"CPU threads: {args.threads}; beam {args.beam}. Model load: {nep['load_s']:.2f} s."),
        "",
        table(rows),
        "",
    ]
    if nep["failures"]:
        lines.append(f"nepocr could not read {nep['failures']} of the images.")
    verdict = "meets" if p50 < TARGET_P50_MS else "misses"
    lines.append(f"- p50 per word, single image: {p50:.2f} ms ({verdict} the < {TARGET_P50_MS:g} ms target).")
    if tess_wps:
        ratio_single, ratio_batch = single_wps / tess_wps, batch_wps / tess_wps
        verdict = "meets" if ratio_batch >= TARGET_SPEEDUP else "misses"
        lines.append(f"- Throughput vs Tesseract: {ratio_single:.1f}x one image per call, "
                     f"{ratio_batch:.1f}x batched ({verdict} the >= {TARGET_SPEEDUP:g}x target); as the "
                     f"app reads, {app_wps / tess_wps:.1f}x batched. {tess['version']}.")
        def spread(runs: list[float]) -> str:
            return f"{n / max(runs):.0f}-{n / min(runs):.0f}"
        lines.append(f"- Batched words/s over {repeat} runs each (medians above): nepocr {spread(nep['batch_runs'])}, "
                     f"Tesseract {spread(tess['runs'])}.")
    else:
        lines.append("- Tesseract is not installed: no comparison.")
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        update_results("latency", "Latency and throughput (CPU)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
