"""Checks of the native libraries under OpenCV, for ``--self-test`` of a packaged build.

The app encodes and decodes PNG (sample thumbnails) and JPEG (augmentation while fine-tuning)
with OpenCV; in the bundle some of OpenCV's codec libraries are stubs, so the check round-trips
both formats.

OpenCV hands large linear-algebra problems (LU, Cholesky, QR, least squares, SVD, eigenvalues,
matrix products; from about 100 rows) to BLAS/LAPACK. In the bundle those calls go through a
small library to numpy's OpenBLAS (tools/cv2_lapack_shim.c), so the check solves problems big
enough to take that path and compares each answer with numpy's.
"""

from __future__ import annotations

import cv2
import numpy as np


def check_linear_algebra(n: int = 120, seed: int = 0) -> list[str]:
    """Problems found (empty when OpenCV's linear algebra agrees with numpy's)."""
    rng = np.random.default_rng(seed)
    problems: list[str] = []
    for dtype, tol in ((np.float32, 1e-2), (np.float64, 1e-8)):
        kind = np.dtype(dtype).name
        a = rng.normal(size=(n, n)).astype(dtype)
        b = rng.normal(size=(n, 3)).astype(dtype)
        spd = (a.astype(np.float64) @ a.T + n * np.eye(n)).astype(dtype)
        for name, flag, m in (("LU", cv2.DECOMP_LU, a), ("SVD", cv2.DECOMP_SVD, a),
                              ("QR", cv2.DECOMP_QR, a), ("Cholesky", cv2.DECOMP_CHOLESKY, spd)):
            ok, x = cv2.solve(m, b, flags=flag)
            err = float(np.abs(m.astype(np.float64) @ x - b).max()) if ok else float("inf")
            if err > 10 * tol:
                problems.append(f"solve ({name}, {kind}): residual {err:.3g}")
        tall = rng.normal(size=(2 * n, n // 2)).astype(dtype)
        y = rng.normal(size=(2 * n, 1)).astype(dtype)
        ok, x = cv2.solve(tall, y, flags=cv2.DECOMP_QR | cv2.DECOMP_NORMAL)
        ref = np.linalg.lstsq(tall.astype(np.float64), y.astype(np.float64), rcond=None)[0]
        if not ok or np.abs(x - ref).max() > tol:
            problems.append(f"least squares ({kind}) differs from numpy")
        w = cv2.SVDecomp(tall)[0].ravel()
        ref_w = np.linalg.svd(tall.astype(np.float64), compute_uv=False)
        if np.abs(np.sort(w)[::-1] - ref_w).max() > tol * 10:
            problems.append(f"singular values ({kind}) differ from numpy")
        prod = cv2.gemm(a, a, 1.0, None, 0.0)
        if np.abs(prod - a.astype(np.float64) @ a).max() > tol * n:
            problems.append(f"matrix product ({kind}) differs from numpy")
    g = rng.normal(size=(n, n))
    ev = np.sort(cv2.eigenNonSymmetric(g)[0].ravel())  # real parts
    if np.abs(ev - np.sort(np.linalg.eigvals(g).real)).max() > 1e-6:
        problems.append("eigenvalues differ from numpy")
    return problems


def check_image_codecs() -> list[str]:
    """Problems found encoding and decoding PNG and JPEG with OpenCV (empty when none)."""
    img = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (32, 1))
    problems = []
    for ext, tol in ((".png", 0), (".jpg", 8)):
        ok, buf = cv2.imencode(ext, img)
        back = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else None
        if back is None or back.shape != img.shape or np.abs(back.astype(int) - img).max() > tol:
            problems.append(f"OpenCV cannot round-trip {ext[1:].upper()} images")
    return problems
