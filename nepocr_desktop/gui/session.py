"""The reading session: what was read on each view, the user's corrections, samples and exports.

:class:`Session` holds no widgets. The views hand it images to read; it asks the
:class:`~.workers.RecognitionService`, keeps one typed reading per channel
(:class:`WordReading` or :class:`PageReading`, or a :class:`ReadFailure`) and tells the window
what changed with its signals. A page stays read until the user asks for another reading: its
words are corrected one by one (or a line at a time), every word read alone again uses the crop
and decoding of the page, and the corrections are saved as samples in one transaction and carried
into the exports (and into a later reading of the same page).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..lib.errors import NepocrError
from ..lib.read.results import Recognition, RecognitionFailure
from ..lib.storage.store import DB_NAME, SampleStore
from ..paths import user_data_dir
from .errors import plural
from .workers import WORDS, RecognitionService, Request

if TYPE_CHECKING:
    from ..page import PageResult, WordResult
    from .workers import ReadResult

log = logging.getLogger("nepocr")

WORD_CHANNEL = "page-word"  # a word of the page read again alone (the page stays)
IMPORT = "import"
MIN_IOU = 0.5  # a word of a new reading of a page is the same word when its box overlaps this much


def user_sample_store() -> SampleStore:
    """The user's sample store, in the user's data folder."""
    return SampleStore(user_data_dir() / DB_NAME)


class SessionError(NepocrError):
    """Something the user asked for cannot be done now; the message says why, in plain words."""


@dataclass(frozen=True)
class WordReading:
    """One image read as a word or line."""

    channel: str
    request_id: int
    image: np.ndarray
    recognition: Recognition
    source: str                                   # sample source: "canvas", "import" or "page"
    meta: dict[str, Any] = field(default_factory=dict)   # file, region, name (stored with a sample)

    @property
    def text(self) -> str:
        return self.recognition.text


@dataclass(frozen=True)
class ReadFailure:
    """Why an image could not be read."""

    channel: str
    request_id: int
    message: str


@dataclass
class PageReading:
    """A page read word by word, with the user's corrections.

    ``result`` is the page as read (a :class:`~nepocr_desktop.page.PageResult`); words are
    numbered in reading order. ``corrections`` maps a word to the text the user typed,
    ``confirmed`` holds the words the user checked and left as read, ``saved`` the sample id
    and label each saved word was stored with.
    """

    channel: str
    request_id: int
    image: np.ndarray                        # the gray image the page was read from
    result: PageResult
    file: str | None = None
    name: str = "page"
    offset: tuple[int, int] = (0, 0)         # where the image read starts on the image shown
    device: str = "cpu"
    corrections: dict[int, str] = field(default_factory=dict)
    confirmed: set[int] = field(default_factory=set)
    saved: dict[int, tuple[int, str]] = field(default_factory=dict)

    @property
    def words(self) -> list[WordResult]:
        """The words as read (WordResult), in reading order."""
        return self.result.words

    def __len__(self) -> int:
        return len(self.words)

    def text_of(self, index: int) -> str:
        """A word's text: the user's correction, or what was read."""
        return self.corrections.get(index, self.words[index].text)

    def state(self, index: int) -> str:
        """``"corrected"``, ``"confirmed"`` or ``""`` (as read)."""
        if index in self.corrections:
            return "corrected"
        return "confirmed" if index in self.confirmed else ""

    def lines(self) -> list[list[int]]:
        """The word indices of each line."""
        out, index = [], 0
        for line in self.result.lines:
            out.append(list(range(index, index + len(line.words))))
            index += len(line.words)
        return out

    def set_text(self, index: int, text: str) -> None:
        """Word ``index`` reads ``text``: a correction, or a confirmation if that is what was read."""
        if text == self.words[index].text:
            self.corrections.pop(index, None)
            self.confirmed.add(index)
        else:
            self.corrections[index] = text
            self.confirmed.discard(index)

    def corrected(self) -> PageResult:
        """The page with the corrections in its text (what is exported)."""
        return self.result.with_corrections(self.corrections)

    @property
    def text(self) -> str:
        return self.corrected().text

    def to_save(self, include_confirmed: bool = False) -> list[int]:
        """Words whose current text is not yet stored as a sample."""
        keep = set(self.corrections) | (self.confirmed if include_confirmed else set())
        return [i for i in sorted(keep)
                if self.text_of(i).strip() and self.saved.get(i, (0, None))[1] != self.text_of(i)]


Reading = WordReading | PageReading


class Session(QObject):
    """Owns the readings, the corrections, the current page; saves samples and exports."""

    changed = Signal(str)        # a channel's reading, failure or pending state changed
    pageEdited = Signal(int)     # a word of the page changed (its index; -1 for several)
    wordSelected = Signal(int)   # the page word being edited (-1: none)
    wordRead = Signal(int)       # the selected word was read again alone (its alternatives are known)
    sampleSaved = Signal(int)    # id of a new sample

    def __init__(self, service: RecognitionService, store_factory: Callable[[], SampleStore] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self._store_factory = store_factory or user_sample_store
        self._store: SampleStore | None = None
        self._readings: dict[str, Reading | ReadFailure] = {}
        self._pending: dict[str, Request] = {}
        self._labels: dict[str, str] = {}
        self._previous_page: PageReading | None = None
        self.selected = -1                       # the page word being edited
        self.word_reading: WordReading | None = None  # the selected word, read alone
        self._first_shown = False
        service.recognized.connect(self._on_recognized)
        service.failed.connect(self._on_failed)

    # -- state --

    def reading(self, channel: str | None) -> Reading | None:
        """The last reading of ``channel`` (None while a new one is pending, or after a failure)."""
        got = self._readings.get(channel) if channel else None
        return None if isinstance(got, ReadFailure) else got

    def failure(self, channel: str | None) -> str | None:
        got = self._readings.get(channel) if channel else None
        return got.message if isinstance(got, ReadFailure) else None

    def is_pending(self, channel: str | None) -> bool:
        return channel in self._pending

    def request(self, channel: str) -> Request | None:
        """The request waiting for a result on ``channel``."""
        return self._pending.get(channel)

    @property
    def page(self) -> PageReading | None:
        """The page read on the Import view, if the last reading there was a page."""
        got = self._readings.get(IMPORT)
        return got if isinstance(got, PageReading) else None

    def label(self, channel: str) -> str | None:
        """An unsaved correction of a word reading (kept while another view is shown)."""
        return self._labels.get(channel)

    def set_label(self, channel: str, text: str) -> None:
        self._labels[channel] = text

    # -- reading --

    def read(self, channel: str, image: np.ndarray, kind: str = WORDS, context: dict | None = None,
             label: str | None = None) -> Request:
        """Read ``image`` on ``channel``: the channel's previous reading is dropped at once.
        ``label``: a correction already made of this image, shown with the reading."""
        old = self._readings.pop(channel, None)
        if isinstance(old, PageReading):
            self._previous_page = old  # its corrections are carried into a new reading of the page
        if channel == IMPORT:
            self._drop_selection()
        self._labels.pop(channel, None)
        if label is not None:
            self._labels[channel] = label
        request = self.service.recognize(channel, [image], kind, context)
        self._pending[channel] = request
        self.changed.emit(channel)
        return request

    def clear(self, channel: str) -> None:
        """Forget ``channel``'s reading and any request still running for it."""
        self.service.cancel(channel)
        self._pending.pop(channel, None)
        self._labels.pop(channel, None)
        if self._readings.pop(channel, None) is not None or channel == IMPORT:
            self._drop_selection()
        self.changed.emit(channel)

    def _on_recognized(self, request: Request, result: ReadResult) -> None:
        if request.channel == WORD_CHANNEL:
            self._on_word_read(request, result)
            return
        self._pending.pop(request.channel, None)
        context = request.context
        meta = {k: v for k, v in context.items() if k in ("file", "region", "name")}
        source = str(context.get("source", request.channel))
        if isinstance(result, list):  # words: one result per image
            first = result[0] if result else None
            if isinstance(first, Recognition):
                reading: Reading | ReadFailure = WordReading(request.channel, request.id, request.images[0],
                                                             first, source, meta)
            else:
                why = first.message if isinstance(first, RecognitionFailure) else "The image could not be read."
                reading = ReadFailure(request.channel, request.id, why)
        else:  # a page (asked for, or found by the automatic mode)
            region = context.get("region")
            reading = PageReading(request.channel, request.id, request.images[0], result,
                                  file=context.get("file"), name=str(context.get("name") or "page"),
                                  offset=(int(region[0]), int(region[1])) if region else (0, 0),
                                  device=self.service.summary.device_title if self.service.summary else "CPU")
            self._carry_corrections(reading)
        self._readings[request.channel] = reading
        if not self._first_shown and not isinstance(reading, ReadFailure):
            self._first_shown = True
            log.info("first result shown (%s)", request.channel)
        self.changed.emit(request.channel)

    def _on_failed(self, request: Request, message: str) -> None:
        if request.channel == WORD_CHANNEL:
            return
        self._pending.pop(request.channel, None)
        self._readings[request.channel] = ReadFailure(request.channel, request.id, message)
        self.changed.emit(request.channel)

    def _carry_corrections(self, page: PageReading) -> None:
        """Keep the user's work on a page read again (after learning, or in another mode)."""
        old, self._previous_page = self._previous_page, None
        if old is None or old.file != page.file or old.image.shape != page.image.shape or old.offset != page.offset:
            return
        for i, word in enumerate(old.words):
            if not (old.state(i) or i in old.saved):
                continue
            best = max(range(len(page)), key=lambda j: word.box.iou(page.words[j].box), default=-1)
            if best < 0 or word.box.iou(page.words[best].box) < MIN_IOU:
                continue
            text = old.text_of(i)
            if text != page.words[best].text:
                page.corrections[best] = text
            elif old.state(i):
                page.confirmed.add(best)
            if i in old.saved:
                page.saved[best] = old.saved[i]

    # -- the page being corrected --

    def select_word(self, index: int) -> None:
        """Make word ``index`` of the page the one being edited and read it again alone
        (with the page's crop and decoding) for its alternatives; -1 selects none."""
        page = self.page
        if page is None or not 0 <= index < len(page):
            self._drop_selection()
            return
        self.selected = index
        self.word_reading = None
        self.wordSelected.emit(index)
        from ..page import crop_word

        crop = crop_word(page.image, page.result.page, index)
        self.service.recognize(WORD_CHANNEL, [crop], WORDS, {"word": index, "page": page.request_id})

    def _drop_selection(self) -> None:
        self.service.cancel(WORD_CHANNEL)
        self.word_reading = None
        if self.selected != -1:
            self.selected = -1
            self.wordSelected.emit(-1)

    def deselect_word(self) -> None:
        self._drop_selection()

    def _on_word_read(self, request: Request, result: ReadResult) -> None:
        page = self.page
        first = result[0] if isinstance(result, list) and result else None
        if (page is None or request.context.get("page") != page.request_id
                or request.context.get("word") != self.selected or not isinstance(first, Recognition)):
            return
        self.word_reading = WordReading(WORD_CHANNEL, request.id, request.images[0], first, "page",
                                        {"word": self.selected})
        self.wordRead.emit(self.selected)

    def correct_word(self, index: int, text: str) -> None:
        """Set word ``index``'s text; the text read counts as confirmed, not as a correction."""
        page = self._need_page()
        page.set_text(index, " ".join(str(text).split()))
        self.pageEdited.emit(index)

    def confirm_word(self, index: int) -> None:
        """The word is right as it is shown."""
        page = self._need_page()
        if index not in page.corrections:
            page.confirmed.add(index)
            self.pageEdited.emit(index)

    def correct_line(self, line: int, text: str) -> None:
        """Correct a whole line: its words get the typed words in order (as many as it has)."""
        page = self._need_page()
        indices = page.lines()[line]
        tokens = str(text).split()
        if len(tokens) != len(indices):
            raise SessionError(f"This line has {plural(len(indices), 'word')} on the "
                               f"image; type as many, separated by spaces ({len(tokens)} typed), or "
                               "correct its words one by one.")
        for i, token in zip(indices, tokens):
            page.set_text(i, token)
        self.pageEdited.emit(-1)

    def _need_page(self) -> PageReading:
        page = self.page
        if page is None:
            raise SessionError("Open a page first: its words can then be corrected.")
        return page

    # -- samples --

    def store(self) -> SampleStore:
        """The sample store, opened on first use."""
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def save_sample(self, channel: str, label: str) -> int:
        """Store ``channel``'s image with ``label``; raises SessionError or StoreError."""
        reading = self.reading(channel)
        if isinstance(reading, PageReading):
            raise SessionError("A sample is one word: correct the page's words, then save the corrections.")
        if reading is None:
            raise SessionError("There is nothing to save yet: write a word or open an image first.")
        label = label.strip()
        if not label:
            raise SessionError("Type the correct text before saving.")
        meta = dict(reading.meta, confidence=round(float(reading.recognition.confidence), 4))
        if self.service.summary is not None:
            meta["model"] = self.service.summary.name
        sample_id = int(self.store().add(reading.image, label, prediction=reading.text,
                                         source=reading.source, meta=meta))
        self._labels.pop(channel, None)
        self.sampleSaved.emit(sample_id)
        return sample_id

    def save_page_samples(self, include_confirmed: bool = False) -> list[int]:
        """Store every corrected word of the page (and the confirmed ones if asked) as samples,
        in one transaction; a word saved before with another text replaces its sample."""
        page = self._need_page()
        todo = page.to_save(include_confirmed)
        if not todo:
            raise SessionError("There are no new corrections to save: correct a word first "
                               "(click it, type the right text and press Enter).")
        from ..page import crop_words

        crops = crop_words(page.image, page.result.page, indices=todo)
        model = self.service.summary.name if self.service.summary is not None else None
        items = []
        for i, crop in zip(todo, crops):
            word = page.words[i]
            meta: dict[str, Any] = {"word": i, "box": [word.box.x0 + page.offset[0], word.box.y0 + page.offset[1],
                                                      word.box.x1 + page.offset[0], word.box.y1 + page.offset[1]],
                                    "confidence": round(float(word.confidence), 4), "name": page.name}
            if page.file:
                meta["file"] = page.file
            if model:
                meta["model"] = model
            items.append((crop, page.text_of(i), word.text, meta))
        replace = [page.saved[i][0] for i in todo if i in page.saved]
        ids = [int(i) for i in self.store().add_many(items, source="page", replace=replace)]
        for i, sample_id in zip(todo, ids):
            page.saved[i] = (sample_id, page.text_of(i))
        for sample_id in ids:
            self.sampleSaved.emit(sample_id)
        self.pageEdited.emit(-1)
        return ids

    # -- export --

    def export_page(self, suffix: str) -> str:
        """The page's text with the corrections, as ``.txt``, ``.json`` or PAGE ``.xml``."""
        page = self._need_page()
        filename = Path(page.file).name if page.file else f"{page.name}.png"
        result = replace(page.corrected(), image_filename=filename)
        suffix = suffix.lower()
        if suffix == ".json":
            return result.to_json()
        if suffix == ".xml":
            return result.to_pagexml()
        return result.text + "\n"
