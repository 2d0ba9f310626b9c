"""The core (``nepocr_desktop.lib``, and the command line built on it) never imports Qt."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import nepocr_desktop.lib as core

ROOT = Path(__file__).resolve().parents[1]
CORE_ENTRY_POINTS = ["nepocr_desktop.cli", "nepocr_desktop.recognizer", "nepocr_desktop.training",
                     "nepocr_desktop.finetuning", "nepocr_desktop.page", "nepocr_desktop.paths"]


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(core.__path__, core.__name__ + "."))


def test_the_core_has_its_subpackages():
    names = core_modules()
    for sub in ("read", "language", "page", "storage", "system", "training", "training.finetune"):
        assert f"nepocr_desktop.lib.{sub}" in names, sub
    assert len(names) > 40  # the walk found the modules, not only the packages


def test_no_core_module_imports_qt():
    """Every module of the core, imported in a fresh interpreter, leaves PySide6 unloaded."""
    modules = core_modules() + CORE_ENTRY_POINTS
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
            "print('QT', ' '.join(qt))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    line = next(x for x in res.stdout.splitlines() if x.startswith("QT"))
    assert line.split()[1:] == [], line
