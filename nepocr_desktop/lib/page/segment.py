"""Page segmentation for handwritten Devanagari: lines and words in reading order.

:func:`segment_page` works on a scan or phone photo: the image (its gray keeps coloured ink
dark, see ``load_gray``) is shrunk for analysis if it is large, background-normalised, stretched
if its ink is faint, and binarised (Sauvola), deskewed by a projection-profile search, cleaned of
ruled lines and specks, cut into lines at the valleys of the horizontal ink profile, and each line
into words at wide gaps (the head line joins the letters of a word, so connected components are
mostly words or pieces of words; specks bridge no gap). All boxes refer to the
original image; ``straight_box`` fields refer to the deskewed frame of :meth:`Page.straighten`.
"""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np

from ..read.preprocess import ImageSource, load_gray
from .binarization import _bands, _ink, _odd, normalize, stretch
from .containers import Box, Line, Page, Point, Word, deskew_transform

ANALYSIS_MAX_SIDE = 2000   # larger images are shrunk for analysis
MAX_SKEW = 10.0            # degrees searched either way
WORD_GAP = 0.35            # default word gap, as a fraction of the text height
WORD_GAP_RANGE = (0.15, 0.6)  # limits of the gap threshold learnt from a page's own gaps


# --- measurements and cleaning ------------------------------------------------------------

def stroke_width(mask: np.ndarray) -> float:
    """Typical pen width: twice the median distance-transform value on stroke ridges."""
    if not mask.any():
        return 1.0
    dt = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    kernel = np.ones((3, 3), np.uint8)
    ridges = []
    for y0, y1, a, b in _bands(dt.shape[0], 1):  # local maxima of the distance, a band at a time
        d = dt[y0:y1]
        ridges.append(d[(d >= cv2.dilate(dt[a:b], kernel)[y0 - a:y1 - a]) & (d > 0)])
    return float(np.clip(2.0 * np.median(np.concatenate(ridges)), 1.0, max(1.0, min(mask.shape) / 4)))


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2.0)])


def text_height(stats: np.ndarray, sw: float) -> float:
    """Typical word height: ink-weighted median height of the components (rules excluded)."""
    w, h, a = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_AREA]
    ok = (a >= max(6.0, 2 * sw * sw)) & (w < 25 * np.maximum(h, 1)) & (h < 25 * np.maximum(w, 1))
    if not ok.any():
        return max(4.0, 4 * sw)
    return max(4.0, _weighted_median(h[ok].astype(float), a[ok].astype(float)))


def page_text_height(mask: np.ndarray, stats: np.ndarray, sw: float) -> tuple[float, bool]:
    """:func:`text_height` of a page mask and False, unless ruled lines or a printed frame join
    its words into pieces much taller than a word: then that of the mask cut into narrow upright
    strips (in which a rule is short and flat, and a word keeps most of its height) and True."""
    text_h = text_height(stats, sw)
    h, w = mask.shape
    strip = max(32, round(min(h, w) / 20))
    if w < 2 * strip:
        return text_h, False
    parts = [np.zeros((1, 5), np.int32)]
    for x0 in range(0, w, strip):
        parts.append(cv2.connectedComponentsWithStats(np.ascontiguousarray(mask[:, x0:x0 + strip]),
                                                      connectivity=8)[2][1:])
    in_strips = text_height(np.concatenate(parts), sw)
    return (in_strips, True) if text_h > 2 * in_strips else (text_h, False)


def long_lines(mask: np.ndarray) -> np.ndarray:
    """The pixels of ``mask`` on straight horizontal or vertical runs across 30% of the image
    (rules, a form's frame), allowing a pixel of drift: no handwritten stroke is one."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    for n, horiz in ((w, True), (h, False)):
        if 0.3 * n < 15:
            continue
        runs = cv2.dilate(mask, _line_kernel(3, not horiz))
        runs = cv2.morphologyEx(runs, cv2.MORPH_OPEN, _line_kernel(int(0.3 * n), horiz))
        out |= cv2.dilate(runs, _line_kernel(3, not horiz)) & mask
    return out


def estimate_skew(mask: np.ndarray, max_angle: float = MAX_SKEW) -> float:
    """Skew (degrees, anticlockwise positive) that makes the horizontal ink profile sharpest."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 20:
        return 0.0
    if len(ys) > 200_000:
        pick = np.random.default_rng(0).choice(len(ys), 200_000, replace=False)
        ys, xs = ys[pick], xs[pick]
    ys, xs = ys.astype(np.float64), xs.astype(np.float64)

    def score(deg: float) -> float:
        t = math.radians(deg)
        proj = ys * math.cos(t) + xs * math.sin(t)
        hist = np.bincount((proj - proj.min()).astype(np.int64)).astype(np.float64)
        return float(np.sum(np.diff(hist) ** 2))

    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    best = float(coarse[int(np.argmax([score(a) for a in coarse]))])
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.1)
    scores = [score(a) for a in fine]
    best = float(fine[int(np.argmax(scores))])
    if abs(best) < 0.3 or max(scores) < 1.03 * score(0.0):
        return 0.0
    return round(best, 2)


