"""Bad PAGE files, crafted checkpoints and a damaged or read-only sample store."""

from __future__ import annotations

import os
import pickle
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nepocr_desktop.lib.errors import NepocrError
from nepocr_desktop.lib.page import pagexml
from nepocr_desktop.lib.page.pagexml import PageXmlError, parse_pagexml, training_pairs
from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
from nepocr_desktop.lib.read.crnn import ModelSpec
from nepocr_desktop.lib.storage import store as store_module
from nepocr_desktop.lib.storage.store import CorruptStoreError, SampleStore, StoreWriteError
from nepocr_desktop.lib.system.atomic import atomic_write
from nepocr_desktop.lib.training.train import CheckpointError, TrainConfig, fit, new_model

PAGE = """<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">
 <Page imageFilename="{image}" imageWidth="{width}" imageHeight="100">
  <TextRegion id="r1">{lines}</TextRegion>
 </Page>
</PcGts>
"""
LINE = """<TextLine id="l{i}"><Coords points="{x0},10 {x1},10 {x1},40 {x0},40"/>
 <Word id="w{i}"><Coords points="{x0},10 {x1},10 {x1},40 {x0},40"/><TextEquiv><Unicode>घर</Unicode></TextEquiv></Word>
</TextLine>"""


def page(folder: Path, *, image: str = "page.png", width: str = "200", coords=((10, 60),), name="page.xml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(LINE.format(i=i, x0=a, x1=b) for i, (a, b) in enumerate(coords))
    path = folder / name
    path.write_text(PAGE.format(image=image, width=width, lines=lines), encoding="utf-8")
    if not (folder / "page.png").exists():
        Image.fromarray(np.full((100, 200), 255, np.uint8)).save(folder / "page.png")
    return path


def one_line(message: str, *words: str) -> None:
    assert message and "\n" not in message and len(message) < 400, message
    for w in words:
        assert w in message, (w, message)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e308", "99999999999", "x"])
def test_non_finite_or_huge_coordinates(tmp_path, value) -> None:
    path = page(tmp_path, coords=((10, 60),))
    path.write_text(path.read_text(encoding="utf-8").replace("60,10", f"{value},10", 1), encoding="utf-8")
    with pytest.raises(PageXmlError) as err:
        parse_pagexml(path)
    one_line(str(err.value), "page.xml", value)
    path = page(tmp_path, width=value, name="w.xml")
    with pytest.raises(PageXmlError) as err:
        parse_pagexml(path)
    one_line(str(err.value), "imageWidth")


def test_coordinates_that_do_not_fit_the_image(tmp_path) -> None:
    path = page(tmp_path, width="1")
    with pytest.raises(PageXmlError) as err:
        list(training_pairs(path))
    one_line(str(err.value), "do not fit the image", "200x100")
    assert len(list(training_pairs(page(tmp_path, name="ok.xml")))) == 2  # the line and its word


def test_page_files_are_bounded(tmp_path, monkeypatch) -> None:
    path = page(tmp_path, coords=[(10, 60)] * 30)
    monkeypatch.setattr(pagexml, "MAX_ITEMS", 50)
    with pytest.raises(PageXmlError, match="more than 50 transcribed"):
        parse_pagexml(path)
    monkeypatch.setattr(pagexml, "MAX_PAGE_BYTES", 1000)
    with pytest.raises(PageXmlError, match="too large"):
        parse_pagexml(path)
    with pytest.raises(PageXmlError, match="too large"):
        parse_pagexml(path.read_bytes())


@pytest.mark.parametrize("name", ["../secret.png", "/tmp/secret.png", "sub/../../secret.png"])
def test_page_image_is_looked_up_inside_the_folder_only(tmp_path, name) -> None:
    Image.fromarray(np.zeros((100, 200), np.uint8)).save(tmp_path / "secret.png")
    folder = tmp_path / "pages"
    path = page(folder, image=name)
    (folder / "page.png").unlink()
    with pytest.raises(NepocrError, match="not found"):
        list(training_pairs(path))
    Image.fromarray(np.full((100, 200), 255, np.uint8)).save(folder / "secret.png")  # the bare name inside
    assert list(training_pairs(path))


def test_store_imports_many_words_in_batches(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "pages"
    page(folder, coords=[(10 + 3 * (i % 40), 60 + 3 * (i % 40)) for i in range(120)])
    commits = []
    monkeypatch.setattr(store_module, "IMPORT_BATCH", 50)
    with SampleStore(tmp_path / "db") as store:
        real = store._write

        def counting(action):
            commits.append(action)
            return real(action)

        monkeypatch.setattr(store, "_write", counting)
        report = store.import_folder(folder, source="page")
        assert report.added_count == 120 and commits.count("import the samples") == 3


def test_crafted_checkpoint_gives_a_clean_error(tmp_path) -> None:
    spec = ModelSpec(height=32, channels=(8, 8, 8, 8), double=(False,) * 4, hidden=8, layers=1, dropout=0.0)
    model, info = new_model(DEFAULT_CHARSET, spec)
    cfg = TrainConfig(out_dir=tmp_path, epochs=1, steps_per_epoch=1, batch_size=2, workers=0)

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(tmp_path / "ran"),))

    cases = {
        "pickle": pickle.dumps({"model": Payload()}),
        "torch.save payload": None,
        "text": b"not a checkpoint at all",
        "other dict": None,
    }
    for case, data in cases.items():
        ckpt = tmp_path / "last.ckpt"
        if case == "torch.save payload":
            torch.save({"model": {}, "x": Payload()}, ckpt)
        elif case == "other dict":
            torch.save({"model": {"w": torch.zeros(3)}, "opt": {}, "sched": {}, "step": 1, "epoch": 1,
                        "best": 0.5}, ckpt)
        else:
            ckpt.write_bytes(data)
        with pytest.raises(CheckpointError) as err:
            fit(model, info, [], [], cfg)
        message = str(err.value)
        one_line(message, "last.ckpt", "--no-resume")
        assert "weights_only" not in message and "()" not in message
        assert not (tmp_path / "ran").exists(), case


