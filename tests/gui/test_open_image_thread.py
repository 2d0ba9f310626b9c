"""Opening an image file decodes it on a worker thread, not on the UI thread."""

from __future__ import annotations

import threading

import pytest

from nepocr_desktop.gui import image_view
from nepocr_desktop.gui.image_view import ImportPanel
from nepocr_desktop.lib.read.preprocess import ImageError


@pytest.fixture()
def importer(qtbot) -> ImportPanel:
    widget = ImportPanel()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_file_is_decoded_off_the_ui_thread(importer, word_image, monkeypatch) -> None:
    threads = []
    real = image_view.load_gray

    def recording(path):
        threads.append(threading.current_thread())
        return real(path)

    monkeypatch.setattr(image_view, "load_gray", recording)
    importer.load_file(word_image)
    assert threads and threads[0] is not threading.main_thread()
    assert importer.image() is not None and importer.image().shape == real(word_image).shape


def test_postscript_named_png_is_refused_in_the_app(importer, tmp_path) -> None:
    ps = tmp_path / "drawing.png"
    ps.write_bytes(b"%!PS-Adobe-3.0\n%%BoundingBox: 0 0 100 100\n(x) print showpage\n")
    with pytest.raises(ImageError) as err:
        importer.load_file(ps)
    assert "not a supported image format" in str(err.value)
    assert importer.image() is None
