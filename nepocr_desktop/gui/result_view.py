"""The result panel: the text read, coloured by confidence, alternatives and the correction."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QTextCharFormat,
    QTextLayout,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ..lib.read.charset import split_aksharas
from ..lib.read.results import GraphemeConfidence, Recognition
from .palette import DevanagariPalette
from .style import (
    COLOR_HIGH,
    COLOR_LOW,
    COLOR_MEDIUM,
    HIGH_CONFIDENCE,
    MEDIUM_CONFIDENCE,
    confidence_color,
    confidence_percent,
    devanagari_font,
    icon,
)

TEXT_POINTS = 34.0
MIN_TEXT_POINTS = 14.0


class AksharaText(QWidget):
    """The recognised text, one colour per akshara, with its confidence on hover."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: list[tuple[str, float]] = []
        self._message = ""
        self._message_color = QColor("#78909c")
        self._hover = -1
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Recognised text")

    def sizeHint(self) -> QSize:
        return QSize(400, int(devanagari_font(TEXT_POINTS).pointSizeF() * 2.6))

    def minimumSizeHint(self) -> QSize:
        return QSize(120, self.sizeHint().height())

    def set_graphemes(self, items: Sequence[tuple[str, float]]) -> None:
        self._items = [(str(t), float(c)) for t, c in items]
        self._message = ""
        self._hover = -1
        self.setAccessibleDescription(self.text())
        self.update()

    def set_message(self, message: str, color: str = "#78909c") -> None:
        self._items = []
        self._message = message
        self._message_color = QColor(color)
        self._hover = -1
        self.update()

    def text(self) -> str:
        return "".join(t for t, _ in self._items)

    def graphemes(self) -> list[tuple[str, float]]:
        return list(self._items)

    # -- layout --

    def _layout(self) -> tuple[QTextLayout, float, float]:
        """The laid-out text and its left and top offsets (font shrunk to fit the width)."""
        text = self.text()
        points = TEXT_POINTS
        while True:
            font = devanagari_font(points)
            layout = QTextLayout(text, font)
            formats = []
            start = 0
            for i, (ak, conf) in enumerate(self._items):
                fmt = QTextCharFormat()
                fmt.setForeground(confidence_color(conf))
                if conf < MEDIUM_CONFIDENCE:
                    fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
                    fmt.setUnderlineColor(QColor(COLOR_LOW))
                if i == self._hover:
                    fmt.setBackground(QColor(0, 0, 0, 18))
                r = QTextLayout.FormatRange()
                r.start, r.length, r.format = start, len(ak), fmt
                formats.append(r)
                start += len(ak)
            layout.setFormats(formats)
            layout.beginLayout()
            line = layout.createLine()
            line.setLineWidth(1_000_000)
            layout.endLayout()
            width = line.naturalTextWidth()
            if width <= self.width() - 16 or points <= MIN_TEXT_POINTS:
                break
            points = max(MIN_TEXT_POINTS, points * (self.width() - 16) / max(width, 1.0))
        x = max(8.0, (self.width() - width) / 2)
        y = max(0.0, (self.height() - line.height()) / 2)
        return layout, x, y

    def akshara_at(self, pos: QPointF) -> int:
        """Index of the akshara under ``pos`` (widget coordinates), or -1."""
        if not self._items:
            return -1
        layout, x, y = self._layout()
        line = layout.lineAt(0)
        if not (y <= pos.y() <= y + line.height()):
            return -1
        start = 0
        for i, (ak, _) in enumerate(self._items):
            x0 = x + line.cursorToX(start)[0]
            x1 = x + line.cursorToX(start + len(ak))[0]
            if min(x0, x1) <= pos.x() < max(x0, x1):
                return i
            start += len(ak)
        return -1

    def akshara_rect(self, index: int) -> QRectF:
        """Where akshara ``index`` is drawn (for tests and tooltips)."""
        layout, x, y = self._layout()
        line = layout.lineAt(0)
        start = sum(len(t) for t, _ in self._items[:index])
        x0 = x + line.cursorToX(start)[0]
        x1 = x + line.cursorToX(start + len(self._items[index][0]))[0]
        return QRectF(min(x0, x1), y, abs(x1 - x0), line.height())

    # -- events --

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        if not self._items:
            painter.setPen(self._message_color)
            painter.setFont(devanagari_font(13))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._message)
            return
        layout, x, y = self._layout()
        layout.draw(painter, QPointF(x, y))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        index = self.akshara_at(event.position())
        if index != self._hover:
            self._hover = index
            self.update()

    def leaveEvent(self, event) -> None:
        if self._hover != -1:
            self._hover = -1
            self.update()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            help_event: QHelpEvent = event  # type: ignore[assignment]
            index = self.akshara_at(QPointF(help_event.pos()))
            if index >= 0:
                QToolTip.showText(help_event.globalPos(), self.tooltip_for(index), self,
                                  self.akshara_rect(index).toAlignedRect())
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def tooltip_for(self, index: int) -> str:
        ak, conf = self._items[index]
        return f"{ak}  —  {confidence_percent(conf)} confidence"


