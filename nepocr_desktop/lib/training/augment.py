"""Augmentation that makes clean or real word images look handwritten and photographed.

All functions take and return uint8 grayscale images with dark ink on a light background.
"""

from __future__ import annotations

import cv2
import numpy as np


def to_ink(gray: np.ndarray) -> np.ndarray:
    """Ink in [0, 1]; light-on-dark images (e.g. DHCD) are inverted first."""
    ink = 1.0 - gray.astype(np.float32) / 255.0
    return 1.0 - ink if np.median(ink) > 0.5 else ink


def to_gray(ink: np.ndarray) -> np.ndarray:
    return np.clip(255.0 * (1.0 - ink), 0, 255).astype(np.uint8)


def affine(ink: np.ndarray, rng: np.random.Generator, rot: float = 3.0, shear: float = 0.35,
           stretch: float = 0.2) -> np.ndarray:
    """Rotation, slant (shear) and horizontal stretch, keeping all ink in the frame."""
    return warp(ink, rng.uniform(-rot, rot), rng.uniform(-shear, shear), np.exp(rng.uniform(-stretch, stretch)))


def warp(ink: np.ndarray, degrees: float = 0.0, shear: float = 0.0, stretch: float = 1.0) -> np.ndarray:
    """Rotate by ``degrees``, slant by ``shear`` and scale the width by ``stretch``, keeping all
    ink in the frame."""
    h, w = ink.shape
    a, sh, sx = np.deg2rad(degrees), shear, stretch
    m = np.array([[np.cos(a) * sx, -np.sin(a) + sh, 0.0], [np.sin(a) * sx, np.cos(a), 0.0]])
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ m.T
    lo, hi = corners.min(0), corners.max(0)
    m[:, 2] -= lo
    size = (int(np.ceil(hi[0] - lo[0])) + 1, int(np.ceil(hi[1] - lo[1])) + 1)
    return cv2.warpAffine(ink, m, size, flags=cv2.INTER_LINEAR, borderValue=0.0)


