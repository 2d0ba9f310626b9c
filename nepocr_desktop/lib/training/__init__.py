"""Training and fine-tuning: data sources (real crops, glyphs, rendered words), their
augmentation, the training loop and fine-tuning on one person's samples."""

from __future__ import annotations

from .augment import augment_real, augment_synthetic
from .corpus import GlyphSet, WordSplit, lens_words, load_glyphs, usable_label, vocabulary
from .finetune import (
    FinetuneConfig,
    FinetuneResult,
    auto_lr,
    finetune,
    load_pairs,
    replay_material,
    save_finetuned,
    split_user_samples,
)
from .sources import (
    ArrayWords,
    CleanGlyphWords,
    CleanSynth,
    Glyphs,
    GlyphWords,
    MixedStream,
    RealScans,
    RealWords,
    Source,
    StrokeWords,
    SynthWords,
)
from .strokes import WritingStyle, redraw_as_strokes, simulate_writing, trace_strokes
from .synth import FontSampler, RenderError, find_fonts, render_text
from .train import EpochReport, TrainConfig, TrainResult, evaluate, fit, new_model, prepare_validation

__all__ = [
    "ArrayWords",
    "CleanGlyphWords",
    "CleanSynth",
    "EpochReport",
    "FinetuneConfig",
    "FinetuneResult",
    "FontSampler",
    "GlyphSet",
    "GlyphWords",
    "Glyphs",
    "MixedStream",
    "RealScans",
    "RealWords",
    "RenderError",
    "Source",
    "StrokeWords",
    "SynthWords",
    "TrainConfig",
    "TrainResult",
    "WordSplit",
    "WritingStyle",
    "augment_real",
    "augment_synthetic",
    "auto_lr",
    "evaluate",
    "find_fonts",
    "finetune",
    "fit",
    "lens_words",
    "load_glyphs",
    "load_pairs",
    "new_model",
    "prepare_validation",
    "redraw_as_strokes",
    "render_text",
    "replay_material",
    "save_finetuned",
    "simulate_writing",
    "split_user_samples",
    "trace_strokes",
    "usable_label",
    "vocabulary",
]
