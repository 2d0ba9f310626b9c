"""Judging a fine-tuned model: the user's samples split by word (held back, or in folds), per-word
errors of the base and the new model on them and on a fixed synthetic general check, and the
verdict with its paired bootstrap intervals (see the package notes)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...read.charset import Charset
from ...read.ctc_decoder import greedy_decode
from ...read.metrics import cer, edit_distance, paired_interval
from ...read.preprocess import batch
from ..augment import augment_synthetic
from ..corpus import bucket
from ..synth import render_text
from .config import FinetuneConfig
from .samples import Pair, drawn_as_read


@dataclass
class Judgement:
    """Whether the new model is kept, and how sure that is."""

    accepted: bool
    claim: str              # better | probably_better | too_few | not_better | general_worse | not_judged
    reason: str             # one or two sentences in plain words
    judged_words: int       # user samples the new model was judged on
    method: str             # how they were held back
    user_before: float
    user_after: float
    user_delta_low: float   # confidence interval of user_after - user_before
    user_delta_high: float
    general_before: float
    general_after: float
    general_delta_low: float
    general_delta_high: float
    general_words: int
    confidence: float

    def to_dict(self) -> dict:
        return {k: (round(v, 5) if isinstance(v, float) and math.isfinite(v) else v)
                for k, v in asdict(self).items()}


# -- splitting ---------------------------------------------------------------------------------

def _word_order(pairs: Sequence[Pair]) -> list[str]:
    """The distinct words in a fixed pseudo-random order."""
    return sorted({t for _, t in pairs}, key=lambda w: (bucket("ft:" + w, 1 << 30), w))


def split_user_samples(pairs: Sequence[Pair], holdout: float, min_held: int = 1
                       ) -> tuple[list[Pair], list[Pair]]:
    """Deterministic train/held-back split by word (every sample of a word on one side): about
    ``holdout`` of the words, at least ``min_held`` of them, and at least one word left to train on."""
    words = _word_order(pairs)
    if len(words) < 2 or holdout <= 0:
        return list(pairs), []
    k = min(len(words) - 1, max(min_held, 1, round(holdout * len(words))))
    held_words = set(words[:k])
    return [p for p in pairs if p[1] not in held_words], [p for p in pairs if p[1] in held_words]


def fold_user_samples(pairs: Sequence[Pair], folds: int) -> list[tuple[list[Pair], list[Pair]]]:
    """(train, held) for each of ``folds`` word-disjoint folds; every sample is held out once."""
    words = _word_order(pairs)
    folds = max(2, min(folds, len(words)))
    fold_of = {w: i % folds for i, w in enumerate(words)}
    return [([p for p in pairs if fold_of[p[1]] != f], [p for p in pairs if fold_of[p[1]] == f])
            for f in range(folds)]


# -- measuring ---------------------------------------------------------------------------------

@torch.no_grad()
def word_errors(model: nn.Module, charset: Charset, val: Sequence[Pair], batch_size: int = 64
                ) -> tuple[np.ndarray, np.ndarray]:
    """Character edits and reference length of each prepared (image, text) pair (greedy reading)."""
    edits, lengths = np.zeros(len(val), np.int64), np.array([len(t) for _, t in val], np.int64)
    if not val:
        return edits, lengths
    was = model.training
    model.eval()
    order = sorted(range(len(val)), key=lambda i: val[i][0].shape[1])
    for k in range(0, len(order), batch_size):
        idx = order[k:k + batch_size]
        x, w = batch([val[i][0] for i in idx])
        lp, lens = model(torch.from_numpy(x), torch.from_numpy(w))
        lp = lp.numpy()
        for j, i in enumerate(idx):
            edits[i] = edit_distance(charset.decode(greedy_decode(lp[: int(lens[j]), j]).labels), val[i][1])
    model.train(was)
    return edits, lengths


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def judge(user_before: np.ndarray, user_after: np.ndarray, user_lengths: np.ndarray,
          general_before: np.ndarray, general_after: np.ndarray, general_lengths: np.ndarray,
          cfg: FinetuneConfig = FinetuneConfig(), method: str = "") -> Judgement:  # noqa: B008
    """Accept the new model or keep the base one, from per-word edits of both on the user's
    held-back words and on the general check set.

    Rules: (1) the general check is a hard constraint: worse by more than ``general_tolerance``, or
    worse with ``confidence``, rejects; (2) the user's words must gain at least the margin
    (``margin`` and ``margin_rel`` of the CER before); (3) a gain is only claimed when at least
    ``min_judge`` words were judged and the whole interval is below zero.
    """
    ub, ua = cer(user_before, user_lengths), cer(user_after, user_lengths)
    gb, ga = cer(general_before, general_lengths), cer(general_after, general_lengths)
    ud, ulo, uhi = paired_interval(user_before, user_after, user_lengths, cfg.confidence)
    gd, glo, ghi = paired_interval(general_before, general_after, general_lengths, cfg.confidence)
    n = len(user_lengths)
    common = {"judged_words": n, "method": method, "user_before": ub, "user_after": ua, "user_delta_low": ulo,
              "user_delta_high": uhi, "general_before": gb, "general_after": ga, "general_delta_low": glo,
              "general_delta_high": ghi, "general_words": len(general_lengths), "confidence": cfg.confidence}
    if math.isfinite(gd) and (gd > cfg.general_tolerance or glo > 0):
        return Judgement(False, "general_worse",
                         f"It read the general check worse ({_pct(gb)} → {_pct(ga)} errors on "
                         f"{len(general_lengths)} words), more than chance explains, so the model in use "
                         "is kept.", **common)
    if n == 0 or not math.isfinite(ud):
        return Judgement(False, "not_judged", "None of your words could be held back to check it, so the "
                         "model in use is kept.", **common)
    margin = max(cfg.margin, cfg.margin_rel * ub)
    if ud > -margin:
        return Judgement(False, "not_better",
                         f"It was not better on {n} of your words it had not learned from "
                         f"({_pct(ub)} → {_pct(ua)} errors), so the model in use is kept.", **common)
    span = f"between {_pct(-uhi)} and {_pct(-ulo)} fewer errors, {round(100 * cfg.confidence)}% interval"
    if n < cfg.min_judge:
        return Judgement(True, "too_few",
                         f"Checked on only {n} of your words ({_pct(ub)} → {_pct(ua)} errors): too few "
                         "to tell whether it really reads your handwriting better. It reads the general "
                         "check as well as before.", **common)
    if uhi < 0:
        return Judgement(True, "better",
                         f"It reads your handwriting better: {_pct(ub)} → {_pct(ua)} errors on {n} of your "
                         f"words it had not learned from ({span}), and the general check as well as "
                         "before.", **common)
    return Judgement(True, "probably_better",
                     f"It probably reads your handwriting better: {_pct(ub)} → {_pct(ua)} errors on {n} "
                     f"of your words ({span}: it could also be chance). It reads the general check as well "
                     "as before.", **common)


def split_check_words(words: Sequence[str], percent: int = 5) -> tuple[list[str], list[str]]:
    """(words of the general check set, words for replay): disjoint, by a hash of the word, so
    practising on replayed words cannot flatter the check."""
    check = [w for w in words if bucket("check:" + w) < percent]
    if not check:  # a tiny word list (tests): share it
        return list(words), list(words)
    held = set(check)
    return check, [w for w in words if w not in held] or list(words)


def general_check_set(words: Sequence[str], fonts: Sequence[Path], n: int = 200, seed: int = 1234,
                      drawn: bool = False) -> list[Pair]:
    """A fixed synthetic check set: the same words, fonts and distortions every time. ``drawn``:
    the words written as pen strokes instead, as the Write tab hands them to the recognizer (the
    check of a network for drawings alone).

    The words are the first ``n`` in an order set by a hash of each word, and each word's font and
    distortions come from its own hash, so a word list with words added or taken away gives the
    same check but for those words (drawn by position in the list, two words taken out of the
    bundled list gave another check, on which the base model read 5.3% instead of 3.5%)."""
    order = sorted(set(words), key=lambda w: (bucket(f"general:{seed}:{w}", 1 << 30), w))
    chosen = [(order[i % len(order)], i // len(order)) for i in range(n)] if order else []  # a short list: again
    out = []
    for w, again in chosen:
        rng = np.random.default_rng([seed, bucket("general-draw:" + w, 1 << 30), again])
        f = fonts[int(rng.integers(len(fonts)))]
        img = render_text(w, f, size=int(rng.integers(36, 56)))
        augmented = rng.random() < 0.75
        if drawn:
            out.append((drawn_as_read(img, rng), w))
        else:
            out.append((augment_synthetic(img, rng, pen=0.3) if augmented else img, w))
    return out
