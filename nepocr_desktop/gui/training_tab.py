"""The "Learn my handwriting" tab: the stored samples, fine-tuning with live progress, the model versions.

Fine-tuning runs on a :class:`FinetuneWorker` thread; nothing is written until the user keeps
the result, which then becomes the active model (``modelChanged(path)`` is emitted).

Background learning (a setting, on by default): when ``learn_every`` new corrections have been
saved since the last run, a run starts by itself on the low-priority thread from the original
model; its result is kept (and made active) only when it passes its checks, and a non-modal
message in the tab and the status bar says what changed.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time

from PySide6.QtCore import Qt, QThread, QTimer, Signal
from PySide6.QtGui import QFont, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..lib.read.modelio import ModelError
from ..lib.storage.library import ModelLibrary
from ..lib.storage.store import SampleStore, StoreError
from ..lib.training.finetune import FinetuneConfig, FinetuneResult
from ..lib.training.train import EpochReport
from .chart import ProgressChart
from .finetune_worker import FinetuneJob, FinetuneWorker, Material, default_material, start_worker
from .model_manager import ModelManager, cer_percent
from .sample_table import SamplePanel
from .settings import Settings
from .wrapped_label import WrappedLabel

log = logging.getLogger("nepocr")

MIN_SAMPLES = 10
BACKGROUND_POLL_MS = 30_000  # how often to look for new corrections saved elsewhere
START_ORIGINAL, START_ACTIVE = 0, 1


def duration(seconds: float) -> str:
    """``40 s`` / ``3 min``, rounded for reading."""
    if seconds < 60:
        return f"{max(1, round(seconds / 5) * 5 if seconds > 10 else round(seconds))} s"
    return f"{round(seconds / 60)} min"


def result_text(res: FinetuneResult) -> str:
    """Before/after error rates of the new model in plain words, with what they were judged on."""
    j = res.judgement
    after_user = res.candidate_user_cer if j is not None else res.user_cer_after
    after_general = res.candidate_general_cer if j is not None else res.general_cer_after
    if math.isnan(res.user_cer_before):
        user = "Errors on your words: not measured (too few samples to hold some back)"
    else:
        user = f"Errors on your words: {cer_percent(res.user_cer_before)} → {cer_percent(after_user)}"
        if j is not None:
            user += f" (on {j.judged_words} word{'s' if j.judged_words != 1 else ''} it had not learned from)"
    return f"{user}; general check: {cer_percent(res.general_cer_before)} → {cer_percent(after_general)}"


APART_NOTE = "It learned from drawings alone and reads only drawings and black-and-white scans; photos are read as before."


def verdict(res: FinetuneResult) -> str:
    """Advice on whether to keep the result: the judgement's reason and what to do."""
    advice = _advice(res)
    return f"{advice} {APART_NOTE}" if res.apart and res.judgement is not None else advice


def _advice(res: FinetuneResult) -> str:
    j = res.judgement
    if j is None:  # a result without a judgement (older callers)
        if math.isnan(res.user_cer_before):
            return "Add more samples for a reliable check."
        if res.user_cer_after < res.user_cer_before - 0.005:
            return "The new model reads your handwriting better. Keep it to use it from now on."
        return "The new model is not better on your words. Discard it, correct more words and try again."
    if not j.accepted:
        return (f"{j.reason} Discarding it is recommended; the words you corrected are read as known words "
                "all the same. Correct more words and try again.")
    if j.claim == "too_few":
        return f"{j.reason} You can keep it, or correct more words first for a reliable check."
    return f"{j.reason} Keep it to use it from now on."


def background_message(res: FinetuneResult, kept: bool) -> str:
    """What a background run changed, in one or two sentences."""
    j = res.judgement
    reason = j.reason if j is not None else ""
    if kept:
        apart = f" {APART_NOTE}" if res.apart else ""
        return (f"Learned from {res.train_samples} of your corrections in the background. {reason}{apart} The "
                "new model is now in use; the previous one is still listed under Your models.")
    return f"Practised on {res.train_samples} of your corrections in the background. {reason}"


