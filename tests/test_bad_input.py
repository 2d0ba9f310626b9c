"""Bad and unusual input, end to end: image files, labels, model files, the sample database,
a full disk and a process killed mid-training.

For every case: a clear one-line message (naming the input), the process keeps running, and no
stored sample or model is lost. Property-based tests cover label normalisation, akshara
splitting and CTC decoding.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import textwrap
import time
import unicodedata
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageSequence

from nepocr_desktop.cli import main
from nepocr_desktop.lib.read.charset import (
    CONSONANTS,
    DEFAULT_CHARSET,
    MODIFIERS,
    NEPALI_CHARS,
    NUKTA,
    VIRAMA,
    VOWEL_SIGNS,
    LabelError,
    split_aksharas,
)
from nepocr_desktop.lib.read.crnn import CRNN
from nepocr_desktop.lib.read.ctc_decoder import beam_decode, greedy_decode
from nepocr_desktop.lib.read.modelio import ModelError, load_model, read_info, save_model
from nepocr_desktop.lib.read.preprocess import MAX_PIXELS, ImageError, load_gray, prepare
from nepocr_desktop.lib.storage.library import BUNDLED, ModelLibrary
from nepocr_desktop.lib.storage.store import (
    CorruptStoreError,
    InvalidSampleError,
    LockedStoreError,
    SampleStore,
)
from nepocr_desktop.recognizer import Recognition, RecognitionFailure, Recognizer

ROOT = Path(__file__).resolve().parent.parent
MAX_MESSAGE = 400  # characters: a message a person can read in one dialog line


# --- helpers ---------------------------------------------------------------------------------

def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def header_only_png(path: Path, w: int, h: int) -> Path:
    """A PNG whose header declares ``w`` x ``h`` pixels and that holds no pixel data."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IEND", b""))
    return path


def bomb_png(path: Path, w: int = 20000, h: int = 20000) -> Path:
    """A complete, valid 1-bit PNG of ``w`` x ``h`` white pixels that is only tens of kilobytes:
    decoding it would take w*h bytes. Written row by row, so making it takes no memory."""
    row = b"\x00" + b"\xff" * ((w + 7) // 8)  # filter byte + packed white pixels
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(h)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
                     + _png_chunk(b"IEND", b""))
    return path


def one_line(message: str, *names: str) -> None:
    """A message fit for a person: one line, short, naming what it is about."""
    assert message and "\n" not in message.strip(), message
    assert len(message) <= MAX_MESSAGE, message[:200]
    assert "Traceback" not in message
    for name in names:
        assert name in message, (name, message)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def close(a: np.ndarray, b: np.ndarray, tol: float = 0.06) -> bool:
    """Two prepared images agree (same shape, small mean difference)."""
    return a.shape == b.shape and float(np.abs(a - b).mean()) < tol


@pytest.fixture(scope="module")
def rec(tiny_model_path) -> Recognizer:
    return Recognizer(tiny_model_path, device="cpu")


@pytest.fixture(scope="module")
def word(render_word) -> Image.Image:
    return render_word("नमस्ते", size=36)


@pytest.fixture()
def cli(tiny_model_path, capsys):
    """Run ``nepocr ...`` in-process with the tiny model; returns (code, stdout, stderr)."""
    def run(*args: str, model: str | Path | None = None):
        code = main([*args, "--model", str(model or tiny_model_path), "--device", "cpu"])
        out, err = capsys.readouterr()
        return code, out, err
    return run


# --- image files that cannot be read ---------------------------------------------------------

@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    return bomb_png(tmp_path_factory.mktemp("bomb") / "bomb.png")


