"""Start-up: the self-test, bundled font and icon, the exception hook, the Qt binding."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtGui import QFont, QFontDatabase, QFontInfo

from nepocr_desktop.gui.app import build_parser, run, sample_images
from nepocr_desktop.gui.errors import install_excepthook, plain_message
from nepocr_desktop.gui.style import DEVANAGARI_FAMILY, app_icon, icon, register_fonts
from nepocr_desktop.lib.read.modelio import ModelError


def test_self_test_reads_the_bundled_samples(qapp, tiny_model_path, capsys):
    assert len(sample_images()) >= 1 and all(text for _p, text in sample_images())
    code = run(["--self-test", "--model", str(tiny_model_path), "--device", "cpu"])
    out = capsys.readouterr()
    assert code == 0, out.err
    for path, _text in sample_images():
        assert f"{path.name}: " in out.out
    assert "model:" in out.out and "native libraries: ok" in out.out
    # random weights do not survive int8: reported, read in float, not a failure
    assert "int8 network: " in out.out and "(read in float32)" in out.out


def test_self_test_of_the_bundled_model_checks_its_int8_network(qapp, capsys):
    assert run(["--self-test", "--device", "cpu"]) == 0
    assert "int8 network: ok" in capsys.readouterr().out


def test_self_test_fails_when_opencv_linear_algebra_is_wrong(qapp, tiny_model_path, capsys, monkeypatch):
    import cv2

    monkeypatch.setattr(cv2, "gemm", lambda a, b, alpha, c, beta: a)
    assert run(["--self-test", "--model", str(tiny_model_path), "--device", "cpu"]) == 1
    assert "matrix product (float32) differs" in capsys.readouterr().err


def test_self_test_fails_with_a_bad_model(qapp, tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"x" * 2048)
    assert run(["--self-test", "--model", str(bad)]) == 1
    assert "bad.pt" in capsys.readouterr().err


def test_command_line_options():
    args = build_parser().parse_args(["--model", "m.pt", "--device", "cpu", "photo.jpg"])
    assert (args.model, args.device, args.image, args.self_test) == ("m.pt", "cpu", "photo.jpg", False)
    assert run(["--device", "tpu"]) == 2


def test_the_bundled_font_is_registered_and_used(qapp):
    assert DEVANAGARI_FAMILY in register_fonts()
    assert DEVANAGARI_FAMILY in QFontDatabase.families()
    assert QFontInfo(QFont(DEVANAGARI_FAMILY)).family() == DEVANAGARI_FAMILY
    assert DEVANAGARI_FAMILY in qapp.font().families()  # Devanagari anywhere in the UI falls back to it


def test_icons_load(qapp):
    assert not app_icon().isNull()
    for name in ("open", "paste", "undo", "redo", "clear", "copy", "save", "zoom-in", "zoom-out"):
        assert not icon(name).pixmap(24, 24).isNull(), name


def test_exception_hook_shows_plain_words(qapp):
    shown = []
    restore = install_excepthook(shown.append)
    try:
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            sys.excepthook(*sys.exc_info())
    finally:
        restore()
    assert len(shown) == 1
    assert "division by zero" in shown[0] and "Traceback" not in shown[0]
    assert "carry on" in shown[0]


def test_plain_messages():
    assert plain_message(ModelError("model.pt: not a model file")) == "model.pt: not a model file."
    assert plain_message(MemoryError()).startswith("There is not enough memory")
    assert "Permission denied" in plain_message(PermissionError(13, "denied", "/x"))


def test_qt_binding_keeps_none_alive():
    """PySide6 6.12.0 drops a reference to None on every void call, which crashes Python 3.11
    after a few thousand strokes; the project must run on a binding without that defect."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QPainterPath

    path = QPainterPath(QPointF(0, 0))
    before = sys.getrefcount(None)
    for _ in range(200):
        path.lineTo(QPointF(1, 1))
    if sys.version_info >= (3, 12):
        pytest.skip("None is immortal from Python 3.12")
    assert sys.getrefcount(None) >= before - 50


def test_about_names_the_model_and_its_scores():
    from nepocr_desktop.gui.dialogs import about_text
    from nepocr_desktop.gui.workers import ModelSummary

    text = about_text(ModelSummary("/m/nepocr.pt", "cpu", {"name": "nepocr-base", "val_cer": 0.0412}), 3)
    assert "nepocr-base" in text and "4.1 %" in text and "Saved samples:</b> 3" in text
    assert "network of their own" not in text
    attached = about_text(ModelSummary("/m/two.pt", "cpu", {"name": "nepocr-base"}, "int8", True), None)
    assert "network of their own" in attached and "surer" not in attached
    canvas = about_text(ModelSummary("/m/two.pt", "cpu", {"name": "nepocr-base", "drawings_scope": "canvas"},
                                     "int8", True), None)
    assert "Write tab is read by a network of its own" in canvas and "scans are read by the main" in canvas
    assert "black-and-white scans are read by a network" not in canvas and "canvas" not in canvas
    surer = about_text(ModelSummary("/m/two.pt", "cpu", {"name": "nepocr-base", "drawings_read": "surer"},
                                    "int8", True), None)
    assert "network of their own and by the model's main network" in surer and "surer of the two" in surer
    learned = about_text(ModelSummary("/m/mine.pt", "cpu", {"user_cer_before": 0.40, "user_cer_after": 0.36,
                                                            "learned_for": "drawings"}, "int8", True), None)
    assert "photos are read as before" in learned and "network of their own" not in learned  # said once
    both = about_text(ModelSummary("/m/mine.pt", "cpu", {"learned_for": "drawings", "drawings_read": "surer"},
                                   "int8", True), None)
    assert "Drawings read by" in both and "each word keeping the surer reading" in both
    assert learned.index("Your error rate before") < learned.index("Your error rate after")
    judged = about_text(ModelSummary("/m/mine.pt", "cpu", {"accepted": True, "judged_words": 30, "judgement":
                                                           "probably_better", "share_learned": 0.75}), None)
    assert "Kept after the checks</td><td>yes" in judged and "30 of your words" in judged
    assert "probably reads your handwriting better" in judged and "75 %" in judged
    assert "probably_better" not in judged and "True" not in judged


def test_self_test_also_reads_an_image_given_as_a_user_would_open_it(qapp, tiny_model_path, tmp_path, capsys,
                                                                     render_word):
    page = tmp_path / "मेरो पाना.png"  # Devanagari and a space in the name
    render_word("नमस्ते नेपाल", size=60).save(page)
    args = ["--self-test", "--model", str(tiny_model_path), "--device", "cpu"]
    assert run([*args, str(page)]) == 0
    assert "मेरो पाना.png: " in capsys.readouterr().out
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff" + b"not really a jpeg")
    assert run([*args, str(broken)]) == 1
    assert "broken.jpg" in capsys.readouterr().err
