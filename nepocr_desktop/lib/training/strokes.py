"""From a word image back to the strokes a pen would leave, and simulated pen and mouse
writing: the stroke domain for training and evaluation.

:func:`trace_strokes` binarises a word image, thins it to a skeleton and traces the skeleton
into polylines (specks and spurs dropped); :func:`simulate_writing` turns those into the
events a person would produce on the canvas (size between the guides, pen width, pressure,
shake, event spacing); :func:`redraw_as_strokes` renders them with the canvas's own renderer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..read.preprocess import ink_map
from ..read.strokes import (
    HEADLINE,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    PenStroke,
    for_reading,
    ink_bounds,
    render_strokes,
)

# -- from a word image to strokes ---------------------------------------------------------------

def _zhang_suen_tables() -> tuple[np.ndarray, np.ndarray]:
    """Deletion lookup tables of Zhang-Suen thinning's two sub-iterations, indexed by the
    8-neighbour code (bit k set for neighbour P(k+2), clockwise from north)."""
    t1, t2 = np.zeros(256, np.uint8), np.zeros(256, np.uint8)
    for code in range(256):
        p = [(code >> k) & 1 for k in range(8)]  # P2..P9
        b = sum(p)
        a = sum(p[k] == 0 and p[(k + 1) % 8] == 1 for k in range(8))
        p2, _p3, p4, _p5, p6, _p7, p8, _p9 = p
        if 2 <= b <= 6 and a == 1:
            t1[code] = p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
            t2[code] = p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
    return t1, t2


_ZS1, _ZS2 = _zhang_suen_tables()
# Neighbour weights P2..P9 (N, NE, E, SE, S, SW, W, NW) for the 3x3 code filter.
_CODE_KERNEL = np.array([[128, 1, 2], [64, 0, 4], [32, 16, 8]], np.float32)


def thin(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide skeleton of a binary mask (Zhang-Suen), as uint8 0/1."""
    img = np.pad((mask > 0).astype(np.uint8), 1)
    for _ in range(200):
        changed = False
        for table in (_ZS1, _ZS2):
            code = cv2.filter2D(img.astype(np.float32), -1, _CODE_KERNEL, borderType=cv2.BORDER_CONSTANT)
            delete = (img == 1) & (table[code.astype(np.int32)] == 1)
            if delete.any():
                img[delete] = 0
                changed = True
        if not changed:
            break
    return img[1:-1, 1:-1]


_OFFSETS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def _neighbours(skel: np.ndarray, y: int, x: int) -> list[tuple[int, int]]:
    h, w = skel.shape
    return [(y + dy, x + dx) for dy, dx in _OFFSETS
            if 0 <= y + dy < h and 0 <= x + dx < w and skel[y + dy, x + dx]]


def skeleton_paths(skel: np.ndarray) -> list[np.ndarray]:
    """The skeleton as pixel paths (arrays of (x, y)) between end points and junctions; loops
    become closed paths. Adjacent junction pixels form one junction: the paths that meet there
    end at its centre, so they join without gaps."""
    ys, xs = np.nonzero(skel)
    pixels = set(zip(ys.tolist(), xs.tolist()))
    degree = {p: len(_neighbours(skel, *p)) for p in pixels}
    nodes = {p for p, d in degree.items() if d != 2}
    node_mask = np.zeros(skel.shape, np.uint8)
    for y, x in nodes:
        node_mask[y, x] = 1
    count, labels = cv2.connectedComponents(node_mask, connectivity=8)
    centre: dict[int, tuple[float, float]] = {}
    for k in range(1, count):
        cy, cx = np.nonzero(labels == k)
        centre[k] = (float(cx.mean()), float(cy.mean()))
    used_edges: set[frozenset] = set()
    paths: list[np.ndarray] = []

    def walk(start: tuple[int, int], nxt: tuple[int, int]) -> list[tuple[int, int]]:
        path = [start, nxt]
        used_edges.add(frozenset((start, nxt)))
        prev, cur = start, nxt
        while cur not in nodes:
            step = [q for q in _neighbours(skel, *cur) if q != prev and frozenset((cur, q)) not in used_edges]
            if not step:
                break
            prev, cur = cur, step[0]
            used_edges.add(frozenset((prev, cur)))
            path.append(cur)
            if cur == start:
                break
        return path

    def as_xy(path: list[tuple[int, int]]) -> np.ndarray:
        xy = [(float(x), float(y)) for y, x in path]
        if path[0] in nodes:
            xy.insert(0, centre[int(labels[path[0]])])
        if path[-1] in nodes and len(path) > 1:
            xy.append(centre[int(labels[path[-1]])])
        return np.array(xy, np.float64)

    for k in range(1, count):
        cy, cx = np.nonzero(labels == k)
        if all(degree[(int(y), int(x))] == 0 for y, x in zip(cy, cx)) or (
                len(cy) > 1 and all(q in nodes for y, x in zip(cy, cx) for q in _neighbours(skel, int(y), int(x)))):
            paths.append(np.array([centre[k]], np.float64))  # a dot
    for node in sorted(nodes):
        for q in _neighbours(skel, *node):
            if q not in nodes and frozenset((node, q)) not in used_edges:
                paths.append(as_xy(walk(node, q)))
    for p in sorted(pixels - nodes):  # closed loops with no node
        for q in _neighbours(skel, *p):
            if frozenset((p, q)) not in used_edges:
                paths.append(as_xy(walk(p, q)))
    return paths