@pytest.fixture()
def unreadable(tmp_path: Path, word: Image.Image, bomb: Path) -> dict[str, Path]:
    """Files that are not usable images, by case name."""
    png = io.BytesIO()
    word.save(png, format="PNG")
    jpg = io.BytesIO()
    word.convert("RGB").save(jpg, format="JPEG", quality=90)
    files = {
        "truncated png": tmp_path / "truncated.png",
        "truncated jpeg": tmp_path / "truncated.jpg",
        "empty": tmp_path / "empty.png",
        "text": tmp_path / "notes.txt",
        "random bytes": tmp_path / "noise.bin",
        "text named .jpg": tmp_path / "photo.jpg",
        "folder": tmp_path / "folder.png",
        "missing": tmp_path / "missing.png",
    }
    files["truncated png"].write_bytes(png.getvalue()[: len(png.getvalue()) // 2])
    files["truncated jpeg"].write_bytes(jpg.getvalue()[:200])
    files["empty"].write_bytes(b"")
    files["text"].write_text("shopping list: rice, lentils\n", encoding="utf-8")
    files["random bytes"].write_bytes(np.random.default_rng(0).bytes(4096))
    files["text named .jpg"].write_text("not a photo", encoding="utf-8")
    files["folder"].mkdir()
    files["header-only 20000x20000"] = header_only_png(tmp_path / "huge_header.png", 20000, 20000)
    files["decompression bomb"] = bomb
    return files


def test_bomb_files_are_small_and_really_huge(unreadable) -> None:
    bomb = unreadable["decompression bomb"]
    assert bomb.stat().st_size < 200_000
    data = bomb.read_bytes()
    assert struct.unpack(">II", data[16:24]) == (20000, 20000) and 20000 * 20000 > MAX_PIXELS
    ihdr_crc = struct.unpack(">I", data[29:33])[0]
    assert ihdr_crc == zlib.crc32(data[12:29])
    idat_len = struct.unpack(">I", data[33:37])[0]  # complete pixel data: 20000 rows of 2501 bytes
    assert len(zlib.decompress(data[41:41 + idat_len])) == 20000 * 2501


def test_core_refuses_unreadable_files_with_a_clear_message(unreadable) -> None:
    for case, path in unreadable.items():
        t0 = time.perf_counter()
        with pytest.raises(ImageError) as err:
            load_gray(path)
        one_line(str(err.value), path.name)
        assert time.perf_counter() - t0 < 2.0, case  # refused before decoding
    for case in ("header-only 20000x20000", "decompression bomb"):
        assert "too large" in str(pytest.raises(ImageError, load_gray, unreadable[case]).value)
    assert "folder" in str(pytest.raises(ImageError, load_gray, unreadable["folder"]).value)
    assert "no such file" in str(pytest.raises(ImageError, load_gray, unreadable["missing"]).value)


def test_recognizer_reports_each_bad_file_and_reads_the_rest(rec, unreadable, tmp_path, word) -> None:
    good = tmp_path / "good.png"
    word.save(good)
    inputs = [good, *unreadable.values(), good]
    results = rec.recognize(inputs)
    assert len(results) == len(inputs)
    assert isinstance(results[0], Recognition) and isinstance(results[-1], Recognition)
    assert results[0].text == results[-1].text
    for path, r in zip(inputs[1:-1], results[1:-1]):
        assert isinstance(r, RecognitionFailure), path
        one_line(r.message, path.name)
    with pytest.raises(ImageError):
        rec.recognize_one(unreadable["empty"])
    assert isinstance(rec.recognize_one(good), Recognition)  # still usable


def test_cli_reports_bad_files_one_line_each_and_exits_1(cli, unreadable, tmp_path, word) -> None:
    good = tmp_path / "good.png"
    word.save(good)
    bad = list(unreadable.values())
    code, out, err = cli("recognize", str(good), *map(str, bad))
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == len(bad)
    for path, line in zip(bad, lines):
        assert line.startswith("nepocr: ") and path.name in line
        one_line(line)
    assert out.startswith(f"{good}\t")  # the good image was still read
    code, out, err = cli("recognize", str(unreadable["text named .jpg"]), "--json")
    assert code == 1 and '"error"' in out and "photo.jpg" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="file permissions do not restrict the root user")
def test_file_without_read_permission(rec, tmp_path, word) -> None:
    path = tmp_path / "locked.png"
    word.save(path)
    path.chmod(0)
    try:
        r = rec.recognize([path])[0]
        assert isinstance(r, RecognitionFailure)
        one_line(r.message, "locked.png")
        assert "permission" in r.message
    finally:
        path.chmod(0o644)


# --- unusual but valid images ----------------------------------------------------------------

def test_mislabelled_jpeg_named_png_is_read_by_content(rec, tmp_path, word) -> None:
    jpg = tmp_path / "real.jpg"
    word.convert("RGB").save(jpg, format="JPEG", quality=95)
    fake_png = tmp_path / "actually-jpeg.png"
    fake_png.write_bytes(jpg.read_bytes())
    np.testing.assert_array_equal(load_gray(fake_png), load_gray(jpg))
    a, b = rec.recognize([jpg, fake_png])
    assert isinstance(b, Recognition) and a.text == b.text


@pytest.mark.parametrize("case", ["1x1 white", "1x1 black", "all white", "all black", "all grey", "a speck on white"])
def test_blank_images_read_as_nothing_and_no_failure(rec, cli, tmp_path, case) -> None:
    """An image without ink (or with specks of dust alone) reads as no text (the network,
    given an empty ink map, would offer a letter), so the app says that no writing was found."""
    size = (1, 1) if case.startswith("1x1") else (300, 80)
    value = {"white": 255, "black": 0, "grey": 128}[case.split()[-1]]
    path = tmp_path / f"{case.replace(' ', '_')}.png"
    image = Image.new("L", size, value)
    if "speck" in case:
        image.paste(20, (150, 40, 153, 43))
    image.save(path)
    assert not prepare(path).any()  # no ink found
    r = rec.recognize([path])[0]
    assert isinstance(r, Recognition)
    assert (r.text, r.confidence, r.chars, r.graphemes, r.alternatives) == ("", 0.0, [], [], [])
    code, out, err = cli("recognize", str(path))
    assert code == 0 and out == "\n"
    assert err.strip() == f"nepocr: {path}: no writing found"
    code, out, err = cli("recognize", "--json", "--lexicon", str(path))
    assert code == 0 and err == "" and json.loads(out)["text"] == ""


def test_a_blank_image_in_a_batch_leaves_the_other_readings_as_they_were(rec, tmp_path, word) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (300, 80), 255).save(blank)
    alone = rec.recognize([word])[0]
    mixed = rec.recognize([blank, word, blank])
    assert [r.text for r in mixed] == ["", alone.text, ""]
    assert abs(mixed[1].confidence - alone.confidence) < 1e-4


