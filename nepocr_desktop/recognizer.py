"""Recognition of word and line images with a loaded model (no Qt needed).

A :class:`Recognizer` loads a model once and reads any number of images: they are
preprocessed one by one, sorted by width and run through the network in batches, then
decoded (greedy, or beam search with an optional word-list nudge). A bad image yields a
:class:`RecognitionFailure` in its place instead of stopping the batch.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from .lib.errors import NepocrError
from .lib.language.lexicon import Lexicon
from .lib.language.prior import LanguagePrior, default_prior
from .lib.read.branch import canvas_only
from .lib.read.charset import is_well_formed
from .lib.read.ctc_decoder import Decoded, akshara_confidences, beam_decode, greedy_decode
from .lib.read.int8cache import CacheKey, Int8Cache
from .lib.read.modelio import (
    LoadedModel,
    ModelInfo,
    float_inference_module,
    has_drawings_branch,
    int8_copy,
    load_model,
    read_info,
)
from .lib.read.preprocess import (
    RIGHT_MARGIN,
    ImageError,
    ImageSource,
    batch,
    is_clean_drawing,
    load_gray,
    looks_drawn,
    prepare,
)
from .lib.read.punctuation import MARK_CONFIDENCE, Trailing, keeps_mark, trailing_marks
from .lib.read.quantize import QuantizationError, calibration_images, quantize_with_reference
from .lib.read.results import Alternative, CharConfidence, GraphemeConfidence, Recognition, RecognitionFailure
from .lib.read.surer import reads_surer, second_is_surer
from .lib.system.memory import release_memory
from .paths import bundled_model_path, calibration_path, int8_cache_dir, lexicon_dir

log = logging.getLogger("nepocr")

LEXICON_BEAM = 8        # beam width used when a lexicon is asked for with beam 1
MAX_BATCH = 64          # images per forward pass
MAX_COLUMNS = 4_096     # batch size x padded width per forward pass (bounds memory)
WIDTH_STEP = 16         # batches are padded to a multiple of this width

Progress = Callable[[int, int, str], None]  # (step, of steps, what): loading's progress


class DeviceError(NepocrError, ValueError):
    """A device name that cannot be used here; the message is for users."""


def select_device(name: str = "auto") -> torch.device:
    """``auto`` (CUDA if available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device '{name}' was asked for, but no CUDA GPU is available "
                              "(use --device cpu or auto)")
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"device '{name}' does not exist ({torch.cuda.device_count()} GPU(s) found)")
        return dev
    raise DeviceError(f"unknown device '{name}' (use auto, cpu or cuda)")


