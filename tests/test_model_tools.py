"""tools/widen_model.py (function-preserving widening) and tools/make_scanner_set.py."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from make_scanner_set import binarised, low_res_bilevel
from widen_model import widen

from nepocr_desktop.lib.read.crnn import CRNN, ModelSpec

SPEC = ModelSpec(height=32, channels=(8, 8, 16, 16), hidden=12, layers=2, dropout=0.0)


def _randomised(model: torch.nn.Module) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
    return model.eval()


def test_widened_network_reads_exactly_as_before_and_has_more_units():
    small = _randomised(CRNN(9, SPEC))
    wide = widen(small, SPEC, 20).eval()
    assert wide.rnn.hidden_size == 20 and wide.head.in_features == 40
    x, w = torch.rand(3, 1, 32, 96), torch.tensor([96, 60, 20])
    with torch.no_grad():
        a, la = small(x, w)
        b, lb = wide(x, w)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert torch.equal(la, lb)
    # the new units are live: their incoming weights are not zero, so training can grow them
    assert float(wide.rnn.weight_ih_l0.detach()[12:20].abs().sum()) > 0
    # and an ordinary state dict of the wider spec: it loads into a network built from that spec
    CRNN(9, dataclasses.replace(SPEC, hidden=20)).load_state_dict(wide.state_dict())


def test_widen_refuses_a_narrower_width():
    with pytest.raises(ValueError, match="must exceed"):
        widen(CRNN(9, SPEC), SPEC, 12)


def test_low_res_bilevel_scan_is_black_and_white_blocky_and_keeps_the_ink():
    img = np.full((40, 100), 220, np.uint8)
    img[14:26, 20:80] = 40  # ink
    out = low_res_bilevel(img, scale=0.4, threshold=0.75)
    assert out.shape == img.shape and set(np.unique(out)) <= {0, 255}
    assert out[20, 50] == 0 and out[2, 2] == 255
    # square blocks: at 0.4 each low-resolution pixel covers 2-3 image pixels in a row
    runs = np.diff(np.flatnonzero(np.diff(out[20].astype(int)) != 0))
    assert len(runs) == 0 or runs.min() >= 2


def test_scanner_lights_the_page_evenly_before_the_threshold():
    # paper from dim (110) on the left to bright (240) on the right, ink at a third of the paper
    paper = np.linspace(110, 240, 120, dtype=np.float32)[None, :].repeat(40, axis=0)
    img = paper.copy()
    img[16:24, 10:110] *= 0.33
    out = low_res_bilevel(img.astype(np.uint8), scale=1.0, threshold=0.75)
    assert (out[2:10] == 255).all() and (out[32:] == 255).all()  # all paper white, the dim side too
    assert (out[18:22, 12:108] == 0).all()  # all ink black, the bright side too


@pytest.mark.parametrize("flags", [[], ["--binarise"]])
def test_make_scanner_set_writes_every_word_in_black_and_white(tmp_path, flags):
    import cv2
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    img = np.full((40, 120), 220, np.uint8)
    img[16:24, 10:110] = 40
    cv2.imwrite(str(src / "images" / "a.png"), img)
    (src / "labels.tsv").write_text("images/a.png\tघर\n", encoding="utf-8")
    out = tmp_path / "out"
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_scanner_set.py"), str(src), *flags, "--out", str(out)],
                   check=True, cwd=ROOT, capture_output=True)
    lines = (out / "labels.tsv").read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[1] for line in lines] == ["घर"]
    written = cv2.imread(str(out / lines[0].split("\t")[0]), cv2.IMREAD_GRAYSCALE)
    assert written.shape == img.shape and set(np.unique(written)) <= {0, 255}
    assert (written[18:22, 16:104] == 0).all() and (written[:8] == 255).all()


def test_binarised_scan_keeps_full_resolution_and_thin_strokes():
    # thin strokes (2 px) on unevenly lit paper keep their place and width, and all the paper is white
    paper = np.linspace(150, 235, 160, dtype=np.float32)[None, :].repeat(48, axis=0)
    img = paper.copy()
    img[23:25, 10:150] *= 0.45
    img[10:38, 60:62] *= 0.45
    out = binarised(img.astype(np.uint8))
    assert out.shape == img.shape and set(np.unique(out)) <= {0, 255}
    assert (out[23:25, 14:146] == 0).all() and (out[12:36, 60:62] == 0).all()
    assert (out[:18, :55] == 255).all() and (out[30:, 70:] == 255).all()  # the paper, dim or bright, white
    assert int((out == 0).sum()) <= 2 * int((img < paper * 0.7).sum())  # strokes not thickened much
