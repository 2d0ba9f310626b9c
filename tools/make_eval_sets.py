"""Write the evaluation folders the model card's scores are measured on.

    python tools/make_eval_sets.py --data ../shared/data --out data_cache/eval

- ``lens_val``: the word-disjoint validation split of the real word crops (never trained on)
- ``dhcd_heldout``: the 10% of DHCD Train held out by file hash, as one-character words
- ``synth_heldout_fonts``: validation words rendered in fonts never used in training
- ``synth_punct``: validation words with a danda (।) or comma after them, rendered in the held-out
  fonts (the mark is the font's own): how often a sentence's last word keeps its danda;
  ``synth_punct_dev`` the same with the training crops' words, for choosing how decoding weighs a mark
- ``synth_dev``: the labels of the training crops of ``nepali_lens_words`` (words people wrote,
  so as many of them are in the word lists as in running text: about 73%) rendered in the
  held-out fonts. It is where decoding weights (word list, language model) are chosen, so
  ``lens_val`` is never tuned on.
Each folder holds ``images/`` and ``labels.tsv`` for ``nepocr eval``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import cv2
import numpy as np

from nepocr_desktop.lib.training.augment import augment_synthetic
from nepocr_desktop.lib.training.corpus import lens_words, load_glyphs
from nepocr_desktop.lib.training.marks import can_take_mark
from nepocr_desktop.lib.training.synth import find_fonts, render_text


def _write(folder: Path, rows: list[tuple[str, str]]) -> None:
    (folder / "labels.tsv").write_text("".join(f"{p}\t{t}\n" for p, t in rows), encoding="utf-8")
    print(f"{folder}: {len(rows)} samples")


def _render_words(folder: Path, n: int, text_for, font_for, pen: float, rng: np.random.Generator) -> None:
    """``n`` words rendered in held-out fonts and augmented: ``text_for(k)`` and ``font_for(k, fonts)``
    say which, ``rng`` draws the rest."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    fonts = find_fonts(held_out=True)
    rows = []
    for k in range(n):
        text = text_for(k)
        img = render_text(text, font_for(k, fonts), size=int(rng.integers(36, 60)))
        img = augment_synthetic(img, rng, pen=pen)
        name = f"images/{k:04d}.png"
        cv2.imwrite(str(folder / name), img)
        rows.append((name, text))
    _write(folder, rows)


def _write_dev(args: argparse.Namespace, texts: list[str]) -> None:
    rng = np.random.default_rng(11)
    _render_words(args.out / "synth_dev", args.dev, lambda k: texts[int(rng.integers(len(texts)))],
                  lambda k, fonts: fonts[int(rng.integers(len(fonts)))], 0.3, rng)


def _write_punct(args: argparse.Namespace, name: str, words: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    _render_words(args.out / name, args.punct,
                  lambda k: words[int(rng.integers(len(words)))] + ("," if rng.random() < 0.2 else "।"),
                  lambda k, fonts: fonts[k % len(fonts)], 0.2, rng)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("data_cache/eval"))
    ap.add_argument("--synth", type=int, default=400, help="synthetic test words")
    ap.add_argument("--dev", type=int, default=600, help="synthetic words for choosing decoding weights")
    ap.add_argument("--punct", type=int, default=300, help="synthetic test words with a mark after them")
    ap.add_argument("--only", choices=["lens_val", "dhcd_heldout", "synth_heldout_fonts", "synth_dev", "synth_punct"],
                    help="write only this folder")
    args = ap.parse_args()

    # the labels as the collection has them, so that the sets stay the ones every figure was measured on
    split = lens_words(args.data / "nepali_lens_words", corrections={})
    if args.only in (None, "synth_dev"):
        _write_dev(args, [s.text for s in split.train])
    if args.only in (None, "synth_punct"):
        _write_punct(args, "synth_punct", sorted({s.text for s in split.val if can_take_mark(s.text)}), 13)
        _write_punct(args, "synth_punct_dev", sorted({s.text for s in split.train if can_take_mark(s.text)}), 17)
    if args.only not in (None, "lens_val", "dhcd_heldout", "synth_heldout_fonts"):
        return 0
    lens = args.out / "lens_val"
    (lens / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for s in split.val:
        dst = lens / "images" / s.path.name
        shutil.copyfile(s.path, dst)
        rows.append((f"images/{s.path.name}", s.text))
    _write(lens, rows)
    if args.only == "lens_val":
        return 0

    glyphs = load_glyphs(args.data, cache=Path("data_cache/glyphs.npz"))
    dh = args.out / "dhcd_heldout"
    (dh / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in np.flatnonzero(glyphs.held_out):
        name = f"images/{i}.png"
        cv2.imwrite(str(dh / name), glyphs.images[i])
        rows.append((name, glyphs.texts[i]))
    _write(dh, rows)
    if args.only == "dhcd_heldout":
        return 0

    words = sorted({s.text for s in split.val})
    _render_words(args.out / "synth_heldout_fonts", args.synth, lambda k: words[k % len(words)],
                  lambda k, fonts: fonts[k % len(fonts)], 0.2, np.random.default_rng(7))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
