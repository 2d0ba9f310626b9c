"""Fine-tuning a model on one person's corrected samples, without forgetting the rest.

How it learns (:func:`finetune`):

- a fixed number of steps that grows with the number of samples (``epochs`` passes over them),
  no early stopping on a handful of words;
- the weights are pulled towards the base model's (L2-SP: ``l2sp * sum ||w - w0||^2``), BatchNorm
  stays frozen, and below ``freeze_cnn_below`` samples (by default always) the convolution stack
  is frozen too, so only the projection, LSTM and classifier adapt;
- every user sample is augmented heavily (warps, slant, stroke width, new paper; clean canvas or
  scanned drawings are also redrawn with a round pen); with drawings and black-and-white scans,
  half of the user's samples are new words joined from the start of one of their words and the
  end of another, cut between aksharas (:mod:`.recombine`), only ever from the words a run learns
  from;
- replayed synthetic words (bundled fonts, bundled word list minus the general check's words) fill
  most of each batch, and on them the new model is also held to the base model's per-frame
  output distribution (distillation, weight ``distill``); while the convolutions are frozen the
  replayed words are prepared once, in a pool (:mod:`.replay`), which halves the time of a step;
- the weights of the last third of the steps are averaged.

How it is judged (:func:`judge`): the user's samples are split by word. Below ``cv_below`` samples
every sample is judged once by cross-validation (``folds`` models, each trained without that fold),
and the model that is handed back is trained on all samples; from ``cv_below`` on, a share of the
words (at least ``min_judge``) is held back and the model trained on the rest is the one judged and
handed back. A fixed synthetic general check set is read by the base and the new model. Paired
bootstrap intervals over words give the uncertainty of both differences. The new model is accepted
only when the general check is not worse by more than noise and the user's words gain at least a
margin; otherwise the base weights are handed back and the judgement says why. Nothing is written
unless the caller saves the result.
"""

from __future__ import annotations

import copy
import gzip
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..language.personal import MAX_WORDS, words_of
from ..read.charset import DEFAULT_CHARSET, Charset, LabelError
from ..read.ctc_decoder import greedy_decode
from ..read.metrics import cer, edit_distance, paired_interval
from ..read.modelio import LoadedModel, ModelInfo, build_trainable, save_model
from ..read.preprocess import ImageError, batch, load_gray
from ..storage.dataset import label_problem, read_dataset
from .augment import affine, elastic, paper, pen_strokes, stroke_width, to_gray, to_ink
from .corpus import bucket
from .recombine import Pieces, Recombined, word_pieces
from .replay import ReplayPool, build_pool
from .sources import MixedStream, SynthWords, collate
from .strokes import redraw_as_strokes, trace_strokes
from .synth import FontSampler, render_text
from .train import EpochReport, freeze_batchnorm, prepare_validation

Pair = tuple[np.ndarray, str]


@dataclass
class FinetuneConfig:
    epochs: int = 8             # passes over the user's samples (augmented); sets the number of steps
    steps_per_epoch: int = 0    # 0: from the sample count
    batch_size: int = 16
    lr: float = 0.0             # 0: automatic, from the sample count (see auto_lr)
    replay: float | None = None  # share of each batch drawn from replayed synthetic words (None: auto_replay)
    holdout: float = 0.2        # share of the user's words held back (from ``cv_below`` samples on)
    patience: int = 3           # unused: the number of steps is fixed (kept for old settings files)
    seed: int = 0
    l2sp: float = 0.05          # pull towards the base weights: l2sp * sum ||w - w0||^2
    distill: float = 3.0        # keep reading replayed words as the base model does (KL per frame)
    freeze_cnn_below: int = 1000  # fewer training samples than this: only the ``adapt`` part learns
    adapt: str = "rnn"          # rnn: projection, LSTM and classifier; cnn: convolutions and projection
    min_steps: int = 80
    max_steps: int = 240
    average: float = 0.33       # average the weights of this last share of the steps (0: off)
    replay_reuse: float = 4.0   # times each prepared replayed word is drawn, on average (.replay)
    replay_pool_max: int = 1200
    folds: int = 3              # cross-validation folds below ``cv_below`` samples
    cv_below: int = 60
    min_judge: int = 20         # fewer judged words than this: "too few to tell"
    margin: float = 0.002       # a gain must be at least this (absolute CER) ...
    margin_rel: float = 0.05    # ... and this share of the CER before
    general_tolerance: float = 0.005  # the general check may not get worse by more than this
    general_words: int = 200
    confidence: float = 0.9     # of the bootstrap intervals
    recombine: float = 0.5      # share of the user's samples that are new words joined from theirs
                                # (drawings and black-and-white scans only; see .recombine)


