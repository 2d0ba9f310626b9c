"""tools/blend_models.py: a weighted mean of two models' weights."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from blend_models import blend_states


def test_blend_is_the_weighted_mean_and_keeps_integer_buffers():
    a = {"w": torch.tensor([0.0, 10.0]), "n": torch.tensor(5)}
    b = {"w": torch.tensor([10.0, 0.0]), "n": torch.tensor(9)}
    out = blend_states(a, b, 0.1)
    torch.testing.assert_close(out["w"], torch.tensor([9.0, 1.0]))
    assert int(out["n"]) == 9
    torch.testing.assert_close(blend_states(a, b, 1.0)["w"], a["w"])


def test_blend_refuses_other_layers_shapes_and_shares():
    a = {"w": torch.zeros(2)}
    with pytest.raises(ValueError, match="different layers"):
        blend_states(a, {"v": torch.zeros(2)}, 0.5)
    with pytest.raises(ValueError, match="shapes differ"):
        blend_states(a, {"w": torch.zeros(3)}, 0.5)
    with pytest.raises(ValueError, match="share"):
        blend_states(a, {"w": torch.zeros(2)}, 1.5)
