"""Hand-drawn dandas and commas after training words (``lib/training/marks.py``, ``--punctuation``)."""

from __future__ import annotations

import argparse
import copy

import numpy as np
import pytest
import torch
from torch import nn

from nepocr_desktop.lib.errors import UsageError
from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
from nepocr_desktop.lib.read.crnn import ModelSpec
from nepocr_desktop.lib.read.preprocess import ink_bbox, ink_map, prepare
from nepocr_desktop.lib.training.marks import COMMA, DANDA, add_mark, can_take_mark
from nepocr_desktop.lib.training.sources import MixedStream, collate
from nepocr_desktop.lib.training.synth import find_fonts, render_text
from nepocr_desktop.lib.training.train import TrainConfig, batch_loss, fit, new_model
from nepocr_desktop.training import add_train_arguments, run_train

SPEC = ModelSpec(height=32, channels=(8, 16, 16, 24), double=(False,) * 4, hidden=32, layers=1, dropout=0.0)


def _word(text: str = "हुन्छ") -> np.ndarray:
    font = next(f for f in find_fonts() if "Kalam-Regular" in f.name)
    return render_text(text, font, size=48)


def _columns_with_ink(gray: np.ndarray) -> np.ndarray:
    return (ink_map(gray) > 0.35).any(axis=0)


@pytest.mark.parametrize("mark", [DANDA, COMMA])
def test_a_mark_is_drawn_after_the_word_with_a_gap_and_added_to_the_label(mark):
    img = _word()
    x1 = ink_bbox(ink_map(img))[2]
    out, text = add_mark(img, "हुन्छ", np.random.default_rng(3), mark)
    assert text == "हुन्छ" + mark
    assert out.shape[0] >= img.shape[0] and out.shape[1] >= img.shape[1]
    assert np.array_equal(out[: img.shape[0], :x1], img[:, :x1])  # the word itself is untouched
    cols = _columns_with_ink(out)
    new = np.flatnonzero(cols[x1:]) + x1
    assert len(new), "no mark was drawn"
    assert not cols[x1:new[0]].all() and new[0] > x1  # a blank gap between the word and its mark
    marked = ink_map(out)[:, new[0]:new[-1] + 1] > 0.35
    rows = np.flatnonzero(marked.any(axis=1))
    word_rows = np.flatnonzero((ink_map(img) > 0.35).any(axis=1))
    if mark == DANDA:  # an upright bar, most of the word's height, within its rows
        assert rows[-1] - rows[0] >= 0.4 * (word_rows[-1] - word_rows[0])
        assert new[-1] - new[0] < rows[-1] - rows[0]
    else:  # a small mark low down
        assert rows[-1] - rows[0] < 0.6 * (word_rows[-1] - word_rows[0])
        assert rows.mean() > word_rows.mean()


def test_a_mark_is_drawn_in_the_images_own_ink_either_polarity():
    img = _word()
    dark, _ = add_mark(img, "हुन्छ", np.random.default_rng(0), DANDA)
    light, _ = add_mark(255 - img, "हुन्छ", np.random.default_rng(0), DANDA)
    x1 = ink_bbox(ink_map(img))[2]
    assert dark[:, x1 + 2:].min() < 60          # dark ink on white paper
    assert light[:, x1 + 2:].max() > 195        # light ink on dark paper
    assert np.median(light) < 60


def test_no_ink_no_mark_and_labels_that_end_in_punctuation_get_none():
    blank = np.full((40, 80), 250, np.uint8)
    out, text = add_mark(blank, "घर", np.random.default_rng(0))
    assert text == "घर" and out is blank
    assert can_take_mark("घर") and not can_take_mark("घर।") and not can_take_mark("घर,")
    assert not can_take_mark("दुई शब्द") and not can_take_mark("")
    with pytest.raises(ValueError):
        add_mark(_word(), "घर", np.random.default_rng(0), "?")


def test_the_stream_gives_a_share_of_the_words_a_mark():
    _, info = new_model(DEFAULT_CHARSET, SPEC)
    img = _word("घर")

    def texts(share, n=60):
        it = iter(MixedStream([(lambda rng: (img, "घर"), 1.0)], DEFAULT_CHARSET, info.preprocess,
                              punctuation=share))
        out = []
        for _ in range(n):
            _, ids, text = next(it)
            assert DEFAULT_CHARSET.decode(ids) == text
            out.append(text)
        return out

    assert set(texts(0.0)) == {"घर"}
    every = texts(1.0, n=120)
    assert {"घर" + DANDA, "घर" + COMMA} <= set(every) <= {"घर" + DANDA, "घर" + COMMA, DANDA, COMMA}
    assert 2 <= sum(t in (DANDA, COMMA) for t in every) <= 30  # a tenth: the mark alone
    marked = sum(t != "घर" for t in texts(0.5))
    assert 15 <= marked <= 45
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    with pytest.raises(UsageError, match="punctuation"):
        run_train(parser.parse_args(["--punctuation", "1.5"]))


