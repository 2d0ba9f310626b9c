"""The int8 copies of networks, kept on disk so that a model is quantized once per machine.

Making the int8 copy (:mod:`.quantize`) takes about a second; loading a copy made earlier
takes a few hundredths. Copies live in one folder (the app gives it the user's cache
folder) as TorchScript files beside ``index.json``, whose entries are keyed by
:class:`CacheKey`: the SHA-256 of the model file and of the calibration words, the torch
version, the CPU's instruction set, the quantization engine and the code that makes the copies. A copy made under another
key is never used, so a new model file, torch or CPU means a new copy.

Loading a TorchScript file runs the code it holds, so only files this module wrote are
loaded, and only after their SHA-256 matches the one the index recorded when the file was
written (a damaged or replaced file is deleted and made again). A loaded copy must then read
the calibration words as the float network did when the copy was made (the index keeps those
readings; :func:`~.quantize.check_readings`). Model files a user gives are never loaded here.

A folder that cannot be written (or read) only means no caching: the copy is made at each
load, as before.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..system.atomic import atomic_write
from . import quantize
from .charset import Charset
from .quantize import Int8Copy, QuantizationError, check_readings

log = logging.getLogger("nepocr")

CACHE_FORMAT = 1   # raised when the way copies are made changes
INDEX = "index.json"
MAX_ENTRIES = 8    # copies kept (each about 2.5 MB); the least recently used go first
STALE_S = 600.0    # files no entry names are deleted once they are this old


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cpu_capability() -> str:
    """The instruction set torch's CPU kernels use here (e.g. ``AVX512``, ``AVX2``, ``DEFAULT``)."""
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except Exception:  # noqa: BLE001 - an older torch: the machine's name is the next best thing
        import platform

        return platform.machine() or "unknown"


@functools.cache
def _recipe() -> str:
    """A hash of the code that makes the copies (:mod:`.quantize`), or "" where its source is
    not shipped."""
    try:
        return hashlib.sha256(Path(quantize.__file__).read_bytes()).hexdigest()[:16]
    except (OSError, TypeError):
        return ""


