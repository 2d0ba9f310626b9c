"""Fine-tuning on a user's samples, the model library and its atomic switching."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
from nepocr_desktop.lib.read.metrics import paired_interval
from nepocr_desktop.lib.read.modelio import ModelError, load_model, read_info
from nepocr_desktop.lib.storage.library import BUNDLED, ModelLibrary
from nepocr_desktop.lib.training.finetune import (
    FinetuneConfig,
    auto_replay,
    auto_steps,
    finetune,
    fold_user_samples,
    judge,
    save_finetuned,
    split_user_samples,
)
from nepocr_desktop.lib.training.synth import find_fonts, render_text

WORDS = ["नेपाल", "घर", "पानी", "किताब", "माया", "आमा", "बुबा", "गाउँ"]


@pytest.fixture(scope="module")
def kalam():
    return [f for f in find_fonts() if f.name == "Kalam-Regular.ttf"]


@pytest.fixture(scope="module")
def user_pairs(kalam):
    rng = np.random.default_rng(0)
    return [(render_text(w, kalam[0], size=int(rng.integers(36, 48))), w) for w in WORDS * 2]


FAST = {"steps_per_epoch": 6, "epochs": 1, "batch_size": 4, "general_words": 12, "min_steps": 1}


def test_split_is_deterministic_and_by_word(user_pairs):
    a_train, a_held = split_user_samples(user_pairs, 0.2)
    _, b_held = split_user_samples(user_pairs, 0.2)
    assert [t for _, t in a_held] == [t for _, t in b_held]
    assert a_held and a_train and len(a_train) + len(a_held) == len(user_pairs)
    assert not {t for _, t in a_train} & {t for _, t in a_held}  # no word on both sides
    _, held = split_user_samples(user_pairs, 0.2, min_held=5)
    assert len({t for _, t in held}) == 5


def test_folds_hold_every_word_out_once(user_pairs):
    folds = fold_user_samples(user_pairs, 3)
    assert len(folds) == 3
    held = [t for _, he in folds for _, t in he]
    assert sorted(held) == sorted(t for _, t in user_pairs)
    for tr, he in folds:
        assert he and not {t for _, t in tr} & {t for _, t in he}


def _errors(edits, length=6):
    e = np.asarray(edits, np.int64)
    return e, np.full(len(e), length, np.int64)


def test_a_worse_general_check_rejects_the_new_model():
    ub, ln = _errors([2] * 40)
    ua, _ = _errors([0] * 40)  # far better on the user's words ...
    gb, gl = _errors([0, 1] * 100)
    ga, _ = _errors([1, 1] * 100)  # ... but the general check is worse
    j = judge(ub, ua, ln, gb, ga, gl)
    assert not j.accepted and j.claim == "general_worse" and "kept" in j.reason
    # within the tolerance of the check it passes
    ga2 = gb.copy()
    ga2[0] += 1
    assert judge(ub, ua, ln, gb, ga2, gl).accepted


def test_a_verdict_on_four_words_claims_no_gain():
    ub, ln = _errors([3, 2, 3, 2])
    ua, _ = _errors([0, 0, 0, 0])
    gb, gl = _errors([0, 1] * 100)
    j = judge(ub, ua, ln, gb, gb.copy(), gl)
    assert j.claim == "too_few" and j.judged_words == 4
    assert "too few" in j.reason and "4 of your words" in j.reason
    assert "reads your handwriting better" not in j.reason.replace("whether it really reads", "")


def test_a_clear_gain_on_enough_words_is_claimed_with_its_interval():
    ub, ln = _errors([2, 1, 1, 0] * 10)
    ua, _ = _errors([0, 0, 1, 0] * 10)
    gb, gl = _errors([0, 1] * 100)
    j = judge(ub, ua, ln, gb, gb.copy(), gl)
    assert j.accepted and j.claim == "better" and j.user_delta_high < 0 and "interval" in j.reason
    # a small, uncertain difference is no reason to switch
    ua2 = ub.copy()
    ua2[0] -= 1
    j2 = judge(ub, ua2, ln, gb, gb.copy(), gl)
    assert not j2.accepted and j2.claim == "not_better"


def test_noisy_gain_is_only_probable():
    rng = np.random.default_rng(0)
    ub = rng.integers(0, 3, 30)
    ua = np.clip(ub + rng.integers(-2, 2, 30), 0, None)
    ln = np.full(30, 6)
    gb, gl = _errors([0, 1] * 100)
    j = judge(ub, ua, ln, gb, gb.copy(), gl)
    if j.accepted:
        assert j.claim in ("better", "probably_better")
        if j.user_delta_high >= 0:
            assert j.claim == "probably_better" and "chance" in j.reason


def test_paired_interval_contains_the_difference():
    ub, ln = _errors([1, 0, 2, 1] * 10)
    ua, _ = _errors([0, 0, 1, 1] * 10)
    d, lo, hi = paired_interval(ub, ua, ln)
    assert lo <= d <= hi < 0


def test_finetune_trains_judges_and_leaves_the_base_alone(tiny_model_path, user_pairs, kalam, tmp_path):
    torch.manual_seed(0)
    base = load_model(tiny_model_path)
    before = {k: v.clone() for k, v in base.module.state_dict().items()}
    cfg = FinetuneConfig(lr=3e-3, replay=0.25, cv_below=0, freeze_cnn_below=0, **FAST)
    res = finetune(base, user_pairs, WORDS, kalam, cfg)
    assert not res.cancelled and res.model is not None and res.candidate is not None
    assert res.lr == 3e-3 and res.summary()["lr"] == 3e-3 and res.info.metadata["learning_rate"] == 3e-3
    assert res.steps == 6 and res.judgement is not None and res.heldout_samples > 0
    assert 0 <= res.candidate_user_cer and 0 <= res.candidate_general_cer
    cand = res.candidate.state_dict()
    assert any(not torch.equal(v, cand[k]) for k, v in before.items() if "cnn.0.weight" in k)
    for k, v in before.items():  # BatchNorm statistics stayed frozen
        if "running_mean" in k or "running_var" in k:
            assert torch.equal(v, cand[k]), k
    for k, v in base.module.state_dict().items():  # the base model itself is untouched
        assert torch.equal(v, before[k])
    if not res.accepted:  # what is handed back is the base model
        assert all(torch.equal(v, res.model.state_dict()[k]) for k, v in before.items())
    out = tmp_path / "ft.pt"
    save_finetuned(res, out)
    meta = read_info(out).metadata
    assert meta["user_samples"] == len(user_pairs) and meta["accepted"] == res.accepted
    assert meta["user_words"] == sorted(WORDS)  # the personal word list travels with the model
    assert load_model(out).info.charset == DEFAULT_CHARSET


def test_few_samples_adapt_only_the_upper_network(tiny_model_path, user_pairs, kalam):
    base = load_model(tiny_model_path)
    cfg = FinetuneConfig(lr=3e-3, replay=0.25, cv_below=0, freeze_cnn_below=100, **FAST)
    res = finetune(base, user_pairs, WORDS, kalam, cfg)
    cand = res.candidate.state_dict()
    for k, v in base.module.state_dict().items():
        if k.startswith("cnn."):
            assert torch.equal(v, cand[k]), k
    assert any(not torch.equal(v, cand[k]) for k, v in base.module.state_dict().items() if k.startswith("rnn."))


def test_finetune_keeps_the_base_when_the_general_check_gets_worse(tiny_model_path, user_pairs, kalam,
                                                                   monkeypatch):
    """Better on the user's words, worse on the general check: rejected, the base is handed back."""
    import importlib

    ft = importlib.import_module("nepocr_desktop.lib.training.finetune.run")
    real = ft.word_errors
    base_modules = []

    def rigged(model, charset, val, batch_size=64):
        _, lengths = real(model, charset, val, batch_size)
        if not base_modules:
            base_modules.append(model)  # the first call reads the general check with the base
        is_base = model is base_modules[0]
        if len(val) == FAST["general_words"]:
            return (lengths.copy() if is_base else lengths * 2), lengths
        return (lengths.copy() if is_base else np.zeros_like(lengths)), lengths

    monkeypatch.setattr(ft, "word_errors", rigged)
    base = load_model(tiny_model_path)
    cfg = FinetuneConfig(lr=3e-3, replay=0.25, **FAST)
    res = ft.finetune(base, user_pairs, WORDS, kalam, cfg)
    assert res.candidate_user_cer == 0 and res.candidate_general_cer > res.general_cer_before
    assert not res.accepted and res.judgement.claim == "general_worse"
    assert res.user_cer_after == res.user_cer_before and res.general_cer_after == res.general_cer_before
    assert all(torch.equal(v, res.model.state_dict()[k]) for k, v in base.module.state_dict().items())
    assert "cross-validation" in res.judgement.method and res.heldout_samples == len(user_pairs)
    assert res.info.user_words == tuple(sorted(WORDS))  # the words are kept with the base network


