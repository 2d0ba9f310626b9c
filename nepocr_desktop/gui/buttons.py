"""Small tool buttons with an icon and a word beside it, as the result panel and the Write tab use."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton, QWidget

from .style import icon


def text_button(parent: QWidget, icon_name: str, text: str, tip: str, clicked: Callable[[], None]) -> QToolButton:
    """A tool button showing ``icon_name``'s icon with ``text`` beside it; ``clicked`` on a click."""
    button = QToolButton(parent)
    button.setIcon(icon(icon_name))
    button.setText(text)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    button.setToolTip(tip)
    button.clicked.connect(lambda _checked=False: clicked())
    return button
