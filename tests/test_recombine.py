"""New words joined from a user's corrected words, cut between aksharas."""

from __future__ import annotations

import importlib
from typing import ClassVar

import numpy as np
import pytest
import torch

from nepocr_desktop.lib.read.charset import is_well_formed, split_aksharas
from nepocr_desktop.lib.read.modelio import build_trainable, load_model
from nepocr_desktop.lib.training.recombine import (
    STRIDE,
    Pieces,
    Recombined,
    close_gap,
    cut_columns,
    headline_row,
    join,
    word_pieces,
)
from nepocr_desktop.lib.training.synth import find_fonts, render_text

ft = importlib.import_module("nepocr_desktop.lib.training.finetune.run")  # where finetune() looks its helpers up


def kalam():
    return next(f for f in find_fonts() if f.name == "Kalam-Regular.ttf")


def two_letters(headline: int = 5) -> np.ndarray:
    """A headline over two blobs: columns 8-30 and 44-70, a gap between."""
    ink = np.zeros((32, 80), np.float32)
    ink[headline, 4:74] = 1.0
    ink[headline + 1:28, 8:31] = 0.8
    ink[headline + 1:28, 44:71] = 0.8
    return ink


def test_the_cut_goes_through_the_gap_before_the_next_akshara():
    ink = two_letters()
    cuts = cut_columns(ink, [[2], [11]], [1, 1])  # the second letter is marked at column 44
    assert cuts is not None and cuts[0] == 0 and cuts[-1] == 80
    assert 31 <= cuts[1] <= 43  # in the gap, not through either letter


def test_an_akshara_of_several_labels_is_cut_as_one():
    ink = two_letters()
    cuts = cut_columns(ink, [[2], [4], [11]], [2, 1])  # labels 0-1 are the first akshara
    assert cuts is not None and len(cuts) == 3 and 31 <= cuts[1] <= 43


def test_a_vowel_bar_on_the_right_stays_with_its_akshara():
    """हा then a letter: the gap before the bar of ा is wider than the one after it, but the
    network marked the bar (frame 10, column 40) as part of the first akshara."""
    ink = np.zeros((32, 80), np.float32)
    ink[5, 4:74] = 1.0
    ink[6:28, 8:31] = 0.8    # the consonant
    ink[6:28, 38:42] = 0.8   # the bar of ा
    ink[6:28, 44:71] = 0.8   # the next akshara, marked at column 44
    cuts = cut_columns(ink, [[2], [10], [11]], [2, 1])
    assert cuts is not None and 42 <= cuts[1] <= 43


def test_no_cut_without_a_frame_or_with_boundaries_too_close():
    ink = two_letters()
    assert cut_columns(ink, [[2], []], [1, 1]) is None
    assert cut_columns(ink, [[0], [0], [1]], [1, 1, 1]) is None


def test_join_lines_up_the_headlines():
    left, right = two_letters(5), two_letters(9)
    assert headline_row(left) == 5 and headline_row(right) == 9
    joined = join(left, 5, right, 9)
    assert joined.shape == (32, 160)
    assert headline_row(joined[:, 80:]) == 5
    assert np.array_equal(joined[:, :80], left)


def test_the_margins_where_two_whole_words_meet_are_closed_to_a_small_gap():
    """A word's blank margins at the joint would read as a space between two words."""
    left, right = two_letters(), two_letters()  # blank columns 0-3 and 74-79 around the ink
    a, b = close_gap(left, right, gap=2)
    assert a.shape[1] == 74 + 2 and a[:, :74].tolist() == left[:, :74].tolist() and not a[:, 74:].any()
    assert b.shape[1] == 76 and b.tolist() == right[:, 4:].tolist()
    # a cut through ink (between the aksharas of one word) is joined as it is
    through = left[:, 10:60]
    assert close_gap(through, through, gap=3)[0] is through
    # a piece with no ink at all keeps one column
    blank = np.zeros((32, 6), np.float32)
    assert close_gap(blank, right, gap=0)[0].shape[1] == 1


