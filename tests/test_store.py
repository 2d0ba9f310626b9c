"""Tests for the SQLite sample store."""

from __future__ import annotations

import io
import os
import sqlite3
import threading
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nepocr_desktop.lib.storage import store as store_mod
from nepocr_desktop.lib.storage.store import (
    DB_NAME,
    SCHEMA_VERSION,
    THUMB_HEIGHT,
    CorruptStoreError,
    InvalidSampleError,
    LockedStoreError,
    SampleNotFoundError,
    SampleStore,
    StoreError,
    StoreWriteError,
)
from nepocr_desktop.paths import user_data_dir

LABELS = ["नमस्ते", "काठमाडौं", "नेपाल", "१२३", "क्षत्रिय"]


def noise(seed: int, h: int = 40, w: int = 120) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w), dtype=np.uint8)


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def store(tmp_path: Path):
    with SampleStore(tmp_path / DB_NAME, timeout=0.2) as s:
        yield s


# --- CRUD ---------------------------------------------------------------------------------

def test_add_accepts_every_image_kind_and_keeps_pixels(store: SampleStore, tmp_path: Path) -> None:
    arr = noise(1)
    path = tmp_path / "in.png"
    Image.fromarray(arr).save(path)
    rgb = np.stack([arr] * 3, axis=-1)
    ids = [
        store.add(arr, LABELS[0]),
        store.add(Image.fromarray(arr), LABELS[1], source="import"),
        store.add(png_bytes(arr), LABELS[2], source="page"),
        store.add(path, LABELS[3], source="folder"),
        store.add(str(path), LABELS[4]),
    ]
    assert len(set(ids)) == 5
    for i in ids:
        np.testing.assert_array_equal(store.image(i), arr)
    from_rgb = store.image(store.add(rgb, LABELS[0]))  # colour is converted to gray
    assert from_rgb.shape == arr.shape
    assert np.abs(from_rgb.astype(int) - arr).max() <= 1
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=95)
    jid = store.add(buf.getvalue(), LABELS[1])
    jpeg = store.image(jid)
    assert jpeg.shape == arr.shape and jpeg.dtype == np.uint8
    assert store.count() == 7


def test_get_returns_metadata_and_thumbnail(store: SampleStore) -> None:
    sid = store.add(noise(2, 64, 300), "नेपाल", prediction="नेपार", source="page",
                    meta={"page": 3, "box": [1, 2, 3, 4]})
    s = store.get(sid)
    assert (s.id, s.label, s.prediction, s.source) == (sid, "नेपाल", "नेपार", "page")
    assert s.meta == {"page": 3, "box": [1, 2, 3, 4]}
    assert (s.width, s.height) == (300, 64)
    assert s.used_in_training == 0
    assert s.created.endswith("+00:00") and "T" in s.created
    thumb = s.thumbnail_array()
    assert thumb.shape == (THUMB_HEIGHT, 150)
    assert store.get(store.add(noise(3), "क")).meta is None


def test_list_filters_orders_and_pages(store: SampleStore) -> None:
    ids = [store.add(noise(i), lab, prediction="नेपाल" if i == 0 else "",
                     source="canvas" if i % 2 else "page")
           for i, lab in enumerate(LABELS)]
    listed = store.list()
    assert [s.id for s in listed] == ids[::-1]
    assert all(s.thumbnail.startswith(b"\x89PNG") for s in listed)
    assert [s.id for s in store.list(newest_first=False)] == ids
    assert {s.id for s in store.list(filter_text="नेपाल")} == {ids[0], ids[2]}  # label or prediction
    assert [s.id for s in store.list(source="canvas")] == [ids[3], ids[1]]
    assert store.count(source="page") == 3 and store.count(filter_text="नेपाल") == 2
    assert [s.id for s in store.list(limit=2, offset=1)] == [ids[3], ids[2]]
    assert store.list(filter_text="झ") == []
    with pytest.raises(InvalidSampleError, match="source"):
        store.list(source="camera")


