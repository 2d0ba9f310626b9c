"""Pen strokes to an image: the one renderer of pen, mouse and touch input.

The writing canvas uses :func:`render_strokes` for the image it sends to the recognizer, and
training and the stroke evaluation sets use it for strokes traced from word images
(:mod:`nepocr_desktop.lib.training.strokes`). Geometry follows what the canvas shows: each
stroke is a chain of quadratic curves through the midpoints of successive points, drawn with a
round pen whose width may change from point to point (tablet pressure), anti-aliased.

What the recognizer reads is the writing drawn again with one pen, :data:`READING_PEN` page units
wide, whatever pen and pressure the person wrote with (:func:`reading_image`): the canvas shows
their pen, the network gets the width it reads best. Writing much smaller or larger than usual gets
a pen in proportion to its height (:func:`reading_pen`), so that after scaling to the network's
height the letters look as thick as the writing it learned from.

Writing on more than one line (a sentence that did not fit the page's width) is read as one line:
:func:`split_lines` finds the lines in the strokes and :func:`one_line` lays them one after the
other, level with the first, before the reading pen draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

# The canvas's writing area in its own units, and the white margin kept around the ink.
PAGE_WIDTH, PAGE_HEIGHT = 1200, 440
CROP_MARGIN = 24
HEADLINE, BASELINE = 0.36, 0.74  # guide lines, as fractions of the page height
# The pen width the recognizer reads drawings with. Pen strokes of the 484 `lens_val` words, written
# with pens 2-8 units wide, are read at 24.15% CER as drawn and at 23.10% redrawn with 8 units (pen
# 2: 25.71%, 4: 25.23%, 6: 23.99%, 10: 23.83%, 12: 24.71%); mouse writing at 25.55% and 24.67%
# (model card, "Drawings read with one pen").
READING_PEN = 8.0
# The heights of writing (the vertical extent of its points, page units) read with READING_PEN: the
# heights training drew words at with that pen. Training writes words 110-260 page units high
# (``WritingStyle.random``, the image's height); their points span about 0.58 of that for words
# composed from handwritten letters, 0.63 for font-rendered words and 0.78 for the real crops
# (medians of traced words): 65-200. Smaller or larger writing gets a pen in proportion
# (:func:`reading_pen`). Below MIN_READING_HEIGHT (a dash, a dot) the size cannot be told and
# READING_PEN is kept.
READING_HEIGHTS = (65.0, 200.0)
MIN_READING_HEIGHT = 20.0
_SUPERSAMPLE = 4
_CURVE_STEPS = 8


@dataclass(frozen=True)
class PenStroke:
    """One pen-down to pen-up trace: ``points`` (N, 2) in page units, ``widths`` (N,) pen
    widths at those points."""

    points: np.ndarray
    widths: np.ndarray

    @classmethod
    def of(cls, points: Sequence[tuple[float, float]] | np.ndarray, widths: Sequence[float] | np.ndarray | float
           ) -> PenStroke:
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        w = np.broadcast_to(np.asarray(widths, np.float64), (len(pts),)).copy()
        return cls(pts, w)


def _curve(points: np.ndarray, widths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense samples (and widths) of the canvas's smoothed path through ``points``: quadratic
    curves with the points as controls, from midpoint to midpoint, straight into the last point.
    Piece ``i`` (1-based) is drawn with the mean of the widths at points ``i - 1`` and ``i``."""
    n = len(points)
    if n <= 2:
        return points, widths
    ends = np.concatenate([(points[1:-1] + points[2:]) / 2, points[-1:]])    # n-1 piece ends
    starts = np.concatenate([points[:1], ends[:-1]])
    ctrls = points[1:]
    t = np.linspace(0.0, 1.0, _CURVE_STEPS + 1)[1:, None, None]               # S, 1, 1
    seg = (1 - t) ** 2 * starts + 2 * (1 - t) * t * ctrls + t ** 2 * ends      # S, n-1, 2
    seg = seg.transpose(1, 0, 2).reshape(-1, 2)
    ws = np.repeat((widths[:-1] + widths[1:]) / 2, _CURVE_STEPS)
    return np.concatenate([points[:1], seg]), np.concatenate([ws[:1], ws])


