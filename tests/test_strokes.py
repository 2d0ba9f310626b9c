"""Pen strokes: the canvas renderer, skeleton tracing and simulated pen and mouse writing."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from nepocr_desktop.lib.errors import UsageError
from nepocr_desktop.lib.read.strokes import (
    CROP_MARGIN,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    READING_HEIGHTS,
    READING_PEN,
    PenStroke,
    for_reading,
    reading_image,
    reading_pen,
    render_strokes,
)
from nepocr_desktop.lib.storage.dataset import Sample
from nepocr_desktop.lib.training.sources import RealWords, StrokeWords
from nepocr_desktop.lib.training.strokes import (
    TraceStyle,
    WritingStyle,
    redraw_as_strokes,
    simulate_writing,
    skeleton_paths,
    thin,
    trace_strokes,
)
from nepocr_desktop.training import add_train_arguments, run_train

ROOT = Path(__file__).resolve().parents[1]


def _ink_rows(img: np.ndarray, col: int) -> int:
    return int((img[:, col] < 128).sum())


def test_empty_page_is_white_and_whole():
    img = render_strokes([])
    assert img.shape == (PAGE_HEIGHT, PAGE_WIDTH) and img.dtype == np.uint8 and (img == 255).all()


@pytest.mark.parametrize("width", [2.0, 5.0, 8.0])
def test_line_is_as_thick_as_the_pen_and_cropped_with_margin(width):
    img = render_strokes([PenStroke.of([(100, 200), (400, 200)], width)], crop=True, margin=24)
    # the crop holds the ink plus the margin on each side
    assert abs(img.shape[1] - (300 + width + 2 + 2 * 24)) <= 3
    assert abs(img.shape[0] - (width + 2 + 2 * 24)) <= 3
    mid = img.shape[1] // 2
    assert abs(_ink_rows(img, mid) - width) <= 1
    assert (img[:5] == 255).all() and (img[:, :5] == 255).all()  # white margin


def test_round_caps_and_single_points():
    line = render_strokes([PenStroke.of([(100, 200), (300, 200)], 10.0)], crop=False)
    ink_cols = np.flatnonzero((line < 128).any(axis=0))
    assert 94 <= ink_cols[0] <= 96 and 304 <= ink_cols[-1] <= 306  # the cap reaches half the width past the end
    dot = render_strokes([PenStroke.of([(50, 50)], 9.0)], crop=False)
    ys, xs = np.nonzero(dot < 128)
    assert 7 <= xs.max() - xs.min() + 1 <= 10 and 7 <= ys.max() - ys.min() + 1 <= 10


def test_pressure_widths_change_the_stroke():
    pts = [(100 + 20 * i, 200) for i in range(15)]
    thin_end = np.linspace(2, 12, len(pts))
    img = render_strokes([PenStroke.of(pts, thin_end)], crop=False)
    assert _ink_rows(img, 130) < _ink_rows(img, 370)


def test_the_reader_gets_one_pen_whatever_was_written_with():
    pts = [(100 + 20 * i, 200 + 60 * (i % 3)) for i in range(15)]  # 120 units high with the dot
    thin = PenStroke.of(pts, 2.0)
    pressed = PenStroke.of(pts, np.linspace(2, 14, len(pts)))
    dot = PenStroke.of([(500, 150)], 30.0)
    a, b = reading_image([thin, dot]), reading_image([pressed, dot])
    assert np.array_equal(a, b)
    assert np.array_equal(a, render_strokes([PenStroke.of(pts, READING_PEN), PenStroke.of([(500, 150)], READING_PEN)]))
    # a dash alone: its size cannot be told, the usual pen
    assert abs(_ink_rows(reading_image([PenStroke.of([(100, 200), (400, 200)], 3.0)]), 150) - READING_PEN) <= 1
    assert (reading_image([]) == 255).all()


def _zigzag(height: float) -> list[PenStroke]:
    return [PenStroke.of([(100 + height * i / 4, 100 + height * (i % 2)) for i in range(9)], 5.0)]


@pytest.mark.parametrize("height", [40.0, 60.0, 85.0, 120.0, 200.0, 300.0, 420.0])
def test_the_reading_pen_keeps_its_share_of_the_height_for_small_and_large_writing(height):
    low, high = READING_HEIGHTS
    pen = reading_pen(_zigzag(height))
    if low <= height <= high:
        assert pen == READING_PEN
    else:  # the pen's share of the height of writing at the range's nearer end
        edge = low if height < low else high
        assert pen == pytest.approx(READING_PEN * height / edge)
        assert (pen < READING_PEN) == (height < low)
    assert all(np.all(s.widths == pen) for s in for_reading(_zigzag(height)))


def test_small_writing_is_read_with_a_thinner_pen_and_looks_like_writing_of_a_usual_size():
    # the same word written 50 units high and at the smallest usual height: scaled to one height,
    # their ink is as thick
    small, usual = reading_image(_zigzag(50.0)), reading_image(_zigzag(READING_HEIGHTS[0]))
    ratio = (usual.shape[0] - 2 * CROP_MARGIN) / (small.shape[0] - 2 * CROP_MARGIN)
    thick_small = (small < 128).sum() / (small.shape[0] - 2 * CROP_MARGIN) ** 2
    thick_usual = (usual < 128).sum() / (usual.shape[0] - 2 * CROP_MARGIN) ** 2
    assert ratio == pytest.approx(READING_HEIGHTS[0] / 50.0, rel=0.1)
    assert thick_small == pytest.approx(thick_usual, rel=0.1)
    fixed = render_strokes([PenStroke.of(_zigzag(50.0)[0].points, READING_PEN)])
    assert (small < 128).sum() < 0.9 * (fixed < 128).sum()  # the usual pen blots the small word


def test_curves_pass_near_the_control_points_midpoints():
    # the canvas draws quadratic pieces from midpoint to midpoint: the corner is rounded off
    img = render_strokes([PenStroke.of([(100, 100), (200, 300), (300, 100)], 3.0)], crop=False)
    assert img[300, 200] == 255            # the control point itself is not reached
    # first piece: from (100, 100) towards (200, 300) to the midpoint (250, 200); its lowest point
    # is at t = 2/3: (211.1, 233.3)
    assert (img[231:236, 209:214] < 128).any()
    assert (img[237:, :] == 255).all()


def test_thin_gives_one_pixel_lines():
    mask = np.zeros((40, 80), np.uint8)
    mask[15:25, 10:70] = 1
    skel = thin(mask)
    assert skel.sum() > 30
    assert (skel.sum(axis=0)[15:65] == 1).all()  # one pixel per column along the bar


def test_skeleton_paths_join_at_a_junction():
    skel = np.zeros((30, 30), np.uint8)
    skel[5, 5:26] = 1   # a T: the bar
    skel[5:26, 15] = 1  # and the stem
    paths = skeleton_paths(skel)
    assert len(paths) == 3
    ends = [tuple(np.round(p[i]).astype(int)) for p in paths for i in (0, -1)]
    assert ends.count((15, 5)) == 3  # every branch ends at the junction's centre


def test_a_ring_is_traced_whole_and_closed():
    skel = np.zeros((20, 20), np.uint8)
    skel[5, 5:15] = skel[14, 5:15] = 1
    skel[5:15, 5] = skel[5:15, 14] = 1
    paths = skeleton_paths(skel)
    points = np.concatenate(paths)
    ys, xs = np.nonzero(skel)
    # every skeleton pixel lies on a traced path, and the redrawn ring is one closed shape
    assert all(np.hypot(points[:, 0] - x, points[:, 1] - y).min() <= 0.75 for y, x in zip(ys, xs))
    img = render_strokes([PenStroke.of(p * 10, 4.0) for p in paths], (240, 240), crop=False)
    count, _ = cv2.connectedComponents((img < 128).astype(np.uint8))
    assert count == 2  # background and the ring
    assert img[95, 95] == 255  # its hole stays open


def test_traced_word_redrawn_covers_the_original(render_word):
    gray = np.asarray(render_word("नमस्ते", size=48))
    paths, width = trace_strokes(gray)
    assert paths and 1.0 <= width <= 12
    style = WritingStyle(pen=6.0, height=float(gray.shape[0]))
    strokes = simulate_writing(paths, gray.shape[0], style)
    img = render_strokes(strokes, (PAGE_WIDTH, PAGE_HEIGHT * 2), crop=False)
    # the redrawn centre lines lie on the original ink: compare the two at the same place
    ys, xs = np.nonzero(img < 128)
    ink = gray < 128
    oy, ox = ys - int(PAGE_HEIGHT * 0.36 - 0.25 * style.height), xs - 60
    inside = (oy >= 0) & (oy < gray.shape[0]) & (ox >= 0) & (ox < gray.shape[1])
    assert inside.mean() > 0.95
    dilated = np.zeros_like(ink)
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            dilated |= np.roll(np.roll(ink, dy, 0), dx, 1)
    assert dilated[oy[inside], ox[inside]].mean() > 0.9


def test_redraw_as_strokes_looks_like_canvas_writing(render_word):
    gray = np.asarray(render_word("कमल", size=40))
    rng = np.random.default_rng(0)
    for mouse in (False, True):
        img = redraw_as_strokes(gray, rng, WritingStyle.random(rng, mouse=mouse))
        assert img.dtype == np.uint8 and img.min() < 60
        assert (img[:20] == 255).all()  # the canvas's white crop margin
        assert 0.01 < (img < 128).mean() < 0.4


def test_stroke_source_keeps_the_label(render_word):
    words = [(np.asarray(render_word(w, size=44)), w) for w in ("नेपाल", "घर", "पानी")]
    source = StrokeWords(None, [(lambda rng: words[int(rng.integers(3))], 1.0)])
    rng = np.random.default_rng(3)
    for _ in range(6):
        img, text = source(rng)
        assert text in {"नेपाल", "घर", "पानी"} and img.dtype == np.uint8 and img.min() < 100


def _train_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    return parser.parse_args(list(argv))


def test_fresh_traces_augment_the_real_crop_before_tracing(render_word, tmp_path):
    render_word("कमल", size=40).save(tmp_path / "w.png")
    drawn = []

    class Counted(RealWords):
        def __call__(self, rng):
            drawn.append(1)
            return super().__call__(rng)

    real = Counted([Sample(tmp_path / "w.png", "कमल")], strong=True)
    cached, fresh = StrokeWords(real), StrokeWords(real, fresh=1.0)
    for k in range(3):
        assert cached(np.random.default_rng(k))[1] == "कमल"
    assert list(cached._traced) == [0] and not drawn  # one trace of the crop as it is, reused
    for k in range(3):
        img, text = fresh(np.random.default_rng(k))
        assert text == "कमल" and img.min() < 100
    assert len(drawn) == 3 and not fresh._traced  # an augmented crop each time, traced anew
    with pytest.raises(UsageError, match="fresh-traces"):
        run_train(_train_args("--fresh-traces", "1.5"))


def test_a_reading_pen_share_draws_words_as_the_write_tab_reads_them(render_word, tmp_path):
    render_word("कमल", size=40).save(tmp_path / "w.png")
    real = RealWords([Sample(tmp_path / "w.png", "कमल")])
    styles = []
    for share in (0.0, 1.0):
        words = StrokeWords(real, reading=share)
        styles.append([words._style(np.random.default_rng(k)) for k in range(20)])
    assert any(s.pen != READING_PEN for s in styles[0])
    assert all(s.pen == READING_PEN and s.pressure == 0.0 and s.reading for s in styles[1])
    assert not any(s.reading for s in styles[0])
    img, text = StrokeWords(real, reading=1.0)(np.random.default_rng(0))
    assert text == "कमल" and img.min() < 100
    with pytest.raises(UsageError, match="reading-pen"):
        run_train(_train_args("--reading-pen", "2"))


def _ink_distance(gray: np.ndarray) -> np.ndarray:
    return cv2.distanceTransform((gray >= 128).astype(np.uint8), cv2.DIST_L2, 3)


def test_every_tracer_lays_its_centre_lines_on_the_ink_in_the_images_pixels(render_word):
    gray = np.asarray(render_word("नमस्ते", size=44))
    far = _ink_distance(gray)
    default = trace_strokes(gray)
    same = trace_strokes(gray, style=TraceStyle())
    assert len(default[0]) == len(same[0]) and default[1] == same[1]
    assert all(np.array_equal(a, b) for a, b in zip(default[0], same[0]))
    rng = np.random.default_rng(4)
    styles = [TraceStyle.random(rng) for _ in range(12)] + [TraceStyle(upscale=3.0), TraceStyle(height=32.0)]
    assert {s.upscale > 1 for s in styles} == {True, False} and {s.close for s in styles} == {True, False}
    for style in styles:
        paths, width = trace_strokes(gray, style=style)
        assert paths and 1.0 <= width <= 12, style
        pts = np.concatenate(paths)
        h, w = gray.shape
        assert (pts >= -1).all() and (pts[:, 0] <= w).all() and (pts[:, 1] <= h).all(), style
        ix = np.clip(np.round(pts).astype(int), 0, [w - 1, h - 1])
        # the centre lines run on the ink (at most a pixel or two off), whatever the tracer
        assert np.median(far[ix[:, 1], ix[:, 0]]) <= 1.0 and far[ix[:, 1], ix[:, 0]].max() <= 4.0, style


def test_a_trace_variety_share_traces_with_other_tracers(render_word, tmp_path, monkeypatch):
    from nepocr_desktop.lib.training import sources
    render_word("कमल", size=40).save(tmp_path / "w.png")
    real = RealWords([Sample(tmp_path / "w.png", "कमल")])
    seen = []
    original = sources.redraw_as_strokes

    def spy(img, rng, style=None, paths=None, trace=None):
        seen.append(trace)
        return original(img, rng, style=style, paths=paths, trace=trace)

    monkeypatch.setattr(sources, "redraw_as_strokes", spy)
    for share in (0.0, 1.0):
        seen.clear()
        words = StrokeWords(real, fresh=1.0, trace_variety=share)
        for k in range(6):
            img, text = words(np.random.default_rng(k))
            assert text == "कमल" and img.min() < 100
        assert len(seen) == 6
        assert all(t is None for t in seen) if share == 0 else all(isinstance(t, TraceStyle) for t in seen)
    with pytest.raises(UsageError, match="trace-variety"):
        run_train(_train_args("--trace-variety", "-0.1"))


def test_rendered_words_are_traced_scaled_up_on_request_and_real_crops_as_before(render_word, tmp_path, monkeypatch):
    from nepocr_desktop.lib.training import sources
    render_word("कमल", size=40).save(tmp_path / "w.png")
    real = RealWords([Sample(tmp_path / "w.png", "कमल")])
    rendered = np.asarray(render_word("नमस्ते", size=40).convert("L"))
    seen = []
    original = sources.redraw_as_strokes

    def spy(img, rng, style=None, paths=None, trace=None):
        seen.append((img is rendered, trace))
        return original(img, rng, style=style, paths=paths, trace=trace)

    monkeypatch.setattr(sources, "redraw_as_strokes", spy)
    for upscale in (1.0, 2.0):
        seen.clear()
        words = StrokeWords(real, [(lambda rng: (rendered, "नमस्ते"), 1.0)], fresh=1.0, real_weight=1.0,
                            others_upscale=upscale)
        for k in range(12):
            words(np.random.default_rng(k))
        traces = {is_rendered: {t for r, t in seen if r == is_rendered} for is_rendered in (True, False)}
        assert traces[False] == {None}  # the real crops: the evaluation sets' tracer
        assert traces[True] == ({None} if upscale == 1.0 else {TraceStyle(upscale=2.0)})
    with pytest.raises(UsageError, match="trace-upscale"):
        run_train(_train_args("--trace-upscale", "0.5"))


def test_make_stroke_set_writes_a_readable_folder(render_word, tmp_path):
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    rows = []
    for k, w in enumerate(("नेपाल", "घर")):
        render_word(w, size=40).save(src / "images" / f"{k}.png")
        rows.append(f"images/{k}.png\t{w}\n")
    (src / "labels.tsv").write_text("".join(rows), encoding="utf-8")
    out = tmp_path / "out"
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_stroke_set.py"), str(src), "--out", str(out),
                    "--mouse"], check=True, cwd=ROOT, capture_output=True)
    lines = (out / "labels.tsv").read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[1] for line in lines] == ["नेपाल", "घर"]
    assert all((out / line.split("\t")[0]).stat().st_size > 100 for line in lines)


def test_make_stroke_set_writes_words_at_the_heights_asked_for(render_word, tmp_path):
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    render_word("नेपाल", size=40).save(src / "images" / "0.png")
    (src / "labels.tsv").write_text("images/0.png\tनेपाल\n", encoding="utf-8")
    tool = [sys.executable, str(ROOT / "tools" / "make_stroke_set.py"), str(src), "--reading"]
    heights = []
    for size in (50, 300):
        out = tmp_path / f"h{size}"
        subprocess.run([*tool, "--out", str(out), "--height", str(size), str(size)], check=True, cwd=ROOT,
                       capture_output=True)
        path = (out / "labels.tsv").read_text(encoding="utf-8").split("\t")[0]
        heights.append(cv2.imread(str(out / path), cv2.IMREAD_GRAYSCALE).shape[0] - 2 * CROP_MARGIN)
    # the ink spans a share of the height the word is written at (its blank rows are scaled too), plus the pen
    assert heights[0] <= 50 and heights[1] <= 300 and 4.5 < heights[1] / heights[0] < 6.5
    bad = subprocess.run([*tool, "--out", str(tmp_path / "bad"), "--height", "80", "40"], check=False, cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--height" in bad.stderr and not (tmp_path / "bad").exists()


def test_make_stroke_set_traces_with_another_tracer_on_request(render_word, tmp_path):
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    render_word("नमस्ते", size=36).save(src / "images" / "0.png")
    (src / "labels.tsv").write_text("images/0.png\tनमस्ते\n", encoding="utf-8")
    tool = [sys.executable, str(ROOT / "tools" / "make_stroke_set.py"), str(src), "--reading", "--height", "170", "170"]
    images = []
    for name, extra in (("usual", []), ("other", ["--trace-height", "32", "--epsilon", "1.5", "--no-close"]),
                        ("upscaled", ["--upscale", "3"])):
        subprocess.run([*tool, "--out", str(tmp_path / name), *extra], check=True, cwd=ROOT, capture_output=True)
        images.append(cv2.imread(str(tmp_path / name / "images" / "0000.png"), cv2.IMREAD_GRAYSCALE))
    heights = [im.shape[0] for im in images]
    assert max(heights) - min(heights) <= 4  # the same size on the page (centre lines a pixel or two apart)
    high, wide = max(heights), max(im.shape[1] for im in images)
    usual, *others = (np.pad(im, ((0, high - im.shape[0]), (0, wide - im.shape[1])), constant_values=255) < 128
                      for im in images)
    for other in others:
        assert 0.01 < (usual != other).mean()  # traced otherwise
    for flag, value in (("--trace-height", "0"), ("--upscale", "0.5")):
        bad = subprocess.run([*tool, "--out", str(tmp_path / "bad"), flag, value], check=False, cwd=ROOT,
                             capture_output=True, text=True)
        assert bad.returncode == 2 and flag in bad.stderr and not (tmp_path / "bad").exists()


def test_writing_simulated_as_read_has_the_reading_pen_for_its_size(render_word):
    gray = np.asarray(render_word("नेपाल", size=40).convert("L"))
    paths, _ = trace_strokes(gray)
    for height in (60.0, 170.0, 400.0):
        style = WritingStyle(pen=3.0, pressure=0.8, height=height)
        as_written = simulate_writing(paths, gray.shape[0], style, np.random.default_rng(0))
        as_read = simulate_writing(paths, gray.shape[0], dataclasses.replace(style, reading=True),
                                   np.random.default_rng(0))
        pen = reading_pen(as_written)
        assert all(np.array_equal(a.points, b.points) for a, b in zip(as_written, as_read))
        assert all(np.all(b.widths == pen) for b in as_read) and any(np.any(a.widths != pen) for a in as_written)
