"""tools/average_checkpoints.py: the mean of training checkpoints as a model file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
from nepocr_desktop.lib.read.crnn import ModelSpec
from nepocr_desktop.lib.read.modelio import load_model, read_info, save_model
from nepocr_desktop.lib.training.train import new_model

ROOT = Path(__file__).resolve().parent.parent
SPEC = ModelSpec(height=32, channels=(8, 16, 16, 24), double=(False,) * 4, hidden=32, layers=1, dropout=0.0)


def test_mean_of_checkpoints_with_their_epochs(tmp_path):
    model, info = new_model(DEFAULT_CHARSET, SPEC)
    info.metadata.update(epoch=7, step=70, val_cer=0.2, val_wer=0.5)
    save_model(model, info, tmp_path / "like.pt")
    states = []
    for epoch in (8, 9):
        torch.manual_seed(epoch)
        m, _ = new_model(DEFAULT_CHARSET, SPEC)
        states.append(m.state_dict())
        torch.save({"model": m.state_dict(), "epoch": epoch, "step": 10 * epoch}, tmp_path / f"epoch{epoch}.ckpt")
    out = tmp_path / "mean.pt"
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "average_checkpoints.py"), "--like",
                          str(tmp_path / "like.pt"), "--out", str(out), str(tmp_path / "epoch8.ckpt"),
                          str(tmp_path / "epoch9.ckpt")], check=False, capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    meta = read_info(out).metadata
    assert (meta["epoch"], meta["step"]) == ("8-9 (mean)", 90)
    assert "val_cer" not in meta and "val_wer" not in meta  # they described epoch 7
    assert meta["averaged_checkpoints"] == ["epoch8.ckpt", "epoch9.ckpt"]
    got = load_model(out).module.state_dict()
    key = "head.weight"
    assert torch.allclose(got[key], (states[0][key] + states[1][key]) / 2, atol=1e-6)
