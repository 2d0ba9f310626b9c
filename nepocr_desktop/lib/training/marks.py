"""Punctuation written after a word: a danda (।) or a comma drawn by hand beside any training image.

Sentences in Nepali end with a danda, and on a page the danda sits against the sentence's last
word. A danda is a bar, like the vowel sign ा, but it stands apart from the word and does not
touch the head line. Training words hardly ever carry one (23 of the real crops), so the network
read a danda as ा. :func:`add_mark` draws the mark in the image's own ink, after a gap, and adds
it to the label; :class:`.sources.MixedStream` does so for a ``punctuation`` share of the images
of every source (real crops, strokes, glyph-composed and font-rendered words alike).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..read.charset import CLOSING_MARKS
from ..read.preprocess import ink_bbox, ink_map

DANDA = "।"
COMMA = ","
MARKS = (DANDA, COMMA)
MARK_SHARES = (0.85, 0.15)  # a danda ends most sentences; commas are the other mark a word carries
ALONE = 0.1  # share of the marks cut out alone: a page reader finds a danda apart from its word
_ENDINGS = CLOSING_MARKS | frozenset(".-)\"'")


def can_take_mark(text: str) -> bool:
    """True for a label a mark may follow: a word that does not already end in punctuation."""
    return bool(text) and " " not in text and text[-1] not in _ENDINGS


def _head_line(ink: np.ndarray, y0: int, y1: int) -> int:
    """The row of the most ink in the upper 60% of the box: the head line where there is one."""
    upper = ink[y0:y0 + max(1, int(0.6 * (y1 - y0)))]
    return y0 + int(np.argmax(upper.sum(axis=1)))


def _stroke_width(ink: np.ndarray) -> float:
    """Typical stroke width in pixels: the ink's area over half its outline's length."""
    mask = (ink > 0.5).astype(np.uint8)
    area = float(mask.sum())
    if area == 0:
        return 1.0
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = sum(len(c) for c in contours)
    return max(1.0, 2.0 * area / max(outline, 1))


def add_mark(gray: np.ndarray, text: str, rng: np.random.Generator, mark: str | None = None,
             alone: bool = False) -> tuple[np.ndarray, str]:
    """``gray`` (uint8, either polarity) with a hand-drawn danda or comma after its ink, and
    ``text`` with the mark; unchanged when there is no ink to place it by. ``alone``: the mark
    cut out by itself, with some paper around it (the word only set its size and ink), and
    the mark alone as the text."""
    if mark is None:
        mark = MARKS[int(rng.choice(len(MARKS), p=MARK_SHARES))]
    if mark not in MARKS:
        raise ValueError(f"cannot draw {mark!r}: only {' '.join(MARKS)}")
    ink = ink_map(gray)
    box = ink_bbox(ink)
    if box is None:
        return gray, text
    x0, y0, x1, y1 = box
    h = y1 - y0
    if h < 4 or x1 - x0 < 2:
        return gray, text
    head = _head_line(ink, y0, y1)
    body = max(3.0, (y1 - head) * rng.uniform(0.6, 0.9))  # head line to about the baseline
    width = _stroke_width(ink[y0:y1, x0:x1]) * rng.uniform(0.8, 1.25)
    gap = body * rng.uniform(0.12, 0.45)
    if mark == DANDA:
        top = head + body * rng.uniform(-0.05, 0.12)
        bottom = head + body
        lean = body * rng.uniform(-0.18, 0.06)  # most hands lean the bar's foot to the left
        pts = [(0.0, top), (lean * 0.5, (top + bottom) / 2 + rng.uniform(-0.5, 0.5)), (lean, bottom)]
    else:
        base = head + body
        size = body * rng.uniform(0.25, 0.4)
        pts = [(0.0, base - size * 0.35), (size * 0.05, base), (-size * 0.35, base + size * 0.6)]
    left = min(p[0] for p in pts)
    x_start = x1 + gap - left
    need = int(np.ceil(x_start + max(p[0] for p in pts) + width + 2 + rng.uniform(1, 6)))
    bottom_need = int(np.ceil(max(p[1] for p in pts) + width + 2))
    pad_r, pad_b = max(0, need - gray.shape[1]), max(0, bottom_need - gray.shape[0])
    if pad_r or pad_b:  # more paper, of the paper's own tone and grain
        paper = gray[ink < 0.1]
        tone, grain = (float(np.median(paper)), float(np.std(paper))) if paper.size else (255.0, 0.0)
        grown = rng.normal(tone, grain, (gray.shape[0] + pad_b, gray.shape[1] + pad_r))
        grown[: gray.shape[0], : gray.shape[1]] = gray
        gray = np.clip(grown, 0, 255).astype(np.uint8)
        ink = np.pad(ink, ((0, pad_b), (0, pad_r)))
    mask = np.zeros(gray.shape, np.float32)
    scale = 4  # sub-pixel positions for cv2's fixed-point coordinates
    poly = np.array([[(x_start + px) * scale, py * scale] for px, py in pts], np.int32)
    cv2.polylines(mask, [poly], False, 1.0, max(1, round(width)), cv2.LINE_AA, shift=2)
    if width >= 2.5:
        mask = cv2.GaussianBlur(mask, (3, 3), 0)
    strong = gray[ink > 0.7]
    level = float(np.median(strong)) if strong.size else (255.0 if np.median(gray) < 128 else 0.0)
    out = np.clip(gray.astype(np.float32) * (1 - mask) + level * mask, 0, 255).astype(np.uint8)
    if alone:
        return out[:, int(x1 + gap / 2):], mark
    return out, text + mark
