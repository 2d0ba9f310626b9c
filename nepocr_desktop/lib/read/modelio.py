"""All model file I/O: save and load self-describing TorchScript models.

A model file is a TorchScript archive (``torch.jit.save``) carrying ``nepocr.json`` in its
extra files: format version, charset, preprocessing, architecture spec and training
metadata. Files are written to a temporary name and renamed atomically. Loading never
unpickles arbitrary objects (TorchScript archives hold code and tensors only) and checks
the metadata and one forward pass before the model is used.
"""

from __future__ import annotations

import io
import json
import logging
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import NepocrError
from ..system.atomic import atomic_write
from .charset import Charset
from .crnn import CRNN, ModelSpec
from .preprocess import PreprocessConfig

FORMAT = "nepocr-crnn-ctc"
FORMAT_VERSION = 1
META_NAME = "nepocr.json"

log = logging.getLogger("nepocr")


class ModelError(NepocrError):
    """A model file that is missing, damaged or not a nepocr model; the message is for users."""


@dataclass
class ModelInfo:
    charset: Charset
    preprocess: PreprocessConfig
    spec: ModelSpec
    metadata: dict = field(default_factory=dict)  # training facts: data, scores, base model, date

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT, "version": FORMAT_VERSION,
            "charset": "".join(self.charset.chars),
            "preprocess": self.preprocess.to_dict(),
            "spec": self.spec.to_dict(),
            "metadata": self.metadata,
        }, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelInfo:
        obj = json.loads(text)
        if obj.get("format") != FORMAT:
            raise ModelError("not a nepocr model (unknown format)")
        if int(obj.get("version", 0)) > FORMAT_VERSION:
            raise ModelError(f"model format version {obj.get('version')} is newer than this app supports")
        return cls(Charset(tuple(obj["charset"])), PreprocessConfig.from_dict(obj["preprocess"]),
                   ModelSpec.from_dict(obj["spec"]), obj.get("metadata", {}))


@dataclass
class LoadedModel:
    module: torch.jit.ScriptModule
    info: ModelInfo
    path: str


def save_model(model: torch.nn.Module, info: ModelInfo, path: str | os.PathLike) -> None:
    """Script (if needed) and save ``model`` with its metadata, atomically."""
    was_training = model.training
    model.eval()
    try:
        scripted = model if isinstance(model, torch.jit.ScriptModule) else torch.jit.script(model)
        buf = io.BytesIO()
        torch.jit.save(scripted, buf, _extra_files={META_NAME: info.to_json()})
        data = buf.getvalue()
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
    finally:
        model.train(was_training)


def read_info(path: str | os.PathLike) -> ModelInfo:
    """Read a model file's metadata without loading its weights."""
    path = Path(path)
    _check_file(path)
    try:
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.endswith("/extra/" + META_NAME)]
            if not names:
                raise ModelError(f"{path.name}: not a nepocr model (no metadata)")
            return ModelInfo.from_json(z.read(names[0]))
    except zipfile.BadZipFile:
        raise ModelError(f"{path.name}: not a model file, or it is truncated") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path.name}: model metadata is invalid ({exc})") from None


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ModelError(f"model file not found: {path}")
    if path.is_dir():
        raise ModelError(f"{path}: is a folder, not a model file")
    if path.stat().st_size < 1024:
        raise ModelError(f"{path.name}: file is too small to be a model (truncated?)")


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedModel:
    """Load and validate a model file; raise :class:`ModelError` with a readable message."""
    path = Path(path)
    info = read_info(path)
    extra = {META_NAME: ""}
    try:
        module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError and friends for damaged archives
        raise ModelError(f"{path.name}: the model could not be loaded ({str(exc).splitlines()[0]})") from None
    module.eval()
    _smoke_test(module, info, path.name, device)
    return LoadedModel(module, info, str(path))


def _smoke_test(module, info: ModelInfo, name: str, device) -> None:
    h = info.preprocess.height
    x = torch.zeros(1, 1, h, 4 * h, device=device)
    w = torch.tensor([4 * h], device=device)
    try:
        with torch.inference_mode():
            lp, _ = module(x, w)
    except Exception as exc:  # noqa: BLE001 - our own network: a failure means the weights are unusable
        raise ModelError(f"{name}: the model fails a test run ({str(exc).splitlines()[0]})") from None
    if lp.dim() != 3 or lp.shape[-1] != info.charset.num_classes:
        raise ModelError(f"{name}: the model's output ({lp.shape[-1]} classes) does not match its "
                         f"charset ({info.charset.num_classes} with blank)")


def build_trainable(info: ModelInfo, loaded: LoadedModel | None = None) -> CRNN:
    """A plain ``nn.Module`` for training, with weights copied from ``loaded`` if given."""
    model = CRNN(info.charset.num_classes, info.spec)
    if loaded is not None:
        model.load_state_dict(loaded.module.state_dict())
    return model


def int8_copy(module: torch.nn.Module, info: ModelInfo, calibration: str | os.PathLike) -> torch.nn.Module | None:
    """An int8 copy of ``module`` for the CPU (:mod:`.quantize`, about 3x the batched
    throughput of the float network), calibrated on the words in ``calibration``
    (``resources/calibration.npz``), or None (logged) when it cannot be made."""
    from .quantize import QuantizationError, calibration_images, quantize_crnn
    try:
        images = calibration_images(info.preprocess, Path(calibration))
        return quantize_crnn(module, info.spec, info.charset, info.preprocess, images)
    except QuantizationError as exc:
        log.info("reading with the float network: %s", exc)
    except Exception as exc:  # noqa: BLE001 - any failure of quantization: the float model reads
        log.warning("reading with the float network (int8 copy failed: %s)", exc)
    return None


def float_inference_module(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The float module that reads images on ``device``: on the CPU a frozen copy optimised
    for inference (batch norm folded into the convolutions, oneDNN kernels: about 1.5x), on
    other devices the module itself. The original stays trainable (fine-tuning copies its
    weights)."""
    module = module.to(device).eval()
    if device.type != "cpu" or not isinstance(module, torch.jit.ScriptModule):
        return module
    try:
        return torch.jit.optimize_for_inference(torch.jit.freeze(module))
    except Exception:  # noqa: BLE001 - any failure of the optimiser: the plain module reads the same
        return module


def is_int8(module: torch.nn.Module) -> bool:
    """Whether an inference module runs quantized kernels."""
    if isinstance(module, torch.jit.ScriptModule):
        return "quantized::" in str(module.inlined_graph)
    return any("quantized" in type(m).__module__ for m in module.modules())