def pieces(text: str, width_per_akshara: int = 20, headline: int = 4) -> Pieces:
    aks = split_aksharas(text)
    ink = np.zeros((32, width_per_akshara * len(aks)), np.float32)
    ink[headline] = 1.0
    cuts = tuple(range(0, width_per_akshara * len(aks) + 1, width_per_akshara))
    return Pieces(ink, tuple(aks), cuts, headline)


def test_recombined_words_are_a_start_and_an_end_of_the_users_words():
    words = ["नेपाल", "किताब", "पानी"]
    src = Recombined([pieces(w) for w in words])
    expected = {}
    for a in words:
        for b in words:
            aa, bb = split_aksharas(a), split_aksharas(b)
            for i in range(1, len(aa) + 1):
                for j in range(len(bb)):
                    expected.setdefault("".join(aa[:i] + bb[j:]), set()).add(20 * (i + len(bb) - j))
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(60):
        img, text = src(rng)
        assert img.dtype == np.uint8 and img.shape[0] == 32
        assert text in expected and img.shape[1] in expected[text] and is_well_formed(text)
        seen.add(text)
    assert len(seen - set(words)) >= 10  # mostly words the user never wrote


@pytest.fixture(scope="module")
def kalam_words():
    font = kalam()
    words = ["नेपाल", "घर", "किताब", "माया", "क", "आमा बुबा"]
    return [(render_text(w, font, size=40), w) for w in words]


def test_word_pieces_cut_every_word_of_two_aksharas_or_more(tiny_model_path, kalam_words):
    base = load_model(tiny_model_path)
    model = build_trainable(base.info, base).eval()
    out = word_pieces(model, base.info.charset, base.info.preprocess, kalam_words)
    assert len(out) == len(kalam_words)
    assert out[4] is None and out[5] is None  # one akshara; a space
    cut = [p for p in out[:4] if p is not None]
    assert cut, "no word could be cut"
    for p in cut:
        assert len(p.cuts) == len(p.aksharas) + 1 and p.cuts[0] == 0 and p.cuts[-1] == p.ink.shape[1]
        assert all(b - a >= STRIDE for a, b in zip(p.cuts[1:-1], p.cuts[2:-1]))


def binarised(img: np.ndarray) -> np.ndarray:
    return np.where(img < 128, 0, 255).astype(np.uint8)


class Spy(Recombined):
    """Records the words each fine-tuning run may join, and whether it drew from them."""

    seen: ClassVar[list[set[str]]] = []
    drawn: ClassVar[list[int]] = []

    def __init__(self, ps):
        super().__init__(ps)
        Spy.seen.append({"".join(p.aksharas) for p in ps})

    def __call__(self, rng):
        Spy.drawn.append(1)
        return super().__call__(rng)


def run_with_spy(tiny_model_path, pairs, words, monkeypatch, **kw):
    Spy.seen, Spy.drawn = [], []
    monkeypatch.setattr(ft, "Recombined", Spy)
    torch.manual_seed(0)
    cfg = ft.FinetuneConfig(lr=1e-3, replay=0.25, recombine=0.5, cv_below=100, folds=3,
                            steps_per_epoch=4, epochs=1, batch_size=4, general_words=8, min_steps=1)
    res = ft.finetune(load_model(tiny_model_path), pairs, words, [kalam()], cfg, **kw)
    assert not res.cancelled and res.steps > 0


WORDS = ["नेपाल", "किताब", "माया", "आमा", "पानी", "बुबा"]


def rendered(transform=lambda img: img):
    font = kalam()
    return [(transform(render_text(w, font, size=38 + 3 * k)), w) for k, w in enumerate(WORDS * 2)]


def test_finetune_joins_only_the_words_each_run_learns_from(tiny_model_path, monkeypatch):
    pairs = rendered(binarised)  # black-and-white, as a scanner gives them
    run_with_spy(tiny_model_path, pairs, WORDS, monkeypatch)
    runs = [tr for tr, _ in ft.fold_user_samples(pairs, 3)] + [pairs]
    assert len(Spy.seen) == len(runs)  # one source of joined words per run
    for joined, train in zip(Spy.seen, runs):
        assert joined and joined <= {t for _, t in train}  # never a held-back word
    assert Spy.drawn  # and it was drawn from


