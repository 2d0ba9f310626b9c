"""The layout of a page: boxes, words, lines and the page, in reading order.

Shared by the segmenter (:mod:`.segment`), which finds them, and PAGE XML (:mod:`.pagexml`),
which writes and reads them. All boxes refer to the original image; ``straight_box`` fields
refer to the deskewed frame of :meth:`Page.straighten`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

Point = tuple[int, int]


@dataclass(frozen=True)
class Box:
    """Axis-aligned pixel box; ``x1`` and ``y1`` are exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def iou(self, other: Box) -> float:
        ix = min(self.x1, other.x1) - max(self.x0, other.x0)
        iy = min(self.y1, other.y1) - max(self.y0, other.y0)
        inter = max(0, ix) * max(0, iy)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def expand(self, mx: int, my: int, width: int, height: int) -> Box:
        """Grown by a margin and clipped to a ``width`` x ``height`` image."""
        return Box(max(0, self.x0 - mx), max(0, self.y0 - my), min(width, self.x1 + mx), min(height, self.y1 + my))

    def corners(self) -> tuple[Point, ...]:
        return ((self.x0, self.y0), (self.x1, self.y0), (self.x1, self.y1), (self.x0, self.y1))


@dataclass(frozen=True)
class Word:
    box: Box                       # tight box of the word's ink in the original image
    polygon: tuple[Point, ...]     # the straight box as a (rotated) quadrilateral in the original
    straight_box: Box              # box in the deskewed frame


@dataclass(frozen=True)
class Line:
    box: Box
    polygon: tuple[Point, ...]
    baseline: tuple[Point, ...]    # two points along the foot of the letters (not the descenders)
    straight_box: Box
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    """Segmentation of one image; ``angle`` is the text's skew in degrees, anticlockwise positive."""

    width: int
    height: int
    angle: float
    lines: list[Line] = field(default_factory=list)

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]

    def straighten(self, image: np.ndarray) -> np.ndarray:
        """The original image rotated into the deskewed frame that ``straight_box`` refers to."""
        if self.angle == 0.0:
            return image
        m, size = deskew_transform(self.width, self.height, self.angle)
        return cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def to_dict(self) -> dict:
        return asdict(self)


def deskew_transform(width: int, height: int, angle: float) -> tuple[np.ndarray, tuple[int, int]]:
    """Affine map (2x3) from the original image to the deskewed frame, and the frame's size."""
    if angle == 0.0:
        return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), (width, height)
    m = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), -angle, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    new_w, new_h = math.ceil(width * c + height * s), math.ceil(width * s + height * c)
    m[0, 2] += (new_w - width) / 2.0
    m[1, 2] += (new_h - height) / 2.0
    return m, (new_w, new_h)
