"""Canvas, result panel, palette and image view on their own."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, QRect, QRectF, Qt, QUrl
from PySide6.QtGui import QFontMetrics, QImage

from nepocr_desktop.gui.canvas import HEADLINE, PAGE_HEIGHT, PAGE_WIDTH, DrawingCanvas
from nepocr_desktop.gui.image_view import ImportPanel, mime_image
from nepocr_desktop.gui.imaging import gray_to_qimage, qimage_to_gray
from nepocr_desktop.gui.palette import BACKSPACE, DevanagariPalette
from nepocr_desktop.gui.result_view import ResultPanel
from nepocr_desktop.gui.style import COLOR_HIGH, COLOR_LOW, COLOR_MEDIUM, confidence_color, register_fonts
from nepocr_desktop.gui.write_view import WrittenText
from nepocr_desktop.lib.read.preprocess import ImageError
from nepocr_desktop.lib.read.results import Alternative, CharConfidence, GraphemeConfidence, Recognition


@pytest.fixture
def canvas(qtbot) -> DrawingCanvas:
    widget = DrawingCanvas()
    qtbot.addWidget(widget)
    widget.resize(600, 240)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_the_canvas_image_is_ink_on_white_without_guides(qtbot, canvas, draw_word):
    empty = canvas.to_image()
    assert empty.shape == (PAGE_HEIGHT, PAGE_WIDTH) and (empty == 255).all()  # no guides in it
    draw_word(qtbot, canvas, strokes=2)
    image = canvas.to_image(crop=False)
    assert image.dtype == np.uint8 and image.shape == (PAGE_HEIGHT, PAGE_WIDTH)
    assert image.min() == 0 and np.median(image) == 255
    row = int(PAGE_HEIGHT * HEADLINE)
    assert (image[row, PAGE_WIDTH // 2:] == 255).all()  # no head-line guide right of the ink
    cropped = canvas.to_image()
    assert cropped.shape[0] < PAGE_HEIGHT and cropped.shape[1] < PAGE_WIDTH // 2
    assert (cropped[:, 0] == 255).all() and (cropped[0] == 255).all()  # white margin kept


def test_pen_width_changes_the_ink(qtbot, canvas, draw_word):
    canvas.set_pen_width(2)
    draw_word(qtbot, canvas, strokes=1)
    thin = (canvas.to_image(crop=False) < 128).sum()
    canvas.clear()
    canvas.set_pen_width(12)
    draw_word(qtbot, canvas, strokes=1)
    thick = (canvas.to_image(crop=False) < 128).sum()
    assert thick > 2.5 * thin


def test_the_recognizer_reads_one_pen_width_whatever_the_canvas_shows(qtbot, canvas, draw_word):
    images = []
    for width in (2, 12):
        canvas.clear()
        canvas.set_pen_width(width)
        draw_word(qtbot, canvas, strokes=2)
        images.append((canvas.to_image(), canvas.reading_image()))
    (thin, read_thin), (thick, read_thick) = images
    assert (thick < 128).sum() > 2.5 * (thin < 128).sum()  # what the person sees follows their pen
    assert np.array_equal(read_thin, read_thick)          # what the recognizer reads does not


def test_auto_recognition_fires_once_after_the_pen_stops(qtbot, canvas, draw_word):
    canvas.set_auto_delay(120)
    fired = []
    canvas.recognizeRequested.connect(fired.append)  # the canvas hands over its writing
    draw_word(qtbot, canvas, strokes=2)
    assert fired == []  # not while writing
    qtbot.waitUntil(lambda: len(fired) == 1, timeout=2000)
    qtbot.wait(250)
    assert len(fired) == 1 and np.array_equal(fired[0], canvas.reading_image())
    canvas.set_auto_delay(0)
    draw_word(qtbot, canvas, strokes=1)
    qtbot.wait(250)
    assert len(fired) == 1


def test_undo_redo_clear_history(qtbot, canvas, draw_word):
    draw_word(qtbot, canvas, strokes=3)
    canvas.undo()
    canvas.undo()
    assert len(canvas.strokes()) == 1 and canvas.can_redo()
    canvas.redo()
    assert len(canvas.strokes()) == 2
    canvas.clear()
    assert canvas.is_empty() and not canvas.can_redo()
    canvas.undo()
    assert len(canvas.strokes()) == 2
    draw_word(qtbot, canvas, strokes=1)  # a new stroke drops the redo history
    assert not canvas.can_redo()


def test_undoing_a_marked_clear_hands_back_its_mark(qtbot, canvas, draw_word):
    marks = []
    canvas.clearUndone.connect(marks.append)
    draw_word(qtbot, canvas, strokes=2)
    canvas.clear()
    canvas.undo()
    assert marks == [] and len(canvas.strokes()) == 2
    canvas.clear("saved")
    assert canvas.next_undo().mark == "saved"
    canvas.undo()
    assert marks == ["saved"] and len(canvas.strokes()) == 2 and not canvas.can_redo()
    assert canvas.next_undo().kind == "add"


@pytest.mark.parametrize(("text", "word", "left"), [
    ("मेरो घर", "घर", "मेरो"),
    ("मेरो\nघर  ", "घर", "मेरो\n"),
    ("घर", " घर ", ""),
    ("😀 घर", "घर", "😀"),            # Qt counts a character outside the BMP as two
    ("मेरोघर", "घर", None),           # not a word of its own
    ("घर मेरो", "घर", None),
    ("घर", "", None),
])
def test_your_text_gives_back_its_last_word(qtbot, text, word, left):
    written = WrittenText()
    qtbot.addWidget(written)
    written.set_text(text)
    assert written.remove_last(word) is (left is not None)
    assert written.text() == (text if left is None else left)
    if left is not None:
        written.edit.undo()
        assert written.text() == text


def _line(qtbot, canvas, a: QPoint, b: QPoint, steps: int = 10) -> None:
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=a)
    for i in range(1, steps + 1):
        qtbot.mouseMove(canvas, a + (b - a) * (i / steps))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=b)


def _rub(qtbot, canvas, *points: QPoint) -> None:
    qtbot.mousePress(canvas, Qt.MouseButton.RightButton, pos=points[0])
    for p in points[1:]:
        qtbot.mouseMove(canvas, p)
    qtbot.mouseRelease(canvas, Qt.MouseButton.RightButton, pos=points[-1])


def test_the_right_button_rubs_out_the_ink_under_it(qtbot, canvas):
    _line(qtbot, canvas, QPoint(50, 100), QPoint(550, 100), steps=3)  # a headline: few, far points
    _line(qtbot, canvas, QPoint(100, 130), QPoint(100, 200))          # a letter below it
    written = canvas.strokes()
    _rub(qtbot, canvas, QPoint(300, 102), QPoint(302, 98))
    left, right, stem = canvas.strokes()
    assert stem is written[1]                                          # untouched
    reach = (12 + 2.5) * canvas.page_transform().m11() + 2             # the eraser and half the pen, pixels
    ends = [canvas.page_transform().map(p).x() for p in (left.points[-1], right.points[0])]
    assert 300 - reach - 12 < ends[0] < 300 - reach + 4 and 300 + reach - 4 < ends[1] < 300 + reach + 12
    assert canvas.next_undo().kind == "erase"
    canvas.undo()
    assert canvas.strokes() == written and all(a is b for a, b in zip(canvas.strokes(), written))
    canvas.redo()
    assert len(canvas.strokes()) == 3
    _rub(qtbot, canvas, QPoint(100, 125), QPoint(100, 205))            # down the stem, in one move: all of it
    assert len(canvas.strokes()) == 2 and all(s is not stem for s in canvas.strokes())
    history = canvas.next_undo()
    _rub(qtbot, canvas, QPoint(590, 10))                               # nothing there
    assert canvas.next_undo() is history and len(canvas.strokes()) == 2


def test_the_pens_eraser_end_rubs_out_and_its_tip_writes(qtbot, canvas, draw_word):
    from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
    from PySide6.QtWidgets import QApplication

    def pen(kind: QPointingDevice.PointerType) -> QPointingDevice:
        return QPointingDevice("pen", 7 + int(kind.value), QInputDevice.DeviceType.Stylus, kind,
                               QInputDevice.Capability.Position | QInputDevice.Capability.Pressure, 1, 3)

    def send(device, event_type, pos: QPointF) -> None:
        event = QTabletEvent(event_type, device, pos, canvas.mapToGlobal(pos), 0.6, 0.0, 0.0, 0.0, 0.0, 0.0,
                             Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
        QApplication.sendEvent(canvas, event)

    draw_word(qtbot, canvas, strokes=2)
    before = canvas.strokes()
    on_first = QPointF(canvas.page_transform().map(before[0].points[0]))
    eraser = pen(QPointingDevice.PointerType.Eraser)
    send(eraser, QEvent.Type.TabletPress, on_first)
    send(eraser, QEvent.Type.TabletMove, on_first + QPointF(1, 2))
    send(eraser, QEvent.Type.TabletRelease, on_first + QPointF(1, 2))
    now = canvas.strokes()
    assert canvas.next_undo().kind == "erase" and now[-1] is before[1]   # the second stroke untouched
    assert now[0] is not before[0] and len(now[0].points) <= len(before[0].points)  # the first, its start gone
    tip = pen(QPointingDevice.PointerType.Pen)
    send(tip, QEvent.Type.TabletPress, QPointF(300, 100))
    send(tip, QEvent.Type.TabletMove, QPointF(330, 130))
    send(tip, QEvent.Type.TabletRelease, QPointF(330, 130))
    assert len(canvas.strokes()) == len(now) + 1 and canvas.next_undo().kind == "add"


def test_the_drawing_keeps_its_place_when_the_canvas_is_resized(qtbot, canvas, draw_word):
    draw_word(qtbot, canvas, strokes=2)
    before = canvas.to_image(crop=False)
    canvas.resize(900, 500)
    qtbot.wait(20)
    assert np.array_equal(canvas.to_image(crop=False), before)
    point = canvas.strokes()[0].points[0]
    assert canvas.to_page(canvas.page_transform().map(point)) == point


def test_strokes_are_smoothed_curves(qtbot, canvas):
    from nepocr_desktop.gui.ink import smooth_path

    pts = [QPointF(0, 0), QPointF(10, 20), QPointF(20, 0), QPointF(30, 20)]
    path = smooth_path(pts)
    kinds = {path.elementAt(i).type for i in range(path.elementCount())}
    from PySide6.QtGui import QPainterPath

    assert QPainterPath.ElementType.CurveToElement in kinds  # quadratic pieces, not a polyline


def test_confidence_colours():
    assert confidence_color(0.95).name() == COLOR_HIGH
    assert confidence_color(0.9).name() == COLOR_HIGH
    assert confidence_color(0.7).name() == COLOR_MEDIUM
    assert confidence_color(0.59).name() == COLOR_LOW


def _recognition() -> Recognition:
    text = "नमस्ते"
    return Recognition(
        text=text, confidence=0.3,
        chars=[CharConfidence(c, 0.9) for c in text],
        graphemes=[GraphemeConfidence("न", 0.95), GraphemeConfidence("म", 0.7),
                   GraphemeConfidence("स्ते", 0.3)],
        alternatives=[Alternative(text, -1.0), Alternative("नमस्त", -2.0), Alternative("नमसते", -3.0)],
        device="cpu", ms=12.0)


@pytest.fixture
def panel(qtbot) -> ResultPanel:
    register_fonts()
    widget = ResultPanel()
    qtbot.addWidget(widget)
    widget.resize(900, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_result_panel_shows_aksharas_with_their_confidence(panel):
    panel.show_result(_recognition())
    view = panel.text_view
    assert view.text() == "नमस्ते"
    for i, expected in enumerate(["95 %", "70 %", "30 %"]):
        rect = view.akshara_rect(i)
        assert rect.width() > 0
        assert view.akshara_at(rect.center()) == i
        assert expected in view.tooltip_for(i)
    assert view.akshara_rect(0).right() <= view.akshara_rect(1).left() + 1  # in reading order
    assert "30 %" in panel.details.text()
    assert panel.field.text() == "नमस्ते"


def test_a_page_is_shown_line_by_line_with_clickable_words(qtbot, panel):
    from PySide6.QtGui import QGuiApplication, QTextCursor

    lines = [[("नेपाल", 0.95), ("देश", 0.4)], [("राम्रो", 0.7), ("", 0.0), ("छ", 0.99)]]
    panel.show_page(lines, ms=1200.0)
    assert panel.is_page() and panel.text_view.isHidden() and panel.recognition() is None
    assert panel.page_view.toPlainText().splitlines() == ["नेपाल देश", "राम्रो छ"]
    assert "4 words in 2 lines, 1 uncertain" in panel.details.text() and "word" in panel.legend.text()
    assert panel.save_button.text() == "Save corrections as samples" and not panel.save_button.isEnabled()
    panel.copy_text()
    assert QGuiApplication.clipboard().text() == "नेपाल देश\nराम्रो छ"
    # the word under the mouse is known (for its tooltip) and a click reports its index
    view = panel.page_view
    cursor = QTextCursor(view.document())
    cursor.movePosition(QTextCursor.MoveOperation.Down)  # second line, first word
    cursor.movePosition(QTextCursor.MoveOperation.Right)
    assert view.word_at(view.cursorRect(cursor).center().toPointF()) == 2
    with qtbot.waitSignal(panel.wordActivated) as signal:
        panel._on_anchor(QUrl("word:4"))
    assert signal.args == [4]
    # a word result brings back the single-word view
    panel.show_result(_recognition())
    assert not panel.is_page() and not panel.field.isHidden() and panel.full_text is None
    assert "letter" in panel.legend.text() and panel.save_button.text() == "Save sample"


def test_a_page_word_is_corrected_in_the_field(qtbot, panel):
    lines = [[("नेपाल", 0.95), ("देश", 0.4)], [("राम्रो", 0.7), ("छ", 0.99)]]
    panel.show_page(lines)
    assert panel.field.text() == "" and "Click a word" in panel.field.placeholderText()
    panel.show_page(lines, selected=1)
    assert panel.selected_word() == 1 and panel.field.text() == "देश"
    assert "#fff1a8" in panel.page_view.toHtml()  # the word being edited is marked
    panel.set_word_alternatives(["देस", "देश"])
    assert [c.text() for c in panel.chips] == ["देस"]  # the word itself is not repeated
    with qtbot.waitSignal(panel.wordEdited) as edited:
        qtbot.mouseClick(panel.chips[0], Qt.MouseButton.LeftButton)
    assert edited.args == [1, "देस"]
    panel.field.setText("देशै")
    with qtbot.waitSignal(panel.wordEdited) as edited:
        qtbot.keyClick(panel.field, Qt.Key.Key_Return)  # Enter applies the correction, saves nothing
    assert edited.args == [1, "देशै"]
    panel.line_button.setChecked(True)  # the whole line at once
    assert panel.field.text() == "नेपाल देश"
    panel.field.setText("नेपाल देस")
    with qtbot.waitSignal(panel.lineEdited) as edited:
        qtbot.keyClick(panel.field, Qt.Key.Key_Return)
    assert edited.args == [0, "नेपाल देस"]
    # corrected words are drawn in the corrected colour; Save stores them all at once
    panel.line_button.setChecked(False)
    panel.show_page([[("नेपाल", 0.95, ""), ("देस", 0.4, "corrected")], [("राम्रो", 0.7), ("छ", 0.99)]],
                    selected=1, to_save=1)
    assert "#1565c0" in panel.page_view.toHtml() and "1 corrected" in panel.details.text()
    panel.set_page_to_save(1)
    assert panel.save_button.isEnabled()
    with qtbot.waitSignal(panel.pageSaveRequested) as save:
        panel.save_button.click()
    assert save.args == [False]


def test_coloured_aksharas_are_painted_in_their_colours(panel):
    panel.show_result(_recognition())
    image = panel.text_view.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    colours = set()
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = image.pixelColor(x, y)
            if c.red() > 150 and c.green() < 90:
                colours.add("red")
            elif c.green() > 100 and c.red() < 60:
                colours.add("green")
            elif c.red() > 150 and 80 < c.green() < 140 and c.blue() < 60:
                colours.add("amber")
    assert colours == {"red", "green", "amber"}


def test_alternative_chips_replace_the_text(qtbot, panel):
    panel.show_result(_recognition())
    assert [c.text() for c in panel.chips] == ["नमस्त", "नमसते"]  # the reading itself is not repeated
    qtbot.mouseClick(panel.chips[1], Qt.MouseButton.LeftButton)
    assert panel.field.text() == "नमसते"


def test_copy_puts_the_text_on_the_clipboard(panel):
    from PySide6.QtGui import QGuiApplication

    panel.show_result(_recognition())
    panel.field.setText("सही")
    panel.copy_button.click()
    assert QGuiApplication.clipboard().text() == "सही"


def test_copy_is_enabled_only_with_text_to_copy(panel):
    assert not panel.copy_button.isEnabled()           # the hint shown at start
    panel.show_result(_recognition())
    assert panel.copy_button.isEnabled()
    panel.show_pending()
    assert not panel.copy_button.isEnabled()           # a reading under way
    panel.show_failure("The image could not be read.")
    assert not panel.copy_button.isEnabled()
    panel.show_page([[("नेपाल", 0.9)]])
    assert panel.copy_button.isEnabled() and panel.full_text == "नेपाल"


def test_save_needs_an_image_and_text(qtbot, panel):
    saved = []
    panel.saveRequested.connect(saved.append)
    panel.request_save()
    assert saved == [] and not panel.save_button.isEnabled()
    panel.show_result(_recognition())
    panel.field.setText("  ")
    assert not panel.save_button.isEnabled()
    panel.field.setText("नमस्ते ")
    qtbot.keyClick(panel.field, Qt.Key.Key_Return)
    assert saved == ["नमस्ते"]


def test_palette_inserts_at_the_cursor(qtbot, panel):
    panel.set_palette_visible(True)
    assert panel.palette.isVisible()
    field = panel.field
    field.setText("नमते")
    field.setCursorPosition(2)
    qtbot.mouseClick(panel.palette.buttons["स"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.palette.buttons["्"], Qt.MouseButton.LeftButton)
    assert field.text() == "नमस्ते"
    assert field.cursorPosition() == 4
    qtbot.mouseClick(panel.palette.buttons[BACKSPACE], Qt.MouseButton.LeftButton)
    assert field.text() == "नमसते"
    field.selectAll()
    qtbot.mouseClick(panel.palette.buttons["क्ष"], Qt.MouseButton.LeftButton)
    assert field.text() == "क्ष"


def test_the_reading_gives_the_palette_room_and_takes_it_back(qtbot, panel):
    panel.show_result(_recognition())
    tall = panel.views.height()
    panel.set_palette_visible(True)
    short = panel.views.height()
    assert short < tall and short >= panel.text_view.sizeHint().height()  # one line of text still fits
    panel.set_palette_visible(False)
    assert panel.views.height() == tall


def test_palette_has_every_letter_group():
    from nepocr_desktop.lib.read.charset import CONSONANTS, DEVANAGARI_DIGITS, INDEPENDENT_VOWELS, VOWEL_SIGNS

    palette = DevanagariPalette()
    for ch in CONSONANTS + INDEPENDENT_VOWELS + VOWEL_SIGNS.replace("\u0945", "") + DEVANAGARI_DIGITS + "्ंँः।॥":
        assert ch in palette.buttons, ch
    assert "\u0945" not in palette.buttons  # candra E is not Nepali (labels read it as candrabindu)
    assert palette.buttons["ि"].text() == "◌ि"  # combining signs shown on a dotted circle


def test_qimage_and_array_round_trip():
    gray = np.arange(7 * 13, dtype=np.uint8).reshape(7, 13)
    assert np.array_equal(qimage_to_gray(gray_to_qimage(gray)), gray)
    transparent = QImage(10, 10, QImage.Format.Format_ARGB32)
    transparent.fill(Qt.GlobalColor.transparent)
    assert (qimage_to_gray(transparent) == 255).all()  # transparency is white paper


@pytest.fixture
def importer(qtbot) -> ImportPanel:
    widget = ImportPanel()
    qtbot.addWidget(widget)
    widget.resize(800, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_import_panel_reads_files_and_regions(qtbot, importer, word_image):
    asked = []
    importer.recognizeRequested.connect(lambda image, ctx: asked.append((image, ctx)))
    importer.load_file(word_image)
    image, ctx = asked[-1]
    assert image.shape == importer.image().shape and ctx["file"] == str(word_image)
    importer.view.set_selection(QRect(2, 3, 40, 20))
    image, ctx = asked[-1]
    assert image.shape == (20, 40) and ctx["region"] == (2, 3, 40, 20)
    importer.view.clear_selection()  # clearing the selection reads nothing again
    assert len(asked) == 2
    importer.request_recognition()  # Read now: the whole image
    assert asked[-1][0].shape == importer.image().shape


def test_rubber_band_selection_with_the_mouse(qtbot, importer, word_image):
    importer.load_file(word_image)
    view = importer.view
    start = view.mapFromScene(QPointF(10, 10))
    end = view.mapFromScene(QPointF(80, 40))
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view.viewport(), end)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    rect = view.selection()
    assert rect is not None
    assert abs(rect.left() - 10) <= 2 and abs(rect.right() - 80) <= 2


def test_ctrl_wheel_zooms(qtbot, importer, word_image):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent

    importer.load_file(word_image)
    view = importer.view
    before = view.zoom()
    pos = QPointF(50, 50)
    event = QWheelEvent(pos, QPointF(view.viewport().mapToGlobal(QPoint(50, 50))), QPoint(0, 0),
                        QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    view.wheelEvent(event)
    assert view.zoom() == pytest.approx(before * 1.25)


def test_unreadable_files_raise_image_error(importer, tmp_path):
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"nope")
    with pytest.raises(ImageError):
        importer.load_file(bad)
    assert not importer.has_image()


def test_exif_rotation_is_honoured(importer, tmp_path):
    from PIL import Image

    img = Image.new("L", (60, 20), 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif)
    importer.load_file(path)
    assert importer.image().shape == (60, 20)


def test_dropped_files_and_images_are_recognised_as_such(tmp_path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "a.png"))])
    assert mime_image(mime) == tmp_path / "a.png"
    mime = QMimeData()
    image = QImage(4, 4, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    mime.setImageData(image)
    assert isinstance(mime_image(mime), QImage)
    assert mime_image(QMimeData()) is None


def _tablet(canvas, kind, pos: QPointF, pressure: float) -> None:
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QPointingDevice, QTabletEvent
    from PySide6.QtWidgets import QApplication

    device = QPointingDevice.primaryPointingDevice()
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.TabletRelease else Qt.MouseButton.LeftButton
    event = QTabletEvent(kind, device, pos, QPointF(canvas.mapToGlobal(pos.toPoint())), pressure,
                         0.0, 0.0, 0.0, 0.0, 0.0, Qt.KeyboardModifier.NoModifier,
                         Qt.MouseButton.LeftButton, buttons)
    QApplication.sendEvent(canvas, event)


def test_pen_pressure_sets_the_width(canvas):
    from PySide6.QtCore import QEvent

    for pressure, y in ((0.05, 60.0), (1.0, 160.0)):
        _tablet(canvas, QEvent.Type.TabletPress, QPointF(100, y), pressure)
        for x in range(110, 400, 10):
            _tablet(canvas, QEvent.Type.TabletMove, QPointF(x, y), pressure)
        _tablet(canvas, QEvent.Type.TabletRelease, QPointF(400, y), pressure)
    light, heavy = canvas.strokes()
    assert max(heavy.widths) > 3 * max(light.widths)
    column = canvas.to_image(crop=False)[:, int(canvas.to_page(QPointF(250, 0)).x())] < 128
    thin, thick = column[: PAGE_HEIGHT // 2].sum(), column[PAGE_HEIGHT // 2:].sum()
    assert thin >= 1 and thick > 3 * thin


def test_touch_draws_a_stroke(qtbot, canvas):
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest

    device = QTest.createTouchDevice()
    QTest.touchEvent(canvas, device).press(0, QPoint(100, 100), canvas)
    for x in range(110, 300, 10):
        QTest.touchEvent(canvas, device).move(0, QPoint(x, 120), canvas)
    QTest.touchEvent(canvas, device).release(0, QPoint(300, 120), canvas)
    assert len(canvas.strokes()) == 1
    assert len(canvas.strokes()[0].points) > 10


@pytest.mark.parametrize("suffix", ["png", "jpg", "tif", "bmp", "webp"])
def test_common_image_formats_open(importer, word_image, tmp_path, suffix):
    from PIL import Image

    path = tmp_path / f"word.{suffix}"
    Image.open(word_image).convert("RGB").save(path)
    importer.load_file(path)
    assert importer.image().shape == Image.open(word_image).size[::-1]


@pytest.mark.parametrize("suffix, exif_turn", [(".jpg", False), (".jpg", True), (".png", False)])
def test_a_large_photo_is_shown_reduced_in_its_own_pixel_coordinates(importer, tmp_path, monkeypatch,
                                                                      suffix, exif_turn):
    """Above DISPLAY_MAX_PIXELS the pixmap is a reduced copy (colour, EXIF rotation kept), while
    zoom, selections and word boxes stay in the image's own pixels."""
    from PIL import Image

    from nepocr_desktop.gui import image_view

    monkeypatch.setattr(image_view, "DISPLAY_MAX_PIXELS", 50_000)  # a 400x300 image is "large"
    stored = Image.new("RGB", (400, 300), (250, 240, 200))
    stored.paste((20, 30, 120), (100, 130, 300, 170))  # a dark blue bar across the middle
    path = tmp_path / f"photo{suffix}"
    exif = Image.Exif()
    if exif_turn:
        exif[0x0112] = 6  # shown turned a quarter: 300 wide, 400 high
    stored.save(path, exif=exif.tobytes()) if suffix == ".jpg" else stored.save(path)
    importer.load_file(path)
    h, w = importer.image().shape
    assert (w, h) == ((300, 400) if exif_turn else (400, 300))
    view = importer.view
    assert view.scene().sceneRect() == QRectF(0, 0, w, h)
    shown = view._pixmap.pixmap()
    assert shown.width() * shown.height() <= 50_000 * 1.01 and shown.width() < w
    assert abs(shown.width() / shown.height() - w / h) < 0.02
    assert view._pixmap.sceneBoundingRect() == QRectF(0, 0, w, h)
    pixel = shown.toImage().pixelColor(shown.width() // 2, shown.height() // 2)
    assert pixel.blue() > pixel.red() + 40  # colour kept: the bar is blue, not gray
    view.actual_size()
    assert view.zoom() == pytest.approx(1.0)
    view.set_selection(QRect(10, 20, 50, 30))
    assert importer.region()[0].shape == (30, 50)


def test_pasted_pink_writing_stays_dark():
    rgb = np.full((60, 120, 3), (246, 242, 232), np.uint8)
    rgb[20:40, 10:110] = (250, 150, 195)                    # a light pink pen
    image = QImage(rgb.data, 120, 60, 360, QImage.Format.Format_RGB888).copy()
    gray = qimage_to_gray(image)
    assert gray.shape == (60, 120)
    assert gray[30, 60] < 0.65 * gray[5, 5]                 # luminance alone: 0.77


def _ink_box(widget) -> tuple[int, int]:
    """Height and width of what is drawn inside ``widget.hint_rect()`` that differs from its background."""
    image = widget.grab().toImage()
    rect, ratio = widget.hint_rect(), image.devicePixelRatio()
    x0, y0 = int(rect.left() * ratio), int(rect.top() * ratio)
    x1, y1 = int(rect.right() * ratio), int(rect.bottom() * ratio)
    background = image.pixelColor(x1 - 1, (y0 + y1) // 2).lightness()
    rows, cols = set(), set()
    for y in range(y0, y1):
        for x in range(x0, x1):
            if abs(image.pixelColor(x, y).lightness() - background) > 40:
                rows.add(y)
                cols.add(x)
    return (max(rows) - min(rows) + 1, max(cols) - min(cols) + 1) if rows else (0, 0)


def test_the_correction_hint_is_drawn_in_the_ui_font_not_the_large_one(qtbot, panel):
    field = panel.field
    panel.show_page([[("नेपाल", 0.95)]])
    field.clearFocus()  # a focused field's frame is drawn in the hint's rectangle too
    hint = field.placeholderText()
    assert "Click a word" in hint and field.text() == ""
    large = QFontMetrics(field.font())
    qtbot.waitUntil(lambda: _ink_box(field)[0] > 0)
    height, width = _ink_box(field)
    # the hint is narrower and shorter than the large font would draw it
    assert width < large.horizontalAdvance(hint) * 0.8
    assert height < large.height() * 0.8
    # typed text is drawn in the large font, and the hint is gone
    field.setText("नेपाल")
    typed_height, _ = _ink_box(field)
    assert typed_height > height


def test_two_lines_written_on_the_canvas_are_handed_over_as_one_line(qtbot, canvas):
    def write_line(top: float, bottom: float, letters: int) -> None:
        for k in range(letters):
            x = 40 + k * 50
            for points in ([(x, top), (x + 40, top)], [(x + 30, top), (x + 30, bottom)],
                           [(x + 4, top + 6), (x, (top + bottom) / 2), (x + 8, bottom), (x + 28, (top + bottom) / 2)]):
                qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPointF(*points[0]).toPoint())
                for p in points[1:]:
                    qtbot.mouseMove(canvas, QPointF(*p).toPoint())
                qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPointF(*points[-1]).toPoint())

    h = canvas.height()
    write_line(0.08 * h, 0.38 * h, 5)
    one = canvas.reading_image()
    write_line(0.62 * h, 0.92 * h, 3)
    assert canvas.to_image().shape[0] > 1.8 * one.shape[0]      # the person sees two lines
    both = canvas.reading_image()
    assert abs(both.shape[0] - one.shape[0]) <= 2               # the recognizer reads one
    assert both.shape[1] > 1.4 * one.shape[1]


def test_your_text_shows_one_line_where_the_write_tab_is_short(qtbot):
    from PySide6.QtGui import QAction

    from nepocr_desktop.gui.write_view import SHORT_TAB, WritePanel

    panel = WritePanel({name: QAction(name) for name in ("undo", "redo", "clear", "eraser", "recognize")})
    qtbot.addWidget(panel)
    panel.resize(700, SHORT_TAB + 200)
    panel.show()
    qtbot.waitExposed(panel)
    tall = panel.text.edit.height()
    panel.resize(700, SHORT_TAB - 100)
    qtbot.waitUntil(lambda: panel.text.edit.height() < tall)
    short = panel.text.edit.height()
    line = QFontMetrics(panel.text.edit.font()).lineSpacing()
    assert abs((tall - short) - line) <= 2  # one line fewer
    assert panel.canvas.height() >= 120
