"""tools/bundle_slim.py: what build.spec keeps, prunes, strips and stubs, on small made-up files."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import bundle_slim as bs

ELF_TOOLS = sys.platform.startswith("linux") and all(shutil.which(t) for t in ("gcc", "nm", "readelf", "strip"))
needs_elf_tools = pytest.mark.skipif(not ELF_TOOLS, reason="needs Linux with gcc and binutils")


def test_keep_entry_drops_listed_files_and_unlisted_qt_plugins():
    drop, keep = ["torch/bin/*", "*/__pycache__/*"], ["torch/bin/torch_shm_manager*"]
    plugins = ["platforms/*offscreen*", "imageformats/*svg*"]
    assert not bs.keep_entry("torch/bin/protoc", drop, keep, plugins)
    assert bs.keep_entry("torch/bin/torch_shm_manager", drop, keep, plugins)
    assert not bs.keep_entry("a\\__pycache__\\b.pyc", drop, keep, plugins)  # Windows separators
    assert bs.keep_entry("PySide6/Qt/plugins/platforms/libqoffscreen.so", drop, keep, plugins)
    assert not bs.keep_entry("PySide6/Qt/plugins/platforms/libqeglfs.so", drop, keep, plugins)
    assert bs.keep_entry("PySide6/plugins/imageformats/qsvg.dll", drop, keep, plugins)
    assert bs.keep_entry("nepocr_desktop/cli.py", drop, keep, plugins)
    toc = [("torch/bin/protoc", "/x", "BINARY"), ("numpy/core.so", "/y", "BINARY")]
    assert bs.filter_toc(toc, drop, keep, plugins) == [toc[1]]


def test_only_libraries_something_links_to_are_kept():
    binaries = [("pkg/app.so", "/src/app.so", "BINARY"), ("PySide6/Qt/lib/libQt6Gui.so.6", "/q/gui", "BINARY"),
                ("PySide6/Qt/lib/libQt6Quick.so.6", "/q/quick", "BINARY"), ("libz.so.1", "/s/libz", "BINARY"),
                ("libgone.so.2", "/s/gone", "BINARY"), ("libpython3.11.so.1.0", "/p", "BINARY"),
                ("pkg/broken.so", "/src/broken.so", "BINARY")]
    links = {"/src/app.so": ["/q/libQt6Gui.so.6", "libz.so.1"]}

    def imports(src):
        if src == "/src/broken.so":
            raise OSError("not an ELF file")
        return links.get(src, [])

    kept = [d for d, _, _ in bs.prune_unlinked_libraries(binaries, imports)]
    assert kept == ["pkg/app.so", "PySide6/Qt/lib/libQt6Gui.so.6", "libz.so.1", "libpython3.11.so.1.0",
                    "pkg/broken.so"]


def test_symbolic_links_to_dropped_files_go_too():
    toc = [("lib/libfoo.so.1", "libfoo.so.1.2", "SYMLINK"), ("lib/libbar.so", "libbar.so.3", "SYMLINK"),
           ("lib/libfoo.so.1.2", "/x", "BINARY")]
    assert bs.drop_dangling_symlinks(toc, {"lib/libfoo.so.1.2"}) == [toc[0], toc[2]]


READELF_L = """
Program Headers:
  Type           Offset   VirtAddr           PhysAddr           FileSiz  MemSiz   Flg Align
  LOAD           0x000000 0x0000000000000000 0x0000000000000000 0x0004a8 0x0004a8 R   0x1000
  LOAD           0x001000 0x0000000000001000 0x0000000000001000 0x000151 0x000151 R E 0x1000
  DYNAMIC        0x002e10 0x0000000000003e10 0x0000000000003e10 0x0001c0 0x0001c0 RW  0x8
