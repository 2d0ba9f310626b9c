"""What fine-tuning learns from: the user's samples (read from a folder, drawn heavily augmented)
and the replayed words (the bundled word list and fonts)."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ...read.charset import DEFAULT_CHARSET, LabelError
from ...read.modelio import ModelInfo
from ...read.preprocess import ImageError, is_clean_drawing, load_gray, looks_drawn
from ...read.strokes import READING_PEN
from ...storage.dataset import label_problem, read_dataset
from ..augment import affine, elastic, paper, pen_strokes, stroke_width, to_gray, to_ink
from ..corpus import bucket
from ..recombine import Recombined
from ..sources import MixedStream, SynthWords
from ..strokes import WritingStyle, redraw_as_strokes, trace_strokes
from ..synth import FontSampler, render_text

Pair = tuple[np.ndarray, str]


class UserWords:
    """The user's samples, each drawn heavily augmented: warps, slant, stroke width, new paper;
    clean drawings (binarised scans) are sometimes redrawn with a round pen, and canvas drawings
    (``kinds`` "canvas", or images that look so: :func:`looks_drawn`) written again as canvas
    strokes in another writing style (:func:`redraw_as_strokes`).
    With ``recombined`` words, a ``recombine`` share of the samples are new words joined from
    the user's own (:mod:`..recombine`), augmented the same way."""

    def __init__(self, pairs: Sequence[Pair], kinds: Sequence[str] | None = None,
                 recombined: Recombined | None = None, recombine: float = 0.0):
        self.items = list(pairs)
        kinds = list(kinds) if kinds is not None else [""] * len(self.items)
        # written on the Write tab, or looking so (an image of such writing read from a folder)
        self.canvas = [k == "canvas" or looks_drawn(img) for k, (img, _) in zip(kinds, self.items)]
        self.clean = [c or is_clean_drawing(img) for c, (img, _) in zip(self.canvas, self.items)]
        self._traced: dict[int, tuple[list[np.ndarray], float]] = {}
        self.recombined = recombined if recombined is not None and len(recombined) >= 2 else None
        self.recombine = recombine

    def _redraw(self, i: int, rng: np.random.Generator) -> np.ndarray:
        img = self.items[i][0]
        if i not in self._traced:
            self._traced[i] = trace_strokes(img)
        return redraw_as_strokes(img, rng, paths=self._traced[i])

    def __call__(self, rng: np.random.Generator) -> Pair:
        if self.recombined is not None and rng.random() < self.recombine:
            img, text = self.recombined(rng)
            canvas, clean = False, is_clean_drawing(img)
        else:
            i = int(rng.integers(len(self.items)))
            img, text = self.items[i]
            canvas, clean = self.canvas[i], self.clean[i]
            if rng.random() < 0.15:
                return img, text
            if canvas and rng.random() < 0.4:
                img = self._redraw(i, rng)
                if rng.random() < 0.5:
                    return img, text
        ink = to_ink(img)
        r = rng.random()
        if clean and not canvas and r < 0.35:
            ink = pen_strokes(ink, rng)
        elif r < 0.6:
            ink = stroke_width(ink, rng)
        ink = affine(ink, rng, rot=3.0, shear=0.3, stretch=0.2)
        if rng.random() < 0.6:
            ink = elastic(ink, rng, amp=rng.uniform(0.005, 0.03))
        ink = np.clip(ink, 0, 1)
        if not clean and rng.random() < 0.3:
            return paper(ink, rng), text
        return to_gray(ink), text


class DrawnWords:
    """Font-rendered words written again as the Write tab hands drawings to the recognizer: traced
    to pen strokes and drawn with its reading pen, as in the general check of a network for
    drawings (:func:`.judge.general_check_set`)."""

    def __init__(self, words: Sequence[str], fonts: FontSampler):
        self.words, self.fonts = list(words), fonts

    def __call__(self, rng: np.random.Generator) -> Pair:
        text = self.words[int(rng.integers(len(self.words)))]
        img = render_text(text, self.fonts.pick(rng), size=int(rng.integers(36, 56)))
        return drawn_as_read(img, rng), text


def drawn_as_read(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``img`` traced and written again with the reading pen at a random height on the page, as
    the Write tab hands a drawing to the recognizer."""
    style = WritingStyle(pen=READING_PEN, spacing=3.0, height=float(rng.uniform(130, 220)), reading=True)
    return redraw_as_strokes(img, rng, style=style)


def replay_stream(words: Sequence[str], fonts: Sequence[Path], info: ModelInfo, seed: int, drawn: float = 0.0):
    """Replayed synthetic words, prepared and encoded for ``info``'s network; a ``drawn`` share of
    them written as pen strokes (:class:`DrawnWords`), for a network that reads drawings."""
    sampler = FontSampler(list(fonts))
    sources = [(SynthWords(list(words), sampler, pen=0.4), 1.0 - drawn), (DrawnWords(words, sampler), drawn)]
    return iter(MixedStream([(src, w) for src, w in sources if w > 0], info.charset, info.preprocess, seed=seed))


@lru_cache(maxsize=2)
def replay_material(words_file: Path, fonts_dir: Path, max_words: int = 40000) -> tuple[list[str], list[Path]]:
    """Words (a gzip word list, one a line: the bundled lexicon) and fonts (the ``*.ttf`` in
    ``fonts_dir``) for replay and the general check set."""
    words: list[str] = []
    with gzip.open(words_file, "rt", encoding="utf-8") as f:
        for line in f:
            w = line.strip()
            if 2 <= len(w) <= 12 and " " not in w and not DEFAULT_CHARSET.unknown(w):
                words.append(w)
    step = max(1, len(words) // max_words)
    if step > 1:  # one word in ``step`` by a hash of each, so that editing the list moves no other word
        words = [w for w in words if bucket("replay:" + w, step) == 0]
    fonts = sorted(Path(fonts_dir).glob("*.ttf"))
    return words, fonts


def load_pairs(folder: Path) -> tuple[list, list[str]]:
    """(image, label) pairs from a dataset folder, and one message per skipped row."""
    pairs, problems = [], []
    for s in read_dataset(folder):
        problem = label_problem(s.text)
        if problem is not None:  # an empty label, or a paragraph where a word or line belongs
            problems.append(f"{s.path}: {problem}")
            continue
        try:
            pairs.append((load_gray(s.path), DEFAULT_CHARSET.normalize_label(s.text)))
        except (ImageError, LabelError) as exc:
            problems.append(str(exc))
    return pairs, problems
