"""Synthetic word images rendered with Devanagari fonts (always shaped with RAQM)."""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from ..errors import NepocrError

# Python packages that carry Devanagari fonts, and Debian font folders.
FONT_PACKAGES = ("fontpkg_kalam", "fontpkg_noto_sans_devanagari", "fontpkg_hind", "fontpkg_mukta",
                 "fontpkg_baloo_2", "fontpkg_poppins", "fontpkg_rajdhani", "fontpkg_teko")
FONT_DIRS = ("/usr/share/fonts/truetype", "/usr/share/fonts/opentype")
# Faces never used in training: the synthetic test set is rendered with these.
HELD_OUT_FONTS = ("AnnapurnaSIL", "Gargi")
# Handwriting-like faces get a larger share of synthetic samples.
HANDWRITING_FONTS = ("Kalam",)


class RenderError(NepocrError, RuntimeError):
    pass


def require_raqm() -> None:
    """Raise if Pillow lacks RAQM: without it conjuncts and matras are drawn wrongly."""
    if not features.check("raqm"):
        raise RenderError("Pillow was built without RAQM text shaping; Devanagari cannot be rendered correctly")


def _has_devanagari(path: Path) -> bool:
    try:
        font = ImageFont.truetype(str(path), 24, layout_engine=ImageFont.Layout.RAQM)
        # a font without Devanagari renders notdef boxes of identical shape for different letters
        a = np.asarray(font.getmask("क"))
        b = np.asarray(font.getmask("ख"))
        return a.size > 0 and (a.shape != b.shape or not np.array_equal(a, b))
    except OSError:
        return False


@lru_cache(maxsize=1)
def _all_fonts() -> tuple[Path, ...]:
    found: list[Path] = []
    for pkg in FONT_PACKAGES:
        spec = importlib.util.find_spec(pkg)
        if spec and spec.submodule_search_locations:
            for loc in spec.submodule_search_locations:
                found += sorted(Path(loc).rglob("*.ttf"))
    for d in FONT_DIRS:
        p = Path(d)
        if p.exists():
            found += sorted(x for x in p.rglob("*.[ot]tf"))
    seen: set[str] = set()
    out = []
    for f in found:
        if f.name in seen:
            continue
        seen.add(f.name)
        if _has_devanagari(f):
            out.append(f)
    return tuple(out)


def find_fonts(held_out: bool = False) -> list[Path]:
    """Devanagari fonts on this machine: training faces, or (``held_out=True``) the test faces."""
    fonts = _all_fonts()
    is_held = [any(h.lower() in f.name.lower() for h in HELD_OUT_FONTS) for f in fonts]
    return [f for f, h in zip(fonts, is_held) if h == held_out]


@lru_cache(maxsize=256)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.RAQM)


def render_text(text: str, font_path: str | Path, size: int = 48, pad: int = 8) -> np.ndarray:
    """Dark text on white, uint8, shaped with RAQM (conjuncts and vowel signs placed right)."""
    require_raqm()
    font = _font(str(font_path), size)
    x0, y0, x1, y1 = font.getbbox(text)
    w, h = max(1, x1 - x0) + 2 * pad, max(1, y1 - y0) + 2 * pad
    img = Image.new("L", (w, h), 255)
    ImageDraw.Draw(img).text((pad - x0, pad - y0), text, font=font, fill=0)
    return np.asarray(img)


class FontSampler:
    """Picks a font for each sample, favouring handwriting-like faces."""

    def __init__(self, fonts: list[Path], handwriting_weight: float = 4.0):
        if not fonts:
            raise RenderError("no Devanagari fonts found (install the 'train' extra or fonts-deva)")
        self.fonts = fonts
        family = [re.split(r"[-\[_.]", f.name)[0].lower() for f in fonts]
        w = np.array([(handwriting_weight if any(h.lower() == fam for h in HANDWRITING_FONTS) else 1.0)
                      / family.count(fam) for fam in family])
        self.p = w / w.sum()

    def pick(self, rng: np.random.Generator) -> Path:
        return self.fonts[int(rng.choice(len(self.fonts), p=self.p))]
