"""Whole pages: the layout types, binarisation, segmentation into lines and words, and
PAGE XML."""

from __future__ import annotations

from .binarization import binarize, normalize, sauvola
from .containers import Box, Line, Page, Point, Word, deskew_transform
from .pagexml import (
    PageXml,
    Transcription,
    WordText,
    page_to_xml,
    parse_pagexml,
    read_pagexml,
    training_pairs,
    write_pagexml,
)
from .segment import estimate_skew, segment_page, word_gap_threshold
from .text import join_words

__all__ = [
    "Box",
    "Line",
    "Page",
    "PageXml",
    "Point",
    "Transcription",
    "Word",
    "WordText",
    "binarize",
    "deskew_transform",
    "estimate_skew",
    "join_words",
    "normalize",
    "page_to_xml",
    "parse_pagexml",
    "read_pagexml",
    "sauvola",
    "segment_page",
    "training_pairs",
    "word_gap_threshold",
    "write_pagexml",
]
