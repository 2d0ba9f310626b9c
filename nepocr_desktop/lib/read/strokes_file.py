"""Pen strokes from a file, read as the Write tab reads writing.

A strokes file is JSON: a list of strokes, or an object whose ``"strokes"`` is that list. A stroke
is a list of points from pen-down to pen-up, and a point is ``[x, y]`` or ``[x, y, width]`` (the
pen's width there, as a tablet's pressure gives it), with y growing downwards::

    {"strokes": [[[10, 40], [60, 40]], [[50, 40], [50, 90, 3.5]]]}

Any unit will do. Writing whose lines are between :data:`~.strokes.READING_HEIGHTS` units high is
drawn as the canvas would draw it; other sizes are scaled to the canvas's usual writing height
first, so that a tablet's raw coordinates are read as well as the canvas's page units.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence

import numpy as np

from ..errors import NepocrError
from .strokes import CROP_MARGIN, READING_HEIGHTS, PenStroke, reading_image, split_lines

MAX_BYTES = 20 * 1024 * 1024
MAX_STROKES = 10_000
MAX_POINTS = 1_000_000
MAX_COORDINATE = 1e7
DEFAULT_WIDTH = 5.0      # a point without a width: the canvas's default pen
USUAL_HEIGHT = 170.0     # writing scaled to this height when its lines are much smaller or larger
PAGE_ROOM = 16.0         # room around the ink for the reading pen (8 units at these heights)
FORMAT = 'JSON: a list of strokes, each a list of [x, y] or [x, y, width] points'


class StrokesFileError(NepocrError, ValueError):
    """A strokes file that cannot be read; the message names the file and says why."""


def read_strokes(path: str | os.PathLike) -> list[PenStroke]:
    """The strokes of the file at ``path``; :class:`StrokesFileError` if it is not one."""
    name = os.fspath(path)
    try:
        if os.path.getsize(name) > MAX_BYTES:
            raise StrokesFileError(f"{name}: larger than {MAX_BYTES // (1024 * 1024)} MB, too large for a strokes file")
        with open(name, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except StrokesFileError:
        raise
    except FileNotFoundError:
        raise StrokesFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise StrokesFileError(f"{name}: a folder, not a strokes file") from None
    except (OSError, ValueError, RecursionError) as exc:  # unreadable, not UTF-8, not JSON, nested too deep
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not valid JSON"
        raise StrokesFileError(f"{name}: {reason} (a strokes file is {FORMAT})") from None
    return parse_strokes(data, name)


def parse_strokes(data: object, name: str = "strokes") -> list[PenStroke]:
    """Strokes from decoded JSON (see the module's description)."""
    if isinstance(data, dict):
        data = data.get("strokes")
    if not isinstance(data, list):
        raise StrokesFileError(f"{name}: no list of strokes (a strokes file is {FORMAT})")
    if len(data) > MAX_STROKES:
        raise StrokesFileError(f"{name}: more than {MAX_STROKES:,} strokes")
    strokes, total = [], 0
    for k, stroke in enumerate(data, 1):
        if not isinstance(stroke, list) or not stroke:
            raise StrokesFileError(f"{name}: stroke {k} is not a list of points")
        total += len(stroke)
        if total > MAX_POINTS:
            raise StrokesFileError(f"{name}: more than {MAX_POINTS:,} points")
        points, widths = [], []
        for point in stroke:
            if (not isinstance(point, list) or len(point) not in (2, 3)
                    or not all(_number(v) for v in point)):
                raise StrokesFileError(f"{name}: stroke {k} has a point that is not [x, y] or [x, y, width] "
                                       f"of finite numbers: {json.dumps(point)[:60]}")
            points.append((float(point[0]), float(point[1])))
            width = float(point[2]) if len(point) == 3 else DEFAULT_WIDTH
            if not 0 < width <= MAX_COORDINATE:
                raise StrokesFileError(f"{name}: stroke {k} has a pen width of {width:g}; widths are above 0")
            widths.append(width)
        strokes.append(PenStroke.of(points, widths))
    if not strokes:
        raise StrokesFileError(f"{name}: no strokes in it")
    return strokes


def _number(v: object) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and abs(v) <= MAX_COORDINATE)


def strokes_image(strokes: Sequence[PenStroke]) -> np.ndarray:
    """The image the recognizer reads for ``strokes`` written anywhere, at any size: scaled to
    the canvas's usual writing height if their lines' median height is outside
    :data:`~.strokes.READING_HEIGHTS`, moved to a page of their own, then drawn as
    :func:`~.strokes.reading_image` draws the canvas's writing (lines laid out as one)."""
    lines = split_lines(strokes)
    heights = [float(np.ptp(np.concatenate([s.points[:, 1] for s in line]))) for line in lines]
    height = float(np.median(heights))
    low, high = READING_HEIGHTS
    scale = 1.0 if low <= height <= high or height <= 0 else USUAL_HEIGHT / height
    pts = np.concatenate([s.points for s in strokes])
    room = CROP_MARGIN + PAGE_ROOM  # the crop's margin and the reading pen's half width
    origin = np.floor(pts.min(axis=0) * scale - room)  # whole units: the same pixels as on the canvas
    moved = [PenStroke(s.points * scale - origin, s.widths * scale) for s in strokes]
    extent = (pts.max(axis=0) - pts.min(axis=0)) * scale + 2 * room + 1
    return reading_image(moved, (math.ceil(extent[0]), math.ceil(extent[1])))
