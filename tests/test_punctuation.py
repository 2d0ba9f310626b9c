"""A danda or a comma at the end of a word's image: told by its shape, kept by what the word reads without it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from nepocr_desktop.lib.language.lexicon import Lexicon
from nepocr_desktop.lib.language.personal import PersonalWords
from nepocr_desktop.lib.language.prior import LanguagePrior
from nepocr_desktop.lib.read.punctuation import MARK_CONFIDENCE, keeps_mark, trailing_marks
from nepocr_desktop.paths import bundled_model_path
from nepocr_desktop.recognizer import Recognizer


def trailing_danda(gray: np.ndarray) -> tuple[int, str] | None:
    """The first danda (or double danda) :func:`trailing_marks` offers, if any."""
    return next(((t.cut, t.mark) for t in trailing_marks(gray) if t.mark in "।॥"), None)


def with_bars(word: np.ndarray, bars: int = 1, gap: int = 14, top: int = 8, bottom: int = 2,
              width: int = 30, spacing: int = 9) -> np.ndarray:
    """``word`` (dark ink on white) with ``bars`` upright bars drawn ``gap`` pixels after its ink,
    ``spacing`` apart, from ``top`` below the ink's top to ``bottom`` above its foot, on ``width``
    more columns."""
    img = np.pad(word, ((0, 0), (0, width)), constant_values=255)
    ys, xs = np.nonzero(img < 128)
    for k in range(bars):
        x = int(xs.max()) + gap + spacing * k
        cv2.line(img, (x, int(ys.min()) + top), (x - 1, int(ys.max()) - bottom), 0, 3)
    return img


def with_comma(word: np.ndarray, gap: int = 10, top: float = 0.75, height: float = 0.2, width: int = 30,
               dot: bool = False) -> np.ndarray:
    """``word`` with a comma drawn ``gap`` pixels after its ink: a short stroke curving down to the
    left, its top ``top`` of the way down the ink's height and ``height`` of it tall (a round dot
    there instead with ``dot``)."""
    img = np.pad(word, ((0, 0), (0, width)), constant_values=255)
    ys, xs = np.nonzero(img < 128)
    h = int(ys.max()) - int(ys.min())
    x, y0 = int(xs.max()) + gap, int(ys.min()) + round(top * h)
    if dot:
        cv2.circle(img, (x + 2, y0 + 2), 3, 0, -1)
        return img
    y1 = y0 + round(height * h)
    cv2.polylines(img, [np.array([[x + 2, y0], [x + 3, (y0 + y1) // 2], [x, y1]], np.int32)], False, 0, 3)
    return img


@pytest.fixture(scope="module")
def word(render_word) -> np.ndarray:
    return np.array(render_word("हुन्छ"))


def test_a_bar_after_the_word_is_found_and_the_word_ends_before_it(word):
    xs = np.nonzero(word < 128)[1]
    found = trailing_danda(with_bars(word))
    assert found is not None
    (t,) = trailing_marks(with_bars(word))
    h = np.ptp(np.nonzero(word < 128)[0])
    assert 9 / h <= t.apart <= 13 / h  # the blank before the bar (about 11 pixels), over the word's height
    cut, mark = found
    assert mark == "।"
    assert xs.max() < cut <= xs.max() + 14  # the word's ink is all before the cut, the bar after it
    assert trailing_danda(with_bars(word, bars=2)) == (cut, "॥")


def test_a_large_image_is_looked_at_smaller_and_cut_in_its_own_columns(word):
    small = with_bars(word)
    cut, mark = trailing_danda(small)
    big = cv2.resize(small, (small.shape[1] * 8, small.shape[0] * 8), interpolation=cv2.INTER_NEAREST)
    found = trailing_danda(big)
    assert found is not None and found[1] == mark
    xs = np.nonzero(big < 128)[1]
    bar_left = xs[xs >= cut * 8].min()
    assert (cut - 1) * 8 < found[0] <= bar_left  # between the word's ink and the bar, in the big image's columns


def test_no_danda_without_a_bar_standing_apart(word, render_word):
    assert trailing_danda(word) is None
    assert trailing_danda(np.array(render_word("घरमा"))) is None  # a vowel sign ा joined to the head line
    assert trailing_danda(with_bars(word, gap=-6)) is None  # the bar reaches into the word's columns
    assert trailing_danda(with_bars(word, gap=5)) is None  # right after the last letter: a bar of its own
    assert trailing_danda(with_bars(word, top=0, bottom=28)) is None  # a short bar high up: not below the middle
    edge = with_bars(word, width=16, gap=14)
    edge[:, -3:] = 255
    xs = np.nonzero(edge < 128)[1]
    cut_at_edge = edge[:, : int(xs.max()) + 1]  # the bar's right side is the image's edge
    assert trailing_danda(cut_at_edge) is None


def test_where_two_bars_are_no_double_danda_the_last_is_offered_alone(word):
    xs = np.nonzero(word < 128)[1]
    img = with_bars(word, bars=1, width=80)
    first = int(xs.max()) + 14
    cv2.line(img, (first + 40, 20), (first + 39, 46), 0, 3)  # a second bar far after the first
    ways = trailing_marks(img)
    assert [t.mark for t in ways] == ["।"]
    assert first < ways[0][0] <= first + 40  # the word ends after the first bar, before the second
    pair = with_bars(word, bars=2, spacing=14)
    ways = trailing_marks(pair)
    assert [t.mark for t in ways] == ["॥", "।"]  # the pair first, then the last bar alone
    assert ways[0][0] < ways[1][0] <= ways[0][0] + 14 + 3


def test_a_comma_after_the_word_is_found_and_the_word_ends_before_it(word):
    xs = np.nonzero(word < 128)[1]
    ways = trailing_marks(with_comma(word))
    assert len(ways) == 1 and ways[0][1] == ","
    assert xs.max() < ways[0][0] <= xs.max() + 10
    assert trailing_danda(with_comma(word)) is None
    ys = np.nonzero(word < 128)[0]
    low_bar = with_bars(word, top=round(0.7 * (ys.max() - ys.min())), bottom=-3)  # a straight comma
    assert [t.mark for t in trailing_marks(np.pad(low_bar, ((0, 10), (0, 0)), constant_values=255))] == [","]


def test_no_comma_where_the_mark_is_something_else(word):
    assert trailing_marks(with_comma(word, dot=True)) == []  # a full stop
    assert trailing_marks(with_comma(word, top=0.2)) == []  # high up: a letter's part, a quote
    assert trailing_marks(with_comma(word, height=0.7)) == []  # as tall as a letter
    low = np.pad(word, ((0, 30), (0, 0)), constant_values=255)
    assert trailing_marks(with_comma(low, top=0.85)) != []
    assert trailing_marks(with_comma(low, top=1.1)) == []  # below the word's foot: a vowel sign's hook
    assert trailing_marks(with_comma(word, gap=-8)) == []  # under the word's last letter
    edge = with_comma(word, width=12)
    assert trailing_marks(edge[: np.nonzero(edge < 128)[0].max() + 1]) == []  # cut by the image's foot
    ys, xs = np.nonzero(word < 128)
    top, foot = int(ys.min()), int(ys.max())
    h = foot - top
    broken = np.pad(word, ((0, 0), (0, 30)), constant_values=255)  # a last stroke hanging from the head line,
    x = int(xs.max()) + 12  # its foot broken off just below it, as faint ink breaks it
    cv2.line(broken, (int(xs.max()) - 4, top + 1), (x + 2, top + 1), 0, 3)
    cv2.line(broken, (x, top + 1), (x, top + round(0.6 * h)), 0, 3)
    cv2.line(broken, (x, top + round(0.72 * h)), (x - 1, foot), 0, 3)
    assert all(t.mark != "," for t in trailing_marks(broken))


def test_the_bar_is_kept_as_a_danda_only_where_the_words_say_so():
    known = {"हुन्छ", "चिउरा", "नेपाल"}.__contains__
    assert keeps_mark("हुन्छ", "हुन्छ", known)  # the network passed over the bar
    assert keeps_mark("हुन्छा", "हुन्छ", known)  # read as ा, which makes no word
    assert not keeps_mark("चिउरा", "चिउर", known)  # a detached ा: the word without it is no word
    assert not keeps_mark("नेपाल", "नेपाली", known)  # both known and different: the image decides
    assert keeps_mark("कखग", "कखग", known)  # an unknown word the network read past the bar
    assert not keeps_mark("कखगा", "कखग", known)  # an unknown word, the bar read as ा: no telling
    assert not keeps_mark("कखग", "कखग", known, ",")  # a comma needs a known word
    assert keeps_mark("नेपाल", "नेपाल", known, ",")
    assert not keeps_mark("५००", "५००", known) and not keeps_mark("500", "500", known)  # a bar after digits: a 1
    both = {"चार", "चारा"}.__contains__  # "fodder": a word with the bar read as ा, and without it
    assert not keeps_mark("चारा", "चार", both, "।", apart=0.2)  # close after the word: a detached ा
    assert keeps_mark("चारा", "चार", both, "।", apart=0.35)  # well apart: a danda
    assert not keeps_mark("चारी", "चार", {"चार", "चारी"}.__contains__, "।", apart=0.5)  # not read as ा
    assert not keeps_mark("", "", known)


def test_known_words_of_the_list_and_of_the_user():
    lex = Lexicon(["घर", "हुनु"])
    assert lex.knows("घर") and lex.knows("घरमा") and lex.knows("हुन्छ") and lex.knows("घर, घर")
    assert not lex.knows("घरा") and not lex.knows("१२") and not lex.knows("")
    prior = LanguagePrior(lex, None, user_words=PersonalWords(["रमेश"]))
    assert prior.knows("रमेश") and prior.knows("घर") and not prior.knows("सुरेश")


@pytest.fixture(scope="module")
def bundled() -> Recognizer:
    return Recognizer(bundled_model_path(), device="cpu", beam=8, lexicon=True)


@pytest.mark.parametrize("text", ["नेपाल", "घर"])
def test_the_app_reads_a_danda_after_a_word(bundled, render_word, text):
    plain = np.array(render_word(text))
    alone = bundled.recognize([plain])[0]
    assert bundled.lexicon is not None and bundled.lexicon.knows(alone.text)
    read = bundled.recognize([with_bars(plain)])[0]
    assert read.text == alone.text + "।"
    assert read.chars[-1].char == "।" and read.chars[-1].confidence == MARK_CONFIDENCE
    assert read.graphemes[-1].text == "।" and read.confidence <= MARK_CONFIDENCE
    assert read.alternatives[0].text == read.text
    assert all(a.text for a in read.alternatives) and len(read.alternatives) <= bundled.alternatives


def test_the_app_reads_a_double_danda(bundled, render_word):
    plain = np.array(render_word("नेपाल"))
    assert bundled.recognize([with_bars(plain, bars=2)])[0].text == "नेपाल॥"


def test_without_the_word_list_a_bar_is_left_to_the_network(render_word):
    greedy = Recognizer(bundled_model_path(), device="cpu")
    img = with_bars(np.array(render_word("नेपाल")))
    assert not greedy.recognize([img])[0].text.endswith("।")


@pytest.mark.parametrize("text", ["नेपाल", "घर"])
def test_the_app_reads_a_comma_after_a_word(bundled, render_word, text):
    plain = np.array(render_word(text))
    alone = bundled.recognize([plain])[0]
    read = bundled.recognize([with_comma(plain)])[0]
    assert read.text == alone.text + ","
    assert read.chars[-1].char == "," and read.chars[-1].confidence == MARK_CONFIDENCE
    assert read.alternatives[0].text == read.text
