"""Starting the app: ``run(argv)`` builds the QApplication and the window, loads the model.

A start-up screen appears at once (:mod:`.splash`); the model loads on the recognizer thread, and
the window is shown when it is ready (or failed, or after a few seconds at the latest), so what it
was asked to read (an image given on the command line) is read as soon as it appears. ``--self-test`` reads the bundled sample images
through the same window and worker without showing anything, prints the text and exits.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
import time
from pathlib import Path

from .. import __version__
from ..lib.read.devices import DEVICES
from ..paths import APP_NAME, resources_dir, user_data_dir

SELF_TEST_TIMEOUT_MS = 180_000
log = logging.getLogger("nepocr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=APP_NAME, description="Handwritten Nepali to text (the app).")
    parser.add_argument("image", nargs="?", help="an image to open at start")
    parser.add_argument("--model", metavar="PATH", help="model file (default: the bundled model)")
    parser.add_argument("--device", choices=DEVICES,
                        help="where to run the model (default: the saved preference, else auto)")
    parser.add_argument("--self-test", action="store_true",
                        help="read the bundled sample images (and IMAGE, if given, as if opened) "
                             "without a window, print the text, exit")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    return parser


def _setup_logging() -> None:
    root = logging.getLogger("nepocr")
    if root.handlers:
        return
    root.setLevel(logging.INFO)
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    root.addHandler(console)
    try:
        folder = user_data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(folder / "nepocr.log", maxBytes=1_000_000,
                                                       backupCount=1, encoding="utf-8")
    except OSError:
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root.addHandler(handler)


def run(argv: list[str]) -> int:
    """Run the app; returns the exit code."""
    t_start = time.perf_counter()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _setup_logging()

    from PySide6.QtCore import QCoreApplication, Qt, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName(APP_NAME)
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName(APP_NAME)
    if QGuiApplication.instance() is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else APP_NAME])

    from .errors import install_excepthook
    from .main_window import MainWindow
    from .settings import Settings
    from .splash import StartupSplash
    from .style import app_icon, register_fonts
    from .workers import RecognitionService

    if not register_fonts():
        log.warning("the bundled Devanagari font is missing; using the system's fonts")
    app.setWindowIcon(app_icon())
    splash = None
    if not args.self_test:  # at once, before the window is built (.splash)
        screen = app.primaryScreen()
        splash = StartupSplash(screen.devicePixelRatio() if screen is not None else 1.0)
        splash.start()
        app.processEvents()
        log.info("start-up screen shown %.0f ms after start", (time.perf_counter() - t_start) * 1000)
    service = RecognitionService()
    window = MainWindow(service, Settings())
    restore_hook = install_excepthook(window.show_error)
    try:
        if args.self_test:
            return _self_test(window, args)
        _log_milestones(service, t_start)
        # The window is shown ready to read: the start-up screen covers the loading (.splash).
        assert splash is not None
        splash.attach(window, service.modelReady, service.modelFailed, service.modelProgress,
                      on_shown=lambda _s: QTimer.singleShot(0, lambda: log.info(
                          "window shown %.0f ms after start", (time.perf_counter() - t_start) * 1000)))
        QTimer.singleShot(0, lambda: window.start_model(args.model, args.device))
        if args.image:
            QTimer.singleShot(0, lambda: window.open_path(args.image))
        app.aboutToQuit.connect(service.shutdown)
        return int(app.exec())
    finally:
        restore_hook()
        service.shutdown()


def _log_milestones(service, t_start: float) -> None:
    """Log when the model is ready and when the first result is shown (benchmarks/bench_startup.py)."""
    def ms() -> float:
        return (time.perf_counter() - t_start) * 1000

    def first_result(*_args) -> None:
        log.info("first result %.0f ms after start", ms())
        service.recognized.disconnect(first_result)

    service.modelReady.connect(lambda summary: log.info("model ready %.0f ms after start (%s)", ms(),
                                                        summary.runs_on))
    service.recognized.connect(first_result)


def sample_images() -> list[tuple[Path, str]]:
    """The bundled sample images and their expected text (from ``labels.tsv``)."""
    folder = resources_dir() / "samples"
    expected: dict[str, str] = {}
    labels = folder / "labels.tsv"
    if labels.is_file():
        for line in labels.read_text(encoding="utf-8").splitlines():
            name, _, text = line.partition("\t")
            if name and text:
                expected[name] = text.strip()
    images = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    return [(p, expected.get(p.name, "")) for p in images]


def _native_problems() -> list[str]:
    """OpenCV's linear algebra (BLAS/LAPACK) and image codecs, Qt's collation (ICU data)."""
    from PySide6.QtCore import QCollator, QLocale

    from ..lib.system.native import check_image_codecs, check_linear_algebra

    problems = check_linear_algebra() + check_image_codecs()
    nepali = QCollator(QLocale(QLocale.Language.Nepali, QLocale.Country.Nepal))
    # "a" before "B" needs ICU's collation data (code-point order puts "B" first)
    if not (nepali.compare("a", "B") < 0 and nepali.compare("क", "ख") < 0):
        problems.append("Qt cannot collate text (ICU data missing)")
    return problems


def _self_test(window, args: argparse.Namespace) -> int:
    """Read each sample through the Import view and the worker; 0 when all were read."""
    from PySide6.QtCore import QEventLoop, QTimer

    samples = sample_images()
    if not samples:
        print(f"self-test: no sample images in {resources_dir() / 'samples'}", file=sys.stderr)
        return 1
    service = window.service
    failures: list[str] = []
    loop = QEventLoop()
    service.modelReady.connect(lambda _s: loop.quit())
    service.modelFailed.connect(lambda msg: (failures.append(f"model: {msg}"), loop.quit()))
    service.recognized.connect(lambda _r, _x: loop.quit())
    service.failed.connect(lambda _r, msg: (failures.append(msg), loop.quit()))
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(lambda: (failures.append("timed out"), loop.quit()))

    def wait() -> None:
        timer.start(SELF_TEST_TIMEOUT_MS)
        loop.exec()
        timer.stop()

    t0 = time.perf_counter()
    window.start_model(args.model, args.device)
    wait()
    if failures:
        print(f"self-test: {failures[0]}", file=sys.stderr)
        return 1
    summary = service.summary
    print(f"model: {summary.title} ({summary.path}) on {summary.runs_on}, "
          f"loaded in {time.perf_counter() - t0:.1f} s")
    readings: list[tuple[Path, str]] = []
    for path, expected in samples:
        if not window.open_path(path):
            failures.append(f"{path.name}: {window.banner.text()}")
            continue
        wait()
        rec = window.result.recognition()
        if rec is None:
            failures.append(f"{path.name}: no result")
            continue
        verdict = "" if not expected else ("  ok" if rec.text == expected else f"  (expected {expected})")
        print(f"{path.name}: {rec.text}  confidence {rec.confidence:.2f}, {rec.ms:.0f} ms{verdict}")
        readings.append((path, rec.text))
    if args.image:
        # a user's own image, opened as from File > Open (a page is read as a page)
        if window.open_path(args.image):
            wait()
            reading = window.session.reading("import")  # a word or a page
            words = len(reading.text.split()) if reading is not None else 0
            print(f"{Path(args.image).name}: {words} words read")
        else:
            failures.append(f"{Path(args.image).name}: {window.banner.text()}")
    # after the reading: the linear-algebra check starts OpenBLAS's buffers, which a user's
    # session never needs, so they are not counted in the memory peak of the reading
    native = _native_problems()
    print("native libraries: " + ("; ".join(native) or "ok"))
    failures.extend(native)
    sys.stdout.flush()
    if summary.device_title.lower().startswith("cpu"):
        # on the CPU the app reads with an int8 copy of the network. With the bundled model a
        # missing copy is a packaging fault, and its readings must match the samples' labels;
        # another model may simply not quantize well, and is then read in float32.
        problem = "" if service.precision() == "int8" else "the int8 copy of the network was not made (see the log)"
        if not problem and not args.model:
            expected = dict(samples)
            wrong = [path.name for path, text in readings if expected[path] and text != expected[path]]
            problem = f"the int8 network misreads {', '.join(wrong)}" if wrong else ""
        print("int8 network: " + (problem or "ok") + (" (read in float32)" if problem and args.model else ""))
        if problem and not args.model:
            failures.append(f"int8 network: {problem}")
    for message in failures:
        print(f"self-test: {message}", file=sys.stderr)
    return 1 if failures else 0
