"""Atomic file replacement: write to a temporary name in the same folder, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> None:
    """Call ``write(tmp_path)``, flush it to disk, then rename it over ``path``.

    A crash or a full disk leaves the old file as it was; the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


LEFTOVER_AGE = 600.0  # seconds: an older temporary file is no write in progress


def remove_leftovers(folder: str | os.PathLike, max_age: float = LEFTOVER_AGE) -> list[Path]:
    """Remove temporary files (``.<name>.<random>.tmp``) that a killed :func:`atomic_write`
    left in ``folder``, if older than ``max_age`` seconds; return those removed."""
    import time

    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(Path(folder).glob(".*.tmp"))
    except OSError:
        return removed
    for tmp in entries:
        try:
            if tmp.is_file() and not tmp.is_symlink() and now - tmp.stat().st_mtime > max_age:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            pass
    return removed