class PageText(QTextBrowser):
    """A page's text, line by line; each word is a link and shows its confidence on hover."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.words: list[tuple[str, float]] = []  # in reading order, as linked ("word:<index>")

    def word_index(self, href: str) -> int:
        """Index of the word a link (``word:<index>``) points to, or -1."""
        if href.startswith("word:") and href[5:].isdigit() and int(href[5:]) < len(self.words):
            return int(href[5:])
        return -1

    def word_at(self, pos: QPointF) -> int:
        """Index of the word under ``pos`` (viewport coordinates), or -1."""
        return self.word_index(self.anchorAt(pos.toPoint()))

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            help_event: QHelpEvent = event  # type: ignore[assignment]
            index = self.word_at(QPointF(help_event.pos()))
            if index >= 0:
                text, conf = self.words[index]
                QToolTip.showText(help_event.globalPos(), f"{text}  —  {confidence_percent(conf)} confidence · "
                                  "click to select it on the image", self)
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)


class ResultPanel(QWidget):
    """Shows a :class:`Recognition`; the user corrects it and asks to save it as a sample."""

    saveRequested = Signal(str)   # the corrected label
    copied = Signal(str)
    paletteToggled = Signal(bool)
    wordActivated = Signal(int)   # index (reading order) of a word clicked in a page's text

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full_text: str | None = None  # what Copy copies when it is more than one line (a page)
        self._recognition: Recognition | None = None
        self._can_save = False
        self.text_view = AksharaText(self)
        self.page_view = PageText(self)
        self.page_view.setOpenLinks(False)
        self.page_view.setFont(devanagari_font(16))
        self.page_view.setMinimumHeight(150)
        self.page_view.setAccessibleName("Page text")
        self.page_view.anchorClicked.connect(self._on_anchor)
        self.page_view.hide()
        self.copy_button = QToolButton(self)
        self.copy_button.setIcon(icon("copy"))
        self.copy_button.setText("Copy")
        self.copy_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.copy_button.setToolTip("Copy the text (Ctrl+Shift+C)")
        self.copy_button.clicked.connect(self.copy_text)
        self.details = QLabel(self)
        self.details.setStyleSheet("color: #546e7a;")
        legend = QLabel(_legend("letter"), self)
        legend.setStyleSheet("color: #78909c;")
        self.alt_label = QLabel("Alternatives:", self)
        self.alt_label.setStyleSheet("color: #546e7a;")
        self.alt_row = QHBoxLayout()
        self.alt_row.setSpacing(6)
        self.chips: list[QPushButton] = []

        self.field = QLineEdit(self)
        self.field.setFont(devanagari_font(20))
        self.field.setPlaceholderText("सच्याउनुहोस् · Correct the text")
        self.field.setClearButtonEnabled(True)
        self.field.setAccessibleName("Correct text")
        self.field.returnPressed.connect(self.request_save)
        self.field.textChanged.connect(self._update_save)
        self.palette_button = QToolButton(self)
        self.palette_button.setText("क ख ग")
        self.palette_button.setFont(devanagari_font(11))
        self.palette_button.setCheckable(True)
        self.palette_button.setToolTip("Show the Devanagari letters (Ctrl+K)")
        self.palette_button.toggled.connect(self.set_palette_visible)
        self.save_button = QPushButton(icon("save"), "Save sample", self)
        self.save_button.setToolTip("Store the image with this text as a training sample (Ctrl+S or Enter)")
        self.save_button.clicked.connect(self.request_save)
        self.save_button.setDefault(True)
        self.palette = DevanagariPalette(self)
        self.palette.attach(self.field)
        self.palette.hide()

        top = QHBoxLayout()
        top.addWidget(self.text_view, 1)
        top.addWidget(self.page_view, 1)
        top.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignVCenter)
        info = QHBoxLayout()
        info.addWidget(self.details)
        info.addStretch(1)
        info.addWidget(legend)
        alts = QHBoxLayout()
        alts.addWidget(self.alt_label)
        alts.addLayout(self.alt_row)
        alts.addStretch(1)
        self.legend = legend
        edit = QHBoxLayout()
        edit.addWidget(self.field, 1)
        edit.addWidget(self.palette_button)
        edit.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addLayout(info)
        layout.addLayout(alts)
        layout.addLayout(edit)
        layout.addWidget(self.palette)
        self.clear()

    # -- state --

    def recognition(self) -> Recognition | None:
        return self._recognition

    def label(self) -> str:
        return self.field.text()

    def clear(self, message: str = "Write a word above, or open an image, and the text appears here.") -> None:
        self._recognition = None
        self._set_page_mode(False)
        self.text_view.set_message(message)
        self.details.setText("")
        self._set_alternatives([])
        self.field.clear()
        self.set_saveable(False)

    def show_pending(self, message: str = "Reading…") -> None:
        """Keep the last result visible but say that a new one is coming."""
        if self._recognition is None:
            self.text_view.set_message(message)
        self.details.setText(message)

    def show_failure(self, message: str) -> None:
        self._recognition = None
        self._set_page_mode(False)
        self.text_view.set_message(message, COLOR_LOW)
        self.details.setText("")
        self._set_alternatives([])

    def show_result(self, rec: Recognition) -> None:
        self._recognition = rec
        self._set_page_mode(False)
        if rec.text:
            self.text_view.set_graphemes([(g.text, g.confidence) for g in rec.graphemes])
            device = "CPU" if rec.device.lower() == "cpu" else rec.device
            self.details.setText(f"Confidence {confidence_percent(rec.confidence)} (weakest letter) · "
                                 f"read in {rec.ms:.0f} ms on {device}")
        else:
            self.text_view.set_message("No writing found in the image.")
            self.details.setText("")
        self._set_alternatives([a.text for a in rec.alternatives if a.text and a.text != rec.text])
        self.field.setText(rec.text)
        self.set_saveable(True)

    def show_page(self, rec: Recognition, lines: Sequence[Sequence[tuple[str, float]]]) -> None:
        """A read page: its lines of ``(word, confidence)`` as text, each word coloured and
        clickable; Copy copies it with its line breaks."""
        self._recognition = rec
        self.full_text = "\n".join(t for t in (" ".join(w for w, _ in ln if w) for ln in lines) if t)
        self._set_page_mode(True)
        self._set_alternatives([])
        self.field.clear()
        self.set_saveable(False)
        words = sum(1 for ln in lines for w, _ in ln if w)
        if not words:
            self.page_view.words = []
            self.page_view.setHtml(f'<p style="color:#78909c">{escape("No words found on the page.")}</p>')
            self.details.setText("")
            return
        html, index = [], 0
        self.page_view.words = [(w, c) for ln in lines for w, c in ln]
        for ln in lines:
            spans = []
            for text, conf in ln:
                if text:
                    style = f"color:{confidence_color(conf).name()}; text-decoration:none;"
                    if conf < MEDIUM_CONFIDENCE:
                        style += f" border-bottom: 1px dotted {COLOR_LOW};"
                    spans.append(f'<a href="word:{index}" style="{style}">{escape(text)}</a>')
                index += 1
            if spans:
                html.append("<p style='margin:0 0 4px 0'>" + " ".join(spans) + "</p>")
        self.page_view.setHtml("".join(html))
        low = sum(1 for ln in lines for w, c in ln if w and c < MEDIUM_CONFIDENCE)
        n_lines = len(html)  # lines with text
        device = "CPU" if rec.device.lower() == "cpu" else rec.device
        self.details.setText(f"{words} word{'s' if words != 1 else ''} in {n_lines} "
                             f"line{'s' if n_lines != 1 else ''}, {low} uncertain · read in "
                             f"{rec.ms / 1000:.1f} s on {device} · click a word to correct it")

    def is_page(self) -> bool:
        """Whether a page (not a word) is shown."""
        return not self.page_view.isHidden()

    def _set_page_mode(self, page: bool) -> None:
        if not page:
            self.full_text = None
        self.page_view.setVisible(page)
        self.text_view.setVisible(not page)
        for w in (self.field, self.palette_button, self.save_button):
            w.setVisible(not page)
        self.palette.setVisible(not page and self.palette_button.isChecked())
        self.legend.setText(_legend("word" if page else "letter"))

    def _on_anchor(self, url: QUrl) -> None:
        index = self.page_view.word_index(url.toString())
        if index >= 0:
            self.wordActivated.emit(index)

    def set_saveable(self, saveable: bool) -> None:
        """Whether there is an image the correction can be saved with."""
        self._can_save = saveable
        self._update_save()

    def can_save(self) -> bool:
        return self._can_save and bool(self.field.text().strip())

    def _update_save(self) -> None:
        self.save_button.setEnabled(self.can_save())

    def _set_alternatives(self, texts: list[str]) -> None:
        for chip in self.chips:
            self.alt_row.removeWidget(chip)
            chip.deleteLater()
        self.chips = []
        for text in texts[:5]:
            chip = QPushButton(text, self)
            chip.setObjectName("chip")
            chip.setFont(devanagari_font(14))
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.setToolTip(f"Use “{text}”")
            chip.setAutoDefault(False)
            chip.clicked.connect(lambda _c=False, t=text: self.use_alternative(t))
            self.alt_row.addWidget(chip)
            self.chips.append(chip)
        self.alt_label.setVisible(bool(texts))

    def use_alternative(self, text: str) -> None:
        self.field.setText(text)
        self.field.setFocus()

    # -- actions --

    def copy_text(self) -> None:
        text = self.full_text if self.full_text else (self.field.text() or self.text_view.text())
        if text:
            QGuiApplication.clipboard().setText(text)
            self.copied.emit(text)

    def request_save(self) -> None:
        if self.can_save():
            self.saveRequested.emit(self.field.text().strip())

    def set_palette_visible(self, visible: bool) -> None:
        self.palette.setVisible(visible)
        if self.palette_button.isChecked() != visible:
            self.palette_button.setChecked(visible)
            return
        if visible:
            self.field.setFocus()
        self.paletteToggled.emit(visible)

    def palette_visible(self) -> bool:
        return self.palette_button.isChecked()



def _legend(unit: str) -> str:
    return (f'<span style="color:{COLOR_HIGH}">●</span> ≥ {round(HIGH_CONFIDENCE * 100)} %&nbsp;&nbsp;'
            f'<span style="color:{COLOR_MEDIUM}">●</span> ≥ {round(MEDIUM_CONFIDENCE * 100)} %&nbsp;&nbsp;'
            f'<span style="color:{COLOR_LOW}">●</span> lower — hover a {unit} for its confidence')


def page_recognition(page: Any) -> Recognition:
    """A page's words as one result: its aksharas carry their word's confidence."""
    words = [w for w in getattr(page, "words", []) if w.text]
    graphemes: list[GraphemeConfidence] = []
    for i, word in enumerate(words):
        if i:
            graphemes.append(GraphemeConfidence(" ", 1.0))
        graphemes += [GraphemeConfidence(ak, float(word.confidence)) for ak in split_aksharas(word.text)]
    return Recognition(text=" ".join(w.text for w in words),
                       confidence=min((float(w.confidence) for w in words), default=0.0),
                       graphemes=graphemes, ms=float(getattr(page, "ms", 0.0)))
