"""Replayed words for fine-tuning, prepared once: what the frozen convolutions make of them and
what the base model reads in them.

While the convolution stack and BatchNorm are frozen, a replayed word's convolution features are
the same for the base model and for the model that learns, at every step. So the words are
rendered, passed through the convolutions and read by the base model once, when fine-tuning
starts; each step then runs only the projection, LSTM and classifier on a batch drawn from the
pool, and the base model's output is at hand for distillation. Rendering, the convolutions and
the base model's reading took about half of each step before (``benchmarks/RESULTS.md``,
"Learning from corrections").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...read.crnn import CRNN
from ...read.preprocess import RIGHT_MARGIN
from ..sources import collate


@dataclass
class ReplayBatch:
    features: torch.Tensor  # T, N, F
    widths: torch.Tensor    # N, in pixels of the prepared images
    targets: torch.Tensor   # sum of the label lengths
    lengths: torch.Tensor   # N, label lengths
    teacher: torch.Tensor   # T, N, C: the base model's log-probabilities


class ReplayPool:
    """Words prepared for replay (:func:`build_pool`); :meth:`draw` makes a batch of them."""

    def __init__(self, features: list[torch.Tensor], widths: list[int], labels: list[list[int]],
                 teacher: list[torch.Tensor]):
        if not features or not (len(features) == len(widths) == len(labels) == len(teacher)):
            raise ValueError("a replay pool needs words, each with its features, width, label and reading")
        self.features, self.widths, self.labels, self.teacher = features, widths, labels, teacher

    def __len__(self) -> int:
        return len(self.features)

    def draw(self, n: int, rng: np.random.Generator) -> ReplayBatch:
        idx = rng.choice(len(self), size=min(n, len(self)), replace=False)
        t = max(self.features[i].shape[0] for i in idx)
        feats = torch.zeros(t, len(idx), self.features[idx[0]].shape[1])
        teach = torch.zeros(t, len(idx), self.teacher[idx[0]].shape[1])
        for j, i in enumerate(idx):
            feats[: self.features[i].shape[0], j] = self.features[i]
            teach[: self.teacher[i].shape[0], j] = self.teacher[i]
        return ReplayBatch(feats, torch.tensor([self.widths[i] for i in idx]),
                           torch.tensor([c for i in idx for c in self.labels[i]], dtype=torch.long),
                           torch.tensor([len(self.labels[i]) for i in idx]), teach)


def build_pool(base: CRNN, stream: Iterator[tuple[np.ndarray, list[int], str]], size: int,
               chunk: int = 16) -> ReplayPool:
    """``size`` words from ``stream`` (prepared and encoded, as :class:`.sources.MixedStream`
    yields them), read by ``base`` in eval mode. As when the app reads, each image gets
    ``RIGHT_MARGIN`` blank columns beyond the widest, and only the frames within each word's own
    width are kept, so a word's features do not depend on the words it was batched with."""
    if size < 1:
        raise ValueError("a replay pool needs at least one word")
    items = [next(stream) for _ in range(size)]
    items.sort(key=lambda x: x[0].shape[1])  # similar widths together: little padding
    features, widths, labels, teacher = [], [], [], []
    was_training = base.training
    base.eval()
    with torch.no_grad():
        for k in range(0, len(items), chunk):
            b = collate(items[k:k + chunk])
            f = base.features(nn.functional.pad(b.images, (0, RIGHT_MARGIN)))
            lp, lengths = base.sequence(f, b.widths)
            for j, n in enumerate(lengths.tolist()):
                features.append(f[:n, j].clone())
                teacher.append(lp[:n, j].clone())
            widths += b.widths.tolist()
            labels += [list(x[1]) for x in items[k:k + chunk]]
    base.train(was_training)
    return ReplayPool(features, widths, labels, teacher)
