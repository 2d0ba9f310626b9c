"""The pull towards the base weights while fine-tuning (lib/training/finetune/anchor.py)."""

from __future__ import annotations

import pytest
import torch

from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
from nepocr_desktop.lib.read.crnn import CRNN, SPECS
from nepocr_desktop.lib.read.preprocess import PreprocessConfig, prepare
from nepocr_desktop.lib.training.finetune.anchor import FISHER_CAP, fisher_diagonal, pull
from nepocr_desktop.lib.training.finetune.replay import build_pool
from nepocr_desktop.lib.training.synth import find_fonts, render_text

WORDS = ["नेपाल", "घर", "विद्यालय", "किताब", "माया", "आमाबुबा", "गाउँ", "काठमाडौं"]


@pytest.fixture(scope="module")
def net_and_pool():
    torch.manual_seed(0)
    net = CRNN(DEFAULT_CHARSET.num_classes, SPECS["small"])
    font = next(f for f in find_fonts() if f.name == "Kalam-Regular.ttf")
    cfg = PreprocessConfig(height=SPECS["small"].height)
    items = [(prepare(render_text(w, font, size=40), cfg), DEFAULT_CHARSET.encode(w), w) for w in WORDS]
    pool = build_pool(net.eval(), iter(items), len(items), chunk=4)
    return net, pool


def test_importance_is_of_the_upper_network_and_has_a_mean_of_one(net_and_pool):
    net, pool = net_and_pool
    net.train()
    named = list(net.named_parameters())
    before = {n: p.detach().clone() for n, p in named}
    imp = fisher_diagonal(net, named, pool, words=len(pool))
    assert set(imp) == {n for n, _ in named}
    assert all(imp[n].shape == p.shape for n, p in named)
    # the convolutions' features come ready from the pool: the general words say nothing of them
    assert all(float(imp[n].abs().sum()) == 0 for n in imp if n.startswith("cnn."))
    upper = torch.cat([imp[n].flatten() for n in imp if not n.startswith("cnn.")])
    assert float(upper.max()) <= FISHER_CAP
    assert float(upper.min()) >= 0 and float(upper.max()) > 1.0
    total = torch.cat([v.flatten() for v in imp.values()])
    assert float(total.mean()) == pytest.approx(1.0, rel=0.05) or float(total.max()) == FISHER_CAP
    assert all(torch.equal(before[n], p) for n, p in named)  # estimating changes no weight
    assert net.training  # and leaves the mode as it was


def test_pull_spares_the_weights_general_words_do_not_depend_on():
    w0 = [torch.zeros(3), torch.zeros(2)]
    w = [torch.ones(3), torch.ones(2)]
    assert float(pull(w, w0, 0.5)) == pytest.approx(0.5 * 5)
    importance = [torch.tensor([0.0, 0.0, 4.0]), torch.zeros(2)]
    assert float(pull(w, w0, 0.0, 1.0, importance)) == pytest.approx(4.0)
    assert float(pull(w, w0, 0.5, 1.0, importance)) == pytest.approx(2.5 + 4.0)
    assert pull(w, w0, 0.0, 0.0, importance) == 0.0

