"""Where the app finds its bundled files and keeps the user's data (no Qt needed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "nepocr"


def app_root() -> Path:
    """The folder holding ``model/`` and ``resources/``: the PyInstaller bundle, the package's
    own data in an installed wheel (``nepocr_desktop/_data``, copied there by ``setup.py``),
    or the source tree (a checkout, an editable install)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    packaged = _packaged_data()
    if packaged is not None:
        return packaged
    return Path(__file__).resolve().parent.parent


def _packaged_data() -> Path | None:
    from importlib.resources import files

    try:
        data = files(__package__) / "_data"
    except (ModuleNotFoundError, TypeError):
        return None
    if isinstance(data, Path) and (data / "model").is_dir():
        return data
    return None


def resources_dir() -> Path:
    return app_root() / "resources"


def bundled_model_path() -> Path:
    return app_root() / "model" / "nepocr.pt"


def lexicon_dir() -> Path:
    """The shipped word list and character language model (``tools/build_lexicon.py``)."""
    return resources_dir() / "lexicon"


def fonts_dir() -> Path:
    """The bundled Devanagari fonts."""
    return resources_dir() / "fonts"


def calibration_path() -> Path:
    """The words the int8 copy of the network is calibrated on (``tools/make_calibration_set.py``)."""
    return resources_dir() / "calibration.npz"


def user_data_dir() -> Path:
    """Per-user data folder (sample store, fine-tuned models); ``NEPOCR_DATA_DIR`` overrides it."""
    override = os.environ.get("NEPOCR_DATA_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_NAME


def user_cache_dir() -> Path:
    """Per-user cache folder (the int8 copies of the networks: made again if it is emptied);
    ``NEPOCR_CACHE_DIR`` overrides it."""
    override = os.environ.get("NEPOCR_CACHE_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / APP_NAME / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP_NAME
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / APP_NAME


def int8_cache_dir() -> Path:
    """Where the int8 copies of the networks are kept (:mod:`nepocr_desktop.lib.read.int8cache`)."""
    return user_cache_dir() / "int8"
