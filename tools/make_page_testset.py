"""Build synthetic handwritten pages from real word crops, and score page segmentation on them.

Real word crops (``nepali_lens_words``) are placed in lines on paper-like backgrounds (tint,
texture, uneven light, optional ruled lines, a small rotation of the whole page), and each
``page_XXX.png`` gets a ``page_XXX.json`` with the true word boxes and texts. Only words whose
label hashes into a fixed quarter of the label space are used, so the set is reproducible; with
``--unseen`` only words of the training's validation split (never trained on), so the page CER
is that of words the model never saw.

``--condition`` inks and scans the same pages otherwise (``page_conditions.py``): ``black`` (the
gray pages above), ``blue``, ``red``, ``pink`` (a light pink pen), ``green``, ``faint`` (pencil,
light pressure), ``thin`` (a fine pen), ``ruled`` (ruled paper, a red margin, a printed frame),
``scan`` (yellowed paper, a shadow, dust, show-through, blur, JPEG), ``bw`` (a black-and-white
scanner: black or blue pen, one threshold, no grey); ``all`` writes each into a subfolder. Pages
other than ``black`` are RGB.

    python tools/make_page_testset.py --out /tmp/pages --pages 20 [--unseen] [--condition all]
    python tools/make_page_testset.py --eval /tmp/pages [--model model/nepocr.pt] [--show DIR]

``--eval`` reports word detection precision / recall at IoU >= 0.5, line counts and reading
order; with a model (the bundled one by default, if present) also the page-level CER of
``read_page`` and the CER of reading the true word boxes. Pages are read as the app reads them
(``load_gray``). Given a folder of condition subfolders, it scores each and prints a table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import page_conditions
from page_conditions import CONDITIONS

from nepocr_desktop.lib.page.containers import Box, Page
from nepocr_desktop.lib.page.segment import segment_page
from nepocr_desktop.lib.read.metrics import error_rates
from nepocr_desktop.lib.read.preprocess import ink_bbox, ink_map, load_gray
from nepocr_desktop.lib.training.corpus import lens_words

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "nepali_lens_words"
IOU = 0.5


def word_pool(data_dir: Path = DATA, buckets: int = 4) -> list[tuple[Path, str]]:
    """(image, label) rows whose label's hash falls in bucket 0 of ``buckets``."""
    rows = []
    for line in (data_dir / "labels_devanagari_only.tsv").read_text(encoding="utf-8").splitlines():
        name, _, label = line.partition("\t")
        label = label.strip()
        if label and int(hashlib.sha1(label.encode()).hexdigest(), 16) % buckets == 0:
            rows.append((data_dir / name, label))
    return rows


def word_ink(path: Path) -> np.ndarray | None:
    """Float ink map of a crop, cut to its ink; None for an empty or unreadable crop."""
    try:
        ink = ink_map(load_gray(path))
    except ValueError:
        return None
    box = ink_bbox(ink)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    ink = ink[y0:y1, x0:x1]
    ink = np.where(ink < 0.2, 0.0, ink).astype(np.float32)
    return ink if min(ink.shape) >= 4 else None


