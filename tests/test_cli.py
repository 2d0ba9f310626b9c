"""The ``nepocr`` command line: recognize, eval, errors and exit codes."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import types
import zlib
from pathlib import Path

import pytest

from nepocr_desktop.cli import main
from nepocr_desktop.lib.read.metrics import error_rates
from nepocr_desktop.recognizer import Recognizer

ROOT = Path(__file__).resolve().parent.parent
JSON_KEYS = {"path", "text", "confidence", "chars", "graphemes", "alternatives", "device", "precision", "ms"}
LABELS = ["घर", "पानी", "नमस्ते", "किताब"]


def huge_png(path: Path, w: int = 20000, h: int = 20000) -> Path:
    """A PNG whose header claims a gigantic size (no pixel data)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


@pytest.fixture()
def run(tiny_model_path, capsys):
    """Call ``main`` in-process with the tiny model; returns (code, stdout, stderr)."""
    def _run(*args: str, model: bool = True):
        extra = ["--model", str(tiny_model_path), "--device", "cpu"] if model else []
        code = main([*args, *extra])
        out, err = capsys.readouterr()
        return code, out, err
    return _run


@pytest.fixture(scope="module")
def expected(tiny_model_path):
    return Recognizer(tiny_model_path, device="cpu")


@pytest.fixture()
def bad_files(tmp_path, word_image) -> list[Path]:
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(word_image.read_bytes()[:150])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("shopping list", encoding="utf-8")
    folder = tmp_path / "folder.png"
    folder.mkdir()
    return [truncated, empty, text, folder, tmp_path / "missing.png", huge_png(tmp_path / "huge.png")]


def test_recognize_one_image_prints_the_text(run, word_image, expected):
    code, out, err = run("recognize", str(word_image))
    assert code == 0 and err == ""
    assert out == expected.recognize_one(word_image).text + "\n"


def test_recognize_several_images_prefixes_paths(run, word_image, tmp_path, render_word, expected):
    other = tmp_path / "ghar.png"
    render_word("घर").save(other)
    code, out, _ = run("recognize", str(word_image), str(other))
    assert code == 0
    lines = out.splitlines()
    assert lines == [f"{p}\t{expected.recognize_one(p).text}" for p in (word_image, other)]


def test_recognize_json(run, word_image):
    code, out, _ = run("recognize", str(word_image), "--json", "--beam", "4")
    assert code == 0
    obj = json.loads(out)
    assert set(obj) == JSON_KEYS
    assert obj["path"] == str(word_image) and obj["device"] == "cpu" and obj["ms"] > 0
    assert "".join(c["char"] for c in obj["chars"]) == obj["text"]
    assert "".join(g["text"] for g in obj["graphemes"]) == obj["text"]
    assert all(set(c) == {"char", "confidence"} for c in obj["chars"])
    assert all(set(g) == {"text", "confidence"} for g in obj["graphemes"])
    assert obj["alternatives"][0]["text"] == obj["text"]  # the reading first, then other spellings
    assert all(set(a) == {"text", "score"} for a in obj["alternatives"])


def test_bad_files_are_reported_and_the_rest_processed(run, word_image, bad_files):
    code, out, err = run("recognize", str(word_image), *map(str, bad_files), str(word_image))
    assert code == 1
    assert len(out.splitlines()) == 2 and all(line.startswith(str(word_image)) for line in out.splitlines())
    errors = err.splitlines()
    assert len(errors) == len(bad_files) and "Traceback" not in err
    for path, line in zip(bad_files, errors):
        assert str(path) in line
    assert "too large" in errors[-1]


def test_bad_files_in_json_mode(run, word_image, bad_files):
    code, out, _ = run("recognize", "--json", *map(str, bad_files), str(word_image))
    assert code == 1
    objs = [json.loads(line) for line in out.splitlines()]
    assert [o["path"] for o in objs] == [*map(str, bad_files), str(word_image)]
    assert all(set(o) == {"path", "error"} for o in objs[:-1])
    assert set(objs[-1]) == JSON_KEYS


def test_missing_or_bad_model(run, word_image, tmp_path):
    code, out, err = run("recognize", str(word_image), "--model", str(tmp_path / "no.pt"), model=False)
    assert code == 1 and out == "" and len(err.splitlines()) == 1 and "not found" in err
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\0" * 4096)
    code, _, err = run("recognize", str(word_image), "--model", str(junk), model=False)
    assert code == 1 and len(err.splitlines()) == 1 and "Traceback" not in err


def test_usage_errors_exit_2(run, word_image):
    code, _, err = run("recognize", str(word_image), "--frobnicate")
    assert code == 2 and "usage:" in err
    assert run("recognize", str(word_image), "--beam", "0")[0] == 2
    assert run("recognize", model=False)[0] == 2
    assert run("translate", "x", model=False)[0] == 2
    code, out, _ = run("--version", model=False)
    assert code == 0 and out.startswith("nepocr ")