def device_label(device: torch.device) -> str:
    """``cpu`` or the CUDA device's name."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type


def source_name(src: ImageSource) -> str:
    """How an input is named in messages."""
    if isinstance(src, (str, os.PathLike)):
        return str(src)
    if isinstance(src, bytes):
        return "image data"
    return type(src).__name__


class Recognizer:
    """Reads handwritten Nepali from images with one model on one device.

    ``confidence`` of a result is the lowest code-point confidence (the weakest character;
    0 for an empty reading, which is what an image without writing reads as, without the
    network); each code point's confidence is the highest posterior of its label over the
    frames aligned to it. ``alternatives`` lists the decoder's hypotheses,
    best first (the reading itself included) with their log-probabilities. ``lexicon=True``
    nudges the beam with the shipped word list and character language model
    (:func:`~nepocr_desktop.lib.language.prior.default_prior`); a :class:`Lexicon` or
    :class:`LanguagePrior` may be given instead. That needs beam search: with ``beam=1`` the
    beam is raised to ``LEXICON_BEAM``. On the CPU the network runs as an int8 copy unless
    ``int8`` is false or the copy cannot be made (``precision`` says which). Thread-safe.
    """

    def __init__(self, model_path: str | os.PathLike | None = None, device: str = "auto",
                 beam: int = 1, lexicon: bool | Lexicon | LanguagePrior = False, alternatives: int = 5,
                 int8: bool = True, progress: Progress | None = None, int8_cache: Int8Cache | None = None):
        """``progress(step, steps, what)`` is called as loading goes on (the network, its int8
        copy, the language model). The int8 copy is kept in ``int8_cache`` (default: the
        user's cache folder, :func:`~nepocr_desktop.paths.int8_cache_dir`); a copy made
        earlier for the same model file is loaded without loading the float network."""
        _check_beam(beam)
        dev = select_device(device)
        path = Path(model_path) if model_path is not None else bundled_model_path()
        use_int8 = int8 and dev.type == "cpu"
        step = _Steps(progress, ["network", *(["int8 copy"] if use_int8 else []),
                                 *(["language model"] if lexicon is True else [])])
        step("network")
        module, precision, info = self._network(path, dev, use_int8, int8_cache, step)
        drawings = None
        if has_drawings_branch(path):  # its own network reads drawings: loaded when first needed
            drawings = functools.partial(self._drawings_network, path, dev, use_int8, int8_cache)
        self._setup(info, str(path), dev, module, precision, beam, lexicon, alternatives, step, drawings)

    @staticmethod
    def _drawings_network(path: Path, dev: torch.device, use_int8: bool, int8_cache: Int8Cache | None
                          ) -> torch.nn.Module:
        """The module that reads drawings for a model file with its own network for them: an int8
        copy (cached beside the main network's, under its own key) where one can be made."""
        cache = key = None
        if use_int8:
            cache = int8_cache if int8_cache is not None else Int8Cache(int8_cache_dir())
            key = CacheKey.for_files(path, calibration_path())
            key = None if key is None else replace(key, recipe=key.recipe + "+drawings")
            if key is not None and cache.has(key) and not cache.refusal(key):
                info = read_info(path)
                module = cache.load(key, info.charset, Recognizer._calibration(info))
                if module is not None:
                    return module
        loaded = load_model(path, dev)
        assert loaded.drawings is not None
        if cache is not None and (key is None or not cache.refusal(key)):
            module = _make_int8(LoadedModel(loaded.drawings, loaded.info, loaded.path), cache, key)
            if module is not None:
                return module
        return float_inference_module(loaded.drawings, dev)

    @staticmethod
    def _network(path: Path, dev: torch.device, use_int8: bool, int8_cache: Int8Cache | None,
                 step: Callable[[str], None]) -> tuple[torch.nn.Module, str, ModelInfo]:
        """(the module that reads, its precision, the metadata)."""
        if not use_int8:
            loaded = load_model(path, dev)
            return float_inference_module(loaded.module, dev), "float32", loaded.info
        cache = int8_cache if int8_cache is not None else Int8Cache(int8_cache_dir())
        key = CacheKey.for_files(path, calibration_path())
        refused = cache.refusal(key) if key is not None else None
        if refused:  # this network was found to read differently in int8: no new attempt
            log.info("reading with the float network: %s", refused)
            loaded = load_model(path, dev)
            return float_inference_module(loaded.module, dev), "float32", loaded.info
        cached = key is not None and cache.has(key)
        info = read_info(path) if cached else None
        loaded = None if cached else load_model(path, dev)
        step("int8 copy")
        module = None
        if cached:
            assert key is not None and info is not None
            module = cache.load(key, info.charset, Recognizer._calibration(info))
        if module is None:
            loaded = loaded or load_model(path, dev)
            info = loaded.info
            module = _make_int8(loaded, cache, key)
        assert info is not None
        if module is None:  # the float network reads
            assert loaded is not None
            return float_inference_module(loaded.module, dev), "float32", info
        del loaded
        release_memory()  # the float network the int8 copy was made from (about 12 MB)
        return module, "int8", info

    @staticmethod
    def _calibration(info: ModelInfo) -> list[np.ndarray]:
        try:
            return calibration_images(info.preprocess, calibration_path())
        except QuantizationError:
            return []  # no calibration words: no cached copy passes its check

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, device: str | torch.device = "cpu", beam: int = 1,
                    lexicon: bool | Lexicon | LanguagePrior = False, alternatives: int = 5,
                    int8: bool = True) -> Recognizer:
        """Wrap a model that is already loaded (e.g. just fine-tuned) without reading it again
        (its int8 copy is made here, not cached: the network may not be the file's)."""
        _check_beam(beam)
        dev = device if isinstance(device, torch.device) else select_device(device)
        self = cls.__new__(cls)
        quantized = (int8_copy(loaded.module, loaded.info, calibration_path())
                     if int8 and dev.type == "cpu" else None)
        module = quantized if quantized is not None else float_inference_module(loaded.module, dev)
        drawings = None
        if loaded.drawings is not None:  # made when first needed, as for a model read from its file
            drawings = functools.partial(_reading_copy, loaded.drawings, loaded.info, dev, int8)
        self._setup(loaded.info, loaded.path, dev, module, "float32" if quantized is None else "int8",
                    beam, lexicon, alternatives, drawings=drawings)
        return self

    def _setup(self, info: ModelInfo, path: str, device: torch.device, module: torch.nn.Module, precision: str,
               beam: int, lexicon: bool | Lexicon | LanguagePrior, alternatives: int,
               step: Callable[[str], None] | None = None,
               drawings: torch.nn.Module | Callable[[], torch.nn.Module] | None = None) -> None:
        self._info, self._path = info, path
        self.device = device
        self.device_name = device_label(device)
        self._module = module
        # the network that reads drawings, for a model with its own (or what loads it on first use)
        self._drawings = drawings
        self._drawings_lock = threading.Lock()
        self._drawings_surer = drawings is not None and reads_surer(info.metadata)
        # images (not handed over as drawings) that look drawn go to that network too, unless it
        # reads only the Write tab's writing (lib/read/branch.py)
        self._drawings_for_images = drawings is not None and not canvas_only(info.metadata)
        self.precision = precision
        self._lock = threading.Lock()
        if lexicon is True and step is not None:
            step("language model")
        self.lexicon: Lexicon | LanguagePrior | None = (
            default_prior(lexicon_dir()) if lexicon is True else (lexicon or None))
        self._prior = self.lexicon if isinstance(self.lexicon, LanguagePrior) else None
        self._drawing_lexicon: Lexicon | LanguagePrior | None = self.lexicon
        self.set_user_words(())
        self.beam = max(int(beam), LEXICON_BEAM) if self.lexicon is not None else int(beam)
        self.alternatives = max(1, int(alternatives))

    def set_user_words(self, words: Iterable[str]) -> None:
        """Read the words of the user's corrections (``words``, and those the model learned
        from) as a personal word list: a reading that spells one gets a bonus. Only with a
        language prior (``lexicon=True``); safe to call while another thread reads."""
        if self._prior is not None:
            every = [*self.info.user_words, *words]
            prior = self._prior.with_user_words(every) if every else self._prior
            self.lexicon, self._drawing_lexicon = prior, prior.for_drawings()

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def model_path(self) -> Path:
        return Path(self._path)

    def warmup(self, runs: int = 2) -> None:
        """Read a synthetic image so the first real one is not slowed by one-time set-up
        (image plugins, TorchScript optimisation); call it from a worker thread in an app."""
        page = np.full((60, 240), 255, np.uint8)
        page[20:40, 20:220] = 0
        buf = io.BytesIO()
        Image.fromarray(page).save(buf, format="PNG")
        arr = prepare(buf.getvalue(), self.info.preprocess)
        for _ in range(runs):
            self._forward([arr])
            if self._drawings is not None:
                self._forward([arr], self._drawings_module())

    def recognize_one(self, image: ImageSource) -> Recognition:
        """Read one image; raise :class:`ImageError` if it cannot be read."""
        result = self.recognize([image])[0]
        if isinstance(result, RecognitionFailure):
            raise ImageError(result.message)
        return result

    def recognize(self, images: Sequence[ImageSource]) -> list[Recognition | RecognitionFailure]:
        """Read many images in batches; the output is in input order, one entry per input. With
        a model fine-tuned on drawings (:attr:`reads_drawings_apart`; not one whose network for
        drawings reads only the Write tab's writing, :func:`~.lib.read.branch.canvas_only`),
        images of ink on white without grey (drawings, black-and-white scans) are read by its
        network for drawings, or where fine-tuning chose so, by it and the general network, each
        keeping the reading of the surer of the two (:mod:`.lib.read.surer`)."""
        return self._read(images, self.lexicon, None)

    def recognize_drawings(self, images: Sequence[ImageSource]) -> list[Recognition | RecognitionFailure]:
        """Read pen or mouse drawings as the Write tab hands them over (drawn with the reading
        pen): as :meth:`recognize`, with the language prior's weights for drawings
        (:meth:`~nepocr_desktop.lib.language.prior.LanguagePrior.for_drawings`), and by the
        model's network for drawings where it has one (as :meth:`recognize` reads with it)."""
        return self._read(images, self._drawing_lexicon, True)

    def _drawings_module(self) -> torch.nn.Module:
        with self._drawings_lock:
            if self._drawings is not None and not isinstance(self._drawings, torch.nn.Module):
                self._drawings = self._drawings()  # loaded once, on first use (warmup() does it early)
            assert isinstance(self._drawings, torch.nn.Module)
            return self._drawings

    @property
    def reads_drawings_apart(self) -> bool:
        """Whether the model has its own network for drawings (fine-tuned on drawings, or one that
        reads the Write tab's writing)."""
        return self._drawings is not None

    def _read(self, images: Sequence[ImageSource], prior: Lexicon | LanguagePrior | None, drawn: bool | None
              ) -> list[Recognition | RecognitionFailure]:
        """``drawn``: True, every image is a drawing; None, tell each by its look: images of ink
        without grey go to the network for drawings (where the model has one that reads images),
        and writing rendered by software (:func:`looks_drawn`) is decoded with the weights for drawings.
        With a word list, an image that ends in a danda or a comma standing apart from the word
        (:func:`trailing_marks`) is also read without it, and the mark is kept where
        :func:`keeps_mark` says so (the first such way, where there are two)."""
        n = len(images)
        results: list[Recognition | RecognitionFailure | None] = [None] * n
        prepared: list[tuple[int, np.ndarray, float]] = []
        apart: set[int] = set()  # the images the network for drawings reads
        drawing_prior = self._drawing_lexicon if drawn is None else prior
        as_drawing: set[int] = set()  # the images decoded with drawing_prior
        marks: dict[int, list[tuple[int, Trailing]]] = {}  # image -> [(the entry of its word without the mark, the mark)]
        for i, src in enumerate(images):
            t0 = time.perf_counter()
            try:
                gray = load_gray(src)
                if self._drawings is not None and (drawn or (self._drawings_for_images and is_clean_drawing(gray))):
                    apart.add(i)
                if drawing_prior is not prior and looks_drawn(gray):
                    as_drawing.add(i)
                arr = prepare(gray, self.info.preprocess)
                found = trailing_marks(gray) if prior is not None and arr.any() else []
                words = [(prepare(np.ascontiguousarray(gray[:, :t.cut]), self.info.preprocess), t) for t in found]
            except ImageError as exc:
                results[i] = RecognitionFailure(_one_line(str(exc)))
                continue
            except (ValueError, OSError, MemoryError, cv2.error) as exc:
                results[i] = RecognitionFailure(_one_line(f"{source_name(src)}: cannot be read ({exc})"))
                continue
            if not arr.any():  # no ink at all (a blank or flat image): nothing to read
                ms = (time.perf_counter() - t0) * 1000.0
                results[i] = Recognition(text="", confidence=0.0, device=self.device_name, ms=round(ms, 3))
                continue
            prepared.append((i, arr, time.perf_counter() - t0))
            for word, trailing in words:
                if not word.any():
                    continue
                j = len(results)  # read beside the others, by the same network and weights
                marks.setdefault(i, []).append((j, trailing))
                prepared.append((j, word, 0.0))
                results.append(None)
                for chosen in (apart, as_drawing):
                    if i in chosen:
                        chosen.add(j)
        prepared.sort(key=lambda item: item[1].shape[1])
        groups = [(self._module, [p for p in prepared if p[0] not in apart])]
        if apart:
            groups.append((self._drawings_module(), [p for p in prepared if p[0] in apart]))
        for module, items in groups:
            for chunk in _chunks(items):
                t0 = time.perf_counter()
                logprobs = self._forward([arr for _, arr, _ in chunk], module)
                if module is not self._module and self._drawings_surer:  # the general network reads
                    # the drawings too, and each keeps the reading of the surer of the two (lib/read/surer.py)
                    general = self._forward([arr for _, arr, _ in chunk])
                    logprobs = [mine if second_is_surer(theirs, mine) else theirs
                                for theirs, mine in zip(general, logprobs)]
                shared = (time.perf_counter() - t0) / len(chunk)
                for (i, _, t_prep), lp in zip(chunk, logprobs):
                    t1 = time.perf_counter()
                    rec = self._decode(lp, drawing_prior if i in as_drawing else prior)
                    ms = (t_prep + shared + time.perf_counter() - t1) * 1000.0
                    results[i] = replace(rec, device=self.device_name, ms=round(ms, 3))
        for i, ways in marks.items():
            whole = results[i]
            used = drawing_prior if i in as_drawing else prior
            for j, trailing in ways:
                word_read = results[j]
                if (isinstance(whole, Recognition) and isinstance(word_read, Recognition) and used is not None
                        and keeps_mark(whole.text, word_read.text, used.knows, trailing.mark, trailing.apart)):
                    results[i] = _with_mark(word_read, trailing.mark, whole, max(1, self.alternatives))
                    break
        return results[:n]  # type: ignore[return-value]

    def _forward(self, arrays: list[np.ndarray], module: torch.nn.Module | None = None) -> list[np.ndarray]:
        x, widths = batch(arrays)
        # the margin, and blank columns up to a multiple of WIDTH_STEP: fewer distinct shapes
        # for the kernels, and none of the few where oneDNN's int8 convolutions are ~10x slow
        x = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, RIGHT_MARGIN + (-(x.shape[3] + RIGHT_MARGIN)) % WIDTH_STEP)))
        with self._lock, torch.inference_mode():
            lp, lengths = (module or self._module)(torch.from_numpy(x).to(self.device),
                                       torch.from_numpy(widths).to(self.device))
            lp = lp.float().cpu().numpy()
            lengths = lengths.cpu().numpy()
        return [lp[: int(n), j] for j, n in enumerate(lengths)]

    def _decode(self, logprobs: np.ndarray, prior: Lexicon | LanguagePrior | None) -> Recognition:
        if self.beam > 1:
            hyps = beam_decode(logprobs, self.beam, prior, charset=self.info.charset)
        else:
            hyps = [greedy_decode(logprobs)]
        chars = self.info.charset.shown
        best = _strip_spaces(hyps[0], chars)
        text = "".join(chars[k - 1] for k in best.labels)
        alts = []
        for h in hyps[: self.alternatives]:
            alt = "".join(chars[k - 1] for k in h.labels).strip()
            if all(a.text != alt for a in alts) and (not alts or is_well_formed(alt)):
                alts.append(Alternative(alt, round(h.score, 4)))
        return Recognition(
            text=text,
            confidence=min(best.confidences, default=0.0),
            chars=[CharConfidence(c, conf) for c, conf in zip(text, best.confidences)],
            graphemes=akshara_confidences(text, best.confidences),
            alternatives=alts,
        )


