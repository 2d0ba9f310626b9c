"""The writing canvas: mouse, pen tablet and touch input with smoothed strokes, an eraser (the
right mouse button, or the pen's eraser end) and undo."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QPointingDevice,
    QTabletEvent,
    QTouchEvent,
    QTransform,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..lib.read.strokes import BASELINE, HEADLINE, PAGE_HEIGHT, PAGE_WIDTH, PenStroke, render_strokes
from ..lib.read.strokes import reading_image as _reading_image
from .ink import Edit, Stroke, paint_stroke, rub_out
from .style import (
    COLOR_BASELINE,
    COLOR_CANVAS_HINT,
    COLOR_DESK,
    COLOR_HEADLINE,
    COLOR_INK,
    COLOR_PAPER,
    COLOR_SELECTION,
    devanagari_font,
    translucent,
)

__all__ = ["BASELINE", "HEADLINE", "PAGE_HEIGHT", "PAGE_WIDTH", "DrawingCanvas", "Stroke"]
PAPER = QColor(COLOR_PAPER)
DESK = QColor(COLOR_DESK)
INK = QColor(COLOR_INK)
ERASER_RADIUS = 12.0  # page units: what the right button or the pen's eraser end rubs out around it


class DrawingCanvas(QWidget):
    """Where the user writes one word; emits :attr:`recognizeRequested` with the writing after a pause."""

    recognizeRequested = Signal(object)  # the writing as the recognizer reads it (see reading_image)
    changed = Signal()      # strokes added, removed or cleared
    cleared = Signal()
    historyChanged = Signal()
    clearUndone = Signal(object)  # the mark given to clear(), when undo brings that writing back
    rubbingOutChanged = Signal(bool)  # the eraser tool on or off

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._strokes: list[Stroke] = []
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []
        self._current: Stroke | None = None
        self._erasing: list[Stroke] | None = None  # the strokes as they were when rubbing out began
        self._eraser: QPointF | None = None         # where the eraser is (page units) while it rubs
        self._pen_width = 5.0
        self._rubber = False  # the eraser tool is on: the left button, a finger and the pen's tip rub out
        self._tablet_down = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(600)
        self._timer.timeout.connect(self._auto_recognize)
        self._auto = True
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking, False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)  # the right button rubs out
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 120)  # the page fits at 320 x 117
        self.setToolTip("")
        self.setAccessibleName("Writing area")

    # -- settings --

    def sizeHint(self) -> QSize:
        return QSize(PAGE_WIDTH * 3 // 4, PAGE_HEIGHT * 3 // 4)

    @property
    def pen_width(self) -> float:
        return self._pen_width

    def set_pen_width(self, width: float) -> None:
        self._pen_width = max(1.0, min(40.0, float(width)))

    @property
    def auto_delay(self) -> int:
        """Milliseconds after the pen stops before recognition starts; 0 = only on request."""
        return self._timer.interval() if self._auto else 0

    def set_auto_delay(self, ms: int) -> None:
        self._auto = ms > 0
        if self._auto:
            self._timer.setInterval(int(ms))
        else:
            self._timer.stop()

    # -- content --

    def is_empty(self) -> bool:
        return not self._strokes

    def strokes(self) -> list[Stroke]:
        return list(self._strokes)

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def next_undo(self) -> Edit | None:
        """What :meth:`undo` would undo."""
        return self._undo[-1] if self._undo else None

    def is_rubbing_out(self) -> bool:
        """Whether the eraser tool is on (the right button and the pen's eraser end always rub out)."""
        return self._rubber

    def set_rubbing_out(self, on: bool) -> None:
        if bool(on) == self._rubber:
            return
        self._rubber = bool(on)
        self._set_cursor()
        self.rubbingOutChanged.emit(self._rubber)

    def _set_cursor(self) -> None:
        """A cross to write with; with the Rub out tool, a ring as large as the eraser on the screen."""
        if not self._rubber:
            self.setCursor(Qt.CursorShape.CrossCursor)
            return
        ratio = self.devicePixelRatioF()
        radius = max(3.0, ERASER_RADIUS * self.page_transform().m11())  # widget pixels
        side = int(2 * radius + 4)
        ring = QPixmap(int(side * ratio), int(side * ratio))
        ring.setDevicePixelRatio(ratio)
        ring.fill(Qt.GlobalColor.transparent)
        painter = QPainter(ring)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for color, width in ((QColor("white"), 3.0), (QColor(COLOR_SELECTION), 1.5)):
            painter.setPen(QPen(color, width))
            painter.drawEllipse(QPointF(side / 2, side / 2), radius, radius)
        painter.end()
        self.setCursor(QCursor(ring, side // 2, side // 2))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._rubber:
            self._set_cursor()  # the page's scale changed

    def next_redo(self) -> Edit | None:
        """What :meth:`redo` would do again."""
        return self._redo[-1] if self._redo else None

    def undo(self) -> None:
        """Undo the last stroke or clear. Undoing a clear that carries a mark (a word saved or
        added to the text) emits :attr:`clearUndone` with the mark, and leaves nothing to redo:
        the writing is back as it was before it was handed on."""
        if not self._undo:
            return
        edit = self._undo.pop()
        if edit.kind == "add":
            self._strokes.pop()
        else:
            self._strokes = list(edit.strokes)
        if edit.mark is None:
            self._redo.append(edit)
        else:
            self._redo.clear()
        self._after_edit()
        if edit.mark is not None:
            self.clearUndone.emit(edit.mark)

    def redo(self) -> None:
        if not self._redo:
            return
        edit = self._redo.pop()
        if edit.kind == "add":
            self._strokes.extend(edit.strokes)
        elif edit.kind == "erase":
            self._strokes = list(edit.after)
        else:
            self._strokes = []
        self._undo.append(edit)
        self._after_edit()

    def clear(self, mark: object | None = None) -> None:
        """Remove all strokes (undoable). ``mark`` says what the writing went to (see
        :attr:`clearUndone`)."""
        if not self._strokes:
            return
        self._undo.append(Edit("clear", list(self._strokes), mark))
        self._redo.clear()
        self._strokes = []
        self._after_edit()

    def _after_edit(self) -> None:
        self.update()
        self.changed.emit()
        self.historyChanged.emit()
        if self._strokes:
            self._restart_timer()
        else:
            self._timer.stop()
            self.set_rubbing_out(False)  # nothing left to rub out: the next touch writes
            self.cleared.emit()

    def _restart_timer(self) -> None:
        if self._auto:
            self._timer.start()

    def _auto_recognize(self) -> None:
        if self._current is None and self._erasing is None:
            self.request_recognition()

    def request_recognition(self) -> None:
        """Emit :attr:`recognizeRequested` with the writing now (nothing when it is empty)."""
        if self._strokes:
            self._timer.stop()
            self.recognizeRequested.emit(self.reading_image())

    # -- image --

    def page_transform(self) -> QTransform:
        """Page units to widget pixels: the page scaled to fit, centred."""
        scale = min(self.width() / PAGE_WIDTH, self.height() / PAGE_HEIGHT)
        dx = (self.width() - PAGE_WIDTH * scale) / 2
        dy = (self.height() - PAGE_HEIGHT * scale) / 2
        return QTransform(scale, 0, 0, scale, dx, dy)

    def to_page(self, pos: QPointF) -> QPointF:
        """Widget pixels to page units."""
        inverse, _ok = self.page_transform().inverted()
        return inverse.map(pos)

    def to_image(self, crop: bool = True) -> np.ndarray:
        """The writing as a uint8 gray array: black ink on white, no guides.

        Rendered by the core's :func:`render_strokes` (the renderer training and the stroke
        evaluation sets use) on the page at its own size (``PAGE_WIDTH`` x ``PAGE_HEIGHT``)
        whatever the window size. With ``crop`` the image is cut to the ink plus a white margin
        (the whole page when empty); the recognizer does its own normalisation either way.
        """
        return render_strokes(self._pen_strokes(), (PAGE_WIDTH, PAGE_HEIGHT), crop=crop)

    def reading_image(self) -> np.ndarray:
        """What the recognizer reads: the writing drawn again with the core's reading pen
        (:func:`reading_image`), whatever pen width or pressure it was written with, cropped."""
        return _reading_image(self._pen_strokes(), (PAGE_WIDTH, PAGE_HEIGHT))

    def _pen_strokes(self) -> list[PenStroke]:
        return [PenStroke.of([(p.x(), p.y()) for p in s.points], s.widths) for s in self._strokes]

    # -- painting --

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), DESK)
        transform = self.page_transform()
        page = transform.mapRect(QRectF(0, 0, PAGE_WIDTH, PAGE_HEIGHT))
        painter.fillRect(page, PAPER)
        if self.hasFocus():
            painter.setPen(QPen(translucent(COLOR_SELECTION, 90), 2))
            painter.drawRect(page.adjusted(1, 1, -1, -1))
        painter.setTransform(transform)
        self._paint_guides(painter)
        for stroke in self._strokes:
            paint_stroke(painter, stroke, INK)
        if self._current is not None:
            paint_stroke(painter, self._current, INK)
        if self._eraser is not None:
            painter.setPen(QPen(translucent(COLOR_SELECTION, 200), 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(self._eraser, ERASER_RADIUS, ERASER_RADIUS)
        if not self._strokes and self._current is None:
            self._paint_hint(painter)

    def _paint_guides(self, painter: QPainter) -> None:
        w, h = PAGE_WIDTH, PAGE_HEIGHT
        margin = 24
        head = QPen(translucent(COLOR_HEADLINE, 110), 1.5, Qt.PenStyle.DashLine)
        painter.setPen(head)
        painter.drawLine(QPointF(margin, h * HEADLINE), QPointF(w - margin, h * HEADLINE))
        painter.setPen(QPen(translucent(COLOR_BASELINE, 90), 1.2, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(margin, h * BASELINE), QPointF(w - margin, h * BASELINE))

    def _paint_hint(self, painter: QPainter) -> None:
        painter.setPen(translucent(COLOR_CANVAS_HINT, 150))
        font = devanagari_font(15)
        font.setPixelSize(22)  # page units
        painter.setFont(font)
        rect = QRectF(0, PAGE_HEIGHT * (BASELINE + 0.03), PAGE_WIDTH, PAGE_HEIGHT * 0.22)
        painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         "यहाँ एउटा शब्द लेख्नुहोस् · Write a word here, hanging it from the red line")

    # -- input --

    def _begin(self, pos: QPointF, width: float) -> None:
        self._timer.stop()
        self._current = Stroke()
        self._current.add(self.to_page(pos), width)
        self.update()

    def _extend(self, pos: QPointF, width: float) -> None:
        if self._current is None:
            return
        before = self._current.bounds() if self._current.points else QRectF()
        if self._current.add(self.to_page(pos), width):
            changed = self.page_transform().mapRect(before.united(self._current.bounds()))
            self.update(changed.toAlignedRect().adjusted(-4, -4, 4, 4))

    def _erase_begin(self, pos: QPointF) -> None:
        self._timer.stop()
        self._erasing = list(self._strokes)
        self._erase(pos)

    def _erase(self, pos: QPointF) -> None:
        """Rub out the ink under the eraser at ``pos`` (widget pixels)."""
        if self._erasing is None:
            return
        start, self._eraser = self._eraser, self.to_page(pos)
        left: list[Stroke] = []
        for stroke in self._strokes:  # the path between two events too: a quick hand leaves gaps
            pieces = rub_out(stroke, start if start is not None else self._eraser, self._eraser, ERASER_RADIUS)
            left.extend([stroke] if pieces is None else pieces)
        self._strokes = left
        self.update()

    def _erase_end(self) -> None:
        """One undo step for all that one stroke of the eraser rubbed out."""
        before, self._erasing, self._eraser = self._erasing, None, None
        if before is None:
            return
        if len(before) == len(self._strokes) and all(a is b for a, b in zip(before, self._strokes)):
            self.update()  # it touched nothing
            self._restart_timer()
            return
        self._undo.append(Edit("erase", before, after=list(self._strokes)))
        self._redo.clear()
        self._after_edit()

    def _end(self) -> None:
        stroke, self._current = self._current, None
        if stroke is None or not stroke.points:
            return
        self._strokes.append(stroke)
        self._undo.append(Edit("add", [stroke]))
        self._redo.clear()
        self.update()
        self.changed.emit()
        self.historyChanged.emit()
        self._restart_timer()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        busy = self._tablet_down or self._current is not None or self._erasing is not None
        if event.button() == Qt.MouseButton.LeftButton and not busy and not self._rubber:
            self._begin(event.position(), self._pen_width)
            event.accept()
        elif event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton) and not busy:
            self._erase_begin(event.position())  # the right button rubs out
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._tablet_down:
            return
        if self._current is not None:
            self._extend(event.position(), self._pen_width)
        elif self._erasing is not None:
            self._erase(event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._tablet_down:
            return
        if event.button() == Qt.MouseButton.LeftButton and self._current is not None:
            self._extend(event.position(), self._pen_width)
            self._end()
        elif event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton) and self._erasing is not None:
            self._erase(event.position())
            self._erase_end()

    def tabletEvent(self, event: QTabletEvent) -> None:
        width = self._pen_width * (0.35 + 1.3 * max(0.0, min(1.0, event.pressure())))
        kind = event.type()
        eraser = event.pointerType() == QPointingDevice.PointerType.Eraser  # the pen turned over
        if kind == QEvent.Type.TabletPress:
            self._tablet_down = True
            if eraser or self._rubber:
                self._erase_begin(event.position())
            else:
                self._begin(event.position(), width)
        elif kind == QEvent.Type.TabletMove and self._tablet_down:
            if self._erasing is not None:
                self._erase(event.position())
            else:
                self._extend(event.position(), width)
        elif kind == QEvent.Type.TabletRelease and self._tablet_down:
            self._tablet_down = False
            if self._erasing is not None:
                self._erase_end()
            else:
                self._end()
        event.accept()  # no synthesised mouse events for the pen

    def event(self, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TouchEnd,
                    QEvent.Type.TouchCancel):
            self._touch(event)  # type: ignore[arg-type]
            return True
        return super().event(event)

    def _touch(self, event: QTouchEvent) -> None:
        points = event.points()
        if not points:
            if event.type() in (QEvent.Type.TouchEnd, QEvent.Type.TouchCancel):
                if self._erasing is not None:
                    self._erase_end()
                else:
                    self._end()
            return
        pos = points[0].position()
        if event.type() == QEvent.Type.TouchBegin:
            if self._rubber:
                self._erase_begin(pos)
            else:
                self._begin(pos, self._pen_width)
        elif event.type() == QEvent.Type.TouchUpdate:
            if self._erasing is not None:
                self._erase(pos)
            else:
                self._extend(pos, self._pen_width)
        elif self._erasing is not None:
            self._erase(pos)
            self._erase_end()
        else:
            self._extend(pos, self._pen_width)
            self._end()
        event.accept()

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.update()

