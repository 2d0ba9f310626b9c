"""The PyInstaller bundle: build dist/nepocr/ with tools/build_bundle.sh, then run it.

The build takes a few minutes, so it runs in CI (``CI`` set) or when ``NEPOCR_BUILD_BUNDLE=1``,
and is skipped otherwise (``NEPOCR_BUILD_BUNDLE=0`` skips it in CI too). It ships
model/nepocr.pt, or the small test model while that file does not exist yet.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nepocr_desktop.recognizer import Recognizer

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist" / "nepocr"
# target 650 MB (619 MiB); trimmed ~612 MiB; without gcc/binutils ~740 MiB; untrimmed ~900 MiB
MAX_BUNDLE_MIB = 619 if shutil.which("gcc") and shutil.which("readelf") else 760

_flag = os.environ.get("NEPOCR_BUILD_BUNDLE")
ENABLED = _flag == "1" or (bool(os.environ.get("CI")) and _flag != "0")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ENABLED, reason="builds the bundle (minutes): set NEPOCR_BUILD_BUNDLE=1"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the bundle test runs on Linux"),
]


@pytest.fixture(scope="module")
def bundle(tiny_model_path, tmp_path_factory) -> dict:
    """Build once; returns the executable, the model it ships and the build output."""
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.fail("PyInstaller is not installed: pip install -e '.[bundle]'")
    model = ROOT / "model" / "nepocr.pt"
    env = dict(os.environ)
    if not model.is_file():
        model = tiny_model_path
        env["NEPOCR_BUNDLE_MODEL"] = str(model)
    t0 = time.monotonic()
    res = subprocess.run(["bash", "tools/build_bundle.sh", "--archive", "none"], check=False, cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - t0
    assert res.returncode == 0, (res.stdout[-3000:], res.stderr[-3000:])
    exe = DIST / "nepocr"
    assert exe.is_file() and os.access(exe, os.X_OK)
    print(f"\nbundle built in {seconds:.0f} s")
    return {"exe": exe, "model": model, "log": res.stdout,
            "data_dir": tmp_path_factory.mktemp("bundle-data")}


def _run(bundle: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NEPOCR_"))}
    env.update(QT_QPA_PLATFORM="offscreen", NEPOCR_DATA_DIR=str(bundle["data_dir"]), OMP_NUM_THREADS="1")
    return subprocess.run([str(bundle["exe"]), *args], check=False, cwd=bundle["data_dir"], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_bundle_is_trimmed(bundle) -> None:
    internal = DIST / "_internal"
    size = sum(f.stat().st_size for f in DIST.rglob("*") if f.is_file() and not f.is_symlink())
    assert size / 2**20 < MAX_BUNDLE_MIB, f"{size / 2**20:.0f} MiB"
    assert "size_on_disk_mib:" in bundle["log"] and "build_seconds:" in bundle["log"]
    for gone in ["torch/include", "torch/test", "PySide6/Qt/translations", "PySide6/Qt/qml"]:
        assert not (internal / gone).exists(), gone
    qt_libs = {p.name for p in (internal / "PySide6" / "Qt" / "lib").iterdir()}
    assert "libQt6Widgets.so.6" in qt_libs
    assert not {n for n in qt_libs if n.startswith(("libQt6Quick", "libQt6Qml", "libQt6WebEngine",
                                                    "libQt6Pdf", "libQt6Multimedia", "libQt63D"))}
    if shutil.which("gcc"):  # OpenCV's video/AV1 libraries are stubs, its BLAS forwards to numpy's
        cv_libs = {p.name: p.stat().st_size for p in (internal / "opencv_python_headless.libs").iterdir()}
        small = {n: size for n, size in cv_libs.items()
                 if n.startswith(("libavcodec", "libavformat", "libavutil", "libaom", "libopenblas"))}
        assert len(small) == 5 and max(small.values()) < 200_000, small
        assert not {n for n in cv_libs if n.startswith(("libvpx", "libswresample", "libssl", "libcrypto",
                                                        "libgfortran"))}, cv_libs
        icu = internal / "PySide6" / "Qt" / "lib"
        assert sum(p.stat().st_size for p in icu.glob("libicudata.so*") if not p.is_symlink()) < 8 * 2**20
    assert not (internal / "libssl.so.3").exists()
    dangling = [str(p.relative_to(internal)) for p in internal.rglob("*") if p.is_symlink() and not p.exists()]
    assert not dangling
    assert (internal / "model" / "nepocr.pt").read_bytes() == bundle["model"].read_bytes()
    assert (internal / "resources" / "samples").is_dir()
    assert (internal / "nepocr_desktop" / "lib" / "read" / "crnn.py").is_file()  # TorchScript needs the source


def test_recognize_matches_the_source_tree(bundle) -> None:
    samples = sorted((ROOT / "resources" / "samples").glob("*.png"))
    assert samples
    res = _run(bundle, "recognize", *map(str, samples))
    assert res.returncode == 0, res.stderr[-3000:]
    expected = Recognizer(bundle["model"], device="cpu").recognize(samples)
    lines = res.stdout.splitlines() if len(samples) > 1 else [f"{samples[0]}\t{res.stdout.strip()}"]
    assert lines == [f"{p}\t{r.text}" for p, r in zip(samples, expected)]


def test_page_reading_uses_opencv(bundle, tmp_path) -> None:
    """Reading a page runs OpenCV's image processing (binarisation, components, deskew)."""
    res = _run(bundle, "recognize", "--page", "--format", "json", str(ROOT / "resources" / "samples" / "nepal.png"))
    assert res.returncode == 0, res.stderr[-3000:]
    assert '"lines"' in res.stdout and "नेपाल" in res.stdout


def test_bad_input_gives_a_one_line_message(bundle, tmp_path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image", encoding="utf-8")
    res = _run(bundle, "recognize", str(tmp_path / "missing.png"), str(text))
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2 and "missing.png" in lines[0] and "notes.png" in lines[1]
    assert "Traceback" not in res.stderr


def test_self_test_reads_the_samples(bundle) -> None:
    res = _run(bundle, "--self-test")
    assert res.returncode == 0, (res.stdout[-2000:], res.stderr[-3000:])
    for sample in sorted((ROOT / "resources" / "samples").glob("*.png")):
        assert f"{sample.name}:" in res.stdout
    assert "native libraries: ok" in res.stdout  # OpenCV's BLAS shim and Qt's trimmed ICU data
    assert "int8 network: ok" in res.stdout  # torch's quantization modules made it into the bundle


def test_finetune_saves_a_model_that_loads(bundle, tmp_path) -> None:
    """Fine-tuning scripts the network with TorchScript, which needs Python source in the bundle."""
    data = tmp_path / "mine"
    data.mkdir()
    samples = ROOT / "resources" / "samples"
    rows = []
    for line in (samples / "labels.tsv").read_text(encoding="utf-8").splitlines():
        name, _, label = line.partition("\t")
        for i in range(3):
            shutil.copy(samples / name, data / f"{i}-{name}")
            rows.append(f"{i}-{name}\t{label}\n")
    (data / "labels.tsv").write_text("".join(rows), encoding="utf-8")
    out = tmp_path / "mine.pt"
    res = _run(bundle, "finetune", str(data), "--out", str(out), "--epochs", "1", "--threads", "1")
    assert res.returncode == 0, res.stderr[-3000:]
    check = _run(bundle, "recognize", str(samples / "namaste.png"), "--model", str(out))
    assert check.returncode == 0, check.stderr[-2000:]
