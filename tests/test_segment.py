"""Page segmentation on synthetic pages of rendered Devanagari words with known boxes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from nepocr_desktop.lib.page.binarization import binarize, sauvola
from nepocr_desktop.lib.page.containers import Box, deskew_transform
from nepocr_desktop.lib.page.segment import estimate_skew, segment_page, word_gap_threshold
from nepocr_desktop.lib.read.preprocess import ImageError

LINES = [["नमस्ते", "नेपाल", "किताब", "पानी"],
         ["हामी", "विद्यालय", "जान्छौं", "घर"],
         ["कलम", "सरकार", "बजार"],
         ["रमाइलो", "दिन", "आकाश", "मान्छे", "सडक"]]


def compose(render, lines=LINES, size=36, gap=0.8, pitch=2.2, ink=0, paper=255,
            canvas=(1000, 700)) -> tuple[np.ndarray, list[list[Box]]]:
    """A page with the words of ``lines`` in rows; returns it and the words' ink boxes."""
    w, h = canvas
    page = np.full((h, w), paper, np.uint8)
    boxes: list[list[Box]] = []
    y = int(1.5 * size)
    for row in lines:
        x, row_boxes = int(1.5 * size), []
        for text in row:
            img = np.asarray(render(text, size=size, ink=ink, paper=paper))
            ys, xs = np.nonzero(np.abs(img.astype(int) - paper) > 60)
            img = img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
            ih, iw = img.shape
            region = page[y:y + ih, x:x + iw]
            np.minimum(region, img, out=region) if ink < paper else np.maximum(region, img, out=region)
            row_boxes.append(Box(x, y, x + iw, y + ih))
            x += iw + int(gap * size)
        boxes.append(row_boxes)
        y += int(pitch * size)
    return page, boxes


def matches(found: list[Box], truth: list[Box], iou: float = 0.5) -> int:
    return sum(any(t.iou(f) >= iou for f in found) for t in truth)


def test_words_lines_and_reading_order(render_word):
    page, truth = compose(render_word)
    result = segment_page(page)
    assert len(result.lines) == len(truth)
    assert [len(ln.words) for ln in result.lines] == [len(r) for r in truth]
    for line, row in zip(result.lines, truth):     # same order, each box in place
        for word, box in zip(line.words, row):
            assert word.box.iou(box) >= 0.8
    assert result.angle == 0.0
    assert (result.width, result.height) == (1000, 700)


def test_precision_recall_on_page_with_lighting_noise_and_rules(render_word):
    page, truth = compose(render_word, ink=40)
    h, w = page.shape
    rng = np.random.default_rng(3)
    page = page.astype(np.float32)
    for row in truth:  # a ruled line under every row of words, touching the letters
        y = max(b.y1 for b in row) - 2
        page[y:y + 2, :] = np.minimum(page[y:y + 2, :], 150)
    light = np.linspace(0.55, 1.0, w)[None, :] * np.linspace(0.8, 1.0, h)[:, None]
    page = np.clip(page * light + rng.normal(0, 5, page.shape), 0, 255).astype(np.uint8)
    flat = [b for row in truth for b in row]
    found = [wd.box for wd in segment_page(page).words]
    assert matches(found, flat) / len(flat) >= 0.9            # recall
    assert matches(flat, found) / max(len(found), 1) >= 0.9   # precision


def test_light_ink_on_dark_background(render_word):
    page, truth = compose(render_word, ink=255, paper=20)
    result = segment_page(page)
    assert [len(ln.words) for ln in result.lines] == [len(r) for r in truth]


