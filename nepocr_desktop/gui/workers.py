"""Recognition off the GUI thread.

One :class:`RecognizerWorker` lives in a ``QThread``; it loads the model and reads images
there. Requests go through :class:`RecognitionService` on the GUI side. Each request has an
id and a channel (``"canvas"``, ``"import"``, ...): a channel holds at most one waiting
request, so a newer one replaces a stale one instead of queueing behind it, and a result that
arrives after a newer request was made on its channel is dropped.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from ..lib.errors import NepocrError
from ..lib.read.devices import DEFAULT_DEVICE
from ..lib.system.memory import settle_heap, trim_heap
from .errors import plain_message

if TYPE_CHECKING:
    from ..lib.read.preprocess import ImageSource
    from ..lib.read.results import LoadedReader, Recognition, RecognitionFailure
    from ..page import PageResult

    ReadResult = list[Recognition | RecognitionFailure] | PageResult  # words, or a whole page

log = logging.getLogger("nepocr")

WORDS = "words"  # every image is read as one word or line
PAGE = "page"    # one image is read as a page of words
AUTO = "auto"    # a page if several words are found on it, else one word
DRAWINGS = "drawings"  # every image is a drawing from the canvas, read as one word or line

SETTLE_AFTER_MS = 1500  # after a model is loaded: see lib.system.memory.settle_heap
RecognizerFactory = Callable[..., "LoadedReader"]  # (model_path, device, beam, lexicon[, progress])


@dataclass(frozen=True)
class Request:
    """One job for the worker; ``context`` is carried back untouched with the result."""

    id: int
    channel: str
    images: tuple[ImageSource, ...]
    kind: str = WORDS
    context: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ModelSummary:
    """What the status bar and About box say about the loaded model."""

    path: str
    device: str
    metadata: dict[str, Any]
    precision: str | None = None  # how the network runs: "int8" or "float32" (None if unknown)
    drawings_apart: bool = False  # the model reads drawings with a network of their own

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or Path(self.path).stem)

    @property
    def title(self) -> str:
        """``name · trained date`` (or the fine-tuning date for a personalised model)."""
        parts = [self.name]
        if self.metadata.get("finetuned"):
            parts.append(f"personalised {str(self.metadata['finetuned'])[:10]}")
        elif self.metadata.get("trained"):
            parts.append(f"trained {self.metadata['trained']}")
        if self.metadata.get("version"):
            parts.insert(1, f"v{self.metadata['version']}")
        return " · ".join(parts)

    @property
    def device_title(self) -> str:
        return "CPU" if self.device.lower() == "cpu" else self.device

    @property
    def runs_on(self) -> str:
        """The device and how the network runs on it, e.g. ``CPU · int8`` (status bar, About)."""
        return f"{self.device_title} · {self.precision}" if self.precision else self.device_title


def loading_message(step: int, steps: int, what: str) -> str:
    """The status bar's text while a model loads, e.g. ``Loading model… 2/3 int8 copy``."""
    return f"Loading model… {step}/{steps} {what}"


def default_factory(model_path: str | None, device: str, beam: int, lexicon: bool,
                    progress: Callable[[int, int, str], None] | None = None) -> LoadedReader:
    """Load a :class:`~nepocr_desktop.recognizer.Recognizer` and warm it up. On the CPU it
    reads with the int8 copy of the network, loaded from the user's cache folder (made there
    the first time, in about a second); ``progress(step, steps, what)`` follows the loading."""
    from ..recognizer import Recognizer

    recognizer = Recognizer(model_path, device=device, beam=beam, lexicon=lexicon, progress=progress)
    recognizer.warmup(runs=1)  # the int8 copy's check has run it already
    return recognizer


def summarize(recognizer: LoadedReader) -> ModelSummary:
    """What the GUI is told about a loaded recognizer (read on the worker thread)."""
    return ModelSummary(str(recognizer.model_path), recognizer.device_name, dict(recognizer.info.metadata),
                        recognizer.precision or None, recognizer.reads_drawings_apart)


def _takes_progress(factory: Callable[..., object]) -> bool:
    try:
        return "progress" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


