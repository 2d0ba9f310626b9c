"""Fine-tuning settings, and what follows from the number of the user's samples: the learning
rate, the share of replayed words in a batch, the number of steps and the parts that stay frozen."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class FinetuneConfig:
    epochs: int = 0             # passes over the user's samples (augmented), which set the number of
                                # steps; 0: automatic (epochs_for)
    steps_per_epoch: int = 0    # 0: from the sample count
    batch_size: int = 16
    lr: float = 0.0             # 0: automatic, from the sample count (see auto_lr)
    replay: float | None = None  # share of each batch drawn from replayed synthetic words (None: auto_replay)
    holdout: float = 0.2        # share of the user's words held back (from ``cv_below`` samples on)
    patience: int = 3           # unused: the number of steps is fixed (kept for old settings files)
    seed: int = 0
    l2sp: float | None = None   # pull towards the base weights: l2sp * sum ||w - w0||^2 (None: auto_l2sp)
    distill: float = 3.0        # keep reading replayed words as the base model does (KL per frame)
    ewc: float = 0.0            # pull of the weights general words depend on (.anchor; 0: off)
    freeze_cnn_below: int = 1000  # fewer training samples than this: only the ``adapt`` part learns
    adapt: str = "rnn"          # rnn: projection, LSTM and classifier; cnn: convolutions and projection
    min_steps: int = 80
    max_steps: int = 240
    average: float = 0.33       # average the weights of this last share of the steps (0: off)
    replay_reuse: float = 4.0   # times each prepared replayed word is drawn, on average (.replay)
    replay_pool_max: int = 1200
    folds: int = 3              # cross-validation folds below ``cv_below`` samples
    cv_below: int = 120         # (100 corrections judged on all 100 words, not 20 held back: with the
                                # shares of ``blends`` a new hand gained 20-22% there, where 20 words
                                # with two or three errors between them told nothing; RESULTS.md)
    min_judge: int = 20         # fewer judged words than this: "too few to tell"
    margin: float = 0.002       # a gain must be at least this (absolute CER) ...
    margin_rel: float = 0.05    # ... and this share of the CER before
    general_tolerance: float = 0.005  # the general check may not get worse by more than this
    general_words: int = 200
    confidence: float = 0.9     # of the bootstrap intervals
    blends: tuple[float, ...] = (1.0, 0.75, 0.6, 0.5, 0.4, 0.33, 0.25)  # shares of the learned change tried
                                            # in turn, the next only where the general check refused the one
                                            # before (0.6, 0.4 and 0.33 between: `hand` 300 -29.1% at 0.4
                                            # against -25.8% at 0.25; RESULTS.md)
    mean_of_runs: bool = True   # judged by cross-validation: a network that reads alone (not the surer
                                # way) is the mean of every run's weights (the folds' and the one on all
                                # samples) rather than the last run's
    recombine: float | None = None  # share of the user's samples that are new words joined from
                                    # theirs (drawings and black-and-white scans only; see ..recombine;
                                    # None: recombine_share)
    apart: bool = True          # samples that are all drawings teach a network for drawings alone
    drawings_replay: float | None = None  # share of replayed words in a batch when learning for
                                          # drawings alone (None: drawings_replay_share)
    drawings_drawn: float = 0.75   # share of those replayed words written as pen strokes, as the
                                   # network for drawings reads them (.samples.DrawnWords): font words
                                   # alone let its general check of drawn words slip (RESULTS.md)


def learns_apart(clean: int, total: int, cfg: FinetuneConfig) -> bool:
    """Whether fine-tuning on ``total`` samples, ``clean`` of them drawings (canvas writing,
    black-and-white scans), learns a network for drawings alone: photos are then read by the
    network the model had, whatever the drawings teach."""
    return cfg.apart and total > 0 and clean >= APART_SHARE * total


APART_SHARE = 0.9  # of the samples drawings: learned for drawings alone
AUTO_EPOCHS, DRAWINGS_EPOCHS = 8, 10  # passes over the samples (epochs_for)
MANY_DRAWINGS = 200  # samples learned from, from which a network for drawings learns longer


def auto_lr(train_samples: int, apart: bool = False) -> float:
    """Learning rate for ``train_samples`` user samples. 3e-4 at every size: with 30 samples of a
    new hand, 1e-4 gained 4.5% on its other words and 3e-4 gained 9% (mean of four seeds, every
    seed better, general check no worse); on known writers, canvas strokes and a new scanner the
    two rates read alike (benchmarks/RESULTS.md, "Learning from corrections"). Learning for
    drawings alone, 6e-4: one hand on the Write tab gained 16% from 30 samples against 14% with
    3e-4, and photos cannot suffer."""
    del train_samples  # one rate has served every size measured
    return 6e-4 if apart else 3e-4


def auto_l2sp(train_samples: int, apart: bool = False) -> float:
    """The pull towards the base weights: 0.05, or 0.01 when learning for drawings alone from 100
    samples on (with 300 samples of one hand on the Write tab, 0.01 and the rate of
    :func:`auto_lr` gained 35% against 28% with 0.05; with 30 samples of a new hand 0.01 gained
    14% against 18%, and the general check got worse)."""
    return 0.01 if apart and train_samples >= 100 else 0.05


def l2sp_weight(train_samples: int, cfg: FinetuneConfig, apart: bool = False) -> float:
    return auto_l2sp(train_samples, apart) if cfg.l2sp is None else cfg.l2sp


def auto_replay(train_samples: int) -> float:
    """Share of replayed words in a batch: 7 in 8, so that each of the user's samples is seen a
    few times among many general words and the general check stays where it was (measured on a
    new hand with 30 and 200 samples: a half share or less made the general check 0.5-1 point
    worse, 7 in 8 kept it within 0.2 points and still gained 20-30% on the hand)."""
    return 0.875


def drawings_replay_share(train_samples: int) -> float:
    """Replayed share of a batch when learning for drawings alone (photos cannot suffer, so a
    smaller share than :func:`auto_replay`'s learns twice as much): a quarter, and three in eight
    from :data:`MANY_DRAWINGS` samples on, where the extra passes of :func:`epochs_for` would
    otherwise cost the general check of drawn words past its tolerance (benchmarks/RESULTS.md: with
    300 samples, two threads and 12 passes, a quarter refused both glyph-composed hands at
    4.21-4.28%, three in eight handed back -32% and -16% at 3.57-3.78%)."""
    return 0.375 if train_samples >= MANY_DRAWINGS else 0.25


FEW_SAMPLES = 60  # fewer samples learned from than this: more of them are joined words


def recombine_share(train_samples: int, cfg: FinetuneConfig) -> float:
    """The share of the user's samples (drawings and black-and-white scans) that are new words joined
    from theirs: ``cfg.recombine`` if set, else 0.8 below :data:`FEW_SAMPLES` samples learned from
    and half from there on. With 30 corrections, 0.8 taught a glyph-composed hand 27.5% against 17.7%
    and the Write tab's hands as much or a little more (benchmarks/RESULTS.md)."""
    if cfg.recombine is not None:
        return cfg.recombine
    return 0.8 if train_samples < FEW_SAMPLES else 0.5


def replay_share(train_samples: int, cfg: FinetuneConfig, apart: bool = False) -> float:
    """The replayed share of a batch: ``cfg.replay`` if set, else when learning for drawings alone
    ``cfg.drawings_replay`` or :func:`drawings_replay_share`, else :func:`auto_replay`."""
    if cfg.replay is not None:
        return cfg.replay
    if apart:
        return cfg.drawings_replay if cfg.drawings_replay is not None else drawings_replay_share(train_samples)
    return auto_replay(train_samples)


def replay_drawn(cfg: FinetuneConfig, apart: bool) -> float:
    """The share of the replayed words written as pen strokes: ``cfg.drawings_drawn`` when
    learning for drawings alone, else none."""
    return cfg.drawings_drawn if apart else 0.0


def replay_count(train_samples: int, cfg: FinetuneConfig, apart: bool = False) -> int:
    """Replayed words in each batch of ``cfg.batch_size`` (at least one place is left for the user's)."""
    return min(cfg.batch_size - 1, round(cfg.batch_size * replay_share(train_samples, cfg, apart)))


def epochs_for(cfg: FinetuneConfig, train_samples: int, apart: bool = False) -> int:
    """Passes over the user's ``train_samples`` samples: ``cfg.epochs`` if set, else 8, or 10 when
    learning for drawings alone from :data:`MANY_DRAWINGS` samples on (photos cannot suffer). With
    three in eight words replayed (:func:`drawings_replay_share`), 300 corrections (240 samples
    learned from, 240 steps, the most) then gained 16% / 32% / 37% on the glyph-composed hands and
    the Write tab's hand, against 12.5% / 29% / 34% with 8 passes (benchmarks/RESULTS.md). At 200
    corrections the same took 55 s on two cores instead of 40 and was refused for one hand, so
    fewer samples keep 8 passes; below about 100 the fewest steps (``min_steps``) decide anyway."""
    if cfg.epochs > 0:
        return cfg.epochs
    return DRAWINGS_EPOCHS if apart and train_samples >= MANY_DRAWINGS else AUTO_EPOCHS


def auto_steps(train_samples: int, cfg: FinetuneConfig, apart: bool = False) -> int:
    """Training steps: :func:`epochs_for` augmented passes over the samples, within [min_steps, max_steps]."""
    epochs = epochs_for(cfg, train_samples, apart)
    if cfg.steps_per_epoch:
        return epochs * cfg.steps_per_epoch
    n_replay = round(cfg.batch_size * replay_share(train_samples, cfg, apart))
    per_batch = max(1, cfg.batch_size - n_replay)
    return int(min(cfg.max_steps, max(cfg.min_steps, math.ceil(epochs * train_samples / per_batch))))


def cross_validated(samples: int, cfg: FinetuneConfig) -> bool:
    """Whether ``samples`` corrections are judged by cross-validation (every word judged once, by a
    network trained without it) rather than on a share of the words held back."""
    return samples < cfg.cv_below


def frozen_parts(train_samples: int, cfg: FinetuneConfig) -> list[str]:
    """The parts of the network that stay as they are for ``train_samples`` samples."""
    if train_samples >= cfg.freeze_cnn_below:
        return []
    return {"cnn": ["rnn", "head"], "rnn": ["cnn"], "head": ["cnn", "rnn"]}[cfg.adapt]
