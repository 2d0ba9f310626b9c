"""The start-up screen: shown at once, while the reading engine loads; the window follows ready to read.

Loading the engine is mostly importing torch (1-2 s), which Python cannot overlap with building
and painting the window (benchmarks/RESULTS.md, "Start-up"). So the window is built hidden, a
small start-up screen shows what is loading, and the window is shown when the model is ready or
has failed (then with its message), or after ``max_wait_ms`` at the latest, whichever comes first.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from .. import __version__
from ..paths import APP_NAME
from .style import COLOR_INK, COLOR_PAPER, COLOR_SECONDARY, DEVANAGARI_FAMILY, app_icon

MAX_WAIT_MS = 6000  # show the window after this even if the model is still loading
SIZE = (440, 160)


def splash_pixmap(ratio: float = 1.0) -> QPixmap:
    """The start-up picture: icon, name, what the app does (in Nepali and English)."""
    w, h = SIZE
    pix = QPixmap(int(w * ratio), int(h * ratio))
    pix.setDevicePixelRatio(ratio)
    pix.fill(QColor(COLOR_PAPER))
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    app_icon().paint(p, 24, 32, 96, 96)
    p.setPen(QColor(COLOR_INK))
    title = QFont()
    title.setPointSize(22)
    title.setBold(True)
    p.setFont(title)
    p.drawText(QRectF(140, 34, w - 160, 40), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, APP_NAME)
    p.setFont(QFont(DEVANAGARI_FAMILY, 14))
    p.drawText(QRectF(140, 74, w - 160, 34), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
               "हातले लेखेको नेपाली")
    p.setPen(QColor(COLOR_SECONDARY))
    small = QFont()
    small.setPointSize(10)
    p.setFont(small)
    p.drawText(QRectF(140, 106, w - 160, 24), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
               f"Handwritten Nepali to text · version {__version__}")
    p.end()
    return pix


class SplashWindow(QWidget):
    """A frameless start-up window: the picture and a line saying what is loading. (Qt's
    QSplashScreen waits up to a second for the window system at each message; this does not.)"""

    def __init__(self, pixmap: QPixmap):
        super().__init__(None, Qt.WindowType.SplashScreen | Qt.WindowType.FramelessWindowHint)
        self.setWindowTitle(APP_NAME)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setObjectName("splash")
        self.setStyleSheet(f"#splash {{ background: {COLOR_PAPER}; border: 1px solid #bfb8aa; }}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(1, 1, 1, 12)
        layout.setSpacing(0)
        picture = QLabel(self)
        picture.setPixmap(pixmap)
        layout.addWidget(picture)
        self.line = QLabel(self)
        self.line.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.line.setStyleSheet(f"color: {COLOR_SECONDARY};")
        layout.addWidget(self.line)

    def message(self) -> str:
        return self.line.text()

    def show_message(self, text: str) -> None:
        self.line.setText(text)

    def show_centred(self) -> None:
        self.adjustSize()
        screen = self.screen()
        if screen is not None:
            self.move(screen.availableGeometry().center() - self.rect().center())
        self.show()


class StartupSplash(QObject):
    """The start-up screen (:meth:`start` shows it), then the window: :meth:`attach` shows
    ``window`` once the model is ready or failed, or after ``max_wait_ms``.

    ``ready`` and ``failed`` are the service's signals; ``progress`` its loading messages,
    shown on the start-up screen; ``on_shown`` is called once, when the window is shown."""

    def __init__(self, ratio: float = 1.0):
        super().__init__()
        self.screen = SplashWindow(splash_pixmap(max(1.0, ratio)))
        self._window: QWidget | None = None
        self._on_shown: Callable[[float], None] | None = None
        self._t0 = time.perf_counter()
        self._done = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.show_window)

    def attach(self, window: QWidget, ready: Signal, failed: Signal, progress: Signal | None = None,
               max_wait_ms: int = MAX_WAIT_MS, on_shown: Callable[[float], None] | None = None) -> None:
        self._window, self._on_shown = window, on_shown
        ready.connect(self.show_window)
        failed.connect(self.show_window)
        if progress is not None:
            progress.connect(self.message)
        self._timer.start(max_wait_ms)

    def start(self) -> None:
        self.message("Loading the reading engine…")
        self.screen.show_centred()

    def message(self, text: str) -> None:
        if not self._done:
            self.screen.show_message(text)

    @property
    def window_shown(self) -> bool:
        return self._done

    def show_window(self, *_args) -> None:
        if self._done or self._window is None:
            return
        self._done = True
        self._timer.stop()
        self._window.show()
        self.screen.close()
        if self._on_shown is not None:
            self._on_shown(time.perf_counter() - self._t0)