def elastic(ink: np.ndarray, rng: np.random.Generator, amp: float = 0.04, cell: float = 0.5) -> np.ndarray:
    """Smooth random displacement (relative to the height): wobbly strokes and baseline."""
    h, w = ink.shape
    gh, gw = 3, max(3, int(w / (cell * h)) + 2)
    dx = cv2.resize(rng.normal(0, amp * h, (gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(rng.normal(0, amp * h, (gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(ink, xs + dx, ys + dy, cv2.INTER_LINEAR, borderValue=0.0)


def stroke_width(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thinner or thicker strokes."""
    k = int(rng.integers(1, 3)) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    return cv2.dilate(ink, kernel) if rng.random() < 0.6 else cv2.erode(ink, kernel)


def pen_strokes(ink: np.ndarray, rng: np.random.Generator, radius: float | None = None) -> np.ndarray:
    """Redraw glyphs as strokes of a round pen (``radius`` relative to the height, random when
    not given): the look of a mouse or tablet drawing."""
    mask = (ink > 0.5).astype(np.uint8)
    if not mask.any():
        return ink
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    ridge = (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8)) - 0.5) & (mask > 0)
    h = ink.shape[0]
    radius = max(1, round(h * (rng.uniform(0.02, 0.06) if radius is None else radius)))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    out = cv2.dilate(ridge.astype(np.uint8), disk).astype(np.float32)
    return cv2.GaussianBlur(out, (3, 3), 0.7)


def cut_edges(ink: np.ndarray, rng: np.random.Generator, frac: float = 0.06) -> np.ndarray:
    """Crop a little off the sides, as a loose word crop from a page does."""
    h, w = ink.shape
    t, b = (int(rng.uniform(0, frac) * h) for _ in range(2))
    left, r = (int(rng.uniform(0, frac / 2) * w) for _ in range(2))
    return ink[t:h - b or h, left:w - r or w]


def shift_rows(x: np.ndarray, rows: int) -> np.ndarray:
    """A prepared image moved ``rows`` rows down (up when negative), blank rows coming in."""
    out = np.zeros_like(x)
    if rows > 0:
        out[rows:] = x[:-rows]
    elif rows < 0:
        out[:rows] = x[-rows:]
    else:
        out[:] = x
    return out


def paper(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Compose ink on paper with uneven lighting, shadow, texture, blur, noise, JPEG."""
    h, w = ink.shape
    bg = rng.uniform(150, 250)
    fg = rng.uniform(0, min(110, bg - 50))
    # low-frequency lighting gradient and texture
    light = cv2.resize(rng.normal(0, rng.uniform(3, 18), (3, 4)).astype(np.float32), (w, h),
                       interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.25:  # a shadow band
        x = np.linspace(-1, 1, w)[None, :] * rng.choice([-1, 1])
        light -= rng.uniform(10, 50) * np.clip(x + rng.uniform(-0.5, 0.8), 0, 1)
    tex = rng.normal(0, rng.uniform(1, 7), (h, w)).astype(np.float32)
    img = (bg + light + tex) * (1 - ink) + (fg + tex) * ink
    if rng.random() < 0.15:  # ruled line
        y = int(rng.uniform(0.7, 1.0) * (h - 1))
        img[y:y + 1, :] -= rng.uniform(20, 60)
    sigma = rng.uniform(0, 1.2)
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    img = np.clip(img + rng.normal(0, rng.uniform(0, 6), img.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    if rng.random() < 0.2:
        img = 255 - img  # light ink on dark: the preprocessing must detect polarity
    return img


def scan_look(ink: np.ndarray, rng: np.random.Generator, threshold: tuple[float, float] = (0.3, 0.7)
              ) -> np.ndarray:
    """A binarised scan: hard threshold (thin or thick strokes), salt-and-pepper specks, no
    paper texture, sometimes downscaled and upscaled again (jagged edges)."""
    if rng.random() < 0.5:
        ink = stroke_width(ink, rng)
    h, w = ink.shape
    if rng.random() < 0.4 and h > 16:
        f = rng.uniform(0.4, 0.8)
        small = cv2.resize(ink, (max(2, int(w * f)), max(2, int(h * f))), interpolation=cv2.INTER_AREA)
        ink = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    binary = (ink > rng.uniform(*threshold)).astype(np.float32)
    noise = rng.random(binary.shape)
    amount = rng.uniform(0, 0.01)
    binary[noise < amount / 2] = 1.0
    binary[noise > 1 - amount / 2] = 0.0
    return binary


def flatten_paper(gray: np.ndarray) -> np.ndarray:
    """``gray`` divided by its paper's brightness (a closing half the height wide, blurred):
    paper near 1, ink darker, float32; what an evenly lit scanner sees."""
    g = gray.astype(np.float32)
    k = max(3, (g.shape[0] // 2) | 1)
    bg = cv2.morphologyEx(g, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    bg = cv2.GaussianBlur(bg, (0, 0), k / 3)
    return np.clip(g / np.maximum(bg, 1.0), 0.0, 1.0)


def scanned(flat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A photo of handwriting as a black-and-white scanner or a fax gives it. ``flat`` is the
    photo with its light made even (:func:`flatten_paper`: paper near 1). Often a lower
    resolution, then cut to two levels by one of several rules (a fixed share of the paper's
    brightness, Otsu, or a local threshold), enlarged back with square or smoothed pixels,
    sometimes specks. Returns uint8, black ink on white."""
    g = flat.astype(np.float32)
    h, w = g.shape
    scale = float(rng.uniform(0.45, 1.0)) if rng.random() < 0.8 else 1.0
    if scale < 0.97:
        g = cv2.resize(g, (max(2, round(w * scale)), max(2, round(h * scale))), interpolation=cv2.INTER_AREA)
    rule = rng.random()
    u8 = np.clip(g * 255, 0, 255).astype(np.uint8)
    if rule < 0.5:
        bw = g > rng.uniform(0.55, 0.88)
    elif rule < 0.75:
        t, _ = cv2.threshold(u8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        bw = u8 > t * rng.uniform(0.85, 1.1)
    else:
        block = max(3, (int(g.shape[0] * rng.uniform(0.4, 1.0)) | 1))
        bw = cv2.adaptiveThreshold(u8, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block,
                                   float(rng.uniform(4, 14))) > 0
    out = bw.astype(np.float32)
    if rng.random() < 0.3:
        noise = rng.random(out.shape)
        amount = rng.uniform(0, 0.006)
        out[noise < amount / 2] = 0.0
        out[noise > 1 - amount / 2] = 1.0
    if out.shape != (h, w):
        interp = cv2.INTER_NEAREST if rng.random() < 0.7 else cv2.INTER_LINEAR
        out = cv2.resize(out, (w, h), interpolation=interp)
        if interp == cv2.INTER_LINEAR and rng.random() < 0.5:
            out = (out > 0.5).astype(np.float32)
    return np.clip(out * 255, 0, 255).astype(np.uint8)


def augment_synthetic(gray: np.ndarray, rng: np.random.Generator, pen: float = 0.3, scan: float = 0.0) -> np.ndarray:
    """Heavy augmentation for font-rendered or composed words."""
    ink = to_ink(gray)
    if rng.random() < pen:
        ink = pen_strokes(ink, rng)
    elif rng.random() < 0.5:
        ink = stroke_width(ink, rng)
    ink = affine(ink, rng)
    ink = elastic(ink, rng, amp=rng.uniform(0.01, 0.05))
    if rng.random() < 0.3:
        ink = cut_edges(ink, rng)
    if pen > 0 and rng.random() < 0.3:
        return to_gray(np.clip(ink, 0, 1))  # clean canvas-like drawing
    if scan and rng.random() < scan:
        return to_gray(scan_look(np.clip(ink, 0, 1), rng))
    return paper(np.clip(ink, 0, 1), rng)


def augment_real(gray: np.ndarray, rng: np.random.Generator, strong: bool = False) -> np.ndarray:
    """Light augmentation for real handwriting: small warps, slant, width, blur and contrast.

    ``strong`` widens the warps, changes stroke widths and sometimes moves the ink onto new
    paper: for training on a few thousand real images that would otherwise be learned by heart.
    """
    ink = to_ink(gray)
    if strong and rng.random() < 0.3:
        ink = stroke_width(ink, rng)
    rot, shear, stretch = (3.0, 0.3, 0.18) if strong else (2.0, 0.2, 0.12)
    ink = affine(ink, rng, rot=rot, shear=shear, stretch=stretch)
    if rng.random() < 0.5:
        ink = elastic(ink, rng, amp=rng.uniform(0.005, 0.03 if strong else 0.02))
    if strong and rng.random() < 0.15:
        return to_gray(scan_look(np.clip(ink, 0, 1), rng))
    if strong and rng.random() < 0.25:
        return paper(np.clip(ink, 0, 1), rng)
    g = to_gray(np.clip(ink, 0, 1)).astype(np.float32)
    if rng.random() < 0.5:
        g = cv2.GaussianBlur(g, (0, 0), rng.uniform(0.3, 1.0))
    g = g * rng.uniform(0.7, 1.1) + rng.uniform(-20, 30)
    return np.clip(g, 0, 255).astype(np.uint8)
