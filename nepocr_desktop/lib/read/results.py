"""Result dataclasses shared by the recognizer, the CLI and the GUI, and the shape of a reader."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .modelio import ModelInfo
    from .preprocess import ImageSource


@dataclass(frozen=True)
class CharConfidence:
    char: str
    confidence: float


@dataclass(frozen=True)
class GraphemeConfidence:
    """One akshara (as a reader segments the text) and its confidence (min of its code points)."""

    text: str
    confidence: float


@dataclass(frozen=True)
class Alternative:
    text: str
    score: float  # log-probability of the hypothesis (higher is better)


@dataclass(frozen=True)
class Recognition:
    """What the recognizer read from one image."""

    text: str
    confidence: float
    chars: list[CharConfidence] = field(default_factory=list)
    graphemes: list[GraphemeConfidence] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)
    device: str = "cpu"
    ms: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RecognitionFailure:
    """Why one input could not be read (a one-line message naming the input)."""

    message: str


class Reader(Protocol):
    """Anything that reads word images in batches: one result per input, in input order."""

    def recognize(self, images: Sequence[ImageSource]) -> list[Recognition | RecognitionFailure]: ...


class LoadedReader(Reader, Protocol):
    """A reader with a model behind it, as the app's workers hold one (the
    :class:`~nepocr_desktop.recognizer.Recognizer`)."""

    @property
    def model_path(self) -> Path: ...

    @property
    def info(self) -> ModelInfo: ...

    device_name: str
    precision: str

    @property
    def reads_drawings_apart(self) -> bool: ...

    def set_user_words(self, words: Iterable[str]) -> None: ...

    def recognize_drawings(self, images: Sequence[ImageSource]) -> list[Recognition | RecognitionFailure]: ...
