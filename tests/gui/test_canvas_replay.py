"""Strokes traced from a word image, replayed as mouse events on the real canvas, give the image
the stroke evaluation sets and training render for the same strokes."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from nepocr_desktop.gui.canvas import PAGE_HEIGHT, PAGE_WIDTH, DrawingCanvas
from nepocr_desktop.lib.read.strokes import PenStroke, render_strokes
from nepocr_desktop.lib.training.strokes import WritingStyle, simulate_writing, trace_strokes


def _ink(img: np.ndarray) -> np.ndarray:
    return img < 128


def test_replayed_word_matches_the_core_renderer(qtbot, render_word):
    canvas = DrawingCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(PAGE_WIDTH, PAGE_HEIGHT)  # one widget pixel per page unit
    canvas.show()
    qtbot.waitExposed(canvas)
    assert canvas.page_transform().m11() == 1.0
    canvas.set_auto_delay(0)
    gray = np.asarray(render_word("नमस्ते", size=48))
    paths, _width = trace_strokes(gray)
    strokes = simulate_writing(paths, gray.shape[0], WritingStyle(pen=canvas.pen_width, spacing=6.0, height=170.0))
    for stroke in strokes:
        pts = [QPoint(round(x), round(y)) for x, y in stroke.points]
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=pts[0])
        for p in pts[1:]:
            qtbot.mouseMove(canvas, p)
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=pts[-1])
    drawn = canvas.to_image(crop=False)
    # the canvas kept every stroke, and its image is the core renderer's for the points it received
    assert len(canvas.strokes()) == len(strokes)
    received = [PenStroke.of([(p.x(), p.y()) for p in s.points], s.widths) for s in canvas.strokes()]
    assert np.array_equal(drawn, render_strokes(received, crop=False))
    # and close to the unrounded strokes the evaluation sets render (events land on whole pixels)
    exact = render_strokes(strokes, crop=False)
    a, b = _ink(drawn), _ink(exact)
    assert (a & b).sum() / (a | b).sum() > 0.75
    cropped = canvas.to_image()
    assert (cropped[:20] == 255).all() and _ink(cropped).sum() == a.sum()
