"""The recognition worker: its own thread, latest request wins, errors as messages."""

from __future__ import annotations

import gc
import threading

import numpy as np
from PySide6.QtCore import QTimer

from nepocr_desktop.gui.workers import ModelSummary, RecognitionService

TIMEOUT = 15_000


def word(width: int) -> np.ndarray:
    image = np.full((60, width), 255, np.uint8)
    image[20:40, 10:width - 10] = 0
    return image


def loaded(qtbot, service: RecognitionService) -> RecognitionService:
    with qtbot.waitSignal(service.modelReady, timeout=TIMEOUT):
        service.load("tiny.pt", "cpu")
    return service


def test_recognition_runs_on_the_worker_thread(qtbot, make_service, recording):
    service = loaded(qtbot, make_service())
    with qtbot.waitSignal(service.recognized, timeout=TIMEOUT) as signal:
        request = service.recognize("canvas", [word(120)])
    got_request, results = signal.args
    assert got_request.id == request.id
    assert len(results) == 1 and hasattr(results[0], "text")
    assert recording.threads and threading.get_ident() not in recording.threads


def test_a_loaded_model_is_kept_out_of_the_collectors_walks(qtbot, make_service):
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    loaded(qtbot, make_service())
    # torch's objects and the model's, frozen once the model is ready and the first readings done
    qtbot.waitUntil(lambda: gc.get_freeze_count() > 10_000, timeout=TIMEOUT)


def test_latest_request_wins(qtbot, make_service, recording):
    service = loaded(qtbot, make_service())
    applied = []
    service.recognized.connect(lambda req, res: applied.append(req))
    recording.gate.clear()  # the worker is held inside the first job
    requests = [service.recognize("canvas", [word(80 + 20 * i)]) for i in range(5)]
    assert service.busy
    recording.gate.set()
    qtbot.waitUntil(lambda: not service.busy, timeout=TIMEOUT)
    qtbot.wait(200)  # let any stale result arrive too
    assert [r.id for r in applied] == [requests[-1].id]
    assert len(recording.calls) <= 2  # never a queue of stale jobs
    assert service.dropped == len(recording.calls) - 1


def test_channels_do_not_replace_each_other(qtbot, make_service, recording):
    service = loaded(qtbot, make_service())
    applied = []
    service.recognized.connect(lambda req, res: applied.append(req.channel))
    recording.gate.clear()
    service.recognize("canvas", [word(100)])
    service.recognize("import", [word(140)])
    recording.gate.set()
    qtbot.waitUntil(lambda: sorted(applied) == ["canvas", "import"], timeout=TIMEOUT)


def test_gui_thread_keeps_running_during_a_slow_batch(qtbot, make_service, recording):
    recording.delay = 0.8  # plus a real batch of 32 images
    service = loaded(qtbot, make_service())
    ticks = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    with qtbot.waitSignal(service.recognized, timeout=TIMEOUT) as signal:
        service.recognize("batch", [word(100 + 7 * i) for i in range(32)])
    timer.stop()
    assert len(signal.args[1]) == 32
    assert len(ticks) >= 20  # 0.8 s at 20 ms; a blocked GUI thread would give ~0


def test_cancelled_requests_are_not_applied(qtbot, make_service, recording):
    service = loaded(qtbot, make_service())
    applied = []
    service.recognized.connect(lambda req, res: applied.append(req))
    recording.gate.clear()
    service.recognize("canvas", [word(100)])
    service.cancel("canvas")
    assert not service.busy
    recording.gate.set()
    qtbot.wait(300)
    assert applied == []


def test_requests_wait_for_the_model(qtbot, make_service, recording):
    release = threading.Event()

    def slow_factory(*_args):
        release.wait(20)
        return recording

    service = make_service(slow_factory)
    service.load(None, "cpu")
    assert not service.ready
    applied = []
    service.recognized.connect(lambda req, res: applied.append(req))
    request = service.recognize("canvas", [word(100)])
    qtbot.wait(150)
    assert applied == []
    release.set()
    qtbot.waitUntil(lambda: [r.id for r in applied] == [request.id], timeout=TIMEOUT)
    assert service.ready


