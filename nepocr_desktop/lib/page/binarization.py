"""Binarisation of page images: background normalisation and a Sauvola threshold.

Works on dark-on-light or light-on-dark writing under uneven lighting. The local filters run
on bands of rows (:data:`BAND_ROWS`), so a phone photo needs a few MB at a time, not its
whole size again; the results are the same as on the whole image.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..read.preprocess import _percentiles

BAND_ROWS = 256            # local filters run on bands of rows: a few MB at a time, not 12


def _odd(n: float) -> int:
    n = max(3, round(n))
    return n if n % 2 else n + 1


def _shrunk(gray: np.ndarray) -> tuple[np.ndarray, int]:
    """The image reduced so that a kernel wider than any stroke is about 15 pixels; its kernel."""
    h, w = gray.shape
    k = _odd(max(15, min(h, w) / 8))
    f = max(1, k // 15)
    small = cv2.resize(gray, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA) if f > 1 else gray
    return small, _odd(k / f)


def _light_text(gray: np.ndarray) -> bool:
    """True for light writing on a dark ground: most of the image is near its darkest tone."""
    if gray.dtype == np.uint8 and gray.size:
        lo, med, hi = _percentiles(gray, (0.1, 50, 99.9))  # from a histogram: no sorted copy
    else:
        lo, med, hi = np.percentile(gray, [0.1, 50, 99.9])
    return bool(med < lo + 0.3 * (hi - lo))


def _background(gray: np.ndarray) -> np.ndarray:
    """Paper brightness everywhere: a grey closing wider than any stroke, at reduced size."""
    h, w = gray.shape
    small, kk = _shrunk(gray)
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (kk, kk)),
                          borderType=cv2.BORDER_REPLICATE)
    bg = cv2.blur(bg, (kk, kk), borderType=cv2.BORDER_REPLICATE)
    if bg.shape != gray.shape:
        bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.maximum(bg, gray, out=bg)


def sauvola(img: np.ndarray, window: int, k: float = 0.2, r: float = 128.0) -> np.ndarray:
    """Sauvola threshold surface ``m * (1 + k * (s / r - 1))`` from box-filtered moments, in
    float32 and in place (:func:`_ink` calls it a band of rows at a time). OpenCV sums the
    boxes in double precision."""
    x = img.astype(np.float32, copy=False)
    size = (window, window)
    mean = cv2.boxFilter(x, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)
    var = cv2.multiply(x, x)
    cv2.boxFilter(var, cv2.CV_32F, size, dst=var, borderType=cv2.BORDER_REFLECT)
    var -= np.square(mean)
    np.maximum(var, 0.0, out=var)
    std = np.sqrt(var, out=var)
    std *= k / r
    std += 1.0 - k
    std *= mean
    return std


def normalize(gray: np.ndarray) -> np.ndarray:
    """float32 image with the paper at 255 and ink darker, whatever the polarity and lighting.

    Each pixel's darkness is measured against the local paper brightness (at least 80, so that
    noise in dark corners is not blown up). Computed in place: a page photo's analysis image
    is 3 megapixels, 12 MB an array.
    """
    light = _light_text(gray)
    g = gray.astype(np.float32)
    if float(g.max()) - float(g.min()) < 12.0:   # flat: nothing written
        return np.full_like(g, 255.0)
    if light:
        np.subtract(255.0, g, out=g)
    bg = _background(g)
    out = np.subtract(bg, g, out=g)          # darkness below the paper
    out /= np.maximum(bg, 80.0, out=bg)      # as a share of the paper's brightness
    del bg
    np.subtract(1.0, out, out=out)
    np.clip(out, 0.0, 1.0, out=out)
    out *= 255.0
    return out


def binarize(gray: np.ndarray, k: float = 0.2, min_contrast: float = 0.14) -> np.ndarray:
    """uint8 mask, 1 = ink; dark-on-light or light-on-dark, robust to uneven lighting.

    The image is divided by its background (:func:`normalize`), then Sauvola-thresholded; a
    pixel must also be ``min_contrast`` darker than the paper, and anything below half the
    paper is ink (so thick strokes keep their middle).
    """
    return _ink(normalize(gray), k, min_contrast)


def _ink(norm: np.ndarray, k: float = 0.2, min_contrast: float = 0.14) -> np.ndarray:
    window = _odd(min(61, max(15, min(norm.shape) / 20)))
    ink = np.empty(norm.shape, np.uint8)
    for y0, y1, a, b in _bands(norm.shape[0], window // 2):  # a band at a time
        t = sauvola(norm[a:b], window, k)[y0 - a:y1 - a]
        n = norm[y0:y1]
        ink[y0:y1] = ((n < t) & (n < 255.0 * (1.0 - min_contrast))) | (n < 127.0)
    return ink


STRONG_INK = 200.0   # darkness (of 255) of well-inked strokes: fainter pages are stretched to it
MAX_GAIN = 4.0       # at most this much


def ink_level(norm: np.ndarray) -> tuple[float, float]:
    """(darkness of the page's ink, spread of the paper's darkness), both of 255, from a
    normalised page (:func:`normalize`): the paper's spread from the median absolute deviation
    of all pixels (most are paper); the ink's darkness, the 90th percentile of the pixels that are
    clearly not paper. ``STRONG_INK`` when there are too few such pixels to tell."""
    step = max(1, int(np.sqrt(norm.size / 500_000)))
    d = 255.0 - norm[::step, ::step].ravel()
    m0 = float(np.median(d))
    spread = max(1.0, 1.4826 * float(np.median(np.abs(d - m0))))
    cand = d[d > m0 + 6.0 * spread + 4.0]
    if len(cand) < max(50, 0.0005 * len(d)):
        return STRONG_INK, spread
    return float(np.percentile(cand, 90)), spread


def stretch(norm: np.ndarray) -> np.ndarray:
    """A normalised page whose ink is fainter than ``STRONG_INK`` (pencil, a light pen) made as
    dark as that, after a light blur that keeps the paper's grain from being stretched too;
    other pages are returned as they are."""
    level, _ = ink_level(norm)
    gain = float(np.clip(STRONG_INK / max(level, 1.0), 1.0, MAX_GAIN))
    if gain <= 1.0:
        return norm
    out = cv2.GaussianBlur(norm, (0, 0), min(1.0, gain - 1.0))
    np.subtract(255.0, out, out=out)
    out *= gain
    np.subtract(255.0, out, out=out)
    return np.clip(out, 0.0, 255.0, out=out)


def _bands(height: int, reach: int) -> list[tuple[int, int, int, int]]:
    """Row bands ``(y0, y1)`` of ``BAND_ROWS`` and the rows ``(a, b)`` a filter reaching
    ``reach`` rows up and down must see to compute them exactly."""
    return [(y0, min(height, y0 + BAND_ROWS), max(0, y0 - reach), min(height, y0 + BAND_ROWS + reach))
            for y0 in range(0, height, BAND_ROWS)]
