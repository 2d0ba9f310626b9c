"""Training sample sources and their weighted mixture.

A source is a callable ``rng -> (gray uint8 image, text)``. :class:`MixedStream` draws from
several sources by weight, runs every image through the same :func:`prepare` used at
inference, encodes the text and yields ready tensors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ..read.charset import ASCII_DIGITS, DEVANAGARI_DIGITS, Charset, LabelError, split_aksharas
from ..read.preprocess import PreprocessConfig, ink_bbox, ink_map, load_gray, prepare
from ..read.strokes import READING_PEN
from ..storage.dataset import Sample
from .augment import (
    affine,
    augment_real,
    augment_synthetic,
    elastic,
    flatten_paper,
    scanned,
    shift_rows,
    to_gray,
    to_ink,
)
from .corpus import SUFFIXES, GlyphSet
from .marks import ALONE as MARK_ALONE
from .marks import add_mark, can_take_mark
from .recombine import Recombined
from .strokes import TraceStyle, WritingStyle, redraw_as_strokes, trace_strokes
from .synth import FontSampler, render_text

Source = Callable[[np.random.Generator], tuple[np.ndarray, str]]

JITTER_ROWS = (-2, -1, 1, 2)  # how far MixedStream's jitter moves an image


class RealWords:
    """Real labelled images (augmented, see :func:`augment_real`); images are decoded once and
    kept in memory."""

    def __init__(self, samples: Sequence[Sample], augment: bool = True, strong: bool = False):
        self.items = [(load_gray(s.path), s.text) for s in samples]
        self.augment, self.strong = augment, strong

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        img, text = self.items[int(rng.integers(len(self.items)))]
        if self.augment and rng.random() < 0.8:
            img = augment_real(img, rng, strong=self.strong)
        return img, text


class RealScans:
    """The real crops as black-and-white scans (see :func:`scanned`): the paper's light evened
    out, a small rotation, slant and stretch (half the time a wobble), then cut to two levels;
    real handwriting in the look of a document scanner or a fax."""

    def __init__(self, real: RealWords):
        self.real = real
        self._flat: dict[int, np.ndarray] = {}

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        i = int(rng.integers(len(self.real.items)))
        img, text = self.real.items[i]
        if i not in self._flat:
            self._flat[i] = flatten_paper(img)
        ink = affine(1.0 - self._flat[i], rng, rot=2.0, shear=0.25, stretch=0.15)
        if rng.random() < 0.5:
            ink = elastic(ink, rng, amp=rng.uniform(0.005, 0.02))
        return scanned(1.0 - np.clip(ink, 0, 1), rng), text


class RealJoined:
    """New words in the real writers' hands: the start of one real training word joined to the
    end of another, cut between aksharas where a trained model aligns them
    (:mod:`.recombine`), then augmented like the real crops. A joined word that is one of
    ``exclude`` (the validation words) is drawn again, so validation stays unseen."""

    def __init__(self, joined: Recombined, strong: bool = False, exclude: frozenset[str] = frozenset(),
                 augment: float = 0.8):
        self.joined, self.strong, self.exclude = joined, strong, exclude
        self.augment = augment  # share augmented (0: clean ink, e.g. to be redrawn as strokes)

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        for _ in range(20):
            img, text = self.joined(rng)
            if text not in self.exclude:
                break
        else:  # every draw spelt a held-out word: one whole training word instead
            piece = self.joined.pieces[int(rng.integers(len(self.joined)))]
            img, text = to_gray(piece.ink), "".join(piece.aksharas)
        if self.augment and rng.random() < self.augment:
            img = augment_real(img, rng, strong=self.strong)
        return img, text


class ArrayWords:
    """In-memory (image, text) pairs, e.g. a user's corrected samples."""

    def __init__(self, pairs: Sequence[tuple[np.ndarray, str]], augment: bool = True):
        self.items = list(pairs)
        self.augment = augment

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        img, text = self.items[int(rng.integers(len(self.items)))]
        return (augment_real(img, rng) if self.augment and rng.random() < 0.7 else img), text


def _inflect(word: str, rng: np.random.Generator) -> str:
    return word + SUFFIXES[int(rng.integers(len(SUFFIXES)))] if rng.random() < 0.3 else word


