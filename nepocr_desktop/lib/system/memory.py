"""Handing freed memory back to the system.

glibc keeps freed heap for reuse: after a 12-megapixel photo has been decoded and segmented,
tens of megabytes stay resident though nothing uses them. ``malloc_trim`` returns them; it
costs a few milliseconds, so it is called after large jobs, not after every word.
"""

from __future__ import annotations

import ctypes
import functools
import gc


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc (macOS, Windows, musl): nothing to trim
        return None


def trim_heap() -> bool:
    """Return freed heap to the system; False where the C library cannot."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def release_memory() -> None:
    """Collect unreachable Python objects (cycles: a dropped network), then :func:`trim_heap`."""
    gc.collect()
    trim_heap()
