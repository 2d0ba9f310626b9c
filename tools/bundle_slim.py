"""The native-library work of build.spec: which collected files are kept, stripped, stubbed or
replaced. Every function takes what it works on as parameters (no PyInstaller globals), so that
the spec only holds the lists and the ``Analysis`` call, and the functions can be tested on
small files.

A TOC is PyInstaller's list of ``(destination, source, kind)`` entries; destinations use ``/``
or ``\\``. The ELF tools (readelf, nm, strip, gcc) are needed on Linux only.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

Entry = tuple[str, str, str]
Symbols = dict[str | None, list[str]]  # symbol names by symbol version (None: unversioned)

QT_PLUGIN_DIRS = ("PySide6/Qt/plugins/", "PySide6/plugins/")
PAGE = 4096


def _dest(name: str) -> str:
    return name.replace("\\", "/")


def matches(name: str, patterns: Iterable[str]) -> bool:
    """Whether ``name`` (a destination path) matches one of the glob ``patterns``."""
    name = _dest(name)
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def keep_entry(dest: str, drop: Iterable[str], keep: Iterable[str], qt_plugins: Iterable[str]) -> bool:
    """False for a file matching ``drop`` (unless it matches ``keep``) and for a Qt plugin that
    ``qt_plugins`` (paths under the plugins folder) does not list."""
    dest = _dest(dest)
    if matches(dest, drop) and not matches(dest, keep):
        return False
    for prefix in QT_PLUGIN_DIRS:
        if dest.startswith(prefix):
            return matches(dest[len(prefix):], qt_plugins)
    return True


def filter_toc(toc: Iterable[Entry], drop: Iterable[str], keep: Iterable[str], qt_plugins: Iterable[str]) -> list[Entry]:
    drop, keep, qt_plugins = list(drop), list(keep), list(qt_plugins)
    return [e for e in toc if keep_entry(e[0], drop, keep, qt_plugins)]


def prunable(dest: str) -> bool:
    """Libraries collected only because something links to them: Qt's, and system libraries
    (which PyInstaller puts at the top level). The Python library is loaded by the launcher."""
    dest = _dest(dest)
    if dest.startswith("PySide6/Qt/lib/"):
        return True
    return "/" not in dest and ".so" in dest and not dest.startswith("libpython")


def prune_unlinked_libraries(binaries: list[Entry], imports: Callable[[str], Iterable[str]]) -> list[Entry]:
    """Drop prunable libraries that no kept binary links to (``imports(source)``: the names of
    the libraries a binary links to), such as the dependencies of dropped plugins."""
    needed: set[str] = set()
    for dest, src, _ in binaries:
        if prunable(dest):
            continue
        try:
            needed.update(Path(name).name for name in imports(src))
        except Exception:  # noqa: BLE001, S112 - not an ELF file or unreadable: it links to nothing we track
            continue
    return [e for e in binaries if not prunable(e[0]) or Path(e[0]).name in needed]


def drop_dangling_symlinks(toc: Iterable[Entry], collected: set[str]) -> list[Entry]:
    """Drop symbolic-link entries whose target is not in ``collected`` (e.g. a pruned library)."""
    kept = []
    for dest, src, kind in toc:
        if kind == "SYMLINK":
            target = _dest(os.path.normpath(os.path.join(os.path.dirname(dest), src)))
            if target not in collected:
                continue
        kept.append((dest, src, kind))
    return kept


def segments_aligned(program_headers: str, page: int = PAGE) -> bool:
    """From ``readelf -lW`` output: whether each loadable segment's file offset and address
    agree modulo the page size (False when there is no loadable segment)."""
    loads = [f.split() for f in program_headers.splitlines() if f.split()[:1] == ["LOAD"]]
    return bool(loads) and all((int(f[2], 16) - int(f[1], 16)) % page == 0 for f in loads)


def loadable(path: str | os.PathLike) -> bool:
    """Whether the loader can map ``path``: strip breaks the segment alignment of some
    libraries rewritten by patchelf (auditwheel), e.g. numpy's OpenBLAS ("ELF load command
    address/offset not page-aligned")."""
    out = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True, check=False)
    return out.returncode == 0 and segments_aligned(out.stdout)


def strip_symbols(binaries: list[Entry], patterns: Iterable[str], out_dir: Path, strip: str) -> list[Entry]:
    """Entries matching ``patterns`` point to copies in ``out_dir`` without symbol tables (the
    dynamic symbols that linking needs stay). A copy is made again only when its source
    changed; a file strip cannot handle, or whose copy would not load, is kept as it is."""
    patterns = list(patterns)
    result = []
    for dest, src, kind in binaries:
        if kind != "SYMLINK" and matches(dest, patterns):
            target = out_dir / _dest(dest)
            stamp = target.with_name(target.name + ".from")  # which file the copy was made from
            st = Path(src).stat()
            origin = f"{Path(src).resolve()}\t{st.st_size}\t{st.st_mtime_ns}"
            if not stamp.exists() or stamp.read_text() != origin:
                target.parent.mkdir(parents=True, exist_ok=True)
                done = subprocess.run([strip, "--strip-unneeded", "-o", str(target), src],
                                      capture_output=True, check=False)
                if not (done.returncode == 0 and loadable(target)):
                    target.unlink(missing_ok=True)
                stamp.write_text(origin)
            if target.exists():
                src = str(target)
        result.append((dest, src, kind))
    return result


