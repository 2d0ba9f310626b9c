"""Reading labelled image folders: ``labels.tsv`` or kraken-style ``x.png`` + ``x.gt.txt`` pairs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import NepocrError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif")


class DatasetError(NepocrError, ValueError):
    """A dataset folder or label file that cannot be used; the message is for users."""


@dataclass(frozen=True)
class Sample:
    path: Path
    text: str


def _inside(root: Path, rel: str) -> Path:
    """Resolve ``rel`` under ``root``; refuse absolute paths, ``..`` and links that leave it."""
    if os.path.isabs(rel) or rel.startswith(("/", "\\")) or (len(rel) > 1 and rel[1] == ":"):
        raise DatasetError(f"absolute path in labels: {rel!r}")
    p = (root / rel)
    real_root = root.resolve()
    real = p.resolve()
    if real != real_root and real_root not in real.parents:
        raise DatasetError(f"path leaves the dataset folder: {rel!r}")
    return p


def read_labels_tsv(path: str | os.PathLike) -> list[Sample]:
    """Rows ``relative/path<TAB>text`` (UTF-8). Blank lines and ``#`` comments are skipped."""
    path = Path(path)
    root = path.parent
    out: list[Sample] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text") from None
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        if "\t" not in line:
            raise DatasetError(f"{path}:{n}: expected 'path<TAB>text'")
        rel, text = line.split("\t", 1)
        out.append(Sample(_inside(root, rel.strip()), text))
    return out


def read_gt_pairs(folder: str | os.PathLike) -> list[Sample]:
    """Kraken-style pairs: every ``x.gt.txt`` beside an image ``x.<ext>``."""
    folder = Path(folder)
    out: list[Sample] = []
    for gt in sorted(folder.rglob("*.gt.txt")):
        stem = gt.name[: -len(".gt.txt")]
        for ext in IMAGE_SUFFIXES:
            img = gt.with_name(stem + ext)
            if img.exists():
                _inside(folder, str(img.relative_to(folder)))
                out.append(Sample(img, gt.read_text(encoding="utf-8").strip()))
                break
    return out


def read_dataset(folder: str | os.PathLike) -> list[Sample]:
    """A folder with ``labels.tsv``, else kraken pairs; raise :class:`DatasetError` if neither."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a folder")
    tsv = folder / "labels.tsv"
    samples = read_labels_tsv(tsv) if tsv.exists() else read_gt_pairs(folder)
    if not samples:
        raise DatasetError(f"{folder}: no labels.tsv and no x.png + x.gt.txt pairs")
    return samples
