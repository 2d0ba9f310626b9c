"""Preferences, keyboard shortcuts and About dialogs."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..lib.read.devices import DEVICES
from .settings import Settings
from .style import app_icon
from .workers import ModelSummary


class PreferencesDialog(QDialog):
    """Pen width, auto-recognition delay and decoding options."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.pen = QDoubleSpinBox(self)
        self.pen.setRange(1.0, 40.0)
        self.pen.setSingleStep(0.5)
        self.pen.setSuffix(" px")
        self.pen.setValue(settings.pen_width)
        self.delay = QSpinBox(self)
        self.delay.setRange(0, 10_000)
        self.delay.setSingleStep(100)
        self.delay.setSuffix(" ms")
        self.delay.setSpecialValueText("off (press Ctrl+R)")
        self.delay.setValue(settings.auto_delay)
        self.beam = QSpinBox(self)
        self.beam.setRange(1, 64)
        self.beam.setValue(settings.beam)
        self.beam.setToolTip("1 reads fastest; wider beams also offer alternative readings")
        self.lexicon = QCheckBox("Prefer likely Nepali words", self)
        self.lexicon.setToolTip("Where the handwriting is unclear, lean towards words of the Nepali "
                                "word list and likely spellings; other words are still read")
        self.lexicon.setChecked(settings.lexicon)
        self.device = QComboBox(self)
        for name, title in zip(DEVICES, ("Automatic (GPU if available)", "CPU", "GPU (CUDA)")):
            self.device.addItem(title, name)
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        form = QFormLayout()
        form.addRow("Pen width:", self.pen)
        form.addRow("Read the drawing after:", self.delay)
        form.addRow("Beam width:", self.beam)
        form.addRow("", self.lexicon)
        form.addRow("Run the model on:", self.device)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def apply(self, settings: Settings) -> bool:
        """Store the choices; True when the model must be reloaded or reconfigured."""
        reload = (settings.beam != self.beam.value() or settings.lexicon != self.lexicon.isChecked()
                  or settings.device != self.device.currentData())
        settings.pen_width = self.pen.value()
        settings.auto_delay = self.delay.value()
        settings.beam = self.beam.value()
        settings.lexicon = self.lexicon.isChecked()
        settings.device = str(self.device.currentData())
        settings.sync()
        return reload


