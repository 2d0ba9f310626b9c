"""The int8 copy of the network the CPU reads with, and its fall-back to float."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nepocr_desktop.lib.read import quantize
from nepocr_desktop.lib.read.crnn import SPECS
from nepocr_desktop.lib.read.modelio import int8_copy, is_int8, load_model
from nepocr_desktop.lib.read.preprocess import prepare
from nepocr_desktop.paths import bundled_model_path, calibration_path, resources_dir
from nepocr_desktop.recognizer import Recognizer

SAMPLES = sorted((resources_dir() / "samples").glob("*.png"))
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bundled():
    return load_model(bundled_model_path())


@pytest.fixture(scope="module")
def calibration(bundled):
    return quantize.calibration_images(bundled.info.preprocess, calibration_path())


def test_calibration_images_are_shipped_and_shaped_for_the_model(bundled, calibration):
    assert len(calibration) == quantize.CALIBRATION_WORDS
    assert all(a.ndim == 2 and a.shape[0] == bundled.info.preprocess.height for a in calibration)
    assert all(a.max() > 0.5 for a in calibration)  # ink on every one


def test_the_tool_writes_a_calibration_set_the_app_reads(bundled, tmp_path):
    subprocess.run([sys.executable, "tools/make_calibration_set.py", "--out", str(tmp_path / "c.npz")],
                   check=True, capture_output=True, cwd=ROOT)
    made = quantize.calibration_images(bundled.info.preprocess, tmp_path / "c.npz")
    assert len(made) == quantize.CALIBRATION_WORDS and all(a.max() > 0.5 for a in made)
    with np.load(tmp_path / "c.npz") as z, np.load(calibration_path()) as shipped:
        assert sorted(z.files) == sorted(shipped.files)


def test_missing_or_foreign_calibration_file_means_float(bundled, tmp_path):
    with pytest.raises(quantize.QuantizationError, match="cannot be read"):
        quantize.calibration_images(bundled.info.preprocess, tmp_path / "none.npz")
    with open(tmp_path / "f.npz", "wb") as f:
        np.savez(f, word00=np.zeros((4, 4), np.float32))
    with pytest.raises(quantize.QuantizationError, match="does not hold"):
        quantize.calibration_images(bundled.info.preprocess, tmp_path / "f.npz")


def test_int8_copy_of_the_bundled_model_reads_as_the_float_model(bundled, calibration):
    q = quantize.quantize_crnn(bundled.module, bundled.info.spec, bundled.info.charset,
                               bundled.info.preprocess, calibration)
    assert is_int8(q) and not is_int8(bundled.module)
    arrays = [prepare(p, bundled.info.preprocess) for p in SAMPLES]
    batches = quantize._batches(arrays)
    assert quantize._readings(q, batches) == quantize._readings(bundled.module, batches)
    # the float copy is untouched and still trainable
    assert all(p.dtype == torch.float32 for p in bundled.module.parameters())


def test_a_network_of_another_shape_is_refused_and_read_in_float(bundled, calibration):
    with pytest.raises(quantize.QuantizationError, match="not a network of spec"):
        quantize.quantize_crnn(bundled.module, SPECS["small"], bundled.info.charset,
                               bundled.info.preprocess, calibration)
    wrong = type(bundled.info)(bundled.info.charset, bundled.info.preprocess, SPECS["small"], {})
    assert int8_copy(bundled.module, wrong, calibration_path()) is None


def test_a_copy_that_reads_differently_is_not_used(bundled, calibration, monkeypatch):
    monkeypatch.setattr(quantize, "MAX_DISAGREEMENT", -1.0)  # any reading counts as different
    with pytest.raises(quantize.QuantizationError, match="differently"):
        quantize.quantize_crnn(bundled.module, bundled.info.spec, bundled.info.charset,
                               bundled.info.preprocess, calibration)
    assert int8_copy(bundled.module, bundled.info, calibration_path()) is None
    rec = Recognizer.from_loaded(bundled, "cpu")
    assert rec.precision == "float32" and not is_int8(rec._module)


def test_no_int8_engine_means_float(bundled, monkeypatch):
    monkeypatch.setattr(quantize, "int8_engine", lambda: None)
    rec = Recognizer(bundled_model_path(), device="cpu")
    assert rec.precision == "float32"
    assert rec.recognize_one(SAMPLES[0]).text


def test_recognizer_reads_int8_by_default_as_the_float_network_does():
    rec = Recognizer(device="cpu")
    assert rec.precision == "int8"
    floats = Recognizer(device="cpu", int8=False)
    assert floats.precision == "float32"
    assert [r.text for r in rec.recognize(SAMPLES)] == [r.text for r in floats.recognize(SAMPLES)]


def test_the_apps_recognizer_reads_int8_from_the_start():
    from nepocr_desktop.gui.workers import default_factory

    rec = default_factory(None, "cpu", 1, True)
    assert rec.precision == "int8" and rec.lexicon is not None
    assert all(r.text for r in rec.recognize(SAMPLES))


def test_cuda_reads_with_the_module_itself(bundled, monkeypatch):
    moved = []
    monkeypatch.setattr(type(bundled.module), "to", lambda self, device: moved.append(device) or self)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda dev=None: "Test GPU 9000")
    rec = Recognizer.from_loaded(bundled, torch.device("cuda"))
    assert rec._module is bundled.module and rec.precision == "float32" and moved == [torch.device("cuda")]


WORDS = ("नेपाल", "घर", "पानी", "विद्यालय", "किताब", "सरकारले", "हिमाल", "र", "छन्", "स्वास्थ्य")


def test_int8_readings_do_not_depend_on_the_rest_of_the_batch(render_word):
    """40 words read in one call and one by one: the same text, confidences within 1e-4."""
    rec = Recognizer(bundled_model_path(), device="cpu")
    assert rec.precision == "int8"
    rng = np.random.default_rng(3)
    images = []
    for i in range(40):
        img = np.asarray(render_word(WORDS[i % len(WORDS)], size=int(rng.integers(24, 60))))
        noise = rng.normal(0, 12, img.shape)  # each a little different
        images.append(np.clip(img + noise, 0, 255).astype(np.uint8))
    together = rec.recognize(images)
    alone = [rec.recognize([im])[0] for im in images]
    assert [r.text for r in together] == [r.text for r in alone]
    worst = max(abs(a.confidence - b.confidence) for a, b in zip(together, alone))
    assert worst < 1e-4, worst
    pairs = rec.recognize(images[::-1][:20])  # another batch, another order
    assert all(abs(a.confidence - b.confidence) < 1e-4 for a, b in zip(pairs, alone[::-1][:20]))


def _one_by_one_and_together(module, arrays):
    """The largest difference between the log-probabilities of each word read alone and read in
    one batch with the others (over each word's own frames), each with the blank margin the
    recognizer gives it."""

    def batch(items):
        x, widths = quantize.batch(items)
        return np.pad(x, ((0, 0), (0, 0), (0, 0), (0, quantize.RIGHT_MARGIN))), widths

    x, widths = batch(arrays)
    with torch.inference_mode():
        lp, lengths = module(torch.from_numpy(x), torch.from_numpy(widths))
        worst = 0.0
        for j, a in enumerate(arrays):
            xa, wa = batch([a])
            la, _ = module(torch.from_numpy(xa), torch.from_numpy(wa))
            t = int(lengths[j])
            worst = max(worst, float((la[:t, 0] - lp[:t, j]).abs().max()))
    return worst


def test_the_lstm_keeps_half_precision_weights_and_reads_the_batch_at_once(bundled):
    rnn, per_word = quantize._compact_lstm(bundled.module.rnn)
    assert not per_word
    kinds = {w.param.__getstate__()[0][0] for w in rnn._all_weight_values}
    assert kinds == {"quantized_fp16"}
    x = torch.randn(9, 3, bundled.module.rnn.input_size)
    with torch.inference_mode():
        ours, _ = rnn(x)
        ref, _ = bundled.module.rnn(x)
    assert float((ours - ref).abs().max()) < 0.02  # half-precision weights, float arithmetic


def test_without_half_precision_kernels_the_lstm_is_int8_word_by_word(bundled, calibration, monkeypatch):
    import torch.ao.quantization as aq
    real = aq.quantize_dynamic

    def no_half(model, spec=None, dtype=torch.qint8, **kw):
        if dtype == torch.float16:
            raise RuntimeError("no float16 kernels for this engine")
        return real(model, spec, dtype=dtype, **kw)

    monkeypatch.setattr(aq, "quantize_dynamic", no_half)
    assert quantize._compact_lstm(bundled.module.rnn)[1]  # int8, word by word
    q = quantize.quantize_crnn(bundled.module, bundled.info.spec, bundled.info.charset,
                               bundled.info.preprocess, calibration)
    arrays = [prepare(p, bundled.info.preprocess) for p in SAMPLES]
    batches = quantize._batches(arrays)
    assert quantize._readings(q, batches) == quantize._readings(bundled.module, batches)
    assert _one_by_one_and_together(q, arrays) < 1e-4


def test_a_word_reads_the_same_alone_and_in_a_batch_through_the_copy(bundled, calibration):
    q = quantize.quantize_crnn(bundled.module, bundled.info.spec, bundled.info.charset,
                               bundled.info.preprocess, calibration)
    assert _one_by_one_and_together(q, list(calibration[:12])) < 1e-4