class RecognizerWorker(QObject):
    """Owns the recognizer; every slot runs on the worker thread."""

    loaded = Signal(object)            # ModelSummary
    loadFailed = Signal(str)
    loadProgress = Signal(str)         # what is being loaded, for the status bar
    finished = Signal(object, object)  # Request, list of Recognition | RecognitionFailure (or a page)
    failed = Signal(object, str)       # Request, message
    _wake = Signal()
    _loadRequested = Signal(object)    # (model_path, device, beam, lexicon)
    _wordsChanged = Signal()

    def __init__(self, factory: RecognizerFactory | None = None) -> None:
        super().__init__()
        self._factory = factory or default_factory
        self._lock = threading.Lock()
        self._pending: dict[str, Request] = {}
        self._recognizer: LoadedReader | None = None
        self._load_error = ""
        self._user_words: tuple[str, ...] = ()
        self._wake.connect(self._drain)
        self._loadRequested.connect(self._load)
        self._wordsChanged.connect(self._apply_words)

    # -- called from any thread --

    def submit(self, request: Request) -> None:
        """Queue ``request``, replacing a request still waiting on the same channel."""
        with self._lock:
            self._pending.pop(request.channel, None)
            self._pending[request.channel] = request
        self._wake.emit()

    def discard(self, channel: str | None = None) -> list[Request]:
        """Drop the waiting request of ``channel`` (all channels for ``None``); return them."""
        with self._lock:
            if channel is None:
                dropped, self._pending = list(self._pending.values()), {}
            else:
                req = self._pending.pop(channel, None)
                dropped = [req] if req else []
        return dropped

    def request_load(self, model_path: str | None, device: str, beam: int, lexicon: bool) -> None:
        self._loadRequested.emit((model_path, device, beam, lexicon))

    def set_user_words(self, words: Iterable[str]) -> None:
        """The labels of the user's samples: read as a personal word list by this model and
        by any loaded later."""
        words = tuple(words)
        with self._lock:
            if words == self._user_words:  # a loaded reader has them already (or gets them on load)
                return
            self._user_words = words
        self._wordsChanged.emit()

    # -- worker thread --

    @Slot()
    def _apply_words(self) -> None:
        if self._recognizer is not None:
            with self._lock:
                words = self._user_words
            self._recognizer.set_user_words(words)

    @Slot(object)
    def _load(self, args: tuple[str | None, str, int, bool]) -> None:
        self._recognizer = None
        self._load_error = ""
        try:
            if _takes_progress(self._factory):
                recognizer = self._factory(
                    *args, progress=lambda *step: self.loadProgress.emit(loading_message(*step)))
            else:
                recognizer = self._factory(*args)
        except Exception as exc:  # a bad file, a missing GPU, a damaged install
            log.warning("model not loaded: %s", exc, exc_info=not isinstance(exc, NepocrError))
            self._load_error = plain_message(exc)
            self.loadFailed.emit(self._load_error)
            self._drain()
            return
        self._recognizer = recognizer
        self._apply_words()
        self.loaded.emit(summarize(recognizer))
        self._drain()

    @Slot()
    def _drain(self) -> None:
        if self._recognizer is None and self._load_error:
            for request in self.discard():
                self.failed.emit(request, "No model is loaded, so nothing can be read. "
                                          "Use File ▸ Load model… to choose a model file.")
            return
        while (reader := self._recognizer) is not None:
            with self._lock:
                if not self._pending:
                    return
                request = self._pending.pop(next(iter(self._pending)))
            self._run(reader, request)

    def _run(self, reader: LoadedReader, request: Request) -> None:
        try:
            if request.kind in (PAGE, AUTO):
                from .. import page  # type: ignore[attr-defined]

                if request.kind == AUTO:
                    got = page.read_any(reader, request.images[0])
                    result: ReadResult = got if isinstance(got, page.PageResult) else [got]
                else:
                    result = page.read_page(reader, request.images[0])
                trim_heap()  # a page's working arrays (tens of MB for a phone photo)
            elif request.kind == DRAWINGS:
                result = reader.recognize_drawings(list(request.images))
            else:
                result = reader.recognize(list(request.images))
        except Exception as exc:
            log.warning("recognition failed: %s", exc, exc_info=not isinstance(exc, NepocrError))
            self.failed.emit(request, plain_message(exc))
            return
        self.finished.emit(request, result)


