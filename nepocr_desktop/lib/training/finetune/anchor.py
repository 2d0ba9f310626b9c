"""The pull towards the base weights while fine-tuning.

Every weight that learns is pulled back towards its value in the base model (L2-SP:
``l2sp * sum (w - w0)^2``). With ``ewc`` the weights that matter most for reading general words
are pulled harder (elastic weight consolidation): each weight's pull is scaled by how much the
base model's loss on replayed general words depends on it (the diagonal of the empirical Fisher
information, from one word at a time), normalised to a mean of 1. Weights the general words do not
depend on are then free to learn the user's hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .replay import ReplayPool

FISHER_WORDS = 64   # replayed words the importance of each weight is estimated from
FISHER_CAP = 100.0  # no weight is pulled more than this many times the mean pull


def fisher_diagonal(model: nn.Module, named: Sequence[tuple[str, torch.Tensor]], pool: ReplayPool,
                    words: int = FISHER_WORDS, seed: int = 0) -> dict[str, torch.Tensor]:
    """The mean squared gradient of each of ``named``'s weights over ``words`` replayed words,
    each read alone by ``model`` (which must hold the base weights), normalised to a mean of 1
    over all of them and capped at :data:`FISHER_CAP`."""
    ctc = nn.CTCLoss(blank=0, zero_infinity=True, reduction="sum")
    sums = {n: torch.zeros_like(p) for n, p in named}
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pool), size=min(words, len(pool)), replace=False)
    was = model.training
    model.eval()  # the base model's own reading, without dropout
    for i in chosen:
        f = pool.features[i].unsqueeze(1)
        lp, lengths = model.sequence(f, torch.tensor([pool.widths[i]]))
        loss = ctc(lp, torch.tensor(pool.labels[i], dtype=torch.long), lengths,
                   torch.tensor([len(pool.labels[i])]))
        grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)
        for (n, _), g in zip(named, grads):
            if g is not None:
                sums[n] += g.detach() ** 2
    model.train(was)
    total = sum(float(s.sum()) for s in sums.values())
    count = sum(s.numel() for s in sums.values())
    mean = total / max(1, count)
    if mean <= 0:
        return {n: torch.ones_like(s) for n, s in sums.items()}
    return {n: (s / mean).clamp_(max=FISHER_CAP) for n, s in sums.items()}


def pull(params: Sequence[torch.Tensor], anchor: Sequence[torch.Tensor], l2sp: float,
         ewc: float = 0.0, importance: Sequence[torch.Tensor] | None = None) -> torch.Tensor | float:
    """``l2sp * sum (w - w0)^2``, plus ``ewc * sum F (w - w0)^2`` with ``importance`` F."""
    out: torch.Tensor | float = 0.0
    if l2sp > 0:
        out = out + l2sp * sum(((p - a) ** 2).sum() for p, a in zip(params, anchor))
    if ewc > 0 and importance is not None:
        out = out + ewc * sum((f * (p - a) ** 2).sum() for p, a, f in zip(params, anchor, importance))
    return out
