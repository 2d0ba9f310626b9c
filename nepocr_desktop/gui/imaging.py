"""Conversions between Qt images and the uint8 gray arrays the recognizer reads."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage, QPainter

from ..lib.read.colour import ink_gray


def qimage_to_gray(image: QImage) -> np.ndarray:
    """Copy a QImage into a 2-D uint8 array (transparency on white, then 8-bit gray; ink of a
    colour that gray would turn pale is kept dark, as ``load_gray`` keeps it)."""
    if image.hasAlphaChannel():
        flat = QImage(image.size(), QImage.Format.Format_RGB32)
        flat.fill(QColor("white"))
        painter = QPainter(flat)
        painter.drawImage(0, 0, image)
        painter.end()
        image = flat
    if image.format() == QImage.Format.Format_Grayscale8 or image.isGrayscale():
        return _pixels(image.convertToFormat(QImage.Format.Format_Grayscale8), 1)[:, :, 0]
    gray = _pixels(image.convertToFormat(QImage.Format.Format_Grayscale8), 1)[:, :, 0]
    return ink_gray(_pixels(image.convertToFormat(QImage.Format.Format_RGB888), 3), gray)


def _pixels(image: QImage, channels: int) -> np.ndarray:
    """A copy of an 8-bit-per-channel QImage's pixels, (height, width, channels)."""
    w, h, bpl = image.width(), image.height(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), np.uint8, count=bpl * h)
    return buf.reshape(h, bpl)[:, :w * channels].reshape(h, w, channels).copy()


def gray_to_qimage(gray: np.ndarray) -> QImage:
    """A QImage that owns a copy of a 2-D uint8 array."""
    arr = np.ascontiguousarray(gray, dtype=np.uint8)
    h, w = arr.shape
    return QImage(arr.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