def remove_rules(mask: np.ndarray, dark: np.ndarray, text_h: float, sw: float) -> np.ndarray:
    """Remove long thin horizontal and vertical lines (ruled paper, margins, frames) from ``mask``.

    Rules are found in ``dark`` (255 minus the normalised image) less its opening across the line
    (so that only what is thinner than a rule is left, not shading of the paper), averaged along
    the line direction, so faint rules that binarise as dashes are found whole; runs must be
    longer than any word. Strokes that crossed a rule are re-joined.
    """
    h, w = mask.shape
    out = mask.copy()
    thick = int(max(3, 2.5 * sw, 0.25 * text_h))
    across = _odd(thick + 2)
    for length, horiz in ((max(0.3 * w, 12 * text_h), True), (max(0.3 * h, 5 * text_h), False)):
        if length >= (w if horiz else h):
            continue
        faint = np.empty_like(mask)  # thin dark lines, averaged along the line, above 6%: a band at a time
        for y0, y1, a, b in _bands(h, across if horiz else 7):
            d = dark[a:b]
            d = d - cv2.morphologyEx(d, cv2.MORPH_OPEN, _line_kernel(across, not horiz))
            faint[y0:y1] = cv2.blur(d, (15, 1) if horiz else (1, 15))[y0 - a:y1 - a] > 0.06 * 255
        faint |= mask
        runs = cv2.morphologyEx(faint, cv2.MORPH_CLOSE, _line_kernel(_odd(0.25 * text_h), horiz))
        runs = cv2.dilate(runs, _line_kernel(3, not horiz))           # tolerate a pixel of drift
        runs = cv2.morphologyEx(runs, cv2.MORPH_OPEN, _line_kernel(int(length), horiz))
        if not runs.any():
            continue
        n, lab, st, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
        thin = np.zeros(n, bool)
        run_length = st[1:, cv2.CC_STAT_WIDTH if horiz else cv2.CC_STAT_HEIGHT]
        thin[1:] = st[1:, cv2.CC_STAT_AREA] <= (thick + 2) * run_length   # mean thickness; rules may slant
        rule = thin[lab].astype(np.uint8) & out
        out &= 1 - rule
        joined = cv2.morphologyEx(out, cv2.MORPH_CLOSE, _line_kernel(thick + 2, not horiz))
        out |= joined & rule
    return out


def _line_kernel(n: int, horizontal: bool) -> np.ndarray:
    """A 1-pixel-thick structuring element ``n`` long."""
    return np.ones((1, n) if horizontal else (n, 1), np.uint8)


def remove_specks(mask: np.ndarray, text_h: float, sw: float) -> np.ndarray:
    """Drop components too small to be ink, and small ones far from any larger one."""
    n, lab, st, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return mask
    area = st[:, cv2.CC_STAT_AREA]
    size = np.maximum(st[:, cv2.CC_STAT_WIDTH], st[:, cv2.CC_STAT_HEIGHT])
    keep = area >= max(3.0, 0.5 * sw * sw)
    big = keep & (size >= 0.3 * text_h)
    keep[0] = big[0] = False
    small = keep & ~big
    if small.any() and big.any():
        r = _odd(1.2 * text_h)
        near = cv2.dilate(big[lab].astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (r, r)))
        touched = np.zeros(n, bool)
        touched[np.unique(lab[(near > 0) & (lab > 0)])] = True
        keep &= big | touched
    elif not big.any():
        keep[:] = False
    return keep[lab].astype(np.uint8)


# --- lines and words ----------------------------------------------------------------------

