"""A model's own network for drawings: stored beside the main one, read back safely, chosen by an
image's look, and learned when the user's samples are all drawings."""

from __future__ import annotations

import copy
import io
import zipfile

import numpy as np
import pytest
import torch

from nepocr_desktop.lib.read.branch import CANVAS, SCOPE_KEY
from nepocr_desktop.lib.read.modelio import (
    ModelError,
    build_trainable,
    has_drawings_branch,
    load_model,
    save_model,
)
from nepocr_desktop.lib.read.preprocess import is_clean_drawing
from nepocr_desktop.lib.read.surer import ALONE, METADATA_KEY, SURER
from nepocr_desktop.lib.training.finetune import FinetuneConfig, finetune, save_finetuned
from nepocr_desktop.lib.training.finetune.judge import Judgement
from nepocr_desktop.lib.training.finetune.run import choose_way
from nepocr_desktop.lib.training.synth import find_fonts, render_text
from nepocr_desktop.recognizer import Recognizer

WORDS = ["नेपाल", "घर", "पानी", "किताब", "माया", "आमा", "बुबा", "गाउँ"]
FAST = {"steps_per_epoch": 6, "epochs": 1, "batch_size": 4, "general_words": 12, "min_steps": 1}


@pytest.fixture(scope="module")
def kalam():
    return [f for f in find_fonts() if f.name == "Kalam-Regular.ttf"]


