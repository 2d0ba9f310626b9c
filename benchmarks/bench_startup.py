"""Launch-to-window and launch-to-first-result times of the app (from source or the bundle).

    python benchmarks/bench_startup.py [--model PATH] [--exe dist/nepocr/nepocr] [--runs 5]

Launch-to-window: the app is started and the clock stops when it logs "window shown" (it
logs that from its event loop once the main window has been shown; NEPOCR_DATA_DIR points
at a fresh folder so the log file is new). Launch-to-first-result: the app is started with
``--self-test``, which loads the model and reads the bundled samples through the window's
worker; the clock stops when the first sample's text is printed. Both are wall-clock times
from process start, so they include the interpreter, imports and model loading. Qt runs
with the offscreen platform (no display needed); a real display adds the compositor's time.
Each figure is the median of ``--runs`` cold-process runs (the file cache is warm).
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, default_model, model_description, table, update_results

TARGET_WINDOW_S = 2.0
WINDOW_LINE = re.compile(r"window shown (\d+) ms after start")


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(QT_QPA_PLATFORM="offscreen", NEPOCR_DATA_DIR=str(data_dir),
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    return env


def time_to_window(cmd: list[str], timeout: float = 120.0) -> tuple[float, float]:
    """(seconds from launch until the window was shown, the app's own figure in seconds)."""
    with tempfile.TemporaryDirectory(prefix="nepocr-bench-") as tmp:
        log = Path(tmp) / "nepocr.log"
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=_env(Path(tmp)), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            while time.perf_counter() - t0 < timeout:
                if log.exists():
                    m = WINDOW_LINE.search(log.read_text(encoding="utf-8", errors="replace"))
                    if m:
                        return time.perf_counter() - t0, int(m.group(1)) / 1000.0
                if proc.poll() is not None:
                    raise RuntimeError(f"the app exited with code {proc.returncode} before showing its window")
                time.sleep(0.005)
            raise RuntimeError(f"no window within {timeout:.0f} s")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def time_to_first_result(cmd: list[str], timeout: float = 300.0) -> dict[str, float]:
    """Seconds from launch to: model loaded, first sample read, process exit (``--self-test``)."""
    with tempfile.TemporaryDirectory(prefix="nepocr-bench-") as tmp:
        master, slave = pty.openpty()  # a terminal, so the app's output is line-buffered
        t0 = time.perf_counter()
        proc = subprocess.Popen([*cmd, "--self-test"], env=_env(Path(tmp)), cwd=ROOT, stdout=slave,
                                stderr=subprocess.PIPE, start_new_session=True)
        os.close(slave)
        marks: dict[str, float] = {}
        buf = b""
        try:
            while time.perf_counter() - t0 < timeout:
                ready, _, _ = select.select([master], [], [], 0.05)
                if ready:
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:  # the terminal closes when the app exits
                        chunk = b""
                    if not chunk and proc.poll() is not None:
                        break
                    buf += chunk
                    now = time.perf_counter() - t0
                    text = buf.decode("utf-8", errors="replace")
                    if "model" not in marks and re.search(r"^model: ", text, re.MULTILINE):
                        marks["model"] = now
                    if "first" not in marks and re.search(r"^\S+\.(png|jpe?g): ", text, re.MULTILINE):
                        marks["first"] = now
                elif proc.poll() is not None:
                    break
            proc.wait(timeout=timeout)
            marks["exit"] = time.perf_counter() - t0
        finally:
            os.close(master)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc.returncode != 0 or "first" not in marks:
            err = proc.stderr.read().decode("utf-8", errors="replace") if proc.stderr else ""
            raise RuntimeError(f"--self-test failed (exit {proc.returncode}): {err.strip()[-500:]}")
        return marks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="model file (default: the bundled model)")
    ap.add_argument("--exe", type=Path, default=None,
                    help="a built app (e.g. dist/nepocr/nepocr); default: run from source")
    ap.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args(argv)

    cmd = [str(args.exe.resolve())] if args.exe else [sys.executable, "-m", "nepocr_desktop"]
    if args.model:
        cmd += ["--model", str(args.model.resolve())]
    what = f"bundle {args.exe}" if args.exe else "source tree (python -m nepocr_desktop)"

    window = [time_to_window(cmd) for _ in range(args.runs)]
    results = [time_to_first_result(cmd) for _ in range(args.runs)]

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s"

    def spread(values: list[float]) -> str:
        return f"{min(values):.2f}-{max(values):.2f} s"

    rows = [["", "median", "range"],
            ["launch to window", med([w for w, _ in window]), spread([w for w, _ in window])],
            ["  the same, as the app logs it (from its own start-up code)", med([a for _, a in window]),
             spread([a for _, a in window])],
            ["launch to model loaded (--self-test)", med([r["model"] for r in results if "model" in r]),
             spread([r["model"] for r in results if "model" in r])],
            ["launch to first result (--self-test)", med([r["first"] for r in results]),
             spread([r["first"] for r in results])],
            ["launch to exit, all samples read (--self-test)", med([r["exit"] for r in results]),
             spread([r["exit"] for r in results])]]
    model = args.model or default_model(args.exe)
    window_med = statistics.median([w for w, _ in window])
    verdict = "meets" if window_med < TARGET_WINDOW_S else "misses"
    body = "\n".join([
        f"App: {what}. Model: {model_description(model)}. Qt platform: offscreen. {args.runs} runs each.",
        "",
        table(rows),
        "",
        f"- Launch to window: {window_med:.2f} s ({verdict} the < {TARGET_WINDOW_S:g} s target).",
    ])
    print(body)
    if not args.no_write:
        key = "startup-bundle" if args.exe else "startup-source"
        update_results(key, f"Start-up ({'bundle' if args.exe else 'source'})", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
