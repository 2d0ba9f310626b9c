"""The canvas's ink: strokes as written, the steps of its history, rubbing out, and painting."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

__all__ = ["Edit", "Stroke", "paint_stroke", "rub_out", "smooth_path"]


@dataclass
class Stroke:
    """One pen-down to pen-up trace: points and the pen width at each point."""

    points: list[QPointF] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)

    def add(self, point: QPointF, width: float) -> bool:
        """Append a point unless it is too close to the last one; True if added."""
        if self.points:
            last = self.points[-1]
            if (point.x() - last.x()) ** 2 + (point.y() - last.y()) ** 2 < 1.0:
                return False
        self.points.append(QPointF(point))
        self.widths.append(width)
        return True

    def bounds(self) -> QRectF:
        xs = [p.x() for p in self.points]
        ys = [p.y() for p in self.points]
        pad = max(self.widths) / 2 + 1
        return QRectF(min(xs) - pad, min(ys) - pad, max(xs) - min(xs) + 2 * pad,
                      max(ys) - min(ys) + 2 * pad)


@dataclass(frozen=True)
class Edit:
    """One step of the canvas's history: a stroke added, all strokes cleared (with what they went
    to, if anything: see ``DrawingCanvas.clearUndone``), or ink rubbed out."""

    kind: str  # "add" | "clear" | "erase"
    strokes: list[Stroke]  # "add": the stroke; "clear", "erase": all strokes before
    mark: object | None = None
    after: list[Stroke] = field(default_factory=list)  # "erase": all strokes after


def rub_out(stroke: Stroke, start: QPointF, end: QPointF, radius: float) -> list[Stroke] | None:
    """What is left of ``stroke`` once the ink within ``radius`` page units of the eraser's path
    from ``start`` to ``end`` is rubbed out: the pieces on either side of it (none if it took all),
    or None if it missed. A long headline loses only the part under the eraser, not the letters it
    joins."""
    pts = np.array([(p.x(), p.y()) for p in stroke.points], np.float64)
    widths = np.asarray(stroke.widths, np.float64)
    a, b = np.array([start.x(), start.y()]), np.array([end.x(), end.y()])
    reach = radius + float(widths.max()) / 2
    if (pts.min(axis=0) > np.maximum(a, b) + reach).any() or (pts.max(axis=0) < np.minimum(a, b) - reach).any():
        return None  # nowhere near
    own = np.ones(len(pts), bool)  # the stroke's own points (not added below)
    if len(pts) > 1:  # points at most a third of the eraser apart, so that it cuts where it is
        seg = np.hypot(*np.diff(pts, axis=0).T)
        n = np.maximum(1, np.ceil(seg / (radius / 3)).astype(int))
        t = np.concatenate([np.arange(k) / k + i for i, k in enumerate(n)] + [[len(pts) - 1]])
        own = t == np.round(t)
        pts = np.column_stack([np.interp(t, np.arange(len(pts)), pts[:, j]) for j in (0, 1)])
        widths = np.interp(t, np.arange(len(widths)), widths)
    ab = b - a  # the distance of each point from the eraser's path
    along = np.clip((pts - a) @ ab / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    gone = np.hypot(*(pts - a - along[:, None] * ab).T) <= radius + widths / 2
    if not gone.any():
        return None
    pieces = []
    for run in np.split(np.arange(len(pts)), np.flatnonzero(np.diff(gone.astype(int))) + 1):
        if gone[run[0]] or (len(run) < 2 and len(stroke.points) > 1):
            continue
        keep = [i for i in run if own[i] or i in (run[0], run[-1])]  # the cut ends, and the stroke's points
        pieces.append(Stroke([QPointF(*pts[i]) for i in keep], [float(widths[i]) for i in keep]))
    return pieces


def paint_stroke(painter: QPainter, stroke: Stroke, color: QColor) -> None:
    """Quadratic curves through the midpoints of successive points (smooth, no corners)."""
    pts, widths = stroke.points, stroke.widths
    if not pts:
        return
    if len(pts) == 1 or len(set(widths)) == 1 and len(pts) > 1:
        pen = QPen(color, widths[0], Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                   Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        if len(pts) == 1:
            painter.drawPoint(pts[0])
            return
        painter.drawPath(smooth_path(pts))
        return
    # varying pressure: one curve piece per point, each with its own width
    start = pts[0]
    for i in range(1, len(pts)):
        end = (pts[i] + pts[i + 1]) / 2 if i + 1 < len(pts) else pts[i]
        piece = QPainterPath(start)
        piece.quadTo(pts[i], end)
        painter.setPen(QPen(color, (widths[i - 1] + widths[i]) / 2, Qt.PenStyle.SolidLine,
                            Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        painter.drawPath(piece)
        start = end


def smooth_path(pts: list[QPointF]) -> QPainterPath:
    path = QPainterPath(pts[0])
    if len(pts) == 2:
        path.lineTo(pts[1])
        return path
    for i in range(1, len(pts) - 1):
        path.quadTo(pts[i], (pts[i] + pts[i + 1]) / 2)
    path.lineTo(pts[-1])
    return path
