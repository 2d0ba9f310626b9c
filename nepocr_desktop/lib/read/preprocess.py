"""Image loading and normalisation shared by training and inference.

Every input (file, numpy array, PIL image; canvas drawing, photo crop, 32x32 character)
goes through :func:`prepare`: grayscale, polarity detected, contrast stretched, cropped to
ink, scaled to a fixed height with the aspect ratio kept, padded. The result is float32 with
ink = 1 and background = 0, so batches can be zero-padded on the right.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import NepocrError
from .colour import colour_weight, ink_gray

# Blank columns added right of every batch (beyond its rounding to 4): as far as the network's last
# output column looks past the end of the image (20 px, measured), so an image is read the same
# whether it is the widest of its batch, padded, or alone.
RIGHT_MARGIN = 20
MAX_PIXELS = 60_000_000  # larger images are refused (decompression bombs, 20000x20000 scans)
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

ImageSource = str | os.PathLike | bytes | np.ndarray | Image.Image

# The raster formats Pillow may open. Never EPS/PS/PDF (Pillow hands those to Ghostscript) nor
# any other plugin: a file is identified only among these, whatever its name.
IMAGE_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WEBP", "GIF", "PPM", "ICO")


class ImageError(NepocrError, ValueError):
    """An input that cannot be read as an image; the message is fit to show a user."""


@dataclass(frozen=True)
class PreprocessConfig:
    height: int = 48
    pad: int = 4            # background columns added left and right, in output pixels
    max_width: int = 2048   # longer lines are squeezed to this width
    min_width: int = 8

    def to_dict(self) -> dict:
        return {"height": self.height, "pad": self.pad, "max_width": self.max_width,
                "min_width": self.min_width}

    @classmethod
    def from_dict(cls, d: dict) -> PreprocessConfig:
        return cls(**{k: int(v) for k, v in d.items() if k in cls.__dataclass_fields__})


def _pil_to_gray(img: Image.Image) -> np.ndarray:
    if img.getexif().get(0x0112, 1) != 1:  # EXIF orientation (exif_transpose would copy even when upright)
        img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        return ((arr - lo) / max(hi - lo, 1.0) * 255).astype(np.uint8)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        return ((arr - lo) / max(hi - lo, 1e-9) * 255).astype(np.uint8)
    gray = np.asarray(img if img.mode == "L" else img.convert("L"), dtype=np.uint8)
    if img.mode not in _COLOUR_MODES:
        return gray
    return ink_gray(np.asarray(img.convert("RGB")), gray)  # coloured ink kept dark


# Pillow modes read in colour, so that coloured ink can be kept dark (all convert to RGB)
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "P", "PA", "CMYK", "YCbCr", "HSV"})


# JPEG files up to this size are read whole and decoded from memory by OpenCV.
FAST_JPEG_BYTES = 32 * 1024 * 1024
_JPEG_MAGIC = b"\xff\xd8\xff"
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header; None if ``data`` is not a JPEG that ends
    where it should (a truncated file is left to Pillow, which says what is wrong)."""
    frame = _jpeg_frame(data)
    return None if frame is None else frame[:2]


def _jpeg_frame(data: bytes) -> tuple[int, int, int] | None:
    """(width, height, number of colour components) from a JPEG's frame header, as
    :func:`_jpeg_size`."""
    if data[:3] != _JPEG_MAGIC or data[-2:] != b"\xff\xd9":
        return None
    i, n = 2, len(data)
    while i + 9 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _JPEG_SOF:
            h, w = int.from_bytes(data[i + 5:i + 7], "big"), int.from_bytes(data[i + 7:i + 9], "big")
            return (w, h, data[i + 9] if i + 9 < n else 0) if w and h else None
        if marker == 0xDA:  # scan data before any frame header
            return None
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


