"""Page transcription, the session's state, a steady layout, fresh results and plain messages."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor

from nepocr_desktop.gui.main_window import MainWindow
from nepocr_desktop.gui.session import PageReading, SessionError, WordReading
from nepocr_desktop.gui.style import COLOR_CORRECTED
from nepocr_desktop.lib.storage.store import SampleStore
from nepocr_desktop.page import crop_word

TIMEOUT = 15_000
ROWS = [["नेपाल", "देश", "राम्रो"], ["हामी", "घर", "पानी"]]


@pytest.fixture
def page_file(render_word, tmp_path: Path) -> Path:
    """A generated page: two lines of three words."""
    page = Image.new("L", (900, 320), 255)
    y = 40
    for row in ROWS:
        x = 40
        for text in row:
            im = render_word(text, size=36)
            page.paste(im, (x, y))
            x += im.width + 40
        y += 130
    path = tmp_path / "page.png"
    page.save(path)
    return path


def read_page(qtbot, win: MainWindow, path: Path) -> PageReading:
    if win.importer.mode.findData("page") < 0:
        pytest.skip("whole-page reading is not installed")
    win.importer.mode.setCurrentIndex(win.importer.mode.findData("page"))
    assert win.open_path(path)
    qtbot.waitUntil(lambda: win.session.page is not None and not win.session.is_pending("import"),
                    timeout=TIMEOUT)
    return win.session.page


def wait_word(qtbot, win: MainWindow, channel: str = "canvas") -> WordReading:
    qtbot.waitUntil(lambda: isinstance(win.session.reading(channel), WordReading), timeout=TIMEOUT)
    return win.session.reading(channel)


def test_a_word_clicked_on_the_page_is_read_alone_as_on_the_page(qtbot, window, page_file):
    page = read_page(qtbot, window, page_file)
    assert len(page) == 6
    view = window.importer.view
    for index in range(len(page)):
        box = view.boxes()[index]
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(box.center()))
        assert window.session.selected == index and view.highlighted_box() == index
        qtbot.waitUntil(lambda: window.session.word_reading is not None, timeout=TIMEOUT)
        alone = window.session.word_reading
        assert np.array_equal(alone.image, crop_word(page.image, page.result.page, index))  # the same crop
        assert alone.text == page.words[index].text  # and the same reading
    # the page stays: its boxes and its text
    assert window.session.page is page and len(view.boxes()) == 6 and window.result.is_page()


def test_a_correction_updates_the_text_the_colours_and_the_exports(qtbot, window, page_file, tmp_path):
    page = read_page(qtbot, window, page_file)
    window.result._on_anchor(__import__("PySide6.QtCore", fromlist=["QUrl"]).QUrl("word:1"))
    field = window.result.field
    assert window.session.selected == 1 and field.text() == page.words[1].text
    assert window.importer.view.highlighted_box() == 1  # the word being edited is marked on the image
    field.setText("काठमाडौं")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert page.corrections == {1: "काठमाडौं"} and page.state(1) == "corrected"
    assert window.session.selected == 2  # the next word is ready
    assert "काठमाडौं" in window.result.page_view.toPlainText().splitlines()[0]
    assert window.importer.view.box_colors()[1] == QColor(COLOR_CORRECTED)
    assert "1 corrected" in window.result.details.text()
    # Enter on a word left as read confirms it
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert 2 in page.confirmed and page.state(2) == "confirmed" and window.session.selected == 3
    # a whole line at once (as many words as the line has)
    window.session.select_word(3)
    window.result.line_button.setChecked(True)
    field.setText("हामी घर")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert window.banner.kind == "info" and "3 words" in window.banner.text()
    field.setText("हामी घरै पानी")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert page.text_of(4) == "घरै" and page.state(3) in ("", "confirmed", "corrected")
    window.result.line_button.setChecked(False)
    # the exports carry the corrected text, marked as corrected
    assert window.export_page(tmp_path / "out.txt")
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines()[0].split()[1] == "काठमाडौं"
    assert window.export_page(tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    word = data["lines"][0]["words"][1]
    assert word["text"] == "काठमाडौं" and word["corrected"] and word["recognized"] == page.words[1].text
    assert data["image"] == "page.png"
    assert window.export_page(tmp_path / "out.xml")
    xml = (tmp_path / "out.xml").read_text(encoding="utf-8")
    assert "काठमाडौं" in xml and 'comments="corrected"' in xml and 'imageFilename="page.png"' in xml


def test_corrections_are_saved_as_samples_in_one_transaction(qtbot, window, page_file, data_dir, monkeypatch):
    page = read_page(qtbot, window, page_file)
    session = window.session
    session.correct_word(0, "काठमाडौं")
    session.correct_word(4, "घरै")
    session.confirm_word(5)
    assert window.result.save_button.isEnabled() and window.result.save_button.text().startswith("Save corrections")
    store = session.store()
    calls = []
    add_many, add = store.add_many, store.add
    monkeypatch.setattr(store, "add_many", lambda *a, **k: calls.append("many") or add_many(*a, **k))
    monkeypatch.setattr(store, "add", lambda *a, **k: calls.append("one") or add(*a, **k))
    window.result.include_confirmed.setChecked(True)
    saved = []
    window.sampleSaved.connect(saved.append)
    window.result.save_button.click()
    assert calls == ["many"] and len(saved) == 3
    assert "Saved 3 words of the page" in window.statusBar().currentMessage()
    with SampleStore(data_dir / "samples.sqlite3") as check:
        samples = {s.meta["word"]: s for s in check.list()}
        assert set(samples) == {0, 4, 5} and {s.source for s in samples.values()} == {"page"}
        assert samples[0].label == "काठमाडौं" and samples[0].prediction == page.words[0].text
        assert samples[5].label == page.words[5].text and samples[0].meta["file"] == str(page_file)
        assert np.array_equal(check.image(samples[4].id), crop_word(page.image, page.result.page, 4))
    assert not window.result.save_button.isEnabled()  # nothing new to save
    assert window.save_sample() is None and window.banner.kind == "info"
    session.correct_word(0, "काठमाडौँ")  # a saved word corrected again replaces its sample
    window.actions["save"].trigger()
    with SampleStore(data_dir / "samples.sqlite3") as check:
        labels = sorted(s.label for s in check.list())
    assert len(labels) == 3 and "काठमाडौँ" in labels and "काठमाडौं" not in labels


def test_reading_the_page_again_keeps_the_corrections(qtbot, window, page_file):
    page = read_page(qtbot, window, page_file)
    window.session.correct_word(1, "काठमाडौं")
    window.session.confirm_word(2)
    window.recognize_now()  # as after learning: the user asks for the page to be read again
    qtbot.waitUntil(lambda: window.session.page is not None and window.session.page is not page, timeout=TIMEOUT)
    again = window.session.page
    assert again.request_id != page.request_id
    assert again.text_of(1) == "काठमाडौं" and again.state(1) == "corrected" and again.state(2) == "confirmed"
    assert "काठमाडौं" in window.result.page_view.toPlainText()


def test_esc_and_clicks_do_not_read_the_page_again(qtbot, window, page_file, recording):
    page = read_page(qtbot, window, page_file)
    qtbot.wait(50)
    batches = len(recording.calls)
    window.session.select_word(0)
    qtbot.waitUntil(lambda: window.session.word_reading is not None, timeout=TIMEOUT)
    window.importer.view.setFocus()
    window.actions["clear"].trigger()  # Esc: the word is let go
    assert window.session.selected == -1 and window.importer.view.highlighted_box() == -1
    window.actions["clear"].trigger()  # Esc again: nothing is read again
    qtbot.wait(200)
    assert window.session.page is page and not window.session.is_pending("import")
    assert len(recording.calls) == batches + 1  # only the word read alone
    assert len(window.importer.view.boxes()) == len(page) and window.result.is_page()
    # a rectangle dragged on the image is a new reading, asked for by the user
    window.importer.view.set_selection(QRect(30, 30, 200, 80))
    qtbot.waitUntil(lambda: not window.session.is_pending("import"), timeout=TIMEOUT)
    assert window.session.page is not page


def test_the_canvas_never_moves(qtbot, window, draw_word):
    canvas = window.write.canvas
    qtbot.wait(50)

    def where():
        return canvas.mapTo(window, canvas.rect().topLeft()), canvas.size(), window.result.geometry()

    before = where()
    draw_word(qtbot, canvas)
    reading = wait_word(qtbot, window)
    qtbot.wait(50)
    assert where() == before
    window.result._set_alternatives(["क", "ख", "ग"])  # with alternatives shown, too
    qtbot.wait(50)
    assert where() == before
    window.actions["clear"].trigger()
    qtbot.wait(50)
    assert canvas.is_empty() and window.result.recognition() is None and where() == before
    assert reading.recognition is not None


def test_the_image_keeps_its_place_when_a_page_is_shown(qtbot, window, page_file, word_image):
    window.open_path(word_image)
    view = window.importer.view
    wait_word(qtbot, window, "import")
    qtbot.wait(50)
    before = (view.mapTo(window, view.rect().topLeft()), view.size())
    read_page(qtbot, window, page_file)
    window.session.select_word(0)
    qtbot.wait(50)
    assert (view.mapTo(window, view.rect().topLeft()), view.size()) == before


def test_a_new_reading_clears_the_last_result_until_it_arrives(qtbot, window, draw_word, recording):
    canvas = window.write.canvas
    draw_word(qtbot, canvas)
    wait_word(qtbot, window)
    assert window.result.save_button.isEnabled()
    recording.gate.clear()  # hold the next reading
    draw_word(qtbot, canvas, strokes=1, offset=300)
    qtbot.waitUntil(lambda: window.session.is_pending("canvas"), timeout=TIMEOUT)
    assert window.session.reading("canvas") is None and window.result.recognition() is None
    assert not window.result.save_button.isEnabled() and window.result.field.text() == ""
    assert window.result.text_view.text() == "" and window.save_sample() is None
    recording.gate.set()
    wait_word(qtbot, window)
    assert window.result.save_button.isEnabled()


def test_the_session_is_typed_and_holds_no_widgets(qtbot, window, draw_word):
    from PySide6.QtWidgets import QWidget

    assert not isinstance(window.session, QWidget)
    assert not any(isinstance(v, QWidget) for v in vars(window.session).values())
    draw_word(qtbot, window.write.canvas)
    reading = wait_word(qtbot, window)
    assert reading.source == "canvas" and reading.image.dtype == np.uint8
    assert window.service.precision() == window.service.summary.precision
    with pytest.raises(SessionError):
        window.session.correct_word(0, "क")  # no page


def test_the_first_result_is_logged_once(qtbot, window, draw_word, caplog):
    caplog.set_level(logging.INFO, logger="nepocr")
    window.session._first_shown = False
    for i in range(2):
        draw_word(qtbot, window.write.canvas, offset=10 * i)
        wait_word(qtbot, window)
        window.write.canvas.clear()
    assert sum("first result shown" in r.getMessage() for r in caplog.records) == 1


def test_the_banner_floats_and_names_the_file(qtbot, window, tmp_path):
    qtbot.wait(50)
    tabs_before = window.tabs.geometry()
    side = int(__import__("nepocr_desktop.lib.read.preprocess", fromlist=["MAX_PIXELS"]).MAX_PIXELS ** 0.5) + 100
    huge = tmp_path / "scans" / "huge.png"
    huge.parent.mkdir()
    Image.new("1", (side, side), 1).save(huge)
    assert not window.open_path(huge)
    qtbot.wait(50)
    assert window.banner.isVisible() and str(huge) in window.banner.text() and "too large" in window.banner.text()
    assert window.tabs.geometry() == tabs_before  # the banner does not push the view down
    banner = window.banner.geometry()
    assert window.centralWidget().rect().contains(banner) and banner.height() > 10
    # Pillow's bookkeeping is not shown
    rng = np.random.default_rng(0)
    good = tmp_path / "noise.png"
    Image.fromarray(rng.integers(0, 255, (300, 400), dtype=np.uint8)).save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    assert not window.open_path(cut)
    assert str(cut) in window.banner.text() and "not processed" not in window.banner.text()
    assert window.tabs.geometry() == tabs_before


def test_f2_picks_the_least_sure_word_still_to_check(qtbot, window, page_file):
    page = read_page(qtbot, window, page_file)
    window.actions["edit_text"].trigger()
    first = window.session.selected
    unsure = [i for i in range(len(page)) if page.words[i].confidence < 0.6]
    assert first == (unsure[0] if unsure else 0)
    assert window.result.field.hasFocus() and window.result.field.text() == page.words[first].text
    window.session.confirm_word(first)
    window.session.deselect_word()
    window.actions["edit_text"].trigger()
    assert window.session.selected != first
