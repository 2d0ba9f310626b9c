"""Pen strokes from a file: the format, its bad forms, and `nepocr recognize --strokes`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nepocr_desktop.cli import main
from nepocr_desktop.lib.errors import NepocrError
from nepocr_desktop.lib.read import strokes_file
from nepocr_desktop.lib.read.strokes import PenStroke, ink_bounds, reading_image
from nepocr_desktop.lib.read.strokes_file import StrokesFileError, parse_strokes, read_strokes, strokes_image
from nepocr_desktop.lib.training.strokes import WritingStyle, simulate_writing, trace_strokes


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_both_forms_are_read_with_and_without_widths(tmp_path):
    points = [[[10, 40], [60, 40.5]], [[50, 40], [50, 90, 3.5]]]
    for data in (points, {"strokes": points}):
        strokes = read_strokes(_write(tmp_path / "s.json", data))
        assert [s.points.tolist() for s in strokes] == [[[10, 40], [60, 40.5]], [[50, 40], [50, 90]]]
        assert strokes[0].widths.tolist() == [5.0, 5.0] and strokes[1].widths.tolist() == [5.0, 3.5]


@pytest.mark.parametrize(("data", "says"), [
    ({"lines": []}, "no list of strokes"),
    ([], "no strokes in it"),
    ([[]], "stroke 1 is not a list of points"),
    ([[[1, 2]], "x"], "stroke 2 is not a list of points"),
    ([[[1, 2, 3, 4]]], "stroke 1 has a point"),
    ([[[1, "a"]]], "stroke 1 has a point"),
    ([[[True, 2]]], "stroke 1 has a point"),
    ([[[1e300, 2]]], "stroke 1 has a point"),
    ([[[1, 2, 0]]], "pen width of 0"),
    ([[[1, 2, -3]]], "pen width of -3"),
])
def test_bad_strokes_say_what_is_wrong(data, says):
    with pytest.raises(StrokesFileError, match=says) as info:
        parse_strokes(data, "f.json")
    assert str(info.value).startswith("f.json: ") and isinstance(info.value, NepocrError)


def test_bad_files_say_what_is_wrong(tmp_path, monkeypatch):
    (tmp_path / "nan.json").write_text("[[[NaN, 2]]]")
    (tmp_path / "text.json").write_text("strokes")
    (tmp_path / "latin1.json").write_bytes(b"[[[1, 2]]] \xe9")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    expected = {"nan.json": "has a point", "text.json": "not valid JSON", "latin1.json": "not valid JSON",
                "deep.json": "not valid JSON", "missing.json": "no such file", ".": "a folder"}
    for name, says in expected.items():
        with pytest.raises(StrokesFileError, match=says):
            read_strokes(tmp_path / name)
    monkeypatch.setattr(strokes_file, "MAX_STROKES", 3)
    with pytest.raises(StrokesFileError, match="more than 3 strokes"):
        read_strokes(_write(tmp_path / "many.json", [[[1, 2]]] * 4))
    monkeypatch.setattr(strokes_file, "MAX_POINTS", 5)
    with pytest.raises(StrokesFileError, match="more than 5 points"):
        read_strokes(_write(tmp_path / "long.json", [[[1, 2]] * 3, [[1, 2]] * 3]))
    monkeypatch.setattr(strokes_file, "MAX_BYTES", 10)
    with pytest.raises(StrokesFileError, match="too large"):
        read_strokes(_write(tmp_path / "big.json", [[[1, 2]] * 3]))


def _word(render_word, text: str, top: float = 30.0) -> list[PenStroke]:
    gray = np.asarray(render_word(text, size=48))
    strokes = simulate_writing(trace_strokes(gray)[0], gray.shape[0], WritingStyle(pen=5.0, height=130.0))
    x0, y0, _x1, _y1 = ink_bounds(strokes)
    return [PenStroke(s.points - [x0 - 60, y0 - top], s.widths) for s in strokes]


def test_writing_in_page_units_is_drawn_as_the_canvas_draws_it(render_word):
    word = _word(render_word, "नेपाल")
    assert np.array_equal(strokes_image(word), reading_image(word))


def test_writing_at_any_scale_or_place_is_drawn_at_the_canvas_size(render_word):
    word = _word(render_word, "नेपाल")
    images = []
    for scale, shift in ((40.0, (-5000.0, 12000.0)), (0.1, (3.0, 3.0))):
        images.append(strokes_image([PenStroke(s.points * scale + shift, s.widths * scale) for s in word]))
    large, small = images
    assert abs(large.shape[0] - small.shape[0]) <= 1 and abs(large.shape[1] - small.shape[1]) <= 1
    rows = np.flatnonzero((large < 128).any(axis=1))
    assert 165 <= rows[-1] - rows[0] <= 190  # the points 170 units high, and the pen


def test_recognize_strokes_reads_them_as_the_write_tab_does(tmp_path, render_word, capsys):
    first = _word(render_word, "नेपाल")
    second = _word(render_word, "सरकार", top=ink_bounds(first)[3] + 50)
    good = _write(tmp_path / "two-lines.json", {"strokes": [[[float(x), float(y)] for x, y in s.points]
                                                            for s in first + second]})
    bad = _write(tmp_path / "bad.json", [[[1, "a"]]])
    code = main(["recognize", "--strokes", "--lexicon", "--device", "cpu", str(good), str(bad)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == [f"{good}\tनेपाल सरकार"]
    assert f"{bad}: stroke 1 has a point" in err and "Traceback" not in err
    code = main(["recognize", "--strokes", "--json", "--device", "cpu", str(good)])
    line = json.loads(capsys.readouterr().out)
    assert code == 0 and line["path"] == str(good) and line["text"] and line["graphemes"]
    assert main(["recognize", "--strokes", "--page", str(good)]) != 0
    assert "--strokes reads pen strokes, not --page" in capsys.readouterr().err