def _write_words(folder: Path, render_word, labels: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, text in enumerate(labels):
        p = folder / f"w{i}.png"
        render_word(text).save(p)
        paths.append(p)
    return paths


def test_eval_labels_tsv(run, tmp_path, render_word, expected):
    paths = _write_words(tmp_path / "ds" / "img", render_word, LABELS)
    rows = [f"img/{p.name}\t{t}" for p, t in zip(paths, LABELS)]
    rows[1] = rows[1].replace("पानी", "  पानी\u200d ")  # labels are normalised
    (tmp_path / "ds" / "labels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, _ = run("eval", str(tmp_path / "ds"), "--json")
    assert code == 0
    obj = json.loads(out)
    assert {"n", "cer", "wer", "ms_per_word"} <= set(obj)
    preds = [r.text for r in expected.recognize(paths)]
    cer, wer = error_rates(zip(preds, LABELS))
    assert obj["n"] == 4 and obj["cer"] == pytest.approx(cer, abs=1e-6) and obj["wer"] == pytest.approx(wer)
    assert obj["ms_per_word"] > 0 and obj["skipped"] == []
    code, out, _ = run("eval", str(tmp_path / "ds"))
    assert code == 0 and f"CER      {cer * 100:.2f}%" in out and "n        4" in out


def test_eval_gt_pairs_with_limit_and_skips(run, tmp_path, render_word):
    paths = _write_words(tmp_path / "pairs", render_word, LABELS)
    for p, t in zip(paths, LABELS):
        p.with_suffix(".gt.txt").write_text(t + "\n", encoding="utf-8")
    code, out, _ = run("eval", str(tmp_path / "pairs"), "--json", "--limit", "3")
    assert code == 0 and json.loads(out)["n"] == 3
    paths[0].write_bytes(b"")
    code, out, err = run("eval", str(tmp_path / "pairs"), "--json")
    obj = json.loads(out)
    assert code == 0 and obj["n"] == 3 and len(obj["skipped"]) == 1 and "w0.png" in err


def test_eval_bad_folder(run, tmp_path):
    code, out, err = run("eval", str(tmp_path / "nowhere"))
    assert code == 1 and out == "" and len(err.splitlines()) == 1
    (tmp_path / "empty").mkdir()
    assert run("eval", str(tmp_path / "empty"))[0] == 1


def test_no_arguments_starts_the_app(monkeypatch):
    calls = []
    fake = types.ModuleType("nepocr_desktop.gui.app")
    fake.run = lambda argv: calls.append(argv) or 7  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nepocr_desktop.gui.app", fake)
    assert main([]) == 7 and calls == [[]]


def test_module_entry_point(tiny_model_path, word_image):
    proc = subprocess.run(
        [sys.executable, "-m", "nepocr_desktop", "recognize", str(word_image), "--json",
         "--model", str(tiny_model_path), "--device", "cpu"],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(proc.stdout)) == JSON_KEYS


def _modules_after(*args: str) -> set[str]:
    """The modules loaded by ``nepocr ARGS`` in a fresh interpreter."""
    code = ("import sys; from nepocr_desktop.cli import main; code = main(sys.argv[1:]); "
            "print('MODULES', ' '.join(sorted(sys.modules))); sys.exit(code)")
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT,
                         timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    line = next(x for x in res.stdout.splitlines() if x.startswith("MODULES "))
    return set(line.split()[1:])


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["recognize", "--help"]])
def test_help_and_version_do_not_load_torch(args):
    modules = _modules_after(*args)
    assert "torch" not in modules and "PySide6" not in modules and "cv2" not in modules


def test_version_prints_the_package_version(run):
    from nepocr_desktop import __version__

    assert run("--version", model=False)[:2] == (0, f"nepocr {__version__}\n")


def test_recognize_does_not_load_qt(tiny_model_path, word_image):
    modules = _modules_after("recognize", str(word_image), "--model", str(tiny_model_path), "--device", "cpu")
    assert "torch" in modules and not any(m.split(".")[0] == "PySide6" for m in modules)


def test_recognize_json_says_device_and_precision(run, word_image):
    code, out, _ = run("recognize", "--json", str(word_image))
    obj = json.loads(out)
    assert code == 0 and obj["device"] == "cpu" and obj["precision"] in ("int8", "float32")


def test_eval_writes_every_reading_and_two_models_compare(run, tmp_path, render_word, expected):
    paths = _write_words(tmp_path / "ds" / "img", render_word, LABELS)
    (tmp_path / "ds" / "labels.tsv").write_text(
        "".join(f"img/{p.name}\t{t}\n" for p, t in zip(paths, LABELS)), encoding="utf-8")
    out_file = tmp_path / "a.tsv"
    code, out, _ = run("eval", str(tmp_path / "ds"), "--json", "--predictions", str(out_file))
    assert code == 0
    rows = [line.split("\t") for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert [r[1] for r in rows] == LABELS and [r[0] for r in rows] == [f"img/{p.name}" for p in paths]
    assert [r[2] for r in rows] == [r.text for r in expected.recognize(paths)]
    cer = json.loads(out)["cer"]

    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import compare_readings
    finally:
        sys.path.remove(str(ROOT / "tools"))
    a = compare_readings.read_predictions(out_file)
    perfect = {p: (label, label) for p, (label, _) in a.items()}
    r = compare_readings.compare(a, perfect)
    assert r["images"] == 4 and r["cer_a"] == pytest.approx(cer, abs=1e-6) and r["cer_b"] == 0.0
    assert r["b_worse"] == 0 and r["b_better"] == sum(label != reading for label, reading in a.values())
    assert r["delta"] == pytest.approx(-cer, abs=1e-6) and r["delta_low"] <= r["delta"] <= r["delta_high"] <= 0
    assert compare_readings.compare(a, a)["same"] == 4


def test_eval_predictions_to_a_folder_fails_cleanly(run, tmp_path, render_word):
    paths = _write_words(tmp_path / "ds" / "img", render_word, LABELS[:1])
    (tmp_path / "ds" / "labels.tsv").write_text(f"img/{paths[0].name}\t{LABELS[0]}\n", encoding="utf-8")
    (tmp_path / "taken").mkdir()
    code, out, err = run("eval", str(tmp_path / "ds"), "--predictions", str(tmp_path / "taken"))
    assert code == 1 and out == "" and "cannot write the readings" in err
