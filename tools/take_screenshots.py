"""Screenshots of the real app under Xvfb: a word written with xdotool, each view captured.

Run from the project root with Xvfb, xdotool and ImageMagick installed::

    Xvfb :99 -screen 0 1400x900x24 &
    DISPLAY=:99 QT_QPA_PLATFORM=xcb python tools/take_screenshots.py [--model PATH] [--page IMAGE]

``--page`` also opens a whole page (e.g. one made by ``tools/make_page_testset.py``) and
captures it read, as ``screenshot-page.png``. ``--learn DIR`` starts the app once more with the
samples of DIR (``labels.tsv``) in its sample store and background learning off, runs "Learn my
handwriting" and captures the Learn tab when it has finished, as ``screenshot-training.png``
(with ``--only``, that capture alone). ``--page-editor`` opens a page
and corrects the word F2 picks (the least sure): with ``--page`` a folder made by
``tools/make_page_testset.py``, the first of its pages on which that word is misread, typing
the true text; else ``--page`` (or a page written here in the Kalam font), typing
``--correction``. It captures the page being corrected, as ``screenshot-page-editor.png``.

The word is "written" by tracing the centre lines of the text rendered in the Kalam
handwriting font and moving the X pointer along them with the button held down.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from PySide6.QtGui import QColor

from nepocr_desktop.gui.style import COLOR_PAPER
from nepocr_desktop.lib.read.strokes import BASELINE, HEADLINE
from nepocr_desktop.paths import fonts_dir

ROOT = Path(__file__).resolve().parents[1]
PAPER = QColor(COLOR_PAPER).getRgb()[:3]  # the canvas colour
KALAM = fonts_dir() / "Kalam-Regular.ttf"


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean image to one-pixel-wide lines."""
    img = np.pad(mask.astype(np.uint8), 1)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            p = [np.roll(np.roll(img, -dy, 0), -dx, 1) for dy, dx in
                 ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))]
            b = sum(p)
            a = sum(((p[i] == 0) & (p[(i + 1) % 8] == 1)).astype(np.uint8) for i in range(8))
            if step == 0:
                c1, c2 = p[0] * p[2] * p[4], p[2] * p[4] * p[6]
            else:
                c1, c2 = p[0] * p[2] * p[6], p[0] * p[4] * p[6]
            remove = (img == 1) & (b >= 2) & (b <= 6) & (a == 1) & (c1 == 0) & (c2 == 0)
            if remove.any():
                img[remove] = 0
                changed = True
    return img[1:-1, 1:-1].astype(bool)


def trace(skeleton: np.ndarray, min_len: int = 4) -> list[list[tuple[int, int]]]:
    """Greedy walks over skeleton pixels, starting from line ends: a list of (x, y) strokes."""
    todo = {(int(y), int(x)) for y, x in zip(*np.nonzero(skeleton))}
    steps = [(-1, 0), (0, 1), (1, 0), (0, -1), (-1, 1), (1, 1), (1, -1), (-1, -1)]

    def neighbours(p):
        return [(p[0] + dy, p[1] + dx) for dy, dx in steps if (p[0] + dy, p[1] + dx) in todo]

    strokes = []
    while todo:
        ends = [p for p in todo if len(neighbours(p)) <= 1]
        start = min(ends or todo, key=lambda p: (p[1], p[0]))
        path = [start]
        todo.discard(start)
        while True:
            nxt = neighbours(path[-1])
            if not nxt:
                break
            path.append(nxt[0])
            todo.discard(nxt[0])
        if len(path) >= min_len:
            strokes.append([(x, y) for y, x in path])
    return strokes


def word_strokes(text: str, box: tuple[int, int, int, int]) -> list[list[tuple[int, int]]]:
    """Strokes of ``text`` in Kalam, scaled so its head-line sits on the canvas guide."""
    x0, y0, w, h = box
    font = ImageFont.truetype(str(KALAM), 160, layout_engine=ImageFont.Layout.RAQM)
    l, t, r, b = font.getbbox(text)
    img = Image.new("L", (r - l + 20, b - t + 20), 0)
    ImageDraw.Draw(img).text((10 - l, 10 - t), text, font=font, fill=255)
    mask = np.asarray(img) > 128
    skeleton = thin(mask)
    head = int(np.argmax(skeleton.sum(1)))  # the shirorekha is the fullest row
    body = max(1, mask.shape[0] - head)
    scale = (BASELINE - HEADLINE) * h * 1.05 / body
    scale = min(scale, 0.8 * w / mask.shape[1])
    left = x0 + (w - mask.shape[1] * scale) / 2
    top = y0 + HEADLINE * h - head * scale
    return [[(int(left + x * scale), int(top + y * scale)) for x, y in s[::3] + [s[-1]]]
            for s in trace(skeleton)]


