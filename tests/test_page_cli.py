"""`nepocr recognize --page`: whole pages in text, JSON and PAGE XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from nepocr_desktop.cli import main

NS = "{http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15}"


@pytest.fixture(scope="module")
def page_png(render_word, tmp_path_factory):
    page = np.full((400, 700), 255, np.uint8)
    for row, words in enumerate([["नेपाल", "घर"], ["पानी", "माया", "किताब"]]):
        x = 40
        for w in words:
            img = np.asarray(render_word(w, size=44))
            h, wd = img.shape
            y = 60 + row * 160
            page[y:y + h, x:x + wd] = np.minimum(page[y:y + h, x:x + wd], img)
            x += wd + 70
    path = tmp_path_factory.mktemp("page") / "page.png"
    Image.fromarray(page).save(path)
    return path


def test_page_text_has_one_line_per_text_line(page_png, tiny_model_path, capsys):
    assert main(["recognize", "--page", str(page_png), "--model", str(tiny_model_path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2


def test_a_blank_page_says_no_writing_was_found(page_png, tiny_model_path, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("L", (700, 400), 250).save(blank)
    assert main(["recognize", "--page", str(blank), str(page_png), "--model", str(tiny_model_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip() == f"nepocr: {blank}: no writing found"  # not the page with words
    assert captured.out.splitlines()[0] == ""
    assert main(["recognize", "--page", "--format", "json", str(blank), "--model", str(tiny_model_path)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["lines"] == [] and captured.err == ""


def test_page_json_keeps_boxes(page_png, tiny_model_path, capsys):
    assert main(["recognize", "--page", "--format", "json", str(page_png), "--model", str(tiny_model_path)]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["path"] == str(page_png)
    words = [w for ln in obj["lines"] for w in ln["words"]]
    assert len(obj["lines"]) == 2 and len(words) == 5


def test_page_xml_has_required_elements(page_png, tiny_model_path, capsys):
    assert main(["recognize", "--page", "--format", "pagexml", str(page_png),
                 "--model", str(tiny_model_path)]) == 0
    root = ET.fromstring(capsys.readouterr().out)
    assert root.tag == NS + "PcGts"
    page = root.find(NS + "Page")
    assert page.get("imageFilename") == "page.png" and page.get("imageWidth") == "700"
    assert len(root.findall(f".//{NS}TextLine")) == 2
    assert len(root.findall(f".//{NS}Word")) == 5


def test_format_without_page_is_an_error(page_png, tiny_model_path, capsys):
    assert main(["recognize", "--format", "json", str(page_png), "--model", str(tiny_model_path)]) == 1
    assert "--page" in capsys.readouterr().err


def test_bad_page_file_gives_error_and_exit_1(tmp_path, page_png, tiny_model_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    code = main(["recognize", "--page", "--format", "json", str(bad), str(page_png), "--model", str(tiny_model_path)])
    assert code == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert "error" in json.loads(lines[0]) and "lines" in json.loads(lines[1])


def test_page_xml_with_transcriptions_imports_as_training_samples(page_png, tiny_model_path, tmp_path, capsys):
    """A PAGE XML folder (e.g. from eScriptorium or Transkribus) becomes one sample per word."""
    import shutil

    from nepocr_desktop.lib.storage.store import SampleStore

    assert main(["recognize", "--page", "--format", "pagexml", str(page_png), "--model", str(tiny_model_path)]) == 0
    xml = capsys.readouterr().out
    # a transcriber's corrections: put the true words in reading order
    truth = iter(["नेपाल", "घर", "पानी", "माया", "किताब"])
    root = ET.fromstring(xml)
    for word in root.iter(NS + "Word"):
        word.find(f"{NS}TextEquiv/{NS}Unicode").text = next(truth)
    folder = tmp_path / "pagexml"
    folder.mkdir()
    shutil.copy(page_png, folder / "page.png")
    (folder / "page.xml").write_bytes(ET.tostring(root, encoding="utf-8"))
    (folder / "broken.xml").write_text("<not-page/>", encoding="utf-8")
    with SampleStore(tmp_path / "store") as store:
        report = store.import_folder(folder)
        assert report.added_count == 5
        assert [s.reason for s in report.skipped] and report.skipped[0].path == "broken.xml"
        labels = sorted(s.label for s in store.list())
        assert labels == sorted(["नेपाल", "घर", "पानी", "माया", "किताब"])
        img = store.image(report.added[0])
        assert 20 < img.shape[0] < 120 and img.shape[1] > 20  # a word crop, not the page


def test_auto_reads_a_page_as_a_page_and_a_word_as_a_word(render_word, tiny_model_path, tmp_path, capsys):
    model = ["--model", str(tiny_model_path)]
    page = np.full((760, 700), 255, np.uint8)  # four lines: more than read_any also reads whole
    for row, words in enumerate([["नेपाल", "घर"], ["पानी", "माया"], ["किताब", "कलम"], ["हामी", "सबै"]]):
        x = 40
        for w in words:
            img = np.asarray(render_word(w, size=44))
            y = 40 + row * 180
            page[y:y + img.shape[0], x:x + img.shape[1]] = np.minimum(page[y:y + img.shape[0], x:x + img.shape[1]], img)
            x += img.shape[1] + 70
    page_png = tmp_path / "page.png"
    Image.fromarray(page).save(page_png)
    word = tmp_path / "word.png"
    render_word("नेपाल", size=44).save(word)
    assert main(["recognize", "--page", str(page_png), *model]) == 0
    page_lines = capsys.readouterr().out.strip().splitlines()
    assert main(["recognize", str(word), *model]) == 0
    word_text = capsys.readouterr().out.strip()
    assert main(["recognize", "--auto", str(page_png), str(word), *model]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{page_png}\t{' '.join(page_lines)}", f"{word}\t{word_text}"]  # one line per image
    assert main(["recognize", "--auto", "--json", str(page_png), str(word), *model]) == 0
    page, single = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert page["kind"] == "page" and page["text"] == "\n".join(page_lines)
    assert len(page["page"]["lines"]) == 4 and {"device", "precision", "confidence", "ms"} <= page.keys()
    assert single["kind"] == "word" and single["text"] == word_text and "graphemes" in single


@pytest.mark.parametrize("flag", ["--page", "--drawings", "--strokes"])
def test_auto_refuses_what_it_decides_itself(page_png, tiny_model_path, flag, capsys):
    assert main(["recognize", "--auto", flag, str(page_png), "--model", str(tiny_model_path)]) == 1
    assert f"leave out {flag}" in capsys.readouterr().err


def test_auto_reports_a_bad_file_and_reads_the_others(page_png, tiny_model_path, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert main(["recognize", "--auto", str(bad), str(page_png), "--model", str(tiny_model_path)]) == 1
    captured = capsys.readouterr()
    assert "bad.png" in captured.err and len(captured.out.splitlines()) == 1