def test_sixteen_bit_png_reads_like_eight_bit(tmp_path, word) -> None:
    arr8 = np.asarray(word, dtype=np.uint8)
    path = tmp_path / "deep.png"
    Image.fromarray(arr8.astype(np.uint16) * 257).save(path)
    with Image.open(path) as im:
        assert im.mode.startswith("I")
    assert close(prepare(path), prepare(arr8), 0.02)


def test_cmyk_jpeg_reads_like_rgb(tmp_path, word) -> None:
    rgb = word.convert("RGB")
    path = tmp_path / "print.jpg"
    rgb.convert("CMYK").save(path, format="JPEG", quality=95)
    with Image.open(path) as im:
        assert im.mode == "CMYK"
    assert close(prepare(path), prepare(rgb))


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_ink_held_only_in_the_alpha_channel(tmp_path, word, mode) -> None:
    """Black pixels everywhere, the word drawn by opacity: composited on white, it reads as the word."""
    alpha = Image.eval(word, lambda v: 255 - v)  # ink opaque, paper transparent
    black = Image.new("RGB" if mode == "RGBA" else "L", word.size, 0)
    black.putalpha(alpha)
    path = tmp_path / f"transparent-{mode}.png"
    black.save(path)
    with Image.open(path) as im:
        assert im.mode == mode
    assert close(prepare(path), prepare(word))


def test_animated_gif_and_multipage_tiff_use_the_first_frame(tmp_path, word, render_word) -> None:
    other = render_word("घर", size=36).resize(word.size)
    gif = tmp_path / "anim.gif"
    word.convert("P").save(gif, save_all=True, append_images=[other.convert("P")], duration=100, loop=0)
    tif = tmp_path / "pages.tiff"
    word.save(tif, save_all=True, append_images=[other])
    for path in (gif, tif):
        with Image.open(path) as im:
            assert sum(1 for _ in ImageSequence.Iterator(im)) == 2
        got = prepare(path)
        assert close(got, prepare(word)), path.name
        assert not close(got, prepare(other)), path.name


def test_exif_orientation_is_honoured(tmp_path, word) -> None:
    """A phone photo stored sideways with an EXIF 'rotate 90' tag reads like the upright word."""
    stored = word.convert("RGB").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    tagged = tmp_path / "phone.jpg"
    stored.save(tagged, format="JPEG", quality=95, exif=exif.tobytes())
    untagged = tmp_path / "phone-no-exif.jpg"
    stored.save(untagged, format="JPEG", quality=95)
    upright = prepare(word)
    assert close(prepare(tagged), upright)
    assert not close(prepare(untagged), upright)  # the tag made the difference


def test_devanagari_and_spaces_in_paths(rec, cli, tmp_path, word) -> None:
    folder = tmp_path / "मेरो कापी"
    folder.mkdir()
    path = folder / "पहिलो शब्द १.png"
    word.save(path)
    r = rec.recognize([path])[0]
    assert isinstance(r, Recognition)
    code, out, err = cli("recognize", str(path), str(path))
    assert code == 0 and err == ""
    assert out.splitlines() == [f"{path}\t{r.text}"] * 2
    missing = folder / "छैन यो.png"
    code, _out, err = cli("recognize", str(missing))
    assert code == 1 and "छैन यो.png" in err


