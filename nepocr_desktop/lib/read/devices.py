"""The devices a model can run on, as users name them (no torch needed).

:func:`~nepocr_desktop.recognizer.select_device` turns a name into a torch device; the
command line and the app's preferences offer these names.
"""

from __future__ import annotations

DEFAULT_DEVICE = "auto"  # CUDA if available, else the CPU
DEVICES = (DEFAULT_DEVICE, "cpu", "cuda")
