"""The user's model versions: which one is in use, switching, going back to the original, deleting."""

from __future__ import annotations

import math
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..lib.read.modelio import ModelError
from ..lib.storage.library import BUNDLED, ModelEntry, ModelLibrary
from .style import COLOR_ERROR_TEXT, COLOR_OK_TEXT

COLUMNS = ("In use", "Model", "Started from", "Samples", "Your words", "General check", "Made")
TIPS = {4: "Share of wrong characters on your held-back words, before → after learning",
        5: "Share of wrong characters on a fixed set of printed practice words, before → after learning"}
COL_NAME = 1


def cer_percent(value: float | None) -> str:
    """A CER as a short percentage (one decimal below 10%); ``–`` when unknown."""
    if value is None or not isinstance(value, (int, float)) or math.isnan(value):
        return "–"
    p = 100 * value
    return f"{p:.0f}%" if p >= 10 or p == 0 else f"{p:.1f}%"


def change(before: float | None, after: float | None) -> str:
    if before is None and after is None:
        return "–"
    return f"{cer_percent(before)} → {cer_percent(after)}"


def display_name(entry: ModelEntry) -> str:
    if entry.name == BUNDLED:
        return "Original model"
    made = (entry.info.metadata.get("finetuned") if entry.info else None) or ""
    try:
        return "My handwriting, " + datetime.strptime(made, "%Y-%m-%d %H:%M:%S").strftime("%d %b %Y")
    except ValueError:
        return entry.name


class ModelManager(QWidget):
    """The models of a :class:`ModelLibrary`; ``modelChanged(path)`` when the one in use changes."""

    modelChanged = Signal(str)

    def __init__(self, library: ModelLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self._names: dict[str, str] = {}
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        for col, tip in TIPS.items():
            self.tree.headerItem().setToolTip(col, tip)
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        # every column as wide as its contents (names in full); a narrow window scrolls, and
        # whatever is still cut is cut in the middle and shown whole in the tooltip
        header.setStretchLastSection(True)
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.use_button = QPushButton("Use this model")
        self.original_button = QPushButton("Go back to the original")
        self.delete_button = QPushButton("Delete")
        self.message = QLabel(wordWrap=True)
        self.message.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.original_button)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tree, 1)
        lay.addWidget(self.message)
        lay.addLayout(buttons)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemDoubleClicked.connect(lambda *_: self.use_selected())
        self.use_button.clicked.connect(self.use_selected)
        self.original_button.clicked.connect(lambda: self.activate(BUNDLED))
        self.delete_button.clicked.connect(self.delete_selected)
        self.refresh()

    # -- listing --

    def refresh(self) -> None:
        """Re-read the library and mark the model in use."""
        selected = self.selected_name()
        active = self.library.active()
        self.tree.clear()
        bold = QFont()
        bold.setBold(True)
        entries = self.library.entries()
        self._names = {e.name: display_name(e) for e in entries}
        bundled = entries[0]
        self._names[bundled.path.name] = display_name(bundled)
        if bundled.info and bundled.info.metadata.get("name"):
            self._names[str(bundled.info.metadata["name"])] = display_name(bundled)
        for entry in entries:
            item = QTreeWidgetItem(self._row(entry))
            item.setData(0, Qt.ItemDataRole.UserRole, entry.name)
            for col in range(1, len(COLUMNS)):
                if item.text(col):
                    item.setToolTip(col, item.text(col))
            item.setTextAlignment(0, Qt.AlignmentFlag.AlignCenter)
            if entry.error:
                item.setToolTip(COL_NAME, f"This model cannot be used: {entry.error}")
                item.setForeground(COL_NAME, Qt.GlobalColor.darkRed)
            if entry.name == active.name:
                item.setText(0, "✓")
                for col in range(len(COLUMNS)):
                    item.setFont(col, bold)
            self.tree.addTopLevelItem(item)
            if entry.name == selected:
                item.setSelected(True)
        if active.warning:
            self.show_message(active.warning)
        self._update_buttons()

    def _row(self, entry: ModelEntry) -> list[str]:
        if entry.info is None:
            return ["", f"{entry.name} (damaged)", "", "", "", "", ""]
        m = entry.info.metadata
        if entry.name == BUNDLED:
            return ["", display_name(entry), "–", "–", "–", "–", "comes with nepocr"]
        samples = m.get("user_samples")
        base = str(m.get("base_model", ""))
        return ["", display_name(entry), self._names.get(base, base or "–"),
                "" if samples is None else f"{samples}{' drawings' if m.get('learned_for') == 'drawings' else ''}",
                change(m.get("user_cer_before"), m.get("user_cer_after")),
                change(m.get("general_cer_before"), m.get("general_cer_after")),
                str(m.get("finetuned", ""))[:16]]

    def names(self) -> list[str]:
        """Model names in list order (``bundled`` first)."""
        return [self.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
                for i in range(self.tree.topLevelItemCount())]

    def selected_name(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def select(self, name: str) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setSelected(item.data(0, Qt.ItemDataRole.UserRole) == name)

    # -- actions --

    def show_message(self, text: str, error: bool = True) -> None:
        color = COLOR_ERROR_TEXT if error else COLOR_OK_TEXT
        self.message.setStyleSheet(f"QLabel {{ color: {color}; }}")
        self.message.setText(text)
        self.message.show()

    def activate(self, name: str) -> bool:
        """Make ``name`` the model in use; show why not if it cannot be used."""
        try:
            self.library.activate(name)
        except (ModelError, OSError) as exc:
            self.show_message(f"That model cannot be used: {exc}")
            self.refresh()
            return False
        self.message.hide()
        self.refresh()
        active = self.library.active()
        self.modelChanged.emit(str(active.path))
        return True

    def use_selected(self) -> None:
        name = self.selected_name()
        if name and name != self.library.active_name():
            self.activate(name)

    def delete_selected(self) -> None:
        name = self.selected_name()
        if not name or name == BUNDLED:
            return
        in_use = name == self.library.active_name()
        extra = " It is in use; the original model will be used instead." if in_use else ""
        answer = QMessageBox.question(self, "Delete model", f"Delete this model version?{extra}",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self.library.delete(name)
        except (OSError, ValueError) as exc:
            self.show_message(f"The model could not be deleted: {exc}")
            return
        self.refresh()
        if in_use:
            self.modelChanged.emit(str(self.library.active().path))

    def _update_buttons(self) -> None:
        name = self.selected_name()
        active = self.library.active_name()
        self.use_button.setEnabled(bool(name) and name != active)
        self.original_button.setEnabled(active != BUNDLED)
        self.delete_button.setEnabled(bool(name) and name != BUNDLED)
