"""Handing freed memory back to the system, and keeping Python's collector off long-lived objects.

glibc keeps freed heap for reuse: after a 12-megapixel photo has been decoded and segmented,
tens of megabytes stay resident though nothing uses them. ``malloc_trim`` returns them; it
costs a few milliseconds, so it is called after large jobs, not after every word.

Python's cycle collector now and then walks every object it tracks, and every thread waits
while it does (the GIL). With torch imported and a model loaded that is about 175,000 objects,
60-70 ms a walk, and 120-200 ms while fine-tuning runs beside it: the window stops answering
for that long (``benchmarks/bench_learning.py``). :func:`settle_heap` freezes what is alive once a
model is loaded, so that later walks skip it.
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


def settle_heap() -> None:
    """Call once a long-lived set of objects is in place (a model loaded): collect what is
    unreachable, the objects of a model frozen before this one among them, then freeze what is
    left, so that the collector's full walks no longer visit it."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