def number_text(rng: np.random.Generator) -> str:
    """A number as people write one: mostly Devanagari digits; a count, a year, a date, an
    amount with Nepali digit grouping (१,२३,४५६) or a decimal."""
    digits = DEVANAGARI_DIGITS if rng.random() < 0.8 else ASCII_DIGITS

    def run(n: int) -> str:
        return "".join(digits[int(rng.integers(10))] for _ in range(n))

    kind = rng.random()
    if kind < 0.45:
        return run(int(rng.integers(1, 5)))
    if kind < 0.6:
        return digits[2] + digits[0] + run(2)  # a year of the Bikram Sambat era, 20xx
    if kind < 0.75:
        sep = "/-."[int(rng.integers(3))]
        return sep.join((digits[2] + digits[0] + run(2), digits[0] + run(1), run(2)))
    if kind < 0.9:
        head = run(int(rng.integers(1, 3))).lstrip(digits[0]) or digits[1]
        groups = [run(2) for _ in range(int(rng.integers(0, 3)))]
        return ",".join([head, *groups, run(3)])
    return run(int(rng.integers(1, 4))) + "." + run(int(rng.integers(1, 3)))


def _pseudo_word(words: Sequence[str], rng: np.random.Generator) -> str:
    """Random aksharas from random words: open-vocabulary text."""
    parts: list[str] = []
    for _ in range(int(rng.integers(2, 6))):
        aks = split_aksharas(words[int(rng.integers(len(words)))])
        parts.append(aks[int(rng.integers(len(aks)))])
    return "".join(parts).strip()


class SynthWords:
    """Font-rendered words from a vocabulary, heavily augmented (a share as pen strokes)."""

    def __init__(self, words: Sequence[str], fonts: FontSampler, pen: float = 0.3, numbers: float = 0.0,
                 scan: float = 0.0):
        """``numbers``: the share of texts that are numbers rather than words; ``scan``: the
        share made to look like binarised scans."""
        self.words, self.fonts, self.pen, self.numbers, self.scan = list(words), fonts, pen, numbers, scan

    def text(self, rng: np.random.Generator) -> str:
        if rng.random() < self.numbers:
            return number_text(rng)
        if rng.random() < 0.12:
            return _pseudo_word(self.words, rng)
        return _inflect(self.words[int(rng.integers(len(self.words)))], rng)

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        text = self.text(rng)
        img = render_text(text, self.fonts.pick(rng), size=int(rng.integers(36, 64)))
        return augment_synthetic(img, rng, pen=self.pen, scan=self.scan), text


