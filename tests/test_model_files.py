"""Model files are read as data: no code in a file ever runs, metadata and weights are checked
against bounds and against a network built by this package (see also test_bad_input.py)."""

from __future__ import annotations

import collections
import io
import json
import math
import pickle
import sys
import time
import types
import zipfile
from pathlib import Path

import pytest
import torch

from nepocr_desktop.cli import json_line, main
from nepocr_desktop.lib.read import archive
from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
from nepocr_desktop.lib.read.crnn import CRNN, ModelSpec
from nepocr_desktop.lib.read.modelio import ModelError, ModelInfo, load_model, read_info, save_model
from nepocr_desktop.lib.read.preprocess import PreprocessConfig
from nepocr_desktop.recognizer import Recognition, Recognizer

ROOT = Path(__file__).resolve().parent.parent
SPEC = ModelSpec(height=32, channels=(8, 12, 16, 16), double=(False, False, False, False),
                 hidden=16, layers=1, dropout=0.0)


class WritesAFile(CRNN):
    """A network whose TorchScript forward creates a file (``torch.from_file``, shared)."""

    def __init__(self, marker: str):
        super().__init__(DEFAULT_CHARSET.num_classes, SPEC)
        self.marker = marker

    def forward(self, x: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = torch.from_file(self.marker, True, 16, dtype=torch.uint8)
        out = torch.zeros(x.shape[3] // 4, x.shape[0], self.num_classes) + t.float().sum()
        return out.log_softmax(-1), widths // 4


class LoopsForever(CRNN):
    """A network whose TorchScript forward never returns."""

    def forward(self, x: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        i = 0
        while i >= 0:
            i += 1
        out = torch.zeros(x.shape[3] // 4, x.shape[0], self.num_classes)
        return out.log_softmax(-1), widths // 4


def info(spec: ModelSpec = SPEC, **meta) -> ModelInfo:
    return ModelInfo(DEFAULT_CHARSET, PreprocessConfig(height=spec.height), spec, meta)


def one_line(message: str, *names: str) -> None:
    assert message and "\n" not in message.strip() and len(message) <= 400, message
    assert "Traceback" not in message and "()" not in message, message
    for name in names:
        assert name in message, (name, message)


def refused(path: Path, *words: str) -> str:
    with pytest.raises(ModelError) as err:
        load_model(path)
    message = str(err.value)
    one_line(message, path.name)
    for w in words:
        assert w in message, (w, message)
    return message


def rewrite_meta(src: Path, dst: Path, edit) -> Path:
    """A copy of ``src`` whose metadata entry is ``edit(json object)`` (or raw bytes/str)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("/extra/nepocr.json"):
                new = edit(json.loads(data))
                data = new if isinstance(new, bytes) else (new if isinstance(new, str) else json.dumps(new)).encode()
            zout.writestr(item, data)
    return dst


def test_forward_that_writes_a_file_is_never_run(tmp_path) -> None:
    marker = tmp_path / "written-by-the-model"
    model = WritesAFile(str(marker))
    path = tmp_path / "writes.pt"
    save_model(model, info(), path)
    sanity = tmp_path / "sanity"  # the scripted forward really writes when TorchScript runs it
    scripted = torch.jit.script(WritesAFile(str(sanity)))
    scripted(torch.zeros(1, 1, 32, 64), torch.tensor([64]))
    assert sanity.exists()
    loaded = load_model(path)
    assert not marker.exists()
    assert type(loaded.module) is CRNN  # our network, the file's weights
    rec = Recognizer(path, device="cpu")
    r = rec.recognize([torch.rand(32, 90).numpy()])[0]
    assert isinstance(r, Recognition) and not marker.exists()
    rec_float = Recognizer(path, device="cpu", int8=False)
    assert isinstance(rec_float.recognize([torch.rand(32, 90).numpy()])[0], Recognition)
    assert not marker.exists()


def test_forward_that_loops_forever_is_never_run(tmp_path) -> None:
    path = tmp_path / "loops.pt"
    save_model(LoopsForever(DEFAULT_CHARSET.num_classes, SPEC), info(), path)
    t0 = time.perf_counter()
    loaded = load_model(path)
    lp, _ = loaded.module(torch.zeros(1, 1, 32, 64), torch.tensor([64]))
    assert lp.shape[-1] == DEFAULT_CHARSET.num_classes
    assert time.perf_counter() - t0 < 10


def test_no_torchscript_loading_of_files_in_the_package() -> None:
    # the one exception: the app's own int8 copies in its cache folder, loaded only after their
    # SHA-256 matches the one recorded when the app wrote them (tests/test_int8cache.py)
    own_cache = ROOT / "nepocr_desktop" / "lib" / "read" / "int8cache.py"
    for py in (ROOT / "nepocr_desktop").rglob("*.py"):
        text = py.read_text(encoding="utf-8")
        if py == own_cache:
            assert text.count("jit.load(") == 1 and "torch.load(" not in text
            assert text.index("digest != entry.get(\"sha256\")") < text.index("jit.load(")
            continue
        assert "jit.load" not in text and "torch.load(" not in text.replace("torch.load(ckpt", ""), py


def test_weights_of_another_shape_are_refused(tmp_path) -> None:
    other = ModelSpec(height=32, channels=(8, 12, 16, 24), double=(False, False, False, False),
                      hidden=16, layers=1, dropout=0.0)
    path = tmp_path / "shapes.pt"
    save_model(CRNN(DEFAULT_CHARSET.num_classes, other), info(), path)  # metadata says SPEC
    refused(path, "do not match", "cnn.12.weight is (24, 16, 3, 3) float32, expected (16, 16, 3, 3)")
    deeper = tmp_path / "layers.pt"
    save_model(CRNN(DEFAULT_CHARSET.num_classes, ModelSpec(**{**SPEC.to_dict(), "layers": 2,
                                                             "channels": (8, 12, 16, 16),
                                                             "double": (False,) * 4})), info(), deeper)
    refused(deeper, "do not match", "unexpected")


def test_output_classes_message_counts_the_blank_consistently(tmp_path) -> None:
    path = tmp_path / "classes.pt"
    save_model(CRNN(DEFAULT_CHARSET.num_classes - 1, SPEC), info(), path)
    n = len(DEFAULT_CHARSET.chars)
    message = refused(path, "does not match")
    assert f"{n} output classes" in message and f"{n} characters, {n + 1} classes with the CTC blank" in message


def test_non_finite_weights_are_refused(tmp_path) -> None:
    model = CRNN(DEFAULT_CHARSET.num_classes, SPEC)
    with torch.no_grad():
        model.head.bias[3] = float("nan")
    path = tmp_path / "nan.pt"
    save_model(model, info(), path)
    refused(path, "not finite")
    torch.manual_seed(0)
    huge = CRNN(DEFAULT_CHARSET.num_classes, SPEC)  # finite weights whose output is not
    with torch.no_grad():
        for m in huge.cnn:
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.fill_(3e38)
    path = tmp_path / "huge.pt"
    save_model(huge, info(), path)
    refused(path, "not finite")


@pytest.mark.parametrize("case,edit,words", [
    ("negative height", lambda m: {**m, "spec": {**m["spec"], "height": -16}}, ["spec.height", "-16"]),
    ("huge height", lambda m: {**m, "spec": {**m["spec"], "height": 4096}}, ["spec.height", "4096"]),
    ("height not a multiple of 16", lambda m: {**m, "spec": {**m["spec"], "height": 40},
                                               "preprocess": {**m["preprocess"], "height": 40}},
     ["multiple of 16"]),
    ("preprocess height differs", lambda m: {**m, "preprocess": {**m["preprocess"], "height": 48}},
     ["preprocess.height"]),
    ("huge channels", lambda m: {**m, "spec": {**m["spec"], "channels": [8, 12, 16, 100000]}},
     ["spec.channels"]),
    ("too many layers", lambda m: {**m, "spec": {**m["spec"], "layers": 64}}, ["spec.layers"]),
    ("huge hidden", lambda m: {**m, "spec": {**m["spec"], "hidden": 10**9}}, ["spec.hidden"]),
    ("height as text", lambda m: {**m, "spec": {**m["spec"], "height": "32"}}, ["spec.height", "whole number"]),
    ("spec as a list", lambda m: {**m, "spec": [32, 8]}, ["spec must be an object", "a list"]),
    ("preprocess as a list", lambda m: {**m, "preprocess": []}, ["preprocess must be an object"]),
    ("metadata as a list", lambda m: {**m, "metadata": ["x"]}, ["metadata must be an object"]),
    ("channels as an object", lambda m: {**m, "spec": {**m["spec"], "channels": {"a": 1}}}, ["spec.channels"]),
    ("name as an object", lambda m: {**m, "metadata": {"name": {"x": 1}}}, ["metadata.name"]),
    ("whole file a list", lambda m: [m], ["must be an object"]),
    ("huge pad", lambda m: {**m, "preprocess": {**m["preprocess"], "pad": 10**8}}, ["preprocess.pad"]),
    ("negative max_width", lambda m: {**m, "preprocess": {**m["preprocess"], "max_width": -5}},
     ["preprocess.max_width"]),
    ("min over max width", lambda m: {**m, "preprocess": {**m["preprocess"], "min_width": 400,
                                                         "max_width": 100}}, ["preprocess.min_width"]),
    ("charset too long", lambda m: {**m, "charset": "".join(map(chr, range(0x4E00, 0x4E00 + 5000)))},
     ["charset has 5000"]),
    ("charset with duplicates", lambda m: {**m, "charset": "कक"}, ["duplicate"]),
    ("not JSON", lambda m: b"\xff\xfe{", ["not valid JSON"]),
    ("deeply nested", lambda m: "[" * 100_000 + "]" * 100_000, ["not valid JSON"]),
    ("NaN in metadata", lambda m: json.dumps({**m, "metadata": {"val_cer": float("nan")}}), ["val_cer"]),
])
def test_invalid_metadata_is_refused_with_a_clear_message(tmp_path, tiny_model_path, case, edit, words) -> None:
    path = rewrite_meta(tiny_model_path, tmp_path / "meta.pt", edit)
    with pytest.raises(ModelError) as err:
        read_info(path)
    one_line(str(err.value), path.name)
    for w in words:
        assert w in str(err.value), (case, str(err.value))
    refused(path, *words)


def test_huge_metadata_entry_is_refused_before_it_is_read(tmp_path, tiny_model_path) -> None:
    path = rewrite_meta(tiny_model_path, tmp_path / "bigmeta.pt",
                        lambda m: json.dumps({**m, "metadata": {"note": "x" * 3_000_000}}))
    refused(path, "too large")


def test_archives_with_too_many_or_too_large_entries_are_refused(tmp_path, tiny_model_path, monkeypatch) -> None:
    many = tmp_path / "many.pt"
    with zipfile.ZipFile(tiny_model_path) as zin, zipfile.ZipFile(many, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename))
        for i in range(archive.MAX_ENTRIES + 10):
            zout.writestr(f"archive/junk/{i}", b"")
    t0 = time.perf_counter()
    refused(many, "too many entries")
    assert time.perf_counter() - t0 < 2
    monkeypatch.setattr(archive, "MAX_ENTRY_BYTES", 4096)
    refused(tiny_model_path, "too large")  # its largest storage is over 4 kB
    monkeypatch.undo()
    bomb = tmp_path / "bomb.pt"  # 200 MB of zeros deflated to a few hundred kB
    with zipfile.ZipFile(tiny_model_path) as zin, zipfile.ZipFile(bomb, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename))
        with zout.open(zipfile.ZipInfo("archive/data/999"), "w", force_zip64=True) as f:
            for _ in range(200):
                f.write(bytes(1_000_000))
    monkeypatch.setattr(archive, "MAX_ENTRY_BYTES", 100_000_000)
    refused(bomb, "too large")


def _fake_module(name: str) -> type:
    sys.modules.setdefault("__torch__", types.ModuleType("__torch__"))
    mod = types.ModuleType(f"__torch__.{name}")
    cls = type("Net", (), {"__module__": mod.__name__})
    cls.__qualname__ = "Net"
    mod.Net = cls
    sys.modules[mod.__name__] = mod
    return cls


def crafted_weights(tmp_path: Path, tiny_model_path: Path, tensor_args: tuple, numel: int = 4,
                    extra: object = None) -> Path:
    """The tiny model with its data.pkl replaced by a crafted pickle of one tensor."""
    net = _fake_module("crafted")

    class Storage:
        pass

    storage = Storage()

    class Tensor:
        def __reduce__(self):
            return (torch._utils._rebuild_tensor_v2, (storage, *tensor_args, False, collections.OrderedDict()))

    class Module:
        def __reduce__(self):
            state = {"training": False, "weight": Tensor()}
            if extra is not None:
                state["x"] = extra
            return (net, (), state)

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", "cpu", numel) if obj is storage else None

    buf = io.BytesIO()
    P(buf, protocol=2).dump(Module())
    path = tmp_path / "crafted.pt"
    with zipfile.ZipFile(tiny_model_path) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, buf.getvalue() if item.filename.endswith("/data.pkl") else zin.read(item.filename))
    return path


def test_crafted_tensor_views_beyond_their_data_are_refused(tmp_path, tiny_model_path) -> None:
    refused(crafted_weights(tmp_path, tiny_model_path, (0, (2, 2), (3, 1))), "past its data")
    refused(crafted_weights(tmp_path, tiny_model_path, (0, (10**6,), (1,))), "invalid dimensions")
    refused(crafted_weights(tmp_path, tiny_model_path, (2**40, (1,), (1,))), "invalid dimensions")
    refused(crafted_weights(tmp_path, tiny_model_path, (0, (2, 2), (-1, 1))), "invalid dimensions")
    refused(crafted_weights(tmp_path, tiny_model_path, (0, (4,), (1,)), numel=10**8), "truncated")
    # a well-formed tensor, but not the network its metadata describes
    refused(crafted_weights(tmp_path, tiny_model_path, (0, (2, 2), (2, 1))), "do not match")


def test_pickled_callables_other_than_tensor_rebuilding_are_refused(tmp_path, tiny_model_path) -> None:
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (print, (str(marker),))

    message = refused(crafted_weights(tmp_path, tiny_model_path, (0, (4,), (1,)), extra=Payload()),
                      "not a nepocr model")
    assert "print" in message


def test_bundled_model_is_read_as_data_and_matches_its_weights() -> None:
    loaded = load_model(ROOT / "model" / "nepocr.pt")
    assert type(loaded.module) is CRNN
    assert all(math.isfinite(float(p.abs().max())) for p in loaded.module.parameters())


def test_json_output_never_holds_nan_or_infinity(tiny_model_path, word_image, capsys, monkeypatch) -> None:
    assert json_line({"a": float("nan"), "b": [float("inf"), 1.5]}) == '{"a": null, "b": [null, 1.5]}'
    real = Recognizer.recognize

    def nan_confidence(self, images):
        out = real(self, images)
        for r in out:
            object.__setattr__(r, "confidence", float("nan"))
        return out

    monkeypatch.setattr(Recognizer, "recognize", nan_confidence)
    code = main(["recognize", str(word_image), "--json", "--model", str(tiny_model_path), "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0
    obj = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in JSON output"))
    assert obj["confidence"] is None
