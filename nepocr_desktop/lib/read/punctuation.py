"""Punctuation told by its shape: a danda apart from its word on a page, a danda or a comma at
the end of a word's image.

A word box that holds one straight, upright bar (or two side by side) about as tall as the body
of the line's words is a danda (।, or ॥), not a word: the recognizer, trained on words, reads
such a bar alone as a digit or a letter (४, ७, म). At the end of a word's own image, a bar or a
comma that stands apart from the word's ink (:func:`trailing_marks`) is read the same way, and the
word without it: the network reads a danda after a word as the vowel sign ा, or drops it, and
drops a comma.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import cv2
import numpy as np

from .charset import CONSONANTS, INDEPENDENT_VOWELS
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
# a danda after a word starts in the upper part of the word's height (the real crops' dandas: at
# most 0.53 of it down); a short bar lower down is a comma
DANDA_TOP = 0.6
# a bar this far after a word (over its height) is a danda where the word reads a word with it as
# ा and without it: the real crops' detached ा stood 0.12-0.25 of the word's height from it
DANDA_APART = 0.3
# larger images are looked at smaller: a word written on the canvas or cut from a page is at most a
# few hundred rows high, a whole photo read as one word thousands (whose ink map and labelled parts
# at full size would take a second and a hundred megabytes)
ANALYSIS_ROWS = 256
ANALYSIS_PIXELS = 2_000_000
# A comma after a word: a small mark starting in the lower part of the word's height, right of the word's
# ink (only the head line may reach over it, and from well above), taller than it is wide (a full
# stop is a dot). Chosen on the development sets of words with a comma after them and on
# the real training crops, where the pieces of letters that faint ink breaks off stand close
# under the rest of their stroke.
COMMA_SPECK = 0.005        # of the largest part's area: a comma may be a tenth of a danda's ink
COMMA_MIN_HEIGHT = 0.1     # of the height of the word's ink
COMMA_MAX_HEIGHT = 0.55
COMMA_TOP = 0.55           # its top at least this far down the word's height
COMMA_CLEAR = 0.3          # the blank between it and any ink above it, over the word's height
COMMA_ASPECT = 1.2         # its height over its width
_LETTERS = frozenset(CONSONANTS + INDEPENDENT_VOWELS)  # a word has one: a bar after digits is a 1
# shown between the colours' thresholds (60% and 90%): worth a look, as the rule has no per-word
# probability of its own
MARK_CONFIDENCE = 0.75

Box = tuple[int, int, int, int]  # x0, y0, x1, y1


class Trailing(NamedTuple):
    """A mark found at the end of a word's image."""

    cut: int       # the column the word ends before
    mark: str      # "।", "॥" or ","
    apart: float   # the blank between the word's ink and the mark, over the word's height


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


def _box(stats: np.ndarray, k: int) -> Box:
    x, y, w, h = (int(v) for v in stats[k, :4])
    return x, y, x + w, y + h


def _bars(crop: np.ndarray) -> list[Box] | None:
    """Boxes (x0, y0, x1, y1) of the crop's ink parts, left to right, if every part that is not
    a speck is a straight upright bar; None otherwise."""
    labels, stats, keep = _parts(crop)
    if not keep or not all(_is_bar(labels, stats, k) for k in keep):
        return None
    return sorted(_box(stats, k) for k in keep)


def _mark(bars: list[Box], word_height: float) -> str | None:
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



def _boxes_of(stats: np.ndarray, parts: list[int]) -> Box:
    """The box around ink parts ``parts``."""
    x, y, w, h = (stats[parts, i] for i in range(4))
    return int(x.min()), int(y.min()), int((x + w).max()), int((y + h).max())


def _bars_after(labels: np.ndarray, stats: np.ndarray, keep: list[int]) -> list[tuple[list[Box], Box]]:
    """Each way the ink parts ``keep`` may end in upright bars: (the boxes of the last two, or the
    last one, the box of the parts before them), where those parts are such bars and no other
    part reaches into their columns; two bars first."""
    keep = sorted(keep, key=lambda k: stats[k, cv2.CC_STAT_LEFT] + stats[k, cv2.CC_STAT_WIDTH])  # by right edge
    found = []
    for n_bars in (2, 1):
        if len(keep) <= n_bars:
            continue
        bars, rest = keep[-n_bars:], keep[:-n_bars]
        if not all(_is_bar(labels, stats, k, TRAILING_ASPECT) for k in bars):
            continue
        boxes = sorted(_box(stats, k) for k in bars)
        word_box = _boxes_of(stats, rest)
        if word_box[2] > boxes[0][0]:  # a part of the word reaches into the bars' columns
            continue
        found.append((boxes, word_box))
    return found


def _danda_after(bars: list[Box], word_box: Box, shape: tuple[int, ...]) -> Trailing | None:
    """The danda ``bars`` after ``word_box`` make, cut after the word's ink; None if none."""
    _, y0, x1, y1 = word_box
    height = y1 - y0
    mark = _mark(bars, float(height))
    if mark is None or bars[0][0] - x1 < TRAILING_GAP * height:
        return None
    if min(b[3] for b in bars) < y0 + 0.5 * height:  # a bar above the word's middle: not a danda
        return None
    if min(b[1] for b in bars) >= y0 + DANDA_TOP * height:  # low and short: a comma, if anything
        return None
    rows, cols = shape[:2]
    if any(b[0] <= 0 or b[1] <= 0 or b[2] >= cols or b[3] >= rows for b in bars):
        return None  # cut by the image's edge: a shadow, the paper's edge or a cut letter
    return Trailing(x1, mark, (bars[0][0] - x1) / height)