class GlyphWords:
    """Words composed from real handwritten characters and syllables, joined by a head line."""

    def __init__(self, glyphs: GlyphSet, words: Sequence[str], ids: Sequence[int] | None = None,
                 numbers: float = 0.0):
        """Compose from ``ids`` (default: every image training may use); a ``numbers`` share of
        the samples are strings of handwritten digits."""
        self.index: dict[str, list[int]] = {}
        for i in (np.flatnonzero(glyphs.trainable) if ids is None else ids):
            self.index.setdefault(glyphs.texts[i], []).append(int(i))
        self.images = glyphs.images
        self.keys = sorted(self.index)
        self.words = [w for w in words if " " not in w and all(a in self.index for a in split_aksharas(w))]
        self.digits = [k for k in self.keys if k in DEVANAGARI_DIGITS]
        self.numbers = numbers

    def pick(self, rng: np.random.Generator, word_share: float) -> tuple[list[str], str]:
        """The aksharas to compose and their text: a word of the list (a ``word_share`` of the
        time), else 1 to 4 random aksharas."""
        if self.words and rng.random() < word_share:
            text = self.words[int(rng.integers(len(self.words)))]
            return split_aksharas(text), text
        aks = [self.keys[int(rng.integers(len(self.keys)))] for _ in range(int(rng.integers(1, 5)))]
        return aks, "".join(aks)

    def _glyph(self, text: str, rng: np.random.Generator, height: int) -> np.ndarray:
        ids = self.index[text]
        ink = ink_map(self.images[ids[int(rng.integers(len(ids)))]])
        box = ink_bbox(ink)
        if box is None:
            return np.zeros((height, height // 2), np.float32)
        x0, y0, x1, y1 = box
        crop = ink[y0:y1, x0:x1]
        scale = height * rng.uniform(0.85, 1.1) / crop.shape[0]
        return cv2.resize(crop, (max(2, int(crop.shape[1] * scale)), max(2, int(crop.shape[0] * scale))))

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        if self.digits and rng.random() < self.numbers:  # a number: no head line joins digits
            aks = [self.digits[int(rng.integers(len(self.digits)))] for _ in range(int(rng.integers(2, 6)))]
            return augment_synthetic(self.compose(aks, rng, head_line=False), rng, pen=0.0, scan=0.1), "".join(aks)
        aks, text = self.pick(rng, word_share=0.6)
        return augment_synthetic(self.compose(aks, rng), rng, pen=0.0, scan=0.1), text

    def compose(self, aks: Sequence[str], rng: np.random.Generator, head_line: bool = True) -> np.ndarray:
        """A gray word image (dark on white) of the aksharas ``aks``, each a random image of it,
        usually joined by a drawn head line."""
        h = 40
        parts = [self._glyph(a, rng, h) for a in aks]
        width = sum(p.shape[1] for p in parts) + 4 * len(parts) + 8
        canvas = np.zeros((int(h * 1.4) + 8, width), np.float32)
        x = 4
        for p in parts:
            y = 4 + int(rng.integers(0, 4))
            ph, pw = min(p.shape[0], canvas.shape[0] - y), p.shape[1]
            canvas[y:y + ph, x:x + pw] = np.maximum(canvas[y:y + ph, x:x + pw], p[:ph])
            x += pw + int(rng.integers(-3, 4))
        if head_line and len(parts) > 1 and rng.random() < 0.8:
            y = 4 + int(rng.integers(2, 6))
            canvas[y:y + int(rng.integers(2, 4)), 4:x] = 1.0
        return np.clip(255 * (1 - canvas), 0, 255).astype(np.uint8)


class Glyphs:
    """Single handwritten characters/syllables read as one-character words."""

    def __init__(self, glyphs: GlyphSet):
        self.ids = np.flatnonzero(glyphs.trainable)
        self.glyphs = glyphs

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        i = int(self.ids[int(rng.integers(len(self.ids)))])
        img = self.glyphs.images[i]
        return (augment_real(img, rng) if rng.random() < 0.5 else img), self.glyphs.texts[i]


@dataclass
class Batch:
    images: torch.Tensor    # N,1,H,W
    widths: torch.Tensor    # N
    targets: torch.Tensor   # sum(L)
    lengths: torch.Tensor   # N
    texts: list[str]


def collate(items: list[tuple[np.ndarray, list[int], str]]) -> Batch:
    h = items[0][0].shape[0]
    w = max(x[0].shape[1] for x in items)
    w = (w + 3) // 4 * 4
    imgs = torch.zeros(len(items), 1, h, w)
    for i, (im, _, _) in enumerate(items):
        imgs[i, 0, :, : im.shape[1]] = torch.from_numpy(im)
    return Batch(imgs, torch.tensor([x[0].shape[1] for x in items]),
                 torch.tensor([c for x in items for c in x[1]], dtype=torch.long),
                 torch.tensor([len(x[1]) for x in items]), [x[2] for x in items])


class MixedStream(IterableDataset):
    """Endless stream of prepared, encoded samples drawn from weighted sources.

    ``jitter``: share of the prepared images moved 1 or 2 rows up or down (:func:`.augment.shift_rows`),
    so the network does not rely on every word sitting exactly where :func:`prepare` puts it.
    ``punctuation``: share of the words given a hand-drawn danda or comma (:func:`.marks.add_mark`;
    a tenth of them the mark alone)."""

    def __init__(self, sources: Sequence[tuple[Source, float]], charset: Charset,
                 cfg: PreprocessConfig, seed: int = 0, rank: int = 0, max_width: int = 640,
                 jitter: float = 0.0, punctuation: float = 0.0):
        self.sources = [s for s, _ in sources]
        w = np.array([wt for _, wt in sources], dtype=np.float64)
        self.p = w / w.sum()
        self.charset, self.cfg, self.seed, self.rank, self.max_width = charset, cfg, seed, rank, max_width
        self.jitter = jitter
        self.punctuation = punctuation

    def __iter__(self):
        info = get_worker_info()
        wid = info.id if info else 0
        rng = np.random.default_rng([self.seed, self.rank, wid])
        while True:
            src = self.sources[int(rng.choice(len(self.sources), p=self.p))]
            try:
                img, text = src(rng)
                if self.punctuation and rng.random() < self.punctuation and can_take_mark(text):
                    img, text = add_mark(img, text, rng, alone=rng.random() < MARK_ALONE)
                ids = self.charset.encode(text)
                x = prepare(img, self.cfg)
            except (LabelError, ValueError, cv2.error):
                continue
            if not ids or x.shape[1] > self.max_width or x.shape[1] // 4 < len(ids) + 1:
                continue
            if self.jitter and rng.random() < self.jitter:
                x = shift_rows(x, int(rng.choice(JITTER_ROWS)))
            yield x, ids, text


class StrokeWords:
    """Words written again as canvas pen or mouse strokes: the traced centre lines of real
    crops, glyph-composed words and font-rendered words, rendered by the canvas's own renderer
    with a random writing style (pen width, pressure, shake, event spacing); a ``reading`` share
    with the one pen the Write tab hands drawings to the recognizer with (``READING_PEN``)."""

    def __init__(self, real: RealWords | None, others: Sequence[tuple[Source, float]] = (), fresh: float = 0.0,
                 reading: float = 0.0, real_weight: float = 1.0, trace_variety: float = 0.0,
                 others_upscale: float = 1.0):
        self.real = real
        self.others = [s for s, _ in others]
        w = np.array([real_weight if real is not None else 0.0] + [wt for _, wt in others], np.float64)
        self.p = w / w.sum()
        self.fresh = fresh  # share of real crops augmented first and traced anew (else one trace each)
        self._traced: dict[int, tuple[list[np.ndarray], float]] = {}
        self.reading = reading
        self.trace_variety = trace_variety  # share of fresh traces made by a random tracer (TraceStyle.random)
        # the usual tracer of the rendered and glyph-composed words (``others``): scaled up first, their
        # small and bold letters keep their loops and counters
        self.others_trace = TraceStyle(upscale=others_upscale) if others_upscale > 1.0 else None

    def _style(self, rng: np.random.Generator) -> WritingStyle:
        style = WritingStyle.random(rng)
        if self.reading and rng.random() < self.reading:
            return dataclasses.replace(style, pen=READING_PEN, pressure=0.0, reading=True)
        return style

    def _trace(self, rng: np.random.Generator) -> TraceStyle | None:
        return TraceStyle.random(rng) if self.trace_variety and rng.random() < self.trace_variety else None

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        k = int(rng.choice(len(self.p), p=self.p))
        if k == 0 and self.real is not None:
            if self.fresh > 0 and rng.random() < self.fresh:
                # a new slant, width, blur and paper give new centre lines and new tracing faults
                img, text = self.real(rng)
                out = redraw_as_strokes(img, rng, trace=self._trace(rng))
            else:
                i = int(rng.integers(len(self.real.items)))
                img, text = self.real.items[i]
                if i not in self._traced:
                    self._traced[i] = trace_strokes(img)
                out = redraw_as_strokes(img, rng, style=self._style(rng), paths=self._traced[i])
        else:
            img, text = self.others[k - 1](rng)
            out = redraw_as_strokes(img, rng, style=self._style(rng), trace=self._trace(rng) or self.others_trace)
        if rng.random() < 0.15:  # slightly slanted or rotated writing
            out = to_gray(np.clip(affine(to_ink(out), rng, rot=2.0, shear=0.2, stretch=0.1), 0, 1))
        return out, text


class CleanSynth:
    """Font-rendered words without paper or photo effects (input for stroke redrawing)."""

    def __init__(self, synth: SynthWords):
        self.synth = synth

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        text = self.synth.text(rng)
        img = render_text(text, self.synth.fonts.pick(rng), size=int(rng.integers(40, 64)))
        ink = elastic(affine(to_ink(img), rng), rng, amp=rng.uniform(0.01, 0.04))
        return to_gray(np.clip(ink, 0, 1)), text


class CleanGlyphWords:
    """Glyph-composed words without augmentation (input for stroke redrawing)."""

    def __init__(self, glyphwords: GlyphWords):
        self.g = glyphwords

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        aks, text = self.g.pick(rng, word_share=0.7)
        return self.g.compose(aks, rng), text