class TrainingTab(QWidget):
    """Samples list, the "Learn my handwriting" run and the model versions."""

    modelChanged = Signal(str)   # path of the model now in use
    samplesChanged = Signal()

    backgroundFinished = Signal(str)  # what a background run changed, for the status bar

    def __init__(self, store: SampleStore, library: ModelLibrary, defaults: FinetuneConfig | None = None,
                 material: Material = default_material, parent: QWidget | None = None,
                 settings: Settings | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.library = library
        self.settings = settings if settings is not None else Settings()
        self._background = False
        self._learned_before = 0  # learned_at_count before a background run moved it on
        self._stopped_for = ""  # why a run was stopped by the app, not by the person
        self.defaults = defaults or FinetuneConfig()
        self.material = material
        self.result: FinetuneResult | None = None
        self._worker: FinetuneWorker | None = None
        self._thread: QThread | None = None
        self._ids: list[int] = []
        self._t_first: tuple[float, int] | None = None
        self._last_step = 0
        self._sample_count = 0
        self._store_mark: tuple[int, int] = (-1, -1)

        self.samples = SamplePanel(store)
        self.models = ModelManager(library)
        samples_box = QGroupBox("Your samples")
        QVBoxLayout(samples_box).addWidget(self.samples)
        models_box = QGroupBox("Your models")
        QVBoxLayout(models_box).addWidget(self.models)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self._build_learn_box(), 3)
        rl.addWidget(models_box, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(samples_box)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([660, 700])
        splitter.setChildrenCollapsible(False)
        QVBoxLayout(self).addWidget(splitter)

        self.samples.samplesChanged.connect(self._on_samples_changed)
        self.samples.samplesAltered.connect(self.samples_altered)
        self.models.modelChanged.connect(self._on_model_switched)
        self.learn_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.keep_button.clicked.connect(self.keep)
        self.discard_button.clicked.connect(self.discard)
        self.background_check.toggled.connect(self._set_background)
        # background learning: look for new corrections now and then (and when one is saved:
        # the window calls check_background)
        self._poll = QTimer(self, interval=BACKGROUND_POLL_MS)
        self._poll.timeout.connect(self.check_background)
        self._poll.start()
        self.refresh()

    # -- layout --

    def _build_learn_box(self) -> QGroupBox:
        box = QGroupBox("Adapt to your handwriting")
        self.learn_button = QPushButton("&Learn my handwriting")  # Alt+L
        font = QFont(self.learn_button.font())
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.learn_button.setFont(font)
        self.learn_button.setMinimumHeight(52)
        self.learn_button.setStyleSheet(
            "QPushButton { background: #1a73e8; color: white; border-radius: 6px; padding: 6px 18px; }"
            "QPushButton:hover { background: #1765cc; }"
            "QPushButton:disabled { background: #c7d3e3; color: #f4f6fa; }")
        self.hint = QLabel(wordWrap=True)
        self.background_check = QCheckBox()
        self.background_check.setChecked(self.settings.background_learning)
        self.background_check.setToolTip("After every few corrections the app practises on them while you "
                                          "work, and switches to the new model only if it passes its checks")
        self._update_background_text()

        self.advanced_toggle = QToolButton(text="Advanced", checkable=True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced = QWidget()
        form = QFormLayout(self.advanced)
        form.setContentsMargins(18, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.epochs_spin = QSpinBox(minimum=0, maximum=100, value=self.defaults.epochs)
        self.epochs_spin.setSpecialValueText("Automatic")  # at 0: 8, or 10 for many drawings
        self.epochs_spin.setToolTip("How many times to go over your samples (each time changed a little: "
                                    "slant, width, pen); more rounds take longer. Automatic goes over "
                                    "drawings more often than photos")
        self.lr_spin = QDoubleSpinBox(decimals=5, minimum=0.0, maximum=0.01, singleStep=0.0001,
                                      value=self.defaults.lr)
        self.lr_spin.setSpecialValueText("Automatic")  # at 0: chosen from the number of samples
        self.lr_spin.setToolTip("How big each learning step is; too big can make the model worse. "
                                "Automatic picks a smaller step for few samples")
        self.replay_spin = QSpinBox(minimum=0, maximum=90, suffix=" %",
                                    value=round(100 * (self.defaults.replay or 0)))
        self.replay_spin.setSpecialValueText("Automatic")  # at 0: chosen from the number of samples
        self.replay_spin.setToolTip("Printed practice words mixed in, so the model keeps reading "
                                    "other writing. Automatic uses more of them for few samples")
        self.start_combo = QComboBox()
        self.start_combo.addItems(["The original model", "The model in use"])
        form.addRow("Rounds", self.epochs_spin)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("General practice words", self.replay_spin)
        form.addRow("Start from", self.start_combo)
        self.advanced.setVisible(False)
        self.advanced_toggle.toggled.connect(self._toggle_advanced)

        self.status = QLabel(wordWrap=True)
        self.progress = QProgressBar(textVisible=True)
        self.eta = QLabel()
        self.cancel_button = QPushButton("Cancel")
        run_row = QHBoxLayout()
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.eta)
        run_row.addWidget(self.cancel_button)
        self.run_area = QWidget()
        ra = QVBoxLayout(self.run_area)
        ra.setContentsMargins(0, 0, 0, 0)
        ra.addWidget(self.status)
        ra.addLayout(run_row)
        self.chart = ProgressChart()

        self.result_frame = QFrame(frameShape=QFrame.Shape.StyledPanel)
        self.result_frame.setStyleSheet("QFrame { background: #f1f6fe; border-radius: 6px; }")
        self.result_label = WrappedLabel()
        rfont = QFont(self.result_label.font())
        rfont.setBold(True)
        rfont.setPointSizeF(rfont.pointSizeF() * 1.1)
        self.result_label.setFont(rfont)
        self.verdict_label = WrappedLabel()
        self.keep_button = QPushButton("Keep this model")
        self.keep_button.setDefault(True)
        self.discard_button = QPushButton("Discard")
        rb = QHBoxLayout()
        rb.addStretch(1)
        rb.addWidget(self.discard_button)
        rb.addWidget(self.keep_button)
        rl = QVBoxLayout(self.result_frame)
        rl.addWidget(self.result_label)
        rl.addWidget(self.verdict_label)
        rl.addLayout(rb)

        self.message = QLabel(wordWrap=True)
        self.message.hide()

        lay = QVBoxLayout(box)
        top = QHBoxLayout()
        top.addWidget(self.learn_button)
        top.addStretch(1)
        lay.addLayout(top)
        lay.addWidget(self.hint)
        lay.addWidget(self.background_check)
        lay.addWidget(self.advanced_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.advanced)
        lay.addWidget(self.message)
        lay.addWidget(self.run_area)
        lay.addWidget(self.result_frame)
        lay.addWidget(self.chart, 1)
        self.run_area.hide()
        self.result_frame.hide()
        return box

    def _update_background_text(self) -> None:
        self.background_check.setText(f"Learn in the background after every {self.settings.learn_every} "
                                      "new corrections")

    def _set_background(self, on: bool) -> None:
        self.settings.background_learning = on
        if on:
            QTimer.singleShot(0, self.check_background)

    def _toggle_advanced(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    # -- state --

    def is_busy(self) -> bool:
        """True while a run is in progress."""
        return self._thread is not None

    def refresh(self) -> None:
        """Re-read samples and models (call after samples were saved elsewhere)."""
        self.samples.refresh()
        self.models.refresh()
        self._update_state()

    def refresh_if_changed(self) -> None:
        """Re-read the samples only when the store changed since the last look."""
        if self._read_mark() != self._store_mark:
            self.samples.refresh()
            self._update_state()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh_if_changed()

    def _read_mark(self) -> tuple[int, int]:
        try:
            newest = self.store.list(limit=1)
            return self.store.count(), newest[0].id if newest else 0
        except StoreError:
            return (-1, -1)

    def _on_samples_changed(self) -> None:
        self._update_state()
        self.samplesChanged.emit()

    def _update_state(self) -> None:
        self._store_mark = self._read_mark()
        self._sample_count = max(0, self._store_mark[0])
        n = self._sample_count
        busy = self.is_busy()
        pending = self.result is not None
        ready = n >= MIN_SAMPLES
        self.learn_button.setEnabled(ready and not busy and not pending)
        if busy:
            self.hint.setText("You can keep using the app while it learns. Cancel stops without changing "
                              "anything.")
        elif pending:
            self.hint.setText("Keep or discard the new model to start again.")
        elif ready:
            self.hint.setText(f"Uses your {n} samples. Usually takes a minute or two; you can keep using "
                              "the app meanwhile.")
        else:
            self.hint.setText(f"Correct at least {MIN_SAMPLES} words first: you have {n}. Words you correct "
                              "are saved here, and read as known words from then on; labelled images can be "
                              "added with Import folder… below.")
        self.advanced.setEnabled(not busy)

    def config(self) -> FinetuneConfig:
        """The settings for the next run: the defaults with the Advanced fields applied."""
        cfg = dataclasses.replace(self.defaults)
        cfg.epochs = self.epochs_spin.value()
        cfg.lr = self.lr_spin.value()
        cfg.replay = self.replay_spin.value() / 100 if self.replay_spin.value() else None
        return cfg

    def show_message(self, text: str, error: bool = True) -> None:
        color = ("#fdecea", "#8a1c12") if error else ("#e6f4ea", "#1e5631")
        self.message.setStyleSheet(f"QLabel {{ background: {color[0]}; color: {color[1]}; padding: 6px;"
                                   " border-radius: 4px; }")
        self.message.setText(text)
        self.message.show()

    # -- the run --

    def check_background(self) -> None:
        """Start a background run when it is on and enough new corrections were saved since the last."""
        if not self.settings.background_learning or self.is_busy() or self.result is not None:
            return
        try:
            n = self.store.count()
        except StoreError:
            return
        last = self.settings.learned_at_count
        if n < last:  # samples were deleted: count from here
            self.settings.learned_at_count = last = n
        if n >= MIN_SAMPLES and n - last >= self.settings.learn_every:
            self.start(background=True)

    def start(self, background: bool = False) -> None:
        """Start learning from all stored samples (``background``: started by itself; the result is
        kept only when it passes its checks, and the run starts from the original model)."""
        if self.is_busy() or self.result is not None:
            return
        try:
            self._ids = [s.id for s in self.store.list(newest_first=False)]
        except StoreError as exc:
            self.show_message(str(exc))
            return
        if len(self._ids) < MIN_SAMPLES:
            self._update_state()
            return
        if self.start_combo.currentIndex() == START_ACTIVE and not background:
            active = self.library.active()
            base = active.path
        else:
            base = self.library.bundled
        self._background = background
        self._stopped_for = ""
        if background:
            self._learned_before = self.settings.learned_at_count
            self.settings.learned_at_count = len(self._ids)
        job = FinetuneJob(base, self.store, self._ids, self.config(), self.material, background=background)
        self._worker = FinetuneWorker(job)
        self._worker.status.connect(self.status.setText)
        self._worker.stepDone.connect(self._on_step)
        self._worker.epochDone.connect(self._on_epoch)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self.message.hide()
        self.result_frame.hide()
        self.chart.reset(1)
        self.progress.setRange(0, 0)
        self.eta.clear()
        self.status.setText("Learning from your new corrections in the background…" if background
                            else "Getting ready…")
        self.cancel_button.setEnabled(True)
        self.run_area.show()
        self._t_first, self._last_step = None, 0
        self._thread = start_worker(self._worker, self)
        self._thread.finished.connect(self._on_done)
        self._update_state()

    def cancel(self) -> None:
        """Stop the run; nothing is saved and the model in use stays as it was."""
        if self._worker is not None:
            self._worker.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Stopping…")

    def samples_altered(self, ids: list[int]) -> None:
        """Samples were deleted or relabelled (on this tab, or a save undone with Ctrl+Z): a run
        learning from any of them is stopped, so that no model learns what the person took back.
        A background run starts again by itself, from the samples as they are then."""
        if not self.is_busy() or self._stopped_for or not set(ids) & set(self._ids):
            return
        what = "a sample it was learning from" if len(ids) == 1 else "samples it was learning from"
        self._stopped_for = f"{what} changed"
        if self._background:
            self.settings.learned_at_count = self._learned_before
        self.cancel()

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Cancel a run and wait for its thread (call before the window closes)."""
        thread = self._thread
        if thread is not None:
            self.cancel()
            thread.wait(timeout_ms)

    def _on_step(self, step: int, total: int, loss: float) -> None:
        if self._worker is None or self._worker.is_cancelled():
            return
        now = time.monotonic()
        if self._t_first is None:
            self._t_first = (now, step)
            self.chart.reset(total)
            self.status.setText("Learning from your new corrections in the background…" if self._background
                                else "Learning from your samples…")
        self.progress.setRange(0, total)
        self.progress.setValue(step)
        self._last_step = step
        self.chart.add_step(step, loss)
        t0, s0 = self._t_first
        if step > s0:
            left = (now - t0) / (step - s0) * (total - step)
            self.eta.setText(f"about {duration(left)} left" if step < total else "")
        if step >= total:
            self.status.setText("Checking the new model…")

    def _on_epoch(self, report: EpochReport) -> None:
        self.chart.add_epoch(report.step, report.val_cer)

    def _on_finished(self, result: FinetuneResult) -> None:
        if self._stopped_for:
            again = ("It starts again by itself, from your samples as they are now." if self._background
                     else "Learn again to use the samples as they are now.")
            self.show_message(f"Learning stopped: {self._stopped_for}. Nothing was changed. {again}", error=False)
            return
        if result.cancelled or result.model is None:
            self.show_message("Stopped. Nothing was changed; the model in use is the same as before.",
                              error=False)
            return
        if self._background:
            self._finish_background(result)
            return
        self.result = result
        log.info("fine-tuning finished: %d samples, CER %.4f -> %.4f, general %.4f -> %.4f, %.1f s",
                 result.train_samples, result.user_cer_before, result.user_cer_after,
                 result.general_cer_before, result.general_cer_after, result.seconds)
        self.chart.set_start(result.user_cer_before)
        self.chart.finish(self._last_step)
        self.result_label.setText(result_text(result))
        j = result.judgement
        how = f"; checked by {j.method}" if j is not None and j.method else ""
        self.verdict_label.setText(
            f"{verdict(result)}\nLearned from {result.train_samples} samples in {duration(result.seconds)}{how}.")
        self.keep_button.setText("Keep this model" if result.accepted or j is None else "Keep it anyway")
        self.keep_button.setDefault(result.accepted)
        self.discard_button.setDefault(not result.accepted)
        self.result_frame.show()

    def _finish_background(self, result: FinetuneResult) -> None:
        """Keep a background result only when it passed its checks, and say what changed."""
        log.info("background learning: %d samples, accepted %s (%s)", result.train_samples, result.accepted,
                 result.judgement.claim if result.judgement else "-")
        kept = False
        if result.accepted and result.model is not None:
            model, drawings = result.networks()
            try:
                path = self.library.add(model, result.info, activate=True, drawings=drawings)
                self.store.mark_used(self._ids)
            except (ModelError, OSError, RuntimeError, StoreError) as exc:
                self.show_message(f"Background learning could not save the new model: {exc}")
                return
            kept = True
            self.samples.refresh()
            self.models.refresh()
            self.modelChanged.emit(str(path))
        text = background_message(result, kept)
        self.show_message(text, error=False)
        self.backgroundFinished.emit(text)
        window = self.window()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage(text, 15000)

    def _on_failed(self, message: str) -> None:
        self.show_message(message)

    def _on_done(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.wait()  # finished was emitted from the thread; let it end before deleting anything
            thread.deleteLater()
        self._worker = None
        self._background = False
        self.run_area.hide()
        self._update_state()

    def keep(self) -> None:
        """Save the new model as a version, make it the one in use and count the samples as used."""
        res = self.result
        if res is None or res.model is None:
            return
        model, drawings = res.networks(anyway=True)  # "keep it anyway": the new network all the same
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            path = self.library.add(model, res.info, activate=True, drawings=drawings)
        except (ModelError, OSError, RuntimeError) as exc:
            self.show_message(f"The new model could not be saved: {exc}")
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.result = None
        self.result_frame.hide()
        try:
            self.store.mark_used(self._ids)
        except StoreError as exc:
            self.show_message(f"The model was saved, but the samples could not be marked as used: {exc}")
        else:
            self.show_message("The new model is now in use.", error=False)
        self.samples.refresh()
        self.models.refresh()
        self._update_state()
        self.modelChanged.emit(str(path))

    def _on_model_switched(self, path: str) -> None:
        """Another model was chosen in the list: what the last run said no longer holds."""
        self.message.hide()
        self.modelChanged.emit(path)

    def discard(self) -> None:
        """Forget the new model; nothing is written."""
        if self.result is None:
            return
        self.result = None
        self.result_frame.hide()
        self.show_message("Discarded. The model in use is the same as before.", error=False)
        self._update_state()
