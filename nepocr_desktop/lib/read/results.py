"""Result dataclasses shared by the recognizer, the CLI and the GUI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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
