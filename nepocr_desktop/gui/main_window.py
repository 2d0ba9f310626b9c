"""The main window: Write and Import tabs over a shared result panel, menus and status bar."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QIcon, QImage
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..lib.read.preprocess import ImageError
from ..lib.storage.library import ModelLibrary
from ..lib.storage.store import StoreError
from ..paths import bundled_model_path, user_data_dir
from .actions import make_actions, make_menus, step_text
from .banner import Banner
from .dialogs import PreferencesDialog, shortcuts_dialog, show_about
from .errors import plain_message, plural
from .image_view import IMAGE_FILTER, ImportPanel, mime_image
from .ink import Stroke
from .result_view import ResultPanel
from .session import PageReading, Session, SessionError, WordReading
from .settings import Settings
from .style import MEDIUM_CONFIDENCE, WINDOW_STYLE_SHEET, app_icon, devanagari_font, icon, word_color
from .workers import AUTO, DRAWINGS, PAGE, ModelSummary, RecognitionService
from .write_view import HandedOn, WritePanel

if TYPE_CHECKING:
    from ..lib.storage.store import SampleStore
    from .training_tab import TrainingTab

log = logging.getLogger("nepocr")

LEARN_TAB_DELAY_MS = 400  # the Learn tab is built this long after the model is ready


class MainWindow(QMainWindow):
    """Ties the views to the recognition service and the sample store.

    More views are added with :meth:`add_tab`; :meth:`store` is the shared sample store,
    :attr:`sampleSaved` tells other views about new samples and :meth:`start_model` switches
    to another model file.
    """

    sampleSaved = Signal(int)  # id of the new sample

    def __init__(self, service: RecognitionService, settings: Settings | None = None,
                 store_factory: Callable[[], SampleStore] | None = None) -> None:
        super().__init__()
        self.service = service
        self.settings = settings or Settings()
        self.session = Session(service, store_factory, self)
        self._shown: str | None = "canvas"
        self._restore: tuple[str, list[Stroke]] | None = None  # a correction to show again (see _undo_handing_on)
        self._model_args: tuple[str | None, str] = (None, self.settings.device)
        self.setWindowTitle("nepocr — handwritten Nepali to text")
        self.setWindowIcon(app_icon())
        self.setStyleSheet(WINDOW_STYLE_SHEET)
        self.actions: dict[str, QAction] = {}
        make_actions(self)

        self.banner = Banner(self)
        self.write = WritePanel(self.actions, self)
        self.importer = ImportPanel(self.actions, self)
        self.importer.enable_page_mode()
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        # Devanagari-first font, so the tab height leaves room for vowel signs above the line
        self.tabs.tabBar().setFont(devanagari_font(self.font().pointSizeF() + 0.5))
        self.add_tab(self.write, "Write  ·  लेख्नुहोस्", icon("pen"))
        self.add_tab(self.importer, "Import  ·  तस्बिर", icon("open"))
        self.library = ModelLibrary(user_data_dir() / "models", bundled_model_path())
        # The Learn tab needs torch; it is built once the worker has loaded the model (and torch).
        self.training: TrainingTab | None = None
        self._learn_placeholder = QLabel("Getting ready…", self)
        self._learn_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.learn_index = self.add_tab(self._learn_placeholder, "Learn  ·  सिकाइ")
        self.result = ResultPanel(self)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.result)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setChildrenCollapsible(False)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        # the banner floats over the bottom of the view: showing it moves nothing
        self.banner.setParent(central)
        self.banner.hide()
        central.installEventFilter(self)
        self.tabs.installEventFilter(self)
        self.banner.installEventFilter(self)
        make_menus(self)
        self._make_status_bar()
        self._connect()
        self._restore_settings()
        self._update_actions()

    # -- construction (the actions and menus: actions.py) --

    def _make_status_bar(self) -> None:
        status = self.statusBar()
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setFixedWidth(90)
        self.busy.setMaximumHeight(14)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.samples_label = QLabel("", self)
        self.device_label = QLabel("", self)
        self.model_label = QLabel("Loading model…", self)
        for widget in (self.busy, self.samples_label, self.device_label, self.model_label):
            status.addPermanentWidget(widget)

    def _connect(self) -> None:
        """Every connection between the views, the session and the service."""
        s = self.service
        s.modelLoading.connect(self._on_model_loading)
        s.modelProgress.connect(self.model_label.setText)
        s.modelReady.connect(self._on_model_ready)
        s.modelFailed.connect(self._on_model_failed)
        s.busyChanged.connect(self._on_busy)
        session = self.session
        session.changed.connect(self._on_reading_changed)
        session.pageEdited.connect(self._on_page_edited)
        session.wordSelected.connect(self._on_word_selected)
        session.wordRead.connect(self._on_word_read)
        session.sampleSaved.connect(self.sampleSaved)
        canvas = self.write.canvas
        canvas.recognizeRequested.connect(self._read_canvas)
        canvas.cleared.connect(self._on_canvas_cleared)
        canvas.historyChanged.connect(self._update_actions)
        canvas.clearUndone.connect(self._undo_handing_on)
        canvas.rubbingOutChanged.connect(self.actions["eraser"].setChecked)
        self.importer.recognizeRequested.connect(self._read_import)
        self.importer.droppedItem.connect(self._load_item)
        self.importer.wordClicked.connect(session.select_word)
        self.result.saveRequested.connect(self.save_sample)
        self.result.pageSaveRequested.connect(self.save_page_samples)
        self.result.wordActivated.connect(session.select_word)
        self.result.wordEdited.connect(self._on_word_edited)
        self.result.lineEdited.connect(self._on_line_edited)
        self.result.copied.connect(lambda t: self.statusBar().showMessage(f"Copied “{t}”", 4000))
        self.result.paletteToggled.connect(self._on_palette_toggled)
        self.result.field.textChanged.connect(lambda _text: self._update_actions())
        self.write.text.edit.textChanged.connect(self._keep_written_text)
        self.write.text.copied.connect(lambda t: self.statusBar().showMessage("Copied your text", 4000))
        self.tabs.currentChanged.connect(self._on_tab_changed)

    def add_tab(self, widget: QWidget, title: str, tab_icon: QIcon | None = None) -> int:
        """Add a view; views with a ``source_name`` attribute read images and use the result panel."""
        return self.tabs.addTab(widget, tab_icon or QIcon(), title)

    # -- settings --

    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1120, 800)
        splitter = s.splitter()
        if splitter is not None:
            self.splitter.restoreState(splitter)
        self.write.set_pen_width(s.pen_width)
        self.write.canvas.set_auto_delay(s.auto_delay)
        self.write.text.set_text(s.written_text)
        if s.palette_visible:
            self.toggle_palette(True)

    def _save_settings(self) -> None:
        s = self.settings
        s.set_geometry(self.saveGeometry())
        s.set_splitter(self.splitter.saveState())
        s.pen_width = self.write.canvas.pen_width
        s.palette_visible = self.result.palette_visible()
        s.sync()

    # -- model --

    def start_model(self, model_path: str | Path | None = None, device: str | None = None) -> None:
        """Load the model on the worker thread; the window stays usable meanwhile."""
        self._model_args = (None if model_path is None else str(model_path), device or self.settings.device)
        path = self._model_args[0]
        self._user_model = path is None and self.library.active_path() != self.library.bundled
        if path is None:  # the user's active model (checked when it loads), or the bundled one
            path = str(self.library.active_path())
        self.service.load(path, self._model_args[1], self.settings.beam, self.settings.lexicon)

    def _build_training_tab(self) -> None:
        """Replace the Learn placeholder with the real tab (torch is loaded by now)."""
        if self.training is not None or not self._learn_placeholder.text().startswith("Getting"):
            return  # built already (two models loaded in a row), or the store cannot be opened
        from .training_tab import TrainingTab

        try:
            tab = TrainingTab(self.store(), self.library, parent=self, settings=self.settings)
        except StoreError as exc:
            self._learn_placeholder.setText(f"The sample store cannot be opened: {exc}")
            return
        self.training = tab
        self.sampleSaved.connect(lambda *_: QTimer.singleShot(0, tab.check_background))
        tab.modelChanged.connect(lambda path: self.start_model(path))
        tab.samplesChanged.connect(self._update_sample_count)
        scroll = QScrollArea(self)  # the tab is tall; small screens scroll it
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(tab)
        current = self.tabs.currentIndex()
        self.tabs.removeTab(self.learn_index)
        self.tabs.insertTab(self.learn_index, scroll, "Learn  ·  सिकाइ")
        self.tabs.setCurrentIndex(current)
        self._learn_placeholder.deleteLater()

    def _on_model_loading(self) -> None:
        self.model_label.setText("Loading model…")
        self.model_label.setToolTip("")
        self.device_label.setText("")

    def _on_model_ready(self, summary: ModelSummary) -> None:
        if self.training is None:
            # a few tenths of a second (charts, training code): after the words asked for
            # while the model loaded, which the worker reads now, are shown
            QTimer.singleShot(LEARN_TAB_DELAY_MS, self, self._build_training_tab)
        if self.session.is_pending(self.current_source()):  # asked while the model loaded: read now
            self.result.show_pending("Reading…")
        log.info("model ready: %s on %s", summary.path, summary.runs_on)
        self.model_label.setText(f"Model: {summary.title}")
        self.model_label.setToolTip(summary.path)
        self.device_label.setText(f"Device: {summary.runs_on}")
        if self.banner.kind == "model":
            self.banner.hide()
        self._update_sample_count()

    def _on_model_failed(self, message: str) -> None:
        if getattr(self, "_user_model", False):  # a damaged personal model: go back to the bundled one
            self._user_model = False
            self.show_error(f"Your trained model could not be loaded ({message}); using the bundled "
                            "model instead.")
            self.banner.kind = "model"
            self.service.load(str(self.library.bundled), self._model_args[1], self.settings.beam,
                              self.settings.lexicon)
            return
        self.model_label.setText("No model loaded")
        self.show_error(f"The recognition model could not be loaded. {message} "
                        f"Use File ▸ Load model… to choose another model file.")
        self.banner.kind = "model"

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a model", self.settings.last_folder,
                                              "nepocr models (*.pt);;All files (*)")
        if path:
            self.start_model(path, self._model_args[1])

    # -- reading --

    def current_source(self) -> str | None:
        return getattr(self.tabs.currentWidget(), "source_name", None)

    def recognize_canvas(self) -> None:
        """Read the writing now (the canvas hands over its image)."""
        self.write.canvas.request_recognition()

    def _read_canvas(self, image: np.ndarray) -> None:
        label = None
        if self._restore is not None:  # the writing of an undone save: its correction comes back
            word, strokes = self._restore
            now = self.write.canvas.strokes()
            if len(now) == len(strokes) and all(a is b for a, b in zip(now, strokes)):
                label = word
            self._restore = None
        self.session.read("canvas", image, DRAWINGS, context={"source": "canvas"}, label=label)

    def _read_import(self, image: np.ndarray, context: dict) -> None:
        kind = {"page": PAGE, "auto": AUTO}.get(context.get("mode"), "words")
        self.session.read("import", image, kind, dict(context, source="import"))

    def recognize_now(self) -> None:
        if self.current_source() == "canvas":
            self.recognize_canvas()
        elif self.current_source() == "import":
            self.importer.request_recognition()

    def _on_reading_changed(self, channel: str) -> None:
        if channel == "import":
            self._show_page_boxes()
        if channel == self.current_source():
            self._show_channel(channel)

    def _show_channel(self, channel: str | None) -> None:
        """Show what the session holds for ``channel``: pending, failed, a word or a page."""
        session = self.session
        reading = session.reading(channel)
        failure = session.failure(channel)
        if session.is_pending(channel):
            self.result.show_pending("Waiting for the model to load…" if not self.service.ready else "Reading…")
        elif failure is not None:
            self.result.show_failure(failure)
        elif isinstance(reading, PageReading):
            self._show_page(reading)
        elif isinstance(reading, WordReading):
            self.result.show_result(reading.recognition)
            label = session.label(channel)
            if label is not None:
                self.result.field.setText(label)
        else:
            self.result.clear()
        self._update_actions()

    def _show_page(self, page: PageReading) -> None:
        lines = [[(page.text_of(i), float(page.words[i].confidence), page.state(i)) for i in ws]
                 for ws in page.lines()]
        self.result.show_page(lines, ms=float(page.result.ms), device=page.device,
                              selected=self.session.selected, to_save=len(page.to_save(True)))
        self.result.set_page_to_save(len(page.to_save(self.result.include_confirmed.isChecked())))

    def _show_page_boxes(self) -> None:
        """Outline the page's words on the image, coloured as in the text (none for a word)."""
        page = self.session.page
        if page is None:
            self.importer.view.show_boxes([])
            return
        dx, dy = page.offset
        boxes = [QRectF(w.box.x0 + dx, w.box.y0 + dy, w.box.x1 - w.box.x0, w.box.y1 - w.box.y0) for w in page.words]
        self.importer.view.show_boxes(boxes, self._box_colors(page))

    @staticmethod
    def _box_colors(page: PageReading) -> list:
        return [word_color(float(w.confidence), page.state(i)) for i, w in enumerate(page.words)]

    def _on_page_edited(self, _index: int) -> None:
        page = self.session.page
        if page is None:
            return
        self.importer.view.set_box_colors(self._box_colors(page))
        if self.current_source() == "import":
            self._show_page(page)

    def _on_word_selected(self, index: int) -> None:
        self.importer.view.highlight_box(index)
        if self.current_source() == "import" and self.session.page is not None:
            self._show_page(self.session.page)
            self.result.select_word(index)

    def _on_word_read(self, index: int) -> None:
        reading = self.session.word_reading
        page = self.session.page
        if reading is None or page is None:
            return
        alternatives = [a.text for a in reading.recognition.alternatives]
        alternatives += list(page.words[index].alternatives)
        self.result.set_word_alternatives(list(dict.fromkeys(alternatives)))

    def _on_word_edited(self, index: int, text: str) -> None:
        page = self.session.page
        if page is None:
            return
        self.session.correct_word(index, text)
        self._select_next(index)

    def _on_line_edited(self, line: int, text: str) -> None:
        page = self.session.page
        if page is None or line < 0:
            return
        try:
            self.session.correct_line(line, text)
        except SessionError as exc:
            self.show_info(str(exc))
            return
        self._select_next(page.lines()[line][-1])

    def _select_next(self, index: int) -> None:
        """After a word is done, the next one is ready to check (as in a transcription tool)."""
        page = self.session.page
        if page is not None and index + 1 < len(page):
            self.session.select_word(index + 1)
        else:
            self.session.deselect_word()
            self.statusBar().showMessage("The last word of the page is done. Save the corrections "
                                         "as samples (Ctrl+S) or export the page (Ctrl+E).", 6000)

    def export_page(self, path: str | Path | None = None) -> bool:
        """Write the page read, with its corrections, as .txt, .json or PAGE .xml (by the name)."""
        if self.session.page is None:
            self.show_info("Open a page first: its text can then be exported.")
            return False
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export the page", self.settings.last_folder,
                                                  "Plain text (*.txt);;JSON (*.json);;PAGE XML (*.xml)")
            if not path:
                return False
        path = Path(path)
        text = self.session.export_page(path.suffix)
        from ..lib.system.atomic import atomic_write

        try:
            atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        except OSError as exc:
            self.show_error(f"The page could not be saved to {path}: {exc.strerror or exc}.")
            return False
        self.statusBar().showMessage(f"Saved the page to {path}", 5000)
        return True

    def _on_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)

    def _on_canvas_cleared(self) -> None:
        self.session.clear("canvas")
        self._update_actions()

    def _on_tab_changed(self, _index: int) -> None:
        if (self._shown and self.result.recognition() is not None
                and isinstance(self.session.reading(self._shown), WordReading)):
            self.session.set_label(self._shown, self.result.label())  # keep an unsaved correction
        source = self.current_source()
        self._shown = source
        self.result.setVisible(source is not None)
        if source is not None:
            self._show_channel(source)
        self._update_actions()

    # -- images --

    def open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", self.settings.last_folder, IMAGE_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        """Show and read an image file; a file that cannot be read is reported in the window."""
        path = Path(path)
        self.settings.last_folder = str(path.parent)
        self.tabs.setCurrentWidget(self.importer)
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.importer.load_file(path)
        except ImageError as exc:
            self.show_error(f"This image cannot be opened: {plain_message(exc)}")
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self.banner.hide()
        self.statusBar().showMessage(f"Opened {path.name}", 4000)
        return True

    def paste_image(self) -> None:
        item = mime_image(QGuiApplication.clipboard().mimeData())
        if item is None:
            self.show_info("The clipboard holds no image. Copy an image (or an image file) first.")
            return
        self._load_item(item)

    def _load_item(self, item: Path | QImage) -> None:
        if isinstance(item, Path):
            self.open_path(item)
            return
        self.tabs.setCurrentWidget(self.importer)
        try:
            self.importer.load_qimage(item)
        except ImageError as exc:
            self.show_error(plain_message(exc))

    # -- edit --

    def clear_drawing(self) -> None:
        """Esc: leave the text field, then clear the drawing, or drop the word being edited
        and the selection on the image. A page read stays read."""
        focus = QApplication.focusWidget()
        if isinstance(focus, QLineEdit) and focus is self.result.field:
            if self.current_source() == "import":
                self.importer.view.setFocus()
            else:
                self.write.canvas.setFocus()  # first Esc leaves the text field
            return
        if self.current_source() == "canvas":
            self.write.canvas.clear()
        elif self.current_source() == "import":
            if self.session.selected >= 0:
                self.session.deselect_word()
            else:
                self.importer.view.clear_selection()

    def edit_text(self) -> None:
        """F2: the cursor in the correction field; on a page with no word picked, the first
        word still to check (the least sure first) is picked."""
        page = self.session.page
        if self.current_source() == "import" and page is not None and self.session.selected < 0 and len(page):
            todo = [i for i in range(len(page)) if not page.state(i)] or list(range(len(page)))
            self.session.select_word(min(todo, key=lambda i: (page.words[i].confidence >= MEDIUM_CONFIDENCE, i)))
        if self.result.isVisible():
            self.result.field.setFocus()
            self.result.field.selectAll()

    def set_rubbing_out(self, on: bool) -> None:
        """The Rub out tool on or off (the canvas turns it off itself once it is empty)."""
        self.write.canvas.set_rubbing_out(on)
        self.write.canvas.setFocus()

    def step_pen(self, delta: float) -> None:
        self.write.set_pen_width(self.write.canvas.pen_width + delta)
        self.statusBar().showMessage(f"Pen width {self.write.canvas.pen_width:g} px", 2000)

    def toggle_palette(self, visible: bool | None = None) -> None:
        if not isinstance(visible, bool):
            visible = not self.result.palette_visible()
        self.result.set_palette_visible(visible)

    def _on_palette_toggled(self, visible: bool) -> None:
        self.actions["palette"].setChecked(visible)

    def edit_preferences(self) -> None:
        dialog = PreferencesDialog(self.settings, self)
        if dialog.exec():
            reload = dialog.apply(self.settings)
            self.write.set_pen_width(self.settings.pen_width)
            self.write.canvas.set_auto_delay(self.settings.auto_delay)
            if reload:
                self.start_model(self._model_args[0], self.settings.device)

    # -- samples --

    def store(self) -> SampleStore:
        """The sample store, opened on first use."""
        return self.session.store()

    def save_sample(self, label: str | None = None) -> int | None:
        """Store the current image with the corrected text; returns the sample id. On a page,
        the page's corrections are saved instead."""
        channel = self.current_source()
        if channel == "import" and self.session.page is not None:
            ids = self.save_page_samples(self.result.include_confirmed.isChecked())
            return ids[-1] if ids else None
        if not isinstance(label, str):
            label = self.result.label().strip()
        try:
            sample_id = self.session.save_sample(channel or "", label)
        except SessionError as exc:
            self.show_info(str(exc))
            return None
        except StoreError as exc:
            self.show_error(plain_message(exc))
            return None
        total = self._update_sample_count()
        count = "" if total is None else f" — {plural(total, 'sample')} in all"
        added = ""
        if channel == "canvas":
            self.write.text.append_word(label)
            added = ", added to your text"
            # ready for the next word; Ctrl+Z brings it back and undoes the save
            self.write.canvas.clear(HandedOn(label.strip(), sample_id))
            self.write.canvas.setFocus()
        self.statusBar().showMessage(f"Saved sample {sample_id}: “{label.strip()}”{added}{count}", 6000)
        self.banner.hide()
        return sample_id

    def add_to_text(self) -> None:
        """Ctrl+Enter on the Write tab: the word (as corrected) goes on the end of the text below
        the canvas, without being saved as a sample, and the canvas is ready for the next word."""
        if self.current_source() != "canvas":
            return
        label = " ".join(self.result.label().split())
        if not label:
            self.show_info("There is no word to add yet: write one on the canvas first.")
            return
        self.write.text.append_word(label)
        self.statusBar().showMessage(f"Added “{label}” to your text", 4000)
        self.write.canvas.clear(HandedOn(label))  # Ctrl+Z brings the writing back, and takes the word off
        self.write.canvas.setFocus()

    def _undo_handing_on(self, mark: object) -> None:
        """Ctrl+Z after a word was saved or added to the text: the writing is back on the canvas,
        so the sample is removed, the word taken off the end of the text, and the correction
        shown again with the next reading of the writing."""
        if not isinstance(mark, HandedOn):
            return
        done = []
        if mark.sample_id is not None:
            try:
                removed = self.store().delete(mark.sample_id)
            except StoreError as exc:
                self.show_error(plain_message(exc))
                removed = 0
            if removed:
                done.append(f"sample {mark.sample_id} removed")
                self._update_sample_count()
                if self.training is not None:
                    self.training.samples_altered([mark.sample_id])
        if self.write.text.remove_last(mark.word):
            done.append(f"“{mark.word}” taken off your text")
        else:
            done.append("your text left as you edited it")
        self._restore = (mark.word, self.write.canvas.strokes())
        what = "Save undone" if mark.sample_id is not None else "Undone"
        self.statusBar().showMessage(f"{what}: {', '.join(done)}" if done else what, 6000)

    def _keep_written_text(self) -> None:
        """The text below the canvas is kept in the settings as it changes: it is there again
        after the app is closed, or ends without being closed."""
        self.settings.written_text = self.write.text.text()

    def save_page_samples(self, include_confirmed: bool = False) -> list[int]:
        """Store the page's corrected words (and the confirmed ones) as samples, all at once."""
        try:
            ids = self.session.save_page_samples(include_confirmed)
        except SessionError as exc:
            self.show_info(str(exc))
            return []
        except StoreError as exc:
            self.show_error(plain_message(exc))
            return []
        total = self._update_sample_count()
        count = "" if total is None else f" — {plural(total, 'sample')} in all"
        self.statusBar().showMessage(f"Saved {plural(len(ids), 'word')} of the page "
                                     f"as samples{count}", 6000)
        self.banner.hide()
        return ids

    def _update_sample_count(self) -> int | None:
        """Show how many samples there are, and give the reader their words (the personal
        word list follows every change of the store)."""
        try:
            total = int(self.store().count())
            labels = self.store().labels()
        except StoreError as exc:  # a damaged store is reported when saving
            log.info("sample count unavailable: %s", exc)
            return None
        self.samples_label.setText(f"Samples: {total}")
        self.service.set_user_words(labels)
        return total

    # -- messages --

    def show_error(self, message: str) -> None:
        """Show a problem in plain words at the top of the window."""
        self.banner.show_message(message, "error")

    def show_info(self, message: str) -> None:
        self.banner.show_message(message, "info", timeout_ms=6000)

    def show_shortcuts(self) -> None:
        shortcuts_dialog(list(self.actions.values()), self).exec()

    def show_about(self) -> None:
        samples = None
        try:
            samples = int(self.store().count())
        except StoreError as exc:
            log.info("sample count unavailable: %s", exc)
        show_about(self, self.service.summary, samples)

    # -- state --

    def _update_actions(self) -> None:
        source = self.current_source()
        canvas = self.write.canvas
        on_canvas = source == "canvas"
        self.actions["undo"].setEnabled(on_canvas and canvas.can_undo())
        self.actions["undo"].setText(step_text("Undo", canvas.next_undo()))
        self.actions["redo"].setText(step_text("Redo", canvas.next_redo()))
        self.actions["redo"].setEnabled(on_canvas and canvas.can_redo())
        self.actions["eraser"].setEnabled(on_canvas)
        self.actions["clear"].setEnabled(source is not None)
        on_import = source == "import"
        for name in ("zoom_in", "zoom_out", "zoom_fit", "zoom_actual"):
            self.actions[name].setEnabled(on_import)
        self.actions["recognize"].setEnabled(source is not None)
        self.actions["copy"].setEnabled(self.result.can_copy())
        self.actions["add_text"].setEnabled(on_canvas and bool(self.result.label().strip()))

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_settings()
        if self.training is not None:
            self.training.shutdown()
        self.service.shutdown()
        self.session.close()
        super().closeEvent(event)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.write.canvas.setFocus)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.Move,
                            QEvent.Type.LayoutRequest):
            self._place_banner()
        return super().eventFilter(watched, event)

    def _place_banner(self) -> None:
        """Float the banner over the bottom of the current view, full width."""
        banner, central = self.banner, self.centralWidget()
        if central is None or not banner.isVisible():
            return
        width = max(200, central.width() - 24)
        layout = banner.layout()
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else banner.sizeHint().height()
        height = max(height, banner.minimumSizeHint().height())
        bottom = self.tabs.mapTo(central, self.tabs.rect().bottomLeft()).y()
        banner.setGeometry(12, max(0, bottom - height - 10), width, height)
        banner.raise_()
