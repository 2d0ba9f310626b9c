"""The self-test's checks of OpenCV's BLAS/LAPACK path and image codecs."""

import cv2
import numpy as np

from nepocr_desktop.lib.system.native import check_image_codecs, check_linear_algebra


def test_opencv_linear_algebra_agrees_with_numpy():
    assert check_linear_algebra() == []


def test_opencv_codecs_round_trip(monkeypatch):
    assert check_image_codecs() == []
    monkeypatch.setattr(cv2, "imencode", lambda ext, img: (False, None))
    assert check_image_codecs() == ["OpenCV cannot round-trip PNG images", "OpenCV cannot round-trip JPG images"]


def test_a_wrong_solver_is_reported(monkeypatch):
    real = cv2.solve

    def off_by_a_bit(a, b, flags=0):
        ok, x = real(a, b, flags=flags)
        return ok, x + np.float32(0.1) if flags == cv2.DECOMP_CHOLESKY else x

    monkeypatch.setattr(cv2, "solve", off_by_a_bit)
    problems = check_linear_algebra()
    assert problems and all("Cholesky" in p for p in problems)
