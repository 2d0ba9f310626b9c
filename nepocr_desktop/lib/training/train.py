"""Training loop shared by ``nepocr train`` and fine-tuning.

Checkpoints (model, optimiser, schedule, step, best score) are written atomically after every
epoch and resumed from; the best model by validation CER is exported as TorchScript. Under
``torchrun`` the same loop runs data-parallel (DDP; gloo on CPU, nccl on GPU), each rank
drawing its own data stream, rank 0 validating and writing files.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader

from ..errors import NepocrError
from ..read.charset import CLOSING_MARKS, Charset
from ..read.crnn import CRNN
from ..read.ctc_decoder import greedy_decode
from ..read.metrics import error_rates
from ..read.modelio import ModelInfo, save_model
from ..read.preprocess import PreprocessConfig, batch, check_regular_file, prepare
from ..system.atomic import atomic_write
from .marks import MARKS
from .sources import Batch, MixedStream, Source, collate


@dataclass
class TrainConfig:
    out_dir: Path
    epochs: int = 30
    steps_per_epoch: int = 500
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: int = 300
    seed: int = 0
    workers: int = 1
    freeze_bn: bool = False
    patience: int = 0          # stop after this many epochs without improvement (0: never)
    export: Path | None = None  # where the best model is written (TorchScript)
    resume: bool = True
    checkpoint: bool = True     # write OUT/last.ckpt each epoch (resume after a crash)
    keep_epochs: bool = False   # also keep each epoch's checkpoint as OUT/epochs/epochN.ckpt (for averaging)
    baseline: float = float("inf")  # validation CER an epoch must beat to count as an improvement
    jitter: float = 0.0         # share of training images moved 1-2 rows up or down (MixedStream)
    punctuation: float = 0.0    # share of training words given a hand-drawn danda or comma (MixedStream)
    # with a teacher and distill > 0, the words without a closing mark learn the teacher's readings
    # (KL per frame, times distill) instead of their labels (see batch_loss)
    teacher: nn.Module | None = None
    distill: float = 0.0
    learn: str = "all"          # the parts that learn: all, rnn (projection, LSTM, classifier), head,
    #                             or marks (the classifier's rows of the marks training draws, nothing else)


@dataclass
class EpochReport:
    epoch: int
    step: int
    loss: float
    val_cer: float
    val_wer: float
    best_cer: float
    seconds: float
    lr: float


@dataclass
class TrainResult:
    best_cer: float
    epochs: list[EpochReport] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    best_state: dict | None = None  # weights of the best epoch (a copy, on the CPU)


def prepare_validation(items: Sequence[tuple[object, str]], cfg: PreprocessConfig) -> list[tuple[np.ndarray, str]]:
    """Preprocess validation images once."""
    return [(prepare(img, cfg), text) for img, text in items]


@torch.no_grad()
def evaluate(model: nn.Module, charset: Charset, val: Sequence[tuple[np.ndarray, str]],
             device: torch.device, batch_size: int = 64) -> tuple[float, float]:
    """Greedy CER and WER of ``model`` on prepared (image, text) pairs."""
    if not val:
        return float("nan"), float("nan")
    was = model.training
    model.eval()
    order = sorted(range(len(val)), key=lambda i: val[i][0].shape[1])
    pairs = []
    for k in range(0, len(order), batch_size):
        idx = order[k:k + batch_size]
        x, w = batch([val[i][0] for i in idx])
        lp, lengths = model(torch.from_numpy(x).to(device), torch.from_numpy(w).to(device))
        lp = lp.cpu().numpy()
        for j, i in enumerate(idx):
            d = greedy_decode(lp[: int(lengths[j]), j])
            pairs.append((charset.decode(d.labels), val[i][1]))
    model.train(was)
    return error_rates(pairs)


def _dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed(device: torch.device) -> tuple[int, int]:
    """Join the process group when started by torchrun (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return _dist_info()


def _lr_lambda(cfg: TrainConfig, total: int) -> Callable[[int], float]:
    def f(step: int) -> float:
        if step < cfg.warmup:
            return (step + 1) / cfg.warmup
        p = min(1.0, (step - cfg.warmup) / max(1, total - cfg.warmup))
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * p))
    return f


LEARNED_PARTS = {"all": ("cnn", "proj", "rnn", "head"), "rnn": ("proj", "rnn", "head"), "head": ("head",),
                 "marks": ("head",)}


