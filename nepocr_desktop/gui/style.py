"""Bundled fonts, icons and the colours the app uses for confidence."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QColor, QFont, QFontDatabase, QGuiApplication, QIcon

from ..paths import fonts_dir, resources_dir

DEVANAGARI_FAMILY = "Noto Sans Devanagari"
FONT_FILES = ("NotoSansDevanagari.ttf",)

HIGH_CONFIDENCE = 0.9
MEDIUM_CONFIDENCE = 0.6
COLOR_HIGH = "#1b7f3b"
COLOR_MEDIUM = "#b86e00"
COLOR_LOW = "#c62828"
COLOR_CORRECTED = "#1565c0"  # a word the user corrected

_registered: list[str] = []


def register_fonts() -> list[str]:
    """Add the bundled Devanagari font to Qt and make it the fallback of the app font.

    Returns the families that were registered (empty when the files are missing). Safe to
    call more than once.
    """
    if _registered:
        return list(_registered)
    for name in FONT_FILES:
        path = fonts_dir() / name
        font_id = QFontDatabase.addApplicationFont(str(path)) if path.is_file() else -1
        if font_id >= 0:
            _registered.extend(QFontDatabase.applicationFontFamilies(font_id))
    if _registered and QGuiApplication.instance() is not None:
        app_font = QGuiApplication.font()
        families = [f for f in app_font.families() or [app_font.family()] if f not in _registered]
        app_font.setFamilies(families + _registered)  # Devanagari text falls back to Noto
        QGuiApplication.setFont(app_font)
    return list(_registered)


def devanagari_font(point_size: float, bold: bool = False) -> QFont:
    """The bundled Devanagari font at ``point_size`` (weight via the font's variable axis)."""
    font = QFont(DEVANAGARI_FAMILY)
    font.setFamilies([DEVANAGARI_FAMILY, *QGuiApplication.font().families()])
    font.setPointSizeF(point_size)
    if bold:
        font.setWeight(QFont.Weight.Bold)
        font.setVariableAxis(QFont.Tag("wght"), 700)
    return font


@cache
def icon(name: str) -> QIcon:
    """An icon from ``resources/icons/<name>.svg`` (an empty icon if it is missing)."""
    path = resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


def app_icon() -> QIcon:
    return icon("nepocr")


def confidence_color(confidence: float) -> QColor:
    """Green from 0.9, amber from 0.6, red below."""
    if confidence >= HIGH_CONFIDENCE:
        return QColor(COLOR_HIGH)
    if confidence >= MEDIUM_CONFIDENCE:
        return QColor(COLOR_MEDIUM)
    return QColor(COLOR_LOW)


def word_color(confidence: float, state: str = "") -> QColor:
    """A page word's colour: blue once corrected, green once confirmed, else by confidence."""
    if state == "corrected":
        return QColor(COLOR_CORRECTED)
    if state == "confirmed":
        return QColor(COLOR_HIGH)
    return confidence_color(confidence)


def confidence_percent(confidence: float) -> str:
    return f"{round(confidence * 100)} %"