def _too_short(data: bytes, w: int, h: int) -> bool:
    """A JPEG whose data cannot hold its frame: every 8x8 block of a Huffman-coded scan takes at
    least one bit, so fewer bytes than blocks / 8 is a truncated (or forged) file."""
    blocks = ((w + 7) // 8) * ((h + 7) // 8)
    return len(data) * 8 < blocks


def _decode_jpeg(data: bytes, name: str) -> np.ndarray | None:
    """A JPEG as gray by OpenCV: libjpeg's luma with the EXIF rotation applied, as Pillow
    gives it (the same pixels on 17,344 real JPEG crops and photos; on pure noise a rare pixel
    differs by a few levels) in a third of the time; a colour JPEG whose ink is coloured is
    then darkened where its ink is (:func:`~.colour.ink_gray`), judged on a copy decoded at a
    quarter of its size. None where Pillow should read it instead."""
    frame = _jpeg_frame(data)
    if frame is None:
        return None
    w, h, components = frame
    if w * h > MAX_PIXELS:
        raise ImageError(f"{name}: image is too large ({w}x{h}); the limit is "
                         f"{MAX_PIXELS // 1_000_000} megapixels")
    if _too_short(data, w, h):
        return None  # Pillow reads it, and says it is truncated
    buf = np.frombuffer(data, np.uint8)
    gray = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    if gray is None or gray.shape[:2] not in ((h, w), (w, h)):  # (w, h): turned by its EXIF tag
        return None  # not what the header says: Pillow decides
    if components != 3:
        return gray
    small = cv2.imdecode(buf, cv2.IMREAD_REDUCED_COLOR_4)
    weight = colour_weight(small[..., ::-1]) if small is not None else 0.0
    if weight <= 0.0:
        return gray
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if bgr is None or bgr.shape[:2] != gray.shape:
        return gray
    return ink_gray(bgr[..., ::-1], gray, weight)


def os_reason(exc: OSError) -> str:
    """Why a path cannot be opened, in words."""
    if exc.errno == errno.ELOOP:
        return "the path is a symbolic link loop"
    if exc.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "no such file"
    return f"cannot be opened ({exc.strerror or exc})"


_VIRTUAL_ROOTS = ("/proc/", "/sys/", "/dev/")


def _virtual(path: str | os.PathLike, st: os.stat_result) -> bool:
    """A kernel file (``/proc``, ``/sys``): listed as regular and empty, its content generated."""
    return st.st_size == 0 and os.name == "posix" and os.path.realpath(path).startswith(_VIRTUAL_ROOTS)


def check_regular_file(path: str | os.PathLike, error: type[Exception]) -> os.stat_result:
    """``os.stat`` of a path that must be a regular file (not a FIFO, device, socket or folder),
    checked before it is opened (opening a FIFO would wait for a writer); raises ``error``."""
    if not os.fspath(path):
        raise error("no file name given")
    if "\0" in os.fspath(path):
        raise error(f"{os.fspath(path)!r}: the file name holds a NUL character")
    try:
        st = os.stat(path)
    except OSError as exc:
        raise error(f"{path}: {os_reason(exc)}") from None
    except ValueError:
        raise error(f"{path}: not a valid file name") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{path}: is a folder, not a file")
    if not stat.S_ISREG(st.st_mode) or _virtual(path, st):
        raise error(f"{path}: not a regular file")
    return st


def read_bounded(path: str | os.PathLike, limit: int, error: type[Exception], what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (checked before and while reading,
    as the file may grow); raises ``error`` naming the file and ``what`` it should be."""
    st = check_regular_file(path, error)
    too_large = f"{path}: the file is too large for {what} (at most {limit:,} bytes)"
    if st.st_size > limit:
        raise error(f"{too_large}; it has {st.st_size:,}")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise error(too_large)
    return data


def pillow_detail(exc: BaseException) -> str:
    """Pillow's message for a damaged file without its decoder bookkeeping, fit for a user:
    "image file is truncated (0 bytes not processed)" becomes "image file is truncated"."""
    text = " ".join(str(exc).split())
    text = re.sub(r"\s*\(\d+ bytes? not processed\)", "", text)
    text = re.sub(r"b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\"", "the data", text)  # no raw bytes
    return text[:200].rstrip(" .:;") or type(exc).__name__


def load_gray(src: ImageSource) -> np.ndarray:
    """Read any supported source into a 2-D uint8 array; raise :class:`ImageError` otherwise.

    EXIF rotation is honoured; transparency is composited onto white; 16-bit and float
    images are scaled to 8 bits; of an animated or multi-page file the first frame is used.
    Colour becomes luminance, except that ink of a colour that luminance would turn pale (a
    pink, red or green pen) is kept dark (:func:`~.colour.ink_gray`; not for JPEG files over
    ``FAST_JPEG_BYTES``, which are decoded straight to luminance).
    Pillow's warnings (a possible decompression bomb, damaged EXIF data) are not printed: an
    image over ``MAX_PIXELS`` is refused with an :class:`ImageError`, the rest is ignored.
    """
    if isinstance(src, (np.ndarray, Image.Image)):
        if 0 in np.shape(src) or (isinstance(src, Image.Image) and 0 in src.size):
            raise ImageError("the image has no pixels")
        return array_to_gray(src) if isinstance(src, np.ndarray) else _pil_to_gray(src)
    shown = "image data" if isinstance(src, bytes) else str(src)  # how the input is named in messages
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            gray = _load_gray(src, shown)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{shown}: image is too large (over {MAX_PIXELS // 1_000_000} megapixels)") from None
    except UnidentifiedImageError:
        raise ImageError(f"{shown}: not an image file, or not a supported image format "
                         f"(use {', '.join(IMAGE_FORMATS)})") from None
    except PermissionError:
        raise ImageError(f"{shown}: permission denied") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENAMETOOLONG, errno.EACCES, errno.ENOENT):
            raise ImageError(f"{shown}: {os_reason(exc)}") from None
        raise ImageError(f"{shown}: the image is damaged or truncated ({pillow_detail(exc)})") from None
    except (SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{shown}: the image is damaged or truncated ({pillow_detail(exc)})") from None
    if gray.size == 0:
        raise ImageError(f"{shown}: the image has no pixels")
    return gray


def _load_gray(src: str | os.PathLike | bytes, shown: str) -> np.ndarray:
    if isinstance(src, bytes):
        path, data = None, src
    else:
        if not os.fspath(src):
            raise ImageError("no file name given")
        path = Path(src)
        try:
            st = os.stat(path)
        except OSError as exc:
            raise ImageError(f"{shown}: {os_reason(exc)}") from None
        except ValueError:  # a NUL character in the name
            raise ImageError(f"{shown!r}: not a valid file name") from None
        if stat.S_ISDIR(st.st_mode):
            raise ImageError(f"{shown}: is a folder, not an image")
        if not stat.S_ISREG(st.st_mode) or _virtual(path, st):
            raise ImageError(f"{shown}: not a regular file")
        if st.st_size == 0:
            raise ImageError(f"{shown}: the file is empty")
        data = None
        if st.st_size <= FAST_JPEG_BYTES:
            with open(path, "rb") as f:  # other formats are streamed by Pillow, not read whole
                if f.read(3) == _JPEG_MAGIC:
                    f.seek(0)
                    data = f.read()
    if data is not None:
        gray = _decode_jpeg(data, shown)
        if gray is not None:
            return gray
    img = Image.open(io.BytesIO(data) if data is not None else path, formats=IMAGE_FORMATS)
    with img:
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise ImageError(f"{shown}: image is too large ({w}x{h}); the limit is "
                             f"{MAX_PIXELS // 1_000_000} megapixels")
        if img.format == "JPEG" and data is not None and _too_short(data, w, h):
            raise ImageError(f"{shown}: the image is damaged or truncated (its data is far too short "
                             f"for its {w}x{h} pixels)")
        img.seek(0)
        if img.format == "JPEG" and img.mode == "RGB" and data is None:
            img.draft("L", img.size)  # over FAST_JPEG_BYTES: straight to gray (its luma), less memory
        return _pil_to_gray(img)


def array_to_gray(arr: np.ndarray) -> np.ndarray:
    """Numpy image (H,W), (H,W,1), (H,W,3) RGB or (H,W,4) RGBA of any dtype to uint8 gray; of
    8-bit colour, coloured ink is kept dark (:func:`~.colour.ink_gray`)."""
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] == 4:
        alpha = a[:, :, 3:4].astype(np.float64) / (np.iinfo(a.dtype).max if a.dtype.kind in "ui" else 1.0)
        rgb = a[:, :, :3].astype(np.float64)
        white = np.iinfo(a.dtype).max if a.dtype.kind in "ui" else 1.0
        a = rgb * alpha + white * (1 - alpha)
        a = a.astype(arr.dtype) if arr.dtype.kind in "ui" else a
    rgb = a if a.ndim == 3 and a.shape[2] == 3 and a.dtype == np.uint8 else None
    if a.ndim == 3 and a.shape[2] == 3:
        a = a.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if a.ndim != 2 or a.size == 0:
        raise ImageError(f"unsupported array shape {tuple(np.shape(arr))}")
    if a.dtype == np.uint8:
        return a
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        a = np.nan_to_num(a)
    if arr.dtype.kind in "ui":
        hi = float(np.iinfo(arr.dtype).max)
        gray = np.clip(np.rint(a / hi * 255.0), 0, 255).astype(np.uint8)
        return gray if rgb is None else ink_gray(rgb, gray)  # coloured ink kept dark
    lo, hi = float(a.min()), float(a.max())
    if hi <= 1.0 and lo >= 0.0:
        return np.rint(a * 255.0).astype(np.uint8)
    return ((a - lo) / max(hi - lo, 1e-9) * 255.0).astype(np.uint8)


def _percentiles(gray: np.ndarray, qs: tuple[float, ...],
                 hist: np.ndarray | None = None) -> list[float]:
    """``np.percentile(gray, qs)`` (linear interpolation) of a uint8 image, from its histogram:
    one counting pass instead of a sort per percentile."""
    cum = np.cumsum(hist if hist is not None else np.bincount(gray.ravel(), minlength=256))
    n = int(cum[-1])
    out = []
    for q in qs:
        pos = q / 100.0 * (n - 1)
        k = int(np.floor(pos))
        lo = int(np.searchsorted(cum, k, side="right"))
        hi = int(np.searchsorted(cum, min(k + 1, n - 1), side="right"))
        out.append(lo + (pos - k) * (hi - lo))
    return out


def _histogram(gray: np.ndarray) -> np.ndarray:
    return np.bincount(gray.ravel(), minlength=256)


def ink_map(gray: np.ndarray, hist: np.ndarray | None = None) -> np.ndarray:
    """uint8 gray to float32 ink in [0, 1] (1 = ink), whatever the polarity.

    The background is the majority tone: if the median is darker than the midpoint of the
    extremes, the image is light ink on dark and is inverted. Contrast is stretched between
    the background level and the darkest ink percentile. ``hist``: ``gray``'s histogram of the
    256 levels, if the caller has it.
    """
    by_level = gray.dtype == np.uint8 and gray.size > 16
    if by_level:
        # every step is a function of the gray level: work on the 256 levels, then look up
        hist = _histogram(gray) if hist is None else hist
        lo, p25, med, p75, hi = _percentiles(gray, (1, 25, 50, 75, 99), hist)
        p25 = 255.0 - p25  # the 75th percentile once inverted
        present = np.flatnonzero(hist)
        g_min, g_max = float(present[0]), float(present[-1])
        g = np.arange(256, dtype=np.float32)
    else:
        g = gray.astype(np.float32)
        lo, hi = np.percentile(g, [1, 99]) if g.size > 16 else (float(g.min()), float(g.max()))
        med = float(np.median(g))
        p75 = float(np.percentile(g, 75)) if g.size > 16 else med
        p25 = 255.0 - float(np.percentile(g, 25)) if g.size > 16 else 255.0 - med
        g_min, g_max = float(gray.min()), float(gray.max())
    if med < (lo + hi) / 2.0:
        g = 255.0 - g
        lo, hi, med, p75, g_min = 255.0 - hi, 255.0 - lo, 255.0 - med, p25, 255.0 - g_max
    bg = max(med, p75)
    ink_level = min(lo, g_min + 0.25 * (med - g_min))
    span = bg - ink_level
    if span < 12.0:  # flat image: no ink
        return np.zeros(gray.shape, np.float32)
    ink = np.clip((bg - g) / span, 0.0, 1.0).astype(np.float32)
    return ink[gray] if by_level else ink


# Ink whose every mark is smaller than this many pixels, and smaller than a speck (SPECK_SHARE of
# the image), is dust, paper grain or sensor noise, not writing: a letter of the smallest word
# crops (about 20 px high) has more, and so has a dot drawn on the Write tab.
MIN_MARK_PIXELS = 64
SPECK_SHARE = 0.0005


def ink_bbox(ink: np.ndarray, thresh: float = 0.35) -> tuple[int, int, int, int] | None:
    """Bounding box (x0, y0, x1, y1) of ink pixels, ignoring specks; None if there is none, or
    only specks (no mark of :data:`MIN_MARK_PIXELS`)."""
    mask = (ink > thresh).astype(np.uint8)
    if not mask.any():
        return None
    h, w = mask.shape
    # drop isolated specks (area < 0.05% of the image) that would stretch the box
    stats = cv2.connectedComponentsWithStats(mask, connectivity=8)[2][1:]
    areas = stats[:, cv2.CC_STAT_AREA]
    big = stats[areas >= max(2, int(SPECK_SHARE * h * w))]
    if len(big):
        stats = big
    elif areas.max() < MIN_MARK_PIXELS:  # specks alone: a blank sheet, not writing
        return None
    x0, y0 = stats[:, cv2.CC_STAT_LEFT].min(), stats[:, cv2.CC_STAT_TOP].min()
    x1 = (stats[:, cv2.CC_STAT_LEFT] + stats[:, cv2.CC_STAT_WIDTH]).max()
    y1 = (stats[:, cv2.CC_STAT_TOP] + stats[:, cv2.CC_STAT_HEIGHT]).max()
    return int(x0), int(y0), int(x1), int(y1)


# Binarised scans are smoothed at their own resolution before anything else: the staircase
# edges of a two-level image are not what the network learned from photos (model card,
# "Binarised scans").
BILEVEL_SIGMA = 0.6
BILEVEL_MID_SHARE = 0.005  # at most this share of pixels a quarter of the range away from both extremes


def is_bilevel(gray: np.ndarray, hist: np.ndarray | None = None) -> bool:
    """True for a black-and-white image: all but a few pixels within a quarter of the range of the
    darkest or the lightest level (a fax, a thresholded scan, a bilevel TIFF, and a JPEG of one,
    whose ringing stays near the two levels). Photos, rendered text and handwritten characters
    have far more mid-tones. ``hist``: ``gray``'s histogram of the 256 levels, if the caller has it."""
    if gray.dtype != np.uint8 or gray.size < 64:
        return False
    hist = _histogram(gray) if hist is None else hist
    present = np.flatnonzero(hist)
    lo, hi = int(present[0]), int(present[-1])
    if hi - lo < 32:
        return False
    margin = (hi - lo) / 4.0
    mid = int(hist[int(lo + margin) + 1:int(np.ceil(hi - margin))].sum())
    return mid <= BILEVEL_MID_SHARE * gray.size


def is_clean_drawing(gray: np.ndarray) -> bool:
    """True for ink on white with hardly any grey: canvas drawings and binarised scans (fewer
    than 3% of the pixels between the two), not photos. Such images are read by a model's
    network for drawings where it has one."""
    mid = (gray > 40) & (gray < 215)
    return float(mid.mean()) < 0.03


# Of a drawing rendered by software, the share of pixels strictly between black and white: its
# anti-aliased edges. The Write tab's renderer leaves 1.5-3.9% (pen and mouse writing of
# `synth_dev`); a black-and-white scan none; a high-contrast photo many more.
DRAWN_SOFT_SHARE = (0.002, 0.10)


def looks_drawn(gray: np.ndarray) -> bool:
    """True for pen or mouse writing rendered by software: a clean drawing
    (:func:`is_clean_drawing`) with anti-aliased edges on pure white (:data:`DRAWN_SOFT_SHARE`),
    as the Write tab renders strokes. Not black-and-white scans (no grey at all), not photos."""
    if not is_clean_drawing(gray):
        return False
    soft = float(((gray > 0) & (gray < 255)).mean())
    return DRAWN_SOFT_SHARE[0] <= soft <= DRAWN_SOFT_SHARE[1]


def smooth_bilevel(gray: np.ndarray, hist: np.ndarray | None = None) -> np.ndarray:
    """``gray`` blurred a little if it is black-and-white (:func:`is_bilevel`), else ``gray`` itself."""
    if not is_bilevel(gray, hist):
        return gray
    return cv2.GaussianBlur(gray, (0, 0), BILEVEL_SIGMA)


# Writing has edges: places where the gray level changes by more than EDGE_LEVELS per pixel (after
# a slight blur). Blank paper has none, however unevenly lit: a photo of it would otherwise give an
# ink map of its shading. Of the 14,573 real word crops and evaluation images measured, the fewest
# such places were 83 (two cut crops 11 and 14 pixels high); blank sheets with shading, paper grain
# or noise had 0-1 (benchmarks/RESULTS.md, "Bad input").
EDGE_LEVELS = 4.0
MIN_EDGE_PIXELS = 20
_EDGE_MAX_PIXELS = 2_000_000  # larger images are measured at this size


def shows_writing(gray: np.ndarray) -> bool:
    """False for an image without edges of writing (:data:`EDGE_LEVELS`): blank paper, evenly or
    unevenly lit; ink maps of such images are not read."""
    g = gray
    if g.size > _EDGE_MAX_PIXELS:
        f = (_EDGE_MAX_PIXELS / g.size) ** 0.5
        g = cv2.resize(g, (max(1, round(g.shape[1] * f)), max(1, round(g.shape[0] * f))), interpolation=cv2.INTER_AREA)
    g = cv2.GaussianBlur(g.astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    edges = int(np.count_nonzero(gx * gx + gy * gy > (8.0 * EDGE_LEVELS) ** 2))  # Sobel weighs 8x
    return edges >= MIN_EDGE_PIXELS


def prepare(src: ImageSource, cfg: PreprocessConfig = PreprocessConfig()) -> np.ndarray:
    """Any image to a float32 (height, width) ink map ready for the model; all zeros where there
    is no writing (no ink, specks alone, blank paper)."""
    loaded = load_gray(src)
    hist = _histogram(loaded)  # one count of the levels for both steps below
    gray = smooth_bilevel(loaded, hist)
    ink = ink_map(gray, hist if gray is loaded else None)
    box = ink_bbox(ink) if shows_writing(gray) else None
    if box is None:
        return np.zeros((cfg.height, cfg.min_width + 2 * cfg.pad), np.float32)
    x0, y0, x1, y1 = box
    h, w = y1 - y0, x1 - x0
    m = max(1, round(0.06 * h))  # a little margin above and below
    y0, y1 = max(0, y0 - m), min(ink.shape[0], y1 + m)
    crop = ink[y0:y1, x0:x1]
    h, w = crop.shape
    inner = cfg.height - 2
    scale = inner / h
    new_w = round(w * scale)
    new_w = max(cfg.min_width, min(cfg.max_width, new_w))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(crop, (new_w, inner), interpolation=interp)
    out = np.zeros((cfg.height, new_w + 2 * cfg.pad), np.float32)
    out[1:1 + inner, cfg.pad:cfg.pad + new_w] = resized
    return out


def batch(images: list[np.ndarray], multiple: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Stack prepared images, zero-padding on the right; returns (N,1,H,W) and widths."""
    h = images[0].shape[0]
    widths = np.array([im.shape[1] for im in images], dtype=np.int64)
    w = int(widths.max())
    w = (w + multiple - 1) // multiple * multiple
    out = np.zeros((len(images), 1, h, w), np.float32)
    for i, im in enumerate(images):
        out[i, 0, :, : im.shape[1]] = im
    return out, widths
