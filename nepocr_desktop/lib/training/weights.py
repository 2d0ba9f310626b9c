"""Weights of networks of one architecture mixed: a fine-tuned network moved part of the way
back to the one it started from (fine-tuning's judge), two trained models blended
(``tools/blend_models.py``), or the networks of one fine-tuning's runs averaged."""

from __future__ import annotations

import torch


def _check_same_layers(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> None:
    if first.keys() != second.keys():
        raise ValueError("the models have different layers")
    for key, b in second.items():
        if first[key].shape != b.shape:
            raise ValueError(f"{key}: shapes differ ({tuple(first[key].shape)} and {tuple(b.shape)})")


def blend_states(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor],
                 share: float) -> dict[str, torch.Tensor]:
    """``share * first + (1 - share) * second`` for floating-point tensors; integer buffers
    (BatchNorm's batch counts) are taken from ``second``."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be within [0, 1] (got {share})")
    _check_same_layers(first, second)
    return {key: (share * first[key].float() + (1.0 - share) * b.float()).to(b.dtype) if b.is_floating_point()
            else b.clone() for key, b in second.items()}


def mean_states(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The mean of ``states`` for floating-point tensors; integer buffers are taken from the last."""
    if not states:
        raise ValueError("no networks to average")
    last = states[-1]
    for st in states[:-1]:
        _check_same_layers(st, last)
    return {key: (sum(st[key].float() for st in states) / len(states)).to(b.dtype) if b.is_floating_point()
            else b.clone() for key, b in last.items()}
