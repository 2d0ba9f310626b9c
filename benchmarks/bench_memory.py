"""Peak resident memory (RSS) while recognising 200 words, a page, and in the app's self-test.

    python benchmarks/bench_memory.py [--model PATH] [--n 200] [--exe dist/nepocr/nepocr]

Each scenario runs in a fresh process and its peak RSS is read from the kernel's accounting of
that process (``wait4`` rusage), so nothing of this script is counted:

- idle: the model loaded and warmed up, nothing read yet;
- words: ``Recognizer.recognize`` on N word images in one call (batched, as for a folder);
- page: a 3000x4000 page photo (word crops pasted in lines on paper) segmented into words
  with ``segment_page`` and every word read;
- app: the app's ``--self-test`` (Qt window offscreen, model, bundled samples), from source or
  from a built bundle with ``--exe``;
- app with a photo: the same, also opening the page above as a colour JPEG (a phone photo),
  shown and read as a page as from File > Open.

Figures are printed and written to the "Memory" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from common import ROOT, default_model, model_description, table, update_results, word_images
from PIL import Image, ImageChops, ImageOps

TARGET_MB = 500  # decimal megabytes (500 MB = 476.8 MiB)
PAGE_SIZE = (3000, 4000)  # width, height: a 12-megapixel phone photo

CHILD = textwrap.dedent("""
    import json, resource, sys
    import torch
    torch.set_num_threads({threads})
    from nepocr_desktop.recognizer import Recognizer
    from nepocr_desktop.lib.read.preprocess import load_gray
    from nepocr_desktop.lib.page.segment import segment_page
    mode, model, inputs = sys.argv[1], sys.argv[2] or None, sys.argv[3:]
    rec = Recognizer(model, device="cpu")
    rec.warmup()
    n = 0
    if mode == "words":
        n = len(rec.recognize(inputs))
    elif mode == "page":
        gray = load_gray(inputs[0])
        page = segment_page(gray)
        straight = page.straighten(gray)
        crops = [straight[w.straight_box.y0:w.straight_box.y1, w.straight_box.x0:w.straight_box.x1]
                 for w in page.words]
        n = len(rec.recognize(crops))
    print(json.dumps({{"items": n}}))
""")


def _mb(mib: float) -> float:
    return mib * 2**20 / 1e6


def peak_rss(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> tuple[float, str]:
    """Run ``cmd``; return its peak RSS in MiB and its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[:3]} failed ({proc.returncode}): {err.read().decode()[-800:]}")
        kib = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024
        return kib / 1024.0, out.read().decode()


def make_page(words: list[Path], path: Path, seed: int = 0) -> int:
    """Paste word crops in lines onto a page-sized sheet of paper; returns how many fit."""
    rng = np.random.default_rng(seed)
    w, h = PAGE_SIZE
    page = Image.new("L", (w, h), 238)
    x, y, line_h, placed = 150, 200, 0, 0
    for p in words:
        with Image.open(p) as im:
            crop = im.convert("L")
        scale = 110 / crop.height  # about 110 px text height, a page photographed at arm's length
        crop = crop.resize((max(1, round(crop.width * scale)), 110))
        if x + crop.width > w - 150:
            x, y = 150, y + line_h + 90
            line_h = 0
        if y + crop.height > h - 200:
            break
        crop = ImageOps.autocontrast(crop, cutoff=2)  # the crop's paper to white, ink to black
        box = (x, y, x + crop.width, y + crop.height)
        page.paste(ImageChops.darker(page.crop(box), crop), box)  # ink only, on the page's paper
        x += crop.width + int(rng.integers(60, 120))
        line_h = max(line_h, crop.height)
        placed += 1
    page.save(path)
    return placed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="model file (default: the bundled model)")
    ap.add_argument("--n", type=int, default=200, help="word images (default 200)")
    ap.add_argument("--data", type=Path, default=None, help="labelled word folder (default: shared lens words)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--exe", type=Path, default=None, help="also measure this built app's --self-test")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args(argv)

    items, source = word_images(args.n, args.data)
    paths = [str(w.path) for w in items]
    model = str(args.model.resolve()) if args.model else ""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS=str(args.threads))
    child = [sys.executable, "-c", CHILD.format(threads=args.threads)]

    rows = [["scenario", "peak RSS"]]
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="nepocr-bench-") as tmp:
        page = Path(tmp) / "page.png"
        placed = make_page([Path(p) for p in paths], page)
        photo = Path(tmp) / "page-photo.jpg"
        with Image.open(page) as im:  # warm paper, dark blue-black ink: a colour phone photo
            Image.merge("RGB", [im.point(lambda v: min(255, v + 6)), im, im.point(lambda v: v * 0.9)]
                        ).save(photo, quality=90)
        figures["idle"], _ = peak_rss([*child, "idle", model], env)
        figures["words"], _ = peak_rss([*child, "words", model, *paths], env)
        mib, out = peak_rss([*child, "page", model, str(page)], env)
        figures["page"] = mib
        found = json.loads(out.strip().splitlines()[-1])["items"]
        app_env = dict(env, QT_QPA_PLATFORM="offscreen", NEPOCR_DATA_DIR=str(Path(tmp) / "data"))
        app_args = ["--self-test"] + (["--model", model] if model else [])
        figures["app"], _ = peak_rss([sys.executable, "-m", "nepocr_desktop", *app_args], app_env)
        figures["app+photo"], out = peak_rss([sys.executable, "-m", "nepocr_desktop", *app_args, str(photo)],
                                             app_env)
        photo_words = next((line.split(": ")[1] for line in out.splitlines() if line.startswith(photo.name)), "?")
        if args.exe:
            exe_env = {k: v for k, v in app_env.items() if k != "PYTHONPATH"}
            figures["bundle"], _ = peak_rss([str(args.exe.resolve()), *app_args], exe_env, cwd=Path(tmp))
            figures["bundle+photo"], _ = peak_rss([str(args.exe.resolve()), *app_args, str(photo)], exe_env,
                                                  cwd=Path(tmp))

    def size(mib: float) -> str:
        return f"{mib:.0f} MiB ({_mb(mib):.0f} MB)"

    rows += [["model loaded, nothing read", size(figures["idle"])],
             [f"{len(paths)} words in one call", size(figures["words"])],
             [f"page {PAGE_SIZE[0]}x{PAGE_SIZE[1]} ({placed} words pasted, {found} found and read)",
              size(figures["page"])],
             ["app --self-test (source)", size(figures["app"])],
             [f"app --self-test, also opening the page as a colour JPEG ({photo_words})", size(figures["app+photo"])]]
    if "bundle" in figures:
        rows.append([f"app --self-test ({args.exe})", size(figures["bundle"])])
        rows.append(["the same, also opening the colour JPEG", size(figures["bundle+photo"])])
    worst = max(figures.values())
    names = {"idle": "model loaded", "words": "words", "page": "page", "app": "app (source)",
             "app+photo": "app (source) with the photo", "bundle": "bundle", "bundle+photo": "bundle with the photo"}
    over = [names[k] for k, v in figures.items() if _mb(v) >= TARGET_MB]
    verdict = "misses" if over else "meets"
    model_path = Path(model) if model else default_model(None)
    body = "\n".join([
        f"Images: {source}. Model: {model_description(model_path)}. CPU threads: {args.threads}.",
        "",
        table(rows),
        "",
        f"- Highest peak: {size(worst)} ({verdict} the < {TARGET_MB} MB target)"
        + (f"; over it: {', '.join(over)}." if over else "."),
    ])
    print(body)
    if not args.no_write:
        update_results("memory", "Memory (peak RSS)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
