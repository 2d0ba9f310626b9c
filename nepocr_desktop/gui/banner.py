"""An inline message strip at the top of the window (errors in plain words, notices)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from .style import BANNER_ERROR, BANNER_INFO, icon

STYLES = {
    "error": ("warning", *BANNER_ERROR),
    "info": ("info", *BANNER_INFO),
}


class Banner(QFrame):
    """Shows one message until closed (errors) or for a few seconds (notices)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.icon = QLabel(self)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(self)
        close.setIcon(icon("close"))
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.kind = ""
        self.hide()

    def show_message(self, text: str, kind: str = "error", timeout_ms: int = 0) -> None:
        name, bg, fg, border = STYLES.get(kind, STYLES["error"])
        self.kind = kind
        self.setStyleSheet(f"#banner {{ background: {bg}; border: 1px solid {border}; border-radius: 6px; }}"
                           f"#banner QLabel {{ color: {fg}; }}")
        self.icon.setPixmap(icon(name).pixmap(20, 20))
        self.label.setText(text)
        self.show()
        if timeout_ms > 0:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""
