"""nepocr: offline handwritten Nepali (Devanagari) recognition."""

import os

# oneDNN keeps a compiled kernel for every input shape it has seen, up to 1,024 by default.
# Words come in many widths, so over a long session that cache alone grew the process by
# about 140 MB; 64 bound it to about 40 MB at the same speed (benchmarks/RESULTS.md).
# It must be set before oneDNN's first use; a value already in the environment is kept.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")

__version__ = "0.1.0"
