"""The Learn tab's live chart: training loss and errors on held-back words by step."""

from __future__ import annotations

import math

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

LOSS_COLOUR = "#2b7bd6"
CER_COLOUR = "#3d9a3d"


class ProgressChart(QChartView):
    """Training loss per step and held-back error rate per round, on two axes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        chart = QChart()
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        chart.legend().hide()  # each axis's title is in its line's colour: room for the plot in a short window
        chart.setMargins(QMargins(4, 4, 4, 4))
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.loss = QLineSeries(name="Training loss")
        self.cer = QLineSeries(name="Errors on held-back words (%)")
        self.cer.setPointsVisible(True)
        self.x_axis = QValueAxis(titleText="Training steps", labelFormat="%d")
        self.loss_axis = QValueAxis(titleText="Training loss", labelFormat="%g", tickCount=5)
        self.cer_axis = QValueAxis(titleText="Errors (%)", labelFormat="%g", min=0, max=100,
                                   tickCount=5)
        for series, axis, colour in ((self.loss, self.loss_axis, LOSS_COLOUR), (self.cer, self.cer_axis, CER_COLOUR)):
            pen = QPen(QColor(colour))
            pen.setWidthF(1.5 if series is self.loss else 2.0)
            series.setPen(pen)
            axis.setTitleBrush(QBrush(QColor(colour)))
        self.cer.setBrush(QBrush(QColor(CER_COLOUR)))
        chart.addSeries(self.loss)
        chart.addSeries(self.cer)
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.loss_axis, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(self.cer_axis, Qt.AlignmentFlag.AlignRight)
        for series, axis in ((self.loss, self.loss_axis), (self.cer, self.cer_axis)):
            series.attachAxis(self.x_axis)
            series.attachAxis(axis)
        self.setMinimumHeight(175)  # room for a long verdict above it in an 800-pixel window
        self.reset(1)

    def reset(self, total_steps: int) -> None:
        self.loss.clear()
        self.cer.clear()
        self._max_loss = 0.0
        self._max_cer = 0.0
        self._fit_steps(total_steps)
        self.loss_axis.setRange(0, 1)
        self.cer_axis.setRange(0, 100)

    def add_step(self, step: int, loss: float) -> None:
        if not math.isfinite(loss):
            return
        self.loss.append(step, loss)
        if loss > self._max_loss:
            self._max_loss = loss
            self.loss_axis.setRange(0, loss * 1.1)
            self.loss_axis.applyNiceNumbers()

    def add_epoch(self, step: int, cer: float) -> None:
        if math.isfinite(cer):
            self.cer.append(step, 100 * cer)
            self._fit_cer(cer)

    def set_start(self, cer: float) -> None:
        """Add the error rate before learning at step 0."""
        if math.isfinite(cer) and (self.cer.count() == 0 or self.cer.at(0).x() > 0):
            self.cer.insert(0, QPointF(0, 100 * cer))
            self._fit_cer(cer)

    def _fit_cer(self, cer: float) -> None:
        """Scale the error axis to the largest error rate seen (10%, 20%, 40%, 100%, 200%, …)."""
        self._max_cer = m = max(self._max_cer, 100 * cer)
        above = 100 if m <= 100 else 200 * math.ceil(m * 1.05 / 200)
        top = next((t for t in (10, 20, 40) if m <= 0.9 * t), above)
        self.cer_axis.setRange(0, top)

    def finish(self, last_step: int) -> None:
        """Fit the step axis to a run that stopped early."""
        if last_step > 0:
            self._fit_steps(last_step)

    def _fit_steps(self, steps: int) -> None:
        """Step axis from 0 to ``steps`` with ticks at round whole numbers (1, 2, 5, 10, 20, …
        apart), so a short run does not label two ticks with the same step."""
        steps = max(4, int(steps))
        interval = next(m * 10 ** e for e in range(12) for m in (1, 2, 5) if m * 10 ** e >= steps / 5)
        self.x_axis.setTickType(QValueAxis.TickType.TicksDynamic)
        self.x_axis.setTickAnchor(0)
        self.x_axis.setTickInterval(interval)
        self.x_axis.setRange(0, steps)
