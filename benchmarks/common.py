"""Shared pieces of the benchmarks: word images, machine facts and the RESULTS.md sections."""

from __future__ import annotations

import os
import platform
import random
import re
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
LENS_WORDS = ROOT.parent / "shared" / "data" / "nepali_lens_words"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class WordImage:
    path: Path
    text: str


def lens_words(folder: Path, n: int, seed: int = 0) -> list[WordImage]:
    """``n`` labelled real word crops from ``folder`` (a fixed random sample), Devanagari only."""
    from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET, normalize_text

    tsv = folder / "labels_devanagari_only.tsv"
    if not tsv.exists():
        tsv = folder / "labels.tsv"
    rows = []
    for line in tsv.read_text(encoding="utf-8").splitlines():
        rel, _, text = line.partition("\t")
        text = normalize_text(text)
        if text and text != "-" and not DEFAULT_CHARSET.unknown(text) and (folder / rel).is_file():
            rows.append(WordImage(folder / rel, text))
    random.Random(seed).shuffle(rows)
    return rows[:n]


def rendered_words(n: int, out_dir: Path, seed: int = 0) -> list[WordImage]:
    """``n`` words from the bundled word list rendered with the bundled handwriting font."""
    import gzip

    from PIL import Image

    from nepocr_desktop.lib.language.lexicon import WORDS_FILE
    from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
    from nepocr_desktop.lib.training.synth import render_text
    from nepocr_desktop.paths import fonts_dir, lexicon_dir

    with gzip.open(lexicon_dir() / WORDS_FILE, "rt", encoding="utf-8") as f:
        words = [w.strip() for w in f if 2 <= len(w.strip()) <= 10 and not DEFAULT_CHARSET.unknown(w.strip())]
    fonts = sorted(fonts_dir().glob("*.ttf"))
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(n):
        word = rng.choice(words)
        path = out_dir / f"{i:04d}.png"
        Image.fromarray(render_text(word, fonts[i % len(fonts)], size=44)).save(path)
        items.append(WordImage(path, word))
    return items


def word_images(n: int, data: Path | None) -> tuple[list[WordImage], str]:
    """Real word crops if the data folder exists, else rendered words; and a description."""
    folder = data or LENS_WORDS
    if folder.is_dir():
        items = lens_words(folder, n)
        if items:
            return items, f"{len(items)} real word crops from {folder.name}/ (fixed random sample)"
    tmp = Path(tempfile.mkdtemp(prefix="nepocr-bench-"))
    return rendered_words(n, tmp), f"{n} rendered words (bundled font and word list; {folder} not found)"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def machine() -> str:
    """CPU model, cores and OS, for the record."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def model_description(path: Path) -> str:
    from nepocr_desktop.lib.read.modelio import ModelError, read_info

    try:
        info = read_info(path)
    except ModelError as exc:
        return f"{path} ({exc})"
    meta = info.metadata
    name = meta.get("name") or path.name
    size = path.stat().st_size / 1e6
    trained = "".join(f", {k} {meta[k]}" for k in ("trained", "epoch") if k in meta)
    val = f", validation CER {100 * meta['val_cer']:.1f}%" if isinstance(meta.get("val_cer"), (int, float)) else ""
    shown = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
    return f"{name} ({shown}, {size:.1f} MB, input height {info.preprocess.height}{trained}{val})"


def default_model(exe: Path | None) -> Path:
    """The model an app uses without ``--model``: the bundle's own, or the source tree's."""
    if exe is not None:
        return exe.resolve().parent / "_internal" / "model" / "nepocr.pt"
    from nepocr_desktop.paths import bundled_model_path

    return bundled_model_path()


def command_line() -> str:
    """The command that is running, as it would be typed from the project root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script_s = str(script.relative_to(ROOT))
    except ValueError:
        script_s = str(script)
    return shlex.join(["python", script_s, *sys.argv[1:]])


def update_results(key: str, title: str, body: str, command: str | None = None) -> None:
    """Replace (or append) the section ``key`` of RESULTS.md, keeping the others."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    stamp = time.strftime("%Y-%m-%d %H:%M %Z")
    load = f", load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    section = (f"{start}\n## {title}\n\n{stamp}, {machine()}{load}\n\n```\n{command or command_line()}\n```\n\n"
               f"{body.strip()}\n{end}")
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else (
        "# Benchmark results\n\nWritten by the scripts in this folder; each section shows the command "
        "that produced it. See README.md for what is measured.\n")
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def table(rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; the first row is the header."""
    head, *rest = [[str(c) for c in r] for r in rows]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rest]
    return "\n".join(lines)


def record_bundle(argv: list[str] | None = None) -> int:
    """Write the "Bundle" section from the figures printed by tools/build_bundle.sh."""
    import argparse
    import subprocess

    ap = argparse.ArgumentParser(description=record_bundle.__doc__)
    ap.add_argument("--bundle", type=Path, default=ROOT / "dist" / "nepocr")
    ap.add_argument("--build-seconds", type=float, required=True)
    ap.add_argument("--size-mib", type=float, required=True)
    ap.add_argument("--archive", default="")
    ap.add_argument("--archive-mib", type=float, default=0.0)
    ap.add_argument("--archive-seconds", type=float, default=0.0)
    ap.add_argument("--command", required=True, help="the build command, as typed")
    args = ap.parse_args(argv)

    from importlib.metadata import version

    bundle = args.bundle.resolve()
    shown = bundle.relative_to(ROOT) if bundle.is_relative_to(ROOT) else bundle
    internal = bundle / "_internal"
    parts = subprocess.run(["du", "-sm", *map(str, sorted(internal.iterdir()))], check=True,
                           capture_output=True, text=True).stdout.split("\n")
    sizes = sorted(((int(line.split("\t")[0]), Path(line.split("\t")[1]).name)
                    for line in parts if line.strip()), reverse=True)
    rows = [["part of _internal/", "MiB"], *([name, str(mib)] for mib, name in sizes[:10])]
    versions = ", ".join(f"{p} {version(p)}" for p in ("pyinstaller", "torch", "PySide6_Essentials",
                                                        "opencv-python-headless", "numpy", "pillow"))
    shipped = model_description(internal / "model" / "nepocr.pt")
    intro = (f"Bundle: {shown}/ (one folder; what is left out and why: the header of build.spec). "
             f"Model shipped: {shipped}. {versions}.")
    lines = [intro, "",
             table([["", "figure", "target"],
                    ["size on disk", f"{args.size_mib:.1f} MiB ({args.size_mib * 2**20 / 1e6:.0f} MB)",
                     "<= 650 MB"],
                    [f"compressed ({Path(args.archive).name or 'none'})",
                     f"{args.archive_mib:.1f} MiB ({args.archive_mib * 2**20 / 1e6:.0f} MB)"
                     if args.archive else "-", "<= 250 MB"],
                    ["build time (PyInstaller)", f"{args.build_seconds:.0f} s", "< ~6 min for CI"],
                    ["compression time", f"{args.archive_seconds:.0f} s" if args.archive else "-", ""]]),
             "", "Largest parts:", "", table(rows), ""]
    body = "\n".join(lines)
    print(body)
    update_results("bundle", "Bundle (PyInstaller)", body, command=args.command)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["record-bundle"]:
        sys.exit(record_bundle(sys.argv[2:]))
    sys.exit("usage: python benchmarks/common.py record-bundle --build-seconds S --size-mib M ...")