def test_skewed_page_keeps_lines_and_maps_boxes_back(render_word):
    page, truth = compose(render_word)
    h, w = page.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 4.0, 1.0)
    rotated = cv2.warpAffine(page, m, (w, h), borderValue=255)
    result = segment_page(rotated)
    assert len(result.lines) == len(truth)
    assert result.angle == pytest.approx(4.0, abs=0.8)
    assert [len(ln.words) for ln in result.lines] == [len(r) for r in truth]
    for line, row in zip(result.lines, truth):  # boxes are in the rotated image's coordinates
        for word, box in zip(line.words, row):
            pts = np.array(box.corners(), np.float64) @ m[:, :2].T + m[:, 2]
            moved = Box(*pts.min(axis=0).astype(int), *pts.max(axis=0).astype(int))
            assert word.box.iou(moved) >= 0.6
    straight = result.straighten(rotated)
    b = result.lines[0].words[0].straight_box
    crop = straight[b.y0:b.y1, b.x0:b.x1]
    assert (crop < 128).mean() > 0.1   # the straightened frame holds the ink where the box says


def test_skew_estimate_sign_and_size():
    mask = np.zeros((400, 600), np.uint8)
    for y in range(60, 360, 50):
        mask[y:y + 4, 50:550] = 1
    h, w = mask.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -3.0, 1.0)
    assert estimate_skew(cv2.warpAffine(mask, m, (w, h))) == pytest.approx(-3.0, abs=0.3)
    assert estimate_skew(mask) == 0.0


@pytest.mark.parametrize("page", [
    np.full((800, 600), 255, np.uint8),
    np.full((800, 600), 30, np.uint8),
    np.clip(np.random.default_rng(0).normal(220, 6, (900, 700)), 0, 255).astype(np.uint8),
    (np.linspace(120, 250, 700)[None, :] * np.ones((900, 1))).astype(np.uint8),
])
def test_blank_pages_have_no_lines(page):
    result = segment_page(page)
    assert result.lines == [] and result.words == []


@pytest.mark.parametrize("shape", [(1, 1), (2, 7), (5, 5), (3, 400)])
def test_tiny_images_do_not_crash(shape):
    assert segment_page(np.zeros(shape, np.uint8)).lines == []


def test_single_word_image_is_one_word(render_word, tmp_path):
    img = render_word("विद्यालय", size=60)
    path = tmp_path / "word.png"
    img.save(path)
    for src in (img, path, np.asarray(img), np.dstack([np.asarray(img)] * 3)):
        result = segment_page(src)
        assert len(result.lines) == 1 and len(result.words) == 1
        ys, xs = np.nonzero(np.asarray(img) < 128)
        assert result.words[0].box.iou(Box(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)) >= 0.85


def test_huge_image_is_analysed_small_but_boxes_are_full_size(render_word):
    page, truth = compose(render_word)
    big = cv2.resize(page, None, fx=4, fy=4, interpolation=cv2.INTER_LINEAR)
    result = segment_page(big)
    assert (result.width, result.height) == (4000, 2800)
    found = [w.box for w in result.words]
    scaled = [Box(b.x0 * 4, b.y0 * 4, b.x1 * 4, b.y1 * 4) for row in truth for b in row]
    assert matches(found, scaled, 0.7) == len(scaled)


def test_unreadable_input_raises_image_error(tmp_path):
    with pytest.raises(ImageError):
        segment_page(tmp_path / "missing.png")
    with pytest.raises(ImageError):
        segment_page(np.zeros((0, 5), np.uint8))


def test_sauvola_matches_direct_formula():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (40, 50)).astype(np.float64)
    t = sauvola(img, 7, k=0.3, r=128)
    win = img[10:17, 20:27]
    expected = win.mean() * (1 + 0.3 * (win.std() / 128 - 1))
    assert t.dtype == np.float32 and t[13, 23] == pytest.approx(expected, rel=1e-5)
    # nearly flat bright paper: the variance is a small difference of large float32 numbers
    paper = 250.0 + rng.normal(0, 0.7, (40, 50))
    win = paper[10:17, 20:27]
    expected = win.mean() * (1 + 0.3 * (win.std() / 128 - 1))
    assert sauvola(paper, 7, k=0.3, r=128)[13, 23] == pytest.approx(expected, abs=0.05)


