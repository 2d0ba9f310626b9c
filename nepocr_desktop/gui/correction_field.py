"""The correction field: the text in a large Devanagari font, its hint in the ordinary UI font."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QLineEdit, QStyle, QStyleOptionFrame, QWidget


class CorrectionField(QLineEdit):
    """A line edit whose placeholder is drawn in ``hint_font`` rather than the field's own font.

    A correction is typed large so that matras and conjuncts are easy to check, but a hint in that
    size is oversized and cut off; Qt draws the placeholder in the field's font, so it is drawn here.
    """

    def __init__(self, font: QFont, hint_font: QFont, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFont(font)
        self._hint = ""
        self._hint_font = QFont(hint_font)

    def setPlaceholderText(self, text: str) -> None:
        self._hint = text
        self.setAccessibleDescription(text)
        self.update()

    def placeholderText(self) -> str:
        return self._hint

    def hint_rect(self) -> QRect:
        """Where the hint is drawn: the text area, inside the frame and the text margins."""
        opt = QStyleOptionFrame()
        self.initStyleOption(opt)
        rect = self.style().subElementRect(QStyle.SubElement.SE_LineEditContents, opt, self)
        m = self.textMargins()
        return rect.adjusted(m.left() + 2, m.top(), -m.right() - 2, -m.bottom())

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.text() or not self._hint:
            return
        rect = self.hint_rect()
        painter = QPainter(self)
        painter.setFont(self._hint_font)
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        shown = QFontMetrics(self._hint_font).elidedText(self._hint, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeading), shown)
        painter.end()