class RowsOnly:
    """Only some rows (classes) of a linear classifier learn: the other rows' gradients are zeroed,
    and after each optimiser step their weights are put back as they were (weight decay included),
    so everything the network read before keeps its scores and only the chosen classes change."""

    def __init__(self, layer: nn.Linear, rows: Sequence[int]):
        self.layer = layer
        self.fixed = torch.ones(layer.out_features, dtype=torch.bool)
        self.fixed[list(rows)] = False
        self.weight = layer.weight.detach().clone()
        self.bias = layer.bias.detach().clone() if layer.bias is not None else None
        self._hooks = [layer.weight.register_hook(self._mask)]
        if layer.bias is not None:
            self._hooks.append(layer.bias.register_hook(self._mask))

    def _mask(self, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        grad[self.fixed.to(grad.device)] = 0
        return grad

    @torch.no_grad()
    def restore(self) -> None:
        fixed = self.fixed.to(self.layer.weight.device)
        self.layer.weight[fixed] = self.weight.to(self.layer.weight.device)[fixed]
        if self.bias is not None:
            self.layer.bias[fixed] = self.bias.to(self.layer.bias.device)[fixed]

    def remove(self) -> None:
        for h in self._hooks:
            h.remove()


def mark_rows(charset: Charset) -> list[int]:
    """CTC indices of the marks that training draws after words (see marks.py)."""
    return [charset.encode(m)[0] for m in MARKS if m in charset.chars]


def distillation(teacher: torch.Tensor, student: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean per-frame KL(teacher || student) over each word's own frames (log-probabilities, T, N, C)."""
    mask = (torch.arange(student.shape[0], device=student.device)[:, None] < lengths[None, :]).float()
    kl = (teacher.exp() * (teacher - student)).sum(-1)
    return (kl * mask).sum() / mask.sum().clamp(min=1.0)


def batch_loss(lp: torch.Tensor, lengths: torch.Tensor, b: Batch, cfg: TrainConfig, ctc: nn.CTCLoss,
               device: torch.device) -> torch.Tensor:
    """CTC on the labels; with a teacher, the words without a closing mark learn its readings instead
    (so a network learns marks and keeps reading the rest as it did)."""
    targets, label_lengths = b.targets.to(device), b.lengths.to(device)
    if cfg.teacher is None or cfg.distill <= 0:
        return ctc(lp, targets, lengths, label_lengths)
    marked = torch.tensor([t[-1:] in CLOSING_MARKS for t in b.texts], device=device)
    per_word = nn.functional.ctc_loss(lp, targets, lengths, label_lengths, blank=0, reduction="none",
                                      zero_infinity=True) / label_lengths.clamp(min=1)
    loss = (per_word * marked).sum() / len(b.texts)
    if (~marked).any():
        with torch.no_grad():
            lp_t, _ = cfg.teacher(b.images.to(device), b.widths.to(device))
        keep = ~marked
        loss = loss + cfg.distill * distillation(lp_t[:, keep], lp[:, keep], lengths[keep]) * (
            float(keep.sum()) / len(b.texts))
    return loss


def freeze_batchnorm(model: nn.Module) -> None:
    """Keep BatchNorm running statistics and affine parameters fixed."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
            for p in m.parameters():
                p.requires_grad_(False)


def fit(model: CRNN, info: ModelInfo, sources: Sequence[tuple[Source, float]],
        val: Sequence[tuple[np.ndarray, str]], cfg: TrainConfig, device: torch.device | str = "cpu",
        on_epoch: Callable[[EpochReport], None] | None = None,
        on_step: Callable[[int, int, float], None] | None = None,
        should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Train ``model`` on the weighted ``sources``; validate, checkpoint and export each epoch.

    ``on_step(step, total, loss)`` and ``on_epoch(report)`` report progress; ``should_stop()``
    cancels (raising nothing: the result says ``cancelled``, no file is replaced mid-epoch).
    """
    device = torch.device(device)
    rank, world = init_distributed(device)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    model.to(device)
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.learn != "all":
        for name, part in model.named_children():
            if name not in LEARNED_PARTS[cfg.learn]:
                for p in part.parameters():
                    p.requires_grad_(False)
    rows = RowsOnly(model.head, mark_rows(info.charset)) if cfg.learn == "marks" else None
    if cfg.teacher is not None:
        cfg.teacher.to(device).eval()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * cfg.steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg, total))
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    ckpt = cfg.out_dir / "last.ckpt"
    step, start_epoch, best = 0, 0, cfg.baseline
    result = TrainResult(best_cer=best)
    if cfg.resume and os.path.lexists(ckpt):
        step, start_epoch, best = _resume(ckpt, model, opt, sched, device)
    stream = MixedStream(sources, info.charset, info.preprocess, seed=cfg.seed + 1000 * start_epoch, rank=rank,
                         jitter=cfg.jitter, punctuation=cfg.punctuation)
    loader = DataLoader(stream, batch_size=cfg.batch_size, collate_fn=collate, num_workers=cfg.workers,
                        persistent_workers=cfg.workers > 0)
    batches = iter(loader)
    t_start = time.time()
    patience_left = cfg.patience
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        if cfg.freeze_bn or cfg.learn != "all":
            freeze_batchnorm(model)
        t0, losses = time.time(), []
        for _ in range(cfg.steps_per_epoch):
            if should_stop and should_stop():
                result.cancelled = True
                result.seconds = time.time() - t_start
                if rows is not None:
                    rows.remove()
                return result
            b: Batch = next(batches)
            lp, lengths = net(b.images.to(device), b.widths.to(device))
            loss = batch_loss(lp, lengths, b, cfg, ctc, device)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            if rows is not None:
                rows.restore()
            sched.step()
            step += 1
            losses.append(float(loss.detach()))
            if on_step:
                on_step(step, total, losses[-1])
        cer, wer = (evaluate(model, info.charset, val, device) if rank == 0 else (float("nan"),) * 2)
        improved = rank == 0 and (cer < best or (math.isnan(best) or best == float("inf")))
        if rank == 0:
            if improved:
                best = cer
                result.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                if cfg.export:
                    info.metadata.update({"val_cer": cer, "val_wer": wer, "epoch": epoch + 1, "step": step})
                    save_model(model, info, cfg.export)
            state = {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                     "step": step, "epoch": epoch + 1, "best": best}
            if cfg.checkpoint:
                atomic_write(ckpt, lambda tmp, state=state: torch.save(state, tmp))
            if cfg.keep_epochs:
                kept = cfg.out_dir / "epochs" / f"epoch{epoch + 1}.ckpt"
                kept.parent.mkdir(exist_ok=True)
                atomic_write(kept, lambda tmp, state=state: torch.save(state, tmp))
        rep = EpochReport(epoch + 1, step, float(np.mean(losses)), cer, wer, best, time.time() - t0,
                          sched.get_last_lr()[0])
        result.epochs.append(rep)
        if on_epoch:
            on_epoch(rep)
        if world > 1:
            dist.barrier()
        if cfg.patience:
            patience_left = cfg.patience if improved else patience_left - 1
            if patience_left <= 0:
                break
    if rows is not None:
        rows.remove()
    result.best_cer = best
    result.seconds = time.time() - t_start
    return result