def _black_and_white(img: np.ndarray) -> np.ndarray:
    return np.where(img < 128, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def drawn_pairs(kalam):
    rng = np.random.default_rng(0)
    return [(_black_and_white(render_text(w, kalam[0], size=int(rng.integers(36, 48)))), w) for w in WORDS * 2]


@pytest.fixture(scope="module")
def grey_pairs(kalam):
    return [(render_text(w, kalam[0], size=40), w) for w in WORDS * 2]


def _other_head(loaded):
    """The same network with another classifier: it reads every image differently."""
    other = build_trainable(loaded.info, loaded)
    with torch.no_grad():
        other.head.bias.zero_()
        other.head.bias[5] = 50.0  # one character everywhere
    return other


def test_a_branch_is_saved_beside_the_network_and_loaded_back(tiny_model_path, tmp_path):
    base = load_model(tiny_model_path)
    assert base.drawings is None and not has_drawings_branch(tiny_model_path)
    other = _other_head(base)
    path = tmp_path / "branch.pt"
    save_model(base.module, base.info, path, drawings=other)
    assert has_drawings_branch(path)
    back = load_model(path)
    assert back.drawings is not None
    for k, v in other.state_dict().items():
        assert torch.equal(back.drawings.state_dict()[k], v), k
    for k, v in base.module.state_dict().items():  # the main network is the base's
        assert torch.equal(back.module.state_dict()[k], v), k
    with zipfile.ZipFile(path) as z:  # only the tensors that differ are stored
        entry = next(n for n in z.namelist() if n.endswith("/extra/drawings.npz"))
        stored = np.load(io.BytesIO(z.read(entry)), allow_pickle=False).files
    assert set(stored) == {"head.bias"}
    assert isinstance(torch.jit.load(str(path)), torch.jit.ScriptModule)  # still TorchScript
    same = tmp_path / "same.pt"  # a branch equal to the network is not stored
    save_model(base.module, base.info, same, drawings=build_trainable(base.info, base))
    assert not has_drawings_branch(same)


def test_a_branch_stored_as_half_precision_changes_loads_back_within_their_precision(tiny_model_path, tmp_path):
    base = load_model(tiny_model_path)
    other = build_trainable(base.info, base)
    torch.manual_seed(3)
    with torch.no_grad():
        for name, t in other.named_parameters():
            t.add_(0.01 * torch.randn_like(t))  # every layer learned a little
        other.head.bias[5] = 50.0
    exact, half = tmp_path / "exact.pt", tmp_path / "half.pt"
    save_model(base.module, base.info, exact, drawings=other)
    save_model(base.module, base.info, half, drawings=other, half_deltas=True)
    assert half.stat().st_size < exact.stat().st_size - 0.3 * (exact.stat().st_size - tiny_model_path.stat().st_size)
    with zipfile.ZipFile(half) as z:
        entry = next(n for n in z.namelist() if n.endswith("/extra/drawings.npz"))
        stored = np.load(io.BytesIO(z.read(entry)), allow_pickle=False).files
    assert stored and all(k.endswith("@half_delta") for k in stored)
    back = load_model(half).drawings
    assert back is not None
    main = base.module.state_dict()
    for k, v in other.state_dict().items():
        got = back.state_dict()[k]
        assert got.dtype == v.dtype
        # each weight is the main network's plus its change rounded to half precision
        assert torch.allclose(got, v, rtol=0, atol=float((v - main[k]).abs().max()) / 1024 + 1e-7), k
    assert not torch.equal(back.state_dict()["head.weight"], main["head.weight"])


def test_a_branch_whose_whole_network_learned_loads_back_with_its_batch_norm_counts(tiny_model_path, tmp_path):
    base = load_model(tiny_model_path)
    other = build_trainable(base.info, base)
    counts = [k for k, v in other.state_dict().items() if k.endswith("num_batches_tracked")]
    assert counts and all(other.state_dict()[k].dim() == 0 for k in counts)
    with torch.no_grad():  # as a network trained whole differs: its layers' weights and counts
        for k in counts:
            other.state_dict()[k].add_(7)
        other.head.bias.add_(0.5)
    path = tmp_path / "whole.pt"
    save_model(base.module, base.info, path, drawings=other)
    back = load_model(path)
    assert back.drawings is not None
    for k in counts:
        got = back.drawings.state_dict()[k]
        assert got.shape == torch.Size([]) and int(got) == int(other.state_dict()[k]), k
    assert torch.equal(back.drawings.head.bias, other.head.bias)


@pytest.mark.parametrize("arrays, message", [
    ({"head.bias": np.zeros(3, np.float32)}, "do not match"),
    ({"nothing.here": np.zeros(3, np.float32)}, "unexpected nothing.here"),
    ({"head.bias": None}, "not finite"),
    ({"head.bias@half_delta": np.zeros(1, np.float16)}, "do not match"),  # a change of another shape
    ({"head.bias@half_delta": "float32"}, "do not match"),  # a change not in half precision
    ({"head.bias@half_delta": "float16", "head.bias": "float32"}, "twice"),
])
def test_a_damaged_branch_is_refused_with_a_message(tiny_model_path, tmp_path, arrays, message):
    base = load_model(tiny_model_path)
    if arrays.get("head.bias", 0) is None:
        arrays = {"head.bias": np.full(base.module.head.bias.shape, np.nan, np.float32)}
    arrays = {k: np.zeros(base.module.head.bias.shape, v) if isinstance(v, str) else v for k, v in arrays.items()}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path = tmp_path / "bad.pt"
    scripted = torch.jit.script(base.module.eval())
    torch.jit.save(scripted, str(path), _extra_files={"nepocr.json": base.info.to_json(),
                                                      "drawings.npz": buf.getvalue()})
    with pytest.raises(ModelError, match=message):
        load_model(path)
    (tmp_path / "junk.pt").write_bytes(b"")
    junk = tmp_path / "junk.pt"
    torch.jit.save(scripted, str(junk), _extra_files={"nepocr.json": base.info.to_json(),
                                                      "drawings.npz": b"not an npz archive"})
    with pytest.raises(ModelError, match="cannot be read"):
        load_model(junk)


def test_the_recognizer_reads_drawings_with_the_branch_and_photos_without(tiny_model_path, tmp_path,
                                                                           drawn_pairs, grey_pairs):
    base = load_model(tiny_model_path)
    path = tmp_path / "branch.pt"
    save_model(base.module, base.info, path, drawings=_other_head(base))
    plain = Recognizer(tiny_model_path, device="cpu", int8=False)
    both = Recognizer(path, device="cpu", int8=False)
    assert both.reads_drawings_apart and not plain.reads_drawings_apart
    from nepocr_desktop.gui.workers import summarize  # what the About box is told

    assert summarize(both).drawings_apart and not summarize(plain).drawings_apart
    drawn = [img for img, _ in drawn_pairs[:4]]
    grey = [img for img, _ in grey_pairs[:4]]
    assert all(is_clean_drawing(i) for i in drawn) and not any(is_clean_drawing(i) for i in grey)
    shown = base.info.charset.shown[4]  # class 5 is the fifth character
    both.recognize([grey[2]])
    assert not isinstance(both._drawings, torch.nn.Module)  # photos alone never load the network for drawings
    mixed = both.recognize([drawn[0], grey[0], drawn[1], grey[1]])
    assert isinstance(both._drawings, torch.nn.Module)
    assert [r.text == shown * len(r.text) and r.text != "" for r in mixed] == [True, False, True, False]
    assert [r.text for r in mixed[1::2]] == [r.text for r in plain.recognize(grey[:2])]  # photos as before
    assert all(set(r.text) == {shown} for r in both.recognize_drawings(grey[:2]))  # the Write tab's
    from nepocr_desktop.lib.read.int8cache import Int8Cache

    int8 = Recognizer(path, device="cpu", int8_cache=Int8Cache(tmp_path / "int8"))  # photos in int8 if it can
    assert int8.reads_drawings_apart and set(int8.recognize([drawn[3]])[0].text) == {shown}
    cached = Recognizer(path, device="cpu", int8_cache=Int8Cache(tmp_path / "int8"))  # copies made once
    assert [r.text for r in cached.recognize([drawn[3], grey[3]])] == [r.text for r in int8.recognize([drawn[3], grey[3]])]
    again = Recognizer.from_loaded(load_model(path), device="cpu", int8=False)
    assert again.reads_drawings_apart and again.recognize([drawn[2]])[0].text == both.recognize([drawn[2]])[0].text


def _unsure(loaded):
    """The same network with a classifier that is sure of nothing: every class equally likely."""
    other = build_trainable(loaded.info, loaded)
    with torch.no_grad():
        other.head.weight.zero_()
        other.head.bias.zero_()
    return other


def _with_unsure_branch(base, path, way: str | None):
    info = copy.deepcopy(base.info)
    if way is not None:
        info.metadata = {**info.metadata, METADATA_KEY: way}
    save_model(base.module, info, path, drawings=_unsure(base))
    return path


def _with_canvas_branch(base, path, branch):
    info = copy.deepcopy(base.info)
    info.metadata = {**info.metadata, SCOPE_KEY: CANVAS}
    save_model(base.module, info, path, drawings=branch)
    return path


def test_a_branch_for_the_canvas_reads_the_write_tabs_writing_and_leaves_scans_to_the_main_network(
        tiny_model_path, tmp_path, drawn_pairs, grey_pairs):
    base = load_model(tiny_model_path)
    plain = Recognizer(tiny_model_path, device="cpu", int8=False)
    canvas = Recognizer(_with_canvas_branch(base, tmp_path / "canvas.pt", _other_head(base)), device="cpu",
                        int8=False)
    assert canvas.reads_drawings_apart
    shown = base.info.charset.shown[4]  # what the branch reads everywhere
    drawn = [img for img, _ in drawn_pairs[:3]]
    grey = [img for img, _ in grey_pairs[:2]]
    # images, black-and-white ones among them, are read by the main network...
    assert [r.text for r in canvas.recognize(drawn + grey)] == [r.text for r in plain.recognize(drawn + grey)]
    assert not isinstance(canvas._drawings, torch.nn.Module)  # ...which never loads the branch
    # ...and what the Write tab hands over by the branch
    assert all(r.text and set(r.text) == {shown} for r in canvas.recognize_drawings(drawn + grey))
    again = Recognizer.from_loaded(load_model(tmp_path / "canvas.pt"), device="cpu", int8=False)
    assert [r.text for r in again.recognize(drawn)] == [r.text for r in plain.recognize(drawn)]
    assert set(again.recognize_drawings(drawn[:1])[0].text) == {shown}


@pytest.mark.parametrize("kind", ["canvas", "import"])
def test_learning_from_a_base_with_a_branch_for_the_canvas_judges_each_word_as_that_base_reads_it(
        tiny_model_path, tmp_path, drawn_pairs, kalam, kind):
    """The user's black-and-white scans were read by the base's main network, their Write-tab
    writing by its branch for the canvas: each is judged against that reading. A network learned
    from them reads every drawing, so an accepted one drops the canvas-only scope."""
    base = load_model(tiny_model_path)
    path = _with_canvas_branch(base, tmp_path / "canvas.pt", _unsure(base))  # the branch reads nothing
    cfg = FinetuneConfig(lr=3e-3, cv_below=0, freeze_cnn_below=100, blends=(1.0,), **FAST)
    torch.manual_seed(0)
    plain = finetune(base, drawn_pairs, WORDS, kalam, cfg, kinds=[kind] * len(drawn_pairs))
    torch.manual_seed(0)
    res = finetune(load_model(path), drawn_pairs, WORDS, kalam, cfg, kinds=[kind] * len(drawn_pairs))
    assert res.apart and res.general_cer_before == 1.0  # the drawn general check: read by the branch
    if kind == "canvas":
        assert res.user_cer_before == 1.0
    else:  # scans: as the main network reads them, the same as a base without a branch
        assert res.user_cer_before == plain.user_cer_before != 1.0
    assert res.info.metadata.get(SCOPE_KEY) == (None if res.accepted else CANVAS)


def test_drawings_keep_the_general_networks_reading_where_the_branch_is_less_sure(tiny_model_path, tmp_path,
                                                                                  drawn_pairs):
    base = load_model(tiny_model_path)
    plain = Recognizer(tiny_model_path, device="cpu", int8=False)
    drawn = [img for img, _ in drawn_pairs[:4]]
    assert any(r.text for r in plain.recognize(drawn))  # the general network reads something
    both = Recognizer(_with_unsure_branch(base, tmp_path / "surer.pt", SURER), device="cpu", int8=False)
    assert both.reads_drawings_apart
    assert [r.text for r in both.recognize(drawn)] == [r.text for r in plain.recognize(drawn)]
    assert [r.text for r in both.recognize_drawings(drawn)] == [r.text for r in plain.recognize_drawings(drawn)]
    for way in (ALONE, None):  # the branch alone (every model without the entry): it reads nothing
        alone = Recognizer(_with_unsure_branch(base, tmp_path / f"{way}.pt", way), device="cpu", int8=False)
        assert [r.text for r in alone.recognize(drawn)] == [""] * len(drawn)


def test_the_way_drawings_are_read_is_the_accepted_one_that_reads_the_users_words_best():
    def verdict(accepted: bool, user_after: float, general_after: float = 0.03) -> Judgement:
        return Judgement(accepted, "better" if accepted else "general_worse", "", 30, "", 0.1, user_after,
                         0, 0, 0.03, general_after, 0, 0, 200, 0.9)

    assert choose_way({ALONE: verdict(True, 0.08), SURER: verdict(True, 0.06)}) == SURER
    assert choose_way({ALONE: verdict(True, 0.06), SURER: verdict(True, 0.08)}) == ALONE
    assert choose_way({ALONE: verdict(True, 0.07), SURER: verdict(True, 0.07)}) == ALONE  # a tie: the first
    assert choose_way({ALONE: verdict(True, 0.07, 0.04), SURER: verdict(True, 0.07, 0.035)}) == SURER  # or the
    # one that reads the general check better
    assert choose_way({ALONE: verdict(False, 0.05), SURER: verdict(True, 0.08)}) == SURER  # accepted only
    assert choose_way({ALONE: verdict(False, 0.05), SURER: verdict(False, 0.04)}) == ALONE  # none: the first


def test_learning_for_drawings_is_judged_as_the_base_reads_and_says_how_it_will_read(tiny_model_path, drawn_pairs,
                                                                                      kalam, tmp_path):
    base = load_model(tiny_model_path)
    path = _with_unsure_branch(base, tmp_path / "unsure.pt", SURER)
    cfg = FinetuneConfig(lr=3e-3, cv_below=0, freeze_cnn_below=100, blends=(1.0,), **FAST)
    torch.manual_seed(0)
    plain = finetune(base, drawn_pairs, WORDS, kalam, cfg)
    torch.manual_seed(0)
    unsure = finetune(load_model(path), drawn_pairs, WORDS, kalam, cfg)
    assert plain.apart and unsure.apart
    # the branch, sure of nothing, gives way to the general network everywhere: the words before
    # learning read as the general network alone reads them (the branch alone reads nothing: CER 1)
    assert unsure.general_cer_before == plain.general_cer_before != 1.0
    assert unsure.user_cer_before == plain.user_cer_before != 1.0
    alone = finetune(load_model(_with_unsure_branch(base, tmp_path / "alone.pt", ALONE)), drawn_pairs, WORDS,
                     kalam, cfg)
    assert alone.general_cer_before == 1.0  # read as that model reads: by its branch alone
    for res in (plain, unsure, alone):  # how the model handed back reads its drawings, said where it learned
        assert res.drawings_read == res.info.metadata.get("drawings_read") if res.accepted else res.drawings_read is None
        if res.accepted:
            assert res.drawings_read in (ALONE, SURER) and res.summary()["drawings_read"] == res.drawings_read


def test_drawings_alone_teach_a_branch_and_leave_the_photo_network(tiny_model_path, drawn_pairs, kalam,
                                                                  tmp_path):
    torch.manual_seed(0)
    base = load_model(tiny_model_path)
    cfg = FinetuneConfig(lr=3e-3, cv_below=0, freeze_cnn_below=100, **FAST)
    res = finetune(base, drawn_pairs, WORDS, kalam, cfg)
    assert res.apart and res.summary()["learned_for"] == "drawings"
    assert res.info.metadata["learned_for"] == "drawings"
    for k, v in base.module.state_dict().items():  # photos are read by the base's network
        assert torch.equal(res.model.state_dict()[k], v), k
    assert any(not torch.equal(res.candidate.state_dict()[k], v)
               for k, v in base.module.state_dict().items() if k.startswith("rnn."))
    model, drawings = res.networks(anyway=True)
    assert model is res.model and drawings is res.candidate
    if not res.accepted:
        assert res.drawings is None  # nothing learned is handed back
    out = tmp_path / "ft.pt"
    save_finetuned(res, out)
    assert has_drawings_branch(out) == res.accepted
    # learned as one network when asked, or when the samples are not drawings
    one = finetune(base, drawn_pairs, WORDS, kalam, FinetuneConfig(lr=3e-3, cv_below=0, apart=False, **FAST))
    assert not one.apart and one.drawings is None and one.summary()["learned_for"] == "all"


@pytest.mark.parametrize("scope", [None, CANVAS])
def test_learning_from_photos_keeps_the_branch_for_drawings(tiny_model_path, grey_pairs, kalam, tmp_path, scope):
    base = load_model(tiny_model_path)
    other = _other_head(base)
    path = tmp_path / "branch.pt"
    if scope is None:
        save_model(base.module, base.info, path, drawings=other)
    else:
        _with_canvas_branch(base, path, other)
    res = finetune(load_model(path), grey_pairs, WORDS, kalam, FinetuneConfig(lr=3e-3, cv_below=0, **FAST))
    assert not res.apart and res.drawings is not None
    for k, v in other.state_dict().items():
        assert torch.equal(res.drawings.state_dict()[k], v), k
    out = tmp_path / "ft.pt"
    save_finetuned(res, out)
    loaded = load_model(out)
    assert loaded.drawings is not None and loaded.info.metadata.get(SCOPE_KEY) == scope  # read where it was


def test_attach_drawings_makes_one_file_of_two_models(tiny_model_path, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    from attach_drawings import main as attach

    base = load_model(tiny_model_path)
    other_path = tmp_path / "other.pt"
    save_model(_other_head(base), base.info, other_path)
    out = tmp_path / "both.pt"
    assert attach([str(tiny_model_path), str(other_path), "--out", str(out)]) == 0
    both = load_model(out)
    assert both.drawings is not None and torch.equal(both.drawings.head.bias, load_model(other_path).module.head.bias)
    assert torch.equal(both.module.head.bias, base.module.head.bias)
    assert both.info.metadata["note"] == base.info.metadata["note"] and "drawings" in both.info.metadata
    assert SCOPE_KEY not in both.info.metadata
    canvas = tmp_path / "canvas.pt"
    assert attach([str(out), str(other_path), "--out", str(canvas), "--canvas-only", "--half-deltas"]) == 0
    assert load_model(canvas).info.metadata[SCOPE_KEY] == CANVAS
    half = load_model(canvas).drawings.head.bias  # within half precision of the change (up to 50)
    assert torch.allclose(half, load_model(other_path).module.head.bias, rtol=0, atol=0.05)
    assert int(half.argmax()) == 5
    assert attach([str(canvas), str(other_path), "--out", str(out)]) == 0  # read for every drawing again
    assert SCOPE_KEY not in load_model(out).info.metadata


def test_replayed_words_for_a_network_for_drawings_are_drawn(tiny_model_path, kalam, monkeypatch):
    """A network for drawings practises general words as drawings (as its general check reads
    them), a ``drawn`` share of the replayed words; photos' fine-tuning replays font words alone."""
    from nepocr_desktop.lib.training.finetune import samples
    from nepocr_desktop.lib.training.synth import FontSampler

    rng = np.random.default_rng(0)
    source = samples.DrawnWords(WORDS, FontSampler(kalam))
    for _ in range(4):
        img, text = source(rng)
        assert text in WORDS and img.dtype == np.uint8 and is_clean_drawing(img)
    info = load_model(tiny_model_path).info
    drawn_calls = []
    original = samples.DrawnWords.__call__
    monkeypatch.setattr(samples.DrawnWords, "__call__", lambda self, r: drawn_calls.append(1) or original(self, r))

    def drawn_share(drawn: float) -> float:
        drawn_calls.clear()
        stream = samples.replay_stream(WORDS, kalam, info, seed=1, drawn=drawn)
        for _ in range(40):
            next(stream)
        return len(drawn_calls) / 40

    assert drawn_share(1.0) == 1.0 and drawn_share(0.0) == 0.0 and 0.3 < drawn_share(0.6) < 0.9