class RecognitionService(QObject):
    """GUI-side front of the worker: request ids, latest-wins filtering and the thread."""

    modelLoading = Signal()
    modelProgress = Signal(str)        # e.g. "Loading model… 2/3 int8 copy"
    modelReady = Signal(object)        # ModelSummary
    modelFailed = Signal(str)
    recognized = Signal(object, object)  # Request, result
    failed = Signal(object, str)         # Request, message
    busyChanged = Signal(bool)

    def __init__(self, factory: RecognizerFactory | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._latest: dict[str, int] = {}
        self._waiting: set[str] = set()
        self.summary: ModelSummary | None = None
        self.loading = False
        self.dropped = 0  # stale results discarded (for diagnostics and tests)
        self._thread = QThread()
        self._thread.setObjectName("nepocr-recognizer")
        self._worker = RecognizerWorker(factory)
        self._worker.moveToThread(self._thread)
        self._worker.loaded.connect(self._on_loaded)
        self._worker.loadFailed.connect(self._on_load_failed)
        self._worker.loadProgress.connect(self._on_load_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._thread.start()

    @property
    def ready(self) -> bool:
        return self.summary is not None and not self.loading

    def precision(self) -> str | None:
        """How the loaded network runs ("int8" or "float32"; None if none is loaded), as the
        worker reported it with the model."""
        return None if self.summary is None else self.summary.precision

    @property
    def busy(self) -> bool:
        return bool(self._waiting)

    def load(self, model_path: str | Path | None = None, device: str = DEFAULT_DEVICE, beam: int = 1,
             lexicon: bool = False) -> None:
        """Load (or reload) a model on the worker; requests made meanwhile wait for it."""
        self.loading = True
        self.summary = None
        self.modelLoading.emit()
        self._worker.request_load(None if model_path is None else str(model_path), device,
                                  int(beam), bool(lexicon))

    def set_user_words(self, words: Iterable[str]) -> None:
        """Give the reader the labels of the user's samples (a personal word list)."""
        self._worker.set_user_words(words)

    def recognize(self, channel: str, images: Sequence[ImageSource], kind: str = WORDS,
                  context: dict[str, Any] | None = None) -> Request:
        """Ask for ``images`` to be read; a newer request on ``channel`` supersedes this one."""
        request = Request(next(self._ids), channel, tuple(images), kind, dict(context or {}))
        self._latest[channel] = request.id
        self._set_waiting(channel, True)
        self._worker.submit(request)
        return request

    def cancel(self, channel: str) -> None:
        """Forget the request of ``channel``: waiting or running, its result will be dropped."""
        self._worker.discard(channel)
        self._latest[channel] = 0
        self._set_waiting(channel, False)

    def is_current(self, request: Request) -> bool:
        return self._latest.get(request.channel) == request.id

    def shutdown(self) -> None:
        """Drop waiting requests and stop the thread (after the job it is running, if any)."""
        if not self._thread.isRunning():
            return
        self._worker.discard()
        self._thread.quit()
        self._thread.wait()

    def _set_waiting(self, channel: str, waiting: bool) -> None:
        before = self.busy
        (self._waiting.add if waiting else self._waiting.discard)(channel)
        if self.busy != before:
            self.busyChanged.emit(self.busy)

    def _on_loaded(self, summary: ModelSummary) -> None:
        self.summary = summary
        self.loading = False
        self.modelReady.emit(summary)
        # once the first readings are shown, the collector's full walks skip the model. On this (the
        # GUI) thread: a collection may finalize the window's objects, which belong to it
        QTimer.singleShot(SETTLE_AFTER_MS, self, settle_heap)

    def _on_load_progress(self, message: str) -> None:
        if self.loading:
            self.modelProgress.emit(message)

    def _on_load_failed(self, message: str) -> None:
        self.loading = False
        self.modelFailed.emit(message)

    def _answered(self, request: Request) -> bool:
        """Whether the answer to ``request`` is still wanted (it is the latest on its channel);
        its channel stops waiting if so, else it counts as dropped."""
        if not self.is_current(request):
            self.dropped += 1
            return False
        self._set_waiting(request.channel, False)
        return True

    def _on_finished(self, request: Request, result: ReadResult) -> None:
        if self._answered(request):
            self.recognized.emit(request, result)

    def _on_failed(self, request: Request, message: str) -> None:
        if self._answered(request):
            self.failed.emit(request, message)