class CheckpointError(NepocrError):
    """A checkpoint that cannot be resumed from; the message names it."""


MAX_CHECKPOINT_BYTES = 2 * 1024 * 1024 * 1024


def _resume(ckpt: Path, model: nn.Module, opt, sched, device) -> tuple[int, int, float]:
    """Load a checkpoint written by :func:`fit` (tensors and plain values only: ``weights_only``)
    into the model, optimiser and schedule; :class:`CheckpointError` for anything else."""
    hint = "delete it or use --no-resume to start afresh"
    st = check_regular_file(ckpt, CheckpointError)
    if st.st_size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{ckpt}: too large for a checkpoint; {hint}")
    try:
        state = torch.load(ckpt, map_location=device, weights_only=True)
    except Exception:  # noqa: BLE001 - a refused pickle, a damaged zip: not a checkpoint of ours
        raise CheckpointError(f"{ckpt}: not a nepocr checkpoint, or it is damaged; {hint}") from None
    try:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step, epoch, best = state["step"], state["epoch"], state["best"]
        if not (isinstance(step, int) and isinstance(epoch, int) and isinstance(best, (int, float))):
            raise TypeError("step, epoch and best")
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError):
        raise CheckpointError(f"{ckpt}: a checkpoint of another model or not a nepocr checkpoint; "
                              f"{hint}") from None
    return step, epoch, float(best)


def new_model(charset: Charset, spec) -> tuple[CRNN, ModelInfo]:
    info = ModelInfo(charset, PreprocessConfig(height=spec.height), spec, {})
    return CRNN(charset.num_classes, spec), info
