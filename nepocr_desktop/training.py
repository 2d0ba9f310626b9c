"""``nepocr train``: train a recognizer from the real and synthetic data sources."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from .cli import json_line
from .lib.errors import UsageError
from .lib.read.charset import DEFAULT_CHARSET
from .lib.read.crnn import SPECS, count_parameters
from .lib.read.modelio import build_trainable, load_model
from .lib.training.corpus import lens_words, load_glyphs, vocabulary
from .lib.training.recombine import Recombined, word_pieces
from .lib.training.sources import (
    CleanGlyphWords,
    CleanSynth,
    Glyphs,
    GlyphWords,
    RealJoined,
    RealScans,
    RealWords,
    StrokeWords,
    SynthWords,
)
from .lib.training.synth import FontSampler, find_fonts
from .lib.training.train import LEARNED_PARTS, EpochReport, TrainConfig, fit, new_model, prepare_validation

DEFAULT_WEIGHTS = "real=0.35,synth=0.35,glyphwords=0.15,glyphs=0.15"
SOURCES = frozenset({"real", "synth", "glyphwords", "glyphs", "strokes", "realscan", "realjoin"})


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=Path("../shared/data"),
                   help="folder with nepali_lens_words/, dhcd/, nhcd/, calam_syllables/ and word lists")
    p.add_argument("--out", type=Path, default=Path("runs/train"), help="checkpoint folder")
    p.add_argument("--export", type=Path, default=None, help="best model file (default OUT/model.pt)")
    p.add_argument("--spec", choices=sorted(SPECS), default="base", help="model size")
    p.add_argument("--epochs", type=int, default=14)
    p.add_argument("--steps", type=int, default=400, help="steps per epoch")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weights", default=DEFAULT_WEIGHTS,
                   help="source mixture, e.g. " + DEFAULT_WEIGHTS + "; sources: " + ", ".join(sorted(SOURCES))
                   + " (strokes: words redrawn as canvas pen strokes; realscan: the real crops as "
                   "black-and-white scans; realjoin: the start of one real crop joined to the end of "
                   "another, cut between aksharas where the --init model aligns them)")
    p.add_argument("--real-augment", choices=("light", "strong"), default="light",
                   help="augmentation of the real word crops (strong: wider warps, stroke widths, new paper)")
    p.add_argument("--fresh-traces", type=float, default=0.0, metavar="SHARE",
                   help="share of the real crops redrawn as strokes that are augmented first and traced "
                        "anew (0-1; the rest reuse one trace of each crop)")
    p.add_argument("--reading-pen", type=float, default=0.0, metavar="SHARE",
                   help="share of the words redrawn as strokes that are drawn as the Write tab hands them "
                        "to the recognizer: one pen of READING_PEN units, no pressure (0-1)")
    p.add_argument("--trace-variety", type=float, default=0.0, metavar="SHARE",
                   help="share of the words traced anew for redrawing as strokes that a random tracer "
                        "traces (other heights, thresholds, simplification and spur lengths; 0-1)")
    p.add_argument("--trace-upscale", type=float, default=1.0, metavar="FACTOR",
                   help="font-rendered and glyph-composed words redrawn as strokes are traced from their "
                        "image scaled up FACTOR times (at least 1; 1: as the evaluation sets' tracer), which "
                        "keeps the loops and counters of small and bold letters")
    p.add_argument("--stroke-join", type=float, default=0.0, metavar="SHARE",
                   help="share of the real writers' words among those redrawn as strokes that are new "
                        "words joined from the real crops' aksharas, as realjoin makes them, instead of "
                        "whole crops (0-1; needs --init)")
    p.add_argument("--jitter", type=float, default=0.0, metavar="SHARE",
                   help="share of the prepared training images moved 1 or 2 rows up or down (0-1)")
    p.add_argument("--punctuation", type=float, default=0.0, metavar="SHARE",
                   help="share of the training words given a hand-drawn danda (।) or comma after them (0-1)")
    p.add_argument("--distill", type=float, default=0.0, metavar="WEIGHT",
                   help="words without a closing mark learn the --init model's readings (KL per frame, times "
                        "WEIGHT) instead of their labels: learning marks while reading the rest as before")
    p.add_argument("--learn", choices=sorted(LEARNED_PARTS), default="all",
                   help="the parts that learn: all, rnn (projection, LSTM and classifier), head (classifier) or "
                        "marks (only the classifier's rows of the danda and the comma: every other reading "
                        "keeps its scores)")
    p.add_argument("--numbers", type=float, default=0.0,
                   help="share of generated samples that are numbers (digits, years, dates, amounts)")
    p.add_argument("--workers", type=int, default=1, help="data loader processes")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-resume", action="store_true")
    p.add_argument("--keep-epochs", action="store_true",
                   help="also keep each epoch's checkpoint as OUT/epochs/epochN.ckpt "
                        "(tools/average_checkpoints.py averages them)")
    p.add_argument("--val-percent", type=int, default=15, help="share of distinct words held out")
    p.add_argument("--cache", type=Path, default=Path("data_cache"), help="folder for decoded glyph images")
    p.add_argument("--json", action="store_true", help="one JSON object per epoch on stdout")
    p.add_argument("--init", type=Path, default=None,
                   help="start from this model's weights (its spec is used; ignored when resuming)")


def parse_weights(text: str) -> dict[str, float]:
    """``real=0.35,synth=0.35,...`` as a dict; :class:`UsageError` for anything else."""
    out = {}
    for part in text.split(","):
        k, _, v = part.partition("=")
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise UsageError(f"--weights: expected source=weight, got {part.strip()!r} "
                             f"(e.g. {DEFAULT_WEIGHTS})") from None
    unknown = set(out) - SOURCES
    if unknown:
        raise UsageError(f"unknown sources in --weights: {', '.join(sorted(unknown))} "
                         f"(use {', '.join(sorted(SOURCES))})")
    return out


def run_train(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    weights = parse_weights(args.weights)
    for flag, share in (("--fresh-traces", args.fresh_traces), ("--reading-pen", args.reading_pen),
                        ("--trace-variety", args.trace_variety),
                        ("--stroke-join", args.stroke_join), ("--jitter", args.jitter),
                        ("--punctuation", args.punctuation)):
        if not 0.0 <= share <= 1.0:
            raise UsageError(f"{flag} must be between 0 and 1, got {share}")
    if not args.trace_upscale >= 1.0:
        raise UsageError(f"--trace-upscale must be at least 1, got {args.trace_upscale}")
    if weights.get("realjoin") and args.init is None:
        raise UsageError("--weights realjoin needs --init: the model that finds the aksharas in the real crops")
    if args.stroke_join and not weights.get("strokes"):
        raise UsageError("--stroke-join needs a strokes share in --weights: it is a part of the stroke words")
    if args.stroke_join and args.init is None:
        raise UsageError("--stroke-join needs --init: the model that finds the aksharas in the real crops")
    if args.distill < 0:
        raise UsageError(f"--distill must be 0 or more, got {args.distill}")
    if args.distill and args.init is None:
        raise UsageError("--distill needs --init: the model whose readings are learned")
    data = args.data
    if not (data / "nepali_lens_words").exists():
        print(f"error: {data} does not hold nepali_lens_words/", file=sys.stderr)
        return 1
    t0 = time.time()
    split = lens_words(data / "nepali_lens_words", val_percent=args.val_percent)
    val_words = {s.text for s in split.val}
    sources = []
    real = RealWords(split.train, strong=args.real_augment == "strong")
    scan = 0.1 if args.real_augment == "strong" else 0.0
    if weights.get("real"):
        sources.append((real, weights["real"]))
    if weights.get("realscan"):  # the real crops as black-and-white scans
        sources.append((RealScans(real), weights["realscan"]))
    base = load_model(args.init) if args.init is not None else None
    joined = None
    if weights.get("realjoin") or args.stroke_join:  # --stroke-join without strokes is refused above
        assert base is not None  # checked with the other arguments
        aligner = build_trainable(base.info, base).eval()
        pieces = [pc for pc in word_pieces(aligner, base.info.charset, base.info.preprocess, real.items)
                  if pc is not None]
        if len(pieces) < 2:
            raise UsageError("joined words (realjoin, --stroke-join): fewer than two real crops could be cut "
                             "between aksharas")
        joined = Recombined(pieces)
        del aligner
    if weights.get("realjoin"):  # new words joined from the real crops' aksharas
        assert joined is not None
        sources.append((RealJoined(joined, strong=args.real_augment == "strong",
                                   exclude=frozenset(val_words)), weights["realjoin"]))
    vocab = vocabulary(data, exclude=val_words)
    synth = SynthWords(vocab, FontSampler(find_fonts()), numbers=args.numbers, scan=scan)
    if weights.get("synth"):
        sources.append((synth, weights["synth"]))
    glyphwords = None
    if weights.get("glyphwords") or weights.get("glyphs"):
        glyphs = load_glyphs(data, cache=args.cache / "glyphs.npz")
        glyphwords = GlyphWords(glyphs, vocab or [], numbers=args.numbers)
        if weights.get("glyphwords"):
            sources.append((glyphwords, weights["glyphwords"]))
        if weights.get("glyphs"):
            sources.append((Glyphs(glyphs), weights["glyphs"]))
    if weights.get("strokes"):  # real crops, rendered words and glyph words redrawn as pen strokes
        redrawn = [(CleanSynth(synth), 0.6)]
        if glyphwords is not None:
            redrawn.append((CleanGlyphWords(glyphwords), 0.4))
        if joined is not None and args.stroke_join:  # new words in the real writers' hands, as strokes
            redrawn.append((RealJoined(joined, exclude=frozenset(val_words), augment=0.0), args.stroke_join))
        sources.append((StrokeWords(real, redrawn, fresh=args.fresh_traces, reading=args.reading_pen,
                                    real_weight=1.0 - args.stroke_join, trace_variety=args.trace_variety,
                                    others_upscale=args.trace_upscale),
                        weights["strokes"]))
    teacher = build_trainable(base.info, base).eval() if base is not None and args.distill else None
    init_meta = dict(base.info.metadata) if base is not None else {}
    if base is not None:
        info = base.info
        info.metadata = {}
        model = build_trainable(info, base)
    else:
        model, info = new_model(DEFAULT_CHARSET, SPECS[args.spec])
    val = prepare_validation([(s.path, s.text) for s in split.val], info.preprocess)
    info.metadata.update({
        "name": f"nepocr-{args.spec}", "trained": time.strftime("%Y-%m-%d"), "spec_name": args.spec,
        "data": {"real_train_images": len(split.train), "real_val_images": len(split.val),
                 "val_words": len(val_words), "weights": weights},
        "command": "nepocr train " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["train"] else sys.argv[1:]),
    })
    if base is not None:
        info.metadata["init"] = {"path": str(args.init), "name": init_meta.get("name", ""),
                                 "trained": init_meta.get("trained", "")}
    export = args.export or args.out / "model.pt"
    cfg = TrainConfig(out_dir=args.out, epochs=args.epochs, steps_per_epoch=args.steps, batch_size=args.batch,
                      lr=args.lr, seed=args.seed, workers=args.workers, export=export,
                      resume=not args.no_resume, keep_epochs=args.keep_epochs, jitter=args.jitter,
                      punctuation=args.punctuation, teacher=teacher, distill=args.distill, learn=args.learn)
    print(f"model {args.spec}: {count_parameters(model):,} parameters; real train {len(split.train)} "
          f"images, validation {len(split.val)} images of {len(val_words)} unseen words; "
          f"data ready in {time.time() - t0:.0f}s", file=sys.stderr, flush=True)

    def on_epoch(r: EpochReport) -> None:
        if args.json:
            print(json_line(r.__dict__), flush=True)
        print(f"epoch {r.epoch}/{args.epochs} step {r.step} loss {r.loss:.3f} val CER {100 * r.val_cer:.2f}% "
              f"WER {100 * r.val_wer:.2f}% best {100 * r.best_cer:.2f}% ({r.seconds:.0f}s, lr {r.lr:.2e})",
              file=sys.stderr, flush=True)

    last = [time.time()]

    def on_step(step: int, total: int, loss: float) -> None:
        if time.time() - last[0] > 60:
            last[0] = time.time()
            print(f"  step {step}/{total} loss {loss:.3f}", file=sys.stderr, flush=True)

    res = fit(model, info, sources, val, cfg, device=args.device, on_epoch=on_epoch, on_step=on_step)
    print(f"done: best validation CER {100 * res.best_cer:.2f}%, model {export}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="nepocr train")
    add_train_arguments(p)
    return run_train(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
