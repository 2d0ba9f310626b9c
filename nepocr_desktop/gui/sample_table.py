"""The user's stored samples as a Qt table: thumbnail, label (editable), prediction, source, date, use.

:class:`SampleTableModel` reads the :class:`SampleStore` page by page (filtered in the store);
:class:`SamplePanel` adds the filter box, import/export/delete buttons and a message line.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..lib.storage.store import SampleStore, StoredSample, StoreError
from .errors import plural
from .style import devanagari_font, message_style

_Index = QModelIndex | QPersistentModelIndex

PAGE = 200
SOURCE_NAMES = {"canvas": "Written here", "import": "Opened image", "page": "From a page",
                "folder": "Imported folder"}
HEADERS = ("Image", "Label", "Read at the time", "Source", "Added", "Used")
COL_IMAGE, COL_LABEL, COL_PREDICTION, COL_SOURCE, COL_DATE, COL_USED = range(len(HEADERS))
COLUMN_WIDTHS = {COL_IMAGE: 130, COL_PREDICTION: 110, COL_SOURCE: 100, COL_DATE: 82, COL_USED: 64}
FOLDABLE = (COL_USED, COL_SOURCE, COL_DATE, COL_PREDICTION)  # hidden in this order when narrow
MIN_LABEL_WIDTH = 140


def gray_pixmap(gray: np.ndarray) -> QPixmap:
    """A QPixmap of a 2-D uint8 array (the array is copied)."""
    arr = np.ascontiguousarray(gray, dtype=np.uint8)
    h, w = arr.shape
    return QPixmap.fromImage(QImage(arr.data, w, h, w, QImage.Format.Format_Grayscale8).copy())


def local_date(iso: str) -> str:
    """A stored UTC timestamp as a local date, ``YYYY-MM-DD``."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d")
    except ValueError:
        return iso


