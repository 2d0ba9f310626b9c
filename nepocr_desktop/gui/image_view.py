"""The Import view: an image with zoom, pan and a rectangle to read just one region."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QEventLoop, QMetaObject, QMimeData, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QImageReader,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..lib.read.preprocess import ImageError, load_gray
from ..lib.system.memory import trim_heap
from .imaging import gray_to_qimage, qimage_to_gray
from .style import (
    COLOR_HIGHLIGHT,
    COLOR_HIGHLIGHT_FILL,
    COLOR_IMAGE_BACKGROUND,
    COLOR_PLACEHOLDER,
    COLOR_SELECTION,
    COLOR_WORD_BOX,
    translucent,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp);;All files (*)"
MIN_ZOOM, MAX_ZOOM = 0.05, 16.0
MIN_SELECTION = 6  # image pixels; smaller drags count as a click
DISPLAY_MAX_PIXELS = 4_000_000  # larger images are shown reduced (see display_scale)


def mime_image(mime: QMimeData) -> QImage | Path | None:
    """The first local image file or image data carried by a drop or the clipboard."""
    for url in mime.urls() if mime.hasUrls() else []:
        if url.isLocalFile():
            return Path(url.toLocalFile())
    if mime.hasImage():
        image = QImage(mime.imageData())
        if not image.isNull():
            return image
    return None


def display_scale(width: int, height: int) -> float:
    """How much an image is reduced for display: large photos are shown at most
    ``DISPLAY_MAX_PIXELS`` (as a pixmap, a 12 MP photo would take 48 MB)."""
    return min(1.0, math.sqrt(DISPLAY_MAX_PIXELS / max(1, width * height)))


def colour_image(path: Path, shape: tuple[int, ...]) -> QImage | None:
    """The file in colour for display (EXIF rotation applied, reduced by :func:`display_scale`),
    if Qt reads it at the size of ``shape`` (the gray image that is read)."""
    h, w = shape[:2]
    f = display_scale(w, h)
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    if f < 1.0:
        stored = reader.size()  # before the EXIF rotation, which the scaled size applies to
        if stored.isValid():
            reader.setScaledSize(QSize(max(1, round(stored.width() * f)), max(1, round(stored.height() * f))))
    image = reader.read()
    if image.isNull() or abs(image.width() - w * f) > 1.5 or abs(image.height() - h * f) > 1.5:
        return None
    return image


def display_image(gray: np.ndarray) -> QImage:
    """A gray image for display, reduced by :func:`display_scale`."""
    h, w = gray.shape
    f = display_scale(w, h)
    if f < 1.0:
        gray = cv2.resize(gray, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return gray_to_qimage(gray)


class ImageView(QGraphicsView):
    """Shows one gray image; drag with the left button to select, middle button to pan."""

    selectionChanged = Signal(object)  # QRect in image pixels, or None for the whole image
    boxClicked = Signal(int)           # index of an outlined region (a word of a page) clicked
    dropped = Signal(object)           # Path or QImage
    zoomChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._pixmap = QGraphicsPixmapItem()
        self._pixmap.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._pixmap)
        self._band = QGraphicsRectItem()
        self._band.setPen(QPen(QColor(COLOR_SELECTION), 0, Qt.PenStyle.DashLine))
        self._band.setBrush(translucent(COLOR_SELECTION, 40))
        self._band.setZValue(2)
        self._band.hide()
        self.scene().addItem(self._band)
        self._boxes: list[QGraphicsRectItem] = []
        self._highlight = QGraphicsRectItem()
        pen = QPen(QColor(COLOR_HIGHLIGHT), 3)
        pen.setCosmetic(True)
        self._highlight.setPen(pen)
        self._highlight.setBrush(translucent(COLOR_HIGHLIGHT_FILL, 70))
        self._highlight.setZValue(1.5)
        self._highlight.hide()
        self.scene().addItem(self._highlight)
        self._highlighted = -1
        self._drag_start: QPointF | None = None
        self._pan_from: QPointF | None = None
        self._fit = True
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(QColor(COLOR_IMAGE_BACKGROUND))
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAccessibleName("Image")

    # -- image --

    def has_image(self) -> bool:
        return not self._pixmap.pixmap().isNull()

    def set_image(self, image: QImage, size: QSize | None = None) -> None:
        """Show ``image``; scene coordinates are pixels of an image of ``size`` (the image's
        own size by default), so a reduced copy can stand for a large one."""
        size = size if size is not None else image.size()
        self._pixmap.setPixmap(QPixmap.fromImage(image))
        self._pixmap.setTransform(QTransform.fromScale(size.width() / max(1, image.width()),
                                                       size.height() / max(1, image.height())))
        self.scene().setSceneRect(QRectF(0, 0, size.width(), size.height()))
        self.clear_selection()
        self.show_boxes([])
        self.fit()

    def show_boxes(self, boxes: list[QRectF], colors: list[QColor] | None = None) -> None:
        """Outline regions of the image (e.g. the words found on a page)."""
        for item in self._boxes:
            self.scene().removeItem(item)
        self._boxes = []
        for i, rect in enumerate(boxes):
            item = QGraphicsRectItem(rect)
            item.setZValue(1)
            self.scene().addItem(item)
            self._boxes.append(item)
        self.set_box_colors(colors or [])
        self.highlight_box(-1)

    def boxes(self) -> list[QRectF]:
        """The outlined regions, in the order they were given."""
        return [item.rect() for item in self._boxes]

    def box_colors(self) -> list[QColor]:
        return [item.pen().color() for item in self._boxes]

    def set_box_colors(self, colors: list[QColor]) -> None:
        for i, item in enumerate(self._boxes):
            pen = QPen(colors[i] if i < len(colors) else QColor(COLOR_WORD_BOX), 2)
            pen.setCosmetic(True)  # the same width at any zoom
            item.setPen(pen)

    def highlight_box(self, index: int) -> None:
        """Mark outlined region ``index`` (the word being edited) and scroll it into view; -1: none."""
        self._highlighted = index if 0 <= index < len(self._boxes) else -1
        if self._highlighted < 0:
            self._highlight.hide()
            return
        rect = self._boxes[index].rect().adjusted(-3, -3, 3, 3)
        self._highlight.setRect(rect)
        self._highlight.show()
        self.ensureVisible(rect, 40, 40)

    def highlighted_box(self) -> int:
        return self._highlighted

    # -- selection --

    def selection(self) -> QRect | None:
        if not self._band.isVisible():
            return None
        return self._band.rect().toAlignedRect()

    def set_selection(self, rect: QRect | None) -> None:
        bounds = self.scene().sceneRect().toAlignedRect()
        rect = rect.intersected(bounds) if rect is not None else None
        if rect is None or rect.width() < MIN_SELECTION or rect.height() < MIN_SELECTION:
            was = self._band.isVisible()
            self._band.hide()
            if was:
                self.selectionChanged.emit(None)
            return
        self._band.setRect(QRectF(rect))
        self._band.show()
        self.selectionChanged.emit(rect)

    def clear_selection(self) -> None:
        self.set_selection(None)

    # -- zoom --

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = max(MIN_ZOOM, min(MAX_ZOOM, factor))
        self._fit = False
        self.resetTransform()
        self.scale(factor, factor)
        self.zoomChanged.emit(factor)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom() * 1.25)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom() / 1.25)

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def fit(self) -> None:
        if self.has_image():
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            if self.zoom() > 4.0:  # a small crop: do not blow it up past 4x
                self.resetTransform()
                self.scale(4.0, 4.0)
        self._fit = True
        self.zoomChanged.emit(self.zoom())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120.0
            if steps:
                self.set_zoom(self.zoom() * (1.25 ** steps))
            event.accept()
        else:
            super().wheelEvent(event)

    # -- mouse: select with the left button, pan with the middle one or Space+drag --

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pan = (event.button() == Qt.MouseButton.MiddleButton
               or self.dragMode() == QGraphicsView.DragMode.ScrollHandDrag)
        if pan and event.button() != Qt.MouseButton.RightButton:
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
        elif event.button() == Qt.MouseButton.LeftButton and self.has_image():
            self._drag_start = self.mapToScene(event.position().toPoint())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
        elif self._drag_start is not None:
            end = self.mapToScene(event.position().toPoint())
            rect = QRectF(self._drag_start, end).normalized().intersected(self.scene().sceneRect())
            self._band.setRect(rect)
            self._band.setVisible(rect.width() >= 1 and rect.height() >= 1)
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
        elif self._drag_start is not None and event.button() == Qt.MouseButton.LeftButton:
            end = self.mapToScene(event.position().toPoint())
            rect = QRectF(self._drag_start, end).normalized().toAlignedRect()
            self._drag_start = None
            if rect.width() < MIN_SELECTION and rect.height() < MIN_SELECTION:
                # a click on a word found on a page picks that word (to correct it): the page stays
                hit = next((i for i, b in enumerate(self._boxes) if b.rect().contains(end)), -1)
                if hit >= 0:
                    self.boxClicked.emit(hit)
                    return
            self.set_selection(rect)
        else:
            super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.setDragMode(QGraphicsView.DragMode.NoDrag)
        super().keyReleaseEvent(event)

    # -- drag and drop --

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if mime_image(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        item = mime_image(event.mimeData())
        if item is not None:
            event.acceptProposedAction()
            self.dropped.emit(item)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self.has_image():
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor(COLOR_PLACEHOLDER))
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        painter.setFont(font)
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter,
                         "Open a scanned or photographed word (Ctrl+O),\n"
                         "drop an image file here, or paste one (Ctrl+V).\n\n"
                         "Drag a rectangle over the image to read just that part.")
        painter.restore()


class ImportPanel(QWidget):
    """Toolbar + :class:`ImageView`; emits the image (or selected region) to read."""

    recognizeRequested = Signal(object, dict)  # uint8 gray array, context
    imageLoaded = Signal(str)                  # name shown to the user
    droppedItem = Signal(object)               # Path or QImage; the window loads it
    wordClicked = Signal(int)                  # a word outlined on the image was clicked

    source_name = "import"

    def __init__(self, actions: dict[str, QAction] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._gray: np.ndarray | None = None
        self._name = ""
        self._context: dict = {}
        self.view = ImageView(self)
        # a new region is read at once; clearing the selection keeps what was read (the page
        # stays) until the user asks for the whole image again (Read now)
        self.view.selectionChanged.connect(lambda rect: rect is not None and self.request_recognition())
        self.view.boxClicked.connect(self.wordClicked)
        self.view.dropped.connect(self.droppedItem)
        self.view.zoomChanged.connect(self._show_zoom)
        self.info = QLabel("No image", self)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.zoom_label = QLabel("", self)
        self.mode = QComboBox(self)
        self.mode.addItem("Read as one word", "words")
        self.mode.setToolTip("How the image is read")
        self.mode.currentIndexChanged.connect(lambda _i: self.request_recognition())
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        for name in ("open", "paste", None, "zoom_out", "zoom_in", "zoom_fit"):
            if name is None:
                bar.addSpacing(12)
            elif actions and name in actions:
                button = QToolButton(self)
                button.setDefaultAction(actions[name])
                button.setAutoRaise(True)
                bar.addWidget(button)
        bar.addWidget(self.zoom_label)
        bar.addSpacing(12)
        bar.addWidget(self.info, 1)
        bar.addWidget(self.mode)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

    def enable_page_mode(self) -> None:
        """Offer whole-page reading (word boxes are shown with :meth:`ImageView.show_boxes`)."""
        if self.mode.findData("page") < 0:
            self.mode.insertItem(0, "Automatic (word or page)", "auto")
            self.mode.addItem("Read as a page", "page")
            self.mode.setCurrentIndex(0)

    def read_mode(self) -> str:
        return str(self.mode.currentData())

    def has_image(self) -> bool:
        return self._gray is not None

    def image(self) -> np.ndarray | None:
        return self._gray

    def load_file(self, path: str | Path) -> None:
        """Show an image file and read it; raises :class:`ImageError` if it cannot be read.

        The file is read and decoded on a worker thread; meanwhile this (the UI) thread keeps
        repainting, without taking user input, and goes on once the pixels are there."""
        path = Path(path)
        done: dict[str, object] = {}
        loop = QEventLoop()

        def decode() -> None:
            try:
                gray = load_gray(path)  # EXIF rotation honoured, transparency on white
                done["images"] = (gray, colour_image(path, gray.shape))  # a QImage: fine off the UI thread
            except BaseException as exc:  # noqa: BLE001 - handed to the UI thread, raised there
                done["error"] = exc
            finally:
                QMetaObject.invokeMethod(loop, "quit", Qt.ConnectionType.QueuedConnection)

        threading.Thread(target=decode, name="nepocr-open-image", daemon=True).start()
        loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        if "error" in done:
            raise done["error"]  # type: ignore[misc]
        gray, display = done["images"]  # type: ignore[misc]
        self.set_gray(gray, path.name, {"file": str(path)}, display=display)

    def load_qimage(self, image: QImage, name: str = "pasted image") -> None:
        if image.isNull():
            raise ImageError("the clipboard holds no image")
        self.set_gray(qimage_to_gray(image), name, {})

    def set_gray(self, gray: np.ndarray, name: str, context: dict | None = None,
                 display: QImage | None = None) -> None:
        """Show an image and read it; ``display`` is what is shown (the gray image by default)."""
        if gray.ndim != 2 or 0 in gray.shape:
            raise ImageError(f"{name}: the image has no pixels")
        self._gray = gray
        self._name = name
        self._context = dict(context or {})
        h, w = gray.shape
        self.view.set_image(display if display is not None else display_image(gray), QSize(w, h))
        trim_heap()  # the decoders' buffers (a 12 MP photo is decoded at full size first)
        self.info.setText(f"{name} — {w} × {h} px")
        self.imageLoaded.emit(name)
        self.request_recognition()

    def region(self) -> tuple[np.ndarray, QRect | None] | None:
        """The selected region (or the whole image) as a gray array, and the selection."""
        if self._gray is None:
            return None
        rect = self.view.selection()
        if rect is None:
            return self._gray, None
        crop = self._gray[rect.top():rect.bottom() + 1, rect.left():rect.right() + 1]
        return (crop.copy(), rect) if crop.size else (self._gray, None)

    def request_recognition(self) -> None:
        region = self.region()
        if region is None:
            return
        gray, rect = region
        context = dict(self._context, name=self._name, mode=self.read_mode())
        if rect is not None:
            context["region"] = (rect.x(), rect.y(), rect.width(), rect.height())
        self.recognizeRequested.emit(gray, context)

    def _show_zoom(self, factor: float) -> None:
        self.zoom_label.setText(f"{round(factor * 100)} %")
