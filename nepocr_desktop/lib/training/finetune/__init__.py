"""Fine-tuning a model on one person's corrected samples, without forgetting the rest.

How it learns (:func:`finetune`):

- a fixed number of steps that grows with the number of samples (``epochs`` passes over them),
  no early stopping on a handful of words;
- the weights are pulled towards the base model's (L2-SP: ``l2sp * sum ||w - w0||^2``; with
  ``ewc``, also in proportion to how much general words depend on each weight, :mod:`.anchor`; off
  by default, it did not pay in the benchmarks), BatchNorm
  stays frozen, and below ``freeze_cnn_below`` samples (by default always) the convolution stack
  is frozen too, so only the projection, LSTM and classifier adapt;
- every user sample is augmented heavily (warps, slant, stroke width, new paper; clean canvas or
  scanned drawings are also redrawn with a round pen); with drawings and black-and-white scans,
  half of the user's samples (four in five below 60 samples learned from:
  :func:`.config.recombine_share`) are new words joined from the start of one of their words and the
  end of another, cut between aksharas (:mod:`..recombine`), only ever from the words a run learns
  from;
- replayed synthetic words (bundled fonts, bundled word list minus the general check's words) fill
  most of each batch, and on them the new model is also held to the base model's per-frame
  output distribution (distillation, weight ``distill``); while the convolutions are frozen the
  replayed words are prepared once, in a pool (:mod:`.replay`), which halves the time of a step;
- the weights of the last third of the steps are averaged;
- when the samples are all drawings (the Write tab's writing, black-and-white scans;
  :func:`.config.learns_apart`), the new weights are learned for drawings alone: they start from
  the base's network for drawings, a quarter of each batch is replayed instead of 7 in 8 (three
  in eight from 200 samples on, with 10 passes over them instead of 8; three
  in four of those words written as pen strokes, as the Write tab hands drawings over), the
  general check is the general words written as pen strokes, and the new network is stored beside
  the base's own (:mod:`...read.branch`), which goes on reading photos: learning from drawings
  cannot make photos worse. Learning from photos keeps the base's network for drawings as it is.

How it is judged (:func:`judge`): the user's samples are split by word. Below ``cv_below`` samples
every sample is judged once by cross-validation (``folds`` models, each trained without that fold),
and the model that is handed back is trained on all samples (to be read alone, the mean of that
network and the folds' networks: ``mean_of_runs``); from ``cv_below`` on, a share of the
words (at least ``min_judge``) is held back and the model trained on the rest is the one judged and
handed back. A fixed synthetic general check set is read by the base and the new model. Paired
bootstrap intervals over words give the uncertainty of both differences. The new model is accepted
only when the general check is not worse by more than noise and the user's words gain at least a
margin; otherwise the base weights are handed back and the judgement says why. Nothing is written
unless the caller saves the result.

Modules: :mod:`.config` (settings, and what follows from the number of samples), :mod:`.samples`
(the user's samples and the replayed words), :mod:`.replay` (replayed words prepared once),
:mod:`.anchor` (the pull towards the base weights), :mod:`.judge` (splits, measuring, the verdict),
:mod:`.run` (the runs and :func:`finetune`).
"""

from __future__ import annotations

from .config import FinetuneConfig, auto_lr, auto_replay, auto_steps
from .judge import Judgement, fold_user_samples, judge, split_user_samples
from .run import FinetuneResult, finetune, save_finetuned
from .samples import UserWords, load_pairs, replay_material

__all__ = [
    "FinetuneConfig", "FinetuneResult", "Judgement", "UserWords", "auto_lr", "auto_replay", "auto_steps", "finetune",
    "fold_user_samples", "judge", "load_pairs", "replay_material", "save_finetuned", "split_user_samples",
]
