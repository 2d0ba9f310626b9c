"""Character and word error rates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance between two sequences."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def error_rates(pairs: Iterable[tuple[str, str]]) -> tuple[float, float]:
    """(CER, WER) over (prediction, reference) pairs, as fractions.

    CER counts code-point edits over reference code points; WER counts word edits over
    reference words (a single-word sample is right or wrong as a whole).
    """
    ce = cn = we = wn = 0
    for pred, ref in pairs:
        ce += edit_distance(pred, ref)
        cn += len(ref)
        rw, pw = ref.split(), pred.split()
        we += edit_distance(pw, rw)
        wn += len(rw)
    return ce / max(cn, 1), we / max(wn, 1)


def cer(edits: np.ndarray, lengths: np.ndarray) -> float:
    """Character error rate from per-word edit counts and label lengths (NaN for none)."""
    return float(edits.sum() / lengths.sum()) if len(lengths) and lengths.sum() else float("nan")


def paired_interval(before: np.ndarray, after: np.ndarray, lengths: np.ndarray, confidence: float = 0.9,
                    n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """CER(after) - CER(before) and its bootstrap interval, resampling words (paired)."""
    n = len(lengths)
    if n == 0 or lengths.sum() == 0:
        return float("nan"), float("nan"), float("nan")
    delta = float((after.sum() - before.sum()) / lengths.sum())
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    d = (after - before)[idx].sum(1) / np.maximum(1, lengths[idx].sum(1))
    a = (1 - confidence) / 2
    lo, hi = np.quantile(d, [a, 1 - a])
    return delta, float(lo), float(hi)
