"""Two networks reading one image: each image keeps the reading of the network surer of it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nepocr_desktop.lib.read.surer import SurerOf, path_score, second_is_surer


class Fixed(nn.Module):
    """A stand-in network that returns given posteriors (T, N, C) and lengths."""

    def __init__(self, logprobs: torch.Tensor, lengths: list[int]):
        super().__init__()
        self.logprobs, self.lengths = logprobs, torch.tensor(lengths)

    def forward(self, x, widths):
        return self.logprobs, self.lengths


def _posteriors(rows: list[list[float]]) -> np.ndarray:
    return np.log(np.asarray(rows, dtype=np.float64))


def test_the_path_score_is_the_log_probability_of_the_best_path():
    lp = _posteriors([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]])
    assert path_score(lp) == pytest.approx(np.log(0.5) + np.log(0.9) + np.log(0.8))
    assert path_score(np.zeros((0, 5))) == 0.0


def test_the_surer_reading_is_kept_and_a_tie_goes_to_the_personal_network():
    sure = _posteriors([[0.9, 0.1], [0.1, 0.9]])
    unsure = _posteriors([[0.6, 0.4], [0.4, 0.6]])
    assert second_is_surer(unsure, sure) and not second_is_surer(sure, unsure)
    assert second_is_surer(sure, sure.copy())


def test_surer_of_chooses_image_by_image_and_only_counts_each_images_own_frames():
    frames, classes = 4, 3
    general = torch.full((frames, 2, classes), float(np.log(1 / 3)))
    personal = general.clone()
    general[:, 0] = torch.log(torch.tensor([0.9, 0.05, 0.05]))   # image 0: the general network is sure
    personal[:, 1] = torch.log(torch.tensor([0.05, 0.9, 0.05]))  # image 1: the personal one is
    # image 1 is two frames long: the personal network's padding, unsure, must not count against it
    personal[2:, 1] = float(np.log(1e-6))
    lp, lengths = SurerOf(Fixed(general, [4, 2]), Fixed(personal, [4, 2]))(torch.zeros(1), torch.zeros(1))
    assert lengths.tolist() == [4, 2]
    assert torch.equal(lp[:, 0], general[:, 0]) and torch.equal(lp[:, 1], personal[:, 1])


def test_surer_of_refuses_networks_that_read_an_image_into_different_frames():
    a = Fixed(torch.zeros(4, 1, 3), [4])
    b = Fixed(torch.zeros(4, 1, 3), [3])
    with pytest.raises(ValueError, match="different numbers of frames"):
        SurerOf(a, b)(torch.zeros(1), torch.zeros(1))
