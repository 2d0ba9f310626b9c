"""How a composed page is inked and scanned: pen colours and pressure, pencil, thin pens, ruled
and form paper, scanner noise, black-and-white scanners.

:func:`render` turns a page's ink shape (float, 1 = ink), its paper brightness and its rules into an
RGB image for one of :data:`CONDITIONS` (``black`` is the gray page of ``make_page_testset.py``
itself). Ink is laid over the paper as a filter: ``paper * (1 - a * (1 - colour / 255))``, its
opacity ``a`` the ink shape times a pen pressure that varies smoothly along the line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from nepocr_desktop.lib.page.binarization import normalize

CONDITIONS = ("black", "blue", "red", "pink", "green", "faint", "thin", "ruled", "scan", "bw")
RULE_RGB = (150, 180, 225)     # the pale blue of ruled paper


@dataclass(frozen=True)
class Pen:
    rgb: tuple[int, int, int]
    pressure: tuple[float, float]   # opacity range along the strokes
    grain: float = 0.0              # share of the opacity that paper grain takes away (pencil)


PENS = {
    "blue": Pen((28, 48, 150), (0.65, 1.0)),
    "red": Pen((200, 30, 40), (0.65, 1.0)),
    "pink": Pen((250, 150, 195), (0.55, 0.95)),     # a light pink gel pen
    "green": Pen((25, 125, 60), (0.65, 1.0)),
    "faint": Pen((80, 80, 88), (0.3, 0.55), grain=0.45),   # pencil, light pressure
    "thin": Pen((30, 35, 70), (0.7, 1.0)),
    "black": Pen((35, 35, 40), (0.75, 1.0)),
}


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Unit-variance noise that varies over about ``cell`` pixels."""
    h, w = shape
    gh, gw = max(2, math.ceil(h / cell) + 1), max(2, math.ceil(w / cell) + 1)
    out = cv2.resize(rng.normal(0, 1, (gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return out / max(float(out.std()), 1e-6)


def pressure(rng: np.random.Generator, shape: tuple[int, int], text_h: float,
             span: tuple[float, float]) -> np.ndarray:
    """Pen opacity within ``span``: slow changes from word to word, quicker ones within a word."""
    n = 0.7 * smooth_noise(rng, shape, 3 * text_h) + 0.5 * smooth_noise(rng, shape, 0.5 * text_h)
    lo, hi = span
    return np.clip((lo + hi) / 2 + (hi - lo) / 2 * n / 1.4, lo, hi).astype(np.float32)


def thin_strokes(ink: np.ndarray) -> np.ndarray:
    """The ink redrawn with a fine pen, one to two pixels wide: the middle of each stroke (the
    ridge of its distance transform), lightly smoothed."""
    mask = (ink > 0.5).astype(np.uint8)
    if not mask.any():
        return ink
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    ridge = ((dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8)) - 0.5) & (mask > 0)).astype(np.float32)
    return np.clip(1.5 * cv2.GaussianBlur(ridge, (0, 0), 0.6), 0, 1)


def form_layers(rng: np.random.Generator, shape: tuple[int, int], text_h: float, pitch: float,
                top: float, left: int, right: int, bottom: float) -> list[tuple[np.ndarray, tuple[int, int, int]]]:
    """Ruled lines under (or through the head line of) every row of words, solid or dotted, a
    red double margin and a printed frame: (opacity, RGB) layers, drawn before the page turns."""
    h, w = shape
    layers = []
    rules = np.zeros(shape, np.float32)
    offset = rng.choice([0.0, 0.75]) * text_h
    dotted = rng.random() < 0.4
    thick = int(rng.integers(1, 3))
    for k in range(int((h - top) / pitch) + 2):
        y = int(top - pitch + k * pitch + offset)
        if not 0 < y < h:
            continue
        if dotted:
            for x in range(0, w, 9):
                cv2.line(rules, (x, y), (x + 3, y), 1.0, thick)
        else:
            cv2.line(rules, (0, y), (w, y), 1.0, thick)
    layers.append((rules * rng.uniform(0.6, 0.9), RULE_RGB))
    margin = np.zeros(shape, np.float32)
    x = max(4, left - int(0.5 * text_h))
    for dx in (0, 4):
        cv2.line(margin, (x - dx, 0), (x - dx, h), 1.0, 1)
    layers.append((margin * rng.uniform(0.6, 0.9), (215, 70, 80)))
    frame = np.zeros(shape, np.float32)
    x0, x1 = max(2, left - int(0.9 * text_h)), min(w - 3, right + int(0.5 * text_h))
    y0, y1 = max(2, int(top - 1.1 * text_h)), min(h - 3, int(bottom))
    cv2.rectangle(frame, (x0, y0), (x1, y1), 1.0, 2)
    cv2.line(frame, (x0, max(1, y0 - int(0.6 * text_h))), (x1, max(1, y0 - int(0.6 * text_h))), 1.0, 1)
    layers.append((frame * rng.uniform(0.7, 0.95), (60, 60, 70)))
    return layers


def _filter(page: np.ndarray, alpha: np.ndarray, rgb: tuple[int, int, int]) -> None:
    """Lay a translucent colour over ``page`` (H, W, 3 float) in place."""
    for c in range(3):
        page[..., c] *= 1.0 - alpha * (1.0 - rgb[c] / 255.0)


def _scanner(rng: np.random.Generator, page: np.ndarray, ink: np.ndarray) -> None:
    """Uneven light (a shadow along one edge, slow variation), show-through of the back page,
    dust, sensor noise and the scanner's blur, in place."""
    h, w = page.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    side = int(rng.integers(4))
    d = (xx / w, 1 - xx / w, yy / h, 1 - yy / h)[side]
    light = 1.0 - rng.uniform(0.15, 0.4) * np.clip(1 - d / rng.uniform(0.1, 0.3), 0, 1) ** 2
    light *= 1.0 + 0.05 * smooth_noise(rng, (h, w), 300)
    if rng.random() < 0.5:
        back = cv2.GaussianBlur(np.fliplr(ink), (0, 0), 2.0) * rng.uniform(0.06, 0.12)
        _filter(page, back, (60, 60, 60))
    page *= light[..., None]
    for _ in range(int(rng.uniform(40, 160) * h * w / 1e6)):   # dust, so many a megapixel
        cv2.circle(page, (int(rng.integers(w)), int(rng.integers(h))), int(rng.integers(1, 3)),
                   tuple([float(rng.uniform(40, 160))] * 3), -1)
    page += rng.normal(0, rng.uniform(2, 6), page.shape).astype(np.float32)


def render(rng: np.random.Generator, condition: str, paper: np.ndarray, ink: np.ndarray,
           rules: np.ndarray, layers: list[tuple[np.ndarray, tuple[int, int, int]]], text_h: float,
           blur: float) -> tuple[np.ndarray, np.ndarray, int | None]:
    """RGB page (uint8), the ink shape its words have (for their true boxes), and the JPEG
    quality it is to be saved with (None: PNG)."""
    name = condition if condition in PENS else ("black", "blue")[int(rng.random() < 0.5)]
    tint = np.array([1.0, rng.uniform(0.97, 1.0), rng.uniform(0.9, 1.0)], np.float32)
    if condition == "scan":
        tint = np.array([1.0, rng.uniform(0.93, 0.98), rng.uniform(0.8, 0.92)], np.float32)
    page = np.clip(paper, 0, 255).astype(np.float32)[..., None] * tint
    page += rng.normal(0, 1.5, page.shape).astype(np.float32)     # colour noise of the paper
    _filter(page, rules, RULE_RGB)
    for alpha, rgb in layers:
        _filter(page, alpha, rgb)
    pen = PENS[name]
    shape = thin_strokes(ink) if condition == "thin" else ink
    alpha = shape * pressure(rng, shape.shape, text_h, pen.pressure)
    if pen.grain:
        grain = cv2.GaussianBlur(rng.random(shape.shape).astype(np.float32), (0, 0), 0.7)
        alpha *= 1.0 - pen.grain * np.clip((grain - 0.35) / 0.3, 0, 1)
    _filter(page, alpha, pen.rgb)
    quality = None
    if condition == "scan":
        _scanner(rng, page, ink)
        blur = rng.uniform(0.8, 1.4)
        quality = int(rng.integers(35, 71))
    page = cv2.GaussianBlur(page, (0, 0), blur)
    if condition == "bw":
        page = _black_and_white(rng, page)
    return np.clip(page, 0, 255).astype(np.uint8), shape, quality


def _black_and_white(rng: np.random.Generator, page: np.ndarray) -> np.ndarray:
    """A document scanner's black-and-white mode: the paper's light evened out (as the page reader
    does it, :func:`~nepocr_desktop.lib.page.binarization.normalize`), then every pixel cut at one
    threshold (a share of the paper's brightness), no grey left."""
    evened = normalize(np.clip(page.mean(axis=2), 0, 255).astype(np.uint8))
    bw = np.where(evened > rng.uniform(0.6, 0.75) * 255.0, 255.0, 0.0).astype(np.float32)
    return np.repeat(bw[..., None], 3, axis=2)
