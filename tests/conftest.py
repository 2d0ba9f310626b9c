"""Shared fixtures: a tiny random-weight model file and rendered Devanagari words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw, ImageFont, features

from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
from nepocr_desktop.lib.read.crnn import CRNN, ModelSpec
from nepocr_desktop.lib.read.modelio import ModelInfo, save_model
from nepocr_desktop.lib.read.preprocess import PreprocessConfig

torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """The int8 copies made by the tests go to a folder of their own, not the user's cache
    (subprocesses inherit it)."""
    import os

    os.environ["NEPOCR_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))

TINY_SPEC = ModelSpec(height=32, channels=(8, 12, 16, 16), double=(False, False, False, False),
                      hidden=16, layers=1, dropout=0.0)


def _font_path() -> Path:
    import fontpkg_noto_sans_devanagari as pkg

    files = sorted((Path(pkg.__file__).parent / "files").glob("*.[ot]tf"))
    if not files:
        pytest.skip("no Noto Sans Devanagari font file installed")
    return files[0]


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A valid model file with a small random-weight CRNN (fixed seed, input height 32)."""
    torch.manual_seed(1234)
    model = CRNN(DEFAULT_CHARSET.num_classes, TINY_SPEC)
    with torch.no_grad():  # larger weights: readings that vary with the image, not one flat guess
        for name, p in model.named_parameters():
            if "weight" in name and p.dim() > 1:
                p.mul_(3.0)
    info = ModelInfo(DEFAULT_CHARSET, PreprocessConfig(height=TINY_SPEC.height), TINY_SPEC,
                     {"note": "random weights for tests"})
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_model(model, info, path)
    return path


@pytest.fixture(scope="session")
def render_word() -> Callable[..., Image.Image]:
    """``render_word(text, size=40, ink=0, paper=255)``: a grayscale image of shaped text."""
    if not features.check("raqm"):
        pytest.skip("Pillow was built without libraqm (needed to shape Devanagari)")
    font_file = _font_path()
    fonts: dict[int, ImageFont.FreeTypeFont] = {}

    def render(text: str, size: int = 40, ink: int = 0, paper: int = 255) -> Image.Image:
        font = fonts.get(size)
        if font is None:
            font = fonts[size] = ImageFont.truetype(str(font_file), size, layout_engine=ImageFont.Layout.RAQM)
        x0, y0, x1, y1 = font.getbbox(text)
        margin = size // 3
        img = Image.new("L", (x1 - x0 + 2 * margin, y1 - y0 + 2 * margin), paper)
        ImageDraw.Draw(img).text((margin - x0, margin - y0), text, font=font, fill=ink)
        return img

    return render


@pytest.fixture(scope="session")
def word_image(render_word, tmp_path_factory) -> Path:
    """A PNG file of the word ``नमस्ते`` (dark ink on white); do not modify it."""
    path = tmp_path_factory.mktemp("word") / "namaste.png"
    render_word("नमस्ते").save(path)
    return path