def _prune(paths: list[np.ndarray], spur: float, ends: set[tuple[float, float]]) -> list[np.ndarray]:
    """Drop short side branches: paths shorter than ``spur`` with a free end."""
    out = []
    for p in paths:
        length = float(np.sum(np.hypot(*np.diff(p, axis=0).T))) if len(p) > 1 else 0.0
        free = (tuple(p[0]) in ends) or (tuple(p[-1]) in ends)
        if length < spur and free and len(paths) > 1:
            continue
        out.append(p)
    return out


@dataclass(frozen=True)
class TraceStyle:
    """How :func:`trace_strokes` reduces an image to centre lines. The defaults are the tracer
    of the evaluation sets; :meth:`random` varies it, so that a network trained on traces does
    not learn one tracer's faults (another tracer loses other loops and leaves other spurs)."""

    height: float = 64.0     # rows the ink mask is scaled to before thinning
    upscale: float = 1.0     # the gray image scaled up first (cubic), for smoother centre lines
    threshold: float = 1.0   # factor on Otsu's threshold: below 1 more ink (thicker), above less
    close: bool = True       # small gaps in the mask closed before thinning
    epsilon: float = 0.6     # polyline simplification, pixels of the thinned mask
    spur: float = 1.2        # side branches shorter than this many stroke widths are dropped

    @classmethod
    def random(cls, rng: np.random.Generator) -> TraceStyle:
        upscale = float(rng.uniform(2.0, 3.0)) if rng.random() < 0.3 else 1.0
        return cls(height=float(rng.choice([32.0, 48.0, 64.0, 64.0, 96.0])), upscale=upscale,
                   threshold=float(rng.uniform(0.8, 1.2)), close=bool(rng.random() < 0.8),
                   epsilon=float(rng.uniform(0.4, 1.2)), spur=float(rng.uniform(0.8, 1.8)))


