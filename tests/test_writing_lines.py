"""Writing on several lines of the Write tab: the lines are found and read as one line."""

from __future__ import annotations

import numpy as np
import pytest

from nepocr_desktop.lib.read.strokes import (
    LINE_GAP,
    PenStroke,
    for_reading,
    ink_bounds,
    one_line,
    reading_image,
    render_strokes,
    split_lines,
)
from nepocr_desktop.lib.training.strokes import WritingStyle, simulate_writing, trace_strokes


def _box(x0: float, y0: float, x1: float, y1: float, pen: float = 6.0) -> list[PenStroke]:
    """A letter-like mark: a headline, a stem and a bowl between (x0, y0) and (x1, y1)."""
    mid = (y0 + y1) / 2
    return [PenStroke.of([(x0, y0), (x1, y0)], pen),
            PenStroke.of([(x1 - 10, y0), (x1 - 10, y1)], pen),
            PenStroke.of([(x0 + 5, y0 + 10), (x0, mid), (x0 + 10, y1), (x1 - 12, mid)], pen)]


def _line(x0: float, top: float, letters: int, height: float = 90.0) -> list[PenStroke]:
    out: list[PenStroke] = []
    for k in range(letters):
        out += _box(x0 + k * 70, top, x0 + k * 70 + 60, top + height)
    return out


def test_one_line_of_writing_is_one_line_and_laid_out_as_it_is():
    word = _line(60, 100, 4)
    assert split_lines(word) == [word]
    assert one_line(word) is word
    assert np.array_equal(reading_image(word), render_strokes(for_reading(word)))
    assert split_lines([]) == [] and one_line([]) == []
    dot = [PenStroke.of([(50, 50)], 6.0)]
    assert split_lines(dot) == [dot]


def test_signs_above_and_below_and_a_headline_drawn_apart_stay_with_their_line():
    word = _line(60, 120, 3)
    dot = PenStroke.of([(120, 92)], 6.0)                                   # a bindu above the headline
    curl = PenStroke.of([(70, 110), (90, 80), (120, 84), (135, 116)], 5.0)  # a sign's curl above, apart
    below = PenStroke.of([(150, 226), (160, 246), (175, 232)], 5.0)      # a sign below, apart
    headline = PenStroke.of([(50, 100), (280, 100)], 6.0)                # a headline above the letters
    for extra in ([dot], [curl], [below], [headline], [dot, curl, below, headline]):
        writing = word + extra
        assert len(split_lines(writing)) == 1, extra


def test_two_lines_are_found_top_to_bottom_with_their_signs():
    first, second = _line(60, 30, 5), _line(80, 250, 3)
    dot = PenStroke.of([(120, 222)], 6.0)  # a bindu over the second line, nearer to it
    writing = second[:2] + first + [dot] + second[2:]  # the order written does not matter
    lines = split_lines(writing)
    assert [len(line) for line in lines] == [len(first), len(second) + 1]
    assert lines[0] == first and lines[1] == second[:2] + [dot] + second[2:]


def test_three_lines_are_laid_out_in_reading_order():
    lines = [_line(60, 20, 4), _line(60, 160, 2), _line(60, 300, 3)]
    laid = one_line(lines[2] + lines[0] + lines[1])  # written bottom line first
    found = split_lines(lines[2] + lines[0] + lines[1])
    assert found == lines
    boxes = [ink_bounds(laid[:12]), ink_bounds(laid[12:18]), ink_bounds(laid[18:])]
    assert boxes[0][2] < boxes[1][0] and boxes[1][2] < boxes[2][0]  # left to right, top line first
    assert max(b[3] for b in boxes) - min(b[1] for b in boxes) < 100  # one line's height


def test_lines_close_together_are_read_as_before():
    """Bands nearer than a fifth of the tallest one's height are one band: no split."""
    writing = _line(60, 30, 4) + _line(60, 140, 4)  # 14 units apart for bands 96 high
    assert len(split_lines(writing)) == 1
    assert one_line(writing) is writing


def test_the_second_line_follows_the_first_at_its_height():
    first, second = _line(60, 30, 5), _line(80, 250, 3)
    laid = one_line(first + second)
    assert len(laid) == len(first) + len(second)
    a, b = ink_bounds(laid[:len(first)]), ink_bounds(laid[len(first):])
    assert a == ink_bounds(first)                     # the first line stays where it was
    assert abs(b[1] - a[1]) < 1 and abs(b[3] - a[3]) < 1  # the second is level with it
    assert b[0] > a[2]                                # and after it, a space apart
    assert 0.5 * LINE_GAP * 90 < b[0] - a[2] < 2 * LINE_GAP * 90
    image, lone = reading_image(first + second), reading_image(first)
    assert image.shape[0] == lone.shape[0] and image.shape[1] > lone.shape[1]
    assert abs((image < 128).sum() - (lone < 128).sum() - (reading_image(second) < 128).sum()) \
        < 0.02 * (image < 128).sum()  # all of the ink, drawn once


def test_a_long_second_line_widens_the_image_past_the_page():
    first, second = _line(20, 30, 16), _line(20, 250, 16)  # each line nearly the page's width
    image = reading_image(first + second)
    assert image.shape[1] > 2000 and (image[:, -10:] == 255).all()


@pytest.fixture(scope="module")
def bundled():
    from nepocr_desktop.recognizer import Recognizer

    return Recognizer(None, device="cpu", lexicon=True)


def test_words_written_on_two_lines_are_read_as_the_two_words(render_word, bundled):
    def word(text: str, top: float) -> list[PenStroke]:
        gray = np.asarray(render_word(text, size=48))
        strokes = simulate_writing(trace_strokes(gray)[0], gray.shape[0], WritingStyle(pen=5.0, height=130.0))
        x0, y0, _x1, _y1 = ink_bounds(strokes)
        return [PenStroke(s.points - [x0 - 60, y0 - top], s.widths) for s in strokes]

    pairs = [("नेपाल", "सरकार"), ("मेरो", "नाम"), ("राम्रो", "काम")]
    images = []
    for a, b in pairs:
        first = word(a, 30)
        writing = first + word(b, ink_bounds(first)[3] + 50)
        assert len(split_lines(writing)) == 2
        images.append(reading_image(writing))
    got = bundled.recognize_drawings(images)
    assert [g.text for g in got] == [f"{a} {b}" for a, b in pairs]