# -- OpenCV: stubs for the video and AV1 libraries, BLAS forwarded to numpy's --

# OpenCV's wheel links FFmpeg (and through it libvpx, OpenSSL, libdrm) for cv2.VideoCapture and
# VideoWriter, and libaom (through libavif) to code AVIF in cv2.imread/imwrite: the app uses
# neither (it reads images with Pillow, which has its own AVIF support, and decodes only its own
# PNG and JPEG buffers with OpenCV). Those libraries are replaced by stubs that export the same
# functions their users import; calling one prints a message and aborts. (libavif itself stays:
# OpenCV creates an AVIF encoder object whenever it encodes any image.) OpenCV's own OpenBLAS
# (37 MiB, with its libgfortran) is replaced by a small library that forwards the BLAS/LAPACK
# routines cv2 imports to numpy's OpenBLAS (tools/cv2_lapack_shim.c; `nepocr --self-test` checks
# it).
STUB_LIBS = {"libavcodec": "video", "libavformat": "video", "libavutil": "video",
             "libswscale": "video", "libaom": "AV1/AVIF in OpenCV"}
OPENCV_LIBS = "opencv_python_headless.libs/"
NUMPY_BLAS = "numpy.libs/libscipy_openblas64_"

_STUB_C = """#include <stdio.h>
#include <stdlib.h>
static void missing(const char *name) {
    fprintf(stderr, "nepocr: %s support is not part of this build (%s was called)\\n", WHAT, name);
    abort();
}
"""


def parse_needed(dynamic_section: str) -> list[str]:
    """The NEEDED entries of ``readelf -d`` output."""
    return [line.split("[", 1)[1].rstrip("]") for line in dynamic_section.splitlines() if "(NEEDED)" in line]


def parse_symbols(nm_output: str) -> Symbols:
    """``nm -D`` output as symbol names grouped by version (``name@V`` and ``name@@V``)."""
    by_version: Symbols = {}
    for line in nm_output.splitlines():
        if not line.strip():
            continue
        name = line.split()[-1]
        version = None
        if "@" in name:
            name, version = name.split("@", 1)
            version = version.lstrip("@")
        by_version.setdefault(version, []).append(name)
    return by_version


@functools.cache
def elf_needed(path: str) -> list[str]:
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    return parse_needed(out)


@functools.cache
def symbols(path: str, undefined: bool) -> Symbols:
    """Dynamic symbols of ``path`` (undefined or defined) grouped by symbol version."""
    flag = "--undefined-only" if undefined else "--defined-only"
    out = subprocess.run(["nm", "-D", flag, path], capture_output=True, text=True, check=True).stdout
    return parse_symbols(out)


def stub_source(what: str, exported: Symbols) -> str:
    """C source of a library whose functions (every name in ``exported``) abort with a message."""
    return (f'#define WHAT "{what}"\n' + _STUB_C
            + "".join(f'void *{s}(void) {{ missing("{s}"); return 0; }}\n'
                      for s in sorted({n for names in exported.values() for n in names})))


def version_script(exported: Symbols) -> str:
    """A linker version script giving the versioned names their versions ("" if none is)."""
    return "".join(f"{v} {{ global: {'; '.join(sorted(set(n)))}; local: *; }};\n"
                   for v, n in sorted(exported.items(), key=lambda item: str(item[0])) if v)


def stub_library(what: str, soname: str, exported: Symbols, out: Path, gcc: str = "gcc") -> None:
    """Build ``out``, a stub with ``soname`` exporting ``exported`` (:func:`stub_source`)."""
    c = out.with_suffix(".c")
    c.write_text(stub_source(what, exported))
    cmd = [gcc, "-shared", "-fPIC", "-O1", "-o", str(out), str(c), f"-Wl,-soname,{soname}"]
    script = version_script(exported)
    if script:
        map_file = out.with_suffix(".map")
        map_file.write_text(script)
        cmd.append(f"-Wl,--version-script={map_file}")
    subprocess.run(cmd, check=True)


