"""Average the weights of several training checkpoints into one model file.

    python tools/average_checkpoints.py --like runs/NAME/model.pt --out runs/NAME/averaged.pt \
        runs/NAME/epochs/epoch70.ckpt runs/NAME/epochs/epoch71.ckpt ...

The per-epoch checkpoints are those ``nepocr train --keep-epochs`` keeps in ``OUT/epochs``.
Checkpoints of the last epochs of a decaying schedule lie close together; their mean (as in
stochastic weight averaging) often reads a little better than any one of them. ``--like`` is a
model file of the same run: its architecture, charset and metadata are reused, with the epochs and
last step of the checkpoints in place of its own (its validation scores, which describe another
epoch, are dropped). Compare the result with ``nepocr eval`` before using it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from nepocr_desktop.lib.read.modelio import build_trainable, read_info, save_model


def average_states(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Mean of model states (integer buffers are taken from the last)."""
    out = {}
    for key, last in states[-1].items():
        if last.is_floating_point():
            out[key] = torch.stack([s[key].float() for s in states]).mean(0).to(last.dtype)
        else:
            out[key] = last.clone()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", type=Path, nargs="+")
    ap.add_argument("--like", type=Path, required=True, help="a model file of the same run")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    info = read_info(args.like)
    model = build_trainable(info)
    marks = [torch.load(p, map_location="cpu", weights_only=True) for p in args.checkpoints]
    model.load_state_dict(average_states([m["model"] for m in marks]))
    model.eval()
    meta = info.metadata
    epochs = sorted(int(m["epoch"]) for m in marks)
    meta["epoch"] = f"{epochs[0]}-{epochs[-1]} (mean)" if len(epochs) > 1 else epochs[0]
    meta["step"] = max(int(m["step"]) for m in marks)
    for key in ("val_cer", "val_wer"):
        meta.pop(key, None)
    meta["averaged_checkpoints"] = [p.name for p in args.checkpoints]
    save_model(model, info, args.out)
    print(f"{args.out}: mean of {len(args.checkpoints)} checkpoints")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
