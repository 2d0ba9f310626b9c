"""The int8 copies kept on disk: used when intact and made under the same key, made again otherwise."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from nepocr_desktop import recognizer as recognizer_module
from nepocr_desktop.lib.read import int8cache, quantize
from nepocr_desktop.lib.read.int8cache import INDEX, CacheKey, Int8Cache
from nepocr_desktop.lib.read.modelio import load_model, save_model
from nepocr_desktop.paths import bundled_model_path, calibration_path, resources_dir
from nepocr_desktop.recognizer import Recognizer

SAMPLES = sorted((resources_dir() / "samples").glob("*.png"))
EXPECTED = ["नमस्ते", "नेपाल"]


class Calls:
    """Counts the loads of the float network and the quantizations."""

    def __init__(self, monkeypatch):
        self.float_loads = self.quantizations = 0
        load, quant = recognizer_module.load_model, recognizer_module.quantize_with_reference

        def counting_load(*a, **k):
            self.float_loads += 1
            return load(*a, **k)

        def counting_quant(*a, **k):
            self.quantizations += 1
            return quant(*a, **k)

        monkeypatch.setattr(recognizer_module, "load_model", counting_load)
        monkeypatch.setattr(recognizer_module, "quantize_with_reference", counting_quant)


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """A cache folder holding the bundled model's int8 copy (made once for this module)."""
    folder = tmp_path_factory.mktemp("int8") / "cache"
    rec = Recognizer(device="cpu", int8_cache=Int8Cache(folder))
    assert rec.precision == "int8"
    return folder


@pytest.fixture
def cache(filled, tmp_path) -> Int8Cache:
    """A copy of the filled folder for one test to change."""
    shutil.copytree(filled, tmp_path / "cache")
    return Int8Cache(tmp_path / "cache")


def _entry(cache: Int8Cache) -> tuple[str, dict]:
    index = json.loads((cache.folder / INDEX).read_text())["entries"]
    assert len(index) == 1
    return next(iter(index.items()))


def _reads(rec: Recognizer) -> list[str]:
    return [r.text for r in rec.recognize(SAMPLES)]


def test_a_cached_copy_is_used_without_loading_the_float_network(cache, monkeypatch):
    calls = Calls(monkeypatch)
    rec = Recognizer(device="cpu", int8_cache=cache)
    assert (calls.float_loads, calls.quantizations) == (0, 0)
    assert rec.precision == "int8" and _reads(rec) == EXPECTED
    assert rec.info.spec and rec.model_path == bundled_model_path()


def test_the_index_records_the_key_the_file_hash_and_the_float_readings(cache):
    entry_id, entry = _entry(cache)
    key = CacheKey.for_files(bundled_model_path(), calibration_path())
    assert entry_id == key.id and entry["key"]["model_sha256"] == int8cache.file_sha256(bundled_model_path())
    assert entry["key"]["torch"] == torch.__version__ and entry["key"]["engine"] == quantize.int8_engine()
    assert entry["key"]["cpu"] == int8cache.cpu_capability() and len(entry["key"]["recipe"]) == 16
    assert entry["sha256"] == int8cache.file_sha256(cache.folder / entry["file"])
    assert len(entry["reference"]) == quantize.CALIBRATION_WORDS


@pytest.mark.parametrize("field", ["torch", "cpu", "engine", "recipe", "model"])
def test_another_key_makes_a_new_copy(cache, monkeypatch, field):
    if field == "torch":
        monkeypatch.setattr(torch, "__version__", "9.9.9")
    elif field == "cpu":
        monkeypatch.setattr(int8cache, "cpu_capability", lambda: "NO_SIMD")
    elif field == "recipe":  # another version of the code that makes the copies
        monkeypatch.setattr(int8cache, "_recipe", lambda: "0123456789abcdef")
    elif field == "engine":
        monkeypatch.setattr(CacheKey, "for_files", classmethod(
            lambda cls, m, c: cls(int8cache.file_sha256(m), int8cache.file_sha256(c), torch.__version__,
                                  int8cache.cpu_capability(), "other-engine", int8cache._recipe())))
    calls = Calls(monkeypatch)
    model = bundled_model_path()
    if field == "model":  # a fine-tuned model: another file, another copy
        model = cache.folder.parent / "mine.pt"
        loaded = load_model(bundled_model_path())
        loaded.info.metadata["finetuned"] = "2026-01-01"
        save_model(loaded.module, loaded.info, model)
    rec = Recognizer(model, device="cpu", int8_cache=cache)
    assert (calls.float_loads, calls.quantizations) == (1, 1)
    assert rec.precision == "int8" and _reads(rec) == EXPECTED
    index = json.loads((cache.folder / INDEX).read_text())["entries"]
    assert len(index) == 2 and len(list(cache.folder.glob("int8-*.pt"))) == 2
    again = Recognizer(model, device="cpu", int8_cache=cache)
    assert (calls.float_loads, calls.quantizations) == (1, 1) and again.precision == "int8"


