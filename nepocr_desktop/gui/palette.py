"""An on-screen Devanagari keyboard: buttons that insert letters into a text field."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QLineEdit, QSizePolicy, QToolButton, QWidget

from ..lib.read.charset import (
    CONSONANTS,
    DANDAS,
    DEVANAGARI_DIGITS,
    INDEPENDENT_VOWELS,
    MODIFIERS,
    NEPALI_FIXES,
    NUKTA,
    OTHER_SIGNS,
    VIRAMA,
    VOWEL_SIGNS,
)
from .style import COLOR_SECONDARY, devanagari_font

DOTTED_CIRCLE = "\u25cc"  # shown under combining signs so they are visible on a button
CONJUNCTS = ("क्ष", "त्र", "ज्ञ", "श्र")
COLUMNS = 22
BACKSPACE = "\b"

SIGN_NAMES = {
    VIRAMA: "halanta (virama)", NUKTA: "nukta", "ं": "anusvara (shirbindu)",
    "ँ": "candrabindu", "ः": "visarga", "ऽ": "avagraha", "ॐ": "om", "॰": "abbreviation sign",
    "।": "purnabiram (danda)", "॥": "double danda",
}


def _is_combining(text: str) -> bool:
    return len(text) == 1 and text in VOWEL_SIGNS + MODIFIERS + VIRAMA + NUKTA


def sections() -> list[tuple[str, list[str]]]:
    """The palette's rows: title and the strings its buttons insert."""
    return [
        ("स्वर  Vowels", list(INDEPENDENT_VOWELS)),
        ("व्यञ्जन  Consonants", list(CONSONANTS) + list(CONJUNCTS)),
        ("मात्रा  Signs", [c for c in VOWEL_SIGNS if c not in NEPALI_FIXES] + [VIRAMA, "ं", "ँ", "ः", NUKTA]),
        ("अङ्क  Digits", list(DEVANAGARI_DIGITS) + list(DANDAS) + list(OTHER_SIGNS) + [" ", BACKSPACE]),
    ]


class DevanagariPalette(QWidget):
    """Grid of letter buttons; :attr:`textChosen` gives the string of a pressed button.

    With :meth:`attach`, presses are inserted at the cursor of a ``QLineEdit`` (replacing its
    selection) and the field keeps the keyboard focus.
    """

    textChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._target: QLineEdit | None = None
        self.buttons: dict[str, QToolButton] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 6, 6, 6)
        grid.setHorizontalSpacing(3)
        grid.setVerticalSpacing(3)
        font = devanagari_font(14)
        row = 0
        for title, items in sections():
            label = QLabel(title, self)
            label.setFont(devanagari_font(9.5))
            label.setStyleSheet(f"color: {COLOR_SECONDARY};")
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(label, row, 0)
            for i, text in enumerate(items):
                button = self._button(text, font)
                grid.addWidget(button, row + i // COLUMNS, 1 + i % COLUMNS)
            row += (len(items) + COLUMNS - 1) // COLUMNS
        grid.setColumnStretch(COLUMNS + 1, 1)
        self.setAccessibleName("Devanagari letters")

    def _button(self, text: str, font) -> QToolButton:
        button = QToolButton(self)
        if text == BACKSPACE:
            button.setText("⌫")
            button.setToolTip("Delete the letter before the cursor")
        elif text == " ":
            button.setText("␣")
            button.setToolTip("Space")
        else:
            button.setText(DOTTED_CIRCLE + text if _is_combining(text) else text)
            name = SIGN_NAMES.get(text)
            button.setToolTip(f"{text}  U+{ord(text[0]):04X}" + (f"  {name}" if name else ""))
        button.setFont(font)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the text field keeps the cursor
        button.setAutoRaise(False)
        button.setFixedSize(36, 34)
        button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        button.clicked.connect(lambda _checked=False, t=text: self._chosen(t))
        self.buttons[text] = button
        return button

    def attach(self, field: QLineEdit) -> None:
        """Insert pressed letters into ``field``."""
        self._target = field

    def _chosen(self, text: str) -> None:
        field = self._target
        if field is not None:
            if text == BACKSPACE:
                field.backspace()
            else:
                field.insert(text)
            field.setFocus(Qt.FocusReason.OtherFocusReason)
        self.textChosen.emit(text)