def _line_bands(mask: np.ndarray, text_h: float, sw: float) -> list[tuple[int, int]]:
    """Row ranges of text lines, split at deep valleys of the smoothed horizontal profile."""
    prof = mask.sum(axis=1).astype(np.float64)
    sigma = max(1.0, 0.2 * text_h)
    prof = cv2.GaussianBlur(prof.reshape(-1, 1), (1, _odd(6 * sigma)), sigma).ravel()
    if prof.max() <= 0:
        return []
    peaks = [i for i in range(len(prof))
             if prof[i] > 0 and prof[i] >= prof[max(0, i - 1)] and prof[i] > prof[min(len(prof) - 1, i + 1)]]
    if not peaks and prof.max() > 0:
        peaks = [int(np.argmax(prof))]
    kept: list[int] = []
    for p in sorted(peaks, key=lambda i: -prof[i]):
        if prof[p] < 2 * sw:
            continue
        ok = True
        for q in kept:
            a, b = min(p, q), max(p, q)
            if b - a < 0.85 * text_h or prof[a:b + 1].min() > 0.7 * min(prof[p], prof[q]):
                ok = False
                break
        if ok:
            kept.append(p)
    kept.sort()
    cuts = [0] + [a + int(np.argmin(prof[a:b + 1])) for a, b in itertools.pairwise(kept)] + [len(prof)]
    return list(itertools.pairwise(cuts))


def _cut_between_lines(mask: np.ndarray, lab: np.ndarray, stats: np.ndarray, cuts: list[int],
                       text_h: float) -> None:
    """Split components that join two lines (a descender touching the line below) at their
    thinnest row near the line boundary."""
    reach = max(1, int(0.4 * text_h))
    for i in np.nonzero(stats[:, cv2.CC_STAT_HEIGHT] > 1.3 * text_h)[0]:
        if i == 0:
            continue
        x, y, w, h = (int(v) for v in stats[i, :4])
        for c in cuts:
            if not y + 0.3 * text_h < c < y + h - 0.3 * text_h:
                continue
            a, b = max(y, c - reach), min(y + h, c + reach + 1)
            own = lab[a:b, x:x + w] == i
            row = a + int(np.argmin(own.sum(axis=1)))
            mask[row, x:x + w][lab[row, x:x + w] == i] = 0


def _group_words(boxes: list[Box], gap: float) -> list[list[int]]:
    """Indices of boxes merged left to right while the gap to the next is below ``gap``."""
    order = sorted(range(len(boxes)), key=lambda i: boxes[i].x0)
    groups: list[list[int]] = []
    right = -math.inf
    for i in order:
        if not groups or boxes[i].x0 - right >= gap:
            groups.append([i])
            right = boxes[i].x1
        else:
            groups[-1].append(i)
            right = max(right, boxes[i].x1)
    return groups


def _words(pieces: list[Box], gap: float, mark: float) -> list[Box]:
    """Word boxes of a line's pieces, grouped while their gaps are below ``gap``. A piece smaller
    than ``mark`` (a dot, a vowel sign, a broken stroke's bit, a speck) joins the piece nearest
    to it when that is within 0.4 gaps; otherwise it bridges nothing (a speck between words), and
    joins the nearest word afterwards if that is within half a gap, or is dropped."""
    def dist(a: Box, b: Box) -> int:
        return max(a.x0 - b.x1, b.x0 - a.x1, 0)

    big = [[b] for b in pieces if max(b.width, b.height) >= mark]
    if not big:
        return []
    loose = []
    for b in (b for b in pieces if max(b.width, b.height) < mark):
        d = [dist(b, m[0]) for m in big]
        k = int(np.argmin(d))
        (big[k] if d[k] <= 0.4 * gap else loose).append(b)
    parts = [_union(m) for m in big]
    members = [[parts[g] for g in grp] for grp in _group_words(parts, gap)]
    words = [_union(m) for m in members]
    for b in loose:
        d = [dist(b, w) for w in words]
        k = int(np.argmin(d))
        if d[k] <= gap / 2:
            members[k].append(b)
    return [_union(m) for m in members]


