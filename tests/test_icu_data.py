"""tools/icu_data.py: reading, trimming and writing ICU common data packages."""

from __future__ import annotations

import shutil
import struct
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from icu_data import Package, data_symbol, keep, read_package, trim, write_package


def _package(names: list[str]) -> Package:
    header = struct.pack("<HBB", 32, 0xDA, 0x27) + b"\0" * 8 + b"CmnD" + b"\0" * 16
    return Package(header, [(n, bytes([i + 1]) * (16 * (i + 1))) for i, n in enumerate(names)])


NAMES = ["icudt73l/brkitr/word.brk", "icudt73l/cnvalias.icu", "icudt73l/coll/de.res",
         "icudt73l/coll/ne.res", "icudt73l/coll/root.res", "icudt73l/de_AT.res", "icudt73l/en_GB.res",
         "icudt73l/ibm-1252_P100-2000.cnv", "icudt73l/lang/pool.res", "icudt73l/ne.res",
         "icudt73l/pool.res", "icudt73l/supplementalData.res", "icudt73l/zoneinfo64.res"]


def test_keeps_the_app_locales_and_everything_that_is_not_a_locale():
    kept = [n for n in NAMES if keep(n)]
    assert kept == ["icudt73l/cnvalias.icu", "icudt73l/coll/ne.res", "icudt73l/coll/root.res",
                    "icudt73l/en_GB.res", "icudt73l/lang/pool.res", "icudt73l/ne.res", "icudt73l/pool.res",
                    "icudt73l/supplementalData.res", "icudt73l/zoneinfo64.res"]


def test_write_then_read_round_trips_and_trims():
    pkg = _package(NAMES)
    blob = write_package(pkg)
    again = read_package(blob)
    assert again.header == pkg.header and again.items == pkg.items
    small = read_package(write_package(trim(pkg)))
    assert [n for n, _ in small.items] == [n for n in NAMES if keep(n)]
    assert dict(small.items)["icudt73l/ne.res"] == dict(pkg.items)["icudt73l/ne.res"]
    # every item starts on a 16-byte boundary, as ICU expects
    toc = len(pkg.header)
    count = struct.unpack_from("<I", blob, toc)[0]
    assert all(struct.unpack_from("<II", blob, toc + 4 + 8 * i)[1] % 16 == 0 for i in range(count))


def test_refuses_what_is_not_a_package():
    with pytest.raises(ValueError, match="not an ICU"):
        read_package(b"\0" * 64)


def _qt_icu_data() -> Path | None:
    qt = pytest.importorskip("PySide6")
    found = sorted((Path(qt.__file__).parent / "Qt" / "lib").glob("libicudata.so.*"))
    return found[0] if found else None


@pytest.mark.skipif(not (sys.platform.startswith("linux") and shutil.which("nm") and shutil.which("readelf")),
                    reason="needs Linux binutils")
def test_qt_icu_data_round_trips_byte_for_byte():
    lib = _qt_icu_data()
    if lib is None:
        pytest.skip("this PySide6 has no libicudata")
    _symbol, offset, size = data_symbol(lib)
    blob = lib.read_bytes()[offset:offset + size]
    pkg = read_package(blob)
    assert write_package(pkg) == blob
    names = [n for n, _ in pkg.items]
    kept = [n for n in names if keep(n)]
    assert any(n.endswith("/coll/ucadata.icu") for n in kept)
    assert any(n.endswith("/ne.res") for n in kept) and not any(n.endswith("/de.res") for n in kept)
    assert trim(pkg).size < pkg.size / 4
