"""A danda told by its shape: apart from its word on a page, or at the end of a word's image.

A word box that holds one straight, upright bar (or two side by side) about as tall as the body
of the line's words is a danda (।, or ॥), not a word: the recognizer, trained on words, reads
such a bar alone as a digit or a letter (४, ७, म). At the end of a word's own image, a bar that
stands apart from the word's ink (:func:`trailing_danda`) is read the same way, and the word
without it: the network reads a danda after a word as the vowel sign ा, or drops it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from .preprocess import ink_map

MIN_HEIGHT = 0.4   # of the median height of the line's other word boxes
MAX_HEIGHT = 1.3
MIN_ASPECT = 3.5   # a bar's height over its width
MAX_BEND = 0.05    # how far the bar's centre line strays from a straight line (RMS), over its height
MAX_LEAN = 0.45    # the centre line's horizontal run over its vertical run (about 24 degrees)
# After a word, in the word's own image: a danda is a small part of the ink beside the word's
# letters (the page rule's speck, a tenth of the largest part, would drop it), and a printed or
# thick-penned danda may be only three times as tall as it is wide.
TRAILING_SPECK = 0.02
TRAILING_ASPECT = 2.5
# the blank between the word's ink and a danda after it, over the word's height: a letter's own
# bar written a little apart (स, श, ो) stands closer (chosen on the real training crops, where
# the rule's dandas 0.10-0.39 apart were dandas and 6 of the 8 bars under 0.08 were letters')
TRAILING_GAP = 0.08
# larger images are looked at smaller: a word written on the canvas or cut from a page is at most a
# few hundred rows high, a whole photo read as one word thousands (whose ink map and labelled parts
# at full size would take a second and a hundred megabytes)
ANALYSIS_ROWS = 256
ANALYSIS_PIXELS = 2_000_000
# shown between the colours' thresholds (60% and 90%): worth a look, as the rule has no per-word
# probability of its own
DANDA_CONFIDENCE = 0.75


def _is_bar(labels: np.ndarray, stats: np.ndarray, k: int, aspect: float = MIN_ASPECT) -> bool:
    """Whether ink part ``k`` of a labelled image is one straight, upright bar, at least
    ``aspect`` times as tall as it is wide."""
    x, y, w, h = stats[k, :4]
    if h < aspect * w:
        return False
    part = labels[y:y + h, x:x + w] == k
    rows = np.flatnonzero(part.any(axis=1))
    centres = np.array([np.flatnonzero(part[r]).mean() for r in rows])
    lean, offset = np.polyfit(rows, centres, 1)  # the bar's centre line, x as a function of y
    bend = np.sqrt(np.mean((centres - (lean * rows + offset)) ** 2)) / h
    return bool(bend <= MAX_BEND and abs(lean) <= MAX_LEAN)


def _parts(gray: np.ndarray, speck: float = 0.1) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The ink's connected parts: labels, stats, and the parts that are not specks (``speck``
    of the largest part's area or more)."""
    mask = (ink_map(gray) > 0.5).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n < 2:
        return labels, stats, []
    areas = stats[1:, cv2.CC_STAT_AREA]
    return labels, stats, [i + 1 for i in np.flatnonzero(areas >= speck * areas.max())]


def _box(stats: np.ndarray, k: int) -> tuple[int, int, int, int]:
    x, y, w, h = (int(v) for v in stats[k, :4])
    return x, y, x + w, y + h


def _bars(crop: np.ndarray) -> list[tuple[int, int, int, int]] | None:
    """Boxes (x0, y0, x1, y1) of the crop's ink parts, left to right, if every part that is not
    a speck is a straight upright bar; None otherwise."""
    labels, stats, keep = _parts(crop)
    if not keep or not all(_is_bar(labels, stats, k) for k in keep):
        return None
    return sorted(_box(stats, k) for k in keep)


def _mark(bars: list[tuple[int, int, int, int]], word_height: float) -> str | None:
    """"।" for one bar, "॥" for two of like height side by side, MIN_HEIGHT-MAX_HEIGHT times
    ``word_height`` tall; None otherwise."""
    if not bars or len(bars) > 2 or word_height <= 0:
        return None
    heights = [b[3] - b[1] for b in bars]
    if not all(MIN_HEIGHT * word_height <= h <= MAX_HEIGHT * word_height for h in heights):
        return None
    if len(bars) == 1:
        return "।"
    (a, b) = bars
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    gap = b[0] - a[2]
    if overlap >= 0.6 * max(heights) and 0 <= gap <= max(heights):
        return "॥"
    return None


