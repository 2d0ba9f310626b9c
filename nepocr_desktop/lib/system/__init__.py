"""Operating-system helpers: atomic file writes, returning freed memory, checks of native
libraries."""

from __future__ import annotations

from .atomic import atomic_write
from .memory import release_memory, settle_heap, trim_heap
from .native import check_image_codecs, check_linear_algebra

__all__ = [
    "atomic_write",
    "check_image_codecs",
    "check_linear_algebra",
    "release_memory",
    "settle_heap",
    "trim_heap",
]