def blas_shim(openblas: str, numpy_blas: str, wanted: set[str], out: Path, shim_source: Path,
              gcc: str = "gcc") -> bool:
    """Build the forwarding library in place of OpenCV's OpenBLAS; False if cv2 imports a
    routine the shim does not provide (a newer OpenCV): then OpenCV's own library stays."""
    soname = Path(openblas).name
    lib_dir, lib_name = Path(numpy_blas).parent, Path(numpy_blas).name
    subprocess.run([gcc, "-shared", "-fPIC", "-O2", "-fvisibility=hidden", "-o", str(out),
                    str(shim_source), f"-Wl,-soname,{soname}", f"-L{lib_dir}", f"-l:{lib_name}",
                    "-Wl,-rpath,$ORIGIN/../numpy.libs", "-Wl,--no-undefined"], check=True)
    missing = wanted - {n for names in symbols(str(out), undefined=False).values() for n in names}
    if missing:
        print(f"bundle_slim: cv2 needs {', '.join(sorted(missing))} beyond the BLAS shim; "
              "OpenCV's OpenBLAS is kept")
    return not missing


def reachable(start: Iterable[str], libs: dict[str, str], needed: Callable[[str], list[str]]) -> set[str]:
    """Names in ``libs`` (name -> file) reached from the NEEDED names ``start``, following
    ``needed(file)``."""
    reach: set[str] = set()
    todo = list(start)
    while todo:
        n = todo.pop()
        if n in libs and n not in reach:
            reach.add(n)
            todo.extend(needed(libs[n]))
    return reach


def slim_opencv(binaries: list[Entry], out_dir: Path, shim_source: Path, stub_libs: dict[str, str] = STUB_LIBS,
                opencv_libs: str = OPENCV_LIBS, numpy_blas: str = NUMPY_BLAS) -> list[Entry]:
    """Stub OpenCV's video and AV1 libraries (``stub_libs``: name stem -> what is missing),
    forward its BLAS/LAPACK to numpy's OpenBLAS and drop the libraries only the replaced ones
    needed. Replacements are built in ``out_dir``."""
    cv2_lib = next((src for dest, src, _ in binaries if _dest(dest).startswith("cv2/cv2") and ".so" in dest), None)
    blas = next((src for dest, src, _ in binaries if _dest(dest).startswith(numpy_blas)), None)
    if cv2_lib is None:
        return binaries
    imported = symbols(cv2_lib, undefined=True)
    opencv = {Path(d).name: s for d, s, k in binaries if _dest(d).startswith(opencv_libs) and k != "SYMLINK"}
    out_dir.mkdir(parents=True, exist_ok=True)
    swapped = []
    for dest, src, kind in binaries:
        name = Path(_dest(dest)).name
        stem = name.split("-")[0]
        if not _dest(dest).startswith(opencv_libs) or kind == "SYMLINK":
            swapped.append((dest, src, kind))
            continue
        target = out_dir / name
        if stem in stub_libs:
            # what cv2 and the OpenCV libraries linking to it take from it
            wanted: dict[str | None, set[str]] = {}
            for user in [cv2_lib] + [s for s in opencv.values() if name in elf_needed(s)]:
                for v, names in symbols(user, undefined=True).items():
                    wanted.setdefault(v, set()).update(names)
            defined = {n for names in symbols(src, undefined=False).values() for n in names}
            exported = {v: sorted(n & defined) for v, n in wanted.items()
                        if v is None or v.lower().startswith(stem.lower())}
            exported = {v: n for v, n in exported.items() if n}
            if not exported:
                raise SystemExit(f"bundle_slim: nothing imports from {name}")
            stub_library(stub_libs[stem], name, exported, target)
            src = str(target)
        elif stem == "libopenblasp" and blas:
            defined = {n for names in symbols(src, undefined=False).values() for n in names}
            if blas_shim(src, blas, {n for n in imported.get(None, []) if n in defined}, target, shim_source):
                src = str(target)
        swapped.append((dest, src, kind))
    # keep the OpenCV libraries reachable from cv2 through the (now replaced) NEEDED entries
    libs = {Path(_dest(d)).name: s for d, s, k in swapped if _dest(d).startswith(opencv_libs)}
    reach = reachable(elf_needed(cv2_lib), libs, elf_needed)
    return [e for e in swapped if not _dest(e[0]).startswith(opencv_libs) or Path(_dest(e[0])).name in reach]


def trim_icu_data(binaries: list[Entry], out_dir: Path) -> list[Entry]:
    """Swap Qt's ICU data library for a copy holding only what the app can use (30.6 -> 4 MiB;
    tools/icu_data.py)."""
    from icu_data import build_trimmed_library  # beside this file

    out_dir.mkdir(parents=True, exist_ok=True)
    result = []
    for dest, src, kind in binaries:
        if Path(_dest(dest)).name.startswith("libicudata.so") and kind != "SYMLINK":
            target = out_dir / Path(_dest(dest)).name
            build_trimmed_library(Path(src), target)  # about a second: no cache to go stale
            src = str(target)
        result.append((dest, src, kind))
    return result


def have_build_tools() -> bool:
    """gcc and binutils, which the stubs, the BLAS forwarder and the ICU data library need."""
    return all(shutil.which(t) for t in ("gcc", "nm", "readelf"))
