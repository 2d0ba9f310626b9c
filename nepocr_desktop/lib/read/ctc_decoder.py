"""CTC decoding: greedy best path, prefix beam search with an optional word-list nudge,
per-code-point confidences and their roll-up to aksharas.

All functions take one (T, C) matrix of natural-log posteriors with the blank at index 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .charset import DEFAULT_CHARSET, Charset, split_aksharas
from .results import GraphemeConfidence

NEG_INF = float("-inf")


@dataclass(frozen=True)
class Decoded:
    """Label indices (blank-free), their confidences in [0, 1] and the sequence log-score."""

    labels: list[int]
    confidences: list[float]
    score: float


class WordScorer(Protocol):
    """What the beam search needs from a word list (see :class:`lexicon.Lexicon`)."""

    def bonus(self, text: str, final: bool) -> float:
        """How many words of ``text`` are known; an unfinished last word counts if it can
        still become one (``final`` false)."""
        ...


def greedy_decode(logprobs: np.ndarray) -> Decoded:
    """Best-path decoding of one (T, C) log-probability matrix; blank is index 0.

    A code point's confidence is the highest posterior among the frames it was read from.
    """
    best = logprobs.argmax(axis=1)
    probs = np.exp(logprobs.max(axis=1))
    labels: list[int] = []
    confs: list[float] = []
    prev = 0
    for t, k in enumerate(best):
        k = int(k)
        if k != 0 and k != prev:
            labels.append(k)
            confs.append(float(probs[t]))
        elif k != 0 and k == prev:
            confs[-1] = max(confs[-1], float(probs[t]))
        prev = k
    return Decoded(labels, confs, float(logprobs.max(axis=1).sum()))


def _lse(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) without overflow."""
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


def beam_decode(logprobs: np.ndarray, beam: int = 8, lexicon: WordScorer | None = None,
                alpha: float = 1.0, charset: Charset = DEFAULT_CHARSET,
                cutoff: float = 1e-3, aligned: int = 1) -> list[Decoded]:
    """CTC prefix beam search; returns up to ``beam`` hypotheses, best first.

    ``score`` is each hypothesis' log-probability under the model (summed over alignments).
    With a ``lexicon``, hypotheses are ranked by ``score + alpha * known_words`` so a word
    from the list wins only where the image is ambiguous; unknown words (inflected forms,
    names) are still read when the evidence for them is clear. At each frame only labels
    with posterior >= ``cutoff`` (at most ``beam`` of them) are tried. Per-label confidences
    (see :func:`label_confidences`) are computed for the first ``aligned`` hypotheses only;
    the others carry an empty list.
    """
    lp = np.asarray(logprobs, dtype=np.float64)
    if lp.ndim != 2 or lp.shape[1] < 2:
        raise ValueError(f"expected a (T, C) matrix, got shape {lp.shape}")
    beam = max(1, int(beam))
    log_cut = math.log(cutoff) if cutoff > 0 else NEG_INF
    chars = charset.shown
    if lexicon is not None and lp.shape[1] != charset.num_classes:
        raise ValueError(f"posteriors have {lp.shape[1]} classes, charset {charset.num_classes}")
    bonus_cache: dict[tuple[str, bool], float] = {}

    def bonus(text: str, final: bool) -> float:
        if lexicon is None:
            return 0.0
        key = (text, final)
        value = bonus_cache.get(key)
        if value is None:
            value = bonus_cache[key] = alpha * lexicon.bonus(text, final)
        return value

    # the labels each frame may extend by: its `beam` likeliest, those at or above the cutoff
    top = np.argpartition(-lp[:, 1:], min(beam, lp.shape[1] - 2), axis=1)[:, :beam] + 1
    likely = np.take_along_axis(lp, top, axis=1) >= log_cut
    rows, tops, keeps = lp.tolist(), top.tolist(), likely.tolist()
    spell = lexicon is not None
    # a prefix's beam: [log P(ends in blank), log P(ends in its last label), its text]
    beams: dict[tuple[int, ...], list] = {(): [0.0, NEG_INF, ""]}
    for row, labels, keep in zip(rows, tops, keeps):
        cand = [c for c, ok in zip(labels, keep) if ok]
        p_blank = row[0]
        if not cand:  # no label is likely here (about half the frames): every prefix only stays
            for prefix, b in beams.items():
                total = _lse(b[0], b[1])
                b[1] = b[1] + row[prefix[-1]] if prefix else NEG_INF
                b[0] = total + p_blank
            continue
        nxt: dict[tuple[int, ...], list] = {}
        for prefix, (blank, nonblank, text) in beams.items():
            total = _lse(blank, nonblank)
            stay = nxt.get(prefix)
            if stay is None:
                stay = nxt[prefix] = [NEG_INF, NEG_INF, text]
            stay[0] = _lse(stay[0], total + p_blank)
            last = prefix[-1] if prefix else -1
            if prefix:
                stay[1] = _lse(stay[1], nonblank + row[last])
            for c in cand:
                longer = prefix + (c,)
                ext = nxt.get(longer)
                if ext is None:
                    ext = nxt[longer] = [NEG_INF, NEG_INF, text + chars[c - 1] if spell else ""]
                # a repeat needs a blank between
                ext[1] = _lse(ext[1], (blank if c == last else total) + row[c])
        ranked = []
        for prefix, b in nxt.items():
            total = _lse(b[0], b[1])
            if total > NEG_INF:  # not a repeat with no blank between
                ranked.append((total + bonus(b[2], False), prefix, b))
        ranked.sort(key=lambda r: r[0], reverse=True)
        beams = {prefix: b for _, prefix, b in ranked[:beam]}

    final = sorted(((_lse(b[0], b[1]) + bonus(b[2], True), prefix, b) for prefix, b in beams.items()),
                   key=lambda r: r[0], reverse=True)
    if not final:  # every path impossible (posteriors of exactly zero): fall back to best path
        return [greedy_decode(lp)]
    out = []
    for rank, (_, prefix, b) in enumerate(final):
        labels = list(prefix)
        conf = label_confidences(lp, labels) if rank < aligned else []
        out.append(Decoded(labels, conf, _lse(b[0], b[1])))
    return out