def auto_lr(train_samples: int) -> float:
    """Learning rate for ``train_samples`` user samples. 3e-4 at every size: with 30 samples of a
    new hand, 1e-4 gained 4.5% on its other words and 3e-4 gained 9% (mean of four seeds, every
    seed better, general check no worse); on known writers, canvas strokes and a new scanner the
    two rates read alike (benchmarks/RESULTS.md, "Learning from corrections")."""
    del train_samples  # one rate has served every size measured
    return 3e-4


def auto_replay(train_samples: int) -> float:
    """Share of replayed words in a batch: 7 in 8, so that each of the user's samples is seen a
    few times among many general words and the general check stays where it was (measured on a
    new hand with 30 and 200 samples: a half share or less made the general check 0.5-1 point
    worse, 7 in 8 kept it within 0.2 points and still gained 20-30% on the hand)."""
    return 0.875


def replay_share(train_samples: int, cfg: FinetuneConfig) -> float:
    return auto_replay(train_samples) if cfg.replay is None else cfg.replay


def replay_count(train_samples: int, cfg: FinetuneConfig) -> int:
    """Replayed words in each batch of ``cfg.batch_size`` (at least one place is left for the user's)."""
    return min(cfg.batch_size - 1, round(cfg.batch_size * replay_share(train_samples, cfg)))


def _replay_stream(words: Sequence[str], fonts: Sequence[Path], info: ModelInfo, seed: int):
    """Replayed synthetic words, prepared and encoded for ``info``'s network."""
    return iter(MixedStream([(SynthWords(list(words), FontSampler(list(fonts)), pen=0.4), 1.0)],
                            info.charset, info.preprocess, seed=seed))