# --- labels ----------------------------------------------------------------------------------

BAD_LABELS = {
    "Latin": "hello",
    "emoji": "नमस्ते😀",
    "mixed scripts": "घरhouse",
    "10,000 Latin characters": "x" * 10_000,
}


def test_label_normalisation_edge_cases() -> None:
    norm = DEFAULT_CHARSET.normalize_label
    assert norm("") == "" and norm(" \t\n ") == ""
    decomposed = "\u0915\u093c"  # क + nukta: NFC keeps it decomposed (क़ is a composition exclusion)
    assert norm("\u0958") == decomposed and norm(decomposed) == decomposed
    assert norm("\u0928\u093c") == "\u0929"  # न + nukta composes to ऩ
    assert norm("क\u200dष") == "कष" and norm("  घर \n पानी ") == "घर पानी"
    long_label = "क" * 10_000
    assert norm(long_label) == long_label


@pytest.mark.parametrize("case", list(BAD_LABELS))
def test_invalid_labels_are_refused_by_name(case: str) -> None:
    with pytest.raises(LabelError) as err:
        DEFAULT_CHARSET.normalize_label(BAD_LABELS[case])
    assert "U+" in str(err.value)  # the offending characters are named
    if case == "emoji":
        assert "U+1F600" in str(err.value)


@pytest.mark.parametrize("refuse", ["charset", "store"])
def test_message_for_a_very_long_invalid_label_stays_short(refuse: str, tmp_path) -> None:
    label = BAD_LABELS["10,000 Latin characters"]
    if refuse == "charset":
        with pytest.raises(LabelError) as err:
            DEFAULT_CHARSET.normalize_label(label)
    else:
        with SampleStore(tmp_path) as store, pytest.raises(InvalidSampleError) as err:
            store.add(np.zeros((20, 40), np.uint8), label)
    assert len(str(err.value)) <= MAX_MESSAGE


def test_store_refuses_invalid_labels_and_keeps_what_it_has(tmp_path, word) -> None:
    img = np.asarray(word)
    with SampleStore(tmp_path) as store:
        kept = store.add(img, "नमस्ते")
        for label in ["", "   ", "\u200d", *BAD_LABELS.values()]:
            with pytest.raises(InvalidSampleError) as err:
                store.add(img, label)
            assert str(err.value).strip()
        assert store.count() == 1 and store.get(kept).label == "नमस्ते"
        assert store.integrity_check()
        assert store.add(img, "\u0928\u093c") and store.list(newest_first=True)[0].label == "\u0929"
        long_id = store.add(img, "क" * 200)  # valid characters, as long as a line may be: stored intact
        assert store.get(long_id).label == "क" * 200
        with pytest.raises(InvalidSampleError, match="201 characters"):
            store.add(img, "क" * 201)
        assert store.count() == 3


# --- model files -----------------------------------------------------------------------------

