"""Int8 inference on the CPU: the model file stays float; the app quantizes a copy at load.

The convolutions are quantized statically (weights per channel, activations with ranges
measured on calibration images). The LSTM keeps its weights in half precision and computes in
float (dynamic float16), on the whole batch at once (:class:`Int8Reader`): nothing in it is
measured over the batch, so a word reads the same alone or in any batch. (Int8 weights for the
LSTM quantize each input with a range measured on it; measured over a whole batch, that range
made a word's reading depend on the other words of its batch, benchmarks/RESULTS.md "Bad
input". Where this build of torch has no half-precision kernels, as on ARM, the LSTM gets int8
weights and is run one word at a time instead, over that word's frames only.) The projection
and the classifier stay float. A batch reads about 1.5 times as fast as with the int8 LSTM run
word by word, a single word about 0.3 ms slower (benchmarks/RESULTS.md, "Latency and
throughput").

The calibration images are common words (:data:`CALIBRATION_TEXTS`) rendered in the bundled
fonts with the training augmentation, shipped as ``resources/calibration.npz`` (written by
``tools/make_calibration_set.py``), so a fine-tuned model is quantized the same way as the
bundled one. A quantized copy is used
only if it reads its calibration images as the float model does; otherwise, or if the
model is not a network this module knows, the float model is used. The copy is made once
per model and machine and kept in the user's cache folder (:mod:`.int8cache`); this module
makes and checks it.
"""

from __future__ import annotations

import logging
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..system.memory import release_memory
from .charset import Charset
from .crnn import CRNN, ModelSpec, frame_lengths
from .ctc_decoder import greedy_decode
from .metrics import error_rates
from .preprocess import RIGHT_MARGIN, PreprocessConfig, batch, prepare

log = logging.getLogger("nepocr")

CALIBRATION_WORDS = 32  # how many words tools/make_calibration_set.py renders
CALIBRATION_TEXTS = (
    "नेपाल", "काठमाडौं", "विद्यालय", "किताब", "पानी", "घरमा", "आमाबुबा", "सरकारले", "प्रदेश",
    "हिमाल", "विकास", "स्वास्थ्य", "शिक्षक", "मान्छेहरू", "गर्नुहोस्", "भएको", "छन्", "र",
    "कृषि", "अर्थतन्त्र", "ज्ञान", "क्षेत्र", "श्रीमती", "द्वारा", "पहाड", "उहाँ", "ऋषि", "औषधि",
    "ठूलो", "ढोका", "झ्याल", "फूलबारी", "२०८१", "१२३", "साथीहरूलाई", "बिहान", "संविधान", "दुःख",
)
MAX_DISAGREEMENT = 0.03  # CER between the float and the int8 readings of the calibration words


class QuantizationError(Exception):
    """The model cannot be quantized (unknown network, no int8 engine, readings differ)."""


def int8_engine() -> str | None:
    """The quantized-kernel engine for this CPU: x86 (fbgemm/oneDNN), else qnnpack (ARM)."""
    engines = torch.backends.quantized.supported_engines
    for name in ("x86", "fbgemm", "qnnpack"):
        if name in engines:
            return name
    return None


def calibration_images(preprocess: PreprocessConfig, path: Path) -> list[np.ndarray]:
    """The shipped calibration words (``resources/calibration.npz``), preprocessed for a model.

    They are stored rather than rendered at each load: rendering would load the text shaping
    libraries and cost time and memory when the app starts.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            images = [z[k] for k in sorted(z.files)]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise QuantizationError(f"calibration words cannot be read from {path} ({exc})") from None
    if not images or any(a.dtype != np.uint8 or a.ndim != 2 for a in images):
        raise QuantizationError(f"{path} does not hold calibration words")
    return [prepare(a, preprocess) for a in images]


def _batches(arrays: Sequence[np.ndarray], size: int = 4) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of ``size``, all padded to one width: oneDNN caches its kernels (and their
    buffers) per input shape, and one shape keeps that to a few megabytes."""
    width = max(a.shape[1] for a in arrays) + RIGHT_MARGIN
    out = []
    for i in range(0, len(arrays), size):
        x, w = batch(list(arrays[i:i + size]))
        x = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, width - x.shape[3])))
        out.append((torch.from_numpy(x), torch.from_numpy(w)))
    return out


