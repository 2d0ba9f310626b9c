"""CTC decoding on hand-made posteriors with known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nepocr_desktop.lib.language.lexicon import Lexicon
from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET, NEPALI_CHARS, split_aksharas
from nepocr_desktop.lib.read.ctc_decoder import (
    akshara_confidences,
    align,
    beam_decode,
    greedy_decode,
    label_confidences,
)

CS = DEFAULT_CHARSET


def logmat(rows: list[list[float]]) -> np.ndarray:
    """Rows of probabilities (blank first) to normalised log-posteriors."""
    p = np.asarray(rows, dtype=np.float64)
    return np.log(p / p.sum(axis=1, keepdims=True))


def frames(plan: list[dict[str, float]], eps: float = 1e-6) -> np.ndarray:
    """Full-charset log-posteriors: each frame gives some characters a probability, the rest
    of the mass goes to the blank."""
    m = np.full((len(plan), CS.num_classes), eps)
    for t, probs in enumerate(plan):
        for ch, p in probs.items():
            m[t, CS.encode(ch)[0]] = p
        m[t, 0] = max(1.0 - sum(probs.values()), eps)
    return np.log(m / m.sum(axis=1, keepdims=True))


def text_of(labels: list[int]) -> str:
    return CS.decode(labels)


def brute_force(lp: np.ndarray) -> dict[tuple[int, ...], float]:
    """Exact P(labelling) by summing over every path."""
    out: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(lp.shape[1]), repeat=lp.shape[0]):
        prob = math.exp(sum(lp[t, k] for t, k in enumerate(path)))
        collapsed = tuple(k for i, k in enumerate(path) if k != 0 and (i == 0 or path[i - 1] != k))
        out[collapsed] = out.get(collapsed, 0.0) + prob
    return out


def test_greedy_collapses_repeats_and_keeps_blank_separated_doubles():
    a, b, blank = [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]
    d = greedy_decode(logmat([a, a, blank, a, b, b, blank]))
    assert d.labels == [1, 1, 2]
    assert len(d.confidences) == 3 and all(c == pytest.approx(0.8) for c in d.confidences)


def test_greedy_confidence_is_max_over_the_label_frames():
    d = greedy_decode(logmat([[0.2, 0.6, 0.2], [0.05, 0.9, 0.05], [0.9, 0.05, 0.05]]))
    assert d.labels == [1]
    assert d.confidences[0] == pytest.approx(0.9)


def test_beam_beats_greedy_when_paths_share_a_label():
    lp = logmat([[0.6, 0.4], [0.6, 0.4]])
    assert greedy_decode(lp).labels == []
    hyps = beam_decode(lp, beam=4)
    assert hyps[0].labels == [1]
    assert hyps[0].score == pytest.approx(math.log(0.64))  # aa + a_ + _a
    assert hyps[1].labels == [] and hyps[1].score == pytest.approx(math.log(0.36))


def test_beam_agrees_with_greedy_on_clear_input():
    lp = frames([{"न": 0.95}, {}, {"म": 0.9}, {"म": 0.9}, {}, {"म": 0.97}])
    g, b = greedy_decode(lp), beam_decode(lp, beam=5)[0]
    assert text_of(g.labels) == text_of(b.labels) == "नमम"
    assert b.confidences == pytest.approx(g.confidences)


def test_beam_scores_are_exact_label_probabilities():
    rng = np.random.default_rng(7)
    lp = logmat(rng.dirichlet(np.ones(3), size=5).tolist())
    exact = brute_force(lp)
    hyps = beam_decode(lp, beam=1000, cutoff=0.0)
    assert len(hyps) == len(exact)
    for h in hyps:
        assert math.exp(h.score) == pytest.approx(exact[tuple(h.labels)], rel=1e-9)
    best = max(exact, key=exact.get)
    assert tuple(hyps[0].labels) == best
    assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)



def test_frames_where_only_the_blank_is_likely_keep_scores_exact():
    # frames 1, 3 and 4 give every label less than the cutoff: the beams only stay there
    rng = np.random.default_rng(11)
    rows = rng.dirichlet(np.ones(3), size=6)
    for t in (1, 3, 4):
        rows[t] = [0.998, 0.001 - 1e-6, 0.001 + 1e-6 - 1e-5]
    lp = logmat(rows.tolist())
    cutoff = 1e-3
    exact: dict[tuple[int, ...], float] = {}  # over the paths the search may take: a label
    for path in itertools.product(range(3), repeat=6):  # below the cutoff may only go on
        if any(k and lp[t, k] < math.log(cutoff) and (t == 0 or path[t - 1] != k) for t, k in enumerate(path)):
            continue
        collapsed = tuple(k for i, k in enumerate(path) if k != 0 and (i == 0 or path[i - 1] != k))
        exact[collapsed] = exact.get(collapsed, 0.0) + math.exp(sum(lp[t, k] for t, k in enumerate(path)))
    hyps = beam_decode(lp, beam=1000, cutoff=cutoff)
    assert len(hyps) == len(exact)
    for h in hyps:
        assert math.exp(h.score) == pytest.approx(exact[tuple(h.labels)], rel=1e-9)
    assert tuple(hyps[0].labels) == max(exact, key=exact.get)


def test_beam_returns_unique_alternatives_best_first():
    lp = frames([{"क": 0.5, "ख": 0.4}, {}, {"र": 0.6, "द": 0.35}])
    hyps = beam_decode(lp, beam=4, aligned=2)
    assert [len(h.confidences) for h in hyps] == [2, 2, 0, 0]
    texts = [text_of(h.labels) for h in hyps]
    assert texts[:3] == ["कर", "खर", "कद"] and len(set(texts)) == len(texts) == 4


def test_beam_rejects_bad_shapes():
    with pytest.raises(ValueError):
        beam_decode(np.zeros(5))


LEX = Lexicon(["घर", "गर्नु", "पानी", "किताब"])


def test_lexicon_tips_an_ambiguous_reading_toward_a_word():
    lp = frames([{"घ": 0.95}, {}, {"द": 0.55, "र": 0.43}])
    assert text_of(greedy_decode(lp).labels) == "घद"
    assert text_of(beam_decode(lp, beam=8)[0].labels) == "घद"
    best = beam_decode(lp, beam=8, lexicon=LEX, alpha=1.0)[0]
    assert text_of(best.labels) == "घर"
    assert best.score == pytest.approx(float(lp[0].max() + lp[1].max() + lp[2, CS.encode("र")[0]]), abs=1e-3)


def test_lexicon_does_not_override_clear_evidence():
    lp = frames([{"घ": 0.95}, {}, {"द": 0.9, "र": 0.08}])
    assert text_of(beam_decode(lp, beam=8, lexicon=LEX, alpha=1.0)[0].labels) == "घद"


def test_lexicon_keeps_unknown_words_and_accepts_inflections():
    plan = [{"झ": 0.9}, {}, {"ल": 0.9}, {}, {"क": 0.9}]
    assert text_of(beam_decode(frames(plan), beam=8, lexicon=LEX, alpha=2.0)[0].labels) == "झलक"
    # "घरमा" is "घर" + "मा": with the lexicon it beats the more likely non-word "घरना"
    lp = frames([{"घ": 0.95}, {}, {"र": 0.95}, {}, {"न": 0.5, "म": 0.45}, {}, {"ा": 0.95}])
    assert text_of(beam_decode(lp, beam=8)[0].labels) == "घरना"
    assert text_of(beam_decode(lp, beam=8, lexicon=LEX)[0].labels) == "घरमा"


def test_align_assigns_frames_to_labels():
    blank, a, b = [0.9, 0.05, 0.05], [0.1, 0.85, 0.05], [0.1, 0.05, 0.85]
    lp = logmat([blank, a, a, blank, a, b, blank])
    assert align(lp, [1, 1, 2]) == [[1, 2], [4], [5]]
    conf = label_confidences(lp, [1, 1, 2])
    assert conf == pytest.approx([0.85, 0.85, 0.85])
    with pytest.raises(ValueError):
        align(logmat([a]), [1, 1])  # a repeat needs a blank frame between


def _collapse(path: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(k for i, k in enumerate(path) if k != 0 and (i == 0 or path[i - 1] != k))


@pytest.mark.parametrize("seed", range(12))
def test_align_finds_the_most_likely_path(seed):
    """The alignment is the single likeliest path that reads the labels, against every path of
    a small random matrix (repeats, labels next to each other, a label held over frames)."""
    rng = np.random.default_rng(seed)
    n_t, n_c = 7, 3
    lp = np.log(rng.dirichlet(np.ones(n_c) * 0.7, size=n_t))
    paths = list(itertools.product(range(n_c), repeat=n_t))
    for labels in ([1], [2, 1], [1, 1], [1, 2, 2], [2, 1, 2, 1]):
        fits = [p for p in paths if _collapse(p) == tuple(labels)]
        best = max(sum(lp[t, k] for t, k in enumerate(p)) for p in fits)
        got = align(lp, labels)
        path = [0] * n_t
        for k, frames_of in zip(labels, got):
            assert frames_of and frames_of == sorted(frames_of)
            for t in frames_of:
                path[t] = k
        assert _collapse(tuple(path)) == tuple(labels)
        assert sum(lp[t, k] for t, k in enumerate(path)) == pytest.approx(best, abs=1e-12)


def test_akshara_rollup_takes_the_minimum():
    text = "क्षत्रिय"
    conf = [0.9, 0.8, 0.7, 0.95, 0.6, 0.99, 0.5, 0.85]
    got = akshara_confidences(text, conf)
    assert [g.text for g in got] == ["क्ष", "त्रि", "य"]
    assert [g.confidence for g in got] == pytest.approx([0.7, 0.5, 0.85])
    with pytest.raises(ValueError):
        akshara_confidences(text, conf[:-1])


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=NEPALI_CHARS, max_size=20), st.randoms())
def test_akshara_rollup_covers_the_text(text, rnd):
    conf = [rnd.random() for _ in text]
    got = akshara_confidences(text, conf)
    assert "".join(g.text for g in got) == text
    assert [g.text for g in got] == split_aksharas(text)
    if conf:
        assert min(g.confidence for g in got) == pytest.approx(min(conf))
