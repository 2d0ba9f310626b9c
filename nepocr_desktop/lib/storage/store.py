"""The sample store: the user's corrected handwriting samples in one SQLite file.

Everything lives in ``samples.sqlite3`` inside the user's data folder: the grayscale image
(PNG bytes in a BLOB), a small thumbnail for list views, the corrected label, the model's
prediction at the time, where the sample came from and how often it was used in training.

The database runs in WAL mode so readers never wait for a writer; every write is one
``BEGIN IMMEDIATE`` transaction, so a failure (full disk, read-only folder, crash) rolls back
and leaves the earlier samples intact. Each thread gets its own connection and writes from
threads of one process are serialised by a lock, so GUI worker threads can read while another
thread saves. A damaged database file is reported and never rewritten or deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import cv2
import numpy as np

from ..errors import NepocrError
from ..read.charset import DEFAULT_CHARSET, LabelError, describe, normalize_text, preview
from ..read.preprocess import ImageError, ImageSource, load_gray
from ..system.atomic import remove_leftovers
from .dataset import MAX_LABEL_CHARS, DatasetError, read_dataset

DB_NAME = "samples.sqlite3"
SOURCES: tuple[str, ...] = ("canvas", "import", "page", "folder")
THUMB_HEIGHT = 32
THUMB_MAX_WIDTH = 512
DEFAULT_TIMEOUT = 10.0  # seconds to wait for another program's write lock
IMPORT_BATCH = 500      # samples written per transaction by import_folder

_SQLITE_HEADER = b"SQLite format 3\x00"
_LIST_COLUMNS = ("id, label, prediction, source, created, used_in_training, meta, "
                 "width, height, thumb")


class StoreError(NepocrError):
    """A sample store problem; the message is written for users."""


class CorruptStoreError(StoreError):
    """The database file is damaged or is not a sample database; it was left untouched."""


class LockedStoreError(StoreError):
    """Another program held the database lock for longer than the timeout."""


class StoreWriteError(StoreError):
    """A save failed (full disk, read-only folder, disk error); nothing was changed."""


class InvalidSampleError(StoreError, ValueError):
    """An image, label, source or metadata value that cannot be stored."""


class SampleNotFoundError(StoreError, LookupError):
    """No sample has the requested id."""


@dataclass(frozen=True)
class StoredSample:
    """One stored sample without its full image (use :meth:`SampleStore.image` for that)."""

    id: int
    label: str
    prediction: str
    source: str
    created: str            # UTC, ISO 8601
    used_in_training: int   # how many training runs used the sample since its label was set
    meta: dict[str, Any] | None
    width: int
    height: int
    thumbnail: bytes = field(repr=False)  # grayscale PNG, THUMB_HEIGHT pixels high

    def thumbnail_array(self) -> np.ndarray:
        """The thumbnail as a 2-D uint8 array."""
        return _decode_png(self.thumbnail, f"sample {self.id} thumbnail")


@dataclass(frozen=True)
class SkippedItem:
    path: str
    reason: str


@dataclass
class ImportReport:
    """Outcome of :meth:`SampleStore.import_folder`."""

    folder: Path
    added: list[int] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)

    @property
    def added_count(self) -> int:
        return len(self.added)

    def summary(self) -> str:
        text = f"Imported {len(self.added)} sample(s) from {self.folder}"
        if self.skipped:
            text += f"; skipped {len(self.skipped)}"
        return text + "."


# --- schema -------------------------------------------------------------------------------

def _migrate_0_to_1(con: sqlite3.Connection) -> None:
    # The image column is last so that listing never reads the large BLOBs.
    con.execute("""
        CREATE TABLE samples (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            label TEXT NOT NULL,
            prediction TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL,
            created TEXT NOT NULL,
            used_in_training INTEGER NOT NULL DEFAULT 0,
            meta TEXT,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            thumb BLOB NOT NULL,
            image BLOB NOT NULL
        )""")
    con.execute("CREATE INDEX samples_source ON samples(source)")


# MIGRATIONS[v] upgrades a database from schema version v to v + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migrate_0_to_1,)
SCHEMA_VERSION = len(MIGRATIONS)


# --- image encoding ------------------------------------------------------------------------

def _encode_png(gray: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(gray))
    if not ok:
        raise InvalidSampleError("The image could not be converted to PNG.")
    return buf.tobytes()


def _decode_png(data: bytes, what: str) -> np.ndarray:
    arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if arr is None:
        raise CorruptStoreError(f"The stored image of {what} is damaged and cannot be read.")
    return arr


def _thumbnail(gray: np.ndarray) -> np.ndarray:
    h, w = gray.shape
    scale = THUMB_HEIGHT / h
    if w * scale > THUMB_MAX_WIDTH:
        scale = THUMB_MAX_WIDTH / w
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(gray, size, interpolation=interp)


def _load_image(image: ImageSource) -> np.ndarray:
    try:
        return load_gray(image)
    except ImageError as exc:
        raise InvalidSampleError(f"The image cannot be used: {exc}") from None


# --- value checks -------------------------------------------------------------------------

def checked_label(label: str) -> str:
    """Normalise a label (NFC, whitespace) and check it uses only Nepali-script characters."""
    if not isinstance(label, str):
        raise InvalidSampleError(f"The label must be text, not {type(label).__name__}.")
    try:
        norm = DEFAULT_CHARSET.normalize_label(label)
    except LabelError:
        bad = DEFAULT_CHARSET.unknown(normalize_text(label))
        raise InvalidSampleError(
            f"The label {preview(label)!r} cannot be saved: it contains characters that are not part of "
            f"the Nepali character set: {describe(bad)}.") from None
    if not norm:
        raise InvalidSampleError("The label is empty; type the text that is written in the image.")
    if len(norm) > MAX_LABEL_CHARS:
        raise InvalidSampleError(f"The label is {len(norm):,} characters long; a word or line sample "
                                 f"has at most {MAX_LABEL_CHARS}.")
    return norm


def _check_source(source: str) -> str:
    if source not in SOURCES:
        raise InvalidSampleError(f"Unknown sample source {source!r}; expected one of "
                                 f"{', '.join(SOURCES)}.")
    return source


def _meta_json(meta: dict[str, Any] | None) -> str | None:
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise InvalidSampleError("Sample metadata must be a dictionary.")
    try:
        return json.dumps(meta, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidSampleError(f"Sample metadata cannot be stored as JSON: {exc}") from None


def _id_list(ids: int | Iterable[int]) -> list[int]:
    items = [ids] if isinstance(ids, (int, np.integer)) else list(ids)
    out: list[int] = []
    for i in items:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise InvalidSampleError(f"Sample ids must be whole numbers, got {i!r}.")
        out.append(int(i))
    return out


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class _Row:
    """A sample ready to insert."""

    label: str
    prediction: str
    source: str
    meta: str | None
    width: int
    height: int
    thumb: bytes
    image: bytes


def _unwritable(path: Path) -> bool:
    """The database (or, before it exists, its folder) cannot be written by this user."""
    target = path if path.exists() else path.parent
    return target.exists() and not (os.access(target, os.W_OK)
                                    and (not path.exists() or os.access(path.parent, os.W_OK)))


def _is_pagexml_folder(folder: Path) -> bool:
    """A folder of PAGE XML files (with their page images) and no other label files."""
    return (folder.is_dir() and not (folder / "labels.tsv").exists()
            and not any(folder.rglob("*.gt.txt")) and any(folder.glob("*.xml")))


def _pagexml_items(folder: Path, report: ImportReport) -> Iterator[tuple[str, np.ndarray, str]]:
    """(name, crop, text) for the transcribed words of each PAGE file (its lines if it has no words).

    The page image is looked up by file name inside ``folder`` only.
    """
    from ..page.pagexml import parse_pagexml, training_pairs

    for xml in sorted(folder.glob("*.xml")):
        try:
            doc = parse_pagexml(xml)
            image = folder / Path(doc.image_filename or "").name
            if not doc.image_filename or not image.is_file():
                raise ImageError(f"page image {doc.image_filename!r} not found beside it")
            levels = ("word",) if any(i.level == "word" and i.text for i in doc.items) else ("line",)
            for k, (crop, text) in enumerate(training_pairs(xml, image, levels=levels)):
                if text.strip():
                    yield f"{xml.name}#{k}", crop, text
        except (ImageError, ValueError, OSError) as exc:
            report.skipped.append(SkippedItem(xml.name, str(exc)))


def _prepare(image: ImageSource, label: str, prediction: str, source: str,
             meta: dict[str, Any] | None) -> _Row:
    norm = checked_label(label)
    gray = _load_image(image)
    h, w = gray.shape
    return _Row(norm, normalize_text(prediction or ""), _check_source(source), _meta_json(meta),
                w, h, _encode_png(_thumbnail(gray)), _encode_png(gray))


def _insert_row(con: sqlite3.Connection, row: _Row, created: str) -> int:
    cur = con.execute(
        "INSERT INTO samples (label, prediction, source, created, used_in_training, meta, "
        "width, height, thumb, image) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
        (row.label, row.prediction, row.source, created, row.meta, row.width, row.height,
         row.thumb, row.image))
    return int(cur.lastrowid)


def _sample_from_row(r: tuple) -> StoredSample:
    meta = json.loads(r[6]) if r[6] else None
    return StoredSample(id=r[0], label=r[1], prediction=r[2], source=r[3], created=r[4],
                        used_in_training=r[5], meta=meta, width=r[7], height=r[8],
                        thumbnail=bytes(r[9]))


# --- the store ----------------------------------------------------------------------------

class SampleStore:
    """The user's corrected samples. ``path`` is the database file or the folder holding it
    (the app's is ``samples.sqlite3`` in the user's data folder); the folder and file are
    created on first use. ``timeout`` is how many seconds to wait while another program holds the lock.
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: Path | str, *, timeout: float = DEFAULT_TIMEOUT,
                 read_only: bool | None = None) -> None:
        path = Path(path)
        if path.is_dir():
            path = path / DB_NAME
        self.path: Path = path
        self.timeout: float = float(timeout)
        # a folder (or file) that cannot be written is opened read-only: listing works, saving says why
        self.read_only: bool = bool(read_only) if read_only is not None else _unwritable(path)
        self.damage: str | None = None  # why writes are refused: integrity check failed at open
        self.skipped: list[SkippedItem] = []  # samples the last read or export left out (damaged)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._closed = False
        self._open()

    # -- connections and errors --

    def _open(self) -> None:
        if not self.read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreWriteError(f"Cannot create the data folder {self.path.parent}: "
                                      f"{exc.strerror or exc}.") from None
            remove_leftovers(self.path.parent)  # temporary files of a write that was killed
        elif not self.path.is_file():
            raise StoreError(f"The sample database {self.path} does not exist and its folder is read-only.")
        self._check_header()
        try:
            con = self._conn()
            version = con.execute("PRAGMA user_version").fetchone()[0]
            tables = con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise CorruptStoreError(
                    f"The sample database {self.path} was made by a newer version of nepocr "
                    f"(format {version}; this version reads up to {SCHEMA_VERSION}). It was left "
                    f"untouched; update nepocr to use it.")
            if version == 0 and tables:
                raise CorruptStoreError(
                    f"{self.path} is an SQLite database but not a nepocr sample database. It "
                    f"was left untouched; move or rename it and nepocr will start a new one.")
            if self.read_only:
                if version < SCHEMA_VERSION:
                    raise StoreWriteError(f"The sample database {self.path} needs an upgrade, but it "
                                          f"or its folder is read-only.")
                return
            con.execute("PRAGMA journal_mode=WAL")
            if version < SCHEMA_VERSION:
                self._migrate()
            rows = con.execute("PRAGMA integrity_check(5)").fetchall()
            if rows != [("ok",)]:
                found = [ln.strip() for r in rows for ln in str(r[0]).splitlines()
                         if ln.strip() and not ln.strip().startswith("***")]
                self.damage = "integrity check: " + (found[0][:120] if found else "failed")
        except sqlite3.Error as exc:
            self.close()
            raise self._translate(exc, "open the sample database") from None
        except StoreError:
            self.close()
            raise

    def _check_header(self) -> None:
        """Refuse a non-empty file that does not start with the SQLite header, before SQLite opens it."""
        try:
            if not self.path.exists() or self.path.stat().st_size == 0:
                return
            with open(self.path, "rb") as f:
                head = f.read(len(_SQLITE_HEADER))
        except OSError as exc:
            raise StoreError(f"Cannot read the sample database {self.path}: "
                             f"{exc.strerror or exc}.") from None
        if head != _SQLITE_HEADER:
            raise CorruptStoreError(self._corrupt_message("it is not a database file"))

    def _corrupt_message(self, detail: str) -> str:
        return (f"The sample database {self.path} is damaged ({detail}). The file was left "
                f"untouched; move or rename it (or restore a backup) and nepocr will start a "
                f"new, empty sample database.")

    def _migrate(self) -> None:
        with self._write("upgrade the sample database") as con:
            version = con.execute("PRAGMA user_version").fetchone()[0]  # re-read under the lock
            for step in MIGRATIONS[version:]:
                step(con)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("The sample store has been closed.")
        con = getattr(self._local, "con", None)
        if con is None:
            target = f"{self.path.resolve().as_uri()}?mode=ro" if self.read_only else self.path
            con = sqlite3.connect(target, timeout=self.timeout, isolation_level=None,
                                  check_same_thread=False, uri=self.read_only)
            try:
                con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            except sqlite3.Error:
                con.close()
                raise
            self._local.con = con
            with self._conns_lock:
                self._conns.append(con)
        return con

    def _translate(self, exc: BaseException, action: str) -> StoreError:
        """Turn an SQLite or OS error into a :class:`StoreError` with a plain message."""
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        text = str(exc).lower()
        if primary in (11, 26) or "malformed" in text or "not a database" in text:
            return CorruptStoreError(self._corrupt_message(str(exc)))
        if primary in (5, 6) or "locked" in text or "busy" in text:
            return LockedStoreError(
                f"Could not {action}: the sample database {self.path} is in use by another "
                f"program (waited {self.timeout:g} s). Close other nepocr windows and try again; "
                f"nothing was changed.")
        if primary == 13 or "disk is full" in text or "no space" in text:
            return StoreWriteError(f"Could not {action}: the disk holding {self.path.parent} is "
                                   f"full. Nothing was changed; earlier samples are safe.")
        if primary in (3, 8) or "readonly" in text or "read-only" in text or "permission" in text:
            return StoreWriteError(f"Could not {action}: {self.path} or its folder is read-only. "
                                   f"Nothing was changed; earlier samples are safe.")
        if primary == 14 or "unable to open" in text:
            return StoreWriteError(f"Could not {action}: the file {self.path} cannot be opened "
                                   f"(check that the folder exists and is writable).")
        if primary == 10 or "i/o" in text:
            return StoreWriteError(f"Could not {action}: a disk error occurred while using "
                                   f"{self.path}. Nothing was changed.")
        if isinstance(exc, sqlite3.ProgrammingError) and "closed" in text:
            return StoreError("The sample store has been closed.")
        return StoreError(f"Could not {action}: {exc}")

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        if self.read_only:
            raise StoreWriteError(f"Could not {action}: {self.path} or its folder is read-only. "
                                  f"Nothing was changed; the samples can still be listed and exported.")
        if self.damage is not None:
            raise CorruptStoreError(self._corrupt_message(self.damage) + " Until then nothing is saved to "
                                    "it; what is intact can still be listed and exported.")
        with self._write_lock:
            con = self._conn()
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._translate(exc, action) from None
            try:
                yield con
                con.execute("COMMIT")
            except BaseException as exc:
                if con.in_transaction:
                    try:
                        con.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                if isinstance(exc, sqlite3.Error):
                    raise self._translate(exc, action) from None
                raise

    @contextmanager
    def _read(self, action: str, snapshot: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection for reading; ``snapshot`` wraps several queries in one read transaction."""
        con = self._conn()
        try:
            if snapshot and not con.in_transaction:
                con.execute("BEGIN")
                try:
                    yield con
                finally:
                    if con.in_transaction:
                        con.execute("COMMIT")
            else:
                yield con
        except sqlite3.Error as exc:
            raise self._translate(exc, action) from None

    def close(self) -> None:
        """Close every connection this store opened (from any thread)."""
        self._closed = True
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for con in conns:
            try:
                con.close()
            except sqlite3.Error:
                pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- samples --

    def add(self, image: ImageSource, label: str, prediction: str = "", source: str = "canvas",
            meta: dict[str, Any] | None = None) -> int:
        """Store a sample and return its id. ``image``: array, PIL image, PNG/JPEG bytes or path."""
        row = _prepare(image, label, prediction, source, meta)
        with self._write("save the sample") as con:
            return _insert_row(con, row, _now())

    def add_many(self, samples: Iterable[tuple[ImageSource, str, str, dict[str, Any] | None]],
                 source: str = "page", replace: int | Iterable[int] = ()) -> list[int]:
        """Store ``(image, label, prediction, meta)`` samples in one transaction and return their
        ids; the samples ``replace`` names (earlier versions of the same words) are deleted in
        it too. Nothing is stored if any sample is invalid."""
        rows = [_prepare(image, label, prediction, source, meta) for image, label, prediction, meta in samples]
        old = _id_list(replace)
        if not rows and not old:
            return []
        created = _now()
        with self._write("save the samples") as con:
            con.executemany("DELETE FROM samples WHERE id = ?", [(i,) for i in old])
            return [_insert_row(con, row, created) for row in rows]

    def get(self, sample_id: int) -> StoredSample:
        """One sample (thumbnail included, full image not)."""
        with self._read("read the sample") as con:
            r = con.execute(f"SELECT {_LIST_COLUMNS} FROM samples WHERE id = ?",
                            (int(sample_id),)).fetchone()
        if r is None:
            raise SampleNotFoundError(f"Sample {sample_id} does not exist (it may have been deleted).")
        return _sample_from_row(r)

    def image(self, sample_id: int) -> np.ndarray:
        """The full grayscale image of a sample as a 2-D uint8 array."""
        with self._read("read the sample image") as con:
            r = con.execute("SELECT image FROM samples WHERE id = ?", (int(sample_id),)).fetchone()
        if r is None:
            raise SampleNotFoundError(f"Sample {sample_id} does not exist (it may have been deleted).")
        return _decode_png(bytes(r[0]), f"sample {sample_id}")

    def update_label(self, sample_id: int, label: str) -> str:
        """Correct a label; return it normalised. A changed label resets the training count."""
        norm = checked_label(label)
        with self._write("change the label") as con:
            cur = con.execute(
                "UPDATE samples SET label = ?, used_in_training = CASE WHEN label = ? "
                "THEN used_in_training ELSE 0 END WHERE id = ?", (norm, norm, int(sample_id)))
            if cur.rowcount == 0:
                raise SampleNotFoundError(f"Sample {sample_id} does not exist (it may have been "
                                          f"deleted).")
        return norm

    def delete(self, ids: int | Iterable[int]) -> int:
        """Delete samples; return how many existed."""
        id_list = _id_list(ids)
        with self._write("delete the samples") as con:
            before = con.total_changes
            con.executemany("DELETE FROM samples WHERE id = ?", [(i,) for i in id_list])
            return con.total_changes - before

    def mark_used(self, ids: int | Iterable[int]) -> int:
        """Count one more training run for each sample; return how many were updated."""
        id_list = _id_list(ids)
        with self._write("record the training run") as con:
            before = con.total_changes
            con.executemany("UPDATE samples SET used_in_training = used_in_training + 1 "
                            "WHERE id = ?", [(i,) for i in id_list])
            return con.total_changes - before

    @staticmethod
    def _where(filter_text: str | None, source: str | None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if filter_text:
            needle = normalize_text(filter_text)
            if needle:
                clauses.append("(instr(label, ?) > 0 OR instr(prediction, ?) > 0)")
                args += [needle, needle]
        if source is not None:
            clauses.append("source = ?")
            args.append(_check_source(source))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def list(self, filter_text: str | None = None, source: str | None = None,
             limit: int | None = None, offset: int = 0, newest_first: bool = True) -> list[StoredSample]:
        """Samples (without the full image) whose label or prediction contains ``filter_text``."""
        where, args = self._where(filter_text, source)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT {_LIST_COLUMNS} FROM samples{where} ORDER BY id {order} LIMIT ? OFFSET ?"
        args += [-1 if limit is None else max(0, int(limit)), max(0, int(offset))]
        with self._read("list the samples") as con:
            rows = con.execute(sql, args).fetchall()
        return [_sample_from_row(r) for r in rows]

    def count(self, filter_text: str | None = None, source: str | None = None) -> int:
        """Number of samples matching the same filters as :meth:`list`."""
        where, args = self._where(filter_text, source)
        with self._read("count the samples") as con:
            return int(con.execute(f"SELECT count(*) FROM samples{where}", args).fetchone()[0])

    def labels(self) -> list[str]:
        """The distinct labels of all samples, oldest first (the user's personal word list)."""
        with self._read("read the labels") as con:
            rows = con.execute("SELECT label FROM samples GROUP BY label ORDER BY min(id)").fetchall()
        return [r[0] for r in rows]

    def training_pairs(self, ids: Iterable[int] | None = None) -> list[tuple[np.ndarray, str]]:
        """``(image, label)`` for every sample (or the given ids), oldest first."""
        with self._read("read the training samples", snapshot=True) as con:
            if ids is None:
                rows = con.execute("SELECT id, image, label FROM samples ORDER BY id").fetchall()
            else:
                rows = []
                for i in _id_list(ids):
                    r = con.execute("SELECT id, image, label FROM samples WHERE id = ?",
                                    (i,)).fetchone()
                    if r is not None:
                        rows.append(r)
        out, self.skipped = [], []
        for sid, img, label in rows:
            try:
                out.append((_decode_png(bytes(img), f"sample {sid}"), label))
            except CorruptStoreError as exc:  # one damaged image: the others are still used
                self.skipped.append(SkippedItem(f"sample {sid}", str(exc)))
        return out

    def integrity_check(self) -> bool:
        """True when SQLite finds the database file sound."""
        try:
            with self._read("check the sample database") as con:
                rows = con.execute("PRAGMA integrity_check").fetchall()
        except CorruptStoreError:
            return False
        return rows == [("ok",)]

    # -- folders --

    def import_folder(self, folder: str | os.PathLike, source: str = "folder") -> ImportReport:
        """Add a ``labels.tsv``, ``x.png`` + ``x.gt.txt`` or PAGE XML folder.

        Samples are written in transactions of ``IMPORT_BATCH`` rows, so memory stays bounded
        however many words a folder holds; a failure keeps the batches already written (listed
        in the report) and loses none of the earlier samples. Unreadable images and invalid
        labels are skipped and listed in the report; a label file that points outside the
        folder is refused as a whole.
        """
        folder = Path(folder)
        _check_source(source)
        report = ImportReport(folder=folder)
        rows: list[_Row] = []
        created = _now()

        def flush() -> None:
            if rows:
                with self._write("import the samples") as con:
                    report.added.extend(_insert_row(con, r, created) for r in rows)
                rows.clear()

        def add(image: ImageSource, text: str, rel: str) -> None:
            try:
                rows.append(_prepare(image, text, "", source, {"imported_from": rel}))
            except InvalidSampleError as exc:
                report.skipped.append(SkippedItem(rel, str(exc)))
                return
            if len(rows) >= IMPORT_BATCH:
                flush()

        if _is_pagexml_folder(folder):
            for rel, crop, text in _pagexml_items(folder, report):
                add(crop, text, rel)
        else:
            try:
                samples = read_dataset(folder)
            except DatasetError as exc:
                raise InvalidSampleError(f"Cannot import {folder}: {exc}") from None
            except OSError as exc:
                raise StoreError(f"Cannot read {folder}: {exc.strerror or exc}.") from None
            for s in samples:
                try:
                    rel = s.path.relative_to(folder).as_posix()
                except ValueError:
                    rel = str(s.path)
                add(s.path, s.text, rel)
        flush()
        return report

    def export_folder(self, folder: str | os.PathLike) -> int:
        """Write ``images/<id>.png`` and ``labels.tsv`` to a new or empty folder; return the count.

        Files are written to a temporary folder beside the target and renamed at the end, so
        an interrupted export leaves no half-written folder.
        """
        folder = Path(folder)
        if folder.exists():
            if not folder.is_dir():
                raise StoreError(f"Cannot export to {folder}: a file with that name exists.")
            if any(folder.iterdir()):
                raise StoreError(f"Cannot export to {folder}: the folder is not empty. Choose a "
                                 f"new or empty folder.")
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial",
                                        dir=folder.parent))
        except OSError as exc:
            raise StoreError(f"Cannot export to {folder}: {exc.strerror or exc}.") from None
        try:
            (tmp / "images").mkdir()
            lines: list[str] = []
            self.skipped = []
            with self._read("export the samples", snapshot=True) as con:
                ids = [r[0] for r in con.execute("SELECT id FROM samples ORDER BY id")]
                for sid in ids:  # row by row: a damaged row is left out, the rest exported
                    try:
                        sid, label, png = con.execute("SELECT id, label, image FROM samples WHERE id = ?",
                                                      (sid,)).fetchone()
                        _decode_png(bytes(png), f"sample {sid}")
                    except (sqlite3.DatabaseError, CorruptStoreError, TypeError) as exc:
                        self.skipped.append(SkippedItem(f"sample {sid}", str(exc)))
                        continue
                    (tmp / "images" / f"{sid}.png").write_bytes(bytes(png))
                    lines.append(f"images/{sid}.png\t{label}\n")
            with open(tmp / "labels.tsv", "w", encoding="utf-8", newline="\n") as f:
                f.writelines(lines)
            if folder.exists():
                folder.rmdir()  # empty, checked above
            os.replace(tmp, folder)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StoreError(f"Cannot export to {folder}: {exc.strerror or exc}. Nothing was "
                             f"written.") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return len(lines)