def test_cancel_returns_no_model(tiny_model_path, user_pairs, kalam):
    base = load_model(tiny_model_path)
    n = []
    res = finetune(base, user_pairs, WORDS, kalam, FinetuneConfig(**FAST),
                   should_stop=lambda: n.append(1) or len(n) > 3)
    assert res.cancelled and res.model is None
    with pytest.raises(ValueError):
        save_finetuned(res, "unused.pt")


def test_steps_grow_with_the_samples_within_bounds():
    cfg = FinetuneConfig()
    assert auto_steps(10, cfg) == cfg.min_steps
    assert auto_steps(30, cfg) <= auto_steps(160, cfg) <= auto_steps(1000, cfg) == cfg.max_steps
    assert 0.5 <= auto_replay(20) < 1 and 0.5 <= auto_replay(500) < 1


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


def test_a_hundred_corrections_are_all_judged_by_cross_validation():
    from nepocr_desktop.lib.training.finetune.config import cross_validated

    cfg = FinetuneConfig()
    assert cross_validated(30, cfg) and cross_validated(100, cfg)
    assert not cross_validated(200, cfg) and not cross_validated(300, cfg)


def test_automatic_learning_rate_is_the_measured_one_at_every_size():
    from nepocr_desktop.lib.training.finetune import auto_lr

    assert FinetuneConfig().lr == 0  # automatic by default
    assert {auto_lr(n) for n in (1, 30, 99, 100, 300, 5000)} == {3e-4}
    assert {auto_lr(n, apart=True) for n in (1, 30, 300)} == {6e-4}  # learning for drawings alone


