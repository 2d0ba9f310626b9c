"""The app's persistent settings (a QSettings INI file in the user's data folder)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from ..lib.read.devices import DEFAULT_DEVICE, DEVICES
from ..paths import user_data_dir


class Settings:
    """Typed access to the values the app remembers between runs."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else user_data_dir() / "settings.ini"
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def _get(self, key: str, default, kind):
        value = self._qs.value(key, default)
        try:
            if kind is bool:
                return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            return kind(value)
        except (TypeError, ValueError):
            return default

    def _clamped(self, key: str, default: float, lo: float, hi: float, kind=int):
        return kind(max(lo, min(hi, self._get(key, default, kind))))

    @property
    def pen_width(self) -> float:
        return self._clamped("canvas/pen_width", 5.0, 1.0, 40.0, float)

    @pen_width.setter
    def pen_width(self, value: float) -> None:
        self._qs.setValue("canvas/pen_width", float(value))

    @property
    def auto_delay(self) -> int:
        """Milliseconds of stillness before the canvas is read; 0 = only on request."""
        return self._clamped("canvas/auto_delay_ms", 600, 0, 10_000)

    @auto_delay.setter
    def auto_delay(self, value: int) -> None:
        self._qs.setValue("canvas/auto_delay_ms", int(value))

    @property
    def beam(self) -> int:
        return self._clamped("recognition/beam", 8, 1, 64)

    @beam.setter
    def beam(self, value: int) -> None:
        self._qs.setValue("recognition/beam", int(value))

    @property
    def lexicon(self) -> bool:
        """Nudge readings towards the bundled word list and character language model (on by
        default: see ``model/MODEL_CARD.md`` for what it does to unseen real words)."""
        return self._get("recognition/lexicon", True, bool)

    @lexicon.setter
    def lexicon(self, value: bool) -> None:
        self._qs.setValue("recognition/lexicon", bool(value))

    @property
    def device(self) -> str:
        value = str(self._qs.value("recognition/device", DEFAULT_DEVICE))
        return value if value in DEVICES else DEFAULT_DEVICE

    @device.setter
    def device(self, value: str) -> None:
        self._qs.setValue("recognition/device", value if value in DEVICES else DEFAULT_DEVICE)

    @property
    def background_learning(self) -> bool:
        """Learn from corrections in the background every :attr:`learn_every` new samples,
        keeping the result only when it passes its checks (on by default)."""
        return self._get("learning/background", True, bool)

    @background_learning.setter
    def background_learning(self, value: bool) -> None:
        self._qs.setValue("learning/background", bool(value))

    @property
    def learn_every(self) -> int:
        """New samples between two background learning runs."""
        return self._clamped("learning/every", 20, 5, 1000)

    @learn_every.setter
    def learn_every(self, value: int) -> None:
        self._qs.setValue("learning/every", int(value))

    @property
    def learned_at_count(self) -> int:
        """How many samples there were when learning last ran in the background."""
        return self._clamped("learning/last_count", 0, 0, 10**9)

    @learned_at_count.setter
    def learned_at_count(self, value: int) -> None:
        self._qs.setValue("learning/last_count", int(value))

    @property
    def last_folder(self) -> str:
        return str(self._qs.value("files/last_folder", "") or "")

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self._qs.setValue("files/last_folder", str(value))

    @property
    def palette_visible(self) -> bool:
        return self._get("window/palette", False, bool)

    @palette_visible.setter
    def palette_visible(self, value: bool) -> None:
        self._qs.setValue("window/palette", bool(value))

    @property
    def written_text(self) -> str:
        """The Write tab's text: the words added to it so far, as the person left it."""
        return str(self._qs.value("write/text", "") or "")

    @written_text.setter
    def written_text(self, value: str) -> None:
        self._qs.setValue("write/text", str(value))

    def geometry(self) -> QByteArray | None:
        value = self._qs.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, value: QByteArray) -> None:
        self._qs.setValue("window/geometry", value)

    def splitter(self) -> QByteArray | None:
        value = self._qs.value("window/splitter")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_splitter(self, value: QByteArray) -> None:
        self._qs.setValue("window/splitter", value)

    def sync(self) -> None:
        self._qs.sync()
