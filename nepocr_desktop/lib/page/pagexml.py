"""PAGE XML (2019-07-15 schema): export of read pages, import of transcribed pages.

:func:`page_to_xml` writes one ``TextRegion`` holding a ``TextLine`` per line and a ``Word``
per word (polygons, baselines, ``TextEquiv`` with confidences). :func:`read_pagexml` reads the
transcribed lines and words of any PAGE version, and :func:`training_pairs` cuts them out of
the page image as (crop, text) pairs for training.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..errors import NepocrError
from ..read.preprocess import ImageError, ImageSource, load_gray, read_bounded
from .containers import Box, Page, Point
from .text import join_words

NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{NS} {NS}/pagecontent.xsd"
_BAD_XML_CHARS = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

WordText = tuple[str, float | None]   # a word's reading and its confidence (0..1) if known

MAX_PAGE_BYTES = 20 * 1024 * 1024   # a PAGE file (a dense page with words and glyphs: ~2 MB)
MAX_ITEMS = 50_000                  # transcribed lines and words in one PAGE file
MAX_COORD = 1_000_000               # pixels: larger coordinates are not those of a page image


class PageXmlError(NepocrError, ValueError):
    """A PAGE file that cannot be used; the message names it and says what is wrong."""


@dataclass(frozen=True)
class Transcription:
    """A transcribed line or word of a PAGE file."""

    level: str                     # "line" or "word"
    id: str
    box: Box                       # bounding box of ``polygon`` (x1, y1 exclusive)
    text: str
    polygon: tuple[Point, ...] = ()
    confidence: float | None = None


@dataclass(frozen=True)
class PageXml:
    image_filename: str
    width: int
    height: int
    items: list[Transcription] = field(default_factory=list)


def clean_text(text: str) -> str:
    """Text safe for XML 1.0 (control characters dropped), NFC-normalised."""
    return unicodedata.normalize("NFC", _BAD_XML_CHARS.sub("", text))


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _points(pts: Sequence[Point]) -> str:
    return " ".join(f"{max(0, int(x))},{max(0, int(y))}" for x, y in pts)


CORRECTED = "corrected"  # TextEquiv comments of a text a person corrected


def _text_equiv(parent: ET.Element, text: str, conf: float | None, corrected: bool = False) -> None:
    te = ET.SubElement(parent, _q("TextEquiv"))
    if conf is not None:
        te.set("conf", f"{min(1.0, max(0.0, float(conf))):.4f}")
    if corrected:
        te.set("comments", CORRECTED)
    ET.SubElement(te, _q("Unicode")).text = clean_text(text)


def page_to_xml(page: Page, texts: Sequence[Sequence[WordText]] | None = None,
                image_filename: str = "image.png", creator: str = "nepocr",
                created: datetime | None = None, corrected: set[tuple[int, int]] | None = None) -> str:
    """PAGE XML for ``page``; ``texts[i][j]`` is the (text, confidence) of word j of line i.

    Words ``(i, j)`` in ``corrected`` were corrected by a person: their ``TextEquiv`` (and that
    of their line) says so with ``comments="corrected"``.
    """
    corrected = corrected or set()
    stamp = (created or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    root = ET.Element(_q("PcGts"), {f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION})
    meta = ET.SubElement(root, _q("Metadata"))
    ET.SubElement(meta, _q("Creator")).text = clean_text(creator)
    ET.SubElement(meta, _q("Created")).text = stamp
    ET.SubElement(meta, _q("LastChange")).text = stamp
    attrs = {"imageFilename": clean_text(image_filename), "imageWidth": str(page.width),
             "imageHeight": str(page.height)}
    if page.angle:
        attrs["orientation"] = f"{page.angle:.2f}"
    pg = ET.SubElement(root, _q("Page"), attrs)
    if not page.lines:
        return _serialise(root)
    order = ET.SubElement(ET.SubElement(pg, _q("ReadingOrder")), _q("OrderedGroup"), {"id": "ro1"})
    ET.SubElement(order, _q("RegionRefIndexed"), {"index": "0", "regionRef": "r1"})
    region = ET.SubElement(pg, _q("TextRegion"), {"id": "r1", "type": "paragraph"})
    xs = [x for ln in page.lines for x, _ in ln.polygon]
    ys = [y for ln in page.lines for _, y in ln.polygon]
    ET.SubElement(region, _q("Coords"), {"points": _points(Box(min(xs), min(ys), max(xs), max(ys)).corners())})
    line_texts: list[str] = []
    for i, line in enumerate(page.lines):
        el = ET.SubElement(region, _q("TextLine"), {"id": f"l{i + 1}", "index": str(i)})
        ET.SubElement(el, _q("Coords"), {"points": _points(line.polygon or line.box.corners())})
        if len(line.baseline) >= 2:
            ET.SubElement(el, _q("Baseline"), {"points": _points(line.baseline)})
        words = list(texts[i]) if texts is not None else []
        for j, word in enumerate(line.words):
            w = ET.SubElement(el, _q("Word"), {"id": f"l{i + 1}_w{j + 1}"})
            ET.SubElement(w, _q("Coords"), {"points": _points(word.polygon or word.box.corners())})
            if j < len(words):
                _text_equiv(w, *words[j], corrected=(i, j) in corrected)
        if texts is not None:
            text = join_words(t for t, _ in words)
            confs = [c for t, c in words if c is not None]
            _text_equiv(el, text, min(confs) if confs else None,
                        corrected=any((i, j) in corrected for j in range(len(words))))
            line_texts.append(text)
    if texts is not None:
        _text_equiv(region, "\n".join(line_texts), None)
    return _serialise(root)


def _serialise(root: ET.Element) -> str:
    ET.register_namespace("", NS)
    ET.register_namespace("xsi", XSI)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_pagexml(path: str | os.PathLike, page: Page, texts: Sequence[Sequence[WordText]] | None = None,
                  image_filename: str = "image.png", creator: str = "nepocr") -> None:
    Path(path).write_text(page_to_xml(page, texts, image_filename, creator), encoding="utf-8")


# --- import -------------------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _coord(text: str | None, what: str) -> int:
    """A coordinate: a finite number within ``MAX_COORD`` of zero, rounded to a pixel."""
    try:
        value = float(text if text is not None else "0")
    except ValueError:
        raise PageXmlError(f"{what} {str(text)[:20]!r} is not a number") from None
    if not math.isfinite(value) or abs(value) > MAX_COORD:
        raise PageXmlError(f"{what} {str(text)[:20]!r} is not a pixel position (at most {MAX_COORD:,})")
    return round(value)


def _polygon(el: ET.Element) -> tuple[Point, ...]:
    coords = _child(el, "Coords")
    if coords is None:
        return ()
    if coords.get("points"):
        pts = []
        for pair in coords.get("points", "").split():
            x, _, y = pair.partition(",")
            pts.append((_coord(x, "coordinate"), _coord(y, "coordinate")))
        return tuple(pts)
    return tuple((_coord(p.get("x"), "coordinate"), _coord(p.get("y"), "coordinate"))
                 for p in coords if _local(p.tag) == "Point")


def _reading(el: ET.Element) -> tuple[str, float | None]:
    """The main TextEquiv (lowest ``index``, else the first) as (text, conf)."""
    equivs = [c for c in el if _local(c.tag) == "TextEquiv"]
    if not equivs:
        return "", None
    best = min(equivs, key=lambda e: int(e.get("index", "")) if e.get("index", "").isdigit() else 0)
    uni = _child(best, "Unicode")
    text = " ".join(((uni.text or "") if uni is not None else "").split())
    conf = best.get("conf")
    try:
        value = float(conf) if conf is not None else None
    except ValueError:
        value = None
    return unicodedata.normalize("NFC", text), value


def _item(level: str, el: ET.Element, text: str, conf: float | None) -> Transcription | None:
    poly = _polygon(el)
    if not poly or not text:
        return None
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    box = Box(min(xs), min(ys), max(max(xs), min(xs) + 1), max(max(ys), min(ys) + 1))
    return Transcription(level, el.get("id", ""), box, text, poly, conf)


def _source_bytes(source: str | os.PathLike | bytes) -> tuple[bytes, str]:
    """The PAGE file's bytes (a regular file of at most ``MAX_PAGE_BYTES``) and its name."""
    if not isinstance(source, bytes):
        return read_bounded(source, MAX_PAGE_BYTES, PageXmlError, "a PAGE file"), str(source)
    if len(source) > MAX_PAGE_BYTES:
        raise PageXmlError(f"PAGE data: too large (at most {MAX_PAGE_BYTES // 2**20} MB)")
    return source, "PAGE data"


