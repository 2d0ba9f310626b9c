"""Reading word images: charset, preprocessing, the network, model files, its int8 copy,
CTC decoding, the reading result types and error rates.

The names below are loaded on first use: the text helpers (``charset``, ``results``) are
imported by the app's window before torch is, and importing this package must not load
torch for them.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "charset": (
        "DEFAULT_CHARSET", "Charset", "LabelError", "is_well_formed", "normalize_text", "split_aksharas",
    ),
    "crnn": ("CRNN", "SPECS", "ModelSpec", "count_parameters"),
    "devices": ("DEFAULT_DEVICE", "DEVICES"),
    "ctc_decoder": ("Decoded", "akshara_confidences", "beam_decode", "greedy_decode"),
    "metrics": ("edit_distance", "error_rates"),
    "modelio": (
        "LoadedModel", "ModelError", "ModelInfo", "build_trainable", "float_inference_module", "int8_copy",
        "is_int8", "load_model", "read_info", "save_model",
    ),
    "preprocess": (
        "RIGHT_MARGIN", "ImageError", "ImageSource", "PreprocessConfig", "batch", "load_gray", "prepare",
    ),
    "quantize": ("QuantizationError", "calibration_images", "int8_engine", "quantize_crnn"),
    "results": (
        "Alternative", "CharConfidence", "GraphemeConfidence", "LoadedReader", "Reader", "Recognition",
        "RecognitionFailure",
    ),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "CRNN",
    "DEFAULT_CHARSET",
    "DEFAULT_DEVICE",
    "DEVICES",
    "RIGHT_MARGIN",
    "SPECS",
    "Alternative",
    "CharConfidence",
    "Charset",
    "Decoded",
    "GraphemeConfidence",
    "ImageError",
    "ImageSource",
    "LabelError",
    "LoadedModel",
    "LoadedReader",
    "ModelError",
    "ModelInfo",
    "ModelSpec",
    "PreprocessConfig",
    "QuantizationError",
    "Reader",
    "Recognition",
    "RecognitionFailure",
    "akshara_confidences",
    "batch",
    "beam_decode",
    "build_trainable",
    "calibration_images",
    "count_parameters",
    "edit_distance",
    "error_rates",
    "float_inference_module",
    "greedy_decode",
    "int8_copy",
    "int8_engine",
    "is_int8",
    "is_well_formed",
    "load_gray",
    "load_model",
    "normalize_text",
    "prepare",
    "quantize_crnn",
    "read_info",
    "save_model",
    "split_aksharas",
]


def __getattr__(name: str) -> object:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