def wait_for_log(folder: Path, text: str, timeout: float = 180.0) -> None:
    """Wait until the app's log in ``folder`` has a line containing ``text``."""
    log = folder / "nepocr.log"
    end = time.time() + timeout
    while time.time() < end:
        if log.exists() and text in log.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.2)
    raise SystemExit(f"the app did not log '{text}' within {timeout:.0f} s")


def xdotool(*args: str) -> str:
    return subprocess.run(["xdotool", *args], check=True, capture_output=True, text=True).stdout


def draw(strokes: list[list[tuple[int, int]]]) -> None:
    for stroke in strokes:
        cmd = ["mousemove", str(stroke[0][0]), str(stroke[0][1]), "mousedown", "1"]
        for x, y in stroke[1:]:
            cmd += ["mousemove", str(x), str(y), "sleep", "0.004"]
        cmd += ["mouseup", "1", "sleep", "0.05"]
        xdotool(*cmd)


def screenshot(path: Path, window: str = "root") -> None:
    subprocess.run(["/usr/bin/import", "-window", window, str(path)], check=True)


def paper_box(path: Path) -> tuple[int, int, int, int]:
    """Bounding box (x, y, w, h) of the canvas paper colour in a screenshot."""
    arr = np.asarray(Image.open(path).convert("RGB"))
    ys, xs = np.nonzero(np.all(arr == PAPER, axis=2))
    if xs.size == 0:
        raise SystemExit("the canvas was not found on the screen")
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min()), int(ys.max() - ys.min())


def canvas_on_screen(data: Path, probe: Path) -> tuple[str, tuple[int, int, int, int]]:
    """Once the app logging to ``data`` has its model: its window id and the canvas paper's box
    on the screen (found in a screenshot written to ``probe`` and then removed)."""
    wait_for_log(data, "model ready")
    time.sleep(1)
    win = xdotool("search", "--sync", "--onlyvisible", "--name", "nepocr").split()[0]
    screenshot(probe)
    box = paper_box(probe)
    probe.unlink()
    return win, box


def open_file(path: str) -> None:
    """File > Open: wait for the dialog, type the file name, press Enter."""
    xdotool("key", "ctrl+o")
    xdotool("search", "--sync", "--onlyvisible", "--name", "Open an image")
    time.sleep(0.5)
    xdotool("type", "--delay", "20", path)
    xdotool("key", "Return")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", help="model file (default: the bundled one)")
    parser.add_argument("--word", default="नमस्ते")
    parser.add_argument("--out", default=str(ROOT / "docs"))
    parser.add_argument("--sample", default=str(ROOT / "resources/samples/nepal.png"))
    parser.add_argument("--page", help="a page image to open and capture read")
    parser.add_argument("--learn", help="a folder of samples to learn from and capture the Learn tab")
    parser.add_argument("--page-editor", action="store_true", help="capture a page being corrected")
    parser.add_argument("--correction", default="काठमाडौं", help="the text typed over the first word to check")
    parser.add_argument("--only", action="store_true", help="take only the captures asked for by options")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="nepocr-shots-"))  # a fresh data folder: no saved samples
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", NEPOCR_DATA_DIR=str(data))
    cmd = [sys.executable, "-m", "nepocr_desktop.gui"] + (["--model", args.model] if args.model else [])
    if args.page_editor:
        given = Path(args.page) if args.page else None
        pages = sorted(given.glob("page_*.png")) if given and given.is_dir() else [given] if given else []
        page_editor(cmd, env, data, out, pages, args.correction, args.model)
    if args.only:
        if args.learn:
            learn(cmd, env, data, Path(args.learn), out)
        return 0
    app = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        win, box = canvas_on_screen(data, out / ".probe.png")
        draw(word_strokes(args.word, box))
        wait_for_log(data, "first result")  # read automatically once the pen stops
        time.sleep(1)
        xdotool("mousemove", str(box[0] + box[2] - 40), str(box[1] + 30))
        screenshot(out / "screenshot-write.png", win)
        xdotool("key", "ctrl+k")  # the Devanagari letters
        time.sleep(1)
        screenshot(out / "screenshot-palette.png", win)
        xdotool("key", "ctrl+k")
        open_file(args.sample)
        time.sleep(3)
        screenshot(out / "screenshot-import.png", win)
    finally:
        app.terminate()
        app.wait(10)
    if args.page:  # a second start, with the page to open on the command line
        app = subprocess.Popen(cmd + [str(Path(args.page).resolve())], cwd=ROOT, env=env)
        try:
            time.sleep(15)  # start, load the model, find and read the words
            win = xdotool("search", "--sync", "--onlyvisible", "--name", "nepocr").split()[0]
            screenshot(out / "screenshot-page.png", win)
        finally:
            app.terminate()
            app.wait(10)
    if args.learn:
        learn(cmd, env, data, Path(args.learn), out)
    return 0


PAGE_LINES = ["मेरो गाउँ सानो छ", "त्यहाँ हरियो खेत छन्", "हामी सबै मिलेर बस्छौं"]