def local_time(iso: str) -> str:
    """A stored UTC timestamp as local ``YYYY-MM-DD HH:MM``."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def used_text(count: int) -> str:
    if count <= 0:
        return "Not yet"
    return "Once" if count == 1 else f"{count} times"


def export_target(where: Path) -> Path:
    """``where`` itself when it is empty, else a new ``nepocr-samples-DATE`` folder inside it."""
    try:
        if not any(where.iterdir()):
            return where
    except OSError:
        pass  # unreadable: try a new folder inside, the export reports any problem
    base = where / f"nepocr-samples-{datetime.now():%Y-%m-%d}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


class SampleTableModel(QAbstractTableModel):
    """Samples of a store, newest first, loaded ``PAGE`` rows at a time."""

    errorOccurred = Signal(str)
    labelChanged = Signal(int, str)  # sample id, new label

    def __init__(self, store: SampleStore, parent: Any = None) -> None:
        super().__init__(parent)
        self._store = store
        self._filter = ""
        self._rows: list[StoredSample] = []
        self._total = 0
        self._pixmaps: dict[int, QPixmap] = {}
        self._font = devanagari_font(12)
        self.reload()

    @property
    def store(self) -> SampleStore:
        return self._store

    @property
    def filter_text(self) -> str:
        return self._filter

    def total(self) -> int:
        """Samples matching the filter (loaded or not)."""
        return self._total

    def set_filter(self, text: str) -> None:
        """Show only samples whose label or prediction contains ``text``."""
        text = text.strip()
        if text != self._filter:
            self._filter = text
            self.reload()

    def reload(self) -> None:
        """Read the first page again from the store; report a store problem as a message."""
        self.beginResetModel()
        try:
            self._total = self._store.count(self._filter or None)
            self._rows = self._store.list(self._filter or None, limit=PAGE)
        except StoreError as exc:
            self._rows, self._total = [], 0
            self.errorOccurred.emit(str(exc))
        self._pixmaps.clear()
        self.endResetModel()

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid():
            return
        try:
            more = self._store.list(self._filter or None, limit=PAGE, offset=len(self._rows))
        except StoreError as exc:
            self.errorOccurred.emit(str(exc))
            return
        if not more:
            self._total = len(self._rows)
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(more) - 1)
        self._rows.extend(more)
        self.endInsertRows()

    def sample(self, row: int) -> StoredSample:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
                   ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        f = super().flags(index)
        if index.isValid() and index.column() == COL_LABEL:
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        s = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DecorationRole and col == COL_IMAGE:
            return self._pixmap(s)
        if role == Qt.ItemDataRole.SizeHintRole and col == COL_IMAGE:
            return QSize(min(s.width * 32 // max(1, s.height), 220) + 8, 38)
        if role == Qt.ItemDataRole.FontRole and col in (COL_LABEL, COL_PREDICTION):
            return self._font
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if col == COL_LABEL:
                return s.label
            if role == Qt.ItemDataRole.EditRole:
                return None
            return {COL_PREDICTION: s.prediction, COL_SOURCE: SOURCE_NAMES.get(s.source, s.source),
                    COL_DATE: local_date(s.created), COL_USED: used_text(s.used_in_training)}.get(col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_LABEL:
                return "Double-click to correct the label"
            if col == COL_PREDICTION and s.prediction and s.prediction != s.label:
                return f"The model read “{s.prediction}”; the correct text is “{s.label}”."
            if col == COL_DATE:
                return local_time(s.created)
        return None

    def _pixmap(self, s: StoredSample) -> QPixmap | None:
        pm = self._pixmaps.get(s.id)
        if pm is None:
            try:
                pm = gray_pixmap(s.thumbnail_array())
            except StoreError:
                return None
            if pm.width() > 220:
                pm = pm.scaledToWidth(220, Qt.TransformationMode.SmoothTransformation)
            self._pixmaps[s.id] = pm
        return pm

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != COL_LABEL or role != Qt.ItemDataRole.EditRole:
            return False
        s = self._rows[index.row()]
        text = str(value)
        if text.strip() == s.label:
            return False
        try:
            self._store.update_label(s.id, text)
            fresh = self._store.get(s.id)
        except StoreError as exc:
            self.errorOccurred.emit(str(exc))
            return False
        self._rows[index.row()] = fresh
        self.dataChanged.emit(self.index(index.row(), 0), self.index(index.row(), len(HEADERS) - 1))
        self.labelChanged.emit(fresh.id, fresh.label)
        return True

    def delete_rows(self, rows: list[int]) -> int:
        """Delete the samples shown in ``rows`` from the store; return how many were deleted."""
        ids = [self._rows[r].id for r in sorted(set(rows)) if 0 <= r < len(self._rows)]
        if not ids:
            return 0
        try:
            n = self._store.delete(ids)
        except StoreError as exc:
            self.errorOccurred.emit(str(exc))
            return 0
        self.reload()
        return n


class SamplePanel(QWidget):
    """Filter box, sample table and the buttons that act on the store."""

    samplesChanged = Signal()  # added, deleted or relabelled
    samplesAltered = Signal(list)  # the ids of samples deleted or relabelled

    def __init__(self, store: SampleStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = SampleTableModel(store, self)
        self.filter_edit = QLineEdit(placeholderText="Filter by text…", clearButtonEnabled=True)
        self.count_label = QLabel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.table.setIconSize(QSize(220, 32))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(40)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_LABEL, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        for col, width in COLUMN_WIDTHS.items():
            self.table.setColumnWidth(col, width)
        self.table.viewport().installEventFilter(self)
        self.message = QLabel(wordWrap=True)
        self.message.setStyleSheet(message_style(error=True))
        self.message.hide()
        self.import_button = QPushButton("Import folder…")
        self.import_button.setToolTip("Add labelled images: a folder with labels.tsv, or x.png with x.gt.txt")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save all samples as images with a labels.tsv file")
        self.delete_button = QPushButton("Delete selected")
        self.delete_button.setEnabled(False)

        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        buttons = QHBoxLayout()
        for b in (self.import_button, self.export_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.message)
        lay.addLayout(buttons)

        self._filter_timer = QTimer(self, singleShot=True, interval=250)
        self._filter_timer.timeout.connect(lambda: self.model.set_filter(self.filter_edit.text()))
        self.filter_edit.textChanged.connect(lambda _t: self._filter_timer.start())
        self.model.errorOccurred.connect(self.show_message)
        self.model.labelChanged.connect(self._on_label_changed)
        self.model.modelReset.connect(self._update_count)
        self.model.rowsInserted.connect(self._update_count)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.modelReset.connect(self._update_buttons)
        self.import_button.clicked.connect(self._choose_import)
        self.export_button.clicked.connect(self._choose_export)
        self.delete_button.clicked.connect(self.delete_selected)
        delete_key = QAction("Delete selected", self.table)
        delete_key.setShortcut(QKeySequence.StandardKey.Delete)
        delete_key.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete_key.triggered.connect(self.delete_selected)
        self.table.addAction(delete_key)
        self._update_count()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(watched, event)

    def fit_columns(self) -> None:
        """Keep the label readable: hide the least useful columns while the table is narrow."""
        room = self.table.viewport().width()
        shown = dict(COLUMN_WIDTHS)
        for col in FOLDABLE:
            if room - sum(shown.values()) >= MIN_LABEL_WIDTH:
                break
            del shown[col]
        for col in COLUMN_WIDTHS:
            self.table.setColumnHidden(col, col not in shown)

    # -- messages --

    def show_message(self, text: str, error: bool = True) -> None:
        """Show ``text`` under the table (red for problems, green for results)."""
        self.message.setStyleSheet(message_style(error))
        self.message.setText(text)
        self.message.show()

    # -- actions --

    def refresh(self) -> None:
        """Re-read the store (after samples were added elsewhere)."""
        self.model.reload()

    def apply_filter(self, text: str) -> None:
        """Set the filter at once (the box applies typed text after a short pause)."""
        self.filter_edit.setText(text)
        self._filter_timer.stop()
        self.model.set_filter(text)

    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.table.selectionModel().selectedRows()})

    def delete_selected(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        what = "this sample" if len(rows) == 1 else f"these {len(rows)} samples"
        answer = QMessageBox.question(self, "Delete samples", f"Delete {what}? This cannot be undone.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        ids = [self.model.sample(r).id for r in rows]
        n = self.model.delete_rows(rows)
        if n:
            self.show_message(f"Deleted {plural(n, 'sample')}.", error=False)
            self.samplesAltered.emit(ids)
            self.samplesChanged.emit()

    def import_folder(self, folder: str | Path) -> None:
        """Import a labelled folder and show what was added and skipped."""
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            report = self.model.store.import_folder(folder)
        except StoreError as exc:
            self.show_message(str(exc))
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
        text = report.summary()
        if report.skipped:
            shown = "; ".join(f"{s.path}: {s.reason}" for s in report.skipped[:3])
            more = f" (and {len(report.skipped) - 3} more)" if len(report.skipped) > 3 else ""
            text += f" Skipped: {shown}{more}"
        self.show_message(text, error=report.added_count == 0)
        self.model.reload()
        if report.added_count:
            self.samplesChanged.emit()

    def export_folder(self, folder: str | Path) -> None:
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            n = self.model.store.export_folder(folder)
        except StoreError as exc:
            self.show_message(str(exc))
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.show_message(f"Exported {plural(n, 'sample')} to {folder}.", error=False)

    def _choose_import(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import labelled images")
        if folder:
            self.import_folder(folder)

    def _choose_export(self) -> None:
        where = QFileDialog.getExistingDirectory(self, "Export samples: choose where to save them")
        if where:
            self.export_folder(export_target(Path(where)))

    def _on_label_changed(self, sid: int, label: str) -> None:
        self.show_message(f"Label saved: {label}", error=False)
        self.samplesAltered.emit([sid])
        self.samplesChanged.emit()

    def _update_count(self) -> None:
        n = self.model.total()
        noun = "sample" if n == 1 else "samples"
        verb = ("matches" if n == 1 else "match") if self.model.filter_text else ""
        self.count_label.setText(f"{n} {noun} {verb}".strip())

    def _update_buttons(self) -> None:
        self.delete_button.setEnabled(bool(self.selected_rows()))
