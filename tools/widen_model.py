"""Widen a model's recurrent part without changing what it reads (a start for training a wider network).

    python tools/widen_model.py model/nepocr.pt --hidden 256 --out runs/wide-init.pt

The projection and both LSTM directions of every layer get ``hidden - old`` new units. The new
units' incoming weights are small random numbers; every weight *from* a new unit (into the
LSTM's gates, the next layer and the classifier) is zero, so the widened network computes
exactly what the old one did (checked on random input before saving) and training then grows
the new units from there (as in Net2Net's function-preserving growth, Chen et al. 2016).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
from pathlib import Path

import torch

from nepocr_desktop.lib.read.crnn import CRNN, ModelSpec
from nepocr_desktop.lib.read.modelio import build_trainable, load_model, save_model


def _gate_rows(old: int, new: int) -> torch.Tensor:
    """Indices, in a widened (4 * new) gate matrix, of the old (4 * old) rows (gates i, f, g, o)."""
    return torch.cat([torch.arange(g * new, g * new + old) for g in range(4)])


def _dir_cols(old: int, new: int) -> torch.Tensor:
    """Indices, in a widened bidirectional output (2 * new), of the old (2 * old) columns."""
    return torch.cat([torch.arange(old), torch.arange(new, new + old)])


def widen(model: CRNN, spec: ModelSpec, hidden: int, seed: int = 0, scale: float = 0.02) -> CRNN:
    """A copy of ``model`` (built from ``spec``) whose projection and LSTM have ``hidden`` units,
    computing the same output."""
    old = spec.hidden
    if hidden <= old:
        raise ValueError(f"the new width ({hidden}) must exceed the old ({old})")
    wide = CRNN(model.num_classes, dataclasses.replace(spec, hidden=hidden))
    gen = torch.Generator().manual_seed(seed)
    src, dst = model.state_dict(), wide.state_dict()
    out = {}
    rows, cols = _gate_rows(old, hidden), _dir_cols(old, hidden)
    with torch.no_grad():
        for key, t in dst.items():
            s = src[key]
            if s.shape == t.shape:
                out[key] = s.clone()
                continue
            w = torch.randn(t.shape, generator=gen) * scale if t.is_floating_point() else torch.zeros_like(t)
            if key.startswith("proj.0."):  # Linear(feat, hidden): new output units
                w[:old] = s
            elif key.startswith("rnn.") and ".weight_ih_l0" in key:  # (4H, hidden of proj)
                w[:, old:] = 0.0
                w[rows, :old] = s
            elif key.startswith("rnn.") and ".weight_ih_l" in key:  # (4H, 2H) from the layer below
                new_cols = torch.ones(2 * hidden, dtype=torch.bool)
                new_cols[cols] = False
                w[:, new_cols] = 0.0
                w[rows.unsqueeze(1), cols.unsqueeze(0)] = s
            elif key.startswith("rnn.") and ".weight_hh_l" in key:  # (4H, H)
                w[:, old:] = 0.0
                w[rows, :old] = s
            elif key.startswith("rnn.") and ".bias_" in key:
                w = torch.zeros_like(t)
                w[rows] = s
            elif key == "head.weight":  # (C, 2H)
                w = torch.zeros_like(t)
                w[:, cols] = s
            else:
                raise ValueError(f"cannot widen {key} {tuple(s.shape)} -> {tuple(t.shape)}")
            out[key] = w
        wide.load_state_dict(out)
    return wide


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--hidden", type=int, required=True, help="new width of the projection and the LSTM")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    base = load_model(args.model)
    model = build_trainable(base.info, base).eval()
    wide = widen(model, base.info.spec, args.hidden, seed=args.seed).eval()
    x = torch.rand(3, 1, base.info.preprocess.height, 160)
    widths = torch.tensor([160, 120, 64])
    with torch.no_grad():
        a, _ = model(x, widths)
        b, _ = wide(x, widths)
    diff = float((a - b).abs().max())
    if diff > 1e-4:
        raise SystemExit(f"the widened network reads differently (max difference {diff:g})")
    info = copy.deepcopy(base.info)
    info.spec = dataclasses.replace(base.info.spec, hidden=args.hidden)
    info.metadata = dict(info.metadata)
    info.metadata["widened"] = {"from_hidden": base.info.spec.hidden, "to_hidden": args.hidden}
    save_model(wide, info, args.out)
    print(f"{args.out}: hidden {base.info.spec.hidden} -> {args.hidden}; "
          f"{sum(p.numel() for p in wide.parameters()):,} parameters; max output difference {diff:.2g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
