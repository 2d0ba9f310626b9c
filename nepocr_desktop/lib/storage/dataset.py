"""Reading labelled image folders: ``labels.tsv`` or kraken-style ``x.png`` + ``x.gt.txt`` pairs.

Every label file is checked to be a regular file before it is opened (a FIFO would block the
reader, a device would never end), read with a size bound and decoded as UTF-8; any problem is
a :class:`DatasetError` naming the file and what is wrong. Paths in ``labels.tsv`` stay inside
the dataset folder as written (no absolute paths, no ``..``, no link to a file elsewhere);
links to folders the user made inside it (an ``images/`` folder kept elsewhere) are followed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from ..errors import NepocrError
from ..read.preprocess import read_bounded

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif")
MAX_LABEL_FILE_BYTES = 64 * 1024 * 1024   # labels.tsv (a million rows is about 40 MB)
MAX_GT_BYTES = 64 * 1024                  # one x.gt.txt
MAX_LABEL_CHARS = 200                     # a word or line sample's label, for training and the store
MAX_FILES = 1_000_000                     # files looked at while searching for x.gt.txt pairs


class DatasetError(NepocrError, ValueError):
    """A dataset folder or label file that cannot be used; the message is for users."""


@dataclass(frozen=True)
class Sample:
    path: Path
    text: str


def label_problem(text: str) -> str | None:
    """Why a label cannot be trained on or stored (empty, or longer than a line), or None."""
    if not text.strip():
        return "the label is empty"
    if len(text) > MAX_LABEL_CHARS:
        return f"the label is {len(text):,} characters long; a word or line has at most {MAX_LABEL_CHARS}"
    return None


def _inside(root: Path, rel: str) -> Path:
    """``rel`` under ``root`` as written: refuse absolute paths, drive letters and ``..``."""
    if "\0" in rel:
        raise DatasetError(f"a path in the labels holds a NUL character: {rel!r}")
    if (os.path.isabs(rel) or rel.startswith(("/", "\\")) or PureWindowsPath(rel).drive
            or (len(rel) > 1 and rel[1] == ":")):
        raise DatasetError(f"absolute path in labels: {rel!r}")
    parts = PurePosixPath(rel.replace("\\", "/")).parts
    if ".." in parts:
        raise DatasetError(f"path leaves the dataset folder: {rel!r}")
    path = root / rel
    if path.is_symlink():  # a linked file (not a linked folder) must stay beside its link
        try:
            real, beside = path.resolve(), path.parent.resolve()
        except (OSError, RuntimeError):
            raise DatasetError(f"path is a symbolic link loop: {rel!r}") from None
        if beside not in real.parents and root.resolve() not in real.parents:
            raise DatasetError(f"path leaves the dataset folder (a link to a file elsewhere): {rel!r}")
    return path


def _read_text(path: Path, limit: int) -> str:
    """A label file's text: a regular file, at most ``limit`` bytes, UTF-8 (a BOM is dropped)."""
    data = read_bounded(path, limit, DatasetError, "a label file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text (byte {exc.start + 1})") from None


def read_labels_tsv(path: str | os.PathLike) -> list[Sample]:
    """Rows ``relative/path<TAB>text`` (UTF-8). Blank lines and ``#`` comments are skipped."""
    path = Path(path)
    root = path.parent
    out: list[Sample] = []
    lines = _read_text(path, MAX_LABEL_FILE_BYTES).splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        if "\t" not in line:
            raise DatasetError(f"{path}:{n}: expected 'path<TAB>text'")
        rel, text = line.split("\t", 1)
        try:
            out.append(Sample(_inside(root, rel.strip()), text))
        except DatasetError as exc:
            raise DatasetError(f"{path}:{n}: {exc}") from None
    if not out:
        raise DatasetError(f"{path}: labels.tsv has no rows")
    return out


def _walk(folder: Path):
    """Files under ``folder``, sorted, following links to folders but never into a loop."""
    seen: set[tuple[int, int]] = set()
    count = 0
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True, onerror=None):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:  # a link back to a folder already walked
            dirnames[:] = []
            continue
        seen.add(key)
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if d.endswith(".gt.txt")]):
            count += 1
            if count > MAX_FILES:
                raise DatasetError(f"{folder}: too many files to search for labels (over {MAX_FILES:,})")
            yield Path(dirpath) / name


def read_gt_pairs(folder: str | os.PathLike) -> list[Sample]:
    """Kraken-style pairs: every ``x.gt.txt`` beside an image ``x.<ext>``."""
    folder = Path(folder)
    out: list[Sample] = []
    for gt in _walk(folder):
        if not gt.name.endswith(".gt.txt"):
            continue
        stem = gt.name[: -len(".gt.txt")]
        for ext in IMAGE_SUFFIXES:
            img = gt.with_name(stem + ext)
            if img.exists():
                out.append(Sample(img, _read_text(gt, MAX_GT_BYTES).strip()))
                break
    return out


def read_dataset(folder: str | os.PathLike) -> list[Sample]:
    """A folder with ``labels.tsv``, else kraken pairs; raise :class:`DatasetError` if neither."""
    folder = Path(folder)
    if "\0" in str(folder):
        raise DatasetError(f"{str(folder)!r}: the folder name holds a NUL character")
    try:
        st = os.stat(folder)
    except OSError as exc:
        raise DatasetError(f"{folder}: not a folder ({exc.strerror or exc})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise DatasetError(f"{folder}: not a folder")
    tsv = folder / "labels.tsv"
    if os.path.lexists(tsv):
        return read_labels_tsv(tsv)
    samples = read_gt_pairs(folder)
    if not samples:
        raise DatasetError(f"{folder}: no labels.tsv and no x.png + x.gt.txt pairs")
    return samples


def write_dataset(folder: str | os.PathLike, samples: Iterable[tuple[np.ndarray, str]]) -> int:
    """Write gray images and their texts as a folder :func:`read_dataset` reads
    (``images/0000.png``..., ``labels.tsv``); returns how many were written."""
    import cv2

    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for k, (img, text) in enumerate(samples):
        name = f"images/{k:04d}.png"
        if not cv2.imwrite(str(folder / name), img):
            raise DatasetError(f"{folder / name}: the image could not be written")
        rows.append(f"{name}\t{text}\n")
    (folder / "labels.tsv").write_text("".join(rows), encoding="utf-8")
    return len(rows)