def test_a_damaged_file_is_not_loaded_and_is_made_again(cache, monkeypatch):
    _, entry = _entry(cache)
    path = cache.folder / entry["file"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    loads = []
    real_load = torch.jit.load
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: loads.append(a[0]) or real_load(*a, **k))
    calls = Calls(monkeypatch)
    rec = Recognizer(device="cpu", int8_cache=cache)
    assert str(path) not in loads  # refused on its hash, before any of its code could run
    assert (calls.float_loads, calls.quantizations) == (1, 1)
    assert rec.precision == "int8" and _reads(rec) == EXPECTED
    _, fresh = _entry(cache)
    assert fresh["sha256"] == int8cache.file_sha256(cache.folder / fresh["file"])


@pytest.mark.parametrize("damage", ["truncated", "foreign", "index", "readings"])
def test_other_damage_means_a_new_copy(cache, monkeypatch, damage):
    entry_id, entry = _entry(cache)
    path = cache.folder / entry["file"]
    if damage == "truncated":  # truncated, with a matching hash: loading fails, not the app
        path.write_bytes(path.read_bytes()[:5000])
        entry["sha256"] = int8cache.file_sha256(path)
    elif damage == "foreign":  # another TorchScript file put in its place with its hash
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))
        entry["sha256"] = int8cache.file_sha256(path)
    elif damage == "readings":  # reads the calibration words otherwise than the float network did
        entry["reference"] = [[1, 2, 3]] * len(entry["reference"])
    if damage == "index":
        (cache.folder / INDEX).write_text("{not json")
    else:
        (cache.folder / INDEX).write_text(json.dumps({"format": int8cache.CACHE_FORMAT,
                                                      "entries": {entry_id: entry}}))
    calls = Calls(monkeypatch)
    rec = Recognizer(device="cpu", int8_cache=cache)
    assert (calls.float_loads, calls.quantizations) == (1, 1)
    assert rec.precision == "int8" and _reads(rec) == EXPECTED
    assert Recognizer(device="cpu", int8_cache=cache).precision == "int8"
    assert (calls.float_loads, calls.quantizations) == (1, 1)  # the new copy is used


def test_no_writable_cache_folder_still_reads_in_int8(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    calls = Calls(monkeypatch)
    for folder in (blocker / "cache", None):
        rec = Recognizer(device="cpu", int8_cache=Int8Cache(folder))
        assert rec.precision == "int8" and _reads(rec) == EXPECTED
    assert (calls.float_loads, calls.quantizations) == (2, 2)
    assert blocker.read_text() == "not a folder"


def test_the_default_folder_is_the_users_cache(monkeypatch, tmp_path):
    from nepocr_desktop import paths

    monkeypatch.delenv("NEPOCR_CACHE_DIR", raising=False)
    monkeypatch.setattr(paths.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.int8_cache_dir() == tmp_path / "xdg" / "nepocr" / "int8"
    monkeypatch.setenv("NEPOCR_CACHE_DIR", str(tmp_path / "mine"))
    assert paths.int8_cache_dir() == tmp_path / "mine" / "int8"


def test_a_network_that_reads_differently_in_int8_is_remembered(tmp_path, monkeypatch):
    monkeypatch.setattr(quantize, "MAX_DISAGREEMENT", -1.0)  # any reading counts as different
    cache = Int8Cache(tmp_path / "cache")
    calls = Calls(monkeypatch)
    assert Recognizer(device="cpu", int8_cache=cache).precision == "float32"
    assert Recognizer(device="cpu", int8_cache=cache).precision == "float32"
    assert calls.quantizations == 1
    assert "differently" in cache.refusal(CacheKey.for_files(bundled_model_path(), calibration_path()))


def test_old_entries_are_pruned(cache, monkeypatch):
    real = int8cache.cpu_capability
    monkeypatch.setattr(int8cache, "MAX_ENTRIES", 1)
    monkeypatch.setattr(int8cache, "cpu_capability", lambda: "NO_SIMD")
    Recognizer(device="cpu", int8_cache=cache)
    index = json.loads((cache.folder / INDEX).read_text())["entries"]
    assert [e["key"]["cpu"] for e in index.values()] == ["NO_SIMD"]
    assert len(list(cache.folder.glob("int8-*.pt"))) == 2  # the other file is too new to delete
    monkeypatch.setattr(int8cache, "cpu_capability", real)
    monkeypatch.setattr(int8cache, "STALE_S", -1.0)
    Recognizer(device="cpu", int8_cache=cache)  # the first key again: made again, the other goes
    index = json.loads((cache.folder / INDEX).read_text())["entries"]
    assert [e["key"]["cpu"] for e in index.values()] == [real()]
    assert len(list(cache.folder.glob("int8-*.pt"))) == 1


def test_loading_reports_its_steps(cache):
    steps = []
    Recognizer(device="cpu", lexicon=True, int8_cache=cache, progress=lambda *a: steps.append(a))
    assert steps == [(1, 3, "network"), (2, 3, "int8 copy"), (3, 3, "language model")]
    steps.clear()
    Recognizer(device="cpu", int8=False, progress=lambda *a: steps.append(a))
    assert steps == [(1, 1, "network")]
