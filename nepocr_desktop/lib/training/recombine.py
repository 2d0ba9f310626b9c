"""New words in a user's own hand: their corrected words cut between aksharas and joined again.

A few dozen corrected words show a hand's letter forms in only a few dozen contexts. Cutting each
word between its aksharas (where the base model's forced alignment puts the boundary, at the
column with the least ink near it) and joining the start of one word to the end of another
gives many new words written in that hand, whose labels are known: the network sees the
user's letters next to letters they were never written beside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..read.charset import Charset, LabelError, is_well_formed, split_aksharas
from ..read.ctc_decoder import align
from ..read.preprocess import PreprocessConfig, batch, prepare
from .augment import shift_rows, to_gray

Pair = tuple[np.ndarray, str]
STRIDE = 4  # input columns per output frame of the bundled network


@dataclass(frozen=True)
class Pieces:
    """A prepared word (ink map, ink = 1) and the columns between its aksharas."""

    ink: np.ndarray
    aksharas: tuple[str, ...]
    cuts: tuple[int, ...]  # len(aksharas) + 1 columns: 0, the boundaries, the width
    headline: int          # the row of the most ink in the upper part (the shirorekha)

    def span(self, a: int, b: int) -> np.ndarray:
        """The ink of aksharas ``a`` to ``b - 1``."""
        return self.ink[:, self.cuts[a]:self.cuts[b]]


def headline_row(ink: np.ndarray) -> int:
    """The row of the most ink in the upper 60% of a prepared word."""
    top = max(1, int(0.6 * ink.shape[0]))
    return int(np.argmax(ink[:top].sum(axis=1)))


def cut_columns(ink: np.ndarray, frames: Sequence[Sequence[int]], sizes: Sequence[int],
                stride: int = STRIDE) -> list[int] | None:
    """Columns between aksharas of ``sizes`` labels each, given the frames of each label.

    The network marks an akshara at about its first columns; the cut goes through the column
    with the least ink below the headline (which joins the letters) from two frames before the
    next akshara's first frame to one after, and never before half a frame past the previous
    akshara's last marked frame (a vowel sign's bar on the right, as in ा, stays with its
    akshara). ``None`` when an akshara has no frame or two cuts would come closer than a frame."""
    width = ink.shape[1]
    starts, lasts = [], []
    i = 0
    for n in sizes:
        fr = [t for label in frames[i:i + n] for t in label]
        i += n
        if not fr:
            return None
        starts.append(min(fr) * stride)
        lasts.append(max(fr) * stride)
    body = ink[max(0, headline_row(ink) + 3):].sum(axis=0)
    cuts = [0]
    for k, start in enumerate(starts[1:], 1):  # the network marks an akshara near its first columns
        lo = max(start - 2 * stride, cuts[-1] + stride, lasts[k - 1] + stride // 2)
        hi = min(start + stride, width - stride)
        if hi <= lo:
            return None
        cuts.append(lo + int(np.argmin(body[lo:hi])))
    cuts.append(width)
    return cuts


@torch.no_grad()
def word_pieces(model: nn.Module, charset: Charset, cfg: PreprocessConfig,
                pairs: Sequence[Pair]) -> list[Pieces | None]:
    """Each word of ``pairs`` cut between its aksharas where ``model`` aligns them; ``None`` for
    a word of fewer than two aksharas, with a space, or that cannot be aligned."""
    items = []
    for k, (img, text) in enumerate(pairs):
        aks = split_aksharas(text)
        if len(aks) < 2 or " " in text:
            continue
        try:
            ids = charset.encode(text)
            ink = prepare(img, cfg)
        except (LabelError, ValueError):
            continue
        if len(ids) == len(text):
            items.append((k, ink, aks, ids))
    out: list[Pieces | None] = [None] * len(pairs)
    was = model.training
    model.eval()
    for start in range(0, len(items), 32):
        chunk = items[start:start + 32]
        x, w = batch([it[1] for it in chunk])
        lp, lens = model(torch.from_numpy(x), torch.from_numpy(w))
        lp = lp.float().numpy()
        stride = max(1, round(x.shape[3] / lp.shape[0]))  # input columns per frame
        for j, (k, ink, aks, ids) in enumerate(chunk):
            try:
                frames = align(lp[: int(lens[j]), j], ids)
            except ValueError:
                continue
            cuts = cut_columns(ink, frames, [len(a) for a in aks], stride)
            if cuts is not None:
                out[k] = Pieces(ink, tuple(aks), tuple(cuts), headline_row(ink))
    model.train(was)
    return out


def join(left: np.ndarray, left_headline: int, right: np.ndarray, right_headline: int) -> np.ndarray:
    """Two ink maps of one height side by side, the right one moved up or down so that the
    headlines meet."""
    return np.concatenate([left, shift_rows(right, left_headline - right_headline)], axis=1)


def _blank_run(ink: np.ndarray, from_end: bool) -> int:
    """How many columns at one end of ``ink`` hold no ink (all below a quarter)."""
    cols = ink.max(axis=0) < 0.25 if ink.size else np.zeros(0, bool)
    if from_end:
        cols = cols[::-1]
    n = int(np.argmin(cols)) if not cols.all() else len(cols)
    return min(n, max(0, ink.shape[1] - 1))  # keep at least one column


def close_gap(left: np.ndarray, right: np.ndarray, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """``left`` and ``right`` with the blank columns where they meet trimmed to ``gap`` in all.

    A piece that ends a word carries the word's blank margin, and so does one that starts a word:
    joined as they are, the two margins read as a space between two words. A cut through ink
    (between the aksharas of one word) has no blank columns and is left as it is."""
    tail, head = _blank_run(left, from_end=True), _blank_run(right, from_end=False)
    if tail + head == 0:
        return left, right
    left = left[:, :left.shape[1] - tail]
    right = right[:, head:]
    pad = np.zeros((left.shape[0], max(0, gap)), left.dtype)
    return np.concatenate([left, pad], axis=1), right


class Recombined:
    """A training source: the start of one of the user's words joined to the end of another
    (at akshara boundaries), as a grey image with its label."""

    def __init__(self, pieces: Sequence[Pieces]):
        self.pieces = list(pieces)

    def __len__(self) -> int:
        return len(self.pieces)

    def __call__(self, rng: np.random.Generator) -> Pair:
        for _ in range(20):
            i, j = (int(v) for v in rng.choice(len(self.pieces), 2, replace=len(self.pieces) < 2))
            a, b = self.pieces[i], self.pieces[j]
            na, nb = len(a.aksharas), len(b.aksharas)
            cut_a = int(rng.integers(1, na + 1))  # every word has two or more aksharas
            cut_b = int(rng.integers(0, nb))
            text = "".join(a.aksharas[:cut_a] + b.aksharas[cut_b:])
            if not is_well_formed(text) or (i == j and cut_a == cut_b):
                continue
            left, right = close_gap(a.span(0, cut_a), b.span(cut_b, nb), int(rng.integers(1, STRIDE + 1)))
            ink = join(left, a.headline, right, b.headline)
            return to_gray(ink), text
        a = self.pieces[int(rng.integers(len(self.pieces)))]
        return to_gray(a.ink), "".join(a.aksharas)
