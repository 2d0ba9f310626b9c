"""Fine-tuning on a worker thread: loads the base model and samples, runs ``finetune``, reports progress.

The worker never writes a model file; the caller decides what to do with the result. Cancel
sets a thread-safe flag that the training loop checks before every step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from ..lib.read.modelio import ModelError, load_model
from ..lib.storage.store import SampleStore, StoreError
from ..lib.training.finetune import FinetuneConfig, FinetuneResult, finetune, replay_material
from ..lib.training.train import EpochReport
from .errors import plain_message

log = logging.getLogger("nepocr")

Material = Callable[[], tuple[Sequence[str], Sequence[Path]]]

STEP_INTERVAL = 0.1  # seconds between step signals (the loop may run much faster)


def default_material() -> tuple[list[str], list[Path]]:
    """The bundled word list and fonts used for replay and the general check."""
    from ..lib.language.lexicon import WORDS_FILE
    from ..paths import fonts_dir, lexicon_dir

    return replay_material(lexicon_dir() / WORDS_FILE, fonts_dir())


@dataclass
class FinetuneJob:
    """What to fine-tune: the base model file, which samples, and the settings."""

    base_path: Path
    store: SampleStore
    sample_ids: list[int]
    config: FinetuneConfig = field(default_factory=FinetuneConfig)
    material: Material = default_material
    background: bool = False  # started by itself after new corrections, not by the user


class FinetuneWorker(QObject):
    """Runs one :class:`FinetuneJob`; move it to a QThread and start :meth:`run`."""

    status = Signal(str)                 # what is happening, in plain words
    stepDone = Signal(int, int, float)   # step, total steps, loss
    epochDone = Signal(object)           # EpochReport
    finished = Signal(object)            # FinetuneResult (cancelled or not)
    failed = Signal(str)                 # a message for the user
    done = Signal()                      # after finished or failed

    def __init__(self, job: FinetuneJob) -> None:
        super().__init__()
        self.job = job
        self._stop = threading.Event()
        self._last_step = 0.0

    def cancel(self) -> None:
        """Ask the run to stop before its next step (safe from any thread)."""
        self._stop.set()

    def is_cancelled(self) -> bool:
        return self._stop.is_set()

    @Slot()
    def run(self) -> None:
        try:
            result = self._run()
        except ModelError as exc:
            self.failed.emit(f"The model to start from cannot be used: {exc}.")
        except StoreError as exc:
            self.failed.emit(f"Your samples could not be read: {exc}")
        except OSError as exc:
            self.failed.emit(f"Learning could not start. {plain_message(exc)}")
        except ValueError as exc:
            self.failed.emit(f"Learning could not start: {exc}.")
        except Exception as exc:
            log.warning("fine-tuning failed", exc_info=True)
            self.failed.emit(f"Learning stopped. {plain_message(exc)}")
        else:
            self.finished.emit(result)
        self.done.emit()

    def _run(self) -> FinetuneResult:
        job = self.job
        self.status.emit("Loading the model…")
        base = load_model(job.base_path)
        self.status.emit("Reading your samples…")
        source = {s.id: s.source for s in job.store.list(newest_first=False)}
        ids = [i for i in job.sample_ids if i in source]
        pairs = job.store.training_pairs(ids)
        kinds = [source[i] for i in ids] if len(pairs) == len(ids) else None
        if len(pairs) < 2:
            raise ValueError("at least 2 samples are needed")
        self.status.emit("Preparing practice words…")
        words, fonts = job.material()
        if not words or not fonts:
            raise ValueError("the bundled practice words or fonts are missing")
        self.status.emit("Measuring the model before learning…")
        return finetune(base, pairs, list(words), list(fonts), job.config, on_epoch=self._on_epoch,
                        on_step=self._on_step, should_stop=self._stop.is_set, kinds=kinds)

    def _on_step(self, step: int, total: int, loss: float) -> None:
        now = time.monotonic()
        if step == 1 or step >= total or now - self._last_step >= STEP_INTERVAL:
            self._last_step = now
            self.stepDone.emit(step, total, loss)

    def _on_epoch(self, report: EpochReport) -> None:
        self.epochDone.emit(report)


def start_worker(worker: FinetuneWorker, parent: QObject | None = None) -> QThread:
    """Run ``worker`` on a new QThread that quits when the worker is done.

    Keep a reference to ``worker`` until ``thread.finished`` and ``thread.wait()``: Python owns
    it, so it is deleted on the GUI thread only once its own thread has ended.
    """
    thread = QThread(parent)
    thread.setObjectName("finetune")
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)  # also while the GUI waits
    thread.start(QThread.Priority.LowPriority)
    return thread
