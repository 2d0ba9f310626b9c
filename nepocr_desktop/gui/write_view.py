"""The Write tab: a toolbar over the drawing canvas, and the text written so far below it."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFontMetricsF, QGuiApplication, QTextCursor
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .buttons import text_button
from .canvas import DrawingCanvas
from .style import COLOR_SECONDARY, devanagari_font

TEXT_POINTS = 15
TEXT_LINES = 2  # lines of the text shown at once (it scrolls); one where the tab is short
SHORT_TAB = 420  # the Write tab's height (pixels) below which the text shows one line


@dataclass(frozen=True)
class HandedOn:
    """A word taken off the canvas and put on the end of the text, saved as sample ``sample_id``
    (None: only added to the text). Undoing the canvas's clear undoes this."""

    word: str
    sample_id: int | None = None


class WrittenText(QWidget):
    """The words written on the canvas so far, one after another: each word saved as a sample,
    or added with Ctrl+Enter, goes on the end; the person edits, copies or clears it here."""

    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QPlainTextEdit(self)
        self.edit.setFont(devanagari_font(TEXT_POINTS))
        self.edit.setPlaceholderText("Words you save, or add with Ctrl+Enter, go on here one after another.")
        self.edit.setAccessibleName("Your text")
        self.set_lines(1)  # two once the tab is tall enough (WritePanel.resizeEvent)
        label = QLabel("Your text", self)
        label.setStyleSheet(f"color: {COLOR_SECONDARY};")
        label.setBuddy(self.edit)
        self.copy_button = text_button(self, "copy", "Copy all", "Copy all of your text", self.copy_all)
        self.clear_button = text_button(self, "clear", "Clear", "Clear your text (Ctrl+Z in the text brings it back)",
                                        self.clear)
        self.edit.textChanged.connect(self._update_buttons)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.addWidget(label, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignTop)
        self._update_buttons()

    def set_lines(self, lines: int) -> None:
        """Show ``lines`` lines of the text at once (it scrolls)."""
        line = QFontMetricsF(self.edit.font()).lineSpacing()
        self.edit.setFixedHeight(int(line * lines + 2 * self.edit.frameWidth() + 10))

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)
        self.edit.moveCursor(QTextCursor.MoveOperation.End)

    def append_word(self, word: str) -> None:
        """Put ``word`` on the end, a space after what is there (none at the start of a line)."""
        word = " ".join(word.split())
        if not word:
            return
        cursor = QTextCursor(self.edit.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        before = self.text()
        cursor.insertText(word if not before or before[-1].isspace() else " " + word)
        self.edit.setTextCursor(cursor)
        self.edit.ensureCursorVisible()

    def remove_last(self, word: str) -> bool:
        """Take ``word`` (and the space before it) off the end of the text, as an edit that
        Ctrl+Z in the text brings back; False, with the text unchanged, if it does not end with it."""
        word = " ".join(word.split())
        text = self.text()
        end = len(text.rstrip())
        start = end - len(word)
        if not word or start < 0 or text[start:end] != word or (start > 0 and not text[start - 1].isspace()):
            return False
        if start > 0 and text[start - 1] == " ":
            start -= 1
        cursor = QTextCursor(self.edit.document())
        cursor.setPosition(_utf16(text[:start]))  # Qt counts UTF-16 units
        cursor.setPosition(_utf16(text), QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self.edit.setTextCursor(cursor)
        return True

    def copy_all(self) -> None:
        text = self.text().strip()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.copied.emit(text)

    def clear(self) -> None:
        """Empty the text as an edit of it, so that Ctrl+Z in the text brings it back."""
        cursor = QTextCursor(self.edit.document())
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.removeSelectedText()

    def _update_buttons(self) -> None:
        has_text = bool(self.text().strip())
        self.copy_button.setEnabled(has_text)
        self.clear_button.setEnabled(bool(self.text()))


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class WritePanel(QWidget):
    """Canvas with undo/redo/clear buttons and the pen width; the text written so far below."""

    source_name = "canvas"

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = DrawingCanvas(self)
        self.pen = QDoubleSpinBox(self)
        self.pen.setRange(1.0, 40.0)
        self.pen.setSingleStep(0.5)
        self.pen.setSuffix(" px")
        self.pen.setToolTip("Pen width (Ctrl+[ thinner, Ctrl+] thicker); a pen tablet's pressure varies it")
        self.pen.setValue(self.canvas.pen_width)
        self.pen.valueChanged.connect(self.canvas.set_pen_width)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        for name in ("undo", "redo", "clear", "eraser", None, "recognize"):
            if name is None:
                bar.addSpacing(12)
                continue
            button = QToolButton(self)
            button.setDefaultAction(actions[name])
            button.setAutoRaise(True)
            if name == "recognize":
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            bar.addWidget(button)
        bar.addStretch(1)
        pen_label = QLabel("Pen:", self)
        pen_label.setBuddy(self.pen)
        bar.addWidget(pen_label)
        bar.addWidget(self.pen)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)
        self.text = WrittenText(self)
        layout.addWidget(self.text)

    def resizeEvent(self, event) -> None:
        self.text.set_lines(TEXT_LINES if self.height() >= SHORT_TAB else 1)  # the canvas comes first
        super().resizeEvent(event)

    def set_pen_width(self, width: float) -> None:
        self.pen.setValue(width)  # also updates the canvas
