"""The wheel: built from the checkout, installed into a fresh virtual environment (torch, Qt and
the other dependencies from this machine's site-packages), run from a folder outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["model/nepocr.pt", "model/MODEL_CARD.md", "model/ROUNDS.md", "resources/calibration.npz",
           "resources/lexicon/words.txt.gz", "resources/lexicon/charlm.npz",
           "resources/fonts/NotoSansDevanagari.ttf", "resources/fonts/Kalam-Regular.ttf",
           "resources/icons/nepocr.svg", "resources/samples/labels.tsv"]

pytestmark = pytest.mark.skipif(not (ROOT / "model" / "nepocr.pt").is_file(), reason="no bundled model")


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NEPOCR_", "VIRTUAL_ENV"))}
    env.update(QT_QPA_PLATFORM="offscreen", NEPOCR_DATA_DIR=str(tmp / "data"),
               NEPOCR_CACHE_DIR=str(tmp / "cache"), OMP_NUM_THREADS="1")
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """Build the wheel, make a venv and install it there; returns the paths."""
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "-w", str(dist), "--no-deps",
                    "--no-build-isolation", "-q"], check=True, capture_output=True, cwd=tmp, timeout=600)
    wheel = next(dist.glob("nepocr-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True, capture_output=True, timeout=300)
    py = venv / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, capture_output=True, cwd=tmp, timeout=600)
    work = tmp / "elsewhere"  # not the checkout: nothing can be found there by accident
    work.mkdir()
    shutil.copy(ROOT / "resources" / "samples" / "namaste.png", work / "word.png")
    return {"wheel": wheel, "venv": venv, "python": py, "nepocr": py.parent / "nepocr", "work": work, "tmp": tmp}


def test_the_wheel_holds_the_model_and_resources(installed):
    with zipfile.ZipFile(installed["wheel"]) as z:
        names = set(z.namelist())
    missing = [f for f in SHIPPED if f"nepocr_desktop/_data/{f}" not in names]
    assert not missing, missing
    assert not any(n.startswith(("tests/", "benchmarks/", "tools/", "data_cache/")) for n in names)
    assert installed["wheel"].stat().st_size < 30e6


def test_the_installed_package_is_the_wheels(installed):
    code = ("import nepocr_desktop, nepocr_desktop.paths as p; "
            "print(nepocr_desktop.__file__); print(p.bundled_model_path()); print(p.lexicon_dir())")
    res = subprocess.run([str(installed["python"]), "-c", code], capture_output=True, text=True, check=False,
                         cwd=installed["work"], env=_env(installed["tmp"]), timeout=120)
    assert res.returncode == 0, res.stderr
    package, model, lexicon = (Path(line) for line in res.stdout.splitlines())
    venv = installed["venv"].resolve()
    assert package.resolve().is_relative_to(venv) and model.resolve().is_relative_to(venv), res.stdout
    assert model.is_file() and (lexicon / "words.txt.gz").is_file()


def test_recognize_from_the_installed_wheel(installed):
    res = subprocess.run([str(installed["nepocr"]), "recognize", "--json", "word.png"], capture_output=True,
                         text=True, check=False, cwd=installed["work"], env=_env(installed["tmp"]), timeout=300)
    assert res.returncode == 0, res.stderr
    obj = json.loads(res.stdout)
    assert obj["text"] == "नमस्ते" and obj["device"] == "cpu" and obj["precision"] == "int8"


def test_self_test_of_the_installed_wheel(installed):
    res = subprocess.run([str(installed["nepocr"]), "--self-test"], capture_output=True, text=True, check=False,
                         cwd=installed["work"], env=_env(installed["tmp"]), timeout=300)
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert "namaste.png: नमस्ते" in res.stdout and "int8 network: ok" in res.stdout
    assert str(installed["venv"]) in res.stdout  # the model file the wheel installed
