"""Training loop: tiny end-to-end run, checkpoint/resume, data-parallel run."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nepocr_desktop.lib.errors import UsageError
from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
from nepocr_desktop.lib.read.crnn import ModelSpec
from nepocr_desktop.lib.read.modelio import build_trainable, load_model, read_info, save_model
from nepocr_desktop.lib.read.preprocess import prepare
from nepocr_desktop.lib.storage.dataset import Sample
from nepocr_desktop.lib.training.augment import shift_rows
from nepocr_desktop.lib.training.corpus import SUFFIXES
from nepocr_desktop.lib.training.sources import MixedStream, RealScans, RealWords, SynthWords
from nepocr_desktop.lib.training.synth import FontSampler, find_fonts, render_text
from nepocr_desktop.lib.training.train import TrainConfig, evaluate, fit, new_model, prepare_validation
from nepocr_desktop.recognizer import Recognizer
from nepocr_desktop.training import add_train_arguments, run_train

SPEC = ModelSpec(height=32, channels=(8, 16, 16, 24), double=(False,) * 4, hidden=32, layers=1, dropout=0.0)
WORDS = ["नेपाल", "घर", "पानी", "किताब", "माया"]


def _source():
    fonts = [f for f in find_fonts() if "Kalam-Regular" in f.name]
    return SynthWords(WORDS, FontSampler(fonts), pen=0.0), fonts[0]


def test_stream_yields_encoded_prepared_samples():
    src, _ = _source()
    _, info = new_model(DEFAULT_CHARSET, SPEC)
    it = iter(MixedStream([(src, 1.0)], DEFAULT_CHARSET, info.preprocess))
    for _ in range(10):
        x, ids, text = next(it)
        assert x.shape[0] == 32 and x.dtype == np.float32
        assert DEFAULT_CHARSET.decode(ids) == text
        assert set(text) <= set("".join(WORDS) + "".join(SUFFIXES))  # words, inflections, pseudo-words


def test_jitter_moves_a_share_of_the_prepared_images_up_or_down():
    """``jitter``: the same word prepared as without it, moved 1 or 2 rows with blank rows coming in;
    with a share of 0 every image is where prepare() puts it."""
    _, info = new_model(DEFAULT_CHARSET, SPEC)
    _, font = _source()
    img = render_text("नेपाल", font, size=40)
    x = prepare(img, info.preprocess)
    assert np.array_equal(shift_rows(x, 2)[2:], x[:-2]) and not shift_rows(x, 2)[:2].any()
    assert np.array_equal(shift_rows(x, -1)[:-1], x[1:]) and not shift_rows(x, -1)[-1:].any()
    assert np.array_equal(shift_rows(x, 0), x)

    def stream(jitter):
        it = iter(MixedStream([(lambda rng: (img, "नेपाल"), 1.0)], DEFAULT_CHARSET, info.preprocess,
                              jitter=jitter))
        return [next(it)[0] for _ in range(40)]

    assert all(np.array_equal(y, x) for y in stream(0.0))
    moved = [next(k for k in (-2, -1, 1, 2) if np.array_equal(y, shift_rows(x, k))) for y in stream(1.0)]
    assert set(moved) == {-2, -1, 1, 2}
    half = stream(0.5)
    unmoved = sum(np.array_equal(y, x) for y in half)
    assert 8 <= unmoved <= 32
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    with pytest.raises(UsageError, match="jitter"):
        run_train(parser.parse_args(["--jitter", "1.5"]))


@pytest.mark.parametrize("paper, ink", [(215, 40), (105, 15)])
def test_real_scans_are_black_and_white_words_on_white(tmp_path, paper, ink):
    """The `realscan` source: a real crop as a bilevel scan, the label kept, the paper white even
    when the photo was dark (the light is divided out before the cut), and dark ink kept."""
    import cv2

    _, font = _source()
    clean = render_text("नेपाल", font, size=40).astype(np.float32) / 255.0
    w = clean.shape[1]
    light = np.linspace(0.8, 1.1, w, dtype=np.float32)[None, :]   # uneven light across the crop
    photo = np.clip((paper * clean + ink * (1 - clean)) * light, 0, 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "w.png"), photo)
    source = RealScans(RealWords([Sample(tmp_path / "w.png", "नेपाल")], augment=False))
    rng = np.random.default_rng(3)
    for _ in range(12):
        img, text = source(rng)
        assert text == "नेपाल" and img.dtype == np.uint8
        assert float(((img == 0) | (img == 255)).mean()) > 0.85   # two levels (edges smoothed at most)
        share_black = float((img < 128).mean())
        assert 0.03 < share_black < 0.6, share_black   # ink, not a black page or an empty one


def test_tiny_train_export_load_recognise(tmp_path):
    torch.manual_seed(0)
    src, font = _source()
    model, info = new_model(DEFAULT_CHARSET, SPEC)
    val = prepare_validation([(render_text(w, font), w) for w in WORDS], info.preprocess)
    cfg = TrainConfig(out_dir=tmp_path / "run", epochs=3, steps_per_epoch=25, batch_size=8, lr=3e-3, warmup=5,
                      workers=0, export=tmp_path / "model.pt")
    res = fit(model, info, [(src, 1.0)], val, cfg)
    assert len(res.epochs) == 3
    assert res.epochs[-1].loss < res.epochs[0].loss  # it learns
    assert (tmp_path / "run" / "last.ckpt").exists()
    meta = read_info(tmp_path / "model.pt").metadata
    assert meta["epoch"] >= 1 and 0 <= meta["val_cer"] <= 1.5
    loaded = load_model(tmp_path / "model.pt")
    cer, _ = evaluate(loaded.module, info.charset, val, torch.device("cpu"))
    assert abs(cer - res.best_cer) < 1e-6  # the exported file is the best epoch
    rec = Recognizer(tmp_path / "model.pt", device="cpu")
    out = rec.recognize([render_text("घर", font)])
    assert out[0].text == "" or not DEFAULT_CHARSET.unknown(out[0].text)


def test_resume_continues_from_checkpoint(tmp_path):
    src, _ = _source()
    model, info = new_model(DEFAULT_CHARSET, SPEC)
    cfg = TrainConfig(out_dir=tmp_path, epochs=1, steps_per_epoch=3, batch_size=4, workers=0)
    fit(model, info, [(src, 1.0)], [], cfg)
    model2, _ = new_model(DEFAULT_CHARSET, SPEC)
    cfg2 = TrainConfig(out_dir=tmp_path, epochs=2, steps_per_epoch=3, batch_size=4, workers=0)
    res = fit(model2, info, [(src, 1.0)], [], cfg2)
    assert [r.epoch for r in res.epochs] == [2]  # epoch 1 was not run again
    assert res.epochs[0].step == 6


def test_keep_epochs_keeps_each_epochs_checkpoint(tmp_path):
    src, _ = _source()
    model, info = new_model(DEFAULT_CHARSET, SPEC)
    cfg = TrainConfig(out_dir=tmp_path, epochs=2, steps_per_epoch=2, batch_size=4, workers=0, keep_epochs=True)
    fit(model, info, [(src, 1.0)], [], cfg)
    kept = sorted(p.name for p in (tmp_path / "epochs").iterdir())
    assert kept == ["epoch1.ckpt", "epoch2.ckpt"]
    first = torch.load(tmp_path / "epochs" / "epoch1.ckpt", weights_only=True)
    last = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert (first["epoch"], first["step"]) == (1, 2) and last["epoch"] == 2
    assert any(not torch.equal(first["model"][k], last["model"][k]) for k in first["model"])
    plain = tmp_path / "plain"
    fit(new_model(DEFAULT_CHARSET, SPEC)[0], info, [(src, 1.0)], [],
        TrainConfig(out_dir=plain, epochs=1, steps_per_epoch=1, batch_size=4, workers=0))
    assert not (plain / "epochs").exists()  # only when asked


def test_cancel_stops_without_writing(tmp_path):
    src, _ = _source()
    model, info = new_model(DEFAULT_CHARSET, SPEC)
    calls = []
    cfg = TrainConfig(out_dir=tmp_path, epochs=2, steps_per_epoch=5, batch_size=4, workers=0,
                      export=tmp_path / "m.pt")
    res = fit(model, info, [(src, 1.0)], [], cfg, should_stop=lambda: calls.append(1) or len(calls) > 2)
    assert res.cancelled
    assert not (tmp_path / "m.pt").exists() and not (tmp_path / "last.ckpt").exists()


def test_data_parallel_two_cpu_processes(tmp_path):
    script = Path(__file__).parent / "helpers" / "ddp_train.py"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", "29533", str(script), str(tmp_path)],
                          check=False, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    params = [k for k in a if "running_" not in k and "num_batches" not in k]  # BN buffers are per rank
    assert params
    for k in params:
        assert torch.allclose(a[k].float(), b[k].float()), k  # gradients were averaged across ranks
    assert any(not torch.equal(a[k], b[k]) for k in a if "running_mean" in k)  # each rank saw its own data
    assert (tmp_path / "model.pt").exists()


def _data_folder(data: Path) -> None:
    """A tiny folder laid out like ../shared/data: rendered word crops and a word list."""
    import cv2

    _src, font = _source()
    lens = data / "nepali_lens_words"
    (lens / "images").mkdir(parents=True)
    words = WORDS + ["सहर", "कलम", "बाटो", "गाउँ", "मान्छे", "आमा", "बुबा", "दिदी", "भाइ", "खाना"]
    rows = []
    for i, w in enumerate(words * 2):
        cv2.imwrite(str(lens / "images" / f"{i}.png"), render_text(w, font))
        rows.append(f"images/{i}.png\t{w}")
    (lens / "labels_devanagari_only.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    wl = data / "nepali_wordlist_bisug"
    wl.mkdir()
    (wl / "words.txt").write_text("\n".join(words + ["पहाड", "हिमाल"]) + "\n", encoding="utf-8")


def test_train_command_runs_on_a_data_folder(tmp_path, capsys):
    """`nepocr train` end to end on a tiny data folder laid out like ../shared/data."""
    import json

    from nepocr_desktop.cli import main

    _data_folder(tmp_path / "data")
    out = tmp_path / "run"
    code = main(["train", "--data", str(tmp_path / "data"), "--out", str(out), "--spec", "small",
                 "--epochs", "1", "--steps", "2", "--batch", "4", "--workers", "0", "--threads", "1",
                 "--weights", "real=0.4,synth=0.4,realscan=0.2", "--real-augment", "strong", "--numbers", "0.2",
                 "--val-percent", "30", "--cache", str(tmp_path / "cache"), "--json", "--keep-epochs"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out.strip().splitlines()[-1])
    assert report["epoch"] == 1 and report["step"] == 2
    assert (out / "last.ckpt").exists() and (out / "model.pt").exists()
    assert (out / "epochs" / "epoch1.ckpt").exists()
    assert load_model(out / "model.pt").info.metadata["spec_name"] == "small"


def test_train_command_starts_from_a_model_with_strokes(tmp_path, capsys, tiny_model_path):
    """`nepocr train --init MODEL` keeps that model's spec and charset; a `strokes` share redraws
    real crops as canvas pen strokes."""
    import json

    from nepocr_desktop.cli import main

    _data_folder(tmp_path / "data")
    out = tmp_path / "run"
    code = main(["train", "--data", str(tmp_path / "data"), "--out", str(out), "--init", str(tiny_model_path),
                 "--epochs", "1", "--steps", "2", "--batch", "4", "--workers", "0", "--threads", "1",
                 "--weights", "real=0.5,strokes=0.5", "--val-percent", "30", "--cache", str(tmp_path / "cache"),
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["step"] == 2
    trained = load_model(out / "model.pt").info
    assert trained.spec == load_model(tiny_model_path).info.spec


def test_train_command_joins_real_crops_with_an_init_model(tmp_path, capsys, tiny_model_path):
    """A `realjoin` share: real crops cut where the --init model aligns their aksharas and joined;
    without --init it is refused in one line."""
    import json

    from nepocr_desktop.cli import main

    _data_folder(tmp_path / "data")
    args = ["train", "--data", str(tmp_path / "data"), "--epochs", "1", "--steps", "2", "--batch", "4",
            "--workers", "0", "--threads", "1", "--weights", "real=0.5,realjoin=0.5", "--val-percent", "30",
            "--cache", str(tmp_path / "cache"), "--json"]
    assert main([*args, "--out", str(tmp_path / "bare")]) == 2
    err = capsys.readouterr().err
    assert "realjoin needs --init" in err and len(err.strip().splitlines()) == 1
    base = load_model(tiny_model_path)
    base.info.metadata.update(name="tiny-init", trained="2020-01-02")
    init = tmp_path / "init.pt"
    save_model(build_trainable(base.info, base), base.info, init)
    code = main([*args, "--out", str(tmp_path / "run"), "--init", str(init)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["step"] == 2
    meta = load_model(tmp_path / "run" / "model.pt").info.metadata
    assert meta["data"]["weights"] == {"real": 0.5, "realjoin": 0.5}
    assert meta["init"] == {"path": str(init), "name": "tiny-init", "trained": "2020-01-02"}


def test_train_command_redraws_joined_words_as_strokes(tmp_path, capsys, tiny_model_path, monkeypatch):
    """`--stroke-join`: a share of the stroke words are joined real words, cut by the --init model;
    refused in one line without --init or without a strokes share."""
    import json

    from nepocr_desktop.cli import main
    from nepocr_desktop.lib.training import sources

    _data_folder(tmp_path / "data")
    args = ["train", "--data", str(tmp_path / "data"), "--epochs", "1", "--steps", "2", "--batch", "4",
            "--workers", "0", "--threads", "1", "--val-percent", "30", "--cache", str(tmp_path / "cache"),
            "--json", "--stroke-join", "1"]
    for extra, message in ((["--weights", "real=0.5,strokes=0.5"], "--stroke-join needs --init"),
                           (["--weights", "real=1", "--init", str(tiny_model_path)], "needs a strokes share"),
                           (["--weights", "strokes=1", "--stroke-join", "1.5"], "between 0 and 1")):
        assert main([*args, *extra, "--out", str(tmp_path / "bare")]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    drawn: list[str] = []
    redraw = sources.redraw_as_strokes

    def spy(img, rng, **kw):
        drawn.append(type(img).__name__)
        return redraw(img, rng, **kw)

    joined_calls: list[int] = []
    call = sources.RealJoined.__call__

    def joined_spy(self, rng):
        joined_calls.append(self.augment)
        return call(self, rng)

    traced: list[int] = []  # whole real crops traced for redrawing
    monkeypatch.setattr(sources, "trace_strokes", lambda img: traced.append(1))
    monkeypatch.setattr(sources, "redraw_as_strokes", spy)
    monkeypatch.setattr(sources.RealJoined, "__call__", joined_spy)
    code = main([*args, "--weights", "strokes=1", "--init", str(tiny_model_path), "--out", str(tmp_path / "run")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["step"] == 2
    # --stroke-join 1: the real writers' stroke words are all joined words, drawn from clean ink; no
    # whole real crop is redrawn (the rest are font-rendered and glyph-composed words)
    assert drawn and 0 < len(joined_calls) < len(drawn) and set(joined_calls) == {0.0} and not traced


@pytest.mark.parametrize("weights, message", [("bad", "expected source=weight"),
                                               ("real=0.5,ink=0.5", "unknown sources in --weights: ink")])
def test_train_command_refuses_bad_weights_with_one_line(tmp_path, capsys, weights, message):
    from nepocr_desktop.cli import main

    code = main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--weights", weights])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("nepocr: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "run").exists()
