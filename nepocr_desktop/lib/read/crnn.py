"""The CRNN-CTC network: a convolution stack, a bidirectional LSTM, a per-column classifier.

The architecture is described by a small dict (``ModelSpec``) that travels inside the model
file, so a saved model can be rebuilt for fine-tuning.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    height: int = 48
    channels: tuple[int, ...] = (32, 64, 128, 192)
    double: tuple[bool, ...] = (False, False, True, True)  # two convs in that stage
    hidden: int = 192
    layers: int = 2
    dropout: float = 0.2

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        d["double"] = list(self.double)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelSpec:
        d = dict(d)
        d["channels"] = tuple(d["channels"])
        d["double"] = tuple(bool(x) for x in d["double"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


# Pool (height, width) after each stage: the width is reduced 4x in all.
_POOLS = ((2, 2), (2, 2), (2, 1), (2, 1))


def frame_lengths(widths: torch.Tensor, frames: int) -> torch.Tensor:
    """How many output frames belong to each image: a quarter of its width, within [1, frames]."""
    return torch.clamp(torch.div(widths, 4, rounding_mode="floor"), min=1, max=frames)


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class CRNN(nn.Module):
    """Input (N, 1, H, W) ink maps and their widths; output (T, N, C) log-probabilities."""

    def __init__(self, num_classes: int, spec: ModelSpec = ModelSpec()):
        super().__init__()
        if spec.height % 16:
            raise ValueError("input height must be a multiple of 16")
        layers: list[nn.Module] = []
        cin = 1
        for cout, dbl, pool in zip(spec.channels, spec.double, _POOLS):
            layers += _conv(cin, cout)
            if dbl:
                layers += _conv(cout, cout)
            layers.append(nn.MaxPool2d(pool, pool))
            cin = cout
        self.cnn = nn.Sequential(*layers)
        feat = cin * (spec.height // 16)
        self.proj = nn.Sequential(nn.Linear(feat, spec.hidden), nn.ReLU(inplace=True), nn.Dropout(spec.dropout))
        self.rnn = nn.LSTM(spec.hidden, spec.hidden, num_layers=spec.layers, bidirectional=True,
                           dropout=spec.dropout if spec.layers > 1 else 0.0)
        self.drop = nn.Dropout(spec.dropout)
        self.head = nn.Linear(2 * spec.hidden, num_classes)
        self.num_classes = num_classes
        self.height = spec.height

    def forward(self, x: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.sequence(self.features(x), widths)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution stack's output as a sequence of columns: (T, N, F), T = W/4."""
        f = self.cnn(x)  # N, C, H/16, W/4
        n, c, h, w = f.shape
        return f.permute(3, 0, 1, 2).reshape(w, n, c * h)

    def sequence(self, f: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities (T, N, C) from :meth:`features` of images ``widths`` pixels wide;
        the columns past a word's own width do not change what is read for it."""
        w = f.shape[0]
        f = self.proj(f)
        lengths = frame_lengths(widths, w)
        packed = nn.utils.rnn.pack_padded_sequence(f, lengths.cpu(), enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=w)
        logits = self.head(self.drop(out))
        return logits.log_softmax(-1), lengths


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


SPECS = {
    "small": ModelSpec(height=32, channels=(32, 64, 96, 128), double=(False, False, False, True), hidden=128),
    "medium": ModelSpec(height=32),
    "base": ModelSpec(),
    "large": ModelSpec(height=64, channels=(32, 64, 128, 256), double=(False, True, True, True), hidden=256),
}
