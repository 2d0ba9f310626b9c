"""Reading a whole page: segment it into words, read every word, keep text with positions.

:func:`read_page` (and :func:`read_any`, which decides between a page and one word as the app's
automatic mode does) works with any recognizer whose ``recognize(images)`` returns one result per
image in order, each with ``text`` and ``confidence`` (a result without them, such as a
failure with a ``message``, counts as an unread word).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .lib.page.containers import Box, Page, Point
from .lib.page.pagexml import page_to_xml
from .lib.page.segment import segment_page
from .lib.page.text import join_words
from .lib.read.preprocess import ImageSource, load_gray
from .lib.read.punctuation import MARK_CONFIDENCE, danda
from .lib.read.results import Reader, Recognition, RecognitionFailure

MARGIN = 0.12   # crop margin around a word, as a fraction of its height
# read_any: layouts of at most this many words and lines are also read whole. On word photos of
# the training writers and printed words (2,100, of which the page finder split 51) and on lines
# and stacks of lines joined from them (600), the rule of read_any read 45 of the 51 as a word, and
# 8 of 300 lines (read whole then, as lines are) and 1 of 300 stacks as one reading.
SMALL_LAYOUT = (12, 3)


@dataclass(frozen=True)
class WordResult:
    text: str
    confidence: float
    box: Box                                # in the original image
    polygon: tuple[Point, ...] = ()
    error: str | None = None                # why the word could not be read
    alternatives: tuple[str, ...] = ()      # the decoder's other readings, best first
    recognized: str | None = None           # what was read, when ``text`` is a user's correction

    @property
    def corrected(self) -> bool:
        return self.recognized is not None

    def to_dict(self) -> dict:
        d = {"text": self.text, "confidence": round(self.confidence, 4), "box": _box(self.box),
             "polygon": [list(p) for p in self.polygon]}
        if self.error:
            d["error"] = self.error
        if self.corrected:
            d["corrected"] = True
            d["recognized"] = self.recognized
        return d


@dataclass(frozen=True)
class LineResult:
    words: list[WordResult]
    box: Box
    polygon: tuple[Point, ...] = ()
    baseline: tuple[Point, ...] = ()

    @property
    def text(self) -> str:
        return join_words(w.text for w in self.words)

    @property
    def confidence(self) -> float:
        return min((w.confidence for w in self.words), default=0.0)

    def to_dict(self) -> dict:
        return {"text": self.text, "confidence": round(self.confidence, 4), "box": _box(self.box),
                "polygon": [list(p) for p in self.polygon], "baseline": [list(p) for p in self.baseline],
                "words": [w.to_dict() for w in self.words]}


@dataclass(frozen=True)
class PageResult:
    """A read page: lines top to bottom, words left to right."""

    page: Page
    lines: list[LineResult] = field(default_factory=list)
    image_filename: str = "image.png"
    ms: float = 0.0

    @property
    def text(self) -> str:
        """Words joined by spaces, lines by newlines, in reading order."""
        return "\n".join(t for t in (ln.text for ln in self.lines) if t)

    @property
    def words(self) -> list[WordResult]:
        return [w for ln in self.lines for w in ln.words]

    def to_dict(self) -> dict:
        return {"image": self.image_filename, "width": self.page.width, "height": self.page.height,
                "angle": self.page.angle, "text": self.text, "ms": round(self.ms, 1),
                "lines": [ln.to_dict() for ln in self.lines]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def to_pagexml(self, image_filename: str | None = None, creator: str = "nepocr") -> str:
        texts = [[(w.text, w.confidence) for w in ln.words] for ln in self.lines]
        corrected = {(i, j) for i, ln in enumerate(self.lines) for j, w in enumerate(ln.words) if w.corrected}
        return page_to_xml(self.page, texts, image_filename or self.image_filename, creator,
                           corrected=corrected)

    def with_corrections(self, corrections: dict[int, str]) -> PageResult:
        """The page with the text of some words (by reading-order index) replaced by a user's
        correction: such a word keeps what was read in ``recognized`` and has confidence 1."""
        if not corrections:
            return self
        index, lines = 0, []
        for ln in self.lines:
            words = []
            for w in ln.words:
                text = corrections.get(index)
                if text is not None and text != w.text:
                    w = replace(w, text=text, confidence=1.0, error=None,
                                recognized=w.text if w.recognized is None else w.recognized)
                words.append(w)
                index += 1
            lines.append(replace(ln, words=words))
        return replace(self, lines=lines)


def _box(b: Box) -> list[int]:
    return [b.x0, b.y0, b.x1, b.y1]


def crop_words(gray: np.ndarray, page: Page, margin: float = MARGIN,
               indices: Sequence[int] | None = None) -> list[np.ndarray]:
    """Word images in reading order (or those of ``indices``), cut from the deskewed page with
    a small margin: the images :func:`read_page` reads."""
    straight = page.straighten(gray)
    h, w = straight.shape[:2]
    words = page.words
    crops = []
    for i in range(len(words)) if indices is None else indices:
        b = words[i].straight_box
        m = max(2, round(margin * b.height))
        b = b.expand(m, m, w, h)
        crops.append(np.ascontiguousarray(straight[b.y0:b.y1, b.x0:b.x1]))
    return crops


def crop_word(gray: np.ndarray, page: Page, index: int, margin: float = MARGIN) -> np.ndarray:
    """Word ``index`` (reading order) as :func:`read_page` cut it, to read it again alone."""
    return crop_words(gray, page, margin, [index])[0]


def read_page(recognizer: Reader, image: ImageSource, batch_size: int = 64,
              margin: float = MARGIN, page: Page | None = None, name: str | None = None) -> PageResult:
    """Segment ``image`` (unless ``page`` is given), read all words in batches, keep positions.
    ``name``: the page's image file name (by default, that of ``image`` if it is a path)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1 (got {batch_size})")
    t0 = time.perf_counter()
    gray = load_gray(image)
    page = page if page is not None else segment_page(gray)
    crops = crop_words(gray, page, margin)
    results: list[Recognition | RecognitionFailure] = []
    for i in range(0, len(crops), batch_size):
        chunk = crops[i:i + batch_size]
        got = list(recognizer.recognize(chunk))
        if len(got) != len(chunk):
            raise ValueError(f"the recognizer returned {len(got)} results for {len(chunk)} images")
        results += got
    it = iter(zip(results, crops))
    lines = []
    for line in page.lines:
        heights = [w.straight_box.height for w in line.words]
        words = []
        for j, w in enumerate(line.words):
            result, crop = next(it)
            # a bar after a word: a danda found apart from it (the recognizer reads one as ४ or म)
            mark = danda(crop, float(np.median(heights[:j] + heights[j + 1:]))) if j else None
            words.append(_word(result, w.box, w.polygon) if mark is None else _danda(mark, result, w.box, w.polygon))
        lines.append(LineResult(words, line.box, line.polygon, line.baseline))
    return PageResult(page, lines, name or _name(image), (time.perf_counter() - t0) * 1000.0)