def test_learning_for_drawings_alone_replays_less_and_pulls_back_less():
    from nepocr_desktop.lib.training.finetune.config import (
        epochs_for,
        l2sp_weight,
        learns_apart,
        replay_count,
    )

    cfg = FinetuneConfig()
    assert learns_apart(27, 30, cfg) and not learns_apart(26, 30, cfg) and not learns_apart(0, 0, cfg)
    assert not learns_apart(30, 30, FinetuneConfig(apart=False))
    assert replay_count(30, cfg) == 14 and replay_count(30, cfg, apart=True) == 4
    assert replay_count(199, cfg, apart=True) == 4 and replay_count(200, cfg, apart=True) == 6
    assert auto_steps(180, cfg, apart=True) == 120  # 8 passes, 12 of the user's words a step
    assert auto_steps(220, cfg, apart=True) == 220  # from 200 on: 10 passes, 10 of theirs a step
    assert auto_steps(220, FinetuneConfig(epochs=8, drawings_replay=0.25), apart=True) == 147  # as asked
    assert auto_steps(120, cfg) == cfg.max_steps  # photos: 8 passes, 2 of their words a step, capped
    assert [epochs_for(cfg, 300), epochs_for(cfg, 199, apart=True), epochs_for(cfg, 200, apart=True),
            epochs_for(FinetuneConfig(epochs=3), 300, apart=True)] == [8, 8, 10, 3]
    assert l2sp_weight(300, cfg) == 0.05 and l2sp_weight(300, cfg, apart=True) == 0.01
    assert l2sp_weight(30, cfg, apart=True) == 0.05  # a few samples are held closer to the base
    assert l2sp_weight(300, FinetuneConfig(l2sp=0.2), apart=True) == 0.2  # what is asked for is used
    assert replay_count(30, FinetuneConfig(replay=0.5), apart=True) == 8