def _distillation(teacher: torch.Tensor, student: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean per-frame KL(teacher || student) over each word's own frames (log-probabilities, T, N, C)."""
    mask = (torch.arange(student.shape[0])[:, None] < lengths[None, :]).float()
    kl = (teacher.exp() * (teacher - student)).sum(-1)
    return (kl * mask).sum() / mask.sum()


def auto_steps(train_samples: int, cfg: FinetuneConfig) -> int:
    """Training steps: ``epochs`` augmented passes over the samples, within [min_steps, max_steps]."""
    if cfg.steps_per_epoch:
        return cfg.epochs * cfg.steps_per_epoch
    n_replay = round(cfg.batch_size * replay_share(train_samples, cfg))
    per_batch = max(1, cfg.batch_size - n_replay)
    return int(min(cfg.max_steps, max(cfg.min_steps, math.ceil(cfg.epochs * train_samples / per_batch))))


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


@dataclass
class FinetuneResult:
    user_cer_before: float
    user_cer_after: float       # of the model handed back (the base model's when not accepted)
    general_cer_before: float
    general_cer_after: float
    train_samples: int
    heldout_samples: int        # user samples the new model was judged on
    seconds: float
    cancelled: bool
    model: torch.nn.Module | None
    info: ModelInfo
    history: list[EpochReport] = field(default_factory=list)
    lr: float = 0.0  # the learning rate used
    judgement: Judgement | None = None
    candidate_user_cer: float = float("nan")     # the new model's, accepted or not
    candidate_general_cer: float = float("nan")
    steps: int = 0
    candidate: torch.nn.Module | None = None     # the new model, accepted or not

    @property
    def accepted(self) -> bool:
        return self.judgement is not None and self.judgement.accepted

    def summary(self) -> dict:
        out = {k: getattr(self, k) for k in ("user_cer_before", "user_cer_after", "general_cer_before",
                                             "general_cer_after", "train_samples", "heldout_samples",
                                             "seconds", "cancelled", "lr", "steps")}
        out["accepted"] = self.accepted
        if self.judgement is not None:
            out["judgement"] = self.judgement.to_dict()
        return out


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


def general_check_set(words: Sequence[str], fonts: Sequence[Path], n: int = 200, seed: int = 1234
                      ) -> list[Pair]:
    """A fixed synthetic check set: the same words, fonts and distortions every time."""
    from .augment import augment_synthetic

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        w = words[int(rng.integers(len(words)))]
        f = fonts[int(rng.integers(len(fonts)))]
        img = render_text(w, f, size=int(rng.integers(36, 56)))
        out.append((augment_synthetic(img, rng, pen=0.3) if rng.random() < 0.75 else img, w))
    return out


# -- learning ----------------------------------------------------------------------------------

def is_clean_drawing(gray: np.ndarray) -> bool:
    """True for binarised scans and canvas drawings (almost no grey pixels)."""
    mid = (gray > 40) & (gray < 215)
    return float(mid.mean()) < 0.03


class UserWords:
    """The user's samples, each drawn heavily augmented: warps, slant, stroke width, new paper;
    clean drawings (binarised scans) are sometimes redrawn with a round pen, and canvas drawings
    written again as canvas strokes in another writing style (:func:`redraw_as_strokes`).
    With ``recombined`` words, a ``recombine`` share of the samples are new words joined from
    the user's own (:mod:`.recombine`), augmented the same way."""

    def __init__(self, pairs: Sequence[Pair], kinds: Sequence[str] | None = None,
                 recombined: Recombined | None = None, recombine: float = 0.0):
        self.items = list(pairs)
        self.canvas = [k == "canvas" for k in kinds] if kinds is not None else [False] * len(self.items)
        self.clean = [c or is_clean_drawing(img) for c, (img, _) in zip(self.canvas, self.items)]
        self._traced: dict[int, tuple[list[np.ndarray], float]] = {}
        self.recombined = recombined if recombined is not None and len(recombined) >= 2 else None
        self.recombine = recombine

    def _redraw(self, i: int, rng: np.random.Generator) -> np.ndarray:
        img = self.items[i][0]
        if i not in self._traced:
            self._traced[i] = trace_strokes(img)
        return redraw_as_strokes(img, rng, paths=self._traced[i])

    def __call__(self, rng: np.random.Generator) -> Pair:
        if self.recombined is not None and rng.random() < self.recombine:
            img, text = self.recombined(rng)
            canvas, clean = False, is_clean_drawing(img)
        else:
            i = int(rng.integers(len(self.items)))
            img, text = self.items[i]
            canvas, clean = self.canvas[i], self.clean[i]
            if rng.random() < 0.15:
                return img, text
            if canvas and rng.random() < 0.4:
                img = self._redraw(i, rng)
                if rng.random() < 0.5:
                    return img, text
        ink = to_ink(img)
        r = rng.random()
        if clean and not canvas and r < 0.35:
            ink = pen_strokes(ink, rng)
        elif r < 0.6:
            ink = stroke_width(ink, rng)
        ink = affine(ink, rng, rot=3.0, shear=0.3, stretch=0.2)
        if rng.random() < 0.6:
            ink = elastic(ink, rng, amp=rng.uniform(0.005, 0.03))
        ink = np.clip(ink, 0, 1)
        if not clean and rng.random() < 0.3:
            return paper(ink, rng), text
        return to_gray(ink), text


def frozen_parts(train_samples: int, cfg: FinetuneConfig) -> list[str]:
    """The parts of the network that stay as they are for ``train_samples`` samples."""
    if train_samples >= cfg.freeze_cnn_below:
        return []
    return {"cnn": ["rnn", "head"], "rnn": ["cnn"], "head": ["cnn", "rnn"]}[cfg.adapt]


@dataclass
class _Run:
    model: nn.Module | None
    losses: list[float]
    cancelled: bool


def _train_once(base: LoadedModel, info: ModelInfo, train: Sequence[Pair], kinds: Sequence[str] | None,
                words: Sequence[str], fonts: Sequence[Path], cfg: FinetuneConfig, lr: float, steps: int,
                seed: int, step_offset: int, total_steps: int,
                on_step: Callable[[int, int, float], None] | None,
                should_stop: Callable[[], bool] | None, pool: ReplayPool | None = None,
                pieces: Sequence[Pieces] = ()) -> _Run:
    """One fine-tuning run of ``steps`` steps on ``train``; returns the averaged weights.

    ``pool``: replayed words prepared once (:mod:`.replay`), used when the convolutions are
    frozen; otherwise replayed words are rendered at each step. ``pieces``: ``train``'s words cut
    between aksharas, for new words joined from them (``cfg.recombine``)."""
    torch.manual_seed(seed)
    model = build_trainable(info, base)
    model.train()
    freeze_batchnorm(model)
    for part in frozen_parts(len(train), cfg):
        for p in getattr(model, part).parameters():
            p.requires_grad_(False)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    anchor = [p.detach().clone() for p in params]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    warm = max(1, steps // 10)

    def schedule(s: int) -> float:  # warm-up, then cosine down to a tenth
        if s < warm:
            return (s + 1) / warm
        return 0.1 + 0.45 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    n_replay = replay_count(len(train), cfg)
    n_user = max(1, cfg.batch_size - n_replay)
    joined = Recombined(pieces) if cfg.recombine > 0 and pieces else None
    user = iter(MixedStream([(UserWords(train, kinds, joined, cfg.recombine), 1.0)],
                            info.charset, info.preprocess, seed=seed))
    if "cnn" not in frozen_parts(len(train), cfg):
        pool = None  # the convolutions learn: their features of a word change at every step
    draw_rng = np.random.default_rng(seed + 2)
    replay = _replay_stream(words, fonts, info, seed + 1) if n_replay and pool is None else None
    teacher = build_trainable(info, base).eval() if n_replay and cfg.distill > 0 and pool is None else None
    avg_from = steps - round(cfg.average * steps) if cfg.average > 0 else steps
    avg: list[torch.Tensor] | None = None
    n_avg = 0
    losses = []
    for step in range(steps):
        if should_stop and should_stop():
            return _Run(None, losses, True)
        b = collate([next(user) for _ in range(n_user)])
        lp, lengths = model(b.images, b.widths)
        loss = ctc(lp, b.targets, lengths, b.lengths) * (n_user / cfg.batch_size)
        if pool is not None and n_replay:
            rb = pool.draw(n_replay, draw_rng)
            lp_r, len_r = model.sequence(rb.features, rb.widths)
            loss = loss + ctc(lp_r, rb.targets, len_r, rb.lengths) * (n_replay / cfg.batch_size)
            if cfg.distill > 0:
                loss = loss + cfg.distill * _distillation(rb.teacher, lp_r, len_r)
        elif replay is not None:
            r = collate([next(replay) for _ in range(n_replay)])
            lp_r, len_r = model(r.images, r.widths)
            loss = loss + ctc(lp_r, r.targets, len_r, r.lengths) * (n_replay / cfg.batch_size)
            if teacher is not None:  # stay close to what the base model reads on general words
                with torch.no_grad():
                    lp_t, _ = teacher(r.images, r.widths)
                loss = loss + cfg.distill * _distillation(lp_t, lp_r, len_r)
        if cfg.l2sp > 0:
            loss = loss + cfg.l2sp * sum(((p - a) ** 2).sum() for p, a in zip(params, anchor))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if step >= avg_from:
            with torch.no_grad():
                if avg is None:
                    avg = [p.detach().clone() for p in params]
                else:
                    for s, p in zip(avg, params):
                        s.add_(p.detach())
                n_avg += 1
        if on_step:
            on_step(step_offset + step + 1, total_steps, losses[-1])
    if avg is not None and n_avg > 1:
        with torch.no_grad():
            for s, p in zip(avg, params):
                p.copy_(s / n_avg)
    model.eval()
    return _Run(model, losses, False)


def finetune(base: LoadedModel, pairs: Sequence[Pair], words: Sequence[str],
             fonts: Sequence[Path], cfg: FinetuneConfig = FinetuneConfig(),  # noqa: B008 - only read
             on_epoch: Callable[[EpochReport], None] | None = None,
             on_step: Callable[[int, int, float], None] | None = None,
             should_stop: Callable[[], bool] | None = None,
             kinds: Sequence[str] | None = None) -> FinetuneResult:
    """Fine-tune ``base`` on (image, label) ``pairs`` and judge the result (see the module notes).

    ``kinds``: where each sample came from ("canvas", "import", ...), to augment drawings as
    drawings. The result's ``model`` is the new model when accepted, else a copy of the base.
    """
    t0 = time.time()
    info = copy.deepcopy(base.info)
    labels = [(img, info.charset.normalize_label(t)) for img, t in pairs]
    kind_of = None if kinds is None else {id(p): k for p, k in zip(labels, kinds)}
    if len({t for _, t in labels}) < 2:
        raise ValueError("at least 2 different words are needed to learn and check")
    check_words, words = split_check_words(words)
    general_raw = general_check_set(check_words, fonts, cfg.general_words)
    general = prepare_validation(general_raw, info.preprocess)
    base_module = build_trainable(info, base).eval()
    gen_b = word_errors(base_module, info.charset, general)

    def kinds_for(ps: Sequence[Pair]) -> list[str] | None:
        return None if kind_of is None else [kind_of[id(p)] for p in ps]

    cut: dict[int, Pieces | None] = {}
    if cfg.recombine > 0:  # drawings and black-and-white scans only: joined photos show two papers
        drawn = [p for p in labels if (kind_of is not None and kind_of[id(p)] == "canvas") or is_clean_drawing(p[0])]
        cut = {id(p): pc for p, pc in zip(drawn, word_pieces(base_module, info.charset, info.preprocess, drawn))}

    def pieces_for(ps: Sequence[Pair]) -> list[Pieces]:  # only the words a run learns from
        return [pc for pc in (cut.get(id(p)) for p in ps) if pc is not None]

    cross = len(labels) < cfg.cv_below
    if cross:
        parts = fold_user_samples(labels, cfg.folds)
        runs = [(tr, he) for tr, he in parts] + [(labels, [])]
        method = f"cross-validation: each of your words checked by a model trained without it ({len(parts)} folds)"
    else:
        min_held = cfg.min_judge
        tr, he = split_user_samples(labels, cfg.holdout, min_held=min(min_held, len(labels) // 3))
        runs = [(tr, he)]
        method = f"{len({t for _, t in he})} of your words held back from learning"
    final_train = runs[-1][0]
    lr = cfg.lr or auto_lr(len(final_train))
    steps = [auto_steps(len(tr), cfg) for tr, _ in runs]
    total = sum(steps)
    history: list[EpochReport] = []
    ub_e, ua_e, u_len = [], [], []
    final: nn.Module | None = None
    done = 0
    pool = None
    n_replay = replay_count(len(final_train), cfg)
    if n_replay and "cnn" in frozen_parts(len(final_train), cfg):
        size = min(cfg.replay_pool_max, max(cfg.batch_size * 8, math.ceil(n_replay * max(steps) / cfg.replay_reuse)))
        pool = build_pool(base_module, _replay_stream(words, fonts, info, cfg.seed + 1), size)
    for r, ((tr, he), n_steps) in enumerate(zip(runs, steps)):
        t_run = time.time()
        run = _train_once(base, info, tr, kinds_for(tr), words, fonts, cfg, lr, n_steps, cfg.seed + 7919 * r,
                          done, total, on_step, should_stop, pool, pieces_for(tr))
        if run.cancelled:
            return FinetuneResult(float("nan"), float("nan"), cer(*gen_b), cer(*gen_b), len(final_train), 0,
                                  time.time() - t0, True, None, info, history, lr, steps=done)
        done += n_steps
        val_cer = float("nan")
        if he:
            held_p = prepare_validation(he, info.preprocess)
            eb, ln = word_errors(base_module, info.charset, held_p)
            ea, _ = word_errors(run.model, info.charset, held_p)
            ub_e.append(eb)
            ua_e.append(ea)
            u_len.append(ln)
            val_cer = cer(ea, ln)
        rep = EpochReport(r + 1, done, float(np.mean(run.losses)), val_cer, float("nan"), val_cer,
                          time.time() - t_run, lr)
        history.append(rep)
        if on_epoch:
            on_epoch(rep)
        final = run.model
    assert final is not None
    gen_a = word_errors(final, info.charset, general)
    ub = np.concatenate(ub_e) if ub_e else np.zeros(0, np.int64)
    ua = np.concatenate(ua_e) if ua_e else np.zeros(0, np.int64)
    ul = np.concatenate(u_len) if u_len else np.zeros(0, np.int64)
    verdict = judge(ub, ua, ul, gen_b[0], gen_a[0], gen_b[1], cfg, method)
    model = final if verdict.accepted else base_module
    user_before, cand_user = cer(ub, ul), cer(ua, ul)
    cand_gen = cer(*gen_a)
    user_after = cand_user if verdict.accepted else user_before
    gen_after = cand_gen if verdict.accepted else cer(*gen_b)
    info.metadata = dict(info.metadata)
    info.metadata.update({
        "base_model": base.info.metadata.get("name", Path(base.path).name),
        "finetuned": time.strftime("%Y-%m-%d %H:%M:%S"), "user_samples": len(labels),
        "user_cer_before": user_before, "user_cer_after": user_after,
        "general_cer_before": cer(*gen_b), "general_cer_after": gen_after, "learning_rate": lr,
        "accepted": verdict.accepted, "judged_words": verdict.judged_words, "judgement": verdict.claim,
        # a personal word list read with the model, kept whichever network is handed back
        "user_words": sorted(words_of([*base.info.user_words, *(t for _, t in labels)])[:MAX_WORDS]),
    })
    return FinetuneResult(user_before, user_after, cer(*gen_b), gen_after, len(final_train), len(ul),
                          time.time() - t0, False, model, info, history, lr, verdict, cand_user, cand_gen,
                          done, final)


def save_finetuned(result: FinetuneResult, path: str | Path) -> None:
    if result.model is None:
        raise ValueError("fine-tuning was cancelled: there is no model to save")
    save_model(result.model, result.info, path)


@lru_cache(maxsize=2)
def replay_material(words_file: Path, fonts_dir: Path, max_words: int = 40000) -> tuple[list[str], list[Path]]:
    """Words (a gzip word list, one a line: the bundled lexicon) and fonts (the ``*.ttf`` in
    ``fonts_dir``) for replay and the general check set."""
    words: list[str] = []
    with gzip.open(words_file, "rt", encoding="utf-8") as f:
        for line in f:
            w = line.strip()
            if 2 <= len(w) <= 12 and " " not in w and not DEFAULT_CHARSET.unknown(w):
                words.append(w)
    step = max(1, len(words) // max_words)
    fonts = sorted(Path(fonts_dir).glob("*.ttf"))
    return words[::step], fonts


def load_pairs(folder: Path) -> tuple[list, list[str]]:
    """(image, label) pairs from a dataset folder, and one message per skipped row."""
    pairs, problems = [], []
    for s in read_dataset(folder):
        problem = label_problem(s.text)
        if problem is not None:  # an empty label, or a paragraph where a word or line belongs
            problems.append(f"{s.path}: {problem}")
            continue
        try:
            pairs.append((load_gray(s.path), DEFAULT_CHARSET.normalize_label(s.text)))
        except (ImageError, LabelError) as exc:
            problems.append(str(exc))
    return pairs, problems
