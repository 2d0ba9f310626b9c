"""Blend two models of the same architecture: a weighted mean of their weights.

    python tools/blend_models.py --out model/nepocr.pt --share 0.1 OLD.pt NEW.pt

The result has ``share`` of the first model's weights and ``1 - share`` of the second's (as in
WiSE-FT, interpolating a fine-tuned model towards the one it started from), and the second's
metadata, with a ``blend`` entry naming both. Compare the result with ``nepocr eval`` first.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from nepocr_desktop.lib.read.modelio import build_trainable, load_model, save_model
from nepocr_desktop.lib.training.weights import blend_states


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first", type=Path)
    ap.add_argument("second", type=Path)
    ap.add_argument("--share", type=float, required=True, help="the first model's share of the weights")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    a, b = load_model(args.first), load_model(args.second)
    if a.info.spec != b.info.spec or a.info.charset.num_classes != b.info.charset.num_classes:
        raise SystemExit("the two models are of different architectures or character sets")
    model = build_trainable(b.info, b)
    model.load_state_dict(blend_states(a.module.state_dict(), b.module.state_dict(), args.share))
    model.eval()
    info = copy.deepcopy(b.info)
    info.metadata = dict(info.metadata)
    info.metadata["blend"] = {"share": args.share, "first": {k: a.info.metadata.get(k) for k in ("name", "trained", "epoch")},
                              "second": {k: b.info.metadata.get(k) for k in ("name", "trained", "epoch")}}
    save_model(model, info, args.out)
    print(f"{args.out}: {args.share:g} x {args.first.name} + {1 - args.share:g} x {args.second.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
