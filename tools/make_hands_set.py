"""Write ``hands_heldout``: words in hands the model never saw, looking like binarised scans.

    python tools/make_hands_set.py --data ../shared/data --out data_cache/eval/hands_heldout

Each word is composed from handwritten characters that training never uses (DHCD's 10%
hold-out and NHCD writer 001, see ``RESERVED_WRITERS``), joined by a drawn head line, then
binarised with thin or thick strokes and specks as a scanner's black-and-white mode leaves them.
It stands in for other writers and scanners; its words are dictionary words whose aksharas
all have held-out images (mostly consonant clusters without vowel signs: DHCD and NHCD have no
matras).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from nepocr_desktop.lib.read.charset import split_aksharas
from nepocr_desktop.lib.storage.dataset import write_dataset
from nepocr_desktop.lib.training.augment import scan_look, to_gray, to_ink
from nepocr_desktop.lib.training.corpus import RESERVED_WRITERS, load_glyphs, vocabulary
from nepocr_desktop.lib.training.sources import GlyphWords


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("data_cache/eval/hands_heldout"))
    ap.add_argument("--cache", type=Path, default=Path("data_cache/glyphs.npz"))
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args(argv)
    glyphs = load_glyphs(args.data, cache=args.cache)
    unseen = glyphs.held_out | (np.isin(glyphs.writer, RESERVED_WRITERS) if glyphs.writer is not None else False)
    words = GlyphWords(glyphs, vocabulary(args.data, exclude=set()), ids=np.flatnonzero(unseen))
    if not words.words:
        print("no dictionary word can be composed from the held-out characters", file=sys.stderr)
        return 1
    rng = np.random.default_rng(args.seed)

    def composed():
        for _ in range(args.n):
            text = words.words[int(rng.integers(len(words.words)))]
            img = words.compose(split_aksharas(text), rng)
            yield to_gray(scan_look(to_ink(img), rng, threshold=(0.25, 0.5))), text

    count = write_dataset(args.out, composed())
    print(f"{args.out}: {count} images of {len(words.words)} composable words", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
