"""Start-up of the command line and the app, beside a bare ``python -c "import torch"``.

    python benchmarks/bench_startup.py [--image IMAGE] [--runs 5] [--exe dist/nepocr/nepocr] [--model PATH]

Every figure is the wall-clock time of a whole process from its launch, the median of
``--runs`` rounds; in each round every command runs once, the floor (``import torch`` alone)
among them, so a machine that slows down slows all of them alike. The file cache is warm.

Command line: the floor; ``nepocr --version``; importing what ``nepocr recognize`` imports;
that plus loading the model (``Recognizer()``); ``nepocr recognize IMAGE`` (one word read and
printed); and the same with an empty cache folder, when the int8 copy of the network is made.

App: ``nepocr IMAGE`` (opens the image at start and reads it) with Qt's offscreen platform and
a fresh data folder; the clock stops when its log says "start-up screen shown", "window shown", "model ready" and
"first result". The app's own figures (from its start-up code) are shown too.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, default_model, model_description, table, update_results

TARGET_CLI_OVER_FLOOR_S = 0.7    # one word from the command line, over `import torch`
TARGET_FIRST_AFTER_WINDOW_S = 1.0  # the app's first result after its window appears
MARKS = {"splash": re.compile(r"start-up screen shown (\d+) ms after start"),
         "window": re.compile(r"window shown (\d+) ms after start"),
         "model": re.compile(r"model ready (\d+) ms after start"),
         "first": re.compile(r"first result (\d+) ms after start")}


def _env(data_dir: Path, cache_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NEPOCR_"))}
    env.update(QT_QPA_PLATFORM="offscreen", NEPOCR_DATA_DIR=str(data_dir),
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    if cache_dir is not None:
        env["NEPOCR_CACHE_DIR"] = str(cache_dir)
    elif os.environ.get("NEPOCR_CACHE_DIR"):
        env["NEPOCR_CACHE_DIR"] = os.environ["NEPOCR_CACHE_DIR"]
    return env


def timed(cmd: list[str], env: dict[str, str], timeout: float = 300.0) -> float:
    """Seconds from launch to exit; the command must succeed."""
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, timeout=timeout, check=False)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({res.returncode}): {res.stderr.decode(errors='replace')[-800:]}")
    return seconds


def app_marks(cmd: list[str], env: dict[str, str], log: Path, timeout: float = 120.0) -> dict[str, float]:
    """Seconds from launch to each of MARKS (wall clock), and the app's own figures ("own_...")."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    marks: dict[str, float] = {}
    try:
        while time.perf_counter() - t0 < timeout and len(marks) < 2 * len(MARKS):
            now = time.perf_counter() - t0
            text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
            for name, pattern in MARKS.items():
                m = pattern.search(text)
                if m and name not in marks:
                    marks[name] = now
                    marks["own_" + name] = int(m.group(1)) / 1000.0
            if proc.poll() is not None:
                raise RuntimeError(f"the app exited with code {proc.returncode}: {text[-800:]}")
            time.sleep(0.004)
        if len(marks) < 2 * len(MARKS):
            raise RuntimeError(f"not all of {sorted(MARKS)} logged within {timeout:.0f} s: {sorted(marks)}")
        return marks
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", type=Path, default=ROOT / "resources" / "samples" / "namaste.png",
                    help="the word read (default: a bundled sample)")
    ap.add_argument("--model", type=Path, default=None, help="model file (default: the bundled model)")
    ap.add_argument("--exe", type=Path, default=None,
                    help="a built app (e.g. dist/nepocr/nepocr); default: run from source")
    ap.add_argument("--runs", type=int, default=5, help="rounds (default 5)")
    ap.add_argument("--no-app", action="store_true", help="the command line only")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args(argv)

    py = sys.executable
    nepocr = [str(args.exe.resolve())] if args.exe else [py, "-m", "nepocr_desktop"]
    model = ["--model", str(args.model.resolve())] if args.model else []
    image = str(args.image.resolve())
    model_arg = repr(str(args.model.resolve())) if args.model else "None"
    cli = {
        "python -c 'import torch' (the floor)": [py, "-c", "import torch"],
        "nepocr --version": [*nepocr, "--version"],
        "import (what `recognize` imports)": [py, "-c", "import nepocr_desktop.cli, nepocr_desktop.recognizer"],
        "import + model loaded (`Recognizer()`)": [
            py, "-c", f"from nepocr_desktop.recognizer import Recognizer; Recognizer({model_arg}, device='cpu')"],
        "`nepocr recognize IMAGE`: one word read": [*nepocr, "recognize", image, *model],
        "the same, empty cache (the int8 copy is made)": [*nepocr, "recognize", image, *model],
    }
    if args.exe:  # the bundle has no python: only its own commands
        cli = {k: v for k, v in cli.items() if v[0] != py or k.startswith("python")}
    app_cmd = [*nepocr, *model, image]

    times: dict[str, list[float]] = {k: [] for k in cli}
    app: list[dict[str, float]] = []
    floors_app: list[float] = []
    with tempfile.TemporaryDirectory(prefix="nepocr-bench-") as tmp:
        tmp_dir = Path(tmp)
        warm_cache = tmp_dir / "cache"
        timed(cli["`nepocr recognize IMAGE`: one word read"], _env(tmp_dir / "d0", warm_cache))  # fills it
        for r in range(args.runs):
            for name, cmd in cli.items():
                cold = "empty cache" in name
                cache = tmp_dir / f"cold{r}" if cold else warm_cache
                times[name].append(timed(cmd, _env(tmp_dir / f"d{r}", cache)))
            if not args.no_app:
                floors_app.append(timed([py, "-c", "import torch"], _env(tmp_dir / f"d{r}")))
                data = tmp_dir / f"app{r}"
                app.append(app_marks(app_cmd, _env(data, warm_cache), data / "nepocr.log"))

    floor = statistics.median(times["python -c 'import torch' (the floor)"])

    def med(values: list[float]) -> float:
        return statistics.median(values)

    def row(name: str, values: list[float], base: float) -> list[str]:
        over = "" if name.startswith("python -c") else f"{med(values) - base:+.2f} s"
        return [name, f"{med(values):.2f} s", over, f"{min(values):.2f}-{max(values):.2f} s"]

    what = f"bundle {args.exe}" if args.exe else "source tree (python -m nepocr_desktop)"
    mdl = args.model or default_model(args.exe)
    intro = (f"Runs: {what}. Model: {model_description(mdl)}. Image: {args.image.name}. "
             f"{args.runs} rounds; wall-clock time of each process from its launch (medians). "
             f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '1')}.")
    lines = [intro, "",
             "Command line:", "",
             table([["", "median", "over the floor", "range"], *(row(k, v, floor) for k, v in times.items())])]
    one_word = med(times["`nepocr recognize IMAGE`: one word read"]) - floor
    verdict = "meets" if one_word <= TARGET_CLI_OVER_FLOOR_S else "misses"
    lines += ["", (f"- One word from the command line: {one_word:+.2f} s over `import torch` ({verdict} the "
                   f"<= {TARGET_CLI_OVER_FLOOR_S:g} s target).")]
    if app:
        app_floor = med(floors_app)
        rows = [["", "median", "over the floor", "range", "as the app logs it"]]
        for name, label in (("splash", "launch to start-up screen shown"), ("window", "launch to window shown"),
                            ("model", "launch to model ready"), ("first", "launch to first result")):
            values = [m[name] for m in app]
            own = [m["own_" + name] for m in app]
            rows.append([label, f"{med(values):.2f} s", f"{med(values) - app_floor:+.2f} s",
                         f"{min(values):.2f}-{max(values):.2f} s", f"{med(own):.2f} s"])
        gaps = [m["first"] - m["window"] for m in app]
        rows.append(["first result after the window", f"{med(gaps):.2f} s", "",
                     f"{min(gaps):.2f}-{max(gaps):.2f} s", f"{med([m['own_first'] - m['own_window'] for m in app]):.2f} s"])
        verdict = "meets" if med(gaps) <= TARGET_FIRST_AFTER_WINDOW_S else "misses"
        lines += ["", (f"App (`{' '.join(['nepocr', *model, args.image.name])}`, Qt offscreen, the int8 copy "
                       f"cached; floor in the same rounds: {app_floor:.2f} s):"), "", table(rows), "",
                  (f"- First result {med(gaps):.2f} s after the window appears ({verdict} the "
                   f"<= {TARGET_FIRST_AFTER_WINDOW_S:g} s target).")]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        key = "startup-bundle" if args.exe else "startup-source"
        update_results(key, f"Start-up ({'bundle' if args.exe else 'source'})", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