def _quiet_deprecation_notice() -> None:
    """Loading quantized tensors prints torch's notice (once per process, straight to stderr)
    that their creation functions will move; raising it once here, where Python's warning
    filters catch it, keeps it off the user's terminal."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.quantize_per_tensor(torch.zeros(1), 1.0, 0, torch.quint8)


@dataclass(frozen=True)
class CacheKey:
    """What an int8 copy depends on; a copy is used only under the key it was made with."""

    model_sha256: str
    calibration_sha256: str
    torch: str
    cpu: str
    engine: str
    recipe: str = ""  # how copies are made: a hash of quantize.py (a new version makes new copies)
    format: int = CACHE_FORMAT

    @classmethod
    def for_files(cls, model: str | os.PathLike, calibration: str | os.PathLike) -> CacheKey | None:
        """The key for a model file read with these calibration words on this machine; None
        when torch has no int8 engine or a file cannot be read."""
        engine = quantize.int8_engine()
        if engine is None:
            return None
        try:
            return cls(file_sha256(model), file_sha256(calibration), torch.__version__, cpu_capability(), engine,
                       _recipe())
        except OSError:
            return None

    @property
    def id(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


class Int8Cache:
    """The int8 copies in ``folder`` (None: no caching). Safe to share between processes:
    files are written under temporary names and renamed, and a lost index entry only means
    the copy is made again."""

    def __init__(self, folder: str | os.PathLike | None):
        self.folder = None if folder is None else Path(folder)

    def has(self, key: CacheKey) -> bool:
        """Whether a copy is recorded for ``key`` (not yet checked: :meth:`load` does that)."""
        entry = self._index().get(key.id)
        return bool(entry) and "file" in entry and self._file(entry).is_file()

    def refusal(self, key: CacheKey) -> str | None:
        """Why no int8 copy of this network is used (recorded by :meth:`refuse`), or None."""
        entry = self._index().get(key.id)
        if entry and entry.get("key") == asdict(key) and entry.get("refused"):
            return str(entry["refused"])
        return None

    def refuse(self, key: CacheKey, reason: str) -> bool:
        """Record that the network under ``key`` reads in float (e.g. its int8 copy reads the
        calibration words differently), so that later loads do not try again."""
        return self._record(key, {"key": asdict(key), "refused": reason, "created": time.time()})

    def load(self, key: CacheKey, charset: Charset, calibration: Sequence[np.ndarray]) -> torch.jit.ScriptModule | None:
        """The copy recorded for ``key``, if its file is intact and it reads ``calibration``
        (the preprocessed calibration words) as the float network did; else None, and a
        copy that fails is removed."""
        index = self._index()
        entry = index.get(key.id)
        if not entry:
            return None
        path = self._file(entry)
        problem = ""
        if entry.get("key") != asdict(key):
            problem = "recorded under another key"
        elif not path.is_file():
            problem = "file missing"
        else:
            try:
                digest = file_sha256(path)
            except OSError as exc:
                digest, problem = "", f"cannot be read ({exc})"
            if not problem and digest != entry.get("sha256"):
                problem = "file damaged or replaced (SHA-256 differs)"
        module = None
        if not problem:
            try:  # the file is the one this module wrote (hash checked above)
                _quiet_deprecation_notice()
                module = torch.jit.load(str(path), map_location="cpu").eval()
                check_readings(module, charset, calibration, entry.get("reference") or [])
            except QuantizationError as exc:
                problem = str(exc)
            except Exception as exc:  # noqa: BLE001 - a damaged archive: made again
                problem = f"cannot be loaded ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        if problem:
            log.info("int8 cache: %s: %s; making the copy again", path.name, problem)
            self._remove(key)
            return None
        try:
            os.utime(path)  # most recently used: kept longest
        except OSError:
            pass
        return module

    def store(self, key: CacheKey, copy: Int8Copy) -> bool:
        """Record ``copy`` under ``key``; False (logged) when the folder cannot be written."""
        if self.folder is None:
            return False
        path = self.folder / f"int8-{key.id}.pt"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(path, lambda tmp: torch.jit.save(copy.module, tmp))
            entry = {"key": asdict(key), "file": path.name, "sha256": file_sha256(path),
                     "reference": [list(r) for r in copy.reference], "created": time.time()}
        except (OSError, RuntimeError) as exc:
            log.info("int8 cache: not written in %s (%s)", self.folder, exc)
            return False
        return self._record(key, entry)

    def _record(self, key: CacheKey, entry: dict) -> bool:
        if self.folder is None:
            return False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            index = self._index()
            index[key.id] = entry
            self._write_index(self._prune(index, keep=key.id))
        except OSError as exc:
            log.info("int8 cache: not written in %s (%s)", self.folder, exc)
            return False
        return True

    # -- the index --

    def _file(self, entry: dict) -> Path:
        assert self.folder is not None
        return self.folder / Path(str(entry.get("file", ""))).name  # a name in the folder, nothing else

    def _index(self) -> dict[str, dict]:
        if self.folder is None:
            return {}
        try:
            obj = json.loads((self.folder / INDEX).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        entries = obj.get("entries") if isinstance(obj, dict) and obj.get("format") == CACHE_FORMAT else None
        return {k: v for k, v in entries.items() if isinstance(v, dict)} if isinstance(entries, dict) else {}

    def _write_index(self, entries: dict[str, dict]) -> None:
        assert self.folder is not None
        text = json.dumps({"format": CACHE_FORMAT, "entries": entries}, indent=1)
        atomic_write(self.folder / INDEX, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))

    def _remove(self, key: CacheKey) -> None:
        index = self._index()
        entry = index.pop(key.id, None)
        try:
            if entry:
                self._write_index(index)
            (self.folder / f"int8-{key.id}.pt").unlink(missing_ok=True)  # type: ignore[operator]
        except OSError:
            pass

    def _prune(self, index: dict[str, dict], keep: str) -> dict[str, dict]:
        """At most MAX_ENTRIES entries, the least recently used dropped; files no entry names
        (left by another key or an interrupted write) deleted."""
        assert self.folder is not None

        def last_used(item: tuple[str, dict]) -> float:
            if "file" not in item[1]:
                return float(item[1].get("created") or 0.0)
            try:
                return self._file(item[1]).stat().st_mtime
            except OSError:
                return -1.0

        ranked = sorted(index.items(), key=lambda item: (item[0] == keep, last_used(item)), reverse=True)
        kept = {k: v for k, v in ranked[:MAX_ENTRIES] if k == keep or last_used((k, v)) >= 0}
        names = {self._file(v).name for v in kept.values() if "file" in v}
        now = time.time()
        for f in [*self.folder.glob("int8-*.pt"), *self.folder.glob(".*.tmp")]:
            try:  # not just written by another process that has yet to record it
                if f.name not in names and now - f.stat().st_mtime > STALE_S:
                    f.unlink()
            except OSError:
                pass
        return kept
