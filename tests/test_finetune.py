"""Fine-tuning on a user's samples, the model library and its atomic switching."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
from nepocr_desktop.lib.read.modelio import ModelError, load_model, read_info
from nepocr_desktop.lib.storage.library import BUNDLED, ModelLibrary
from nepocr_desktop.lib.training.finetune import FinetuneConfig, finetune, save_finetuned, split_user_samples
from nepocr_desktop.lib.training.synth import find_fonts, render_text

WORDS = ["नेपाल", "घर", "पानी", "किताब", "माया", "आमा", "बुबा", "गाउँ"]


@pytest.fixture(scope="module")
def kalam():
    return [f for f in find_fonts() if f.name == "Kalam-Regular.ttf"]


@pytest.fixture(scope="module")
def user_pairs(kalam):
    rng = np.random.default_rng(0)
    return [(render_text(w, kalam[0], size=int(rng.integers(36, 48))), w) for w in WORDS * 2]


def test_split_is_deterministic_and_disjoint(user_pairs):
    a_train, a_held = split_user_samples(user_pairs, 0.2)
    _, b_held = split_user_samples(user_pairs, 0.2)
    assert [t for _, t in a_held] == [t for _, t in b_held]
    assert a_held and a_train and len(a_train) + len(a_held) == len(user_pairs)


def test_finetune_lowers_the_training_loss(tiny_model_path, user_pairs, kalam, tmp_path):
    torch.manual_seed(0)
    base = load_model(tiny_model_path)
    before = {k: v.clone() for k, v in base.module.state_dict().items()}
    cfg = FinetuneConfig(epochs=4, steps_per_epoch=12, batch_size=8, lr=3e-3, replay=0.2, patience=0)
    res = finetune(base, user_pairs, WORDS, kalam, cfg)
    assert not res.cancelled and res.model is not None
    assert res.history[-1].loss < res.history[0].loss
    assert res.lr == 3e-3 and res.summary()["lr"] == 3e-3 and res.info.metadata["learning_rate"] == 3e-3
    assert 0 <= res.user_cer_after and 0 <= res.general_cer_after
    # BatchNorm statistics stayed frozen
    after = res.model.state_dict()
    for k, v in before.items():
        if "running_mean" in k or "running_var" in k:
            assert torch.equal(v, after[k]), k
    # the base model itself is untouched
    for k, v in base.module.state_dict().items():
        assert torch.equal(v, before[k])
    out = tmp_path / "ft.pt"
    save_finetuned(res, out)
    meta = read_info(out).metadata
    assert meta["user_samples"] == len(user_pairs)
    assert load_model(out).info.charset == DEFAULT_CHARSET


def test_cancel_returns_no_model(tiny_model_path, user_pairs, kalam):
    base = load_model(tiny_model_path)
    n = []
    res = finetune(base, user_pairs, WORDS, kalam, FinetuneConfig(epochs=3, steps_per_epoch=10, batch_size=4),
                   should_stop=lambda: n.append(1) or len(n) > 3)
    assert res.cancelled and res.model is None
    with pytest.raises(ValueError):
        save_finetuned(res, "unused.pt")


def test_library_versions_and_fallback(tiny_model_path, tmp_path):
    lib = ModelLibrary(tmp_path / "models", tiny_model_path)
    assert lib.active().name == BUNDLED
    loaded = load_model(tiny_model_path)
    path = lib.add(loaded.module, loaded.info)
    assert lib.active().path == path and lib.active().warning is None
    assert [e.name for e in lib.entries()] == [BUNDLED, path.name]
    assert not list((tmp_path / "models").glob("*.tmp"))  # no temporary files left
    # a damaged active model falls back to the bundled one with a message
    path.write_bytes(path.read_bytes()[:2000])
    act = lib.active()
    assert act.name == BUNDLED and "bundled" in act.warning
    # an unusable file can never become active; the pointer is unchanged
    with pytest.raises(ModelError):
        lib.activate(path.name)
    assert json.loads((tmp_path / "models" / "active.json").read_text())["active"] == path.name
    lib.activate(BUNDLED)
    lib.delete(path.name)
    assert [e.name for e in lib.entries()] == [BUNDLED]


def test_pointer_survives_a_failed_write(tiny_model_path, tmp_path, monkeypatch):
    lib = ModelLibrary(tmp_path / "models", tiny_model_path)
    loaded = load_model(tiny_model_path)
    first = lib.add(loaded.module, loaded.info)
    from nepocr_desktop.lib.system import atomic

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        lib.add(loaded.module, loaded.info)
    monkeypatch.undo()
    assert lib.active().path == first
    assert [p.name for p in (tmp_path / "models").iterdir() if p.name.endswith(".tmp")] == []


def test_automatic_learning_rate_is_smaller_for_few_samples():
    from nepocr_desktop.lib.training.finetune import auto_lr

    assert FinetuneConfig().lr == 0  # automatic by default
    assert auto_lr(40) < auto_lr(160)
    assert auto_lr(99) == auto_lr(1) and auto_lr(100) == auto_lr(5000)