def write_page(path: Path) -> Path:
    """A page of three handwritten-looking lines (the Kalam font) on off-white paper."""
    font = ImageFont.truetype(str(KALAM), 64, layout_engine=ImageFont.Layout.RAQM)
    page = Image.new("L", (1100, 520), 246)
    draw_ = ImageDraw.Draw(page)
    for i, line in enumerate(PAGE_LINES):
        x = 70
        for word in line.split():  # words well apart, as handwriting usually has them
            draw_.text((x, 60 + i * 140), word, font=font, fill=40)
            x += font.getbbox(word)[2] + 56
    page.save(path)
    return path


def word_to_correct(page: Path, model: str | None) -> tuple[str, str] | None:
    """(reading, truth) of the word F2 picks on ``page`` (the first word below medium
    confidence, else the first word; see ``MainWindow.edit_text``), read as the app reads it,
    when ``page``'s truth file (``page_XXX.json`` of ``tools/make_page_testset.py``) says it
    is misread; None when it is read right or there is no truth file."""
    import json

    from nepocr_desktop.gui.style import MEDIUM_CONFIDENCE
    from nepocr_desktop.lib.page.containers import Box
    from nepocr_desktop.page import read_page
    from nepocr_desktop.recognizer import Recognizer

    truth_file = page.with_suffix(".json")
    if not truth_file.is_file():
        return None
    truth = [(Box(*w["box"]), w["text"]) for ln in json.loads(truth_file.read_text(encoding="utf-8"))["lines"]
             for w in ln["words"]]
    result = read_page(Recognizer(model, device="cpu", beam=8, lexicon=True), page)
    words = [w for ln in result.lines for w in ln.words]
    if not words:
        return None
    pick = words[min(range(len(words)), key=lambda i: (words[i].confidence >= MEDIUM_CONFIDENCE, i))]
    box, text = max(truth, key=lambda t: t[0].iou(pick.box))
    if box.iou(pick.box) < 0.5 or text == pick.text:
        return None
    return pick.text, text


def page_editor(cmd: list[str], env: dict, data: Path, out: Path, pages: list[Path], correction: str,
                model: str | None) -> None:
    """Open a page, pick the first word to check (F2), type its correction and press Enter.

    With pages of a test set (``--page`` a folder made by ``tools/make_page_testset.py``), the
    first page whose picked word is misread is opened and the true text typed; otherwise
    ``--correction`` is typed over the picked word."""
    page = None
    for candidate in pages:
        found = word_to_correct(candidate, model)
        if found is not None:
            page, (read, correction) = candidate, found
            print(f"{candidate.name}: the word to check reads {read!r}; typing {correction!r}")
            break
    page = page or (pages[0] if pages else write_page(data / "page.png"))
    app = subprocess.Popen(cmd + [str(page.resolve())], cwd=ROOT, env=env)
    try:
        wait_for_log(data, "first result shown")  # the page is read
        time.sleep(2)
        win = xdotool("search", "--sync", "--onlyvisible", "--name", "nepocr").split()[0]
        xdotool("windowfocus", "--sync", win)  # no window manager gives it the keyboard
        xdotool("key", "F2")  # the first word to check is picked and put in the field
        time.sleep(1)
        xdotool("key", "ctrl+a")
        xdotool("type", "--delay", "60", correction)
        time.sleep(0.5)
        xdotool("key", "Return")  # corrected: the next word is picked
        time.sleep(2)
        screenshot(out / "screenshot-page-editor.png", win)
    finally:
        app.terminate()
        app.wait(10)


def learn(cmd: list[str], env: dict, data: Path, samples: Path, out: Path) -> None:
    """Fill the sample store from ``samples``, run "Learn my handwriting", capture the Learn tab."""
    from nepocr_desktop.gui.settings import Settings
    from nepocr_desktop.lib.storage.store import SampleStore

    with SampleStore(data) as store:
        report = store.import_folder(samples, source="folder")
    print(f"imported {report.added_count} samples from {samples}")
    # the capture is of a run the user starts: with background learning on, the app would start
    # one by itself on seeing that many new samples, and the button would wait for it
    settings = Settings(data / "settings.ini")
    settings.background_learning = False
    settings.sync()
    app = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        wait_for_log(data, "window shown")
        time.sleep(3)  # the start-up screen is gone: the window found is the main one
        win = xdotool("search", "--sync", "--onlyvisible", "--name", "nepocr").split()[0]
        xdotool("windowfocus", "--sync", win)  # no window manager gives it the keyboard
        xdotool("key", "ctrl+3")
        time.sleep(5)  # the Learn tab is built when first shown
        xdotool("key", "alt+l")  # Learn my handwriting
        wait_for_log(data, "fine-tuning finished", timeout=300)
        time.sleep(2)
        screenshot(out / "screenshot-training.png", win)
    finally:
        app.terminate()
        app.wait(10)


if __name__ == "__main__":
    sys.exit(main())
