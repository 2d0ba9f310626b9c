"""Bad labelled folders (eval, finetune, store import): one DatasetError naming the file and
what is wrong; never a hang on a FIFO, never a loop on a symbolic link."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nepocr_desktop.cli import main
from nepocr_desktop.lib.storage.dataset import MAX_LABEL_CHARS, DatasetError, read_dataset
from nepocr_desktop.lib.storage.store import InvalidSampleError, SampleStore
from nepocr_desktop.lib.training.finetune import load_pairs

posix = pytest.mark.skipif(os.name != "posix", reason="FIFOs and symbolic links as on POSIX")


def image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((30, 80), 255, np.uint8)).save(path)
    return path


def refused(folder: Path, *words: str) -> str:
    t0 = time.perf_counter()
    with pytest.raises(DatasetError) as err:
        read_dataset(folder)
    assert time.perf_counter() - t0 < 5
    message = str(err.value)
    assert "\n" not in message and len(message) < 400, message
    for w in words:
        assert w in message, (w, message)
    return message


def test_non_utf8_label_files(tmp_path) -> None:
    tsv = tmp_path / "tsv"
    image(tsv / "a.png")
    (tsv / "labels.tsv").write_bytes("a.png\tघर\n".encode("utf-16"))
    refused(tsv, "labels.tsv", "not UTF-8")
    gt = tmp_path / "gt"
    image(gt / "a.png")
    (gt / "a.gt.txt").write_bytes("घर".encode("cp1252", errors="replace") + b"\xff\xfe")
    refused(gt, "a.gt.txt", "not UTF-8")


def test_label_files_that_are_folders(tmp_path) -> None:
    tsv = tmp_path / "tsv"
    (tsv / "labels.tsv").mkdir(parents=True)
    refused(tsv, "labels.tsv", "is a folder")
    gt = tmp_path / "gt"
    image(gt / "a.png")
    (gt / "a.gt.txt").mkdir()
    refused(gt, "a.gt.txt", "is a folder")


def test_empty_labels_tsv_says_it_has_no_rows(tmp_path) -> None:
    image(tmp_path / "a.png")
    (tmp_path / "labels.tsv").write_text("# only a comment\n\n", encoding="utf-8")
    message = refused(tmp_path, "labels.tsv has no rows")
    assert "no labels.tsv" not in message


def test_nul_byte_absolute_and_parent_paths(tmp_path) -> None:
    image(tmp_path / "a.png")
    for rel, words in (("a\0.png", "NUL"), ("/etc/passwd", "absolute"), ("../a.png", "leaves"),
                       ("images/../../x.png", "leaves"), ("C:\\x.png", "absolute")):
        (tmp_path / "labels.tsv").write_text(f"{rel}\tघर\n", encoding="utf-8")
        refused(tmp_path, "labels.tsv:1", words)
    with pytest.raises(DatasetError, match="NUL"):
        read_dataset(str(tmp_path) + "\0")


@posix
def test_fifo_labels_tsv_does_not_hang(tmp_path) -> None:
    os.mkfifo(tmp_path / "labels.tsv")
    refused(tmp_path, "labels.tsv", "not a regular file")
    gt = tmp_path / "gt"
    image(gt / "a.png")
    os.mkfifo(gt / "a.gt.txt")
    refused(gt, "a.gt.txt", "not a regular file")


@posix
def test_symlink_loops(tmp_path) -> None:
    loop = tmp_path / "loop"
    image(loop / "a.png")
    (loop / "a.gt.txt").write_text("घर", encoding="utf-8")
    (loop / "again").symlink_to(loop)  # a folder linking to itself
    samples = read_dataset(loop)
    assert [s.text for s in samples] == ["घर"]
    tsv = tmp_path / "tsv"
    tsv.mkdir()
    (tsv / "labels.tsv").symlink_to(tsv / "labels.tsv")
    refused(tsv, "labels.tsv", "symbolic link loop")


@posix
def test_users_own_symlinked_images_folder_is_followed(tmp_path) -> None:
    elsewhere = tmp_path / "elsewhere"
    image(elsewhere / "a.png")
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "images").symlink_to(elsewhere)
    (ds / "labels.tsv").write_text("images/a.png\tघर\n", encoding="utf-8")
    samples = read_dataset(ds)
    assert samples[0].path.is_file() and samples[0].text == "घर"
    (ds / "labels.tsv").write_text("images/../../elsewhere/a.png\tघर\n", encoding="utf-8")
    refused(ds, "leaves")


def test_eval_lists_empty_labels_as_skipped(tmp_path, tiny_model_path, capsys) -> None:
    for name in ("a", "b", "c"):
        image(tmp_path / f"{name}.png")
    (tmp_path / "labels.tsv").write_text("a.png\tघर\nb.png\t \nc.png\tपानी\n", encoding="utf-8")
    code = main(["eval", str(tmp_path), "--json", "--model", str(tiny_model_path), "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0
    obj = json.loads(out)
    assert obj["n"] == 2
    assert [s["path"] for s in obj["skipped"]] == [str(tmp_path / "b.png")]
    assert "empty" in obj["skipped"][0]["error"]


def test_overlong_labels_are_refused_by_finetune_and_the_store(tmp_path) -> None:
    for name in ("a", "b", "c"):
        image(tmp_path / f"{name}.png")
    long_label = "क" * (MAX_LABEL_CHARS + 1)
    (tmp_path / "labels.tsv").write_text(f"a.png\tघर\nb.png\t{long_label}\nc.png\t\n", encoding="utf-8")
    pairs, problems = load_pairs(tmp_path)
    assert [t for _, t in pairs] == ["घर"]
    assert len(problems) == 2 and "at most 200" in problems[0] and "empty" in problems[1]
    with SampleStore(tmp_path / "db") as store:
        report = store.import_folder(tmp_path)
        assert report.added_count == 1 and len(report.skipped) == 2
        assert any("at most 200" in s.reason for s in report.skipped)
        with pytest.raises(InvalidSampleError, match="at most 200"):
            store.add(np.zeros((20, 40), np.uint8), long_label)