def _reading_copy(module: torch.nn.Module, info: ModelInfo, dev: torch.device, int8: bool) -> torch.nn.Module:
    """The module that reads with ``module``'s weights: an int8 copy on the CPU if one can be made."""
    quantized = int8_copy(module, info, calibration_path()) if int8 and dev.type == "cpu" else None
    return quantized if quantized is not None else float_inference_module(module, dev)


def _check_beam(beam: int) -> None:
    if int(beam) < 1:
        raise ValueError(f"beam must be at least 1 (got {beam})")


class _Steps:
    """Calls ``progress(i, n, what)`` for each step of loading, in order."""

    def __init__(self, progress: Progress | None, steps: list[str]):
        self._progress, self._steps = progress, steps

    def __call__(self, what: str) -> None:
        if self._progress is not None and what in self._steps:
            self._progress(self._steps.index(what) + 1, len(self._steps), what)


def _make_int8(loaded: LoadedModel, cache: Int8Cache, key: CacheKey | None) -> torch.nn.Module | None:
    """The int8 copy of a loaded network, recorded in ``cache``; None (logged) when it cannot
    be made, and the float network reads."""
    info = loaded.info
    try:
        images = calibration_images(info.preprocess, calibration_path())
    except QuantizationError as exc:  # a damaged install: not the network's fault, not recorded
        log.warning("reading with the float network: %s", exc)
        return None
    try:
        copy = quantize_with_reference(loaded.module, info.spec, info.charset, info.preprocess, images)
    except QuantizationError as exc:
        log.info("reading with the float network: %s", exc)
        if key is not None:
            cache.refuse(key, str(exc))
        return None
    except Exception as exc:  # noqa: BLE001 - any failure of quantization: the float model reads
        log.warning("reading with the float network (int8 copy failed: %s)", exc)
        return None
    if key is not None:
        cache.store(key, copy)
    return copy.module


