"""Character and word error rates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


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
