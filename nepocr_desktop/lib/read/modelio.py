"""All model file I/O: save and load self-describing TorchScript models.

A model file is a TorchScript archive (``torch.jit.save``) carrying ``nepocr.json`` in its
extra files: format version, charset, preprocessing, architecture spec and training
metadata. Files are written to a temporary name and renamed atomically. Loading reads the
archive as data only (:mod:`.archive`): the metadata is validated against bounds, our own
:class:`CRNN` is built from it, the file's tensors are checked (names, shapes, dtypes, finite
values) and loaded into it, and one forward pass of that network is checked before it is used.
The TorchScript code in the file is never run. A model fine-tuned on drawings alone also carries
the weights that read drawings (:mod:`.branch`), loaded as a second network.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import NepocrError
from ..system.atomic import atomic_write
from .archive import ArchiveError, ModelArchive
from .branch import BRANCH_NAME, MAX_BRANCH_BYTES, BranchError, pack, unpack
from .charset import Charset
from .crnn import CRNN, ModelSpec
from .preprocess import PreprocessConfig, os_reason

FORMAT = "nepocr-crnn-ctc"
FORMAT_VERSION = 1
META_NAME = "nepocr.json"

log = logging.getLogger("nepocr")


class ModelError(NepocrError):
    """A model file that is missing, damaged or not a nepocr model; the message is for users."""


MAX_META_BYTES = 1024 * 1024   # the metadata entry (the bundled model's: 1.4 kB)
MAX_CHARSET = 1024
MAX_HEIGHT = 128
MAX_CHANNELS = 512
MAX_LAYERS = 4
MAX_HIDDEN = 1024
MAX_PAD = 64
MAX_WIDTH = 8192
MAX_MIN_WIDTH = 512


@dataclass
class ModelInfo:
    charset: Charset
    preprocess: PreprocessConfig
    spec: ModelSpec
    metadata: dict = field(default_factory=dict)  # training facts: data, scores, base model, date

    @property
    def user_words(self) -> tuple[str, ...]:
        """The words of the corrections a fine-tuned model learned from (``metadata["user_words"]``),
        read with the user's other words as a personal word list; none when absent or not a list
        of text."""
        words = self.metadata.get("user_words")
        return tuple(w for w in words if isinstance(w, str)) if isinstance(words, list) else ()

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
        """Parse and validate metadata; raise :class:`ModelError` saying what is wrong."""
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            raise ModelError("not a nepocr model (its metadata is not valid JSON)") from None
        return _validated(obj)


def _fail(what: str) -> ModelError:
    return ModelError(f"model metadata is invalid: {what}")


def _object(obj: object, what: str) -> dict:
    if not isinstance(obj, dict):
        raise _fail(f"{what} must be an object, not {_kind(obj)}")
    return obj


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _whole(d: dict, key: str, lo: int, hi: int, what: str, default: int | None = None) -> int:
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(f"{what}.{key} must be a whole number, not {_kind(value)}")
    if not lo <= value <= hi:
        raise _fail(f"{what}.{key} is {value}; it must be from {lo} to {hi}")
    return value


def _validated(obj: object) -> ModelInfo:
    """ModelInfo from parsed metadata, every field checked for type and bounds."""
    obj = _object(obj, "the metadata")
    if obj.get("format") != FORMAT:
        raise ModelError("not a nepocr model (unknown format)")
    version = obj.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise _fail(f"version must be a whole number, not {_kind(version)}")
    if version > FORMAT_VERSION:
        raise ModelError(f"model format version {version} is newer than this app supports")
    chars = obj.get("charset")
    if not isinstance(chars, str) or not chars:
        raise _fail(f"charset must be non-empty text, not {_kind(chars)}")
    if len(chars) > MAX_CHARSET:
        raise _fail(f"charset has {len(chars)} characters; at most {MAX_CHARSET}")
    try:
        charset = Charset(tuple(chars))
    except ValueError as exc:
        raise _fail(str(exc)) from None
    spec_d = _object(obj.get("spec"), "spec")
    height = _whole(spec_d, "height", 16, MAX_HEIGHT, "spec")
    if height % 16:
        raise _fail(f"spec.height is {height}; it must be a multiple of 16")
    channels, double = spec_d.get("channels"), spec_d.get("double")
    if not isinstance(channels, list) or len(channels) != 4:
        raise _fail(f"spec.channels must be a list of 4 whole numbers, not {_kind(channels)}")
    for c in channels:
        if isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= MAX_CHANNELS:
            raise _fail(f"spec.channels must hold whole numbers from 1 to {MAX_CHANNELS}")
    if not isinstance(double, list) or len(double) != 4 or not all(isinstance(b, bool) for b in double):
        raise _fail("spec.double must be a list of 4 true/false values")
    hidden = _whole(spec_d, "hidden", 1, MAX_HIDDEN, "spec")
    layers = _whole(spec_d, "layers", 1, MAX_LAYERS, "spec")
    dropout = spec_d.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise _fail("spec.dropout must be a number from 0 to 1")
    spec = ModelSpec(height=height, channels=tuple(channels), double=tuple(double), hidden=hidden,
                     layers=layers, dropout=float(dropout))
    pre_d = _object(obj.get("preprocess"), "preprocess")
    pre_h = _whole(pre_d, "height", 16, MAX_HEIGHT, "preprocess")
    if pre_h != height:
        raise _fail(f"preprocess.height ({pre_h}) differs from the network's input height ({height})")
    max_width = _whole(pre_d, "max_width", 16, MAX_WIDTH, "preprocess", PreprocessConfig.max_width)
    preprocess = PreprocessConfig(
        height=pre_h, pad=_whole(pre_d, "pad", 0, MAX_PAD, "preprocess", PreprocessConfig.pad),
        max_width=max_width,
        min_width=_whole(pre_d, "min_width", 1, min(MAX_MIN_WIDTH, max_width), "preprocess",
                         PreprocessConfig.min_width))
    metadata = _object(obj.get("metadata", {}), "metadata")
    for key in ("name", "trained", "finetuned", "base_model", "spec_name", "command"):
        if key in metadata and not isinstance(metadata[key], (str, int, float)):
            raise _fail(f"metadata.{key} must be text, not {_kind(metadata[key])}")
    for key, value in metadata.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(f"metadata.{key} is not a finite number")
    return ModelInfo(charset, preprocess, spec, metadata)


@dataclass
class LoadedModel:
    module: torch.nn.Module  # a CRNN built by this package, the file's weights loaded into it
    info: ModelInfo
    path: str
    drawings: torch.nn.Module | None = None  # the network that reads drawings, when it differs


def save_model(model: torch.nn.Module, info: ModelInfo, path: str | os.PathLike,
               drawings: torch.nn.Module | None = None, half_deltas: bool = False) -> None:
    """Script (if needed) and save ``model`` with its metadata, atomically; ``drawings``: the
    network that reads drawings, stored as the tensors in which it differs from ``model``
    (``half_deltas``: as their changes in half precision, :func:`.branch.pack`)."""
    was_training = model.training
    model.eval()
    try:
        scripted = model if isinstance(model, torch.jit.ScriptModule) else torch.jit.script(model)
        extra = {META_NAME: info.to_json()}
        if drawings is not None:
            branch = pack(model, drawings, half_deltas)
            if branch is not None:
                extra[BRANCH_NAME] = branch
        buf = io.BytesIO()
        torch.jit.save(scripted, buf, _extra_files=extra)
        data = buf.getvalue()
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
    finally:
        model.train(was_training)


def _open(path: Path) -> ModelArchive:
    _check_file(path)
    try:
        return ModelArchive(path, META_NAME)
    except ArchiveError as exc:
        raise ModelError(f"{path.name}: {exc}") from None


def _info(archive: ModelArchive, name: str) -> ModelInfo:
    try:
        return ModelInfo.from_json(archive.read(archive.meta_entry, MAX_META_BYTES))
    except ArchiveError as exc:
        raise ModelError(f"{name}: {exc}") from None
    except ModelError as exc:
        raise ModelError(f"{name}: {exc}") from None


def read_info(path: str | os.PathLike) -> ModelInfo:
    """Read a model file's metadata without loading its weights."""
    path = Path(path)
    with _open(path) as archive:
        return _info(archive, path.name)