class _Payload:
    """Unpickling this object creates a folder: proof that pickled code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


@pytest.fixture()
def bad_models(tmp_path, tiny_model_path) -> tuple[dict[str, Path], Path]:
    """Model files that must be refused, by case name, and the marker a payload would create."""
    marker = tmp_path / "payload-ran"
    good = tiny_model_path.read_bytes()
    d = tmp_path / "models"
    d.mkdir()
    m: dict[str, Path] = {"missing": d / "missing.pt", "folder": d / "folder.pt"}
    m["folder"].mkdir()
    m["empty"] = d / "empty.pt"
    m["empty"].write_bytes(b"")
    m["truncated"] = d / "truncated.pt"
    m["truncated"].write_bytes(good[: len(good) // 2])
    m["tail cut"] = d / "tail.pt"
    m["tail cut"].write_bytes(good[:-64])
    m["random zip"] = d / "random.pt"
    with zipfile.ZipFile(m["random zip"], "w") as z:
        z.writestr("readme.txt", "x" * 5000)
    m["state dict"] = d / "state_dict.pt"
    torch.save(CRNN(DEFAULT_CHARSET.num_classes).state_dict(), m["state dict"])
    m["plain pickle"] = d / "pickle.pt"
    m["plain pickle"].write_bytes(pickle.dumps([_Payload(marker), b"\0" * 4096]))
    m["torch.save payload"] = d / "payload.pt"
    torch.save({"weights": torch.zeros(2048), "x": _Payload(marker)}, m["torch.save payload"])
    # the payload inside a file that carries valid nepocr metadata, and inside a real model
    meta = read_info(tiny_model_path).to_json()
    m["payload with metadata"] = d / "payload-meta.pt"
    with zipfile.ZipFile(m["torch.save payload"]) as src, zipfile.ZipFile(m["payload with metadata"], "w") as z:
        for name in src.namelist():
            z.writestr(name, src.read(name))
        z.writestr(src.namelist()[0].split("/")[0] + "/extra/nepocr.json", meta)
    m["payload in TorchScript"] = d / "payload-ts.pt"
    with zipfile.ZipFile(tiny_model_path) as src, zipfile.ZipFile(m["payload in TorchScript"], "w") as z:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith(("/data.pkl", "/constants.pkl")):
                data = pickle.dumps(_Payload(marker), protocol=2)
            z.writestr(name, data)
    # a model whose network has another output size than its charset says
    info = read_info(tiny_model_path)
    m["output size mismatch"] = d / "mismatch.pt"
    save_model(CRNN(DEFAULT_CHARSET.num_classes - 20, info.spec), info, m["output size mismatch"])
    return m, marker


def test_payload_really_runs_when_unpickled(tmp_path) -> None:
    marker = tmp_path / "sanity"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.is_dir()


def test_bad_model_files_raise_model_error_without_running_code(bad_models) -> None:
    models, marker = bad_models
    for case, path in models.items():
        with pytest.raises(ModelError) as err:
            load_model(path)
        one_line(str(err.value), path.name)
        assert not marker.exists(), f"{case}: pickled code was executed"
    assert "does not match" in str(pytest.raises(ModelError, load_model, models["output size mismatch"]).value)
    assert "not found" in str(pytest.raises(ModelError, load_model, models["missing"]).value)


def test_cli_and_recognizer_refuse_bad_models(bad_models, cli, word, tmp_path) -> None:
    models, marker = bad_models
    img = tmp_path / "w.png"
    word.save(img)
    for case in ("truncated", "state dict", "payload in TorchScript", "output size mismatch"):
        with pytest.raises(ModelError):
            Recognizer(models[case], device="cpu")
        code, out, err = cli("recognize", str(img), model=models[case])
        assert code == 1 and out == "", case
        assert err.startswith("nepocr: error: ") and models[case].name in err
        one_line(err)
    assert not marker.exists()


def test_library_falls_back_when_the_active_model_is_damaged(tmp_path, tiny_model_path) -> None:
    lib = ModelLibrary(tmp_path / "user-models", tiny_model_path)
    loaded = load_model(tiny_model_path)
    path = lib.add(loaded.module, loaded.info)
    assert lib.active().path == path
    path.write_bytes(path.read_bytes()[:4000])  # damaged on disk (e.g. a bad sector)
    active = lib.active()
    assert active.name == BUNDLED and active.warning and path.name in active.warning
    with pytest.raises(ModelError):
        lib.activate(path.name)  # an unusable file never becomes active


# --- the sample database ---------------------------------------------------------------------

def test_locked_database_gives_a_clear_error_and_loses_nothing(tmp_path) -> None:
    with SampleStore(tmp_path, timeout=0.3) as store:
        first = store.add(np.full((20, 40), 200, np.uint8), "घर")
        other = sqlite3.connect(store.path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(LockedStoreError) as err:
                store.add(np.zeros((20, 40), np.uint8), "पानी")
            one_line(str(err.value))
            assert "in use" in str(err.value)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert [s.id for s in store.list()] == [first]
        store.add(np.zeros((20, 40), np.uint8), "पानी")  # works again once the lock is gone
        assert store.count() == 2 and store.integrity_check()


@pytest.mark.parametrize("damage", ["random bytes", "text file", "torn copy"])
def test_corrupt_database_is_reported_and_left_untouched(tmp_path, damage) -> None:
    path = tmp_path / "samples.sqlite3"
    if damage == "random bytes":
        path.write_bytes(np.random.default_rng(1).bytes(8192))
    elif damage == "text file":
        path.write_text("these are my notes\n" * 100, encoding="utf-8")
    else:
        with SampleStore(path) as store:
            rng = np.random.default_rng(2)
            for i in range(30):
                store.add(rng.integers(0, 255, (64, 200), dtype=np.uint8), "घर")
        data = path.read_bytes()
        path.write_bytes(data[:4096] + b"\xa5" * (len(data) - 4096))  # schema page kept, rows garbled
        for extra in tmp_path.glob("samples.sqlite3-*"):
            extra.unlink()
    digest = sha(path)
    try:
        with SampleStore(path) as store:
            sound = store.integrity_check()
            if sound:  # the damage must show up when the rows are read
                store.training_pairs()
            assert not sound
    except CorruptStoreError as exc:
        assert str(path) in str(exc) and "damaged" in str(exc)
    assert sha(path) == digest  # never rewritten or deleted


# --- a full disk and a killed process (in subprocesses) ---------------------------------------

def _run_py(code: str, timeout: float = 60.0, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=False, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=env, **kw)


FULL_DISK_STORE = """
    import resource, signal, sys
    import numpy as np
    from nepocr_desktop.lib.storage.store import SampleStore, StoreWriteError
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG
    store = SampleStore(sys.argv[1])
    size = store.path.stat().st_size
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 4096, size + 4096))
    noise = np.random.default_rng(5).integers(0, 255, (400, 400), dtype=np.uint8)
    try:
        store.add(noise, "घर")
    except StoreWriteError as exc:
        print("refused:", exc)
    print("count:", store.count(), "sound:", store.integrity_check())