def test_binarize_finds_ink_under_a_shadow():
    page = np.full((300, 400), 235, np.uint8)
    page[:, 200:] = 110                       # shadow over the right half
    page[140:150, 40:160] = 60                # stroke on bright paper
    page[140:150, 240:360] = 20               # stroke in the shadow
    ink = binarize(page)
    assert ink[140:150, 40:160].mean() > 0.9 and ink[140:150, 240:360].mean() > 0.9
    assert ink[:100].mean() < 0.01 and ink[200:, 220:].mean() < 0.01


def test_word_gap_threshold_splits_two_populations():
    gaps = [0.05, 0.08, 0.1, 0.12, 0.06] * 4 + [0.7, 0.8, 0.9, 1.0, 0.75] * 4
    assert 0.2 < word_gap_threshold(gaps) < 0.6
    assert word_gap_threshold([0.1, 0.9]) == pytest.approx(0.35)   # too few gaps: default


def test_deskew_transform_keeps_the_whole_image():
    m, (w, h) = deskew_transform(300, 200, 10.0)
    corners = np.array([[0, 0], [300, 0], [300, 200], [0, 200]], np.float64) @ m[:, :2].T + m[:, 2]
    assert corners.min() >= -1 and corners[:, 0].max() <= w + 1 and corners[:, 1].max() <= h + 1


def test_box_geometry():
    a, b = Box(0, 0, 10, 10), Box(5, 0, 15, 10)
    assert a.iou(b) == pytest.approx(50 / 150)
    assert a.iou(Box(20, 20, 30, 30)) == 0.0
    assert Box(2, 2, 8, 8).expand(5, 1, 10, 9) == Box(0, 1, 10, 9)


def test_pil_and_path_inputs_agree(render_word, tmp_path):
    page, _ = compose(render_word)
    path = tmp_path / "page.png"
    Image.fromarray(page).save(path)
    assert segment_page(path) == segment_page(Image.fromarray(page))


@pytest.mark.parametrize("seed", range(4))
def test_band_wise_filters_match_whole_image_ones(seed):
    """Thresholds and stroke widths computed a band of rows at a time (bounded memory on a
    page photo) equal the whole-image formulas, across band edges."""
    import cv2

    from nepocr_desktop.lib.page import binarization as bz
    from nepocr_desktop.lib.page import segment

    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(2 * bz.BAND_ROWS + 7, 4 * bz.BAND_ROWS)), int(rng.integers(40, 300))
    norm = cv2.GaussianBlur((rng.random((h, w)) * 255).astype(np.float32), (0, 0), 2)
    window = bz._odd(min(61, max(15, min(norm.shape) / 20)))
    t = sauvola(norm, window, 0.2)
    whole = (((norm < t) & (norm < 255.0 * 0.86)) | (norm < 127.0)).astype(np.uint8)
    assert np.array_equal(bz._ink(norm), whole)
    mask = (norm < 120).astype(np.uint8)
    dt = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    ridge = (dt >= cv2.dilate(dt, np.ones((3, 3), np.uint8))) & (dt > 0)
    expected = float(np.clip(2.0 * np.median(dt[ridge]), 1.0, max(1.0, min(mask.shape) / 4)))
    assert segment.stroke_width(mask) == expected
    bands = bz._bands(h, 7)
    assert [y for y0, y1, _a, _b in bands for y in range(y0, y1)] == list(range(h))
    assert all(a == max(0, y0 - 7) and b == min(h, y1 + 7) for y0, y1, a, b in bands)


def test_speck_between_words_joins_neither_and_a_dot_stays_with_its_word(render_word):
    page, truth = compose(render_word, lines=[["नमस्ते", "नेपाल", "संसार"]], gap=0.7, canvas=(700, 160))
    a, b = truth[0][0], truth[0][1]
    x, y = (a.x1 + b.x0) // 2, (a.y0 + a.y1) // 2
    page[y - 2:y + 2, x - 2:x + 2] = 0                       # dust in the gap
    result = segment_page(page)
    assert [len(ln.words) for ln in result.lines] == [3]
    for word, box in zip(result.words, truth[0]):
        assert word.box.iou(box) >= 0.8
    assert result.words[2].box.y0 <= truth[0][2].y0 + 1     # the anusvara on top of संसार is kept
