"""A danda the page reader found apart from its word, told by its shape.

A word box that holds one straight, upright bar (or two side by side) about as tall as the body
of the line's words is a danda (।, or ॥), not a word: the recognizer, trained on words, reads
such a bar alone as a digit or a letter (४, ७, म).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..read.preprocess import ink_map

MIN_HEIGHT = 0.4   # of the median height of the line's other word boxes
MAX_HEIGHT = 1.3
MIN_ASPECT = 3.5   # a bar's height over its width
MAX_BEND = 0.05    # how far the bar's centre line strays from a straight line (RMS), over its height
MAX_LEAN = 0.45    # the centre line's horizontal run over its vertical run (about 24 degrees)
# shown between the colours' thresholds (60% and 90%): worth a look, as the rule has no per-word
# probability of its own
DANDA_CONFIDENCE = 0.75


def _bars(crop: np.ndarray) -> list[tuple[int, int, int, int]] | None:
    """Boxes (x0, y0, x1, y1) of the crop's ink parts, left to right, if every part that is not
    a speck is a straight upright bar; None otherwise."""
    mask = (ink_map(crop) > 0.5).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n < 2:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = [i + 1 for i in np.flatnonzero(areas >= 0.1 * areas.max())]
    bars = []
    for k in keep:
        x, y, w, h = stats[k, :4]
        if h < MIN_ASPECT * w:
            return None
        part = labels[y:y + h, x:x + w] == k
        rows = np.flatnonzero(part.any(axis=1))
        centres = np.array([np.flatnonzero(part[r]).mean() for r in rows])
        lean, offset = np.polyfit(rows, centres, 1)  # the bar's centre line, x as a function of y
        bend = np.sqrt(np.mean((centres - (lean * rows + offset)) ** 2)) / h
        if bend > MAX_BEND or abs(lean) > MAX_LEAN:
            return None
        bars.append((int(x), int(y), int(x + w), int(y + h)))
    return sorted(bars)


def danda(crop: np.ndarray, word_height: float) -> str | None:
    """"।" or "॥" when ``crop`` (a word box's image) is one bar, or two of like height side by
    side, whose height is MIN_HEIGHT-MAX_HEIGHT times ``word_height`` (the line's usual word
    box height); None for anything else."""
    bars = _bars(crop)
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