def _check_file(path: Path) -> None:
    if not str(path) or str(path) == ".":
        raise ModelError("no model file name given")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}") from None
    except OSError as exc:
        raise ModelError(f"{path}: {os_reason(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ModelError(f"{path}: is a folder, not a model file")
    if not stat.S_ISREG(st.st_mode):
        raise ModelError(f"{path}: not a regular file")
    if st.st_size < 1024:
        raise ModelError(f"{path.name}: file is too small to be a model (truncated?)")


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedModel:
    """Load and validate a model file; raise :class:`ModelError` with a readable message.

    The file is read as data only (:mod:`.archive`): its metadata is validated, our own
    :class:`CRNN` is built from it and the file's tensors are loaded into that network after
    their names, shapes and dtypes are checked. No code in the file is ever run.
    """
    path = Path(path)
    with _open(path) as archive:
        info = _info(archive, path.name)
        try:
            tensors = archive.tensors()
            branch = _branch_bytes(archive)
        except ArchiveError as exc:
            raise ModelError(f"{path.name}: not a nepocr model ({exc})") from None
    model = CRNN(info.charset.num_classes, info.spec)
    _load_weights(model, tensors, info, path.name)
    del tensors
    model.eval()
    model.to(device)
    _smoke_test(model, info, path.name, device)
    drawings = None
    if branch is not None:
        state = model.state_dict()
        try:
            state.update(unpack(branch, state))
        except BranchError as exc:
            raise ModelError(f"{path.name}: {exc}") from None
        drawings = CRNN(info.charset.num_classes, info.spec)
        drawings.load_state_dict(state)
        drawings.eval()
        drawings.to(device)
        _smoke_test(drawings, info, path.name, device)
    return LoadedModel(model, info, str(path), drawings)


def _branch_entry(archive: ModelArchive) -> str:
    """The branch's entry name: an extra file beside the metadata."""
    return archive.meta_entry.rsplit("/", 1)[0] + "/" + BRANCH_NAME


def _branch_bytes(archive: ModelArchive) -> bytes | None:
    try:
        return archive.read(_branch_entry(archive), MAX_BRANCH_BYTES)
    except KeyError:
        return None


def has_drawings_branch(path: str | os.PathLike) -> bool:
    """Whether a model file carries its own weights for drawings (without loading any)."""
    path = Path(path)
    with _open(path) as archive:
        return _branch_entry(archive) in archive.names()


def _load_weights(model: CRNN, tensors: dict[str, torch.Tensor], info: ModelInfo, name: str) -> None:
    expected = model.state_dict()
    head = tensors.get("head.weight")
    if head is not None and head.dim() == 2 and head.shape[0] != info.charset.num_classes:
        n = len(info.charset.chars)
        raise ModelError(f"{name}: the network has {head.shape[0]} output classes, which does not match its "
                         f"charset ({n} characters, {n + 1} classes with the CTC blank)")
    missing = [k for k in expected if k not in tensors]
    extra = [k for k in tensors if k not in expected]
    if missing or extra:
        what = (f"missing {', '.join(missing[:3])}" if missing else f"unexpected {', '.join(extra[:3])}")
        raise ModelError(f"{name}: the weights do not match the network its metadata describes ({what})")
    for key, want in expected.items():
        got = tensors[key]
        if got.shape != want.shape or got.dtype != want.dtype:
            raise ModelError(f"{name}: the weights do not match the network its metadata describes "
                             f"({key} is {tuple(got.shape)} {str(got.dtype).replace('torch.', '')}, expected "
                             f"{tuple(want.shape)} {str(want.dtype).replace('torch.', '')})")
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise ModelError(f"{name}: the weights hold values that are not finite numbers ({key})")
    with torch.no_grad():
        model.load_state_dict({k: tensors[k] for k in expected}, strict=True)


def _smoke_test(module, info: ModelInfo, name: str, device) -> None:
    h = info.preprocess.height
    x = torch.zeros(1, 1, h, 4 * h, device=device)
    x[:, :, h // 4: 3 * h // 4, h: 3 * h] = 1.0
    w = torch.tensor([4 * h], device=device)
    try:
        with torch.inference_mode():
            lp, _ = module(x, w)
    except Exception as exc:  # noqa: BLE001 - our own network: a failure means the weights are unusable
        raise ModelError(f"{name}: the model fails a test run ({str(exc).splitlines()[0]})") from None
    if lp.dim() != 3 or lp.shape[-1] != info.charset.num_classes:
        n = len(info.charset.chars)
        raise ModelError(f"{name}: the network has {lp.shape[-1]} output classes, which does not match its "
                         f"charset ({n} characters, {n + 1} classes with the CTC blank)")
    if not bool(torch.isfinite(lp).all()):
        raise ModelError(f"{name}: the model's output is not finite numbers (its weights are unusable)")


def build_trainable(info: ModelInfo, loaded: LoadedModel | None = None, drawings: bool = False) -> CRNN:
    """A plain ``nn.Module`` for training, with weights copied from ``loaded`` if given (with
    ``drawings``, from its network for drawings where it has one)."""
    model = CRNN(info.charset.num_classes, info.spec)
    if loaded is not None:
        source = loaded.drawings if drawings and loaded.drawings is not None else loaded.module
        model.load_state_dict(source.state_dict())
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
    if device.type != "cpu":
        return module
    try:
        scripted = module if isinstance(module, torch.jit.ScriptModule) else torch.jit.script(module)
        return torch.jit.optimize_for_inference(torch.jit.freeze(scripted.eval()))
    except Exception:  # noqa: BLE001 - any failure of the optimiser: the plain module reads the same
        return module


def is_int8(module: torch.nn.Module) -> bool:
    """Whether an inference module runs quantized kernels."""
    if isinstance(module, torch.jit.ScriptModule):
        return "quantized::" in str(module.inlined_graph)
    return any("quantized" in type(m).__module__ for m in module.modules())
