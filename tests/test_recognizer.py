"""The recognizer: batching, per-item failures, result fields, device selection."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from nepocr_desktop import recognizer as rmod
from nepocr_desktop.lib.language.lexicon import Lexicon
from nepocr_desktop.lib.read.charset import is_well_formed
from nepocr_desktop.lib.read.modelio import ModelError, load_model
from nepocr_desktop.lib.read.preprocess import ImageError
from nepocr_desktop.recognizer import DeviceError, RecognitionFailure, Recognizer, device_label, select_device

WORDS = ["नमस्ते", "घर", "क्षत्रिय", "विद्यालयमा जानुहोस्", "पानी", "नेपाल"]


@pytest.fixture(scope="module")
def rec(tiny_model_path) -> Recognizer:
    return Recognizer(tiny_model_path, device="cpu")


@pytest.fixture(scope="module")
def images(render_word) -> list:
    """Words of different widths, as PIL images, arrays and encoded bytes."""
    imgs: list = [render_word(w) for w in WORDS]
    imgs[1] = np.asarray(imgs[1])
    buf = io.BytesIO()
    imgs[2].save(buf, format="PNG")
    imgs[2] = buf.getvalue()
    return imgs


def test_batch_reads_like_one_by_one(rec, images, monkeypatch):
    batched = [r.text for r in rec.recognize(images)]
    single = [rec.recognize_one(im).text for im in images]
    assert batched == single
    assert len(set(single)) > 2  # the model's readings depend on the image
    monkeypatch.setattr(rmod, "MAX_BATCH", 2)
    assert [r.text for r in rec.recognize(images)] == single


def test_result_fields(rec, images):
    rec.warmup()
    r = rec.recognize_one(images[0])
    assert r.text and r.device == "cpu" and r.ms > 0
    assert "".join(c.char for c in r.chars) == r.text
    assert "".join(g.text for g in r.graphemes) == r.text
    assert r.confidence == pytest.approx(min(c.confidence for c in r.chars))
    assert all(0.0 <= c.confidence <= 1.0 for c in r.chars)
    assert r.alternatives[0].text == r.text
    assert r.text == r.text.strip()


def test_beam_gives_ranked_alternatives(tiny_model_path, images):
    rec = Recognizer(tiny_model_path, device="cpu", beam=6)
    r = rec.recognize_one(images[3])
    texts = [a.text for a in r.alternatives]
    assert 1 <= len(texts) <= 5 and len(set(texts)) == len(texts)
    assert texts[0] == r.text
    assert all(is_well_formed(t) for t in texts[1:])  # no impossible spellings offered
    scores = [a.score for a in r.alternatives]
    assert scores == sorted(scores, reverse=True)


def test_lexicon_raises_beam(tiny_model_path, images):
    rec = Recognizer(tiny_model_path, device="cpu", lexicon=Lexicon(["घर"]))
    assert rec.beam == rmod.LEXICON_BEAM and rec.lexicon is not None
    assert isinstance(rec.recognize_one(images[0]).text, str)
    assert Recognizer(tiny_model_path, device="cpu").lexicon is None


def test_bad_inputs_do_not_stop_the_batch(rec, images, tmp_path, word_image):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image", encoding="utf-8")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(word_image.read_bytes()[:120])
    inputs = [images[0], tmp_path / "missing.png", empty, text, tmp_path, truncated,
              np.zeros((2, 2, 7)), word_image]
    out = rec.recognize(inputs)
    assert len(out) == len(inputs)
    assert not isinstance(out[0], RecognitionFailure) and not isinstance(out[-1], RecognitionFailure)
    for r in out[1:-1]:
        assert isinstance(r, RecognitionFailure)
        assert r.message and "\n" not in r.message
    assert "missing.png" in out[1].message and "empty" in out[2].message
    with pytest.raises(ImageError):
        rec.recognize_one(empty)
    assert rec.recognize([]) == []


def test_concurrent_use(rec, images):
    expected = [r.text for r in rec.recognize(images)]
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: [r.text for r in rec.recognize(images)], range(4)))
    assert all(run == expected for run in runs)


def test_from_loaded_and_properties(tiny_model_path, rec, images):
    other = Recognizer.from_loaded(load_model(tiny_model_path), device="cpu")
    assert other.model_path == tiny_model_path == rec.model_path
    assert other.info.preprocess.height == 32
    assert other.recognize_one(images[0]).text == rec.recognize_one(images[0]).text


def test_missing_model(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        Recognizer(tmp_path / "none.pt", device="cpu")
    with pytest.raises(ValueError):
        Recognizer.from_loaded(None, device="cpu", beam=0)  # type: ignore[arg-type]


def test_select_device_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device("auto") == torch.device("cpu")
    assert select_device("CPU") == torch.device("cpu")
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        select_device("cuda")
    with pytest.raises(DeviceError, match="unknown device"):
        select_device("tpu")
    with pytest.raises(DeviceError):
        Recognizer("whatever.pt", device="cuda")


def test_select_device_with_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda dev=None: "Test GPU 9000")
    assert select_device("auto") == torch.device("cuda")
    assert select_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(DeviceError, match="does not exist"):
        select_device("cuda:3")
    assert device_label(torch.device("cuda")) == "Test GPU 9000"
    assert device_label(torch.device("cpu")) == "cpu"


def test_cpu_float_module_is_optimised_and_reads_the_same(tiny_model_path, images):
    from nepocr_desktop.lib.read.preprocess import batch, prepare

    loaded = load_model(tiny_model_path)
    weights = {k: v.clone() for k, v in loaded.module.state_dict().items()}
    fast = Recognizer.from_loaded(loaded, int8=False)._module  # the float module the CPU reads with
    assert fast is not loaded.module and not list(fast.parameters())  # frozen: weights are constants
    x, widths = batch([prepare(im, loaded.info.preprocess) for im in images])
    with torch.inference_mode():
        a, la = loaded.module(torch.from_numpy(x), torch.from_numpy(widths))
        b, lb = fast(torch.from_numpy(x), torch.from_numpy(widths))
    assert torch.equal(la, lb) and torch.allclose(a, b, atol=1e-4)
    # the loaded module keeps its weights (fine-tuning copies them)
    assert all(torch.equal(v, loaded.module.state_dict()[k]) for k, v in weights.items())
    # a Recognizer reads with the optimised copy
    assert Recognizer.from_loaded(loaded)._module is not loaded.module


@pytest.mark.parametrize("beam", [1, 4])
def test_candra_e_output_reads_as_candrabindu(tiny_model_path, beam):
    """A model trained on labels typed with U+0945 outputs that class; the text carries ँ."""
    rec = Recognizer(tiny_model_path, device="cpu", beam=beam, lexicon=Lexicon(["तँ"]) if beam > 1 else None)
    cs = rec.info.charset
    lp = np.full((4, cs.num_classes), -20.0)
    for t, k in enumerate([cs.chars.index("त") + 1, 0, cs.chars.index("\u0945") + 1, 0]):
        lp[t, k] = 0.0
    r = rec._decode(lp, rec.lexicon)
    assert r.text == "तँ" and [c.char for c in r.chars] == ["त", "ँ"]
    assert r.alternatives[0].text == "तँ"


def test_right_margin_covers_the_bundled_networks_reach(render_word):
    """A word read alone gives the same log-probabilities as beside a much wider one: the
    blank margin reaches as far as the network's last output column looks."""
    from nepocr_desktop.lib.read.preprocess import RIGHT_MARGIN, prepare

    rec = Recognizer(device="cpu", int8=False)  # the bundled model
    word = prepare(render_word("नमस्ते"), rec.info.preprocess)
    # cut to a width whose margin needs no rounding up to WIDTH_STEP: the margin alone is blank
    width = next(w for w in range(word.shape[1] - 20, 0, -4) if (w + RIGHT_MARGIN) % rmod.WIDTH_STEP == 0)
    word = np.ascontiguousarray(word[:, :width])
    wide = prepare(render_word("नमस्ते नमस्ते नमस्ते"), rec.info.preprocess)
    alone = rec._forward([word])[0]
    beside = rec._forward([word, wide])[0]
    assert alone.shape == beside.shape
    assert np.abs(alone - beside).max() < 1e-3