def _readings(module: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> list[tuple[int, ...]]:
    texts = []
    with torch.inference_mode():
        for x, w in batches:
            lp, lengths = module(x, w)
            lp = lp.float().numpy()
            for j, n in enumerate(lengths.tolist()):
                texts.append(tuple(greedy_decode(lp[: int(n), j]).labels))
    return texts


class Int8Reader(nn.Module):
    """A CRNN for inference on the CPU: int8 convolutions, then the float projection, the LSTM
    and the float classifier, all on the batch. ``per_word``: the LSTM (one with int8 weights,
    whose inputs are quantized with ranges measured on them) runs on each word alone, over its
    own frames only, so that no range is measured over the batch. Same inputs and outputs as
    :class:`.crnn.CRNN`."""

    def __init__(self, cnn: nn.Module, proj: nn.Module, rnn: nn.Module, head: nn.Module, hidden: int,
                 per_word: bool = False):
        super().__init__()
        self.cnn, self.proj, self.rnn, self.head = cnn, proj, rnn, head
        self.hidden = hidden
        self.per_word = per_word

    def forward(self, x: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.cnn(x)  # N, C, H/16, W/4
        n, c, h, w = f.shape
        f = self.proj(f.permute(3, 0, 1, 2).reshape(w, n, c * h))  # T, N, hidden
        lengths = frame_lengths(widths, w)
        if self.per_word:
            out = torch.zeros(w, n, 2 * self.hidden)
            for i in range(n):
                t = int(lengths[i])
                o, _ = self.rnn(f[:t, i:i + 1].contiguous())
                out[:t, i:i + 1] = o
        else:
            packed = nn.utils.rnn.pack_padded_sequence(f, lengths, enforce_sorted=False)
            o, _ = self.rnn(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(o, total_length=w)
        return self.head(out).log_softmax(-1), lengths


@dataclass
class Int8Copy:
    """An int8 network and the float network's readings of the calibration words (label ids
    per word), which a later load of the same copy is checked against (:func:`check_readings`)."""

    module: torch.jit.ScriptModule
    reference: list[tuple[int, ...]]


def quantize_crnn(module: nn.Module, spec: ModelSpec, charset: Charset, preprocess: PreprocessConfig,
                  calibration: Sequence[np.ndarray]) -> torch.jit.ScriptModule:
    """An int8 copy of a CRNN (TorchScript or eager), frozen for inference on the CPU,
    calibrated on ``calibration`` (:func:`calibration_images`).

    Raises :class:`QuantizationError` when it cannot be made or reads differently.
    """
    return quantize_with_reference(module, spec, charset, preprocess, calibration).module


def quantize_with_reference(module: nn.Module, spec: ModelSpec, charset: Charset, preprocess: PreprocessConfig,
                            calibration: Sequence[np.ndarray]) -> Int8Copy:
    """:func:`quantize_crnn`, with the float network's readings of the calibration words."""
    engine = int8_engine()
    if engine is None:
        raise QuantizationError("this build of torch has no int8 engine")
    model = CRNN(charset.num_classes, spec)
    try:
        model.load_state_dict(module.state_dict())
    except (RuntimeError, KeyError) as exc:
        raise QuantizationError(f"not a network of spec {spec}: {str(exc).splitlines()[0]}") from None
    model.eval()
    cal = _batches(calibration)
    reference = _readings(model, cal)  # the float network (eager: no TorchScript caches)
    torch.backends.quantized.engine = engine
    import torch.ao.quantization as aq
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notices about the future home of these APIs
        layers = list(model.cnn)
        groups = [[str(i), str(i + 1), str(i + 2)] for i, m in enumerate(layers)
                  if isinstance(m, nn.Conv2d) and i + 2 < len(layers)
                  and isinstance(layers[i + 1], nn.BatchNorm2d) and isinstance(layers[i + 2], nn.ReLU)]
        cnn = nn.Sequential(aq.QuantStub(), aq.fuse_modules(model.cnn, groups), aq.DeQuantStub())
        cnn.qconfig = aq.get_default_qconfig(engine)
        aq.prepare(cnn, inplace=True)
        with torch.inference_mode():
            for x, _ in cal:
                cnn(x)
        model.cnn = aq.convert(cnn, inplace=True)
        rnn, per_word = _compact_lstm(model.rnn)
        reader = Int8Reader(model.cnn, model.proj, rnn, model.head, spec.hidden, per_word).eval()
        scripted = torch.jit.freeze(torch.jit.script(reader).eval())
    ours = _readings(scripted, cal)
    release_memory()
    _compare(ours, reference, charset)
    return Int8Copy(scripted, reference)


def _compact_lstm(rnn: nn.LSTM) -> tuple[nn.Module, bool]:
    """The LSTM with half-precision weights, run on whole batches; where this build of torch
    cannot (no float16 kernels for the engine), with int8 weights, run word by word (True)."""
    import torch.ao.quantization as aq
    try:
        half = aq.quantize_dynamic(nn.Sequential(rnn), {nn.LSTM}, dtype=torch.float16)[0]
        with torch.inference_mode():  # the kernels exist only where they run
            half(torch.zeros(2, 1, rnn.input_size))
        return half, False
    except (RuntimeError, NotImplementedError) as exc:
        log.info("no float16 LSTM here (%s): int8, one word at a time", str(exc).splitlines()[0] if str(exc) else exc)
    return aq.quantize_dynamic(nn.Sequential(rnn), {nn.LSTM}, dtype=torch.qint8)[0], True


def check_readings(module: nn.Module, charset: Charset, calibration: Sequence[np.ndarray],
                   reference: Sequence[Sequence[int]]) -> None:
    """Check that ``module`` (an int8 copy made earlier) reads the calibration words as the
    float network did (``reference``, from :func:`quantize_with_reference`): one pass over
    the 32 words, about a tenth of a second, which also warms the module up.

    Raises :class:`QuantizationError` when it cannot run or reads differently.
    """
    engine = int8_engine()
    if engine is None:
        raise QuantizationError("this build of torch has no int8 engine")
    torch.backends.quantized.engine = engine
    if len(reference) != len(calibration):
        raise QuantizationError(f"{len(reference)} reference readings for {len(calibration)} calibration words")
    try:
        ours = _readings(module, _batches(calibration))  # as when it was made
    except Exception as exc:  # noqa: BLE001 - a module that cannot read is not used
        raise QuantizationError(f"the int8 copy fails a test run ({str(exc).splitlines()[0]})") from None
    _compare(ours, [tuple(r) for r in reference], charset)


def _compare(ours: Sequence[tuple[int, ...]], reference: Sequence[tuple[int, ...]], charset: Charset) -> None:
    chars = charset.shown
    n = len(chars)
    as_text = [("".join(chars[k - 1] if 0 < k <= n else "\ufffd" for k in a),
                "".join(chars[k - 1] if 0 < k <= n else "\ufffd" for k in b))
               for a, b in zip(ours, reference)]
    cer, _ = error_rates(as_text)
    if cer > MAX_DISAGREEMENT:
        raise QuantizationError(f"the int8 copy reads the calibration words differently (CER {cer:.1%})")
