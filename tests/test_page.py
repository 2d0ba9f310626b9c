"""Reading whole pages with a stand-in recognizer that knows each word by its ink tone."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from nepocr_desktop.lib.page.pagexml import read_pagexml
from nepocr_desktop.lib.read.results import Recognition, RecognitionFailure
from nepocr_desktop.page import crop_words, read_page

ROWS = [["नमस्ते", "नेपाल", "किताब"], ["हामी", "विद्यालय", "घर", "पानी"], ["कलम", "बजार"]]
TONE_STEP = 12   # word k is written with gray level k * TONE_STEP


class ToneReader:
    """Returns the word whose ink tone matches the darkest pixels of each crop."""

    def __init__(self, words: list[str], fail: str | None = None):
        self.words, self.fail, self.batches = words, fail, []

    def recognize(self, images):
        self.batches.append(len(images))
        out = []
        for img in images:
            assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 2
            k = min(len(self.words) - 1, round(np.percentile(img, 0.5) / TONE_STEP))
            word = self.words[k]
            out.append(RecognitionFailure(f"cannot read {word}") if word == self.fail else Recognition(word, 0.5 + k / 100))
        return out


def tone_page(render, rows=ROWS, size=36, angle=0.0) -> np.ndarray:
    page = np.full((520, 900), 255, np.uint8)
    k, y = 0, 50
    for row in rows:
        x = 50
        for text in row:
            img = np.asarray(render(text, size=size, ink=k * TONE_STEP))
            ys, xs = np.nonzero(img < 200)
            img = img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
            region = page[y:y + img.shape[0], x:x + img.shape[1]]
            np.minimum(region, img, out=region)
            x += img.shape[1] + 30
            k += 1
        y += 90
    if angle:
        m = cv2.getRotationMatrix2D((450, 260), angle, 1.0)
        page = cv2.warpAffine(page, m, (900, 520), flags=cv2.INTER_NEAREST, borderValue=255)
    return page


WORDS = [w for row in ROWS for w in row]
TEXT = "\n".join(" ".join(row) for row in ROWS)


def test_text_in_reading_order(render_word):
    reader = ToneReader(WORDS)
    result = read_page(reader, tone_page(render_word))
    assert result.text == TEXT
    assert [w.text for w in result.words] == WORDS
    assert [ln.text for ln in result.lines] == [" ".join(r) for r in ROWS]
    assert result.words[1].confidence == pytest.approx(0.51)
    assert all(w.box.width > 20 and w.box.height > 15 for w in result.words)


def test_skewed_page_is_read_from_straightened_crops(render_word):
    result = read_page(ToneReader(WORDS), tone_page(render_word, angle=3.0))
    assert result.page.angle == pytest.approx(3.0, abs=0.7)
    assert result.text == TEXT


def test_batches_respect_batch_size(render_word):
    reader = ToneReader(WORDS)
    read_page(reader, tone_page(render_word), batch_size=4)
    assert reader.batches == [4, 4, 1]
    with pytest.raises(ValueError):
        read_page(reader, tone_page(render_word), batch_size=0)


def test_unread_word_keeps_its_place_and_reason(render_word):
    result = read_page(ToneReader(WORDS, fail="घर"), tone_page(render_word))
    bad = result.lines[1].words[2]
    assert bad.text == "" and bad.confidence == 0.0 and "घर" in bad.error
    assert result.lines[1].text == "हामी विद्यालय पानी"


def test_json_and_pagexml_outputs(render_word, tmp_path):
    path = tmp_path / "page.png"
    cv2.imwrite(str(path), tone_page(render_word))
    result = read_page(ToneReader(WORDS), path)
    data = json.loads(result.to_json())
    assert data["image"] == "page.png" and data["text"] == TEXT
    assert [w["text"] for ln in data["lines"] for w in ln["words"]] == WORDS
    assert all(len(w["box"]) == 4 for ln in data["lines"] for w in ln["words"])
    items = read_pagexml(result.to_pagexml().encode("utf-8"))
    assert [t.text for t in items if t.level == "word"] == WORDS
    assert [t.text for t in items if t.level == "line"] == [" ".join(r) for r in ROWS]
    assert [t.box for t in items if t.level == "word"] == [w.box for w in result.words]


def test_blank_page_reads_nothing_without_calling_the_recognizer():
    reader = ToneReader(WORDS)
    result = read_page(reader, np.full((300, 400), 250, np.uint8))
    assert result.text == "" and result.lines == [] and reader.batches == []


def test_recognizer_returning_too_few_results_is_an_error(render_word):
    class Short:
        def recognize(self, images):
            return [Recognition("x", 1.0)] * (len(images) - 1)

    with pytest.raises(ValueError):
        read_page(Short(), tone_page(render_word))


def test_crops_hold_each_word_with_a_margin(render_word):
    from nepocr_desktop.lib.page.segment import segment_page

    gray = tone_page(render_word)
    page = segment_page(gray)
    crops = crop_words(gray, page)
    assert len(crops) == len(WORDS)
    for crop, word in zip(crops, page.words):
        assert crop.shape[0] > word.box.height and crop.shape[1] > word.box.width
        assert crop[0].min() > 200 and crop[-1].min() > 200   # margins are paper


def test_a_word_cut_alone_is_the_crop_the_page_read(render_word):
    from nepocr_desktop.lib.page.segment import segment_page
    from nepocr_desktop.page import crop_word

    gray = tone_page(render_word, angle=2.0)
    layout = segment_page(gray)
    crops = crop_words(gray, layout)
    for i in (0, 4, len(crops) - 1):
        assert np.array_equal(crop_word(gray, layout, i), crops[i])
    assert [c.shape for c in crop_words(gray, layout, indices=[3, 1])] == [crops[3].shape, crops[1].shape]


def test_a_word_read_alone_agrees_with_the_page(render_word, tiny_model_path):
    """The same crop and the same decoding: a word read alone (as the app does when it is
    clicked) gets the page's reading, although the page reads its words in padded batches."""
    from nepocr_desktop.lib.page.segment import segment_page
    from nepocr_desktop.page import crop_word
    from nepocr_desktop.recognizer import Recognizer

    recognizer = Recognizer(tiny_model_path, device="cpu", beam=4)
    gray = tone_page(render_word, angle=2.0)
    layout = segment_page(gray)
    result = read_page(recognizer, gray, page=layout)
    assert len(result.words) == len(WORDS)
    for i, word in enumerate(result.words):
        alone = recognizer.recognize([crop_word(gray, layout, i)])[0]
        assert alone.text == word.text and alone.confidence == pytest.approx(word.confidence, abs=1e-5)
        assert tuple(a.text for a in alone.alternatives if a.text != alone.text) == word.alternatives


