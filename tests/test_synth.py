"""The synthetic word generator: RAQM shaping, font coverage, augmentation."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from PIL import ImageFont, features

from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET, MODIFIERS, NUKTA, VIRAMA, VOWEL_SIGNS
from nepocr_desktop.lib.read.preprocess import ink_bbox, prepare
from nepocr_desktop.lib.training import augment
from nepocr_desktop.lib.training.synth import FontSampler, find_fonts, render_text

CONJUNCTS = ["क्ष", "त्र", "ज्ञ", "श्री", "द्ध", "क्त", "प्र", "र्म", "ट्ट", "ह्म", "विद्यार्थी", "राष्ट्रिय"]


@pytest.fixture(scope="module")
def kalam():
    fonts = [f for f in find_fonts() if f.name == "Kalam-Regular.ttf"]
    assert fonts, "Kalam (fontpkg-kalam) must be installed for training"
    return fonts[0]


def test_pillow_has_raqm():
    assert features.check("raqm"), "Pillow must shape text with RAQM"


def test_training_and_held_out_fonts_are_disjoint():
    train, held = find_fonts(), find_fonts(held_out=True)
    assert train
    assert not {f.name for f in train} & {f.name for f in held}


def _ink(img: np.ndarray) -> np.ndarray:
    return (img < 128).astype(np.uint8)


def _sample(c: str) -> str:
    """A charset class in a context where it is written: signs on a consonant."""
    if c in VOWEL_SIGNS or c in MODIFIERS or c == NUKTA:
        return "क" + c
    if c == VIRAMA:
        return "क" + c + "ष"
    return c


def test_every_charset_class_renders_as_a_real_glyph(kalam):
    notdef = render_text("\u0980", kalam)  # unassigned: the font's missing-glyph box
    noto = next(f for f in find_fonts() if "NotoSansDevanagari" in f.name)
    for c in DEFAULT_CHARSET.chars:
        if c == " ":
            continue
        text = _sample(c)
        img = render_text(text, kalam)
        if c.isascii() or c in "।॥ॐ॰ऽ":
            img = render_text(text, noto)
        assert _ink(img).sum() > 0, f"{c!r} renders nothing"
        assert img.shape != notdef.shape or not np.array_equal(img, notdef), f"{c!r} renders as a missing glyph"


def _qt_reference(text: str, font_file: str, size: int) -> np.ndarray:
    """The same text drawn by Qt (HarfBuzz shaping): an independent reference."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QFont, QFontDatabase, QGuiApplication, QImage, QPainter

    app = QGuiApplication.instance() or QGuiApplication([])
    fid = QFontDatabase.addApplicationFont(font_file)
    family = QFontDatabase.applicationFontFamilies(fid)[0]
    img = QImage(size * len(text) * 2, size * 3, QImage.Format_Grayscale8)
    img.fill(QColor(255, 255, 255))
    p = QPainter(img)
    font = QFont(family)
    font.setPixelSize(size)
    p.setFont(font)
    p.setPen(QColor(0, 0, 0))
    p.drawText(img.rect(), Qt.AlignCenter, text)
    p.end()
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, : img.width()]
    assert app is not None
    return arr.copy()


def _normalised(img: np.ndarray, w: int = 96, h: int = 48) -> np.ndarray:
    ink = 1.0 - img.astype(np.float32) / 255
    x0, y0, x1, y1 = ink_bbox(ink)
    return cv2.resize(ink[y0:y1, x0:x1], (w, h), interpolation=cv2.INTER_AREA) > 0.3


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.mark.parametrize("text", CONJUNCTS)
def test_conjuncts_match_an_independent_shaper(kalam, text):
    """RAQM output matches Qt's HarfBuzz rendering; unshaped (BASIC) output does not."""
    ref = _normalised(_qt_reference(text, str(kalam), 48))
    ours = _normalised(render_text(text, kalam, size=48))
    assert _iou(ours, ref) > 0.6, text


def test_basic_layout_differs_from_shaped():
    """Guard: the comparison above can fail. Unshaped text (no RAQM) looks different."""
    font_file = next(f for f in find_fonts() if f.name == "Kalam-Regular.ttf")
    from PIL import Image, ImageDraw

    font = ImageFont.truetype(str(font_file), 48, layout_engine=ImageFont.Layout.BASIC)
    text = "विद्यार्थी"
    x0, y0, x1, y1 = font.getbbox(text)
    img = Image.new("L", (x1 - x0 + 16, y1 - y0 + 16), 255)
    ImageDraw.Draw(img).text((8 - x0, 8 - y0), text, font=font, fill=0)
    ref = _normalised(_qt_reference(text, str(font_file), 48))
    assert _iou(_normalised(np.asarray(img)), ref) < _iou(_normalised(render_text(text, font_file, 48)), ref)


def test_font_sampler_favours_handwriting(kalam):
    sampler = FontSampler(find_fonts())
    rng = np.random.default_rng(0)
    picks = [sampler.pick(rng).name for _ in range(2000)]
    share = sum("Kalam" in p for p in picks) / len(picks)
    families = len({p.split("-")[0] for p in picks})
    assert share > 1.5 / families  # more than a fair share


def test_augmentations_keep_the_word_readable_size(kalam):
    rng = np.random.default_rng(3)
    img = render_text("नेपाल", kalam)
    for _ in range(20):
        out = augment.augment_synthetic(img, rng, pen=0.5)
        assert out.dtype == np.uint8 and out.ndim == 2
        x = prepare(out)
        assert x.shape[0] == 48 and x.shape[1] > 40
        assert x.max() > 0.5  # ink survived


def test_pen_strokes_make_uniform_width(kalam):
    rng = np.random.default_rng(1)
    ink = 1 - render_text("क", kalam, size=80).astype(np.float32) / 255
    out = augment.pen_strokes(ink, rng)
    assert out.max() > 0.5
    assert 0.2 * ink.sum() < out.sum() < 3 * ink.sum()