def parse_pagexml(source: str | os.PathLike | bytes) -> PageXml:
    """Page attributes and the transcribed lines and words (in document order) of a PAGE file."""
    data, name = _source_bytes(source)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise PageXmlError(f"{name}: not valid XML ({exc})") from None
    page = next((e for e in root.iter() if _local(e.tag) == "Page"), None)
    if page is None:
        raise PageXmlError(f"{name}: not a PAGE XML document (no Page element)")
    items: list[Transcription] = []
    try:
        for line in (e for e in page.iter() if _local(e.tag) == "TextLine"):
            words = []
            for w in (c for c in line if _local(c.tag) == "Word"):
                item = _item("word", w, *_reading(w))
                if item is not None:
                    words.append(item)
            text, conf = _reading(line)
            if not text and words:
                text = join_words(w.text for w in words)
            item = _item("line", line, text, conf)
            items += ([item] if item else []) + words
            if len(items) > MAX_ITEMS:
                raise PageXmlError(f"more than {MAX_ITEMS:,} transcribed lines and words")
        width = _coord(page.get("imageWidth") or "0", "imageWidth")
        height = _coord(page.get("imageHeight") or "0", "imageHeight")
    except PageXmlError as exc:
        raise PageXmlError(f"{name}: {exc}") from None
    return PageXml(page.get("imageFilename", ""), max(0, width), max(0, height), items)


