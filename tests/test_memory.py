"""Memory hygiene: freed heap handed back, and oneDNN's kernel cache bounded."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from nepocr_desktop.lib.system.memory import release_memory, trim_heap


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_trim_heap_returns_freed_small_blocks_to_the_system():
    before = _rss_mib()
    # 60 MB in 100 kB blocks: below glibc's mmap threshold, so freed memory stays in the heap
    blocks = [np.ones(100_000, np.uint8) for _ in range(600)]
    keep = blocks[-1]  # the block at the top of the heap stays in use; the others are freed
    del blocks
    held = _rss_mib()
    assert trim_heap() is True
    assert _rss_mib() < held - 30 and keep.sum() == 100_000
    release_memory()
    assert _rss_mib() < before + 30


def test_settle_heap_freezes_what_lives_and_frees_it_at_the_next_settle():
    code = """
import gc, weakref
from nepocr_desktop.lib.system.memory import settle_heap
class Node: pass
node = Node(); node.me = node  # a cycle: only the collector can free it
settle_heap()
ref = weakref.ref(node); del node
gc.collect()
assert ref() is not None and gc.get_freeze_count() > 0  # frozen: the collector's walks skip it
settle_heap()  # a new model loaded: what the last one froze is collected
assert ref() is None
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def _cache_setting(env: dict[str, str]) -> str:
    code = "import nepocr_desktop, os; print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'])"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_onednn_kernel_cache_is_bounded_unless_the_user_set_it():
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    assert _cache_setting(env) == "64"
    assert _cache_setting(dict(env, ONEDNN_PRIMITIVE_CACHE_CAPACITY="512")) == "512"
