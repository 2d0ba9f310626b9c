"""Two networks reading one image: the reading of the one that is surer of it.

A model fine-tuned on a person's drawings carries two networks (:mod:`.branch`): the one it had,
which reads everyone's writing, and one that learned this person's hand. Fine-tuning chooses how
its drawings are then read (``drawings_read`` in the model's metadata): by the new network alone
(:data:`ALONE`, also every model without the entry), or by both (:data:`SURER`), each image keeping
the reading of the network whose best path through it is the likelier: the person's network where
it knows the hand, the general one where the person's network has forgotten what the general one
knew. Both networks have the same layers, so their posteriors for one image have the same number of
frames and their path scores compare directly.

With 300 corrections of a binarised new hand (benchmarks/RESULTS.md), the person's network alone
read the hand's other words 31% better and the general check of drawn words 0.8 points worse; read
by the surer of two, the hand's words kept the whole gain and the general check 0.07 points of the
loss. A hand written on the Write tab kept less of its gain that way (the general network is sure of
some of those words and reads them wrong), so neither way is always the better one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

METADATA_KEY = "drawings_read"
ALONE, SURER = "alone", "surer"


def reads_surer(metadata: dict) -> bool:
    """Whether a model with ``metadata`` reads its drawings by the surer of its two networks."""
    return metadata.get(METADATA_KEY) == SURER


def path_score(logprobs: np.ndarray) -> float:
    """The log-probability of the best CTC path of one (T, C) posterior matrix: how sure a
    network is of its own greedy reading."""
    return float(np.asarray(logprobs).max(axis=1).sum()) if len(logprobs) else 0.0


def second_is_surer(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether ``second``'s reading of an image is kept over ``first``'s (ties: ``second``, the
    network that learned the person's hand)."""
    return path_score(second) >= path_score(first)


class SurerOf(nn.Module):
    """Reads a batch with ``general`` and ``personal`` and returns, image by image, the
    posteriors of the surer one (as :func:`second_is_surer` decides): the networks' own
    ``(log-probabilities (T, N, C), lengths)`` interface, for evaluation and fine-tuning's checks."""

    def __init__(self, general: nn.Module, personal: nn.Module):
        super().__init__()
        self.general, self.personal = general, personal

    def forward(self, x: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lp_g, lengths = self.general(x, widths)
        lp_p, lengths_p = self.personal(x, widths)
        if lp_g.shape != lp_p.shape or not torch.equal(lengths, lengths_p):
            raise ValueError("the two networks read an image into different numbers of frames")
        frames = torch.arange(lp_g.shape[0], device=lp_g.device)[:, None] < lengths[None, :].to(lp_g.device)
        score_g = (lp_g.max(-1).values * frames).sum(0)
        score_p = (lp_p.max(-1).values * frames).sum(0)
        return torch.where((score_p >= score_g)[None, :, None], lp_p, lp_g), lengths