def ink_bounds(strokes: Sequence[PenStroke]) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1) of all ink including the pen's half width, or None with no points."""
    boxes = [(s.points.min(0) - s.widths.max() / 2 - 1, s.points.max(0) + s.widths.max() / 2 + 1)
             for s in strokes if len(s.points)]
    if not boxes:
        return None
    lo = np.min([b[0] for b in boxes], axis=0)
    hi = np.max([b[1] for b in boxes], axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def render_strokes(strokes: Sequence[PenStroke], size: tuple[int, int] = (PAGE_WIDTH, PAGE_HEIGHT),
                   crop: bool = True, margin: int = CROP_MARGIN) -> np.ndarray:
    """The strokes as a uint8 gray image: black ink on white, anti-aliased.

    ``size`` is the page (width, height) in page units, one pixel each; with ``crop`` the image
    is cut to the ink plus ``margin`` white pixels (within the page; the whole page when there
    is no ink), as the canvas sends it to the recognizer.
    """
    w, h = size
    box = ink_bounds(strokes)
    if box is None or not crop:
        x0, y0, x1, y1 = 0, 0, w, h
    else:
        bx0, by0, bx1, by1 = box
        x0, y0 = max(0, int(np.floor(bx0)) - margin), max(0, int(np.floor(by0)) - margin)
        x1, y1 = min(w, int(np.ceil(bx1)) + margin + 1), min(h, int(np.ceil(by1)) + margin + 1)
        if x1 <= x0 or y1 <= y0:
            x0, y0, x1, y1 = 0, 0, w, h
    s = _SUPERSAMPLE
    ink = np.zeros(((y1 - y0) * s, (x1 - x0) * s), np.uint8)
    origin = np.array([x0, y0], np.float64)
    for stroke in strokes:
        if not len(stroke.points):
            continue
        pts, ws = _curve(stroke.points, stroke.widths)
        px = np.round((pts - origin) * s * 16).astype(np.int64)  # 4 fractional bits
        if len(px) == 1:
            r = max(1, round(float(ws[0]) * s / 2))
            cv2.circle(ink, (int(px[0, 0] >> 4), int(px[0, 1] >> 4)), r, 255, -1, cv2.LINE_8)
            continue
        if np.all(ws == ws[0]):  # one width: the whole curve in one call
            cv2.polylines(ink, [px.reshape(-1, 1, 2).astype(np.int32)], False, 255,
                          max(1, round(float(ws[0]) * s)), cv2.LINE_8, shift=4)
            continue
        for k in range(1, len(px), _CURVE_STEPS):  # one call per curve piece, each with its width
            piece = px[max(0, k - 1):k + _CURVE_STEPS]
            cv2.polylines(ink, [piece.reshape(-1, 1, 2).astype(np.int32)], False, 255,
                          max(1, round(float(ws[k]) * s)), cv2.LINE_8, shift=4)
    small = cv2.resize(ink, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    return (255 - small).astype(np.uint8)


def reading_pen(strokes: Sequence[PenStroke]) -> float:
    """The width of the one pen the recognizer reads ``strokes`` with: :data:`READING_PEN` for
    writing between :data:`READING_HEIGHTS` high, and for smaller or larger writing the width that
    keeps the pen's share of the height at that range's nearer end. The `lens_val` words traced to
    pen strokes and written 50-70 page units high are read at 24.11% CER instead of 29.12% with the
    usual pen (mouse writing 39.59% instead of 43.16%), written 280-380 high at 21.82% instead of
    22.38%; writing of the usual sizes reads as before (model card, "The reading pen follows the
    writing's size")."""
    ys = [s.points[:, 1] for s in strokes if len(s.points)]
    if not ys:
        return READING_PEN
    y = np.concatenate(ys)
    height = float(y.max() - y.min())
    if height < MIN_READING_HEIGHT:
        return READING_PEN
    low, high = READING_HEIGHTS
    return min(max(READING_PEN, READING_PEN * height / high), READING_PEN * height / low)


def for_reading(strokes: Sequence[PenStroke]) -> list[PenStroke]:
    """The same strokes with one pen, :func:`reading_pen` wide at every point."""
    pen = reading_pen(strokes)
    return [PenStroke(s.points, np.full(len(s.points), pen)) for s in strokes]


def reading_image(strokes: Sequence[PenStroke], size: tuple[int, int] = (PAGE_WIDTH, PAGE_HEIGHT)) -> np.ndarray:
    """The image the recognizer reads for ``strokes`` written on a page of ``size``: drawn with
    the reading pen (:func:`for_reading`), cropped to the ink as :func:`render_strokes` does.
    Writing on several lines is laid out as one line first (:func:`one_line`); the page then
    grows to the right as far as that line needs."""
    laid = one_line(strokes)
    if laid is not strokes:
        box = ink_bounds(laid)
        if box is not None:
            size = (max(size[0], int(np.ceil(box[2])) + CROP_MARGIN + 1), max(size[1], int(np.ceil(box[3])) + 1))
    return render_strokes(for_reading(laid), size, crop=True)


# -- writing on several lines --

# Strokes whose vertical extents overlap form a band; bands less than LINE_NEAR of the tallest
# band's height apart are one band (the curl of a vowel sign above the headline or a sign below a
# letter, traced or written apart from it). A band at least LINE_SHARE of the tallest band's height
# is a line of its own; smaller bands (a dot, a headline drawn apart from its letters) belong to the
# nearest line.
LINE_SHARE = 0.4
LINE_NEAR = 0.2
# The space put between the end of one line and the start of the next, as a share of the
# writing's size (the middle 80% of its ink's height; see ``_size``). Chosen on pairs of the
# development words (``synth_dev``) written on two lines: 0.5, 1.0, 1.5 and 2.0 read them at
# 23.71%, 21.57%, 21.03% and 21.23% CER (mouse writing 27.17%, 25.09%, 24.66%, 24.91%).
LINE_GAP = 1.5


def _y_extent(stroke: PenStroke) -> tuple[float, float]:
    half = float(stroke.widths.max()) / 2 if len(stroke.widths) else 0.0
    return float(stroke.points[:, 1].min()) - half, float(stroke.points[:, 1].max()) + half


def split_lines(strokes: Sequence[PenStroke]) -> list[list[PenStroke]]:
    """The strokes grouped into lines of writing, top to bottom, each in the order written.

    Strokes whose vertical extents (with their pen) overlap or come within :data:`LINE_NEAR` of
    the tallest such band's height of each other form a band. A band at least :data:`LINE_SHARE`
    of the tallest band's height is a line; every other band goes to the line nearest to it.
    Writing with one band, or with one tall band, is one line."""
    drawn = [(i, s) for i, s in enumerate(strokes) if len(s.points)]
    if len(drawn) < 2:
        return [list(strokes)] if strokes else []
    spans = sorted((_y_extent(s) + (i,) for i, s in drawn))
    bands, members = _bands(spans, 0.0)
    near = LINE_NEAR * max(b[1] - b[0] for b in bands)
    bands, members = _bands(spans, near)
    tallest = max(b[1] - b[0] for b in bands)

    def gap(j: int, k: int) -> float:
        return max(bands[j][0] - bands[k][1], bands[k][0] - bands[j][1], 0.0)

    lines = [k for k, b in enumerate(bands) if b[1] - b[0] >= LINE_SHARE * tallest]
    if len(lines) < 2:
        return [list(strokes)]
    groups: dict[int, list[int]] = {k: [] for k in lines}
    for k in range(len(bands)):
        groups[min(lines, key=lambda j: gap(j, k))] += members[k]
    return [[strokes[i] for i in sorted(groups[k])] for k in lines]


def _bands(spans: Sequence[tuple[float, float, int]], near: float) -> tuple[list[list[float]], list[list[int]]]:
    """Vertical extents (top, bottom, stroke index), sorted by top, joined into bands where they
    overlap or come within ``near`` of each other: each band's [top, bottom] and its strokes."""
    bands: list[list[float]] = []
    members: list[list[int]] = []
    for top, bottom, i in spans:
        if bands and top <= bands[-1][1] + near:
            bands[-1][1] = max(bands[-1][1], bottom)
            members[-1].append(i)
        else:
            bands.append([top, bottom])
            members.append([i])
    return bands, members


def _segments(strokes: Sequence[PenStroke]) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints' heights of the strokes' segments and the segments' lengths (a lone point
    counts as one unit long)."""
    ys, lengths = [], []
    for s in strokes:
        p = s.points
        if len(p) == 1:
            ys.append(p[:, 1])
            lengths.append(np.ones(1))
        elif len(p):
            ys.append((p[1:, 1] + p[:-1, 1]) / 2)
            lengths.append(np.hypot(*np.diff(p, axis=0).T))
    return np.concatenate(ys), np.concatenate(lengths)


def _quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][min(len(values) - 1, int(np.searchsorted(cum, q * cum[-1])))])


def _size(strokes: Sequence[PenStroke]) -> tuple[float, float]:
    """Where a line's ink is centred and how tall its middle 80% is (heights weighted by the
    length of ink at them): the middle, not the extremes, so that a vowel sign above or below
    moves neither."""
    ys, lengths = _segments(strokes)
    lo, mid, hi = (_quantile(ys, lengths, q) for q in (0.1, 0.5, 0.9))
    return mid, max(hi - lo, 1.0)


def one_line(strokes: Sequence[PenStroke]) -> Sequence[PenStroke]:
    """Writing on several lines (:func:`split_lines`) laid out as one line: each line after the
    one before it, :data:`LINE_GAP` times the lines' size apart, its middle level with the first
    line's. Writing on one line is returned as it is (the same object)."""
    lines = split_lines(strokes)
    if len(lines) < 2:
        return strokes
    sizes = [_size(line) for line in lines]
    gap = LINE_GAP * float(np.exp(np.mean(np.log([h for _m, h in sizes]))))
    centre = sizes[0][0]
    out: list[PenStroke] = []
    right = None
    for line, (mid, _height) in zip(lines, sizes):
        left = min(float(s.points[:, 0].min()) for s in line if len(s.points))
        shift = np.array([(left if right is None else right + gap) - left, centre - mid])
        moved = [PenStroke(s.points + shift, s.widths) if len(s.points) else s for s in line]
        right = max(float(s.points[:, 0].max()) for s in moved if len(s.points))
        out += moved
    return out
