"""GUI test fixtures: offscreen Qt, a private data folder, a tiny model shared by the tests."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from PySide6.QtCore import QPoint, Qt

from nepocr_desktop.gui.main_window import MainWindow
from nepocr_desktop.gui.settings import Settings
from nepocr_desktop.gui.style import register_fonts
from nepocr_desktop.gui.workers import RecognitionService

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data folder: the user's real one is never touched."""
    folder = tmp_path / "data"
    monkeypatch.setenv("NEPOCR_DATA_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_recognizer(tiny_model_path: Path) -> Any:
    """One loaded recognizer (random weights, beam search) shared by the GUI tests."""
    from nepocr_desktop.recognizer import Recognizer

    return Recognizer(tiny_model_path, device="cpu", beam=4)


class RecordingRecognizer:
    """Wraps a recognizer: records each batch and its thread, optionally waits first."""

    def __init__(self, inner: Any, delay: float = 0.0) -> None:
        self.inner = inner
        self.delay = delay
        self.calls: list[int] = []       # batch sizes
        self.drawings: list[int] = []    # batch sizes read as drawings
        self.threads: set[int] = set()
        self.gate = threading.Event()
        self.gate.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def recognize(self, images: list) -> list:
        self.threads.add(threading.get_ident())
        self.gate.wait(30)
        self.calls.append(len(images))
        if self.delay:
            time.sleep(self.delay)
        return self.inner.recognize(images)

    def recognize_drawings(self, images: list) -> list:
        self.drawings.append(len(images))
        return self.recognize(images)


@pytest.fixture
def recording(tiny_recognizer) -> RecordingRecognizer:
    return RecordingRecognizer(tiny_recognizer)


@pytest.fixture
def make_service(qtbot, recording) -> Callable[..., RecognitionService]:
    """``make_service(factory=None)``: a service whose factory returns the recording recognizer."""
    made: list[RecognitionService] = []

    def make(factory: Callable | None = None) -> RecognitionService:
        service = RecognitionService(factory or (lambda *_args: recording))
        made.append(service)
        return service

    yield make
    for service in made:
        service.shutdown()


@pytest.fixture
def window(qtbot, make_service, tmp_path: Path) -> MainWindow:
    """The main window with a loaded tiny model, auto-recognition after 50 ms."""
    register_fonts()
    settings = Settings(tmp_path / "settings.ini")
    settings.auto_delay = 50
    win = MainWindow(make_service(), settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    with qtbot.waitSignal(win.service.modelReady, timeout=20_000):
        win.start_model("unused.pt", "cpu")
    return win


def _draw_word(qtbot, canvas, strokes: int = 3, offset: int = 0) -> None:
    h = canvas.height()
    for s in range(strokes):
        x0 = 60 + s * 90 + offset
        y0 = int(h * 0.36)
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x0, y0))
        for i in range(1, 15):
            qtbot.mouseMove(canvas, QPoint(x0 + i * 4, y0 + (i * 9) % int(h * 0.4)))
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x0 + 60, int(h * 0.7)))


@pytest.fixture
def draw_word() -> Callable[..., None]:
    """``draw_word(qtbot, canvas, strokes=3, offset=0)``: write strokes with simulated mouse events."""
    return _draw_word