def test_update_label_mark_used_and_delete(store: SampleStore) -> None:
    a, b, c = (store.add(noise(i), LABELS[i]) for i in range(3))
    assert store.mark_used([a, b]) == 2
    assert store.mark_used(a) == 1
    assert store.get(a).used_in_training == 2 and store.get(c).used_in_training == 0
    assert store.update_label(a, LABELS[0]) == LABELS[0]  # same label keeps the count
    assert store.get(a).used_in_training == 2
    assert store.update_label(a, "  नयाँ   शब्द ") == "नयाँ शब्द"
    assert store.get(a).label == "नयाँ शब्द" and store.get(a).used_in_training == 0
    assert store.delete([b, c, 999]) == 2
    assert [s.id for s in store.list()] == [a]
    with pytest.raises(SampleNotFoundError, match=str(b)):
        store.get(b)
    with pytest.raises(SampleNotFoundError):
        store.image(c)
    with pytest.raises(SampleNotFoundError):
        store.update_label(b, "क")
    assert store.count() == 1


def test_training_pairs(store: SampleStore) -> None:
    ids = [store.add(noise(i), LABELS[i]) for i in range(3)]
    pairs = store.training_pairs()
    assert [lab for _, lab in pairs] == LABELS[:3]
    for i, (img, _) in enumerate(pairs):
        np.testing.assert_array_equal(img, noise(i))
    sub = store.training_pairs([ids[2], 12345])
    assert [lab for _, lab in sub] == [LABELS[2]]


