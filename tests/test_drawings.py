"""Drawings from the Write tab are read with the language prior's weights for drawings."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import nepocr_desktop.recognizer as recognizer_module
from nepocr_desktop.lib.language.prior import DRAWING, LanguagePrior, PriorWeights
from nepocr_desktop.recognizer import Recognizer


def test_the_drawing_prior_changes_only_its_own_weights():
    prior = LanguagePrior(None, None, PriorWeights(user=2.5)).with_user_words(["घर"])
    drawn = prior.for_drawings()
    assert DRAWING and all(getattr(drawn.weights, k) == v for k, v in DRAWING.items())
    assert any(getattr(prior.weights, k) != v for k, v in DRAWING.items())
    assert (drawn.weights.mark, drawn.weights.symbol, drawn.weights.user) == (
        prior.weights.mark, prior.weights.symbol, 2.5)
    assert drawn.user_words is prior.user_words and drawn.bonus("घर", True) > drawn.bonus("घट", True)


@pytest.fixture
def seen(monkeypatch) -> list[LanguagePrior]:
    """The language prior of every beam search the recognizer runs, in order."""
    priors: list[LanguagePrior] = []
    decode = recognizer_module.beam_decode

    def spy(logprobs, beam, prior, **kw):
        priors.append(prior)
        return decode(logprobs, beam, prior, **kw)

    monkeypatch.setattr(recognizer_module, "beam_decode", spy)
    return priors


def test_drawings_are_decoded_with_the_drawing_weights_and_the_users_words(tiny_model_path, seen):
    rec = Recognizer(tiny_model_path, lexicon=True)
    rec.set_user_words(["नेपाल"])
    img = np.full((40, 120), 255, np.uint8)
    img[15:25, 10:110] = 0
    rec.recognize([img])
    rec.recognize_drawings([img, img])
    plain, drawn = seen[0], seen[1]
    assert plain.weights == rec.lexicon.weights and plain.weights.word != DRAWING["word"]
    assert drawn.weights.word == DRAWING["word"] and drawn.weights.letter == DRAWING["letter"]
    assert drawn.user_words is not None and "नेपाल" in drawn.user_words.words
    greedy = Recognizer(tiny_model_path)  # no prior: drawings read as anything else
    assert greedy.recognize_drawings([img])[0].text == greedy.recognize([img])[0].text


def test_cli_reads_drawings_and_says_so(tiny_model_path, tmp_path, render_word):
    render_word("नेपाल", size=40).save(tmp_path / "a.png")
    (tmp_path / "labels.tsv").write_text("a.png\tनेपाल\n", encoding="utf-8")
    run = [sys.executable, "-m", "nepocr_desktop", "eval", str(tmp_path), "--json", "--lexicon",
           "--model", str(tiny_model_path), "--drawings"]
    out = subprocess.run(run, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["drawings"] is True
    page = subprocess.run([sys.executable, "-m", "nepocr_desktop", "recognize", "--page", "--drawings",
                           "--model", str(tiny_model_path), str(tmp_path / "a.png")], capture_output=True, text=True, check=False)
    assert page.returncode != 0 and "--drawings" in page.stderr and "Traceback" not in page.stderr


def _written() -> np.ndarray:
    """A word-like drawing as the Write tab renders it (anti-aliased round pen on white)."""
    from nepocr_desktop.lib.read.strokes import PenStroke, render_strokes

    head = PenStroke.of([(40, 120), (200, 118), (360, 121)], 5.0)
    stems = [PenStroke.of([(x, 120), (x + 6, 200), (x - 20, 230)], 5.0) for x in (90, 170, 260, 330)]
    loop = PenStroke.of([(110, 160), (70, 150), (60, 185), (95, 200), (125, 180)], 5.0)
    return render_strokes([head, *stems, loop])


def test_what_looks_drawn_is_told_from_scans_and_photos():
    from nepocr_desktop.lib.read.preprocess import is_clean_drawing, looks_drawn

    drawn = _written()
    scan = np.where(drawn < 128, 0, 255).astype(np.uint8)  # the same ink, black and white
    rng = np.random.default_rng(0)
    photo = np.clip(drawn.astype(np.float64) * 0.7 + 60 + rng.normal(0, 6, drawn.shape), 0, 255).astype(np.uint8)
    harsh = np.clip(drawn.astype(np.int16) + rng.integers(-12, 13, drawn.shape), 0, 255).astype(np.uint8)
    assert looks_drawn(drawn) and is_clean_drawing(scan) and not looks_drawn(scan)
    assert not looks_drawn(photo) and not looks_drawn(harsh)  # grey paper; noise on every pixel
    assert not looks_drawn(np.full((60, 200), 255, np.uint8))  # nothing written


def test_images_that_look_drawn_are_decoded_as_drawings(tiny_model_path, seen):
    rec = Recognizer(tiny_model_path, lexicon=True)
    drawn = _written()
    scan = np.where(drawn < 128, 0, 255).astype(np.uint8)
    rec.recognize([scan])  # an opened file is read by its look
    rec.recognize([drawn])
    rec.recognize([drawn, scan])  # one batch, each image its own weights
    photo = (rec.lexicon.weights.word, rec.lexicon.weights.letter)
    drawing = (DRAWING["word"], DRAWING["letter"])
    assert photo != drawing
    got = [(p.weights.word, p.weights.letter) for p in seen]
    assert got[:2] == [photo, drawing] and sorted(got[2:]) == sorted([photo, drawing])