def _comma_after(labels: np.ndarray, stats: np.ndarray, keep: list[int]) -> Trailing | None:
    """The comma, cut before its first column, where one of the last two parts (by right edge) is
    a comma after the word (see :data:`COMMA_TOP` and the rest); None otherwise."""
    if len(keep) < 2:
        return None
    rows, cols = labels.shape
    keep = sorted(keep, key=lambda k: stats[k, cv2.CC_STAT_LEFT] + stats[k, cv2.CC_STAT_WIDTH])
    for comma in keep[-2:][::-1]:
        rest = [k for k in keep if k != comma]
        in_rest = np.zeros(len(stats), bool)
        in_rest[rest] = True
        x0, y0, x1, y1 = _box(stats, comma)
        if in_rest[labels[y0:, x0:]].any():
            continue  # the word's ink beside or under it: part of a letter
        _, wy0, _, wy1 = _boxes_of(stats, rest)
        height = wy1 - wy0
        if height <= 0 or x0 <= 0 or y0 <= 0 or x1 >= cols or y1 >= rows:
            return None
        if not (COMMA_MIN_HEIGHT * height <= y1 - y0 <= COMMA_MAX_HEIGHT * height and y1 - y0 >= COMMA_ASPECT * (x1 - x0)
                and wy0 + COMMA_TOP * height <= y0 < wy1):  # from the word's foot or above it
            return None
        above = np.flatnonzero(in_rest[labels[:y0, x0:x1]].any(axis=1))
        if above.size and (y0 - above.max() - 1 < COMMA_CLEAR * height or y1 < wy1):
            return None  # under ink that is not the head line, or not hanging below the word: a letter's piece
        word_right = np.flatnonzero(in_rest[labels[y0:y1, :x0]].any(axis=0))
        return Trailing(x0, ",", (x0 - (word_right.max() + 1 if word_right.size else x0)) / height)
    return None


def trailing_marks(gray: np.ndarray) -> list[Trailing]:
    """Each way the image of a word may end in a mark standing apart from it, most likely first;
    none for most images.

    A danda (or a double danda): one or two upright bars right of all the word's ink, at least
    :data:`TRAILING_GAP` of its height after it, MIN_HEIGHT-MAX_HEIGHT times the height of the
    word's ink, that reach below the middle of the word and are not cut by the image's edge. Where
    the last two parts are such bars, the last one alone is offered too (a detached ा, then a
    danda). A comma: see :data:`COMMA_TOP` and the rest. A detached vowel sign ा looks like a
    danda and a letter's broken-off foot like a comma; :func:`keeps_mark` tells them apart by
    what the word reads without them."""
    scale = _analysis_scale(gray.shape[0], gray.shape[1])
    full_cols = gray.shape[1]
    if scale < 1.0:
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    labels, stats, keep = _parts(gray, COMMA_SPECK)
    if len(keep) < 2:
        return []
    largest = max(stats[k, cv2.CC_STAT_AREA] for k in keep)
    solid = [k for k in keep if stats[k, cv2.CC_STAT_AREA] >= TRAILING_SPECK * largest]
    found = [d for bars, word_box in _bars_after(labels, stats, solid)
             if (d := _danda_after(bars, word_box, gray.shape)) is not None]
    if not found:
        comma = _comma_after(labels, stats, keep)
        found = [comma] if comma is not None else []
    return [t if scale == 1.0 else t._replace(cut=min(full_cols, math.ceil(t.cut / scale))) for t in found]


def _analysis_scale(rows: int, cols: int) -> float:
    """The scale a word's image is looked at for a mark: as it is, up to :data:`ANALYSIS_ROWS`
    x 1.5 rows and :data:`ANALYSIS_PIXELS`; a larger image (a whole photo read as one word)
    at ANALYSIS_ROWS rows or ANALYSIS_PIXELS, whichever is smaller."""
    if rows <= 1.5 * ANALYSIS_ROWS and rows * cols <= ANALYSIS_PIXELS:
        return 1.0
    return min(ANALYSIS_ROWS / rows, math.sqrt(ANALYSIS_PIXELS / (rows * cols)))


def keeps_mark(whole: str, word: str, known: Callable[[str], bool], mark: str = "।", apart: float = 0.0) -> bool:
    """Whether ``mark``, which :func:`trailing_marks` found ``apart`` (of the word's height) after
    the word, is one, from the readings of the image (``whole``) and of the word without the mark
    (``word``): the word is a known word, and the mark either changed nothing (the network passed
    over it, as it does over a danda or a comma) or made the reading something no list knows (a
    danda read as ा: हुन्छा). A detached ा of a known word (चिउरा, अन्डा) leaves a word that is
    not one (चिउर), and is kept. Where both readings are words and the bar was read as ा (चार,
    चारा), a bar :data:`DANDA_APART` or more after the word is a danda. A danda the network
    passed over is one after a word no list knows too (a name, a misspelling), if the word has a
    letter: a bar after digits is a 1; a comma needs a known word, as pieces of letters pass the
    shape test too."""
    if not word:
        return False
    if known(word):
        return (whole == word or not known(whole)
                or (mark == "।" and whole == word + "\u093e" and apart >= DANDA_APART))
    return mark in "।॥" and whole == word and any(c in _LETTERS for c in word)
