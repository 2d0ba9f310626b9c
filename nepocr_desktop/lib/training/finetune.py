"""Fine-tuning a model on one person's corrected samples, without forgetting the rest.

The user's samples are mixed with replayed synthetic words (bundled fonts, bundled word
list), BatchNorm statistics stay frozen, and training stops early on a held-back part of the
user's samples. Before/after CER is measured on those held-back samples and on a small fixed
synthetic check set. Nothing is written unless the caller saves the result.
"""

from __future__ import annotations

import copy
import gzip
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..read.charset import DEFAULT_CHARSET, LabelError
from ..read.modelio import LoadedModel, ModelInfo, build_trainable, save_model
from ..read.preprocess import ImageError, load_gray
from ..storage.dataset import label_problem, read_dataset
from .corpus import bucket
from .sources import ArrayWords, SynthWords
from .synth import FontSampler, render_text
from .train import EpochReport, TrainConfig, evaluate, fit, prepare_validation


@dataclass
class FinetuneConfig:
    epochs: int = 8
    steps_per_epoch: int = 0    # 0: from the sample count
    batch_size: int = 16
    lr: float = 0.0             # 0: automatic, from the sample count (see auto_lr)
    replay: float = 0.3         # share of each batch drawn from replayed synthetic words
    holdout: float = 0.2        # share of the user's samples kept back for validation
    patience: int = 3
    seed: int = 0


def auto_lr(train_samples: int) -> float:
    """Learning rate for ``train_samples`` user samples.

    Measured on a simulated single writer (benchmarks/bench_finetune.py --user writer): with about
    40 samples a rate of 3e-4 or more over-fits within an epoch and never beats the base model on
    the held-back samples, while 1e-4 lowers the error; with 160 samples 3e-4 lowers it more than
    1e-4 and, unlike 1e-3, without losing accuracy on the general check set.
    """
    return 1e-4 if train_samples < 100 else 3e-4


@dataclass
class FinetuneResult:
    user_cer_before: float
    user_cer_after: float
    general_cer_before: float
    general_cer_after: float
    train_samples: int
    heldout_samples: int
    seconds: float
    cancelled: bool
    model: torch.nn.Module | None
    info: ModelInfo
    history: list[EpochReport] = field(default_factory=list)
    lr: float = 0.0  # the learning rate used

    def summary(self) -> dict:
        return {k: getattr(self, k) for k in ("user_cer_before", "user_cer_after", "general_cer_before",
                                              "general_cer_after", "train_samples", "heldout_samples",
                                              "seconds", "cancelled", "lr")}


def split_user_samples(pairs: Sequence[tuple[np.ndarray, str]], holdout: float
                       ) -> tuple[list[tuple[np.ndarray, str]], list[tuple[np.ndarray, str]]]:
    """Deterministic train/held-back split (by position hash); at least one sample for each when possible."""
    if len(pairs) < 2 or holdout <= 0:
        return list(pairs), []
    keep = [bucket(f"ft:{i}:{t}") < holdout * 100 for i, (_, t) in enumerate(pairs)]
    if not any(keep):
        keep[-1] = True
    if all(keep):
        keep[0] = False
    train = [p for p, k in zip(pairs, keep) if not k]
    held = [p for p, k in zip(pairs, keep) if k]
    return train, held


def general_check_set(words: Sequence[str], fonts: Sequence[Path], n: int = 80, seed: int = 1234
                      ) -> list[tuple[np.ndarray, str]]:
    """A fixed synthetic check set: the same words and fonts every time."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        w = words[int(rng.integers(len(words)))]
        f = fonts[int(rng.integers(len(fonts)))]
        out.append((render_text(w, f, size=40), w))
    return out


def finetune(base: LoadedModel, pairs: Sequence[tuple[np.ndarray, str]], words: Sequence[str],
             fonts: Sequence[Path], cfg: FinetuneConfig = FinetuneConfig(),  # noqa: B008 - only read
             on_epoch: Callable[[EpochReport], None] | None = None,
             on_step: Callable[[int, int, float], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> FinetuneResult:
    """Fine-tune ``base`` on (image, label) ``pairs``; return the best model (not saved)."""
    t0 = time.time()
    info = copy.deepcopy(base.info)
    labels = [(img, info.charset.normalize_label(t)) for img, t in pairs]
    train, held = split_user_samples(labels, cfg.holdout)
    if not train:
        raise ValueError("no samples to learn from")
    model = build_trainable(info, base)
    held_p = prepare_validation(held, info.preprocess)
    general = prepare_validation(general_check_set(words, fonts), info.preprocess)
    dev = torch.device("cpu")
    user_before = evaluate(model, info.charset, held_p, dev)[0]
    gen_before = evaluate(model, info.charset, general, dev)[0]
    sources = [(ArrayWords(train), 1.0 - cfg.replay)]
    if cfg.replay > 0:
        sources.append((SynthWords(words, FontSampler(list(fonts)), pen=0.4), cfg.replay))
    steps = cfg.steps_per_epoch or max(15, min(50, len(train) * 3 // cfg.batch_size))
    lr = cfg.lr or auto_lr(len(train))
    with tempfile.TemporaryDirectory(prefix="nepocr-ft-") as tmp:
        tcfg = TrainConfig(out_dir=Path(tmp), epochs=cfg.epochs, steps_per_epoch=steps,
                           batch_size=cfg.batch_size, lr=lr, warmup=max(1, steps // 2), seed=cfg.seed,
                           workers=0, freeze_bn=True, patience=cfg.patience if held else 0,
                           resume=False, checkpoint=False, baseline=user_before if held else float("inf"))
        res = fit(model, info, sources, held_p, tcfg, on_epoch=on_epoch, on_step=on_step, should_stop=should_stop)
    if res.cancelled:
        return FinetuneResult(user_before, user_before, gen_before, gen_before, len(train), len(held),
                              time.time() - t0, True, None, info, res.epochs, lr)
    if res.best_state is not None:
        model.load_state_dict(res.best_state)
    elif held:  # no epoch beat the base model on the held-back samples: keep the base weights
        model.load_state_dict(base.module.state_dict())
    model.eval()
    user_after = evaluate(model, info.charset, held_p, dev)[0]
    gen_after = evaluate(model, info.charset, general, dev)[0]
    info.metadata = dict(info.metadata)
    info.metadata.update({
        "base_model": base.info.metadata.get("name", Path(base.path).name),
        "finetuned": time.strftime("%Y-%m-%d %H:%M:%S"), "user_samples": len(labels),
        "user_cer_before": user_before, "user_cer_after": user_after,
        "general_cer_before": gen_before, "general_cer_after": gen_after, "learning_rate": lr,
    })
    return FinetuneResult(user_before, user_after, gen_before, gen_after, len(train), len(held),
                          time.time() - t0, False, model, info, res.epochs, lr)


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