def shortcuts_dialog(actions: list[QAction], parent: QWidget | None = None) -> QDialog:
    """A table of every action that has a shortcut."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Keyboard shortcuts")
    rows = [(a.iconText().replace("&", "").rstrip("…").rstrip("."),  # the icon text stays put (Undo's text follows the step)
             ",  ".join(s.toString(s.SequenceFormat.NativeText) for s in a.shortcuts()))
            for a in actions if a.shortcuts()]
    table = QTableWidget(len(rows), 2, dialog)
    table.setHorizontalHeaderLabels(["Action", "Shortcut"])
    for i, (name, keys) in enumerate(rows):
        table.setItem(i, 0, QTableWidgetItem(name))
        table.setItem(i, 1, QTableWidgetItem(keys))
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    note = QLabel("On the canvas: draw with the mouse, a pen (pressure sets the width) or a finger; "
                  "rub out strokes with the right mouse button or the pen's eraser end. "
                  "In the image: Ctrl+wheel zooms, drag selects a region, middle button or "
                  "Space+drag pans.", dialog)
    note.setWordWrap(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    layout.addWidget(note)
    layout.addWidget(buttons)
    dialog.resize(520, 560)
    return dialog


def about_text(summary: ModelSummary | None, samples: int | None) -> str:
    """Rich text for the About box: version, model facts and where data is kept."""
    from ..paths import user_data_dir

    lines = [f"<h3>nepocr {__version__}</h3>",
             "<p>Handwritten Nepali (Devanagari) to Unicode text, entirely on this computer.</p>"]
    if summary is None:
        lines.append("<p><b>Model:</b> not loaded</p>")
    else:
        lines.append(f"<p><b>Model:</b> {html.escape(summary.title)}<br>"
                     f"<b>File:</b> {html.escape(summary.path)}<br>"
                     f"<b>Running on:</b> {html.escape(summary.runs_on)}</p>")
        if summary.drawings_apart and summary.metadata.get("learned_for") != "drawings":  # else its fact says so
            from ..lib.read.branch import canvas_only  # imports torch: a model is loaded here
            from ..lib.read.surer import reads_surer
            both = ("and by the model's main network, and keep the reading the surer of the two gives; "
                    if reads_surer(summary.metadata) else "; ")
            lines.append("<p>Writing on the Write tab is read by a network of its own; photos and scans are "
                         "read by the main network.</p>" if canvas_only(summary.metadata) else
                         f"<p>Drawings and black-and-white scans are read by a network of their own {both}"
                         "photos are read by the main network.</p>")
        facts = [(FACT_NAMES.get(k, k.replace("_", " ")), _fmt(k, v)) for k, v in summary.metadata.items()
                 if isinstance(v, (str, int, float))
                 and k not in ("name", "command", "trained", "drawings_scope")]  # the scope: said above
        if facts:
            rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                           for k, v in facts)  # as the file lists them: "before" ahead of "after"
            lines.append(f"<table cellspacing='4'>{rows}</table>")
    if samples is not None:
        lines.append(f"<p><b>Saved samples:</b> {samples}</p>")
    lines.append(f"<p><b>Your data:</b> {html.escape(str(user_data_dir()))}</p>"
                 "<p>Font: Noto Sans Devanagari (SIL Open Font License 1.1).</p>")
    return "".join(lines)


FACT_NAMES = {
    "val_cer": "Character error rate (validation)", "val_wer": "Word error rate (validation)",
    "epoch": "Training epochs", "step": "Training steps", "spec_name": "Size",
    "base_model": "Based on", "finetuned": "Personalised", "user_samples": "Your samples used",
    "user_cer_before": "Your error rate before", "user_cer_after": "Your error rate after",
    "general_cer_before": "General error rate before", "general_cer_after": "General error rate after",
    "learned_for": "Learned for", "drawings_read": "Drawings read by",
    "learning_rate": "Learning rate", "accepted": "Kept after the checks", "judged_words": "Checked on",
    "judgement": "Verdict", "share_learned": "Share of the change kept",
}
LEARNED_FOR = {"drawings": "drawings and black-and-white scans (photos are read as before)",
               "all": "every kind of image"}
DRAWINGS_READ = {"alone": "the network that learned them",
                 "surer": "the network that learned them and the main one, each word keeping the surer reading"}


VERDICTS = {"better": "reads your handwriting better", "probably_better": "probably reads your handwriting better",
            "too_few": "too few of your words to tell", "not_better": "not better on your words",
            "general_worse": "reads general words worse",
            "not_judged": "none of your words could be held back to check it"}


WORDED = {"learned_for": LEARNED_FOR, "drawings_read": DRAWINGS_READ, "judgement": VERDICTS}  # values in words


def _fmt(key: str, value: object) -> str:
    if key in WORDED:
        return WORDED[key].get(str(value), str(value).replace("_", " "))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "judged_words" and isinstance(value, int):
        return f"{value} of your words it had not learned from"
    if key == "share_learned" and isinstance(value, (int, float)):
        return f"{round(100 * value)} %"
    if isinstance(value, float) and ("cer" in key or "wer" in key):
        return f"{value * 100:.1f} %"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def show_about(parent: QWidget, summary: ModelSummary | None, samples: int | None) -> None:
    box = QMessageBox(parent)
    box.setWindowTitle("About nepocr")
    box.setIconPixmap(app_icon().pixmap(64, 64))
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_text(summary, samples))
    box.exec()