def trace_strokes(gray: np.ndarray, style: TraceStyle | None = None,
                  min_area: int = 6) -> tuple[list[np.ndarray], float]:
    """Centre lines of the ink of a word image, as polylines in the image's pixel units.

    The image is binarised (Otsu on the ink map), scaled to ``style.height`` rows, thinned to a
    skeleton, traced into paths between end points and junctions, rid of specks and spurs and
    simplified, as ``style`` says (the sets' usual tracer by default). Returns the polylines (in
    original pixel units) and the median stroke width (also in original pixels).
    """
    style = style or TraceStyle()
    up = max(1.0, style.upscale)
    if up > 1.0:
        gray = cv2.resize(gray, (max(1, round(gray.shape[1] * up)), max(1, round(gray.shape[0] * up))),
                          interpolation=cv2.INTER_CUBIC)
        min_area = round(min_area * up * up)
    ink = (ink_map(gray) * 255).astype(np.uint8)
    otsu, mask = cv2.threshold(ink, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if style.threshold != 1.0:
        mask = (ink > min(254.0, otsu * style.threshold)).astype(np.uint8)
    if not mask.any():
        return [], 1.0
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    mask = keep[labels].astype(np.uint8)
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    rows = max(style.height, gray.shape[0]) if up > 1.0 else style.height  # scaled up: never down again
    scale = rows / max(1, gray.shape[0])
    big = cv2.resize(mask, (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale))),
                     interpolation=cv2.INTER_NEAREST if scale < 1 else cv2.INTER_LINEAR)
    if style.close:
        big = cv2.morphologyEx(big, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    skel = thin(big)
    width = float(2 * np.median(dist[(thin(mask) > 0) & (mask > 0)])) if mask.any() else 1.0
    if not np.isfinite(width) or width <= 0:
        width = 1.0
    paths = skeleton_paths(skel)
    ends = {(float(x), float(y)) for y, x in zip(*np.nonzero(skel))
            if len(_neighbours(skel, y, x)) == 1}
    paths = _prune(paths, spur=max(2.0, style.spur * width * scale), ends=ends)
    out = []
    for p in paths:
        if len(p) > 2:
            p = cv2.approxPolyDP(p.astype(np.float32).reshape(-1, 1, 2), style.epsilon,
                                 False).reshape(-1, 2).astype(np.float64)
        out.append(p / (scale * up))
    return out, width / up


# -- simulated pen and mouse writing ------------------------------------------------------------

@dataclass(frozen=True)
class WritingStyle:
    """How a person writes on the canvas: pen width (page units), pressure changes, hand
    shake and the spacing of input events (larger spacing: a more angular mouse trace)."""

    pen: float = 5.0
    pressure: float = 0.0   # 0: constant width; up to 1: tablet-like swelling and thinning
    shake: float = 0.0      # hand tremor, page units (standard deviation)
    spacing: float = 4.0    # distance between input events, page units
    height: float = 170.0   # height of the word's ink on the page, page units
    reading: bool = False   # drawn again as the Write tab hands writing to the recognizer
                            # (``for_reading``: one pen, in proportion to the writing's size)

    @classmethod
    def random(cls, rng: np.random.Generator, mouse: bool | None = None) -> WritingStyle:
        mouse = bool(rng.random() < 0.5) if mouse is None else mouse
        pen = float(np.clip(rng.normal(5.0, 1.6), 2.0, 8.0))
        if mouse:
            return cls(pen=pen, pressure=0.0, shake=float(rng.uniform(0.3, 2.5)),
                       spacing=float(rng.uniform(4, 22)), height=float(rng.uniform(110, 260)))
        return cls(pen=pen, pressure=float(rng.uniform(0, 1)), shake=float(rng.uniform(0, 0.8)),
                   spacing=float(rng.uniform(2, 8)), height=float(rng.uniform(110, 260)))


def _resample(path: np.ndarray, spacing: float, rng: np.random.Generator | None) -> np.ndarray:
    """Points along ``path`` about ``spacing`` apart (the events a mouse or pen reports)."""
    if len(path) < 2:
        return path
    seg = np.hypot(*np.diff(path, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    if total <= 0:
        return path[:1]
    n = max(2, int(np.ceil(total / max(spacing, 0.5))) + 1)
    t = np.linspace(0, total, n)
    if rng is not None and n > 2:
        t[1:-1] += rng.uniform(-0.3, 0.3, n - 2) * (total / (n - 1))
        t = np.sort(t)
    return np.stack([np.interp(t, cum, path[:, 0]), np.interp(t, cum, path[:, 1])], axis=1)


def simulate_writing(paths: Sequence[np.ndarray], image_height: float, style: WritingStyle,
                     rng: np.random.Generator | None = None) -> list[PenStroke]:
    """The strokes a person would leave on the canvas writing the traced ``paths`` of a word
    image ``image_height`` pixels high: scaled to ``style.height`` page units, placed between
    the guides, sampled as input events, shaken and pressed as ``style`` says."""
    scale = style.height / max(1.0, image_height)
    top = PAGE_HEIGHT * HEADLINE - 0.25 * style.height
    strokes = []
    for path in paths:
        pts = path * scale + np.array([60.0, top])
        pts = _resample(pts, style.spacing, rng)
        if rng is not None and style.shake > 0:
            # tremor: smooth low-frequency wobble plus event noise
            n = len(pts)
            wobble = rng.normal(0, style.shake, (max(2, n // 6 + 2), 2))
            idx = np.linspace(0, len(wobble) - 1, n)
            smooth = np.stack([np.interp(idx, np.arange(len(wobble)), wobble[:, k]) for k in range(2)], 1)
            pts = pts + smooth + rng.normal(0, style.shake * 0.4, pts.shape)
        widths = np.full(len(pts), style.pen)
        if style.pressure > 0 and len(pts) > 1:
            p = np.clip(0.6 + style.pressure * 0.4 * np.sin(np.linspace(0, np.pi, len(pts)))
                        + (rng.normal(0, 0.1 * style.pressure, len(pts)) if rng is not None else 0), 0, 1)
            widths = style.pen * (0.35 + 1.3 * p)
        strokes.append(PenStroke(pts, widths))
    return for_reading(strokes) if style.reading else strokes


def redraw_as_strokes(gray: np.ndarray, rng: np.random.Generator, style: WritingStyle | None = None,
                      paths: tuple[list[np.ndarray], float] | None = None,
                      trace: TraceStyle | None = None) -> np.ndarray:
    """A word image written again as canvas strokes (traced centre lines, a random or given
    writing style), rendered and cropped exactly as the canvas does. ``trace`` says how the
    image is traced when ``paths`` are not given."""
    traced = paths if paths is not None else trace_strokes(gray, style=trace)
    if not traced[0]:
        return gray
    style = style or WritingStyle.random(rng)
    strokes = simulate_writing(traced[0], gray.shape[0], style, rng)
    return render_strokes(strokes, size=(max(PAGE_WIDTH, int(_extent(strokes)) + 64), PAGE_HEIGHT * 2))


def _extent(strokes: Sequence[PenStroke]) -> float:
    box = ink_bounds(strokes)
    return box[2] if box else 0.0
