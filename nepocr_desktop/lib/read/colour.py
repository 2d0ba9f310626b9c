"""Colour images to gray in which ink of any colour is dark.

Luminance keeps black and blue ink dark but turns a light pink, red or green pen pale: a pink
stroke on white paper is about a fifth darker than the paper in luminance, and two fifths in its
darkest channel. :func:`ink_gray` therefore darkens each pixel towards its darkest channel, the
channels first balanced so that the paper is neutral, by as much as the page's ink is coloured
(:func:`colour_weight`). A page written in black or pencil keeps its luminance unchanged.
"""

from __future__ import annotations

import cv2
import numpy as np

SAMPLE_PIXELS = 250_000     # the colour of the ink is judged on at most this many pixels
PAPER_PERCENTILE = 90.0     # a channel's paper level
MIN_INK_DARKNESS = 0.1      # below this share of the paper's brightness a pixel is not ink
NEUTRAL_RATIO = 0.05        # ink whose colour ratio is below this is neutral (weight 0) ...
COLOURED_RATIO = 0.15       # ... and above this fully coloured (weight 1)
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _sample(rgb: np.ndarray) -> np.ndarray:
    """Every n-th pixel of every n-th row: at most about ``SAMPLE_PIXELS``, float32, (h, w, 3)."""
    step = max(1, int(np.ceil(np.sqrt(rgb.shape[0] * rgb.shape[1] / SAMPLE_PIXELS))))
    return rgb[::step, ::step].astype(np.float32)


def channel_gains(rgb: np.ndarray) -> np.ndarray:
    """Per-channel factors that make the paper neutral: each channel's paper level (a high
    percentile) brought to the paper's luminance."""
    paper = np.maximum(np.percentile(_sample(rgb).reshape(-1, 3), PAPER_PERCENTILE, axis=0), 1.0)
    return (float(paper @ LUMA) / paper).astype(np.float32)


def colour_weight(rgb: np.ndarray) -> float:
    """How coloured the ink of an RGB uint8 image is, from 0 (black, gray, pencil) to 1.

    Each channel's darkness is measured against its own local paper level (a maximum filter
    wider than a stroke), so uneven light and tinted paper do not count. Among the pixels
    clearly darker than the paper in some channel, the median share of that darkness that
    luminance misses: 0 for neutral ink, about 0.1 for a blue ballpoint, 0.2 to 0.4 for red,
    green and pink pens.
    """
    px = _sample(rgb)
    h, w = px.shape[:2]
    k = max(3, min(15, min(h, w) // 4) | 1)
    paper = cv2.blur(cv2.dilate(px, np.ones((k, k), np.uint8)), (k, k))
    paper = np.maximum(paper, np.maximum(px, 1.0))
    dark = 1.0 - px / paper                                   # per channel
    most = dark.max(axis=2)
    lum = dark @ LUMA                                         # the luminance's darkness
    ink = most > MIN_INK_DARKNESS
    if ink.sum() < max(20, 0.001 * h * w):
        return 0.0
    ratio = float(np.median((most[ink] - lum[ink]) / most[ink]))
    return float(np.clip((ratio - NEUTRAL_RATIO) / (COLOURED_RATIO - NEUTRAL_RATIO), 0.0, 1.0))


def ink_gray(rgb: np.ndarray, lum: np.ndarray, weight: float | None = None,
             gains: np.ndarray | None = None) -> np.ndarray:
    """uint8 gray of an RGB uint8 image whose luminance ``lum`` (uint8, computed by the caller's
    decoder) is returned as it is when the ink is neutral, and otherwise darkened towards the
    darkest balanced channel by ``weight`` (default: :func:`colour_weight`)."""
    weight = colour_weight(rgb) if weight is None else weight
    if weight <= 0.0:
        return lum
    gains = channel_gains(rgb) if gains is None else gains
    luts = np.clip(np.rint(np.arange(256, dtype=np.float32)[:, None] * gains[None, :]), 0, 255).astype(np.uint8)
    low = None
    for c in range(3):  # the darkest balanced channel, a channel at a time through a lookup table
        plane = cv2.LUT(np.ascontiguousarray(rgb[..., c]), luts[:, c])
        low = plane if low is None else cv2.min(low, plane, dst=low)
    lum = np.ascontiguousarray(lum)
    below = cv2.subtract(lum, low, dst=low)           # how much darker the darkest channel is (>= 0)
    return cv2.addWeighted(lum, 1.0, below, -float(weight), 0.0)
