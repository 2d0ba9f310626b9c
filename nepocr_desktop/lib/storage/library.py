"""The user's own models: versioned files in the data folder and which one is active.

``models/`` holds fine-tuned model files (``nepocr-YYYYmmdd-HHMMSS.pt``, metadata inside)
and ``active.json`` naming the active one, or the bundled model. Every file is written to a
temporary name and renamed, so a crash never leaves a half-written model or pointer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..system.atomic import atomic_write, remove_leftovers

if TYPE_CHECKING:  # model I/O needs torch; it is imported only when a model is touched
    from ..read.modelio import ModelInfo

BUNDLED = "bundled"


@dataclass(frozen=True)
class ModelEntry:
    name: str           # file name, or "bundled"
    path: Path
    info: ModelInfo | None
    error: str | None = None  # why the file cannot be used


@dataclass(frozen=True)
class ActiveModel:
    path: Path
    name: str
    warning: str | None  # set when the chosen model was unusable and the bundled one is used


class ModelLibrary:
    def __init__(self, folder: Path, bundled: Path):
        self.folder = Path(folder)
        self.bundled = Path(bundled)
        self._pointer = self.folder / "active.json"
        remove_leftovers(self.folder)  # temporary files of a save that was killed

    def entries(self) -> list[ModelEntry]:
        """The bundled model first, then the user's models, newest first."""
        out = [self._entry(BUNDLED, self.bundled)]
        if self.folder.exists():
            for p in sorted(self.folder.glob("*.pt"), key=lambda f: (f.stat().st_mtime_ns, f.name), reverse=True):
                out.append(self._entry(p.name, p))
        return out

    def _entry(self, name: str, path: Path) -> ModelEntry:
        from ..read.modelio import ModelError, read_info

        try:
            return ModelEntry(name, path, read_info(path))
        except ModelError as exc:
            return ModelEntry(name, path, None, str(exc))

    def add(self, model, info: ModelInfo, activate: bool = True, drawings=None) -> Path:
        """Save a new version (atomically) and optionally make it active; ``drawings``: its
        network for drawings, if it has one (:func:`~..read.modelio.save_model`)."""
        from ..read.modelio import save_model

        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.folder / f"nepocr-{stamp}.pt"
        n = 1
        while path.exists():
            n += 1
            path = self.folder / f"nepocr-{stamp}-{n}.pt"
        save_model(model, info, path, drawings=drawings)
        if activate:
            self.activate(path.name)
        return path

    def activate(self, name: str) -> None:
        """Make ``name`` (a file in the folder, or "bundled") the active model after validating it."""
        if name != BUNDLED:
            from ..read.modelio import load_model

            path = self.folder / Path(name).name
            load_model(path)  # raises ModelError: an unusable file never becomes active
        self.folder.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"active": name}).encode()
        atomic_write(self._pointer, lambda tmp: Path(tmp).write_bytes(data))

    def delete(self, name: str) -> None:
        if name == BUNDLED:
            raise ValueError("the bundled model cannot be deleted")
        if self.active_name() == name:
            self.activate(BUNDLED)
        (self.folder / Path(name).name).unlink(missing_ok=True)

    def active_name(self) -> str:
        try:
            return str(json.loads(self._pointer.read_text())["active"])
        except (OSError, ValueError, KeyError, TypeError):
            return BUNDLED

    def active_path(self) -> Path:
        """The chosen model's file, unchecked (cheap: for loading on a worker thread)."""
        name = self.active_name()
        return self.bundled if name == BUNDLED else self.folder / Path(name).name

    def active(self) -> ActiveModel:
        """The model to load: the chosen one if it still loads, else the bundled one with a warning."""
        from ..read.modelio import ModelError, load_model

        name = self.active_name()
        if name == BUNDLED:
            return ActiveModel(self.bundled, BUNDLED, None)
        path = self.folder / Path(name).name
        try:
            load_model(path)
        except ModelError as exc:
            return ActiveModel(self.bundled, BUNDLED, f"{exc}; using the bundled model instead")
        return ActiveModel(path, name, None)
