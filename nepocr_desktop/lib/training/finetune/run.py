"""The fine-tuning runs themselves (:func:`finetune`): one or more runs of a fixed number of steps,
the judgement of the result, and the model handed back (see the package notes)."""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...language.personal import MAX_WORDS, words_of
from ...read.branch import SCOPE_KEY, canvas_only
from ...read.metrics import cer
from ...read.modelio import LoadedModel, ModelInfo, build_trainable, save_model
from ...read.preprocess import is_clean_drawing
from ...read.surer import ALONE, METADATA_KEY, SURER, SurerOf, reads_surer
from ..recombine import Pieces, Recombined, word_pieces
from ..sources import MixedStream, collate
from ..train import EpochReport, distillation, freeze_batchnorm, prepare_validation
from ..weights import blend_states, mean_states
from .anchor import fisher_diagonal, pull
from .config import (
    FinetuneConfig,
    auto_lr,
    auto_steps,
    cross_validated,
    frozen_parts,
    l2sp_weight,
    learns_apart,
    recombine_share,
    replay_count,
    replay_drawn,
)
from .judge import (
    Judgement,
    fold_user_samples,
    general_check_set,
    judge,
    split_check_words,
    split_user_samples,
    word_errors,
)
from .replay import ReplayPool, build_pool
from .samples import Pair, UserWords, replay_stream


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
    apart: bool = False         # learned for drawings alone: ``drawings`` reads them, ``model`` the rest
    drawings: torch.nn.Module | None = None      # the network for drawings handed back, if any
    blends: list[tuple[float, str]] = field(default_factory=list)  # (share of the change, verdict) tried
    drawings_read: str | None = None  # how the network for drawings handed back reads: lib/read/surer.py

    @property
    def accepted(self) -> bool:
        return self.judgement is not None and self.judgement.accepted

    def networks(self, anyway: bool = False) -> tuple[torch.nn.Module | None, torch.nn.Module | None]:
        """(the network that reads photos, the network for drawings or None) to save: those handed
        back, or with ``anyway`` the new network even where the judgement refused it."""
        if not anyway or self.accepted or self.candidate is None:
            return self.model, self.drawings
        return (self.model, self.candidate) if self.apart else (self.candidate, self.drawings)

    def summary(self) -> dict:
        out = {k: getattr(self, k) for k in ("user_cer_before", "user_cer_after", "general_cer_before",
                                             "general_cer_after", "train_samples", "heldout_samples",
                                             "seconds", "cancelled", "lr", "steps")}
        out["accepted"] = self.accepted
        out["learned_for"] = "drawings" if self.apart else "all"
        if self.drawings_read is not None:
            out["drawings_read"] = self.drawings_read
        if self.judgement is not None:
            out["judgement"] = self.judgement.to_dict()
        return out


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
                pieces: Sequence[Pieces] = (), apart: bool = False,
                importance: dict[str, torch.Tensor] | None = None) -> _Run:
    """One fine-tuning run of ``steps`` steps on ``train``; returns the averaged weights.

    ``pool``: replayed words prepared once (:mod:`.replay`), used when the convolutions are
    frozen; otherwise replayed words are rendered at each step. ``pieces``: ``train``'s words cut
    between aksharas, for new words joined from them (``cfg.recombine``)."""
    torch.manual_seed(seed)
    model = build_trainable(info, base, drawings=apart)
    model.train()
    freeze_batchnorm(model)
    for part in frozen_parts(len(train), cfg):
        for p in getattr(model, part).parameters():
            p.requires_grad_(False)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    anchor = [p.detach().clone() for p in params]
    weights = None if importance is None else [importance[n] for n, _ in named]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    warm = max(1, steps // 10)

    def schedule(s: int) -> float:  # warm-up, then cosine down to a tenth
        if s < warm:
            return (s + 1) / warm
        return 0.1 + 0.45 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    n_replay = replay_count(len(train), cfg, apart)
    n_user = max(1, cfg.batch_size - n_replay)
    l2sp = l2sp_weight(len(train), cfg, apart)
    share = recombine_share(len(train), cfg)
    joined = Recombined(pieces) if share > 0 and pieces else None
    user = iter(MixedStream([(UserWords(train, kinds, joined, share), 1.0)],
                            info.charset, info.preprocess, seed=seed))
    if "cnn" not in frozen_parts(len(train), cfg):
        pool = None  # the convolutions learn: their features of a word change at every step
    draw_rng = np.random.default_rng(seed + 2)
    replay = replay_stream(words, fonts, info, seed + 1, replay_drawn(cfg, apart)) if n_replay and pool is None \
        else None
    teacher = build_trainable(info, base, drawings=apart).eval() if n_replay and cfg.distill > 0 and pool is None \
        else None
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
                loss = loss + cfg.distill * distillation(rb.teacher, lp_r, len_r)
        elif replay is not None:
            r = collate([next(replay) for _ in range(n_replay)])
            lp_r, len_r = model(r.images, r.widths)
            loss = loss + ctc(lp_r, r.targets, len_r, r.lengths) * (n_replay / cfg.batch_size)
            if teacher is not None:  # stay close to what the base model reads on general words
                with torch.no_grad():
                    lp_t, _ = teacher(r.images, r.widths)
                loss = loss + cfg.distill * distillation(lp_t, lp_r, len_r)
        loss = loss + pull(params, anchor, l2sp, cfg.ewc, weights)
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
    When the samples are drawings (canvas writing, black-and-white scans; :func:`learns_apart`),
    the new network is learned for drawings alone: it starts from the base's network for drawings,
    is handed back as ``drawings`` beside the base's own network as ``model``, which goes on reading
    photos, and is judged on the user's words and on the general words written as pen strokes both
    ways the app may then read drawings: by the new network alone, and by the surer of it and the
    base's own (:class:`~nepocr_desktop.lib.read.surer.SurerOf`); of the ways accepted, the one that
    reads the user's words best is kept (:func:`choose_way`; ``drawings_read`` in the metadata).
    """
    t0 = time.time()
    info = copy.deepcopy(base.info)
    labels = [(img, info.charset.normalize_label(t)) for img, t in pairs]
    kind_of = None if kinds is None else {id(p): k for p, k in zip(labels, kinds)}
    if len({t for _, t in labels}) < 2:
        raise ValueError("at least 2 different words are needed to learn and check")
    is_drawn = {id(p): (kind_of is not None and kind_of[id(p)] == "canvas") or is_clean_drawing(p[0]) for p in labels}
    apart = learns_apart(sum(is_drawn.values()), len(labels), cfg)
    check_words, words = split_check_words(words)
    general_raw = general_check_set(check_words, fonts, cfg.general_words, drawn=apart)
    general = prepare_validation(general_raw, info.preprocess)
    base_module = build_trainable(info, base, drawings=apart).eval()
    # a network learned for drawings is judged both ways it may read them (lib/read/surer.py):
    # alone, and by the surer of it and the general network
    general_net = None  # the base's own network (the same as base_module where it has no network for drawings)
    if apart:
        general_net = base_module if base.drawings is None else build_trainable(info, base).eval()
    ways = (ALONE, SURER) if apart else (ALONE,)

    def as_read(net: nn.Module, way: str) -> nn.Module:
        return SurerOf(general_net, net) if way == SURER and general_net is not None else net

    reads_before = as_read(base_module, SURER if base.drawings is not None and reads_surer(base.info.metadata)
                           else ALONE)
    gen_b = word_errors(reads_before, info.charset, general)
    # a base whose network for drawings reads only the Write tab's writing reads the user's other
    # images (black-and-white scans) with its main network: they are judged as it reads them
    scans_by_main = apart and general_net is not base_module and canvas_only(base.info.metadata)

    def errors_before(held: Sequence[Pair], prepared: list) -> tuple[np.ndarray, np.ndarray]:
        eb, ln = word_errors(reads_before, info.charset, prepared)
        on_canvas = np.array([kind_of is not None and kind_of[id(p)] == "canvas" for p in held], bool)
        if scans_by_main and not on_canvas.all():
            assert general_net is not None
            eb = np.where(on_canvas, eb, word_errors(general_net, info.charset, prepared)[0])
        return eb, ln

    def kinds_for(ps: Sequence[Pair]) -> list[str] | None:
        return None if kind_of is None else [kind_of[id(p)] for p in ps]

    cut: dict[int, Pieces | None] = {}
    if recombine_share(len(labels), cfg) > 0:  # drawings and black-and-white scans only: joined photos show two papers
        drawn = [p for p in labels if is_drawn[id(p)]]
        cut = {id(p): pc for p, pc in zip(drawn, word_pieces(base_module, info.charset, info.preprocess, drawn))}

    def pieces_for(ps: Sequence[Pair]) -> list[Pieces]:  # only the words a run learns from
        return [pc for pc in (cut.get(id(p)) for p in ps) if pc is not None]

    cross = cross_validated(len(labels), cfg)
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
    lr = cfg.lr or auto_lr(len(final_train), apart)
    steps = [auto_steps(len(tr), cfg, apart) for tr, _ in runs]
    total = sum(steps)
    history: list[EpochReport] = []
    ub_e, u_len = [], []
    held_runs: list[tuple[nn.Module, list, np.ndarray]] = []  # each run's network, its held-back words
    # (prepared) and its errors on them read by the network alone
    final: nn.Module | None = None
    done = 0
    pool = None
    n_replay = replay_count(len(final_train), cfg, apart)
    if n_replay and "cnn" in frozen_parts(len(final_train), cfg):
        size = min(cfg.replay_pool_max, max(cfg.batch_size * 8, math.ceil(n_replay * max(steps) / cfg.replay_reuse)))
        pool = build_pool(base_module, replay_stream(words, fonts, info, cfg.seed + 1, replay_drawn(cfg, apart)), size)
    importance = None
    if cfg.ewc > 0 and pool is not None:
        importance = fisher_diagonal(base_module, list(base_module.named_parameters()), pool, seed=cfg.seed + 3)
    for r, ((tr, he), n_steps) in enumerate(zip(runs, steps)):
        t_run = time.time()
        run = _train_once(base, info, tr, kinds_for(tr), words, fonts, cfg, lr, n_steps, cfg.seed + 7919 * r,
                          done, total, on_step, should_stop, pool, pieces_for(tr), apart, importance)
        if run.cancelled:
            return FinetuneResult(float("nan"), float("nan"), cer(*gen_b), cer(*gen_b), len(final_train), 0,
                                  time.time() - t0, True, None, info, history, lr, steps=done)
        done += n_steps
        val_cer = float("nan")
        if he:
            held_p = prepare_validation(he, info.preprocess)
            eb, ln = errors_before(he, held_p)
            ea, _ = word_errors(run.model, info.charset, held_p)
            ub_e.append(eb)
            u_len.append(ln)
            held_runs.append((run.model, held_p, ea))
            val_cer = cer(ea, ln)
        rep = EpochReport(r + 1, done, float(np.mean(run.losses)), val_cer, float("nan"), val_cer,
                          time.time() - t_run, lr)
        history.append(rep)
        if on_epoch:
            on_epoch(rep)
        final = run.model
    assert final is not None
    # judged by cross-validation, the network read alone is the mean of the folds' networks and the
    # last: it reads the general check and the user's other words as well or better; read the surer
    # way beside the general network, the last run's cedes fewer of the user's words (RESULTS.md)
    mean = averaged([m for m, _, _ in held_runs] + [final]) if cross and cfg.mean_of_runs and held_runs else None
    ub = np.concatenate(ub_e) if ub_e else np.zeros(0, np.int64)
    ul = np.concatenate(u_len) if u_len else np.zeros(0, np.int64)
    ladders: dict[str, list] = {}  # way -> [(share, network, its errors on the held-back words, on the
    # general check, verdict)]
    for way in ways:
        tried = ladders[way] = []
        top = mean if mean is not None and way == ALONE else final
        for share in cfg.blends or (1.0,):  # the new networks, then nearer the base where the check refused them
            candidate = top if share == 1.0 else blended(base_module, top, share)
            ua_runs = [ea if share == 1.0 and way == ALONE else
                       word_errors(as_read(m if share == 1.0 else blended(base_module, m, share), way),
                                   info.charset, held)[0] for m, held, ea in held_runs]
            ua = np.concatenate(ua_runs) if ua_runs else np.zeros(0, np.int64)
            gen_a = word_errors(as_read(candidate, way), info.charset, general)
            tried.append((share, candidate, ua, gen_a, judge(ub, ua, ul, gen_b[0], gen_a[0], gen_b[1], cfg, method)))
            if tried[-1][4].accepted or tried[-1][4].claim != "general_worse":
                break
    way = choose_way({w: t[-1][4] for w, t in ladders.items()})
    tried = ladders[way]
    # the one handed back, or where none is, the first tried (the new networks as learned)
    share, final, ua, gen_a, verdict = tried[-1] if tried[-1][4].accepted else tried[0]
    if verdict.accepted and share < 1.0:
        verdict = dataclasses.replace(verdict, reason=verdict.reason + (
            f" It keeps {round(100 * share)}% of what it learned: all of it read the general check worse."))
    if verdict.accepted and way == SURER:
        verdict = dataclasses.replace(verdict, reason=verdict.reason + (
            " Your drawings are read by it and by the model's main network, each keeping the surer reading."))
    model = final if verdict.accepted else base_module
    drawings = None
    if apart:  # the base's own network goes on reading photos
        drawings = model if verdict.accepted or base.drawings is not None else None
        model = general_net
    elif base.drawings is not None:  # drawings go on being read as they were
        drawings = build_trainable(info, base, drawings=True).eval()
    user_before, cand_user = cer(ub, ul), cer(ua, ul)
    cand_gen = cer(*gen_a)
    user_after = cand_user if verdict.accepted else user_before
    gen_after = cand_gen if verdict.accepted else cer(*gen_b)
    info.metadata = dict(info.metadata)
    if apart and verdict.accepted:  # the new network reads every drawing, scans among them
        info.metadata.pop(SCOPE_KEY, None)
    info.metadata.update({
        "base_model": base.info.metadata.get("name", Path(base.path).name),
        "finetuned": time.strftime("%Y-%m-%d %H:%M:%S"), "user_samples": len(labels),
        "user_cer_before": user_before, "user_cer_after": user_after,
        "general_cer_before": cer(*gen_b), "general_cer_after": gen_after, "learning_rate": lr,
        "accepted": verdict.accepted, "judged_words": verdict.judged_words, "judgement": verdict.claim,
        "share_learned": share,
        "learned_for": "drawings" if apart else "all",
        **({METADATA_KEY: way} if apart and verdict.accepted else {}),
        # a personal word list read with the model, kept whichever network is handed back
        "user_words": sorted(words_of([*base.info.user_words, *(t for _, t in labels)])[:MAX_WORDS]),
    })
    return FinetuneResult(user_before, user_after, cer(*gen_b), gen_after, len(final_train), len(ul),
                          time.time() - t0, False, model, info, history, lr, verdict, cand_user, cand_gen,
                          done, final, apart, drawings, [(t[0], t[4].claim) for t in tried],
                          way if apart and verdict.accepted else None)


def choose_way(verdicts: dict[str, Judgement]) -> str:
    """How drawings are read after learning: of the ways whose last judged network was accepted,
    the one that read the user's judged words best, on a tie the one that read the general check
    best (then the first given); the first way where none was accepted."""
    accepted = [w for w, v in verdicts.items() if v.accepted]
    if not accepted:
        return next(iter(verdicts))
    return min(accepted, key=lambda w: (verdicts[w].user_after, verdicts[w].general_after))


def averaged(nets: Sequence[nn.Module]) -> nn.Module:
    """A copy of the last of ``nets`` with the mean of their weights (one architecture, one start)."""
    out = copy.deepcopy(nets[-1])
    out.load_state_dict(mean_states([n.state_dict() for n in nets]))
    return out.eval()


def blended(base: nn.Module, new: nn.Module, share: float) -> nn.Module:
    """A copy of ``new`` whose weights lie ``share`` of the way from ``base``'s to ``new``'s (the
    same network, other weights: fine-tuning's change scaled down)."""
    out = copy.deepcopy(new)
    out.load_state_dict(blend_states(new.state_dict(), base.state_dict(), share))
    return out.eval()


def save_finetuned(result: FinetuneResult, path: str | Path) -> None:
    if result.model is None:
        raise ValueError("fine-tuning was cancelled: there is no model to save")
    model, drawings = result.networks()
    save_model(model, result.info, path, drawings=drawings)
