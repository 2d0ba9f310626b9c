"""Replayed words prepared once for fine-tuning (lib/training/finetune/replay.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
from nepocr_desktop.lib.read.crnn import CRNN, SPECS
from nepocr_desktop.lib.read.preprocess import RIGHT_MARGIN, PreprocessConfig, prepare
from nepocr_desktop.lib.training.finetune.replay import ReplayPool, build_pool
from nepocr_desktop.lib.training.synth import find_fonts, render_text

WORDS = ["नेपाल", "घर", "विद्यालय", "किताब", "माया", "आमाबुबा", "गाउँ", "काठमाडौं", "र"]


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = CRNN(DEFAULT_CHARSET.num_classes, SPECS["small"])
    model.eval()
    return model


@pytest.fixture(scope="module")
def items():
    font = next(f for f in find_fonts() if f.name == "Kalam-Regular.ttf")
    cfg = PreprocessConfig(height=SPECS["small"].height)
    out = []
    for w in WORDS:
        img = prepare(render_text(w, font, size=40), cfg)
        out.append((img, DEFAULT_CHARSET.encode(w), w))
    return out


def test_pool_holds_each_word_as_read_alone(net, items):
    pool = build_pool(net, iter(items), len(items), chunk=4)
    assert len(pool) == len(items)
    by_label = {tuple(lab): k for k, lab in enumerate(pool.labels)}
    for img, ids, _ in items:
        k = by_label[tuple(ids)]
        x = torch.nn.functional.pad(torch.from_numpy(img)[None, None].float(), (0, RIGHT_MARGIN))
        with torch.no_grad():
            f = net.features(x)
            lp, lengths = net.sequence(f, torch.tensor([img.shape[1]]))
        n = int(lengths[0])
        assert pool.features[k].shape[0] == n == pool.teacher[k].shape[0]
        assert pool.widths[k] == img.shape[1]
        torch.testing.assert_close(pool.features[k], f[:n, 0], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(pool.teacher[k], lp[:n, 0], atol=1e-4, rtol=1e-4)


def test_drawn_batch_reads_as_the_base_model(net, items):
    """The base model on a drawn batch reproduces the stored readings: distillation starts at zero."""
    pool = build_pool(net, iter(items), len(items))
    rb = pool.draw(5, np.random.default_rng(3))
    assert rb.features.shape[1] == 5 and rb.teacher.shape[:2] == rb.features.shape[:2]
    assert int(rb.lengths.sum()) == rb.targets.numel()
    with torch.no_grad():
        lp, lengths = net.sequence(rb.features, rb.widths)
    for j, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(lp[:n, j], rb.teacher[:n, j], atol=1e-4, rtol=1e-4)


def test_forward_is_features_then_sequence(net, items):
    img = items[2][0]
    x = torch.from_numpy(img)[None, None].float()
    w = torch.tensor([img.shape[1]])
    with torch.no_grad():
        a, _ = net(x, w)
        b, _ = net.sequence(net.features(x), w)
    torch.testing.assert_close(a, b)


def test_pool_rejects_empty_input():
    with pytest.raises(ValueError):
        ReplayPool([], [], [], [])
    with pytest.raises(ValueError):
        build_pool(CRNN(DEFAULT_CHARSET.num_classes, SPECS["small"]), iter([]), 0)
