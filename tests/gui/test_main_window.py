"""The main window end to end: draw or import, read, correct, save; errors in plain words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QGuiApplication, QImage

from nepocr_desktop.gui.main_window import MainWindow
from nepocr_desktop.gui.session import PageReading, WordReading
from nepocr_desktop.gui.settings import Settings
from nepocr_desktop.gui.workers import default_factory
from nepocr_desktop.lib.storage.store import SampleStore

TIMEOUT = 15_000


def wait_reading(qtbot, win: MainWindow, channel: str) -> WordReading:
    qtbot.waitUntil(lambda: isinstance(win.session.reading(channel), WordReading), timeout=TIMEOUT)
    return win.session.reading(channel)


def wait_result(qtbot, win: MainWindow, channel: str):
    return wait_reading(qtbot, win, channel).recognition


def test_drawing_a_word_shows_a_result(qtbot, window, recording, draw_word):
    canvas = window.write.canvas
    draw_word(qtbot, canvas)
    assert len(canvas.strokes()) == 3
    rec = wait_result(qtbot, window, "canvas")  # auto-recognition after the pen stops
    assert window.result.recognition() is rec
    assert window.result.field.text() == rec.text
    assert window.result.text_view.text() == "".join(g.text for g in rec.graphemes)
    image = window.session.reading("canvas").image
    assert image.dtype == np.uint8 and image.ndim == 2
    assert image.max() == 255 and image.min() < 80  # black ink on white
    assert np.array_equal(image, canvas.reading_image())  # drawn with the reading pen
    assert recording.drawings == [1]                     # and read as a drawing
    assert "CPU" in window.device_label.text()
    assert "tiny" not in window.model_label.text() or window.model_label.text().startswith("Model:")


def test_importing_a_file_shows_a_result(qtbot, window, recording, word_image):
    assert window.open_path(word_image)
    assert window.tabs.currentWidget() is window.importer
    assert window.importer.has_image()
    rec = wait_result(qtbot, window, "import")
    assert window.result.recognition() is rec
    reading = window.session.reading("import")
    assert reading.source == "import" and reading.meta["file"] == str(word_image)
    assert reading.image.shape == window.importer.image().shape
    assert recording.calls and not recording.drawings  # a photo or scan is not read as a drawing


def test_selecting_a_region_reads_only_that_region(qtbot, window, word_image):
    window.open_path(word_image)
    first = wait_reading(qtbot, window, "import")
    window.importer.view.set_selection(QRect(5, 5, 60, 40))
    qtbot.waitUntil(lambda: getattr(window.session.reading("import"), "request_id", first.request_id)
                    != first.request_id, timeout=TIMEOUT)
    reading = window.session.reading("import")
    assert reading.meta["region"] == (5, 5, 60, 40)
    assert reading.image.shape == (40, 60)


def test_correct_and_save_stores_a_sample(qtbot, window, data_dir, draw_word):
    draw_word(qtbot, window.write.canvas)
    rec = wait_result(qtbot, window, "canvas")
    drawn = window.session.reading("canvas").image
    field = window.result.field
    field.setText("नमस्ते")
    with qtbot.waitSignal(window.sampleSaved, timeout=1000) as saved:
        qtbot.keyClick(field, Qt.Key.Key_Return)
    assert "Saved sample" in window.statusBar().currentMessage()
    assert window.write.canvas.is_empty()  # cleared for the next word
    with SampleStore(data_dir / "samples.sqlite3") as store:
        samples = store.list()
        assert len(samples) == 1
        sample = samples[0]
        assert saved.args == [sample.id]
        assert sample.label == "नमस्ते"
        assert sample.prediction == rec.text
        assert sample.source == "canvas"
        assert sample.created
        assert np.array_equal(store.image(sample.id), drawn)
    assert window.samples_label.text() == "Samples: 1"


def test_save_with_ctrl_s_from_the_import_view(qtbot, window, word_image, data_dir):
    window.open_path(word_image)
    wait_result(qtbot, window, "import")
    window.result.field.setText("नमस्ते")
    window.actions["save"].trigger()
    with SampleStore(data_dir / "samples.sqlite3") as store:
        [sample] = store.list()
    assert sample.source == "import" and sample.meta["file"] == str(word_image)


def test_saved_corrections_become_the_readers_word_list(qtbot, window, recording, draw_word):
    got: list[tuple[str, ...]] = []
    recording.set_user_words = lambda words: got.append(tuple(words))  # called on the worker thread
    draw_word(qtbot, window.write.canvas)
    wait_result(qtbot, window, "canvas")
    window.result.field.setText("काठमाडौं")
    assert window.save_sample() is not None
    qtbot.waitUntil(lambda: bool(got) and got[-1] == ("काठमाडौं",), timeout=10_000)
    ids = [s.id for s in window.store().list()]
    window.store().delete(ids)
    window._update_sample_count()  # as the Learn tab does after deleting samples
    qtbot.waitUntil(lambda: got[-1] == (), timeout=10_000)


def test_an_invalid_label_is_explained_not_raised(qtbot, window, draw_word):
    draw_word(qtbot, window.write.canvas)
    wait_result(qtbot, window, "canvas")
    window.result.field.setText("abc§")
    window.save_sample()
    assert window.banner.isVisible() and window.banner.kind == "error"
    assert "Traceback" not in window.banner.text()


def test_undo_redo_and_clear_with_the_keyboard(qtbot, window, draw_word):
    canvas = window.write.canvas
    canvas.setFocus()
    draw_word(qtbot, canvas, strokes=2)
    assert len(canvas.strokes()) == 2
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(canvas.strokes()) == 1
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(canvas.strokes()) == 2
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas.is_empty()
    assert window.result.recognition() is None
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # clearing is undoable
    assert len(canvas.strokes()) == 2
    assert window.actions["redo"].isEnabled()


def test_only_the_latest_drawing_request_is_applied(qtbot, window, recording, draw_word):
    recording.gate.clear()  # hold the worker so requests pile up
    canvas = window.write.canvas
    canvas.set_auto_delay(0)
    draw_word(qtbot, canvas, strokes=1)
    for i in range(5):
        draw_word(qtbot, canvas, strokes=1, offset=40 * i)
        window.recognize_canvas()
    last_id = window.session.request("canvas").id
    recording.gate.set()
    qtbot.waitUntil(lambda: not window.service.busy, timeout=TIMEOUT)
    qtbot.wait(100)
    reading = window.session.reading("canvas")
    assert reading.request_id == last_id
    assert window.result.recognition() is reading.recognition
    assert len(recording.calls) <= 2  # the one already running (if any) and the last one
    assert window.service.dropped <= 1


def test_a_bad_image_file_is_reported_and_the_app_keeps_working(qtbot, window, tmp_path, word_image):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really an image" * 10)
    assert not window.open_path(bad)
    assert window.banner.isVisible()
    assert "broken.png" in window.banner.text() and "Traceback" not in window.banner.text()
    assert window.open_path(word_image)
    assert not window.banner.isVisible()
    wait_result(qtbot, window, "import")


def test_a_blank_image_says_no_writing_was_found(qtbot, window, tmp_path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("L", (400, 120), 250).save(blank)
    assert window.open_path(blank)
    rec = wait_result(qtbot, window, "import")
    assert rec.text == "" and rec.confidence == 0.0
    assert window.result.text_view.text() == ""
    assert window.result.text_view.message() == "No writing found in the image."
    assert window.result.field.text() == "" and not window.banner.isVisible()
    assert not window.result.copy_button.isEnabled() and not window.actions["copy"].isEnabled()  # nothing to copy
    window.result.field.setText("क")
    assert window.result.copy_button.isEnabled() and window.actions["copy"].isEnabled()


def test_a_bad_model_file_is_reported_in_the_window(qtbot, make_service, tmp_path, draw_word):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"junk" * 1000)
    win = MainWindow(make_service(default_factory), Settings(tmp_path / "s.ini"))
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.service.modelFailed, timeout=TIMEOUT):
        win.start_model(bad, "cpu")
    assert win.banner.isVisible()
    assert "model" in win.banner.text().lower() and "broken.pt" in win.banner.text()
    assert win.model_label.text() == "No model loaded"
    draw_word(qtbot, win.write.canvas)  # drawing still works, and says why nothing is read
    win.recognize_canvas()
    qtbot.waitUntil(lambda: "No model" in (win.session.failure("canvas") or ""), timeout=TIMEOUT)


def test_a_request_made_while_the_model_loads_runs_when_it_is_ready(qtbot, make_service, recording, tmp_path, draw_word):
    import threading

    release = threading.Event()

    def slow_factory(*_args):
        release.wait(20)
        return recording

    win = MainWindow(make_service(slow_factory), Settings(tmp_path / "s.ini"))
    qtbot.addWidget(win)
    win.show()
    win.start_model(None, "cpu")
    assert win.model_label.text() == "Loading model…"
    draw_word(qtbot, win.write.canvas)
    win.recognize_canvas()
    qtbot.wait(150)
    assert win.session.reading("canvas") is None and win.session.is_pending("canvas")
    assert "load" in win.result.details.text().lower()
    release.set()
    wait_result(qtbot, win, "canvas")
    assert win.model_label.text().startswith("Model:")


def test_paste_an_image_from_the_clipboard(qtbot, window):
    image = QImage(200, 60, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    for x in range(20, 180):
        image.setPixel(x, 30, 0)
    QGuiApplication.clipboard().setImage(image)
    window.actions["paste"].trigger()
    assert window.tabs.currentWidget() is window.importer
    assert window.importer.image().shape == (60, 200)
    wait_result(qtbot, window, "import")


def test_settings_are_kept_between_runs(qtbot, make_service, tmp_path):
    path = tmp_path / "settings.ini"
    assert Settings(path).lexicon  # the word list is used unless turned off
    first = MainWindow(make_service(), Settings(path))
    qtbot.addWidget(first)
    first.show()
    first.settings.lexicon = False
    first.write.set_pen_width(9.5)
    first.resize(760, 580)  # the offscreen screen is 800 x 800
    qtbot.waitUntil(lambda: first.width() == 760)
    first.close()
    second = MainWindow(make_service(), Settings(path))
    qtbot.addWidget(second)
    second.show()
    assert second.write.canvas.pen_width == 9.5 and not second.settings.lexicon
    assert (second.width(), second.height()) == (760, 580)
    assert not second.result.palette_visible()
    second.toggle_palette(True)
    second.close()
    third = MainWindow(make_service(), Settings(path))
    qtbot.addWidget(third)
    assert third.result.palette_visible() and third.actions["palette"].isChecked()


def test_every_action_has_a_shortcut_and_a_menu_entry(window):
    in_menus = {a for m in window.menus.values() for a in m.actions()}
    for name, action in window.actions.items():
        assert not action.shortcut().isEmpty(), name
        assert action in in_menus, name
    keys = [a.shortcut().toString() for a in window.actions.values()]
    assert len(keys) == len(set(keys))


def test_tab_shortcuts_switch_views(window):
    for name, index in (("tab_learn", 2), ("tab_import", 1), ("tab_write", 0), ("tab_learn", 2)):
        window.actions[name].trigger()
        assert window.tabs.currentIndex() == index, name
    assert window.tabs.tabText(2).startswith("Learn")


def test_the_result_panel_follows_the_tab(qtbot, window, word_image, draw_word):
    draw_word(qtbot, window.write.canvas)
    drawn = wait_result(qtbot, window, "canvas")
    window.result.field.setText("सच्याइएको")
    window.open_path(word_image)
    imported = wait_result(qtbot, window, "import")
    assert window.result.recognition() is imported
    window.tabs.setCurrentWidget(window.write)
    assert window.result.recognition() is drawn
    assert window.result.field.text() == "सच्याइएको"  # an unsaved correction is kept


def test_tabs_can_be_added(window):
    from PySide6.QtWidgets import QLabel

    index = window.add_tab(QLabel("more"), "Training")
    window.tabs.setCurrentIndex(index)
    assert not window.result.isVisible()
    window.tabs.setCurrentIndex(0)
    assert window.result.isVisible()


def test_zoom_actions_change_the_image_scale(qtbot, window, word_image):
    window.open_path(word_image)
    view = window.importer.view
    before = view.zoom()
    window.actions["zoom_in"].trigger()
    assert view.zoom() > before
    window.actions["zoom_out"].trigger()
    window.actions["zoom_out"].trigger()
    assert view.zoom() < before
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    assert view.selection() is None  # a click is not a selection


def test_open_path_remembers_the_folder(window, word_image: Path):
    window.open_path(word_image)
    assert window.settings.last_folder == str(word_image.parent)


def make_page(render_word, path: Path, lines=("नेपाल देश", "राम्रो छ")) -> Path:
    from PIL import Image

    images = [render_word(text, size=36) for text in lines]
    page = Image.new("L", (max(im.width for im in images) + 80, sum(im.height for im in images) + 40 * len(images) + 40),
                     255)
    for i, im in enumerate(images):
        page.paste(im, (40, 40 + i * (im.height + 40)))
    page.save(path)
    return path


def wait_page(qtbot, win: MainWindow) -> PageReading:
    qtbot.waitUntil(lambda: win.session.page is not None, timeout=TIMEOUT)
    return win.session.page


def test_a_page_is_read_word_by_word(qtbot, window, render_word, tmp_path):
    if window.importer.mode.findData("page") < 0:
        pytest.skip("whole-page reading is not installed")
    window.open_path(make_page(render_word, tmp_path / "page.png"))
    window.importer.mode.setCurrentIndex(window.importer.mode.findData("page"))
    page = wait_page(qtbot, window)
    assert window.result.is_page() and window.result.recognition() is None  # a page is not a word
    assert len(window.importer.view.boxes()) == len(page) >= 2  # word boxes drawn on the image
    assert not window.result.save_button.isEnabled()  # nothing corrected yet
    assert window.save_sample() is None and window.banner.kind == "info"


def test_automatic_mode_reads_a_page_as_a_page_and_a_word_as_a_word(qtbot, window, render_word, tmp_path,
                                                                     word_image):
    if window.importer.mode.findData("auto") < 0:
        pytest.skip("whole-page reading is not installed")
    assert window.importer.read_mode() == "auto"  # the default
    # four lines: more than the automatic mode also reads whole (page.SMALL_LAYOUT), so the test
    # model's readings cannot make it one word
    path = make_page(render_word, tmp_path / "page.png", lines=("नेपाल देश", "राम्रो छ", "हामी सबै", "घर पानी"))
    window.open_path(path)
    page = wait_page(qtbot, window)
    assert page.file == str(path)
    assert len(window.importer.view.boxes()) >= 2 and not window.result.save_button.isEnabled()
    window.result.copy_text()  # Copy keeps the page's line breaks
    assert len(QGuiApplication.clipboard().text().splitlines()) == 4
    # the panel shows the page line by line, and the field corrects the word clicked
    assert window.result.is_page()
    assert window.result.page_view.toPlainText().splitlines() == QGuiApplication.clipboard().text().splitlines()
    from PySide6.QtCore import QUrl
    window.result._on_anchor(QUrl("word:1"))
    assert window.session.selected == 1 and window.importer.view.highlighted_box() == 1
    assert window.result.field.text() == page.words[1].text
    # the page stays read: its boxes and text are kept, nothing is read again
    assert window.session.page is page and window.result.is_page()
    assert len(window.importer.view.boxes()) == len(page)
    # the page can be exported as text, JSON and PAGE XML
    assert window.export_page(tmp_path / "out.txt") and len((tmp_path / "out.txt").read_text().splitlines()) == 4
    assert window.export_page(tmp_path / "out.json")
    import json
    assert len(json.loads((tmp_path / "out.json").read_text())["lines"]) == 4
    assert window.export_page(tmp_path / "out.xml") and "<PcGts" in (tmp_path / "out.xml").read_text()
    # clicking a word on the image picks it too; the page stays
    view = window.importer.view
    box = view.boxes()[0]
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(box.center()))
    assert window.session.selected == 0 and view.selection() is None
    assert window.session.page is page and len(view.boxes()) == len(page)
    # a word opened alone is read as a word
    window.open_path(word_image)
    qtbot.waitUntil(lambda: isinstance(window.session.reading("import"), WordReading)
                    and window.session.reading("import").meta.get("file") == str(word_image), timeout=TIMEOUT)
    assert window.session.page is None and window.importer.view.boxes() == []


def test_dropping_a_file_opens_it(qtbot, window, word_image):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(word_image))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.importer.view.dropEvent(event)
    assert window.importer.has_image()
    wait_result(qtbot, window, "import")


def test_saved_words_go_on_the_end_of_your_text(qtbot, window, draw_word):
    text = window.write.text
    assert text.text() == "" and not text.copy_button.isEnabled()
    for word in ("नेपाल", "सरकार"):
        draw_word(qtbot, window.write.canvas)
        wait_result(qtbot, window, "canvas")
        window.result.field.setText(word)
        assert window.save_sample() is not None
        assert window.write.canvas.is_empty()
    assert text.text() == "नेपाल सरकार" and text.copy_button.isEnabled()
    assert len(window.store().list()) == 2
    text.copy_all()
    assert QGuiApplication.clipboard().text() == "नेपाल सरकार"


def test_ctrl_enter_adds_the_word_without_saving_a_sample(qtbot, window, draw_word):
    window.write.text.set_text("मेरो\n")
    draw_word(qtbot, window.write.canvas)
    wait_result(qtbot, window, "canvas")
    window.result.field.setText(" घर  ")
    window.result.field.setFocus()
    assert window.actions["add_text"].isEnabled()
    qtbot.keyClick(window.result.field, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert window.write.text.text() == "मेरो\nघर"       # a new line starts without a space
    assert window.store().list() == []                    # no sample saved
    assert window.write.canvas.is_empty() and window.session.reading("canvas") is None
    assert not window.actions["add_text"].isEnabled()     # nothing left to add
    window.add_to_text()
    assert window.write.text.text() == "मेरो\nघर"


def test_your_text_is_kept_when_the_app_is_closed_and_cleared_with_undo(qtbot, make_service, tmp_path):
    settings = Settings(tmp_path / "kept.ini")
    first = MainWindow(make_service(), settings)
    qtbot.addWidget(first)
    first.write.text.set_text('मेरो, "घर"; a=b\n')  # the settings file's own marks, a new line
    first.write.text.append_word("नमस्ते")
    first.write.text.append_word("संसार")
    first.close()
    second = MainWindow(make_service(), Settings(tmp_path / "kept.ini"))
    qtbot.addWidget(second)
    text = second.write.text
    assert text.text() == 'मेरो, "घर"; a=b\nनमस्ते संसार'
    text.clear()
    assert text.text() == "" and not text.clear_button.isEnabled()
    text.edit.undo()
    assert text.text() == 'मेरो, "घर"; a=b\nनमस्ते संसार'


def test_undo_after_a_save_brings_the_writing_and_the_correction_back(qtbot, window, draw_word, monkeypatch):
    canvas, text = window.write.canvas, window.write.text
    text.set_text("मेरो")
    draw_word(qtbot, canvas)
    wait_result(qtbot, window, "canvas")
    qtbot.waitUntil(lambda: window.training is not None, timeout=10_000)  # built after the model loaded
    assert window.training.settings is window.settings
    told: list[list[int]] = []
    looked: list[bool] = []
    monkeypatch.setattr(window.training, "samples_altered", told.append)  # a run learning from it stops
    monkeypatch.setattr(window.training, "check_background", lambda: looked.append(True))
    drawn = canvas.strokes()
    window.result.field.setText("घर")
    sample_id = window.save_sample()
    assert sample_id is not None and text.text() == "मेरो घर" and canvas.is_empty()
    qtbot.waitUntil(lambda: looked == [True], timeout=2000)  # time to learn in the background?
    assert window.actions["undo"].text() == "&Undo save"
    window.actions["undo"].trigger()
    assert canvas.strokes() == drawn and not canvas.can_redo()  # nothing to redo: the save is undone
    assert window.store().list() == []                           # the sample is gone
    assert text.text() == "मेरो"                                 # and the word off the text
    assert window.samples_label.text() == "Samples: 0"
    assert f"sample {sample_id} removed" in window.statusBar().currentMessage()
    assert told == [[sample_id]]
    assert window.actions["undo"].text() == "&Undo stroke"
    reading = wait_reading(qtbot, window, "canvas")               # read again, with its correction
    assert window.result.field.text() == "घर" and reading.text != "घर"
    assert window.save_sample() is not None                       # saved again as it was
    assert [s.label for s in window.store().list()] == ["घर"] and text.text() == "मेरो घर"


def test_undo_after_adding_to_your_text_and_after_editing_the_text(qtbot, window, draw_word):
    canvas, text = window.write.canvas, window.write.text
    draw_word(qtbot, canvas)
    wait_result(qtbot, window, "canvas")
    window.result.field.setText("घर")
    window.add_to_text()
    assert window.actions["undo"].text() == "&Undo adding to your text"
    canvas.undo()
    assert text.text() == "" and not canvas.is_empty() and window.store().list() == []
    wait_result(qtbot, window, "canvas")
    assert window.result.field.text() == "घर"
    window.save_sample()
    text.append_word("!")  # the person went on typing: the text is left as it is
    canvas.undo()
    assert text.text() == "घर !" and window.store().list() == []
    assert "your text left as you edited it" in window.statusBar().currentMessage()


def test_a_correction_is_not_shown_again_once_the_writing_changed(qtbot, window, draw_word):
    canvas = window.write.canvas
    canvas.set_auto_delay(0)
    draw_word(qtbot, canvas)
    window.recognize_canvas()
    wait_result(qtbot, window, "canvas")
    window.result.field.setText("घर")
    window.save_sample()
    canvas.undo()
    draw_word(qtbot, canvas, strokes=1, offset=40)  # one more stroke before reading again
    window.recognize_canvas()
    reading = wait_reading(qtbot, window, "canvas")
    assert window.result.field.text() == reading.text


def test_undo_and_redo_say_what_they_undo(qtbot, window, draw_word):
    canvas = window.write.canvas
    draw_word(qtbot, canvas, strokes=2)
    assert window.actions["undo"].text() == "&Undo stroke"
    written = canvas.strokes()
    spot = canvas.page_transform().map(written[0].points[0]).toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.RightButton, pos=spot)
    qtbot.mouseRelease(canvas, Qt.MouseButton.RightButton, pos=spot)
    assert canvas.strokes() != written
    assert window.actions["undo"].text() == "&Undo rubbing out"
    window.actions["undo"].trigger()
    assert canvas.strokes() == written and window.actions["redo"].text() == "&Redo rubbing out"
    window.clear_drawing()
    assert window.actions["undo"].text() == "&Undo clear"
    assert window.actions["undo"].iconText() == "Undo"  # what the shortcuts list shows


def test_the_rub_out_tool_lets_the_left_button_rub_out_until_the_canvas_is_empty(qtbot, window):
    canvas, tool = window.write.canvas, window.actions["eraser"]
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    for x in range(110, 300, 10):
        qtbot.mouseMove(canvas, QPoint(x, 100))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(300, 100))
    assert len(canvas.strokes()) == 1 and tool.isEnabled() and not tool.isChecked()
    tool.trigger()
    assert tool.isChecked() and canvas.is_rubbing_out()
    ring = canvas.cursor()  # a ring as large as the eraser on the screen
    reach = 12 * canvas.page_transform().m11()
    assert ring.shape() == Qt.CursorShape.BitmapCursor
    assert abs(ring.pixmap().deviceIndependentSize().width() - (2 * reach + 4)) <= 1
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(200, 100))  # the left button rubs out
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(200, 100))
    assert len(canvas.strokes()) == 2 and canvas.next_undo().kind == "erase"
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(95, 100))
    qtbot.mouseMove(canvas, QPoint(305, 100))                                  # all the rest, in one move
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(305, 100))
    assert canvas.is_empty()
    assert not tool.isChecked() and not canvas.is_rubbing_out()                 # nothing left: the pen again
    assert canvas.cursor().shape() == Qt.CursorShape.CrossCursor
    window.tabs.setCurrentWidget(window.importer)
    assert not tool.isEnabled()