"""


def test_segment_alignment_is_read_from_program_headers():
    assert bs.segments_aligned(READELF_L)
    assert not bs.segments_aligned(READELF_L.replace("0x001000 0x0000000000001000", "0x000f00 0x0000000000001000"))
    assert not bs.segments_aligned("no program headers")


def test_needed_libraries_and_symbols_are_parsed():
    dyn = (" 0x0000000000000001 (NEEDED)             Shared library: [libavcodec-1a2b.so.61]\n"
           " 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]\n"
           " 0x000000000000000e (SONAME)             Library soname: [libx.so]\n")
    assert bs.parse_needed(dyn) == ["libavcodec-1a2b.so.61", "libc.so.6"]
    nm = "                 U avcodec_open2@LIBAVCODEC_61\n                 U free@GLIBC_2.2.5\n" \
         "0000000000001139 T plain\n0000000000001140 T both@@V_1\n"
    assert bs.parse_symbols(nm) == {"LIBAVCODEC_61": ["avcodec_open2"], "GLIBC_2.2.5": ["free"],
                                    None: ["plain"], "V_1": ["both"]}


def test_stub_source_and_version_script():
    exported = {None: ["b", "a"], "LIBAVCODEC_61": ["avcodec_open2", "a"]}
    src = bs.stub_source("video", exported)
    assert '#define WHAT "video"' in src and src.count("missing(\"a\")") == 1
    assert 'void *avcodec_open2(void) { missing("avcodec_open2"); return 0; }' in src
    assert bs.version_script(exported) == "LIBAVCODEC_61 { global: a; avcodec_open2; local: *; };\n"
    assert bs.version_script({None: ["x"]}) == ""


def test_reachable_follows_needed_entries():
    libs = {"a.so": "/a", "b.so": "/b", "c.so": "/c", "d.so": "/d"}
    needed = {"/a": ["b.so", "libc.so.6"], "/b": ["a.so"], "/c": ["d.so"], "/d": []}
    assert bs.reachable(["a.so"], libs, lambda f: needed[f]) == {"a.so", "b.so"}


def _gcc(out: Path, source: str, *flags: str) -> Path:
    c = out.parent.parent / f"{out.name}.c"
    c.write_text(source)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(c), *flags], check=True, capture_output=True)
    return out


@needs_elf_tools
def test_strip_symbols_on_a_small_library(tmp_path):
    lib = _gcc(tmp_path / "libsmall.so", "static int hidden(int x) { return x * 3; }\n"
                                          "int visible(int x) { return hidden(x) + 1; }\n", "-g")
    toc = [("pkg/libsmall.so", str(lib), "BINARY"), ("pkg/data.txt", str(tmp_path.parent / "libsmall.so.c"), "DATA")]
    out = bs.strip_symbols(toc, ["*.so"], tmp_path / "stripped", shutil.which("strip"))
    stripped = Path(out[0][1])
    assert stripped == tmp_path / "stripped" / "pkg" / "libsmall.so" and out[1] == toc[1]
    assert stripped.stat().st_size < lib.stat().st_size and bs.loadable(stripped)
    assert "visible" in bs.symbols(str(stripped), undefined=False)[None]
    assert ctypes.CDLL(str(stripped)).visible(4) == 13
    stamp = stripped.with_name("libsmall.so.from").read_text()
    assert bs.strip_symbols(toc, ["*.so"], tmp_path / "stripped", "false")[0][1] == str(stripped)  # reused
    assert stripped.with_name("libsmall.so.from").read_text() == stamp


@needs_elf_tools
def test_slim_opencv_stubs_what_cv2_uses_and_drops_the_rest(tmp_path):
    """A made-up cv2 linking a 'video' library (two functions, one used) which links another."""
    libs = tmp_path / "opencv_python_headless.libs"
    libs.mkdir()
    _gcc(libs / "libvpx-9f.so.9", "int vpx_codec(void) { return 7; }\n", "-Wl,-soname,libvpx-9f.so.9")
    _gcc(libs / "libavcodec-1a.so.61", "extern int vpx_codec(void);\n"
         "int avcodec_open2(void) { return vpx_codec(); }\nint avcodec_unused(void) { return 1; }\n",
         "-Wl,-soname,libavcodec-1a.so.61", f"-L{libs}", "-l:libvpx-9f.so.9")
    _gcc(libs / "libpng-3c.so.16", "int png_read(void) { return 2; }\n", "-Wl,-soname,libpng-3c.so.16")
    cv2 = tmp_path / "cv2"
    cv2.mkdir()
    _gcc(cv2 / "cv2.abi3.so", "extern int avcodec_open2(void); extern int png_read(void);\n"
         "int imread(void) { return png_read(); }\nint video(void) { return avcodec_open2(); }\n",
         f"-L{libs}", "-l:libavcodec-1a.so.61", "-l:libpng-3c.so.16")
    binaries = [("cv2/cv2.abi3.so", str(cv2 / "cv2.abi3.so"), "EXTENSION"),
                *((f"opencv_python_headless.libs/{f.name}", str(f), "BINARY") for f in sorted(libs.glob("*.so.*")))]
    out = bs.slim_opencv(binaries, tmp_path / "out", tmp_path / "no-shim.c", stub_libs={"libavcodec": "video"})
    by_name = {Path(d).name: s for d, s, _ in out}
    assert set(by_name) == {"cv2.abi3.so", "libavcodec-1a.so.61", "libpng-3c.so.16"}  # libvpx: only the old one needed it
    stub = by_name["libavcodec-1a.so.61"]
    assert stub == str(tmp_path / "out" / "libavcodec-1a.so.61") and by_name["libpng-3c.so.16"] == str(libs / "libpng-3c.so.16")
    assert bs.symbols(stub, undefined=False)[None] == ["avcodec_open2"]  # what cv2 imports, nothing else
    assert bs.elf_needed(stub) == ["libc.so.6"]
    assert bs.slim_opencv([("numpy/x.so", "/x", "BINARY")], tmp_path / "o2", tmp_path / "s.c") == [("numpy/x.so", "/x", "BINARY")]