def test_default_location_is_created_in_data_dir(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "not" / "yet"
    monkeypatch.setenv("NEPOCR_DATA_DIR", str(data))
    with SampleStore(user_data_dir() / DB_NAME) as s:
        s.add(noise(0), "क")
        assert s.path == data / DB_NAME
    assert (data / DB_NAME).is_file()
    with SampleStore(data) as again:  # a folder path means the database inside it
        assert again.count() == 1


def test_reopen_keeps_data_and_schema(tmp_path: Path) -> None:
    with SampleStore(tmp_path) as s:
        sid = s.add(noise(0), "क")
    with SampleStore(tmp_path) as s:
        assert s.get(sid).label == "क"
    con = sqlite3.connect(tmp_path / DB_NAME)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_closed_store_refuses_use(tmp_path: Path) -> None:
    with SampleStore(tmp_path) as s:
        pass
    with pytest.raises(StoreError, match="closed"):
        s.count()


# --- labels -------------------------------------------------------------------------------

def test_non_nfc_label_is_stored_nfc(store: SampleStore) -> None:
    raw = "\u0928\u093c\u0947\u200d\u092a\u093e\u0932"  # decomposed NNNA, ZWJ
    assert unicodedata.normalize("NFC", raw) != raw
    s = store.get(store.add(noise(0), raw))
    assert s.label == "\u0929\u0947\u092a\u093e\u0932"
    assert unicodedata.is_normalized("NFC", s.label)
    sid = store.add(noise(1), "क")
    assert store.update_label(sid, raw) == s.label


@pytest.mark.parametrize(("label", "names"), [
    ("hello", ["'h'", "U+0068"]),
    ("नमस्ते😀", ["😀", "U+1F600"]),
    ("कAख", ["'A'", "U+0041"]),
])
def test_foreign_characters_are_rejected_by_name(store: SampleStore, label: str,
                                                 names: list[str]) -> None:
    with pytest.raises(InvalidSampleError) as err:
        store.add(noise(0), label)
    for n in names:
        assert n in str(err.value)
    assert store.count() == 0
    sid = store.add(noise(0), "क")
    with pytest.raises(InvalidSampleError):
        store.update_label(sid, label)
    assert store.get(sid).label == "क"


def test_other_bad_inputs_are_rejected(store: SampleStore) -> None:
    with pytest.raises(InvalidSampleError, match="empty"):
        store.add(noise(0), " \u200d ")
    with pytest.raises(InvalidSampleError, match="source"):
        store.add(noise(0), "क", source="camera")
    with pytest.raises(InvalidSampleError, match="image"):
        store.add(b"not an image at all", "क")
    with pytest.raises(InvalidSampleError, match="JSON"):
        store.add(noise(0), "क", meta={"x": object()})
    assert store.count() == 0


# --- import / export ----------------------------------------------------------------------

def test_export_import_round_trip(store: SampleStore, tmp_path: Path) -> None:
    shapes = [(40, 120), (32, 32), (80, 500), (50, 70), (20, 200)]
    ids = [store.add(noise(i, *shapes[i]), LABELS[i]) for i in range(5)]
    store.delete(ids[1])  # ids need not be contiguous
    out = tmp_path / "export"
    assert store.export_folder(out) == 4
    assert sorted(p.name for p in out.iterdir()) == ["images", "labels.tsv"]
    assert not list(tmp_path.glob(".export*"))  # temporary folder is gone

    with SampleStore(tmp_path / "other" / DB_NAME) as fresh:
        report = fresh.import_folder(out)
        assert report.added_count == 4 and report.skipped == []
        got = fresh.training_pairs()
        assert [s.source for s in fresh.list()] == ["folder"] * 4
        assert fresh.list(newest_first=False)[0].meta == {"imported_from": f"images/{ids[0]}.png"}
    want = [(noise(i, *shapes[i]), LABELS[i]) for i in (0, 2, 3, 4)]
    assert [lab for _, lab in got] == [lab for _, lab in want]
    for (g, _), (w, _) in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def test_export_refuses_non_empty_folder(store: SampleStore, tmp_path: Path) -> None:
    store.add(noise(0), "क")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(StoreError, match="not empty"):
        store.export_folder(out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert store.export_folder(empty) == 1
    assert (empty / "labels.tsv").read_text(encoding="utf-8") == "images/1.png\tक\n"


@pytest.mark.parametrize("bad", ["../outside.png", "ABSOLUTE"])
def test_import_refuses_paths_leaving_the_folder(store: SampleStore, tmp_path: Path,
                                                 bad: str) -> None:
    outside = tmp_path / "outside.png"
    Image.fromarray(noise(0)).save(outside)
    ds = tmp_path / "ds"
    ds.mkdir()
    Image.fromarray(noise(1)).save(ds / "ok.png")
    rel = str(outside) if bad == "ABSOLUTE" else bad
    (ds / "labels.tsv").write_text(f"ok.png\tक\n{rel}\tख\n", encoding="utf-8")
    with pytest.raises(InvalidSampleError, match="outside.png"):
        store.import_folder(ds)
    assert store.count() == 0


def test_import_skips_bad_rows_and_reports_them(store: SampleStore, tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    ds.mkdir()
    Image.fromarray(noise(0)).save(ds / "good.png")
    Image.fromarray(noise(1)).save(ds / "latin.png")
    (ds / "broken.png").write_bytes(b"\x89PNG garbage")
    (ds / "labels.tsv").write_text(
        "# comment\ngood.png\tनेपाल\nbroken.png\tक\nlatin.png\tabc\nmissing.png\tख\n",
        encoding="utf-8")
    report = store.import_folder(ds)
    assert report.added_count == 1
    assert sorted(s.path for s in report.skipped) == ["broken.png", "latin.png", "missing.png"]
    assert all(s.reason for s in report.skipped)
    assert "'a'" in next(s.reason for s in report.skipped if s.path == "latin.png")
    assert "skipped 3" in report.summary()
    assert [s.label for s in store.list()] == ["नेपाल"]


def test_import_gt_pairs_and_empty_folder(store: SampleStore, tmp_path: Path) -> None:
    ds = tmp_path / "pairs"
    ds.mkdir()
    Image.fromarray(noise(0)).save(ds / "a.png")
    (ds / "a.gt.txt").write_text("काठमाडौं\n", encoding="utf-8")
    assert store.import_folder(ds).added_count == 1
    assert store.list()[0].label == "काठमाडौं"
    (tmp_path / "nothing").mkdir()
    with pytest.raises(InvalidSampleError, match="no labels.tsv"):
        store.import_folder(tmp_path / "nothing")


# --- concurrency --------------------------------------------------------------------------

def test_concurrent_readers_see_consistent_data(tmp_path: Path) -> None:
    singles, batches, batch = 100, 10, 10  # 200 samples: 100 single adds, 10 imports of 10
    n = singles + batches * batch
    img = noise(0, 16, 24)

    def label(sample_id: int) -> str:
        return "क" * ((sample_id - 1) % 7 + 1)

    folders = []
    for b in range(batches):
        folder = tmp_path / f"batch{b}"
        folder.mkdir()
        rows = []
        for j in range(batch):
            sid = singles + b * batch + j + 1
            Image.fromarray(img).save(folder / f"{j}.png")
            rows.append(f"{j}.png\t{label(sid)}\n")
        (folder / "labels.tsv").write_text("".join(rows), encoding="utf-8")
        folders.append(folder)

    store = SampleStore(tmp_path, timeout=5)
    second = SampleStore(tmp_path, timeout=5)  # separate connection, like a second window
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(singles):
                store.add(img, label(i + 1), meta={"n": i})
            for folder in folders:
                store.import_folder(folder)
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            errors.append(exc)
        finally:
            done.set()

    def reader(s: SampleStore, seen: list[int]) -> None:
        try:
            while True:
                finished = done.is_set()
                rows = s.list(newest_first=False)
                ids = [r.id for r in rows]
                assert ids == list(range(1, len(ids) + 1)), "a snapshot must be a prefix"
                assert len(ids) <= singles or (len(ids) - singles) % batch == 0, \
                    "a half-finished import was visible"
                for r in rows:
                    assert r.label == label(r.id)
                    if r.id <= singles:
                        assert r.meta == {"n": r.id - 1}
                assert not seen or len(ids) >= seen[-1], "a later snapshot lost rows"
                seen.append(len(ids))
                if finished:
                    break
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    seen_a: list[int] = []
    seen_b: list[int] = []
    threads = [threading.Thread(target=writer),
               threading.Thread(target=reader, args=(store, seen_a)),
               threading.Thread(target=reader, args=(second, seen_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert not errors, errors
        assert seen_a[-1] == n and seen_b[-1] == n
        assert store.count() == n and store.integrity_check()
    finally:
        store.close()
        second.close()


# --- damaged, locked and failing databases ------------------------------------------------

def test_random_bytes_file_is_reported_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / DB_NAME
    data = os.urandom(16384)
    db.write_bytes(data)
    with pytest.raises(CorruptStoreError) as err:
        SampleStore(db)
    msg = str(err.value)
    assert str(db) in msg and "untouched" in msg
    assert db.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == [DB_NAME]


def test_malformed_database_is_reported_and_left_untouched(tmp_path: Path) -> None:
    with SampleStore(tmp_path) as s:
        for i in range(30):
            s.add(noise(i, 60, 200), "क")
    db = tmp_path / DB_NAME
    raw = bytearray(db.read_bytes())
    page = int.from_bytes(raw[16:18], "big")
    rng = np.random.default_rng(0)
    raw[page:] = rng.integers(0, 256, size=len(raw) - page, dtype=np.uint8).tobytes()
    db.write_bytes(bytes(raw))
    before = db.read_bytes()
    with SampleStore(db) as s:  # page 1 is intact, so opening works
        assert not s.integrity_check()
        with pytest.raises(CorruptStoreError, match="untouched"):
            s.list()
        with pytest.raises(CorruptStoreError):
            s.training_pairs()
    assert db.read_bytes() == before


def test_newer_or_foreign_database_is_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite3"
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    data = newer.read_bytes()
    with pytest.raises(CorruptStoreError, match="newer version"):
        SampleStore(newer)
    assert newer.read_bytes() == data

    foreign = tmp_path / "foreign.sqlite3"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE contacts (name TEXT)")
    con.commit()
    con.close()
    data = foreign.read_bytes()
    with pytest.raises(CorruptStoreError, match="not a nepocr sample database"):
        SampleStore(foreign)
    assert foreign.read_bytes() == data


def test_locked_database_times_out_without_data_loss(store: SampleStore) -> None:
    ids = [store.add(noise(i), LABELS[i]) for i in range(3)]
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        with pytest.raises(LockedStoreError, match="another program"):
            store.add(noise(9), "क")
        assert time.monotonic() - t0 < 3
        with pytest.raises(LockedStoreError):
            store.delete(ids)
        assert store.count() == 3  # readers are not blocked in WAL mode
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [s.label for s in store.list(newest_first=False)] == LABELS[:3]
    store.add(noise(9), "क")
    assert store.count() == 4 and store.integrity_check()


def test_disk_full_rolls_back_and_keeps_earlier_samples(store: SampleStore) -> None:
    ids = [store.add(noise(i), LABELS[i]) for i in range(3)]
    con = store._conn()
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.execute(f"PRAGMA max_page_count = {pages + 1}")  # the database cannot grow further
    with pytest.raises(StoreWriteError, match="full"):
        store.add(noise(7, 400, 400), "क")  # incompressible, needs many pages
    con.execute("PRAGMA max_page_count = 1073741823")
    assert store.count() == 3 and store.integrity_check()
    for i, sid in enumerate(ids):
        np.testing.assert_array_equal(store.image(sid), noise(i))
    store.add(noise(7, 400, 400), "क")
    assert store.count() == 4


@pytest.mark.parametrize(("message", "expect"), [
    ("database or disk is full", "full"),
    ("attempt to write a readonly database", "read-only"),
    ("disk I/O error", "disk error"),
])
def test_failure_mid_import_rolls_back_every_row(store: SampleStore, tmp_path: Path, monkeypatch,
                                                 message: str, expect: str) -> None:
    store.add(noise(0), "क")
    ds = tmp_path / "ds"
    ds.mkdir()
    for i in range(5):
        Image.fromarray(noise(i + 1)).save(ds / f"{i}.png")
    (ds / "labels.tsv").write_text("".join(f"{i}.png\tख\n" for i in range(5)), encoding="utf-8")

    real = store_mod._insert_row
    calls = {"n": 0}

    def failing(con, row, created):
        calls["n"] += 1
        if calls["n"] == 3:
            raise sqlite3.OperationalError(message)
        return real(con, row, created)

    monkeypatch.setattr(store_mod, "_insert_row", failing)
    with pytest.raises(StoreWriteError, match=expect) as err:
        store.import_folder(ds)
    assert "earlier samples are safe" in str(err.value) or "Nothing was changed" in str(err.value)
    assert calls["n"] == 3
    monkeypatch.setattr(store_mod, "_insert_row", real)
    assert [s.label for s in store.list()] == ["क"]
    assert store.integrity_check()
    assert store.import_folder(ds).added_count == 5


def test_failure_during_add_keeps_store_usable(store: SampleStore, monkeypatch) -> None:
    store.add(noise(0), "क")

    def boom(con, row, created):
        con.execute("INSERT INTO samples (label, source, created, width, height, thumb, image) "
                    "VALUES ('x', 'canvas', 'now', 1, 1, x'00', x'00')")
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store_mod, "_insert_row", boom)
    with pytest.raises(StoreWriteError):
        store.add(noise(1), "ख")
    monkeypatch.undo()
    assert [s.label for s in store.list()] == ["क"]  # the partial insert was rolled back
    assert store.integrity_check()
    store.add(noise(1), "ख")
    assert store.count() == 2


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs a non-root POSIX user for file permissions")
def test_read_only_folder_gives_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(StoreWriteError):
            SampleStore(folder / DB_NAME)
    finally:
        folder.chmod(0o700)



def test_add_many_stores_all_in_one_transaction_or_nothing(store: SampleStore) -> None:
    ids = store.add_many([(noise(i), LABELS[i], "x", {"word": i}) for i in range(3)], source="page")
    assert len(ids) == 3 and store.count() == 3
    samples = {s.id: s for s in store.list()}
    assert [samples[i].label for i in ids] == LABELS[:3] and {s.source for s in samples.values()} == {"page"}
    assert len({s.created for s in samples.values()}) == 1
    with pytest.raises(InvalidSampleError):  # one bad label: nothing is stored
        store.add_many([(noise(5), LABELS[3], "", None), (noise(6), "abc§", "", None)])
    assert store.count() == 3
    new = store.add_many([(noise(7), LABELS[4], "", None)], replace=[ids[0]])  # a word saved again
    assert store.count() == 3 and ids[0] not in {s.id for s in store.list()} and len(new) == 1
    assert store.add_many([]) == []
