"""Packaging beyond pyproject.toml: the model and resources go into the wheel.

``model/`` and ``resources/`` stay at the top of the repository (the app, the tools and the
PyInstaller spec read them there); building a wheel copies the files the app reads at run
time into ``nepocr_desktop/_data/``, where :mod:`nepocr_desktop.paths` finds them in an
installed copy. An editable install reads them in place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
PACKAGE_DATA = "nepocr_desktop/_data"
# what the app reads at run time (paths.py), with the licences that go with it
DATA_FILES = {
    "model": ["nepocr.pt", "MODEL_CARD.md", "ROUNDS.md"],
    "resources": ["calibration.npz", "fonts/*.ttf", "fonts/*.txt", "icons/*.svg",
                  "lexicon/words.txt.gz", "lexicon/charlm.npz", "lexicon/LICENSE*", "lexicon/SOURCE.md",
                  "samples/*.png", "samples/labels.tsv"],
}


def data_files(root: Path = ROOT) -> list[Path]:
    """The files copied into the wheel, relative to ``root``."""
    found = []
    for folder, patterns in DATA_FILES.items():
        for pattern in patterns:
            matches = sorted(p for p in (root / folder).glob(pattern) if p.is_file())
            if not matches:
                raise FileNotFoundError(f"{folder}/{pattern}: no such file to package")
            found += [p.relative_to(root) for p in matches]
    return found


class BuildWithData(build_py):
    """``build_py`` that also copies the model and resources into the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the source tree
        target = Path(self.build_lib) / PACKAGE_DATA
        for rel in data_files():
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / rel, dest)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        return outputs + [str(Path(self.build_lib) / PACKAGE_DATA / rel) for rel in data_files()]


setup(cmdclass={"build_py": BuildWithData})