def word_gap_threshold(gaps: list[float], default: float = WORD_GAP) -> float:
    """Gap (in text heights) between word-internal breaks and word spaces: the emptiest
    point of the page's gap distribution within ``WORD_GAP_RANGE``; ``default`` if few gaps."""
    g = np.asarray([x for x in gaps if x > 0], np.float64)
    if len(g) < 12:
        return default
    grid = np.linspace(*WORD_GAP_RANGE, 46)
    density = np.exp(-0.5 * ((grid[:, None] - g[None, :]) / 0.05) ** 2).sum(axis=1)
    low = np.nonzero(density <= density.min() + 1e-9)[0]
    return float(grid[low[len(low) // 2]])


def _union(boxes: list[Box]) -> Box:
    return Box(min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes), max(b.y1 for b in boxes))


def _baseline_row(mask: np.ndarray, box: Box) -> int:
    rows = mask[box.y0:box.y1, box.x0:box.x1].sum(axis=1)
    if rows.max() <= 0:
        return box.y1 - 1
    full = np.nonzero(rows >= 0.35 * np.percentile(rows[rows > 0], 75))[0]
    return box.y0 + int(full[-1])


class _Frame:
    """Maps boxes and points from the deskewed analysis frame back to the original image."""

    def __init__(self, width: int, height: int, angle: float, scale: float):
        m, _ = deskew_transform(width, height, angle)
        self.inv = cv2.invertAffineTransform(m)
        self.scale, self.width, self.height = scale, width, height

    def straight(self, b: Box) -> Box:
        s = self.scale
        return Box(int(b.x0 / s), int(b.y0 / s), math.ceil(b.x1 / s), math.ceil(b.y1 / s))

    def to_original(self, pts: np.ndarray) -> np.ndarray:
        """Analysis-frame points (N, 2) to original-image points (float)."""
        p = (pts.astype(np.float64) + 0.5) / self.scale
        return p @ self.inv[:, :2].T + self.inv[:, 2]

    def clip(self, pts: np.ndarray) -> tuple[Point, ...]:
        x = np.clip(np.rint(pts[:, 0]), 0, self.width).astype(int)
        y = np.clip(np.rint(pts[:, 1]), 0, self.height).astype(int)
        return tuple(zip(x.tolist(), y.tolist()))

    def polygon(self, b: Box) -> tuple[Point, ...]:
        return self.clip(self.to_original(np.array(b.corners(), np.float64) - 0.5))

    def ink_box(self, mask: np.ndarray, b: Box) -> Box:
        """Tight original-image box of the ink of ``mask`` inside analysis box ``b``."""
        roi = np.ascontiguousarray(mask[b.y0:b.y1, b.x0:b.x1])
        contours, _ = cv2.findContours(roi, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if contours:
            pts = cv2.convexHull(np.concatenate([c.reshape(-1, 2) for c in contours])).reshape(-1, 2) + (b.x0, b.y0)
        else:
            pts = np.array([[b.x0, b.y0], [b.x1 - 1, b.y1 - 1]])
        p = self.to_original(pts)
        half = 0.5 / self.scale
        x0, y0 = np.floor(p.min(axis=0) - half).astype(int)
        x1, y1 = np.ceil(p.max(axis=0) + half).astype(int)
        return Box(max(0, int(x0)), max(0, int(y0)), min(self.width, int(x1)), min(self.height, int(y1)))


def segment_page(image: ImageSource, word_gap: float | None = None) -> Page:
    """Lines (top to bottom) and words (left to right) of a page, a line or a single word.

    ``word_gap`` is the smallest gap between words as a fraction of the text height; by
    default it is learnt from the page (see :func:`word_gap_threshold`).
    Raises :class:`~nepocr_desktop.lib.read.preprocess.ImageError` for unreadable input.
    """
    gray = load_gray(image)
    height, width = gray.shape
    if min(height, width) < 3:
        return Page(width, height, 0.0, [])
    scale = min(1.0, ANALYSIS_MAX_SIDE / max(height, width))
    small = gray if scale == 1.0 else cv2.resize(
        gray, (max(3, round(width * scale)), max(3, round(height * scale))),
        interpolation=cv2.INTER_AREA)
    scale = small.shape[1] / width
    norm = stretch(normalize(small))
    mask = _ink(norm)
    sw = stroke_width(mask)
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    text_h, joined = page_text_height(mask, stats, sw)
    mask = remove_specks(mask, text_h, sw)
    xs = np.nonzero(mask.any(axis=0))[0]
    # a lone glyph or short word says little about the page's skew
    angle = estimate_skew(mask) if len(xs) and xs[-1] - xs[0] >= 3 * text_h else 0.0
    if angle:
        m, (fw, fh) = deskew_transform(width, height, angle)
        m[:, 2] *= scale
        size = (max(3, round(fw * scale)), max(3, round(fh * scale)))
        mask = (cv2.warpAffine(mask * 255, m, size, flags=cv2.INTER_LINEAR) > 127).astype(np.uint8)
        norm = cv2.warpAffine(norm, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if joined:  # rules joined the words: measure pen and words without them, now that they are straight
        words = mask & (1 - long_lines(mask))
        sw = stroke_width(words)
        text_h = text_height(cv2.connectedComponentsWithStats(words, connectivity=8)[2], sw)
    dark = np.subtract(255.0, norm, out=norm)  # in place: 12 MB less for a page photo
    mask = remove_specks(remove_rules(mask, dark, text_h, sw), text_h, sw)
    del norm, dark
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return Page(width, height, angle, [])
    text_h = page_text_height(mask, stats, sw)[0]
    bands = _line_bands(mask, text_h, sw)
    _cut_between_lines(mask, lab, stats, [a for a, _ in bands[1:]], text_h)
    _, _, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    comps = [Box(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h in stats[1:, :4]]
    members: list[list[int]] = [[] for _ in bands]
    starts = np.array([a for a, _ in bands])
    for i in range(len(comps)):
        members[max(0, int(np.searchsorted(starts, centroids[i + 1, 1], side="right")) - 1)].append(i)
    cy, area = centroids[1:, 1], stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    members = [part for m in members for part in _split_merged(m, comps, cy, area, text_h)]
    members = _merge_small_lines(members, comps, text_h)
    pieces = [[_union([comps[idx[g]] for g in grp]) for grp in _group_words([comps[i] for i in idx], 0.05 * text_h)]
              for idx in members]
    mark = 0.25 * text_h      # dots, vowel-sign fragments, specks: never a word, nor a bridge between two
    gaps = [(b.x0 - a.x1) / text_h for ps in pieces
            for a, b in itertools.pairwise([p for p in ps if max(p.width, p.height) >= mark])]
    gap = (word_gap if word_gap is not None else word_gap_threshold(gaps)) * text_h
    frame = _Frame(width, height, angle, scale)
    lines: list[Line] = []
    for ps in pieces:
        words = [Word(frame.ink_box(mask, wb), frame.polygon(wb), frame.straight(wb))
                 for wb in _words(ps, gap, mark)]
        if not words:
            continue
        lb = _union(ps)
        yb = _baseline_row(mask, lb)
        base = frame.clip(frame.to_original(np.array([[lb.x0, yb], [lb.x1 - 1, yb]], np.float64)))
        lines.append(Line(frame.ink_box(mask, lb), frame.polygon(lb), base, frame.straight(lb), words))
    lines.sort(key=lambda ln: ln.straight_box.y0 + ln.straight_box.y1)
    return Page(width, height, angle, lines)


def _merge_small_lines(members: list[list[int]], comps: list[Box], text_h: float) -> list[list[int]]:
    """Give lines made only of small marks (dots, vowel signs) to the nearest real line."""
    real = [i for i, m in enumerate(members) if m and max(comps[c].height for c in m) >= 0.45 * text_h]
    if not real:
        return [m for m in members if m]
    out = {i: list(members[i]) for i in real}
    for i, m in enumerate(members):
        if not m or i in out:
            continue
        cy = sum(comps[c].y0 + comps[c].y1 for c in m) / (2 * len(m))
        centre = {j: np.mean([comps[c].y0 + comps[c].y1 for c in members[j]]) / 2 for j in real}
        out[min(real, key=lambda j: abs(centre[j] - cy))].extend(m)
    return [out[i] for i in sorted(out)]


def _split_merged(idx: list[int], comps: list[Box], cy: np.ndarray, area: np.ndarray,
                  text_h: float) -> list[list[int]]:
    """Split a line whose large components sit at two clearly different heights (two
    close, drifting lines that the page profile could not separate)."""
    big = [i for i in idx if comps[i].height >= 0.45 * text_h]
    if len(big) < 4:
        return [idx]
    order = sorted(big, key=lambda i: cy[i])
    y, w = cy[order], area[order]
    best, cut = math.inf, 0
    for k in range(2, len(order) - 1):   # two groups of at least two components
        a, b = slice(0, k), slice(k, None)
        cost = sum(float(np.sum(w[s] * (y[s] - np.average(y[s], weights=w[s])) ** 2)) for s in (a, b))
        if cost < best:
            best, cut = cost, k
    if not cut:
        return [idx]
    upper, lower = np.average(y[:cut], weights=w[:cut]), np.average(y[cut:], weights=w[cut:])
    if lower - upper < 0.9 * text_h or y[cut] - y[cut - 1] < 0.3 * text_h:
        return [idx]
    mid = (upper + lower) / 2
    top = [i for i in idx if cy[i] < mid]
    bottom = [i for i in idx if cy[i] >= mid]
    return _split_merged(top, comps, cy, area, text_h) + _split_merged(bottom, comps, cy, area, text_h)