def _damage_one_image(db: Path, sample_id: int) -> None:
    con = sqlite3.connect(db)
    con.execute("UPDATE samples SET image = ? WHERE id = ?", (b"\x89PNG garbage", sample_id))
    con.commit()
    con.close()


def test_one_damaged_image_does_not_stop_training_pairs(tmp_path) -> None:
    with SampleStore(tmp_path) as store:
        ids = [store.add(np.full((20, 40), 30 * i, np.uint8), "घर") for i in range(4)]
    _damage_one_image(tmp_path / "samples.sqlite3", ids[1])
    with SampleStore(tmp_path) as store:
        pairs = store.training_pairs()
        assert len(pairs) == 3 and [s.path for s in store.skipped] == [f"sample {ids[1]}"]
        out = tmp_path / "export"
        assert store.export_folder(out) == 3 and len(store.skipped) == 1


def test_database_failing_integrity_check_refuses_writes_but_lists_and_exports(tmp_path) -> None:
    db = tmp_path / "samples.sqlite3"
    with SampleStore(db) as store:
        for i in range(40):
            store.add(np.random.default_rng(i).integers(0, 255, (60, 200), dtype=np.uint8), "घर")
    con = sqlite3.connect(db)
    con.execute("PRAGMA writable_schema = ON")  # break the index: the table itself stays intact
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'samples_source'").fetchone()[0]
    con.close()
    data = bytearray(db.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    start = (root - 1) * page_size
    data[start + 8:start + page_size] = b"\x00" * (page_size - 8)
    db.write_bytes(bytes(data))
    with SampleStore(db) as store:
        assert store.damage is not None and not store.integrity_check()
        with pytest.raises(CorruptStoreError) as err:
            store.add(np.zeros((20, 40), np.uint8), "पानी")
        one_line(str(err.value), "damaged", "listed and exported")
        assert len(store.list()) == 40
        assert store.export_folder(tmp_path / "out") == 40


def test_read_only_folder_opens_read_only(tmp_path) -> None:
    with SampleStore(tmp_path) as store:
        store.add(np.zeros((20, 40), np.uint8), "घर")
    with SampleStore(tmp_path, read_only=True) as store:
        assert store.count() == 1 and store.list()[0].label == "घर"
        with pytest.raises(StoreWriteError) as err:
            store.add(np.zeros((20, 40), np.uint8), "पानी")
        one_line(str(err.value), "read-only")
    with SampleStore(tmp_path) as store:
        assert store.count() == 1


def test_leftover_temporary_files_are_removed_at_start(tmp_path) -> None:
    atomic_write(tmp_path / "active.json", lambda tmp: Path(tmp).write_text("{}"))
    old = tmp_path / ".samples.sqlite3.abc123.tmp"
    old.write_bytes(b"half")
    fresh = tmp_path / ".active.json.xyz.tmp"  # perhaps being written right now
    fresh.write_bytes(b"half")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    with SampleStore(tmp_path):
        pass
    assert not old.exists() and fresh.exists() and (tmp_path / "active.json").exists()
