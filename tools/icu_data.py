"""Trim the ICU data library that ships with Qt to what the app can use.

Qt's ``libicudata.so.NN`` (30 MiB) is one ICU "common data" package: a table of contents of
named items (locale resource bundles, collation, break rules, code-page converters, time-zone
names ...) followed by the items. Qt Core calls ICU for case mapping, collation (QCollator),
legacy text codecs (QStringConverter) and time-zone names; the app itself uses none of them
beyond case mapping, whose tables are compiled into ``libicuuc``. The trimmed package keeps
the data of the root, English, Nepali and Hindi locales (collation, names of zones, currencies,
languages, regions and units), every non-locale item (likely subtags, plural rules, zoneinfo64,
normalisation, ...), and drops the other ~800 locales, break iterators (Qt does its own text
segmentation), transliterators, spelled-out numbers and the legacy code-page converters. Anything asked of a dropped item fails inside ICU with an
error code that Qt handles (ICU then falls back to the root locale), never a crash.

    python tools/icu_data.py LIBICUDATA OUT.so      # writes a trimmed copy, prints the sizes

Used by build.spec (Linux, needs gcc).
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

MAGIC = (0xDA, 0x27)
KEEP_LOCALES = ("root", "en", "ne", "hi")
DROP_TREES = ("brkitr", "rbnf", "translit")
LOCALE_RE = re.compile(r"[a-z]{2,3}(_[A-Za-z0-9]+)*$")


@dataclass
class Package:
    """An ICU common data package: its header (with copyright) and named items, in TOC order."""

    header: bytes
    items: list[tuple[str, bytes]]

    @property
    def size(self) -> int:
        return len(self.header) + sum(len(b) for _, b in self.items)


def read_package(blob: bytes) -> Package:
    """Parse a package (little-endian, as on x86 and ARM); ``blob`` is exactly the package."""
    header_size, m1, m2 = struct.unpack_from("<HBB", blob, 0)
    if (m1, m2) != MAGIC or blob[12:16] != b"CmnD":
        raise ValueError("not an ICU common data package")
    toc = header_size
    (count,) = struct.unpack_from("<I", blob, toc)
    entries = [struct.unpack_from("<II", blob, toc + 4 + 8 * i) for i in range(count)]
    items = []
    for i, (name_off, data_off) in enumerate(entries):
        name = blob[toc + name_off:blob.index(b"\0", toc + name_off)].decode("ascii")
        end = toc + entries[i + 1][1] if i + 1 < count else len(blob)
        items.append((name, blob[toc + data_off:end]))
    return Package(blob[:toc], items)


def write_package(pkg: Package) -> bytes:
    """Serialise ``pkg``: header, TOC (count, name/data offsets from the TOC), names, items
    aligned to 16 bytes and padded with 0xAA, as ICU's ``icupkg`` writes them."""
    names = b"".join(n.encode("ascii") + b"\0" for n, _ in pkg.items)
    toc_len = 4 + 8 * len(pkg.items)
    pos = toc_len + len(names)
    pad_names = (-(len(pkg.header) + pos)) % 16
    pos += pad_names
    entries, name_pos, body = [], toc_len, bytearray()
    for name, data in pkg.items:
        entries.append((name_pos, pos + len(body)))
        name_pos += len(name) + 1
        body += data + b"\xaa" * ((-len(data)) % 16)
    toc = struct.pack("<I", len(pkg.items)) + b"".join(struct.pack("<II", *e) for e in entries)
    return pkg.header + toc + names + b"\xaa" * pad_names + bytes(body)


def keep(name: str) -> bool:
    """Whether the trimmed package keeps the item ``name`` (e.g. ``icudt73l/coll/de.res``)."""
    parts = name.split("/")[1:]
    if not parts:
        return True
    if len(parts) > 1 and parts[0] in DROP_TREES:
        return False
    leaf = parts[-1]
    if leaf.endswith(".cnv"):
        return False
    if not leaf.endswith(".res") or leaf in ("pool.res", "res_index.res"):
        return True
    stem = leaf[:-4]
    if not LOCALE_RE.match(stem):
        return True  # supplementalData, zoneinfo64, likelySubtags, plurals, ...
    return any(stem == loc or stem.startswith(loc + "_") for loc in KEEP_LOCALES)


def trim(pkg: Package) -> Package:
    return Package(pkg.header, [(n, b) for n, b in pkg.items if keep(n)])


def data_symbol(lib: Path) -> tuple[str, int, int]:
    """The exported data symbol (``icudtNN_dat``) of an ICU data library: name, file offset, size."""
    out = subprocess.run(["nm", "-D", "-S", "--defined-only", str(lib)], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4 and re.fullmatch(r"icudt\d+_dat", f[3]):
            return f[3], _file_offset(lib, int(f[0], 16)), int(f[1], 16)
    raise ValueError(f"{lib} exports no icudtNN_dat symbol")


def _file_offset(lib: Path, vaddr: int) -> int:
    out = subprocess.run(["readelf", "-lW", str(lib)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            off, va, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
            if va <= vaddr < va + filesz:
                return vaddr - va + off
    raise ValueError(f"address {vaddr:#x} is in no loaded segment of {lib}")


def soname(lib: Path) -> str:
    out = subprocess.run(["readelf", "-dW", str(lib)], capture_output=True, text=True, check=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    return m.group(1) if m else lib.name


def build_trimmed_library(lib: Path, out: Path) -> tuple[int, int]:
    """Write a copy of the ICU data library ``lib`` holding the trimmed package to ``out``;
    returns (items before, items after)."""
    symbol, offset, size = data_symbol(lib)
    pkg = read_package(lib.read_bytes()[offset:offset + size])
    small = trim(pkg)
    with tempfile.TemporaryDirectory() as tmp:
        dat, asm = Path(tmp) / "icu.dat", Path(tmp) / "icu.S"
        dat.write_bytes(write_package(small))
        asm.write_text(f'\t.section .rodata\n\t.globl {symbol}\n\t.type {symbol}, @object\n'
                       f'\t.balign 16\n{symbol}:\n\t.incbin "{dat}"\n\t.size {symbol}, .-{symbol}\n'
                       '\t.section .note.GNU-stack,"",@progbits\n')
        subprocess.run(["gcc", "-shared", "-nostdlib", "-o", str(out), str(asm),
                        f"-Wl,-soname,{soname(lib)}"], check=True)
    return len(pkg.items), len(small.items)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().split("\n\n")[2], file=sys.stderr)
        return 2
    src, out = Path(argv[0]), Path(argv[1])
    before, after = build_trimmed_library(src, out)
    print(f"{src.name}: {before} items, {src.stat().st_size / 2**20:.1f} MiB -> "
          f"{after} items, {out.stat().st_size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