def _paper(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    base = rng.uniform(195, 245)
    low = cv2.resize(rng.normal(0, 1, (max(2, h // 64), max(2, w // 64))), (w, h), interpolation=cv2.INTER_CUBIC)
    paper = base + 6 * low + rng.normal(0, rng.uniform(2, 6), (h, w))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = rng.uniform(0, 2 * math.pi)
    ramp = (np.cos(t) * xx / w + np.sin(t) * yy / h)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    return paper * (1.0 - rng.uniform(0.1, 0.35) * ramp)


def make_page(rng: np.random.Generator, pool: list[tuple[Path, str]], cache: dict,
              size: tuple[int, int] = (1240, 1754), condition: str = "black",
              crng: np.random.Generator | None = None) -> tuple[np.ndarray, dict]:
    """One page image and its ground truth (lines of words with boxes).

    ``black`` pages are gray; the other conditions (:mod:`page_conditions`) are RGB, with the
    same words in the same places for the same ``rng``: their own draws come from ``crng``.
    """
    crng = crng if crng is not None else np.random.default_rng(0)
    w, h = size
    text_h = rng.uniform(34, 60)
    pitch = text_h * rng.uniform(1.35, 2.2)
    left, right, top = int(rng.uniform(60, 150)), int(w - rng.uniform(50, 110)), rng.uniform(90, 170)
    ink = np.zeros((h, w), np.float32)
    owner = np.zeros((h, w), np.int32)
    words: list[dict] = []
    lines: list[list[int]] = []
    y = top
    while y + pitch < h - 80:
        x = left + rng.uniform(0, 0.8 * text_h)
        drift = math.tan(math.radians(rng.uniform(-0.8, 0.8)))
        stop = right if rng.random() > 0.15 else rng.uniform(left + 0.3 * (right - left), right)
        line: list[int] = []
        while True:
            path, label = pool[int(rng.integers(len(pool)))]
            if path not in cache:
                cache[path] = word_ink(path)
            crop = cache[path]
            if crop is None:
                continue
            s = text_h * rng.uniform(0.85, 1.15) / crop.shape[0]
            cw, ch = max(4, round(crop.shape[1] * s)), max(4, round(crop.shape[0] * s))
            if x + cw > stop:
                break
            c = cv2.resize(crop, (cw, ch), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
            rows = c[: max(1, int(0.6 * ch))].sum(axis=1)
            head = int(np.argmax(rows))          # the head line hangs on the line's rule
            x0 = int(x)
            y0 = int(y + (x - left) * drift + rng.normal(0, 0.06 * text_h)) - head
            if y0 < 0 or y0 + ch > h:
                break
            region = ink[y0:y0 + ch, x0:x0 + cw]
            owner[y0:y0 + ch, x0:x0 + cw][c > 0.3] = len(words) + 1
            np.maximum(region, c, out=region)
            line.append(len(words))
            words.append({"text": label})
            x += cw + text_h * rng.uniform(0.4, 1.0)
        if line:
            lines.append(line)
        y += pitch
    rules = np.zeros((h, w), np.float32)
    if rng.random() < 0.5:
        offset = rng.choice([0.0, 0.75]) * text_h
        for k in range(int((h - top) / pitch) + 2):
            yy = int(top - pitch + k * pitch + offset)
            if 0 < yy < h:
                cv2.line(rules, (0, yy), (w, yy), rng.uniform(0.25, 0.5), int(rng.integers(1, 3)))
    if rng.random() < 0.4:
        cv2.line(rules, (left - 25, 0), (left - 25, h), rng.uniform(0.3, 0.5), 2)
    layers = []
    if condition == "ruled":
        layers = page_conditions.form_layers(crng, (h, w), text_h, pitch, top, left, right, y + 0.3 * pitch)
    angle = float(rng.uniform(-4, 4))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    ink = cv2.warpAffine(ink, m, (w, h), flags=cv2.INTER_LINEAR)
    rules = cv2.warpAffine(rules, m, (w, h), flags=cv2.INTER_LINEAR)
    owner = cv2.warpAffine(owner, m, (w, h), flags=cv2.INTER_NEAREST)
    layers = [(cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR), rgb) for a, rgb in layers]
    pen = rng.uniform(15, 90)
    paper = _paper(rng, h, w)
    blur = rng.uniform(0.4, 1.0)
    quality = None
    if condition == "black":
        page = paper * (1 - rules) + (paper - 70) * rules
        page = page * (1 - ink) + pen * ink
        page = cv2.GaussianBlur(page, (0, 0), blur)
        image = np.clip(page, 0, 255).astype(np.uint8)
    else:
        image, ink, quality = page_conditions.render(crng, condition, paper, ink, rules, layers, text_h, blur)
    ys, xs = np.nonzero((owner > 0) & (ink > 0.3))
    ids = owner[ys, xs] - 1
    for k, wd in enumerate(words):
        sel = ids == k
        wd["box"] = [int(xs[sel].min()), int(ys[sel].min()), int(xs[sel].max()) + 1, int(ys[sel].max()) + 1] \
            if sel.any() else None
    gt_lines = [{"text": " ".join(words[i]["text"] for i in ln),
                 "words": [words[i] for i in ln if words[i]["box"]]} for ln in lines]
    gt = {"width": w, "height": h, "angle": angle, "text_height": text_h, "condition": condition,
          "lines": gt_lines}
    if quality is not None:
        gt["jpeg_quality"] = quality
    return image, gt


def unseen_pool(data_dir: Path = DATA) -> list[tuple[Path, str]]:
    """(image, label) rows of the word-disjoint validation split that training holds out."""
    return [(Path(s.path), s.text) for s in lens_words(data_dir).val]


def build(out: Path, pages: int, seed: int = 0, unseen: bool = False, condition: str = "black") -> None:
    """``pages`` pages of one condition into ``out``; the same seed puts the same words in the
    same places whatever the condition."""
    out.mkdir(parents=True, exist_ok=True)
    pool = unseen_pool() if unseen else word_pool()
    rng = np.random.default_rng(seed)
    cache: dict = {}
    for i in range(pages):
        crng = np.random.default_rng([seed, i, CONDITIONS.index(condition)])
        image, gt = make_page(rng, pool, cache, condition=condition, crng=crng)
        name = f"page_{i:03d}"
        quality = gt.get("jpeg_quality")
        gt["image"] = f"{name}.jpg" if quality else f"{name}.png"
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(out / gt["image"]), image, [cv2.IMWRITE_JPEG_QUALITY, quality] if quality else [])
        (out / f"{name}.json").write_text(json.dumps(gt, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {pages} {condition} pages ({len(pool)} candidate words) to {out}")


@dataclass
class Detection:
    gt: int
    predicted: int
    matched: int
    lines_true: int
    lines_found: int
    order_ok: int      # matched words whose successor in reading order is matched and in order
    order_pairs: int

    @property
    def precision(self) -> float:
        return self.matched / max(self.predicted, 1)

    @property
    def recall(self) -> float:
        return self.matched / max(self.gt, 1)


def match(pred: list[Box], gt: list[Box], thresh: float = IOU) -> dict[int, int]:
    """Greedy one-to-one matching by IoU: ground-truth index -> predicted index."""
    pairs = sorted(((g.iou(p), i, j) for i, g in enumerate(gt) for j, p in enumerate(pred)
                    if g.iou(p) >= thresh), reverse=True)
    used_g, used_p, out = set(), set(), {}
    for _, i, j in pairs:
        if i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
            out[i] = j
    return out


def score_page(page: Page, gt: dict) -> Detection:
    gt_boxes = [Box(*w["box"]) for ln in gt["lines"] for w in ln["words"]]
    pred = [w.box for w in page.words]
    m = match(pred, gt_boxes)
    ok = pairs = 0
    for i in range(len(gt_boxes) - 1):
        if i in m and i + 1 in m:
            pairs += 1
            ok += m[i] < m[i + 1]
    return Detection(len(gt_boxes), len(pred), len(m), len(gt["lines"]), len(page.lines), ok, pairs)


def _recognizer(model: str | None, threads: int = 1, lexicon: bool = False):
    try:
        import torch

        from nepocr_desktop.paths import bundled_model_path
        from nepocr_desktop.recognizer import Recognizer
    except ImportError as exc:
        print(f"no recognizer ({exc}); detection only")
        return None
    path = Path(model) if model else bundled_model_path()
    if not path.exists():
        print(f"no model at {path}; detection only")
        return None
    torch.set_num_threads(threads)
    return Recognizer(path, device="cpu", lexicon=lexicon)


def draw(gray: np.ndarray, page: Page, gt: dict | None = None) -> np.ndarray:
    """BGR picture: true boxes thin green, found words red, found lines blue polygons."""
    img = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    for ln in (gt or {}).get("lines", []):
        for w in ln["words"]:
            cv2.rectangle(img, tuple(w["box"][:2]), tuple(w["box"][2:]), (0, 170, 0), 1)
    for k, line in enumerate(page.lines):
        cv2.polylines(img, [np.array(line.polygon, np.int32)], True, (255, 120, 0), 1)
        for j, w in enumerate(line.words):
            cv2.rectangle(img, (w.box.x0, w.box.y0), (w.box.x1, w.box.y1), (0, 0, 255), 2)
            cv2.putText(img, f"{k}.{j}", (w.box.x0, w.box.y0 - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 200), 1)
    return img


def evaluate(folder: Path, model: str | None = None, show: Path | None = None, threads: int = 1,
             lexicon: bool = False) -> dict:
    """Detection figures over every page of ``folder`` (and CER when a model is available)."""
    rec = _recognizer(model, threads, lexicon)
    total = Detection(0, 0, 0, 0, 0, 0, 0)
    line_exact = 0
    page_pairs: list[tuple[str, str]] = []
    oracle_pairs: list[tuple[str, str]] = []
    files = sorted(folder.glob("page_*.json"))
    for f in files:
        gt = json.loads(f.read_text(encoding="utf-8"))
        gray = load_gray(folder / gt["image"])
        page = segment_page(gray)
        d = score_page(page, gt)
        for k in vars(total):
            setattr(total, k, getattr(total, k) + getattr(d, k))
        line_exact += d.lines_true == d.lines_found
        print(f"{f.stem}: P {d.precision:.3f} R {d.recall:.3f} lines {d.lines_found}/{d.lines_true} "
              f"angle {page.angle:+.2f} (true {gt['angle']:+.2f})")
        if show is not None:
            show.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(show / f"{f.stem}_boxes.png"), draw(gray, page, gt))
        if rec is not None:
            from nepocr_desktop.page import read_page

            truth = " ".join(ln["text"] for ln in gt["lines"])
            page_pairs.append((" ".join(read_page(rec, gray).text.split()), truth))
            boxes = [(w["box"], w["text"]) for ln in gt["lines"] for w in ln["words"]]
            crops = [gray[b[1]:b[3], b[0]:b[2]] for b, _ in boxes]
            oracle_pairs += [(getattr(r, "text", ""), t) for r, (_, t) in zip(rec.recognize(crops), boxes)]
    out = {"pages": len(files), "precision": total.precision, "recall": total.recall,
           "gt_words": total.gt, "found_words": total.predicted,
           "lines_true": total.lines_true, "lines_found": total.lines_found,
           "line_count_exact": line_exact, "reading_order": total.order_ok / max(total.order_pairs, 1)}
    if rec is not None:
        out["page_cer"], out["page_wer"] = error_rates(page_pairs)
        out["true_box_cer"], _ = error_rates(oracle_pairs)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write generated pages here")
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval", type=Path, metavar="DIR", help="score segmentation on pages in DIR")
    ap.add_argument("--model", help="model file for the CER figures (default: the bundled model)")
    ap.add_argument("--show", type=Path, metavar="DIR", help="save pictures of the boxes here")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for the recognizer")
    ap.add_argument("--lexicon", action="store_true",
                    help="read as the app does: beam 8 with the word list and character model")
    ap.add_argument("--unseen", action="store_true",
                    help="use only words of the validation split (never trained on)")
    ap.add_argument("--condition", choices=(*CONDITIONS, "all"), default="black",
                    help="ink, paper and scan of the pages (default black); all: one subfolder each")
    args = ap.parse_args(argv)
    if not args.out and not args.eval:
        ap.error("give --out and/or --eval")
    if args.out:
        for cond in CONDITIONS if args.condition == "all" else (args.condition,):
            build(args.out / cond if args.condition == "all" else args.out, args.pages, args.seed,
                  args.unseen, cond)
    if args.eval:
        folders = [args.eval / c for c in CONDITIONS if any((args.eval / c).glob("page_*.json"))]
        if not folders or any(args.eval.glob("page_*.json")):
            folders = [args.eval]
        results = {}
        for folder in folders:
            show = args.show / folder.name if args.show and len(folders) > 1 else args.show
            results[folder.name] = res = evaluate(folder, args.model, show, args.threads, args.lexicon)
            print(json.dumps(res, indent=1))
        if len(folders) > 1:
            print(table(results))
    return 0


def table(results: dict[str, dict]) -> str:
    """The figures of several folders as a Markdown table, one row a folder."""
    rows = ["| condition | pages | words | recall | precision | lines found / true | page CER | true-box CER |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        cer = f"{100 * r['page_cer']:.1f}%" if "page_cer" in r else "-"
        oracle = f"{100 * r['true_box_cer']:.1f}%" if "true_box_cer" in r else "-"
        rows.append(f"| {name} | {r['pages']} | {r['gt_words']} | {r['recall']:.3f} | {r['precision']:.3f} | "
                    f"{r['lines_found']}/{r['lines_true']} | {cer} | {oracle} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
