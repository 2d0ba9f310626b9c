"""The result panel: the text read, coloured by confidence, alternatives and the correction."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

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
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTextBrowser,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ..lib.page.text import join_words
from ..lib.read.results import Recognition
from .buttons import text_button
from .correction_field import CorrectionField
from .errors import plural
from .palette import DevanagariPalette
from .style import (
    COLOR_CORRECTED,
    COLOR_EDITING,
    COLOR_HIGH,
    COLOR_HINT,
    COLOR_LOW,
    COLOR_MEDIUM,
    COLOR_SECONDARY,
    HIGH_CONFIDENCE,
    MEDIUM_CONFIDENCE,
    confidence_color,
    confidence_percent,
    devanagari_font,
    icon,
    word_color,
)

TEXT_POINTS = 34.0
MIN_TEXT_POINTS = 14.0
VIEWS_HEIGHT = 150  # pixels for the reading: a word, or about four lines of a page


class AksharaText(QWidget):
    """The recognised text, one colour per akshara, with its confidence on hover."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: list[tuple[str, float]] = []
        self._message = ""
        self._message_color = QColor(COLOR_HINT)
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

    def set_message(self, message: str, color: str = COLOR_HINT) -> None:
        self._items = []
        self._message = message
        self._message_color = QColor(color)
        self._hover = -1
        self.setAccessibleDescription(message)
        self.update()

    def text(self) -> str:
        return "".join(t for t, _ in self._items)

    def message(self) -> str:
        """The message shown in place of a reading ("" while a reading is shown)."""
        return "" if self._items else self._message

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
    """Shows a word's :class:`Recognition` (corrected, then saved as a sample) or a read page,
    whose words are corrected one by one (or a line at a time) in the same field.

    Every row keeps its height whatever is shown, so the view above never moves.
    """

    saveRequested = Signal(str)        # the corrected label of a word
    copied = Signal(str)
    paletteToggled = Signal(bool)
    wordActivated = Signal(int)        # index (reading order) of a word clicked in a page's text
    wordEdited = Signal(int, str)      # a page word's new text (Enter in the field, or an alternative)
    lineEdited = Signal(int, str)      # a page line's new text
    pageSaveRequested = Signal(bool)   # save the page's corrections (and the confirmed words?)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full_text: str | None = None  # what Copy copies when it is more than one line (a page)
        self._recognition: Recognition | None = None
        self._can_save = False
        self._page_lines: list[list[int]] = []   # word indices of each line of the page shown
        self._page_texts: list[str] = []         # each word's text as shown
        self._selected = -1                      # the page word being edited
        self._to_save = 0                        # page words waiting to be saved
        self.text_view = AksharaText(self)
        self.page_view = PageText(self)
        self.page_view.setOpenLinks(False)
        self.page_view.setFont(devanagari_font(16))
        self.page_view.setAccessibleName("Page text")
        self.page_view.anchorClicked.connect(self._on_anchor)
        self.views = QStackedWidget(self)  # the word or the page, in the same room
        self.views.addWidget(self.text_view)
        self.views.addWidget(self.page_view)
        self._fit_views(palette=False)
        self.copy_button = text_button(self, "copy", "Copy", "Copy the text (Ctrl+Shift+C)", self.copy_text)
        self.details = QLabel(self)
        self.details.setStyleSheet(f"color: {COLOR_SECONDARY};")
        self.details.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.details.setFixedHeight(self.details.fontMetrics().height() + 2)
        legend = QLabel(_legend("letter"), self)
        legend.setStyleSheet(f"color: {COLOR_HINT};")
        legend.setFixedHeight(self.details.height())
        self.alt_label = QLabel("Alternatives:", self)
        self.alt_label.setStyleSheet(f"color: {COLOR_SECONDARY};")
        _keep_room(self.alt_label)
        self.alt_row = QHBoxLayout()
        self.alt_row.setSpacing(6)
        self.chips: list[QPushButton] = []

        ui_size = self.font().pointSizeF()
        self.field = CorrectionField(devanagari_font(20), devanagari_font(ui_size if ui_size > 0 else 10.0), self)
        self.field.setClearButtonEnabled(True)
        self.field.setAccessibleName("Correct text")
        self.field.returnPressed.connect(self._on_return)
        self.field.textChanged.connect(self._update_buttons)
        self.line_button = QToolButton(self)
        self.line_button.setText("Whole line")
        self.line_button.setCheckable(True)
        self.line_button.setToolTip("Correct the whole line of the selected word at once")
        self.line_button.toggled.connect(lambda _on: self._fill_field())
        _keep_room(self.line_button)
        self.palette_button = QToolButton(self)
        self.palette_button.setText("क ख ग")
        self.palette_button.setFont(devanagari_font(11))
        self.palette_button.setCheckable(True)
        self.palette_button.setToolTip("Show the Devanagari letters (Ctrl+K)")
        self.palette_button.toggled.connect(self.set_palette_visible)
        self.include_confirmed = QCheckBox("and the words I confirmed", self)
        self.include_confirmed.setToolTip("Also store the words you checked and left as read")
        self.include_confirmed.toggled.connect(lambda _on: self._update_buttons())
        _keep_room(self.include_confirmed)
        self.save_button = QPushButton(icon("save"), "Save sample", self)
        self.save_button.clicked.connect(self.request_save)
        self.save_button.setDefault(True)
        self.palette = DevanagariPalette(self)
        self.palette.attach(self.field)
        self.palette.hide()

        top = QHBoxLayout()
        top.addWidget(self.views, 1)
        top.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignVCenter)
        info = QHBoxLayout()
        info.addWidget(self.details, 1)
        info.addWidget(legend)
        alts_box = QWidget(self)  # as tall as a chip from the start: a result does not move anything
        alts = QHBoxLayout(alts_box)
        alts.setContentsMargins(0, 0, 0, 0)
        alts.addWidget(self.alt_label)
        alts.addLayout(self.alt_row)
        alts.addStretch(1)
        alts_box.setFixedHeight(max(self._chip("क").sizeHint().height(), self.alt_label.sizeHint().height()))
        self.alts_box = alts_box
        self.legend = legend
        edit = QHBoxLayout()
        edit.addWidget(self.field, 1)
        edit.addWidget(self.line_button)
        edit.addWidget(self.palette_button)
        edit.addWidget(self.include_confirmed)
        edit.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addLayout(info)
        layout.addWidget(alts_box)
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
        """A new reading has started: the last result goes (it is stale) and cannot be saved."""
        self.clear(message)
        self.details.setText(message)

    def show_failure(self, message: str) -> None:
        self.clear()
        self.text_view.set_message(message, COLOR_LOW)

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

    # -- a page --

    def show_page(self, lines: Sequence[Sequence[tuple]], ms: float = 0.0, device: str = "CPU",
                  selected: int = -1, to_save: int = 0) -> None:
        """A read page: its lines of ``(word, confidence[, state])`` as text, each word coloured
        (blue once corrected) and clickable; Copy copies it with its line breaks. ``selected``
        is the word being edited in the field, ``to_save`` the corrections not yet saved."""
        was_page = self.is_page()
        self._recognition = None
        items = [[(str(w[0]), float(w[1]), str(w[2]) if len(w) > 2 else "") for w in ln] for ln in lines]
        self.full_text = "\n".join(t for t in (join_words(w for w, _, _ in ln) for ln in items) if t)
        self._set_page_mode(True)
        self._page_texts = [w for ln in items for w, _, _ in ln]
        self._page_lines, index = [], 0
        for ln in items:
            self._page_lines.append(list(range(index, index + len(ln))))
            index += len(ln)
        self._to_save = to_save
        self.page_view.words = [(w, c) for ln in items for w, c, _ in ln]
        words = sum(1 for w in self._page_texts if w)
        scroll = self.page_view.verticalScrollBar().value() if was_page else 0
        if not words:
            self.page_view.setHtml(f'<p style="color:{COLOR_HINT}">{escape("No words found on the page.")}</p>')
            self.details.setText("")
        else:
            self.page_view.setHtml(self._page_html(items, selected))
            self.page_view.verticalScrollBar().setValue(scroll)
            low = sum(1 for ln in items for w, c, st in ln if w and not st and c < MEDIUM_CONFIDENCE)
            fixed = sum(1 for ln in items for w, _, st in ln if st == "corrected")
            n_lines = sum(1 for ln in items if any(w for w, _, _ in ln))
            device = "CPU" if device.lower() == "cpu" else device
            self.details.setText(f"{plural(words, 'word')} in {plural(n_lines, 'line')}, {low} uncertain, "
                                 f"{fixed} corrected · read in {ms / 1000:.1f} s on {device} · "
                                 "click a word to correct it")
        if selected != self._selected or not was_page:
            self._selected = selected
            self._set_alternatives([])
            self._fill_field()
        self._update_buttons()

    def _page_html(self, items: list[list[tuple[str, float, str]]], selected: int) -> str:
        html, index = [], 0
        for ln in items:
            spans = []
            for text, conf, state in ln:
                if text:
                    style = f"color:{word_color(conf, state).name()}; text-decoration:none;"
                    if not state and conf < MEDIUM_CONFIDENCE:
                        style += f" border-bottom: 1px dotted {COLOR_LOW};"
                    if index == selected:
                        style += f" background-color:{COLOR_EDITING};"
                    spans.append(f'<a href="word:{index}" style="{style}">{escape(text)}</a>')
                elif index == selected:
                    spans.append(f'<a href="word:{index}" style="background-color:{COLOR_EDITING};">&nbsp;?&nbsp;</a>')
                index += 1
            if spans:
                html.append("<p style='margin:0 0 4px 0'>" + " ".join(spans) + "</p>")
        return "".join(html)

    def selected_word(self) -> int:
        return self._selected

    def selected_line(self) -> int:
        return next((i for i, ws in enumerate(self._page_lines) if self._selected in ws), -1)

    def select_word(self, index: int) -> None:
        """Edit page word ``index`` in the field (-1: none)."""
        self._selected = index
        self._set_alternatives([])
        self._fill_field()
        if index >= 0:
            self.field.setFocus()
            self.field.selectAll()

    def set_word_alternatives(self, texts: Sequence[str]) -> None:
        """The other readings of the selected page word (chips that replace it)."""
        if self.is_page() and self._selected >= 0:
            current = self._page_texts[self._selected] if self._selected < len(self._page_texts) else ""
            self._set_alternatives([t for t in texts if t and t != current])

    def _fill_field(self) -> None:
        if not self.is_page():
            return
        index = self._selected
        if index < 0 or index >= len(self._page_texts):
            self.field.clear()
            self.field.setPlaceholderText("Click a word of the page, then correct it here")
            return
        if self.line_button.isChecked():
            line = self.selected_line()
            self.field.setText(" ".join(self._page_texts[i] for i in self._page_lines[line] if self._page_texts[i]))
            self.field.setPlaceholderText("सच्याउनुहोस् · Correct the line")
        else:
            self.field.setText(self._page_texts[index])
            self.field.setPlaceholderText("सच्याउनुहोस् · Correct the word")

    def _on_return(self) -> None:
        if not self.is_page():
            self.request_save()
        elif self._selected >= 0:
            if self.line_button.isChecked():
                self.lineEdited.emit(self.selected_line(), self.field.text())
            else:
                self.wordEdited.emit(self._selected, self.field.text())

    def is_page(self) -> bool:
        """Whether a page (not a word) is shown."""
        return self.views.currentWidget() is self.page_view

    def _set_page_mode(self, page: bool) -> None:
        if not page:
            self.full_text = None
            self._selected = -1
            self._page_lines, self._page_texts = [], []
            self.field.setPlaceholderText("सच्याउनुहोस् · Correct the text")
        self.views.setCurrentWidget(self.page_view if page else self.text_view)
        self.line_button.setVisible(page)
        self.include_confirmed.setVisible(page)
        self.save_button.setText("Save corrections as samples" if page else "Save sample")
        self.save_button.setToolTip(
            "Store every corrected word of the page as a training sample, all at once (Ctrl+S)" if page else
            "Store the image with this text as a training sample (Ctrl+S or Enter)")
        self.legend.setText(_legend("word" if page else "letter"))

    def _on_anchor(self, url: QUrl) -> None:
        index = self.page_view.word_index(url.toString())
        if index >= 0:
            self.wordActivated.emit(index)

    def set_saveable(self, saveable: bool) -> None:
        """Whether there is an image the correction can be saved with."""
        self._can_save = saveable
        self._update_buttons()

    def can_save(self) -> bool:
        if self.is_page():
            return self._to_save > 0
        return self._can_save and bool(self.field.text().strip())

    def set_page_to_save(self, count: int) -> None:
        self._to_save = count
        self._update_buttons()

    def can_copy(self) -> bool:
        """Whether Copy has text to copy (not while "No writing found" or a message is shown)."""
        return bool(self.full_text or self.field.text().strip() or self.text_view.text())

    def _update_buttons(self) -> None:
        self.save_button.setEnabled(self.can_save())
        self.copy_button.setEnabled(self.can_copy())

    def _chip(self, text: str) -> QPushButton:
        chip = QPushButton(text, self)
        chip.setObjectName("chip")
        chip.setFont(devanagari_font(14))
        chip.setCursor(Qt.CursorShape.PointingHandCursor)
        chip.setToolTip(f"Use “{text}”")
        chip.setAutoDefault(False)
        chip.hide()
        return chip

    def _set_alternatives(self, texts: list[str]) -> None:
        for chip in self.chips:
            self.alt_row.removeWidget(chip)
            chip.deleteLater()
        self.chips = []
        for text in texts[:5]:
            chip = self._chip(text)
            chip.clicked.connect(lambda _c=False, t=text: self.use_alternative(t))
            self.alt_row.addWidget(chip)
            chip.show()
            self.chips.append(chip)
        self.alt_label.setVisible(bool(texts))

    def use_alternative(self, text: str) -> None:
        if self.is_page() and self._selected >= 0:
            self.line_button.setChecked(False)
            self.field.setText(text)
            self.wordEdited.emit(self._selected, text)
            return
        self.field.setText(text)
        self.field.setFocus()

    # -- actions --

    def copy_text(self) -> None:
        text = self.full_text if self.full_text else (self.field.text() or self.text_view.text())
        if text:
            QGuiApplication.clipboard().setText(text)
            self.copied.emit(text)

    def request_save(self) -> None:
        if not self.can_save():
            return
        if self.is_page():
            self.pageSaveRequested.emit(self.include_confirmed.isChecked())
        else:
            self.saveRequested.emit(self.field.text().strip())

    def _fit_views(self, palette: bool) -> None:
        """The reading's room: enough for a few lines of a page, or, while the palette takes the
        room below, for one line of text (a page then scrolls)."""
        line = self.text_view.sizeHint().height()
        self.views.setFixedHeight(line if palette else max(VIEWS_HEIGHT, line))

    def set_palette_visible(self, visible: bool) -> None:
        self.palette.setVisible(visible)
        self._fit_views(palette=visible)
        if self.palette_button.isChecked() != visible:
            self.palette_button.setChecked(visible)
            return
        if visible:
            self.field.setFocus()
        self.paletteToggled.emit(visible)

    def palette_visible(self) -> bool:
        return self.palette_button.isChecked()


def _keep_room(widget: QWidget) -> None:
    """A widget that keeps its place in the layout while hidden."""
    policy = widget.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    widget.setSizePolicy(policy)


def _legend(unit: str) -> str:
    return (f'<span style="color:{COLOR_HIGH}">●</span> ≥ {round(HIGH_CONFIDENCE * 100)} %&nbsp;&nbsp;'
            f'<span style="color:{COLOR_MEDIUM}">●</span> ≥ {round(MEDIUM_CONFIDENCE * 100)} %&nbsp;&nbsp;'
            f'<span style="color:{COLOR_LOW}">●</span> lower'
            + (f'&nbsp;&nbsp;<span style="color:{COLOR_CORRECTED}">●</span> corrected' if unit == "word" else "")
            + f' — hover a {unit} for its confidence')