def test_corrections_are_in_the_text_json_and_pagexml(render_word):
    result = read_page(ToneReader(WORDS), tone_page(render_word))
    fixed = result.with_corrections({1: "नेपालै", 2: WORDS[2]})  # the second one is unchanged
    assert result.words[1].text == "नेपाल" and not result.words[1].corrected  # the reading is kept
    assert fixed.words[1].text == "नेपालै" and fixed.words[1].recognized == "नेपाल" and fixed.words[1].corrected
    assert not fixed.words[2].corrected and fixed.words[1].confidence == 1.0
    assert fixed.text.splitlines()[0] == "नमस्ते नेपालै किताब"
    data = json.loads(fixed.to_json())
    word = data["lines"][0]["words"][1]
    assert word["text"] == "नेपालै" and word["corrected"] is True and word["recognized"] == "नेपाल"
    assert "corrected" not in data["lines"][0]["words"][0]
    xml = fixed.to_pagexml()
    items = read_pagexml(xml.encode("utf-8"))
    assert [t.text for t in items if t.level == "word"][1] == "नेपालै"
    assert xml.count('comments="corrected"') == 2  # the word and its line


def test_a_danda_read_apart_from_its_word_is_written_against_it(render_word):
    rows = [["हामी", "घर", "।", "पानी"]]
    result = read_page(ToneReader([w for r in rows for w in r]), tone_page(render_word, rows=rows))
    assert [w.text for w in result.words] == ["हामी", "घर", "।", "पानी"]
    assert result.text == result.lines[0].text == "हामी घर। पानी"
    assert "<Unicode>हामी घर। पानी</Unicode>" in result.to_pagexml()