def test_load_errors_and_bad_images_become_messages(qtbot, make_service, tmp_path):
    from nepocr_desktop.gui.workers import default_factory

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\0" * 4096)
    service = make_service(default_factory)
    with qtbot.waitSignal(service.modelFailed, timeout=TIMEOUT) as signal:
        service.load(bad, "cpu")
    assert "bad.pt" in signal.args[0] and "Traceback" not in signal.args[0]
    with qtbot.waitSignal(service.failed, timeout=TIMEOUT) as failed:
        service.recognize("canvas", [word(100)])
    assert "No model" in failed.args[1]


def test_an_unreadable_image_is_a_failure_in_the_results(qtbot, make_service, tmp_path):
    service = loaded(qtbot, make_service())
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with qtbot.waitSignal(service.recognized, timeout=TIMEOUT) as signal:
        service.recognize("import", [bad, word(100)])
    failure, ok = signal.args[1]
    assert "bad.png" in failure.message
    assert hasattr(ok, "text")


def test_unexpected_errors_are_reported_not_raised(qtbot, make_service, recording):
    service = loaded(qtbot, make_service())

    def boom(images):
        raise RuntimeError("out of cheese")

    recording.recognize = boom
    with qtbot.waitSignal(service.failed, timeout=TIMEOUT) as signal:
        service.recognize("canvas", [word(100)])
    assert "out of cheese" in signal.args[1]


def test_model_summary_titles():
    s = ModelSummary("/m/nepocr.pt", "cpu", {"name": "nepocr-base", "trained": "2025-05-01"})
    assert s.title == "nepocr-base · trained 2025-05-01" and s.device_title == "CPU"
    tuned = ModelSummary("/m/mine.pt", "NVIDIA T4", {"name": "nepocr-base", "finetuned": "2025-06-02 10:00:00"})
    assert tuned.title == "nepocr-base · personalised 2025-06-02" and tuned.device_title == "NVIDIA T4"
    assert ModelSummary("/m/x.pt", "cpu", {}).title == "x"


def test_shutdown_stops_the_thread(qtbot, make_service):
    service = loaded(qtbot, make_service())
    service.shutdown()
    assert not service._thread.isRunning()


def test_the_summary_says_how_the_network_runs():
    assert ModelSummary("/m/x.pt", "cpu", {}, "int8").runs_on == "CPU · int8"
    assert ModelSummary("/m/x.pt", "cpu", {}).runs_on == "CPU"
    assert ModelSummary("/m/x.pt", "cpu", {}, "int8").device_title == "CPU"  # as page exports name it
    assert ModelSummary("/m/x.pt", "NVIDIA T4", {}, "float32").runs_on == "NVIDIA T4 · float32"


def test_loading_progress_reaches_the_status_bar(qtbot, make_service, recording, tmp_path):
    from nepocr_desktop.gui.main_window import MainWindow
    from nepocr_desktop.gui.settings import Settings

    def factory(model_path, device, beam, lexicon, progress=None):
        for step, what in enumerate(("network", "int8 copy", "language model"), 1):
            progress(step, 3, what)
        return recording

    service = make_service(factory)
    window = MainWindow(service, Settings(tmp_path / "s.ini"))
    qtbot.addWidget(window)
    shown = []
    service.modelProgress.connect(shown.append)
    window.model_label.setText("")
    with qtbot.waitSignal(service.modelReady, timeout=TIMEOUT):
        service.load("tiny.pt", "cpu")
    assert shown == ["Loading model… 1/3 network", "Loading model… 2/3 int8 copy",
                     "Loading model… 3/3 language model"]
    assert window.model_label.text().startswith("Model:")


def test_the_default_factory_reports_progress(qtbot, make_service):
    from nepocr_desktop.gui.workers import default_factory

    service = make_service(default_factory)
    shown = []
    service.modelProgress.connect(shown.append)
    with qtbot.waitSignal(service.modelReady, timeout=120_000) as signal:
        service.load(None, "cpu", 1, True)
    assert shown == ["Loading model… 1/3 network", "Loading model… 2/3 int8 copy",
                     "Loading model… 3/3 language model"]
    assert signal.args[0].runs_on == "CPU · int8"