def test_cli_keeps_its_json_keys_and_reports_the_judgement(tiny_model_path, user_pairs, tmp_path, monkeypatch,
                                                           capsys):
    import importlib

    import cv2

    from nepocr_desktop.cli import main

    cli_ft = importlib.import_module("nepocr_desktop.finetuning")
    class Fast(FinetuneConfig):
        def __init__(self, **kw):
            super().__init__(**{**kw, **FAST})

    monkeypatch.setattr(cli_ft, "FinetuneConfig", Fast)
    folder = tmp_path / "samples"
    (folder / "images").mkdir(parents=True)
    rows = []
    for i, (img, text) in enumerate(user_pairs):
        cv2.imwrite(str(folder / "images" / f"{i}.png"), img)
        rows.append(f"images/{i}.png\t{text}\n")
    (folder / "labels.tsv").write_text("".join(rows), encoding="utf-8")
    out = tmp_path / "ft.pt"
    assert main(["finetune", str(folder), "--out", str(out), "--base", str(tiny_model_path), "--json",
                 "--threads", "1"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("cer_before", "cer_after", "general_cer_before", "general_cer_after", "train_samples",
                "heldout_samples", "seconds", "out"):
        assert key in report
    assert report["heldout_samples"] == len(user_pairs)  # cross-validated: every sample judged once
    assert report["judgement"]["judged_words"] == len(user_pairs) and "accepted" in report
    assert out.exists() and read_info(out).metadata["accepted"] == report["accepted"]
    assert report["user_words"] == len(set(WORDS)) == len(read_info(out).user_words)
    # how a network learned for drawings reads them, as the file says (none learned here: photos)
    assert report["learned_for"] == "all" and report["drawings_read"] is None
    assert "drawings_read" not in read_info(out).metadata


def test_canvas_samples_are_redrawn_as_strokes(user_pairs):
    from nepocr_desktop.lib.training.finetune import UserWords

    src = UserWords(user_pairs[:2], kinds=["canvas", "folder"])
    assert src.canvas == [True, False] and src.clean[0]
    rng = np.random.default_rng(0)
    shapes = {src(rng)[0].shape for _ in range(40)}
    assert len(shapes) > 3 and 0 in src._traced  # traced once, redrawn in several styles
    assert all(img.dtype == np.uint8 for img, _ in (src(rng) for _ in range(5)))


def test_images_that_look_written_on_the_canvas_are_redrawn_as_canvas_writing(user_pairs):
    from nepocr_desktop.lib.read.strokes import PenStroke, render_strokes
    from nepocr_desktop.lib.training.finetune import UserWords

    drawn = render_strokes([PenStroke.of([(40, 120), (300, 118)], 4.0),
                            *(PenStroke.of([(x, 120), (x + 5, 210)], 4.0) for x in (80, 160, 240))])
    scan = np.where(drawn < 128, 0, 255).astype(np.uint8)
    src = UserWords([(drawn, "घर"), (scan, "घर"), user_pairs[0]])  # a folder: no kinds given
    assert src.canvas == [True, False, False] and src.clean[:2] == [True, True]


def test_finetune_pulls_each_weight_by_its_importance(tiny_model_path, user_pairs, kalam, monkeypatch):
    """With ``ewc``, the importance is estimated once from the replayed words and applied: weights
    the general words depend on heavily barely move, where the same run without it moves them."""
    from nepocr_desktop.lib.training.finetune import run as run_mod

    calls = []

    def everything_matters(model, named, pool, **kw):  # every weight a million times the mean pull
        calls.append(len(pool))
        return {n: torch.full_like(p, 1e6) for n, p in named}

    monkeypatch.setattr(run_mod, "fisher_diagonal", everything_matters)
    base = load_model(tiny_model_path)
    fast = {"steps_per_epoch": 6, "epochs": 1, "batch_size": 4, "general_words": 12, "min_steps": 1,
            "lr": 3e-3, "replay": 0.5, "cv_below": 0, "l2sp": 0.0}
    moved = {}
    for ewc in (0.0, 1.0):
        res = finetune(base, user_pairs, WORDS, kalam, FinetuneConfig(ewc=ewc, **fast))
        cand = res.candidate.state_dict()
        drift = [(cand[k] - v).abs().flatten() for k, v in base.module.state_dict().items()
                 if k.startswith("rnn.") and v.is_floating_point()]
        moved[ewc] = float(torch.cat(drift).mean())
    assert calls and all(n > 0 for n in calls)
    assert len(calls) == 1  # the run with ewc=0 estimates nothing
    assert moved[1.0] < 0.5 * moved[0.0]


def test_the_general_check_stays_the_same_when_the_word_list_changes():
    """Words taken out of the list that are not in the check leave every checked word, its font
    and its distortions as they were."""
    from nepocr_desktop.finetuning import WORDS_FILE
    from nepocr_desktop.lib.training.finetune.judge import general_check_set
    from nepocr_desktop.lib.training.finetune.samples import replay_material
    from nepocr_desktop.paths import fonts_dir, lexicon_dir

    words, fonts = replay_material(lexicon_dir() / WORDS_FILE, fonts_dir())
    words = words[:400]
    before = general_check_set(words, fonts, n=12)
    checked = {t for _, t in before}
    assert len(checked) == 12
    fewer = [w for i, w in enumerate(words) if w in checked or i % 3]  # a third of the others gone
    after = general_check_set(fewer, fonts, n=12)
    assert [t for _, t in after] == [t for _, t in before]
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(before, after))


def test_replayed_words_are_a_share_of_the_list_chosen_by_each_words_hash(tmp_path):
    import gzip

    from nepocr_desktop.lib.training.finetune.samples import replay_material

    words = [f"क{'ख' * (i % 5)}{chr(0x0915 + i % 30)}{chr(0x0915 + i // 30 % 30)}" for i in range(900)]
    words = list(dict.fromkeys(words))

    def written(ws, name):
        path = tmp_path / name
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write("".join(w + "\n" for w in ws))
        return path

    whole, _ = replay_material(written(words, "a.gz"), tmp_path, max_words=200)
    assert 0 < len(whole) < len(words)
    fewer, _ = replay_material(written(words[5:], "b.gz"), tmp_path, max_words=200)
    assert fewer == [w for w in whole if w in set(words[5:])]


def test_part_of_the_change_is_handed_back_where_the_whole_fails_the_general_check(tiny_model_path, user_pairs,
                                                                                   kalam, monkeypatch):
    """The new network reads the general check worse; the networks part of the way between the base
    and it read it as the base does and the user's words better: the nearest to the new network is
    handed back."""
    import importlib

    ft = importlib.import_module("nepocr_desktop.lib.training.finetune.run")
    real_errors, real_blend = ft.word_errors, ft.blended
    base_modules, halves = [], []

    def tagged(base, new, share):
        out = real_blend(base, new, share)
        halves.append(out)
        return out

    def rigged(model, charset, val, batch_size=64):
        _, lengths = real_errors(model, charset, val, batch_size)
        if not base_modules:
            base_modules.append(model)  # the first call reads the general check with the base
        if model is base_modules[0]:
            return lengths.copy(), lengths
        if len(val) == FAST["general_words"]:
            return (lengths.copy() if any(model is h for h in halves) else lengths * 2), lengths
        return np.zeros_like(lengths), lengths

    monkeypatch.setattr(ft, "word_errors", rigged)
    monkeypatch.setattr(ft, "blended", tagged)
    base = load_model(tiny_model_path)
    res = ft.finetune(base, user_pairs, WORDS, kalam, FinetuneConfig(lr=3e-3, replay=0.25, **FAST))
    assert FinetuneConfig.blends[0] == 1.0 and len(FinetuneConfig.blends) > 1
    assert res.accepted and res.info.metadata["share_learned"] == FinetuneConfig.blends[1]
    assert res.candidate_general_cer == res.general_cer_before and res.candidate_user_cer == 0
    assert f"keeps {round(100 * FinetuneConfig.blends[1])}% of what it learned" in res.judgement.reason
    start = base.module.state_dict()
    handed = res.model.state_dict()
    moved = [k for k, v in handed.items() if v.is_floating_point() and not torch.equal(v, start[k])]
    assert moved  # it learned something
    new = halves[0]
    assert all(torch.allclose(handed[k], new.state_dict()[k]) for k in moved)


def test_the_largest_share_the_general_check_allows_is_handed_back(tiny_model_path, user_pairs, kalam,
                                                                   monkeypatch):
    """The general check refuses every share above 0.4 of the change: 0.4 is handed back, not a
    quarter, and each larger share tried before it is reported as refused."""
    import importlib

    ft = importlib.import_module("nepocr_desktop.lib.training.finetune.run")
    real_errors, real_blend = ft.word_errors, ft.blended
    share_of: dict[int, float] = {}
    base_modules: list = []

    def tagged(base, new, share):
        out = real_blend(base, new, share)
        share_of[id(out)] = share
        return out

    def rigged(model, charset, val, batch_size=64):
        _, lengths = real_errors(model, charset, val, batch_size)
        if not base_modules:
            base_modules.append(model)
        if model is base_modules[0]:
            return lengths.copy(), lengths
        if len(val) == FAST["general_words"]:
            return (lengths.copy() if share_of.get(id(model), 1.0) <= 0.4 else lengths * 2), lengths
        return np.zeros_like(lengths), lengths

    monkeypatch.setattr(ft, "word_errors", rigged)
    monkeypatch.setattr(ft, "blended", tagged)
    res = ft.finetune(load_model(tiny_model_path), user_pairs, WORDS, kalam,
                      FinetuneConfig(lr=3e-3, replay=0.25, **FAST))
    assert res.accepted and res.info.metadata["share_learned"] == 0.4
    assert res.blends == [(1.0, "general_worse"), (0.75, "general_worse"), (0.6, "general_worse"),
                          (0.5, "general_worse"), (0.4, res.judgement.claim)]
    assert "keeps 40% of what it learned" in res.judgement.reason


def test_blended_weights_lie_between_the_two_networks(tiny_model_path):
    from nepocr_desktop.lib.training.finetune.run import blended

    base = load_model(tiny_model_path).module
    new = load_model(tiny_model_path).module
    with torch.no_grad():
        for p in new.parameters():
            p.add_(1.0)
    half = blended(base, new, 0.25)
    for (k, a), b, c in zip(base.state_dict().items(), half.state_dict().values(), new.state_dict().values()):
        if a.is_floating_point():
            assert torch.allclose(b, a + 0.25 * (c - a)), k
        else:
            assert torch.equal(b, c), k


def _learned_runs(monkeypatch):
    """Patches fine-tuning to record each run's weights; returns (the module, the list they go to)."""
    import importlib

    ft = importlib.import_module("nepocr_desktop.lib.training.finetune.run")
    real_train = ft._train_once
    learned: list[dict[str, torch.Tensor]] = []

    def recorded(*args, **kwargs):
        run = real_train(*args, **kwargs)
        learned.append({k: v.clone() for k, v in run.model.state_dict().items()})
        return run

    monkeypatch.setattr(ft, "_train_once", recorded)
    return ft, learned


def _same_floats(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> bool:
    return all(torch.allclose(v, want[k], atol=1e-6) for k, v in got.items() if v.is_floating_point())


@pytest.mark.parametrize("mean_of_runs", [True, False])
def test_cross_validated_learning_hands_back_the_mean_of_its_runs(tiny_model_path, user_pairs, kalam,
                                                                  monkeypatch, mean_of_runs):
    """Judged by cross-validation, the new network is the mean of the weights of every run (each
    fold's and the one on all samples); with ``mean_of_runs`` off, the last run's."""
    ft, learned = _learned_runs(monkeypatch)
    cfg = FinetuneConfig(lr=3e-3, replay=0.25, folds=2, blends=(1.0,), mean_of_runs=mean_of_runs, apart=False,
                         **FAST)
    res = ft.finetune(load_model(tiny_model_path), user_pairs, WORDS, kalam, cfg)
    assert len(learned) == 3 and res.candidate is not None  # two folds and the run on every sample
    floats = [k for k, v in learned[2].items() if v.is_floating_point()]
    assert any(not torch.allclose(learned[0][k], learned[2][k]) for k in floats)  # the runs differ
    mean = {k: torch.stack([st[k] for st in learned]).mean(0) for k in floats}
    assert _same_floats(res.candidate.state_dict(), mean if mean_of_runs else learned[2])


@pytest.mark.parametrize("way", ["alone", "surer"])
def test_drawings_read_the_surer_way_keep_the_last_run(tiny_model_path, user_pairs, kalam, monkeypatch, way):
    """A network for drawings that reads alone is the mean of the runs; one read the surer way
    beside the general network is the last run's (the mean cedes more of the user's words to it)."""
    ft, learned = _learned_runs(monkeypatch)
    monkeypatch.setattr(ft, "choose_way", lambda verdicts: way)
    cfg = FinetuneConfig(lr=3e-3, replay=0.25, folds=2, blends=(1.0,), **FAST)
    res = ft.finetune(load_model(tiny_model_path), user_pairs, WORDS, kalam, cfg, kinds=["canvas"] * len(user_pairs))
    assert res.apart and len(learned) == 3
    mean = {k: torch.stack([st[k] for st in learned]).mean(0) for k, v in learned[2].items() if v.is_floating_point()}
    assert _same_floats(res.candidate.state_dict(), mean if way == "alone" else learned[2])


def test_mean_states_averages_floats_and_refuses_other_layers():
    from nepocr_desktop.lib.training.weights import mean_states

    out = mean_states([{"w": torch.tensor([0.0, 3.0]), "n": torch.tensor(2)},
                       {"w": torch.tensor([6.0, 0.0]), "n": torch.tensor(7)}])
    torch.testing.assert_close(out["w"], torch.tensor([3.0, 1.5]))
    assert int(out["n"]) == 7
    with pytest.raises(ValueError, match="different layers"):
        mean_states([{"w": torch.zeros(2)}, {"v": torch.zeros(2)}])
    with pytest.raises(ValueError, match="no networks"):
        mean_states([])
