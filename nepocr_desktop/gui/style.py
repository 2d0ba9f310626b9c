"""Bundled fonts, icons and the app's colours (confidence, text, messages, images, the canvas)."""

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

COLOR_HINT = "#78909c"         # hints: the legend, a message in place of the text
COLOR_SECONDARY = "#546e7a"    # details and labels beside the text
COLOR_PLACEHOLDER = "#607d8b"  # what to do, on an empty image view

COLOR_ERROR_TEXT = "#8a1c12"
COLOR_ERROR_BACKGROUND = "#fdecea"
COLOR_OK_TEXT = "#1e5631"
COLOR_OK_BACKGROUND = "#e6f4ea"
BANNER_ERROR = (COLOR_ERROR_BACKGROUND, "#b71c1c", "#f5c2c0")  # background, text, border
BANNER_INFO = ("#e8f1fb", "#0d3c78", "#c5d9f1")

COLOR_IMAGE_BACKGROUND = "#eceff1"
COLOR_SELECTION = "#b3173a"    # the selection on an image; the frame of the focused canvas
COLOR_WORD_BOX = "#1d3f8f"     # a word found on a page, when no colour is given
COLOR_HIGHLIGHT = "#f9a825"    # the outline of the page word being corrected, on the image
COLOR_HIGHLIGHT_FILL = "#ffeb3b"
COLOR_EDITING = "#fff1a8"      # the page word being corrected, in the text

COLOR_PAPER = "#fffdf8"        # the writing canvas
COLOR_DESK = "#e7e3da"         # around the canvas's page
COLOR_INK = "#1c2541"          # the pen; also the selected tab's title
COLOR_HEADLINE = "#c85a5a"     # the canvas's guide lines
COLOR_BASELINE = "#5a78c8"
COLOR_CANVAS_HINT = "#787878"

WINDOW_STYLE_SHEET = f"""
QPushButton#chip {{ border: 1px solid #c5cae9; border-radius: 14px; padding: 3px 14px;
                   background: #f3f5fb; color: #1a237e; }}
QPushButton#chip:hover {{ background: #e3e8f8; border-color: #7986cb; }}
QTabWidget::pane {{ border-top: 1px solid #cfd8dc; }}
QTabBar::tab {{ padding: 7px 16px 5px 16px; margin-right: 3px; border: 1px solid #d5dade;
               border-bottom: none; border-top-left-radius: 6px; border-top-right-radius: 6px;
               background: #e6e9ec; color: #455a64; }}
QTabBar::tab:selected {{ background: #ffffff; color: {COLOR_INK}; border-color: #c3cad0; }}
QTabBar::tab:hover:!selected {{ background: #f0f2f4; }}
"""

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


def translucent(color: str, alpha: int) -> QColor:
    """``color`` with opacity ``alpha`` (0 to 255)."""
    result = QColor(color)
    result.setAlpha(alpha)
    return result


def message_style(error: bool) -> str:
    """The style sheet of a message label: dark red on pink for problems, dark green on pale
    green for results."""
    bg, fg = (COLOR_ERROR_BACKGROUND, COLOR_ERROR_TEXT) if error else (COLOR_OK_BACKGROUND, COLOR_OK_TEXT)
    return f"QLabel {{ background: {bg}; color: {fg}; padding: 6px; border-radius: 4px; }}"


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
