"""The Write tab: a toolbar over the drawing canvas."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from .canvas import DrawingCanvas


class WritePanel(QWidget):
    """Canvas with undo/redo/clear buttons and the pen width."""

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
        for name in ("undo", "redo", "clear", None, "recognize"):
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

    def set_pen_width(self, width: float) -> None:
        self.pen.setValue(width)  # also updates the canvas