def read_any(recognizer: Reader, image: ImageSource) -> Recognition | RecognitionFailure | PageResult:
    """Read ``image`` as the app's automatic mode does: a page (:func:`read_page`) when several
    words are found on it, else one word or line, read whole. Raises
    :class:`~nepocr_desktop.lib.read.preprocess.ImageError` for unreadable input.

    The page finder splits some photos of one word into pieces (2-3% of them: a vowel sign or a
    head-line taken for a line of its own, letters apart taken for words). So where it finds
    only a few words (:data:`SMALL_LAYOUT`), the image is also read whole, and that reading wins
    when its least sure letter is surer than the page's words are on average: a word split into
    pieces reads as pieces of low confidence, two lines squeezed into one reading as a letter of
    low confidence.
    """
    gray = load_gray(image)  # decoded once, for finding the words and for every reading
    layout = segment_page(gray)
    if len(layout.words) <= 1:
        return recognizer.recognize([gray])[0]
    page = read_page(recognizer, gray, page=layout, name=_name(image))
    words, lines = SMALL_LAYOUT
    if len(layout.words) <= words and len(layout.lines) <= lines:
        whole = recognizer.recognize([gray])[0]
        if isinstance(whole, Recognition) and whole.confidence > float(np.mean([w.confidence for w in page.words])):
            return whole
    return page


def _name(image: ImageSource) -> str:
    """The image's file name, as a page read from it is named."""
    return Path(image).name if isinstance(image, (str, os.PathLike)) else "image.png"


def _danda(mark: str, result: Recognition | RecognitionFailure, box: Box, polygon: tuple[Point, ...]) -> WordResult:
    """A word box the shape rule reads as ``mark``; the recognizer's readings stay one click away."""
    read = _word(result, box, polygon)
    others = tuple(dict.fromkeys(t for t in (read.text, *read.alternatives) if t and t != mark))
    return WordResult(mark, MARK_CONFIDENCE, box, polygon, alternatives=others)


def _word(result: Recognition | RecognitionFailure, box: Box, polygon: tuple[Point, ...]) -> WordResult:
    if isinstance(result, RecognitionFailure):
        return WordResult("", 0.0, box, polygon, result.message)
    text = result.text
    alternatives = tuple(a.text for a in result.alternatives if a.text and a.text != text)
    return WordResult(text, float(result.confidence), box, polygon, alternatives=alternatives)