def test_a_mark_alone_is_cut_out_with_the_mark_as_its_text():
    """As a page reader may find a danda set apart from its word."""
    img = _word()
    out, text = add_mark(img, "हुन्छ", np.random.default_rng(5), DANDA, alone=True)
    assert text == DANDA
    box = ink_bbox(ink_map(out))
    assert box is not None
    x0, y0, x1, y1 = box
    assert x1 - x0 < y1 - y0  # an upright bar, not the word
    assert out.shape[1] < img.shape[1] / 2 and out.shape[0] >= img.shape[0]


def _batch(words: list[str], info):
    font = next(f for f in find_fonts() if "Kalam-Regular" in f.name)
    return collate([(prepare(render_text(w, font, size=40), info.preprocess), DEFAULT_CHARSET.encode(w), w)
                    for w in words])


def test_with_a_teacher_words_without_a_mark_learn_its_readings_and_marked_words_their_labels():
    torch.manual_seed(0)
    model, info = new_model(DEFAULT_CHARSET, SPEC)
    model.eval()
    cfg = TrainConfig(out_dir=None, teacher=copy.deepcopy(model).eval(), distill=2.0)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    plain = _batch(["घर", "पानी"], info)
    lp, lengths = model(plain.images, plain.widths)
    assert float(batch_loss(lp, lengths, plain, cfg, ctc, torch.device("cpu"))) == pytest.approx(0.0, abs=1e-5)
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.head.bias.add_(torch.randn_like(other.head.bias))
    lp_o, _ = other(plain.images, plain.widths)
    assert float(batch_loss(lp_o, lengths, plain, cfg, ctc, torch.device("cpu"))) > 0.01  # away from the teacher
    marked = _batch(["घर।", "पानी,"], info)
    lp_m, len_m = model(marked.images, marked.widths)
    per_word = nn.functional.ctc_loss(lp_m, marked.targets, len_m, marked.lengths, reduction="none",
                                      zero_infinity=True) / marked.lengths
    assert float(batch_loss(lp_m, len_m, marked, cfg, ctc, torch.device("cpu"))) == pytest.approx(
        float(per_word.mean()), rel=1e-5)
    no_teacher = TrainConfig(out_dir=None)
    assert float(batch_loss(lp, lengths, plain, no_teacher, ctc, torch.device("cpu"))) == pytest.approx(
        float(ctc(lp, plain.targets, lengths, plain.lengths)))


def _trained_on_one_word(tmp_path, learn: str, **kw) -> tuple[dict, dict, nn.Module]:
    """(weights before, weights after, model) of a small network trained 4 steps on one word."""
    torch.manual_seed(0)
    model, info = new_model(DEFAULT_CHARSET, SPEC)
    before = copy.deepcopy(model.state_dict())
    img = _word("घर")
    if kw.get("distill"):
        kw["teacher"] = copy.deepcopy(model)
    cfg = TrainConfig(out_dir=tmp_path, epochs=1, steps_per_epoch=4, batch_size=4, lr=3e-3, warmup=1, workers=0,
                      checkpoint=False, punctuation=0.5, learn=learn, **kw)
    fit(model, info, [(lambda rng: (img, "घर"), 1.0)], [], cfg)
    return before, model.state_dict(), model


def test_learning_only_the_classifier_leaves_the_rest_as_it_was(tmp_path):
    before, after, _ = _trained_on_one_word(tmp_path, "head", distill=1.0)
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"head"}
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    with pytest.raises(UsageError, match="--distill needs --init"):
        run_train(parser.parse_args(["--distill", "1"]))


def test_learning_the_marks_changes_only_their_rows_of_the_classifier(tmp_path):
    before, after, model = _trained_on_one_word(tmp_path, "marks", weight_decay=0.1)
    assert {k for k in before if not torch.equal(before[k], after[k])} == {"head.weight", "head.bias"}
    rows = sorted({int(i) for i in torch.nonzero(before["head.weight"] != after["head.weight"])[:, 0]})
    assert rows == sorted(DEFAULT_CHARSET.encode(DANDA + COMMA))
    assert not model.head.weight._backward_hooks  # the masks are gone once training ends