"""


def test_full_disk_while_saving_a_sample(tmp_path) -> None:
    with SampleStore(tmp_path) as store:
        ids = [store.add(np.full((30, 60), 40 * i, np.uint8), lbl) for i, lbl in enumerate(["घर", "पानी"])]
    res = _run_py(FULL_DISK_STORE.replace("sys.argv[1]", repr(str(tmp_path))))
    assert res.returncode == 0, res.stderr[-2000:]
    refused = [ln for ln in res.stdout.splitlines() if ln.startswith("refused:")]
    assert len(refused) == 1 and "Nothing was changed" in refused[0]
    one_line(refused[0])
    assert "count: 2 sound: True" in res.stdout
    with SampleStore(tmp_path) as store:
        assert [s.id for s in store.list(newest_first=False)] == ids and store.integrity_check()


FULL_DISK_MODEL = """
    import resource, signal, sys
    from pathlib import Path
    import torch
    torch.set_num_threads(1)
    from nepocr_desktop.lib.storage.library import ModelLibrary
    from nepocr_desktop.lib.read.modelio import load_model
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    folder, bundled = Path(sys.argv[1]), Path(sys.argv[2])
    lib = ModelLibrary(folder, bundled)
    loaded = load_model(bundled)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))   # the disk fills up mid-file
    try:
        lib.add(loaded.module, loaded.info)
    except Exception as exc:
        print("refused:", type(exc).__name__, exc)
    print("still running; active:", lib.active().name)
"""


def test_full_disk_while_saving_a_model(tmp_path, tiny_model_path) -> None:
    folder = tmp_path / "user-models"
    lib = ModelLibrary(folder, tiny_model_path)
    loaded = load_model(tiny_model_path)
    first = lib.add(loaded.module, loaded.info)
    digest = sha(first)
    code = FULL_DISK_MODEL.replace("sys.argv[1]", repr(str(folder))).replace("sys.argv[2]", repr(str(tiny_model_path)))
    res = _run_py(code)
    assert lib.active().path == first and sha(first) == digest  # nothing lost, whatever happened
    assert [p.name for p in folder.glob("*.pt")] == [first.name]
    assert res.returncode == 0, res.stderr[-1500:]
    assert f"active: {first.name}" in res.stdout
    refused = [ln for ln in res.stdout.splitlines() if ln.startswith("refused:")]
    assert len(refused) == 1
    one_line(refused[0])


KILLED_FINETUNE = """
    import sys
    from pathlib import Path
    import torch
    torch.set_num_threads(1)
    from nepocr_desktop.lib.training.finetune import FinetuneConfig, finetune
    from nepocr_desktop.lib.storage.library import ModelLibrary
    from nepocr_desktop.lib.read.modelio import load_model
    from nepocr_desktop.lib.storage.store import SampleStore
    from nepocr_desktop.paths import fonts_dir
    folder, bundled, db = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    lib = ModelLibrary(folder, bundled)
    store = SampleStore(db)
    pairs = store.training_pairs()
    fonts = sorted(fonts_dir().glob("*.ttf"))
    def on_step(step, total, loss):
        store.mark_used([1])            # writes to the database while training
        print("step", step, flush=True)
    res = finetune(load_model(lib.active().path), pairs, ["घर", "पानी", "नमस्ते"], fonts,
                   FinetuneConfig(epochs=50, steps_per_epoch=50, batch_size=4, replay=0.0),
                   on_step=on_step)
    lib.add(res.model, res.info)
    print("finished", flush=True)