def read_pagexml(source: str | os.PathLike | bytes) -> list[Transcription]:
    """Transcribed lines and words of a PAGE file: each has ``box``, ``text`` and ``level``."""
    return parse_pagexml(source).items


def training_pairs(xml_path: str | os.PathLike, image: ImageSource | None = None,
                   levels: Sequence[str] = ("line", "word"), margin: int = 2) -> Iterator[tuple[np.ndarray, str]]:
    """(uint8 gray crop, text) for each transcribed line and/or word of a PAGE file.

    Without ``image`` the file named by ``imageFilename`` is loaded from the XML's folder. If
    the image's size differs from the recorded one, coordinates are scaled to fit.
    """
    doc = parse_pagexml(xml_path)
    if image is None:
        folder = Path(xml_path).parent
        found = _page_image(folder, doc.image_filename)
        if found is None:
            raise ImageError(f"{xml_path}: page image {doc.image_filename!r} not found beside it")
        image = found
    gray = load_gray(image)
    h, w = gray.shape
    sx = w / doc.width if doc.width > 0 else 1.0
    sy = h / doc.height if doc.height > 0 else 1.0
    wanted = [item for item in doc.items if item.level in levels]
    crops = 0
    for item in wanted:
        b = item.box
        box = Box(int(b.x0 * sx), int(b.y0 * sy), int(np.ceil(b.x1 * sx)), int(np.ceil(b.y1 * sy)))
        box = box.expand(margin, margin, w, h)
        if box.width > 0 and box.height > 0:
            crops += 1
            yield gray[box.y0:box.y1, box.x0:box.x1].copy(), item.text
    if wanted and not crops:
        raise PageXmlError(f"{xml_path}: the coordinates do not fit the image ({w}x{h} pixels; the file says "
                           f"{doc.width}x{doc.height}): no line or word lies inside it")


def _page_image(folder: Path, name: str) -> Path | None:
    """The page image named in a PAGE file, looked up inside ``folder`` only: a relative path
    without ``..`` as written, else the bare file name."""
    if not name or "\0" in name:
        return None
    candidates = [folder / Path(name).name]
    rel = Path(name.replace("\\", "/"))
    if not rel.is_absolute() and ".." not in rel.parts and not Path(name).drive:
        candidates.insert(0, folder / rel)
    return next((p for p in candidates if p.is_file()), None)
