"""Give a model its own network for drawings: another model's weights, read for drawings only.

    python tools/attach_drawings.py --out OUT.pt MAIN.pt DRAWINGS.pt [--canvas-only]

OUT reads photos and grey images with MAIN's network and drawings (the Write tab's writing, and
images of ink without grey: black-and-white scans) with DRAWINGS's, as a model fine-tuned on
drawings does (``lib/read/branch.py``); with ``--canvas-only``, DRAWINGS's reads only the Write
tab's writing (``nepocr eval --drawings``) and MAIN's every image, scans among them. Both must share the architecture and the character set;
OUT has MAIN's metadata, with a ``drawings`` entry naming the other model. Compare OUT with
``nepocr eval`` first.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from nepocr_desktop.lib.read.branch import CANVAS, SCOPE_KEY
from nepocr_desktop.lib.read.modelio import load_model, save_model

NAMED = ("name", "trained", "epoch", "command", "blend")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("main", type=Path, help="the model whose network reads photos (and whose metadata is kept)")
    ap.add_argument("drawings", type=Path, help="the model whose network reads drawings")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--half-deltas", action="store_true",
                    help="store DRAWINGS's network as its changes from MAIN's in half precision (about half "
                         "the bytes; each weight within 1/2048 of its change)")
    ap.add_argument("--canvas-only", action="store_true",
                    help="the network for drawings reads only the Write tab's writing, not black-and-white scans")
    args = ap.parse_args(argv)
    a, b = load_model(args.main), load_model(args.drawings)
    if a.info.spec != b.info.spec or a.info.charset != b.info.charset:
        raise SystemExit("the two models are of different architectures or character sets")
    drawings = b.drawings if b.drawings is not None else b.module
    info = copy.deepcopy(a.info)
    info.metadata = dict(info.metadata)
    info.metadata["drawings"] = {k: b.info.metadata[k] for k in NAMED if k in b.info.metadata}
    info.metadata.pop(SCOPE_KEY, None)
    if args.canvas_only:
        info.metadata[SCOPE_KEY] = CANVAS
    save_model(a.module, info, args.out, drawings=drawings, half_deltas=args.half_deltas)
    what = "the Write tab's writing" if args.canvas_only else "drawings"
    print(f"{args.out}: {args.main.name} reads photos, {args.drawings.name} reads {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
