"""Colour images to gray: coloured ink stays dark, black ink keeps its luminance."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from nepocr_desktop.lib.read.colour import colour_weight, ink_gray
from nepocr_desktop.lib.read.preprocess import array_to_gray, load_gray

PAPER = (246, 242, 232)   # a slightly warm white


def written(pen: tuple[int, int, int], paper: tuple[int, int, int] = PAPER, light: bool = False,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An RGB page of strokes in ``pen`` colour over noisy paper (optionally lit from one side),
    and the strokes' mask."""
    rng = np.random.default_rng(seed)
    h, w = 240, 360
    mask = np.zeros((h, w), np.uint8)
    for y in range(40, 220, 60):
        cv2.line(mask, (20, y), (340, y), 1, 4)            # head lines
        for x in range(40, 340, 30):
            cv2.line(mask, (x, y), (x + 8, y + 35), 1, 3)  # letter strokes
    page = np.empty((h, w, 3), np.float32)
    page[:] = paper
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.8)[..., None]
    page *= 1.0 - alpha * (1.0 - np.array(pen, np.float32) / 255.0)
    if light:
        page *= np.linspace(0.65, 1.0, w, dtype=np.float32)[None, :, None]
    page += rng.normal(0, 2.0, page.shape).astype(np.float32)
    return np.clip(page, 0, 255).astype(np.uint8), mask.astype(bool)


def luminance(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def contrast(gray: np.ndarray, mask: np.ndarray) -> float:
    """How much darker than the paper the strokes are, as a share of the paper."""
    paper = float(np.median(gray[~cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)]))
    return 1.0 - float(np.median(gray[mask])) / paper


@pytest.mark.parametrize("pen", [(250, 150, 195), (200, 30, 40), (25, 125, 60)], ids=["pink", "red", "green"])
def test_coloured_ink_is_darker_than_its_luminance(pen):
    rgb, mask = written(pen)
    assert colour_weight(rgb) == pytest.approx(1.0)
    lum = luminance(rgb)
    gray = ink_gray(rgb, lum)
    assert contrast(gray, mask) > contrast(lum, mask) + 0.12
    assert abs(float(np.median(gray[~mask])) - float(np.median(lum[~mask]))) < 6   # the paper stays


def test_light_pink_pen_reads_like_ink():
    rgb, mask = written((250, 150, 195))
    assert contrast(luminance(rgb), mask) < 0.3       # pale in luminance ...
    assert contrast(array_to_gray(rgb), mask) > 0.37  # ... not in what the app reads


@pytest.mark.parametrize("pen", [(30, 30, 34), (90, 90, 96)], ids=["black", "pencil"])
@pytest.mark.parametrize("light", [False, True], ids=["even", "uneven"])
def test_neutral_ink_keeps_its_luminance(pen, light):
    rgb, _ = written(pen, light=light)
    assert colour_weight(rgb) == 0.0
    lum = luminance(rgb)
    assert ink_gray(rgb, lum) is lum


def test_tinted_paper_is_not_coloured_ink():
    rgb, _ = written((30, 30, 34), paper=(238, 222, 180))   # yellowed paper, black ink
    assert colour_weight(rgb) == 0.0


def test_blank_colour_page_has_no_colour_weight():
    rgb = np.clip(np.random.default_rng(1).normal(PAPER, 3.0, (200, 300, 3)), 0, 255).astype(np.uint8)
    assert colour_weight(rgb) == 0.0


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_files_of_coloured_ink_load_dark(fmt):
    rgb, mask = written((250, 150, 195))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt, quality=90)
    gray = load_gray(buf.getvalue())
    pillow = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    assert contrast(gray, mask) > contrast(pillow, mask) + 0.1
    black, _ = written((30, 30, 34))
    buf = io.BytesIO()
    Image.fromarray(black).save(buf, format=fmt, quality=90)
    assert np.array_equal(load_gray(buf.getvalue()), np.asarray(Image.open(buf).convert("L")))


@pytest.mark.parametrize("mode", ["HSV", "YCbCr", "CMYK", "P", "RGBA", "RGBX"])
def test_every_colour_mode_loads(mode):
    rgb, _ = written((250, 150, 195))
    assert load_gray(Image.fromarray(rgb).convert(mode)).shape == rgb.shape[:2]
