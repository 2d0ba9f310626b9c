"""Segmentation of pages written in coloured, faint and thin ink, on ruled forms and scanned:
rendered words inked and scanned by ``tools/page_conditions.py``, no data set needed."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from nepocr_desktop.lib.page.containers import Box
from nepocr_desktop.lib.page.segment import segment_page
from nepocr_desktop.lib.read.preprocess import is_bilevel, load_gray, prepare, smooth_bilevel
from nepocr_desktop.lib.read.results import Recognition
from nepocr_desktop.page import read_page

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import page_conditions
from test_segment import compose, matches

SIZE = 40
PITCH = 2.2


def inked(render, condition: str, seed: int = 0) -> tuple[bytes, list[list[Box]]]:
    """A page of rendered words as ``condition`` makes it (PNG or JPEG bytes), and the words'
    boxes by line."""
    gray, truth = compose(render, size=SIZE, pitch=PITCH, canvas=(1100, 800))
    shape = 1.0 - gray.astype(np.float32) / 255.0
    h, w = shape.shape
    rng = np.random.default_rng(seed)
    paper = 228 + 6 * page_conditions.smooth_noise(rng, (h, w), 64) + rng.normal(0, 3, (h, w))
    layers = []
    if condition == "ruled":
        top = min(b.y0 for b in truth[0]) + 0.3 * SIZE
        layers = page_conditions.form_layers(rng, (h, w), SIZE, PITCH * SIZE, top, int(1.5 * SIZE), w - 40,
                                             max(b.y1 for b in truth[-1]) + SIZE)
    rgb, _, quality = page_conditions.render(rng, condition, paper, shape, np.zeros_like(shape), layers,
                                             SIZE, 0.7)
    if condition == "black":
        rgb = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    else:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg" if quality else ".png", rgb,
                            [cv2.IMWRITE_JPEG_QUALITY, quality] if quality else [])
    assert ok
    return data.tobytes(), truth


@pytest.mark.parametrize("condition", page_conditions.CONDITIONS)
def test_lines_and_words_in_every_ink_and_paper(render_word, condition):
    data, truth = inked(render_word, condition)
    page = segment_page(data)
    flat = [b for row in truth for b in row]
    found = [w.box for w in page.words]
    assert len(page.lines) == len(truth)
    assert matches(found, flat) / len(flat) >= 0.9              # recall
    assert matches(flat, found) / max(len(found), 1) >= 0.85    # precision


class Crops:
    """A stand-in recognizer that keeps the word images it is given."""

    def __init__(self) -> None:
        self.images: list[np.ndarray] = []

    def recognize(self, images):
        self.images += list(images)
        return [Recognition("x", 1.0) for _ in images]


def test_words_of_a_pink_page_reach_the_recognizer_dark(render_word):
    data, truth = inked(render_word, "pink")
    reader = Crops()
    read_page(reader, data)
    assert len(reader.images) >= 0.9 * sum(len(r) for r in truth)
    for img in reader.images:   # the strokes' darkest pixels against the paper: 0.78-0.83 in luminance
        assert np.percentile(img, 3) < 0.77 * np.median(img)


def test_faint_page_is_stretched_but_blank_paper_is_not(render_word):
    data, truth = inked(render_word, "faint")
    gray = load_gray(data)
    assert len(segment_page(gray).lines) == len(truth)
    blank = np.clip(np.random.default_rng(2).normal(225, 4, gray.shape), 0, 255).astype(np.uint8)
    assert segment_page(blank).lines == []


def test_words_of_a_black_and_white_scan_are_read_smoothed(render_word):
    data, truth = inked(render_word, "bw")
    gray = load_gray(data)
    assert set(np.unique(gray).tolist()) == {0, 255}  # the scanner leaves no grey
    reader = Crops()
    read_page(reader, data)
    assert len(reader.images) >= 0.9 * sum(len(r) for r in truth)
    assert all(is_bilevel(np.asarray(img)) for img in reader.images)  # the crops stay black-and-white
    crop = reader.images[0]
    assert not np.array_equal(smooth_bilevel(crop), crop)
    assert np.array_equal(prepare(crop), prepare(smooth_bilevel(crop)))  # read with soft edges