def align(logprobs: np.ndarray, labels: Sequence[int]) -> list[list[int]]:
    """Most likely CTC alignment (Viterbi) of ``labels``: the frames emitting each label.

    Plain Python over the frames' rows: a word has a few dozen frames and states, where one
    array operation per frame costs more than the arithmetic it does. Of equal predecessors the
    state itself wins, then the one before it."""
    n_l = len(labels)
    if n_l == 0:
        return []
    ext = [0]
    for k in labels:
        ext += [int(k), 0]
    s = len(ext)
    rows = np.asarray(logprobs, dtype=np.float64)[:, ext].tolist()  # T rows of S emissions
    n_t = len(rows)
    # a state may skip the blank before it when its label differs from the label two back
    skip = [i >= 3 and i % 2 == 1 and ext[i] != ext[i - 2] for i in range(s)]
    score = [NEG_INF] * s
    score[0] = rows[0][0]
    if s > 1:
        score[1] = rows[0][1]
    back: list[list[int]] = [[0] * s]  # 0 stay, 1 from s-1, 2 from s-2
    for t in range(1, n_t):
        emit = rows[t]
        new = [0.0] * s
        step = [0] * s
        for i in range(s):
            best, choice = score[i], 0
            if i >= 1 and score[i - 1] > best:
                best, choice = score[i - 1], 1
            if skip[i] and score[i - 2] > best:
                best, choice = score[i - 2], 2
            new[i] = best + emit[i]
            step[i] = choice
        score = new
        back.append(step)
    end = s - 1 if s < 2 or score[s - 1] >= score[s - 2] else s - 2
    if score[end] == NEG_INF:
        raise ValueError("the labels do not fit in the frames")
    frames: list[list[int]] = [[] for _ in range(n_l)]
    state = end
    for t in range(n_t - 1, -1, -1):
        if state % 2 == 1:
            frames[state // 2].append(t)
        state -= back[t][state]
    for fr in frames:
        fr.reverse()
    return frames


def label_confidences(logprobs: np.ndarray, labels: Sequence[int]) -> list[float]:
    """Per-label confidence: the highest posterior of the label over its aligned frames."""
    if not labels:
        return []
    frames = align(logprobs, labels)
    return [float(np.exp(max(logprobs[t, k] for t in fr))) for fr, k in zip(frames, labels)]


def akshara_confidences(text: str, confidences: Sequence[float]) -> list[GraphemeConfidence]:
    """Roll code-point confidences up to aksharas (min over each akshara's code points).

    ``text`` has one code point per confidence; the aksharas joined give back ``text``.
    """
    if len(text) != len(confidences):
        raise ValueError(f"{len(text)} code points but {len(confidences)} confidences")
    out: list[GraphemeConfidence] = []
    i = 0
    for ak in split_aksharas(text):
        conf = min(confidences[i:i + len(ak)])
        out.append(GraphemeConfidence(ak, float(conf)))
        i += len(ak)
    return out