def _with_mark(word: Recognition, mark: str, whole: Recognition, most: int) -> Recognition:
    """The reading of a word without the mark after it, with the mark: the mark's confidence
    is the shape rule's (:data:`MARK_CONFIDENCE`), and the reading of the whole image stays one
    of the (at most ``most``) alternatives."""
    alternatives = [Alternative(a.text + mark, a.score) for a in word.alternatives if a.text]
    if whole.text and all(a.text != whole.text for a in alternatives):
        score = whole.alternatives[0].score if whole.alternatives else 0.0
        alternatives = [*alternatives[:max(0, most - 1)], Alternative(whole.text, score)]
    return replace(word, text=word.text + mark, confidence=min(word.confidence, MARK_CONFIDENCE),
                   chars=[*word.chars, CharConfidence(mark, MARK_CONFIDENCE)],
                   graphemes=[*word.graphemes, GraphemeConfidence(mark, MARK_CONFIDENCE)],
                   alternatives=alternatives, ms=round(word.ms + whole.ms, 3))


def _strip_spaces(d: Decoded, chars: tuple[str, ...]) -> Decoded:
    """Drop leading and trailing space labels (with their confidences)."""
    keep = [j for j, k in enumerate(d.labels) if chars[k - 1] != " "]
    if not keep:
        return Decoded([], [], d.score)
    a, b = keep[0], keep[-1] + 1
    return Decoded(d.labels[a:b], d.confidences[a:b], d.score)


def _one_line(message: str) -> str:
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def _chunks(items: list[tuple[int, np.ndarray, float]]):
    """Consecutive runs (sorted by width) within the batch and column limits."""
    chunk: list[tuple[int, np.ndarray, float]] = []
    for item in items:
        width = item[1].shape[1]
        if chunk and (len(chunk) >= MAX_BATCH or (len(chunk) + 1) * (width + RIGHT_MARGIN) > MAX_COLUMNS):
            yield chunk
            chunk = []
        chunk.append(item)
    if chunk:
        yield chunk