def danda(crop: np.ndarray, word_height: float) -> str | None:
    """"।" or "॥" when ``crop`` (a word box's image) is one bar, or two of like height side by
    side, whose height is MIN_HEIGHT-MAX_HEIGHT times ``word_height`` (the line's usual word
    box height); None for anything else."""
    bars = _bars(crop)
    return _mark(bars, word_height) if bars else None


def trailing_bars(gray: np.ndarray) -> tuple[list[tuple[int, int, int, int]], tuple[int, int, int, int]] | None:
    """(the boxes of the one or two upright bars that end the image's ink, the box of the ink
    before them), when the last parts are such bars and no other part reaches into their
    columns; None otherwise. Specks are left out of both."""
    labels, stats, keep = _parts(gray, TRAILING_SPECK)
    if len(keep) < 2:
        return None
    keep.sort(key=lambda k: stats[k, cv2.CC_STAT_LEFT] + stats[k, cv2.CC_STAT_WIDTH])  # by right edge
    for n_bars in (2, 1):
        if len(keep) <= n_bars:
            continue
        bars, rest = keep[-n_bars:], keep[:-n_bars]
        if not all(_is_bar(labels, stats, k, TRAILING_ASPECT) for k in bars):
            continue
        boxes = sorted(_box(stats, k) for k in bars)
        word = [_box(stats, k) for k in rest]
        word_box = (min(b[0] for b in word), min(b[1] for b in word), max(b[2] for b in word), max(b[3] for b in word))
        if word_box[2] > boxes[0][0]:  # a part of the word reaches into the bars' columns
            continue
        return boxes, word_box
    return None


def trailing_danda(gray: np.ndarray) -> tuple[int, str] | None:
    """(the column after the word's ink, the mark) when the image of a word ends in a danda (or
    a double danda) standing apart from it: one or two upright bars right of all the word's
    ink, at least :data:`TRAILING_GAP` of its height after it, MIN_HEIGHT-MAX_HEIGHT times the
    height of the word's ink, that reach below the middle of the word and are not cut by the
    image's edge. None otherwise. A detached vowel sign ा looks the same; :func:`keeps_danda`
    tells them apart by what the word reads without it."""
    scale = _analysis_scale(gray.shape[0], gray.shape[1])
    full_cols = gray.shape[1]
    if scale < 1.0:
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    found = trailing_bars(gray)
    if found is None:
        return None
    bars, (_, y0, x1, y1) = found
    height = y1 - y0
    mark = _mark(bars, float(height))
    if mark is None or bars[0][0] - x1 < TRAILING_GAP * height:
        return None
    if min(b[3] for b in bars) < y0 + 0.5 * height:  # a bar above the word's middle: not a danda
        return None
    rows, cols = gray.shape[:2]
    if any(b[0] <= 0 or b[1] <= 0 or b[2] >= cols or b[3] >= rows for b in bars):
        return None  # cut by the image's edge: a shadow, the paper's edge or a cut letter
    return (x1 if scale == 1.0 else min(full_cols, math.ceil(x1 / scale))), mark


def _analysis_scale(rows: int, cols: int) -> float:
    """The scale a word's image is looked at for a danda: as it is, up to :data:`ANALYSIS_ROWS`
    x 1.5 rows and :data:`ANALYSIS_PIXELS`; a larger image (a whole photo read as one word)
    at ANALYSIS_ROWS rows or ANALYSIS_PIXELS, whichever is smaller."""
    if rows <= 1.5 * ANALYSIS_ROWS and rows * cols <= ANALYSIS_PIXELS:
        return 1.0
    return min(ANALYSIS_ROWS / rows, math.sqrt(ANALYSIS_PIXELS / (rows * cols)))


def keeps_danda(whole: str, word: str, known: Callable[[str], bool]) -> bool:
    """Whether a bar :func:`trailing_danda` found is a danda, from the readings of the image
    (``whole``) and of the word without the bar (``word``): the word is a known word, and the
    bar either changed nothing (the network passed over it, as it does over a danda) or made
    the reading something no list knows (a danda read as ा: हुन्छा). A detached ा of a known
    word (चिउरा, अन्डा) leaves a word that is not one (चिउर), and is kept."""
    return bool(word) and known(word) and (whole == word or not known(whole))