"""


def test_process_killed_during_finetuning_loses_nothing(tmp_path, tiny_model_path, render_word) -> None:
    folder, db = tmp_path / "user-models", tmp_path / "data"
    lib = ModelLibrary(folder, tiny_model_path)
    loaded = load_model(tiny_model_path)
    active = lib.add(loaded.module, loaded.info)
    digest = sha(active)
    with SampleStore(db) as store:
        for text in ["घर", "पानी", "नमस्ते", "घर", "पानी", "नमस्ते"]:
            store.add(np.asarray(render_word(text, size=32)), text)
    code = KILLED_FINETUNE
    for i, arg in enumerate([folder, tiny_model_path, db], start=1):
        code = code.replace(f"sys.argv[{i}]", repr(str(arg)))
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    errors = tmp_path / "stderr.txt"
    with open(errors, "w") as err_file:
        proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=err_file, text=True)
    try:
        steps = 0
        deadline = time.monotonic() + 90
        while steps < 3 and time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                line = proc.stdout.readline()
                steps += line.startswith("step")
        assert steps == 3, errors.read_text()[-2000:] or "no progress"
        proc.send_signal(signal.SIGKILL)  # mid-training, while it also writes to the database
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    now = lib.active()
    assert now.path == active and now.warning is None and sha(active) == digest
    assert all(e.error is None for e in lib.entries())
    load_model(now.path)
    with SampleStore(db) as store:
        assert store.integrity_check() and store.count() == 6
        assert store.get(1).used_in_training >= 3
        assert [t for _, t in store.training_pairs()] == ["घर", "पानी", "नमस्ते"] * 2


# --- properties ------------------------------------------------------------------------------

LABEL_ALPHABET = NEPALI_CHARS + "\u200c\u200d\ufeff\u00ad\t\n" + "".join(map(chr, range(0x0958, 0x0960)))
labels = st.text(alphabet=st.sampled_from(LABEL_ALPHABET), max_size=24)


def _is_mark(c: str) -> bool:
    return unicodedata.category(c) in ("Mn", "Mc")


@settings(max_examples=200, deadline=None)
@given(labels)
@example("\u0928\u200d\u093c")
def test_label_normalisation_is_idempotent_nfc_and_joiner_free(text: str) -> None:
    once = DEFAULT_CHARSET.normalize_label(text)
    assert DEFAULT_CHARSET.normalize_label(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert "\u200c" not in once and "\u200d" not in once
    assert once == once.strip() and "  " not in once


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(LABEL_ALPHABET.replace("\u200c", "").replace("\u200d", "")),
               max_size=24))
def test_label_normalisation_properties_without_joiners(text: str) -> None:
    once = DEFAULT_CHARSET.normalize_label(text)
    assert DEFAULT_CHARSET.normalize_label(once) == once
    assert unicodedata.is_normalized("NFC", once)


AKSHARA_ALPHABET = (CONSONANTS * 3 + VOWEL_SIGNS * 2 + VIRAMA * 3 + NUKTA + MODIFIERS
                    + "अआइउएओ" + "०१२ .।" + "\u200c\u200d")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(AKSHARA_ALPHABET), max_size=30))
@example("\u093eक")   # a mark at the very start stands alone
@example("क \u093e")  # a mark after a space starts a new piece
@example("क्\u200dष")
def test_akshara_split_covers_the_text_and_attaches_marks(text: str) -> None:
    pieces = split_aksharas(text)
    assert "".join(pieces) == text
    assert all(pieces)
    pos = 0
    for piece in pieces:
        if pos > 0 and _is_mark(piece[0]):
            # a mark only begins a piece at the start of the text or of a word
            assert text[pos - 1].isspace(), (text, pieces)
        pos += len(piece)


def _collapse(path: list[int]) -> list[int]:
    out, prev = [], 0
    for k in path:
        if k != 0 and k != prev:
            out.append(k)
        prev = k
    return out


@st.composite
def posteriors(draw, peak: float | None = None) -> np.ndarray:
    t = draw(st.integers(1, 30))
    c = draw(st.integers(2, 7))
    best = draw(st.lists(st.integers(0, c - 1), min_size=t, max_size=t))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(c), size=t)
    if peak is not None:  # the drawn label gets `peak`, the rest share what is left
        rest = rng.dirichlet(np.ones(c - 1), size=t) * (1 - peak)
        p = np.empty((t, c))
        for i, k in enumerate(best):
            p[i, k] = peak
            p[i, [j for j in range(c) if j != k]] = rest[i]
    return np.log(np.clip(p, 1e-12, None))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(posteriors())
def test_greedy_decode_is_the_collapsed_best_path(lp: np.ndarray) -> None:
    d = greedy_decode(lp)
    assert 0 not in d.labels
    assert d.labels == _collapse([int(k) for k in lp.argmax(axis=1)])
    assert len(d.confidences) == len(d.labels) and all(0 < c <= 1 for c in d.confidences)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(posteriors(peak=0.98))
def test_beam_of_one_equals_greedy_when_the_best_path_dominates(lp: np.ndarray) -> None:
    """With every frame's best label at 0.98 and at most 30 frames, the best path holds over
    half of the probability, so a one-wide beam must keep it (the two can differ on flat
    posteriors, where prefix search sums over alignments)."""
    assert beam_decode(lp, beam=1)[0].labels == greedy_decode(lp).labels



# --- formats, file types and truncated data (images) -----------------------------------------

POSTSCRIPT = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n/Helvetica findfont 12 scalefont setfont\n" \
             b"10 10 moveto (file) show showpage\n%%EOF\n"


def test_postscript_eps_and_pdf_are_never_opened(tmp_path, monkeypatch) -> None:
    import PIL.EpsImagePlugin as eps

    monkeypatch.setattr(eps, "Ghostscript", lambda *a, **k: pytest.fail("Ghostscript was started"))
    cases = {"drawing.png": POSTSCRIPT, "scan.eps": POSTSCRIPT, "page.pdf": b"%PDF-1.4\n" + b"x" * 2000}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ImageError) as err:
            load_gray(path)
        one_line(str(err.value), name)
        assert "not a supported image format" in str(err.value)
        with pytest.raises(ImageError):
            load_gray(data)


def test_truncated_jpeg_claiming_a_huge_frame_is_refused(tmp_path) -> None:
    big = Image.new("L", (7000, 8000), 255)
    buf = io.BytesIO()
    big.save(buf, format="JPEG", quality=30)
    data = buf.getvalue()
    assert struct.unpack(">HH", data[data.index(b"\xff\xc0") + 5:data.index(b"\xff\xc0") + 9]) == (8000, 7000)
    cut = data[:845] + b"\xff\xd9"  # 847 bytes, with an end-of-image marker
    for name, payload in (("cut-eoi.jpg", cut), ("cut.jpg", data[:847])):
        path = tmp_path / name
        path.write_bytes(payload)
        t0 = time.perf_counter()
        with pytest.raises(ImageError) as err:
            load_gray(path)
        assert time.perf_counter() - t0 < 5
        one_line(str(err.value), name)
        assert "truncated" in str(err.value)


@pytest.mark.skipif(os.name != "posix", reason="FIFOs, /dev and /proc are POSIX")
def test_special_files_and_bad_names_get_their_own_message(tmp_path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    cases = {
        str(fifo): "not a regular file",
        "/dev/urandom": "not a regular file",
        "/proc/self/status": "not a regular file",
        "": "no file name given",
        str(loop): "symbolic link loop",
        str(tmp_path / ("x" * 300 + ".png")): "name is too long",
        str(tmp_path / "nul\0.png"): "not a valid file name",
    }
    for path, words in cases.items():
        if path.startswith("/proc") and not Path("/proc/self/status").exists():
            continue
        t0 = time.perf_counter()
        with pytest.raises(ImageError) as err:
            load_gray(path)
        assert time.perf_counter() - t0 < 2, path  # a FIFO is never opened
        assert words in str(err.value) and "damaged" not in str(err.value), (path, str(err.value))
        one_line(str(err.value))


def test_a_batch_with_a_bad_file_reads_the_rest_in_json(cli, tmp_path, word) -> None:
    good = tmp_path / "a.png"
    word.save(good)
    ps = tmp_path / "b.png"
    ps.write_bytes(POSTSCRIPT)
    code, out, _err = cli("recognize", str(good), str(ps), str(good), "--json")
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["path"] for r in rows] == [str(good), str(ps), str(good)]
    assert "text" in rows[0] and "text" in rows[2] and set(rows[1]) == {"path", "error"}
    assert "not a supported image format" in rows[1]["error"]
