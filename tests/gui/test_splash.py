"""The start-up screen: the window appears once the model is ready, failed, or after the wait."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from nepocr_desktop.gui.splash import StartupSplash, splash_pixmap


class FakeService(QObject):
    modelReady = Signal(object)
    modelFailed = Signal(str)
    modelProgress = Signal(str)


def _make(qtbot, max_wait_ms=60_000):
    window = QWidget()
    qtbot.addWidget(window)
    service = FakeService()
    times: list[float] = []
    splash = StartupSplash()
    splash.start()
    assert splash.screen.isVisible() and not splash.window_shown
    splash.attach(window, service.modelReady, service.modelFailed, service.modelProgress,
                  max_wait_ms=max_wait_ms, on_shown=times.append)
    return window, service, splash, times


def test_window_waits_for_the_model_and_shows_progress(qtbot):
    window, service, splash, times = _make(qtbot)
    assert splash.screen.isVisible() and not window.isVisible()
    service.modelProgress.emit("Loading model… 2/3 int8 copy")
    assert splash.screen.message() == "Loading model… 2/3 int8 copy"
    assert not window.isVisible()
    service.modelReady.emit(object())
    qtbot.waitUntil(window.isVisible, timeout=2000)
    assert splash.window_shown and len(times) == 1 and times[0] >= 0
    qtbot.waitUntil(lambda: not splash.screen.isVisible(), timeout=2000)
    service.modelReady.emit(object())  # a later model (another file, a fine-tuned one): nothing new
    assert len(times) == 1


def test_a_failed_model_shows_the_window_with_its_message(qtbot):
    window, service, splash, times = _make(qtbot)
    service.modelFailed.emit("the model file is damaged")
    qtbot.waitUntil(window.isVisible, timeout=2000)
    assert len(times) == 1 and splash.window_shown


def test_a_slow_load_does_not_hide_the_window_for_long(qtbot):
    window, service, splash, times = _make(qtbot, max_wait_ms=50)
    qtbot.waitUntil(window.isVisible, timeout=2000)
    shown_message = splash.screen.message()
    service.modelProgress.emit("Loading model… 3/3 language model")  # after the window: ignored
    assert len(times) == 1 and splash.screen.message() == shown_message


def test_the_picture_is_drawn():
    pix = splash_pixmap()
    img = pix.toImage()
    assert not pix.isNull() and pix.width() == 440
    colours = {img.pixel(x, y) for x in range(0, 440, 7) for y in range(0, 160, 7)}
    assert len(colours) > 3  # not a blank rectangle: icon and text were painted