def test_join_words():
    from nepocr_desktop.lib.page.text import join_words

    assert join_words(["घर", "", "।", "पानी"]) == "घर। पानी"
    assert join_words(["।", "घर", "॥", ",", "x"]) == "। घर॥, x"  # nothing before the first mark to join
    assert join_words(["घर", "१।"]) == "घर १।"  # a number with a danda stays a word of its own


def _bar_page(render_word, bars: int) -> np.ndarray:
    """A line of two words and a hand-drawn upright bar (two for ॥) a word's gap after them, in
    the ink tone of the third word of ``ToneReader``."""
    page = tone_page(render_word, rows=[["हामी", "घर"]])
    ys, xs = np.nonzero(page < 200)
    for k in range(bars):
        x = xs.max() + 24 + 9 * k
        cv2.line(page, (x, ys.min() + 6), (x - 2, ys.max() - 2), 2 * TONE_STEP, 3)
    return page


@pytest.mark.parametrize("bars, mark", [(1, "।"), (2, "॥")])
def test_a_bar_apart_from_its_word_is_read_as_a_danda(render_word, bars, mark):
    reader = ToneReader(["हामी", "घर", "म"])  # म: the bar read alone, as the network reads one
    result = read_page(reader, _bar_page(render_word, bars))
    words = result.words
    assert [w.text for w in words] == ["हामी", "घर", mark]
    assert words[2].alternatives == ("म",)  # the recognizer's reading stays one click away
    assert result.text == "हामी घर" + mark


def test_the_danda_rule_leaves_words_alone():
    from nepocr_desktop.lib.read.punctuation import danda

    word = np.full((40, 60), 255, np.uint8)
    cv2.putText(word, "HW", (2, 32), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 3)
    bar = np.full((40, 14), 255, np.uint8)
    cv2.line(bar, (7, 6), (6, 33), 0, 3)
    assert danda(word, 36.0) is None
    assert danda(bar, 36.0) == "।"
    assert danda(bar, 100.0) is None  # far shorter than the line's words: a speck of a letter, not a danda
    slanted = np.full((40, 30), 255, np.uint8)
    cv2.line(slanted, (4, 6), (24, 33), 0, 3)
    assert danda(slanted, 36.0) is None


class WholeOrPieces:
    """Reads the whole image (the widest asked for) with confidence ``whole``, any crop of it
    with confidence ``piece``."""

    def __init__(self, width: int, whole: float, piece: float):
        self.width, self.whole, self.piece, self.calls = width, whole, piece, []

    def recognize(self, images):
        self.calls.append([img.shape for img in images])
        return [Recognition("सबै", self.whole) if img.shape[1] == self.width else Recognition("स", self.piece)
                for img in images]


def test_read_any_reads_a_word_split_by_the_page_finder_whole(render_word):
    from nepocr_desktop.lib.page.segment import segment_page
    from nepocr_desktop.page import PageResult, read_any

    # two lines of a few words: the page finder sees a small layout
    page = tone_page(render_word, rows=[["नमस्ते", "नेपाल"], ["हामी"]])
    assert 1 < len(segment_page(page).words) <= 12
    sure_whole = WholeOrPieces(page.shape[1], whole=0.9, piece=0.6)
    assert read_any(sure_whole, page) == Recognition("सबै", 0.9)  # surer read whole: one reading
    unsure_whole = WholeOrPieces(page.shape[1], whole=0.2, piece=0.6)
    got = read_any(unsure_whole, page)
    assert isinstance(got, PageResult) and [w.text for w in got.words] == ["स", "स", "स"]
    # a page of many words is not read whole
    big = tone_page(render_word, rows=ROWS + [["घर", "कलम"]])  # four lines
    reader = WholeOrPieces(big.shape[1], whole=0.99, piece=0.1)
    assert isinstance(read_any(reader, big), PageResult)
    assert all(shape[1] != big.shape[1] for call in reader.calls for shape in call)
