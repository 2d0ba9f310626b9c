"""``nepocr finetune``: adapt a model to one person's handwriting from a labelled folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .lib.errors import NepocrError
from .lib.language.lexicon import WORDS_FILE
from .lib.read.modelio import load_model
from .lib.read.surer import SURER
from .lib.training.finetune import FinetuneConfig, finetune, load_pairs, replay_material, save_finetuned
from .lib.training.train import EpochReport
from .paths import bundled_model_path, fonts_dir, lexicon_dir


def add_finetune_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="folder with labels.tsv or x.png + x.gt.txt pairs")
    p.add_argument("--out", type=Path, required=True, help="where the fine-tuned model is written")
    p.add_argument("--base", type=Path, default=None, help="model to start from (default: bundled)")
    p.add_argument("--epochs", type=int, default=FinetuneConfig.epochs,
                   help="augmented passes over the samples, which set the number of steps (default 0: "
                        "automatic, 8, or 10 when learning for drawings alone from 200 samples on)")
    p.add_argument("--lr", type=float, default=FinetuneConfig.lr,
                   help="learning rate (default 0: automatic, 3e-4, or 6e-4 when learning for drawings "
                        "alone)")
    p.add_argument("--replay", type=float, default=FinetuneConfig.replay,
                   help="share of replayed synthetic words in each batch (0-0.9; default: automatic, "
                        "7/8, or 1/4 when learning for drawings alone, 3/8 from 200 samples on)")
    p.add_argument("--one-network", action="store_true",
                   help="learn one network for every image even when the samples are all drawings or "
                        "black-and-white scans (by default such samples teach a network for drawings "
                        "alone, stored beside the base network, which goes on reading photos)")
    p.add_argument("--recombine", type=float, default=FinetuneConfig.recombine,
                   help="share of the samples learned that are new words joined from the start of one "
                        "of your words and the end of another, cut between aksharas (0-1; default: "
                        "automatic, 0.8 below 60 samples learned from, else 0.5)")
    p.add_argument("--l2sp", type=float, default=FinetuneConfig.l2sp,
                   help="pull towards the base weights (default: automatic, 0.05, or 0.01 when learning "
                        "for drawings alone from 100 samples on)")
    p.add_argument("--seed", type=int, default=FinetuneConfig.seed)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object with the scores")


def run_finetune(args: argparse.Namespace) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        base = load_model(args.base or bundled_model_path())
        pairs, problems = load_pairs(args.dir)
    except NepocrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for msg in problems:
        print(f"skipped: {msg}", file=sys.stderr)
    if len(pairs) < 2:
        print(f"error: {args.dir}: at least 2 usable samples are needed, found {len(pairs)}", file=sys.stderr)
        return 1
    if args.replay is not None and not 0 <= args.replay <= 0.9:
        print("error: --replay must be between 0 and 0.9", file=sys.stderr)
        return 2
    if args.recombine is not None and not 0 <= args.recombine <= 1:
        print("error: --recombine must be between 0 and 1", file=sys.stderr)
        return 2
    words, fonts = replay_material(lexicon_dir() / WORDS_FILE, fonts_dir())

    def on_epoch(r: EpochReport) -> None:
        held = "" if r.val_cer != r.val_cer else f" held-back CER {100 * r.val_cer:.2f}%"
        print(f"run {r.epoch}: {r.step} steps, loss {r.loss:.3f}{held}", file=sys.stderr, flush=True)

    cfg = FinetuneConfig(epochs=args.epochs, lr=args.lr, replay=args.replay, l2sp=args.l2sp, seed=args.seed,
                         recombine=args.recombine, apart=not args.one_network)
    try:
        res = finetune(base, pairs, words, fonts, cfg, on_epoch=on_epoch)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        save_finetuned(res, args.out)
    except OSError as exc:
        print(f"error: could not write {args.out}: {exc}", file=sys.stderr)
        return 1
    out = {"cer_before": res.user_cer_before, "cer_after": res.user_cer_after,
           "general_cer_before": res.general_cer_before, "general_cer_after": res.general_cer_after,
           "train_samples": res.train_samples, "heldout_samples": res.heldout_samples,
           "seconds": round(res.seconds, 2), "out": str(args.out),
           "accepted": res.accepted, "candidate_cer_after": res.candidate_user_cer,
           "candidate_general_cer_after": res.candidate_general_cer, "steps": res.steps, "lr": res.lr,
           "judgement": res.judgement.to_dict() if res.judgement else None,
           "user_words": len(res.info.user_words), "learned_for": "drawings" if res.apart else "all",
           "drawings_read": res.drawings_read}  # alone | surer, where a network for drawings was learned
    if args.json:
        print(json.dumps(out))
    else:
        j = res.judgement
        what = "the new model" if res.accepted else "the base model (the new one did not pass the checks)"
        print(f"held-back CER {100 * res.user_cer_before:.2f}% -> {100 * res.candidate_user_cer:.2f}%, general "
              f"{100 * res.general_cer_before:.2f}% -> {100 * res.candidate_general_cer:.2f}% in {res.seconds:.0f}s")
        if j is not None:
            print(j.reason)
        if res.apart:
            print("learned for drawings alone (the samples are drawings or black-and-white scans): "
                  "photos are read by the base network, drawings " + (
                      "by the surer of it and the new one" if res.drawings_read == SURER else "by the new one"))
        print(f"wrote {what} to {args.out}, with {len(res.info.user_words)} of your words as known words")
    return 0