def test_photos_are_not_joined_but_canvas_drawings_are(tiny_model_path, monkeypatch):
    pairs = rendered()  # grey edges: not clean drawings
    assert not any(ft.is_clean_drawing(img) for img, _ in pairs)
    run_with_spy(tiny_model_path, pairs, WORDS, monkeypatch)
    assert Spy.seen == [] and Spy.drawn == []
    run_with_spy(tiny_model_path, pairs, WORDS, monkeypatch, kinds=["canvas"] * len(pairs))
    assert len(Spy.seen) == 4 and all(Spy.seen) and Spy.drawn


@pytest.mark.parametrize("flag, value", [("--recombine", "1.5"), ("--recombine", "-0.1"), ("--replay", "0.95")])
def test_cli_refuses_a_share_out_of_range(tiny_model_path, kalam_words, tmp_path, capsys, flag, value):
    import cv2

    from nepocr_desktop.cli import main

    folder = tmp_path / "samples"
    folder.mkdir()
    rows = []
    for i, (img, text) in enumerate(kalam_words[:4]):
        cv2.imwrite(str(folder / f"{i}.png"), img)
        rows.append(f"{i}.png\t{text}\n")
    (folder / "labels.tsv").write_text("".join(rows), encoding="utf-8")
    out = tmp_path / "ft.pt"
    code = main(["finetune", str(folder), "--out", str(out), "--base", str(tiny_model_path), flag, value])
    assert code == 2 and not out.exists()
    assert f"error: {flag} must be between" in capsys.readouterr().err


def test_real_joined_never_spells_a_held_out_word():
    """The `realjoin` training source: joined real words, augmented, never one of the validation
    words, and when every draw spells one, a whole training word instead."""
    from nepocr_desktop.lib.training.sources import RealJoined

    words = ["नेपाल", "किताब", "पानी"]
    joined = Recombined([pieces(w) for w in words])
    held_out = frozenset({"नेब", "कितापानी", "नेपानी", "पाल"})
    src = RealJoined(joined, strong=True, exclude=held_out)
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(80):
        img, text = src(rng)
        assert img.dtype == np.uint8 and img.ndim == 2
        assert text not in held_out and is_well_formed(text)
        seen.add(text)
    assert len(seen - set(words)) >= 10

    one = Recombined([pieces("नेपाल")])
    only = {"".join(split_aksharas("नेपाल")[:i] + split_aksharas("नेपाल")[j:]) for i in range(1, 4) for j in range(3)}
    fallback = RealJoined(one, exclude=frozenset(only - {"नेपाल"}))
    assert {fallback(rng)[1] for _ in range(10)} == {"नेपाल"}


def test_few_samples_are_joined_more_often_unless_the_share_is_set(tiny_model_path, monkeypatch):
    from nepocr_desktop.lib.training.finetune.config import FEW_SAMPLES, recombine_share

    assert recombine_share(30, ft.FinetuneConfig()) == 0.8
    assert recombine_share(FEW_SAMPLES - 1, ft.FinetuneConfig()) == 0.8
    assert recombine_share(FEW_SAMPLES, ft.FinetuneConfig()) == 0.5
    assert recombine_share(30, ft.FinetuneConfig(recombine=0.3)) == 0.3
    assert recombine_share(30, ft.FinetuneConfig(recombine=0.0)) == 0.0

    shares = []

    class Recording(ft.UserWords):
        def __init__(self, pairs, kinds=None, recombined=None, recombine=0.0):
            shares.append((recombined is not None, recombine))
            super().__init__(pairs, kinds, recombined, recombine)

    monkeypatch.setattr(ft, "UserWords", Recording)
    pairs = rendered(binarised)
    cfg = {"lr": 1e-3, "replay": 0.25, "cv_below": 100, "folds": 3, "steps_per_epoch": 2, "epochs": 1,
           "batch_size": 4, "general_words": 8, "min_steps": 1}
    for setting, expected in ((None, 0.8), (0.5, 0.5)):
        shares.clear()
        torch.manual_seed(0)
        ft.finetune(load_model(tiny_model_path), pairs, WORDS, [kalam()], ft.FinetuneConfig(recombine=setting, **cfg))
        assert shares and all(s == (True, expected) for s in shares), (setting, shares)
