"""The training tab: sample list, fine-tuning on a worker thread, keeping/cancelling, model versions."""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QPixmap
from PySide6.QtWidgets import QMessageBox

from nepocr_desktop.gui import model_manager as mm_module
from nepocr_desktop.gui import sample_table as st_module
from nepocr_desktop.gui.model_manager import ModelManager
from nepocr_desktop.gui.sample_table import COL_IMAGE, COL_LABEL, COL_SOURCE, COL_USED
from nepocr_desktop.gui.training_tab import MIN_SAMPLES, TrainingTab, result_text, verdict
from nepocr_desktop.lib.read.modelio import load_model
from nepocr_desktop.lib.storage.library import BUNDLED, ModelLibrary
from nepocr_desktop.lib.storage.store import DB_NAME, SampleStore
from nepocr_desktop.lib.training.finetune import FinetuneConfig, FinetuneResult, Judgement, judge
from nepocr_desktop.lib.training.synth import find_fonts, render_text
from nepocr_desktop.paths import user_data_dir

torch.set_num_threads(1)

WORDS = ["नेपाल", "घर", "पानी", "किताब", "माया", "आमा", "बुबा", "गाउँ"]
TINY = FinetuneConfig(epochs=2, steps_per_epoch=3, batch_size=4, patience=0, replay=0.2, general_words=20)
RUN_TIMEOUT = 40_000  # ms


@pytest.fixture(scope="module")
def font() -> Path:
    fonts = [f for f in find_fonts() if f.name == "Kalam-Regular.ttf"]
    if not fonts:
        pytest.skip("the Kalam font is not installed")
    return fonts[0]


@pytest.fixture(scope="module")
def word_images(font) -> dict[str, np.ndarray]:
    return {w: render_text(w, font, size=36) for w in WORDS}


@pytest.fixture
def store(data_dir):
    """The sample store in the test's own data folder (``data_dir`` sets NEPOCR_DATA_DIR)."""
    s = SampleStore(user_data_dir() / DB_NAME)
    assert s.path.parent == data_dir
    yield s
    s.close()


@pytest.fixture
def models(data_dir) -> Path:
    return data_dir / "models"


@pytest.fixture
def library(models, tiny_model_path) -> ModelLibrary:
    return ModelLibrary(models, tiny_model_path)


@pytest.fixture
def fill(store, word_images):
    def add(n: int, source: str = "canvas") -> list[int]:
        return [store.add(word_images[WORDS[i % len(WORDS)]], WORDS[i % len(WORDS)],
                          prediction=WORDS[(i + 1) % len(WORDS)], source=source) for i in range(n)]
    return add


@pytest.fixture
def make_tab(qtbot, store, font):
    tabs: list[TrainingTab] = []

    def make(library: ModelLibrary, defaults: FinetuneConfig = TINY) -> TrainingTab:
        tab = TrainingTab(store, library, defaults=defaults, material=lambda: (WORDS, [font]))
        qtbot.addWidget(tab)
        tab.resize(1200, 800)
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:
        tab.shutdown()


def folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


def wait_idle(qtbot, tab: TrainingTab) -> None:
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=RUN_TIMEOUT)


# -- the sample list -------------------------------------------------------------------------

def test_sample_list_shows_the_stored_samples(make_tab, library, fill, store):
    ids = fill(3, source="folder")
    tab = make_tab(library)
    model = tab.samples.model
    assert model.rowCount() == 3
    assert [model.sample(r).id for r in range(3)] == ids[::-1]  # newest first
    row = 0
    assert model.index(row, COL_LABEL).data() == store.get(ids[-1]).label
    assert model.index(row, COL_SOURCE).data() == "Imported folder"
    assert model.index(row, COL_USED).data() == "Not yet"
    pm = model.index(row, COL_IMAGE).data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(pm, QPixmap) and not pm.isNull() and pm.height() == 32
    assert tab.samples.count_label.text() == "3 samples"


def test_editing_a_label_updates_the_store_and_bad_labels_are_refused(make_tab, library, fill, store):
    (sid,) = fill(1)
    tab = make_tab(library)
    model = tab.samples.model
    idx = model.index(0, COL_LABEL)
    assert model.flags(idx) & Qt.ItemFlag.ItemIsEditable
    assert model.setData(idx, "  काठमाडौं ")
    assert store.get(sid).label == "काठमाडौं"
    assert idx.data() == "काठमाडौं"
    assert not model.setData(idx, "hello")
    assert store.get(sid).label == "काठमाडौं"
    assert tab.samples.message.isVisibleTo(tab) and "Nepali" in tab.samples.message.text()


def test_filter_shows_only_matching_samples(make_tab, library, fill):
    fill(8)
    tab = make_tab(library)
    tab.samples.apply_filter("घर")
    model = tab.samples.model
    # "घर" is the label of one sample and the prediction stored with another
    assert model.rowCount() == 2
    assert {model.sample(r).label for r in range(2)} == {"घर", "नेपाल"}
    assert tab.samples.count_label.text() == "2 samples match"
    tab.samples.apply_filter("")
    assert model.rowCount() == 8


def test_delete_selected_asks_first(qtbot, make_tab, library, fill, store, monkeypatch):
    fill(3)
    tab = make_tab(library)
    tab.samples.table.selectRow(0)
    answer = [QMessageBox.StandardButton.No]
    monkeypatch.setattr(st_module.QMessageBox, "question", lambda *a, **k: answer[0])
    tab.samples.delete_selected()
    assert store.count() == 3
    answer[0] = QMessageBox.StandardButton.Yes
    tab.samples.table.selectRow(0)
    tab.samples.delete_selected()
    assert store.count() == 2 and tab.samples.model.rowCount() == 2
    tab.show()
    tab.activateWindow()
    qtbot.waitUntil(tab.isActiveWindow)
    tab.samples.table.setFocus()
    tab.samples.table.selectRow(0)
    qtbot.keyClick(tab.samples.table, Qt.Key.Key_Delete)  # the Delete key does the same
    assert store.count() == 1


def test_export_then_import_round_trip(make_tab, library, fill, store, tmp_path):
    fill(3)
    tab = make_tab(library)
    out = tmp_path / "exported"
    tab.samples.export_folder(out)
    assert len((out / "labels.tsv").read_text(encoding="utf-8").splitlines()) == 3
    (out / "images" / "broken.png").write_bytes(b"not an image")
    with (out / "labels.tsv").open("a", encoding="utf-8") as f:
        f.write("images/broken.png\tघर\n")
    tab.samples.import_folder(out)
    assert store.count() == 6 and tab.samples.model.rowCount() == 6
    text = tab.samples.message.text()
    assert "Imported 3 sample(s)" in text and "skipped 1" in text and "broken.png" in text


# -- learning --------------------------------------------------------------------------------

def test_learn_button_needs_enough_samples(make_tab, library, fill):
    fill(MIN_SAMPLES - 1)
    tab = make_tab(library)
    assert not tab.learn_button.isEnabled()
    assert f"at least {MIN_SAMPLES}" in tab.hint.text() and f"you have {MIN_SAMPLES - 1}" in tab.hint.text()
    fill(1)
    tab.refresh()
    assert tab.learn_button.isEnabled()


def test_advanced_fields_set_the_run_settings(make_tab, library):
    tab = make_tab(library)
    assert not tab.advanced.isVisibleTo(tab)
    tab.advanced_toggle.click()
    assert tab.advanced.isVisibleTo(tab)
    assert tab.lr_spin.text() == "Automatic" and tab.config().lr == 0  # chosen from the sample count
    tab.epochs_spin.setValue(5)
    tab.lr_spin.setValue(0.001)
    tab.replay_spin.setValue(40)
    cfg = tab.config()
    assert (cfg.epochs, cfg.lr, cfg.replay) == (5, 0.001, 0.4)
    assert (cfg.steps_per_epoch, cfg.batch_size) == (TINY.steps_per_epoch, TINY.batch_size)
    plain = make_tab(library, FinetuneConfig())
    assert plain.epochs_spin.text() == "Automatic" and plain.config().epochs == 0  # more passes for drawings


def test_learning_runs_and_keep_makes_the_new_model_active(qtbot, make_tab, library, fill, store, models):
    ids = fill(12)
    tab = make_tab(library)
    tab.epochs_spin.setValue(2)
    epochs = []
    tab.learn_button.click()
    assert tab.is_busy() and not tab.learn_button.isEnabled()
    tab._worker.epochDone.connect(epochs.append)
    qtbot.waitUntil(lambda: tab.result is not None, timeout=RUN_TIMEOUT)
    wait_idle(qtbot, tab)
    assert len(epochs) == len(tab.result.history) == 4  # 3 cross-validation folds and the final run
    assert tab.result_frame.isVisibleTo(tab)
    text = tab.result_label.text()
    assert text.startswith("Errors on your words: ") and "→" in text and "; general check: " in text
    assert "on 12 words it had not learned from" in text and "cross-validation" in tab.verdict_label.text()
    assert tab.chart.loss.count() > 0 and tab.chart.cer.count() >= 2
    assert not models.exists() or not list(models.glob("*.pt"))
    with qtbot.waitSignal(tab.modelChanged, timeout=5000) as sig:
        tab.keep_button.click()
    files = list(models.glob("*.pt"))
    assert len(files) == 1
    assert sig.args == [str(files[0])]
    assert library.active().path == files[0] and library.active().warning is None
    assert load_model(files[0]).info.metadata["user_samples"] == 12
    assert all(store.get(i).used_in_training == 1 for i in ids)
    assert tab.samples.model.index(0, COL_USED).data() == "Once"
    assert tab.models.names() == [BUNDLED, files[0].name]
    assert not tab.result_frame.isVisibleTo(tab) and tab.learn_button.isEnabled()


def test_discard_writes_nothing(qtbot, make_tab, library, fill, store, models):
    ids = fill(12)
    tab = make_tab(library)
    tab.epochs_spin.setValue(1)
    tab.learn_button.click()
    qtbot.waitUntil(lambda: tab.result is not None, timeout=RUN_TIMEOUT)
    wait_idle(qtbot, tab)
    with qtbot.assertNotEmitted(tab.modelChanged):
        tab.discard_button.click()
    assert folder_state(models) == {}
    assert all(store.get(i).used_in_training == 0 for i in ids)
    assert tab.learn_button.isEnabled()


def test_cancel_leaves_the_model_and_folder_untouched(qtbot, make_tab, library, fill, tiny_model_path,
                                                       models):
    fill(12)
    loaded = load_model(tiny_model_path)
    library.add(loaded.module, loaded.info)  # a kept version is in use before the run
    before = folder_state(models)
    active = library.active()
    tab = make_tab(library, FinetuneConfig(epochs=50, steps_per_epoch=20, batch_size=4, patience=0))
    tab.epochs_spin.setValue(50)
    tab.learn_button.click()
    qtbot.waitUntil(lambda: tab.progress.value() > 0, timeout=RUN_TIMEOUT)
    with qtbot.assertNotEmitted(tab.modelChanged):
        tab.cancel_button.click()
        wait_idle(qtbot, tab)
    assert tab.result is None and not tab.result_frame.isVisibleTo(tab)
    assert "Nothing was changed" in tab.message.text()
    assert folder_state(models) == before
    assert library.active() == active
    assert tab.learn_button.isEnabled()


def test_a_damaged_base_model_shows_a_message(qtbot, make_tab, fill, models, tmp_path):
    fill(12)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"this is not a model file " * 100)
    tab = make_tab(ModelLibrary(models, broken))
    tab.learn_button.click()
    wait_idle(qtbot, tab)
    text = tab.message.text()
    assert tab.message.isVisibleTo(tab)
    assert "cannot be used" in text and "broken.pt" in text and "Traceback" not in text
    assert tab.result is None and tab.learn_button.isEnabled()
    assert folder_state(models) == {}


def _judged(claim: str, accepted: bool, n: int = 40, **kw) -> FinetuneResult:
    j = Judgement(accepted, claim, kw.pop("reason", f"reason {claim}."), n, "test", 0.24, 0.11, -0.2, -0.05,
                  0.09, 0.09, -0.01, 0.01, 200, 0.9)
    return FinetuneResult(0.24, 0.11 if accepted else 0.24, 0.09, 0.09, n, n, 30.0, False, None, None,  # type: ignore[arg-type]
                          judgement=j, candidate_user_cer=0.11, candidate_general_cer=0.09)


def test_result_wording():
    res = FinetuneResult(0.24, 0.11, 0.09, 0.1, 10, 2, 30.0, False, None, None)  # type: ignore[arg-type]
    assert result_text(res) == "Errors on your words: 24% → 11%; general check: 9.0% → 10%"
    assert verdict(res).startswith("The new model reads your handwriting better.")
    worse = FinetuneResult(0.2, 0.3, 0.1, 0.1, 10, 2, 30.0, False, None, None)  # type: ignore[arg-type]
    assert verdict(worse).startswith("The new model is not better")
    unmeasured = FinetuneResult(math.nan, math.nan, 0.1, 0.1, 1, 0, 3.0, False, None, None)  # type: ignore[arg-type]
    assert "not measured" in result_text(unmeasured)
    judged = _judged("better", True)
    assert result_text(judged) == ("Errors on your words: 24% → 11% (on 40 words it had not learned from); "
                                   "general check: 9.0% → 9.0%")
    assert verdict(judged).endswith("Keep it to use it from now on.")
    refused = verdict(_judged("general_worse", False))
    assert "recommended" in refused and "Keep it to" not in refused
    assert "read as known words all the same" in refused  # the personal word list does not need the new model


def test_a_verdict_on_four_words_does_not_claim_a_gain():
    ub, ln = np.array([3, 2, 3, 2]), np.full(4, 6)
    gb, gl = np.array([0, 1] * 100), np.full(200, 6)
    j = judge(ub, np.zeros(4, np.int64), ln, gb, gb.copy(), gl)
    res = FinetuneResult(0.42, 0.0, 0.08, 0.08, 4, 4, 3.0, False, None, None, judgement=j,  # type: ignore[arg-type]
                         candidate_user_cer=0.0, candidate_general_cer=0.08)
    text = verdict(res)
    assert "too few to tell" in text and "4 of your words" in text and "Keep it to use" not in text


def _fake_finetune(accepted: bool, tiny_model_path: Path):
    """A stand-in for ``finetune`` that returns a result judged ``accepted`` or not."""
    def run(base, pairs, words, fonts, cfg, on_epoch=None, on_step=None, should_stop=None, kinds=None):
        loaded = load_model(tiny_model_path)
        res = _judged("better" if accepted else "general_worse", accepted, n=len(pairs),
                      reason="It reads your handwriting better." if accepted else "The general check got worse.")
        return dataclasses.replace(res, model=loaded.module, candidate=loaded.module, info=loaded.info)
    return run


@pytest.mark.parametrize("accepted", [True, False])
def test_background_learning_keeps_only_a_model_that_passes(qtbot, make_tab, library, fill, models, monkeypatch,
                                                           tiny_model_path, accepted):
    from nepocr_desktop.gui import finetune_worker

    monkeypatch.setattr(finetune_worker, "finetune", _fake_finetune(accepted, tiny_model_path))
    fill(19)
    tab = make_tab(library)
    assert tab.settings.background_learning and tab.background_check.isChecked()  # on by default
    assert "every 20 new corrections" in tab.background_check.text()
    tab.check_background()
    assert not tab.is_busy()  # 19 new corrections: not yet
    fill(1)
    changed = []
    tab.modelChanged.connect(changed.append)
    with qtbot.waitSignal(tab.backgroundFinished, timeout=RUN_TIMEOUT) as sig:
        tab.check_background()
        assert tab.is_busy()
    wait_idle(qtbot, tab)
    assert tab.result is None and not tab.result_frame.isVisibleTo(tab)  # nothing to decide: non-modal
    assert tab.message.isVisibleTo(tab) and tab.message.text() == sig.args[0]
    if accepted:
        assert len(list(models.glob("*.pt"))) == 1 and changed and library.active().name != BUNDLED
        assert "now in use" in sig.args[0]
    else:
        assert not models.exists() or not list(models.glob("*.pt"))
        assert not changed and library.active().name == BUNDLED and "general check" in sig.args[0]
    assert tab.settings.learned_at_count == 20
    tab.check_background()
    assert not tab.is_busy()  # the next run waits for 20 more


def test_learning_from_drawings_alone_saves_a_network_for_drawings(qtbot, make_tab, library, fill, models,
                                                                    monkeypatch, tiny_model_path):
    """A result learned for drawings alone is saved with its network for drawings beside the base's,
    and the user is told that photos are read as before."""
    from nepocr_desktop.gui import finetune_worker
    from nepocr_desktop.lib.read.modelio import build_trainable

    loaded = load_model(tiny_model_path)
    drawn = build_trainable(loaded.info, loaded)
    with torch.no_grad():
        drawn.head.bias.add_(1.0)

    def run(base, pairs, words, fonts, cfg, on_epoch=None, on_step=None, should_stop=None, kinds=None):
        assert kinds is not None and set(kinds) == {"canvas"}  # the Write tab's samples say so
        res = _judged("better", True, n=len(pairs), reason="It reads your handwriting better.")
        return dataclasses.replace(res, model=loaded.module, candidate=drawn, drawings=drawn, apart=True,
                                   info=loaded.info)

    monkeypatch.setattr(finetune_worker, "finetune", run)
    fill(20)
    tab = make_tab(library)
    with qtbot.waitSignal(tab.backgroundFinished, timeout=RUN_TIMEOUT) as sig:
        tab.check_background()
    wait_idle(qtbot, tab)
    assert "photos are read as before" in sig.args[0] and "now in use" in sig.args[0]
    (saved,) = models.glob("*.pt")
    back = load_model(saved)
    assert back.drawings is not None and torch.equal(back.drawings.head.bias, drawn.head.bias)
    assert torch.equal(back.module.head.bias, loaded.module.head.bias)
    assert "photos are read as before" in verdict(dataclasses.replace(_judged("better", True), apart=True))
    assert "photos" not in verdict(_judged("better", True))


def _finetune_until_stopped(started: list[int], tiny_model_path: Path):
    """A stand-in for ``finetune`` that runs until it is told to stop."""
    def run(base, pairs, words, fonts, cfg, on_epoch=None, on_step=None, should_stop=None, kinds=None):
        started.append(len(pairs))
        while not should_stop():
            time.sleep(0.01)
        res = _judged("better", True, n=len(pairs), reason="It reads your handwriting better.")
        return dataclasses.replace(res, model=None, cancelled=True)
    return run


@pytest.mark.parametrize("how", ["deleted", "relabelled", "undone"])
def test_a_run_stops_when_a_sample_it_learns_from_is_taken_back(qtbot, make_tab, library, fill, store, models,
                                                               monkeypatch, tiny_model_path, how):
    from nepocr_desktop.gui import finetune_worker

    started: list[int] = []
    monkeypatch.setattr(finetune_worker, "finetune", _finetune_until_stopped(started, tiny_model_path))
    monkeypatch.setattr(st_module.QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    ids = fill(20)
    tab = make_tab(library)
    tab.check_background()
    assert tab.is_busy()
    qtbot.waitUntil(lambda: started == [20], timeout=RUN_TIMEOUT)
    tab.samples_altered([max(ids) + 100])  # a sample the run does not use: it goes on
    assert tab.is_busy() and not tab._worker.is_cancelled()
    if how == "deleted":
        tab.samples.table.selectRow(0)
        tab.samples.delete_selected()
        assert store.count() == 19
    elif how == "relabelled":
        index = tab.samples.model.index(0, COL_LABEL)
        assert tab.samples.model.setData(index, "नयाँ", Qt.ItemDataRole.EditRole)
    else:  # Ctrl+Z after a save: the window deletes the sample and tells the tab
        store.delete(ids[-1])
        tab.samples_altered([ids[-1]])
    wait_idle(qtbot, tab)
    assert "Learning stopped" in tab.message.text() and "changed" in tab.message.text()
    assert "starts again by itself" in tab.message.text()
    assert not models.exists() or not list(models.glob("*.pt"))
    assert library.active().name == BUNDLED
    assert tab.settings.learned_at_count == 0  # counted as not learned from
    tab.check_background()
    assert tab.is_busy() == (how == "relabelled")  # 20 corrections again only if none was deleted
    tab.cancel()
    wait_idle(qtbot, tab)


def test_background_learning_can_be_switched_off(make_tab, library, fill):
    fill(25)
    tab = make_tab(library)
    tab.background_check.setChecked(False)
    assert not tab.settings.background_learning
    tab.check_background()
    assert not tab.is_busy()


# -- model versions --------------------------------------------------------------------------

def test_model_manager_switches_reverts_and_deletes(qtbot, library, tiny_model_path, monkeypatch):
    loaded = load_model(tiny_model_path)
    info = loaded.info
    info.metadata = {**info.metadata, "finetuned": "2026-01-02 03:04:05", "base_model": "tiny.pt",
                     "user_samples": 30, "user_cer_before": 0.24, "user_cer_after": 0.11,
                     "general_cer_before": 0.09, "general_cer_after": 0.1}
    first = library.add(loaded.module, info, activate=False)
    second = library.add(loaded.module, info, activate=False)
    manager = ModelManager(library)
    qtbot.addWidget(manager)
    names = manager.names()
    assert names[0] == BUNDLED and sorted(names[1:]) == sorted([first.name, second.name])
    row = manager.tree.topLevelItem(1)
    assert [row.text(c) for c in range(7)] == ["", "My handwriting, 02 Jan 2026", "Original model", "30",
                                               "24% → 11%", "9.0% → 10%", "2026-01-02 03:04"]
    assert manager.tree.topLevelItem(0).text(0) == "✓"

    manager.select(first.name)
    with qtbot.waitSignal(manager.modelChanged) as sig:
        manager.use_button.click()
    assert sig.args == [str(first)] and library.active_name() == first.name
    in_use = [manager.names()[i] for i in range(3) if manager.tree.topLevelItem(i).text(0) == "✓"]
    assert in_use == [first.name]

    with qtbot.waitSignal(manager.modelChanged) as sig:
        manager.original_button.click()
    assert library.active_name() == BUNDLED and sig.args == [str(tiny_model_path)]

    monkeypatch.setattr(mm_module.QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    manager.select(second.name)
    manager.delete_button.click()
    assert not second.exists() and manager.names() == [BUNDLED, first.name]


def test_model_manager_refuses_a_damaged_version(qtbot, library, tiny_model_path):
    loaded = load_model(tiny_model_path)
    path = library.add(loaded.module, loaded.info, activate=False)
    path.write_bytes(path.read_bytes()[:2000])
    manager = ModelManager(library)
    qtbot.addWidget(manager)
    manager.select(path.name)
    with qtbot.assertNotEmitted(manager.modelChanged):
        manager.use_selected()
    assert library.active_name() == BUNDLED
    assert manager.message.text().startswith("That model cannot be used")


def test_narrow_sample_table_keeps_the_label_readable(qtbot, store):
    panel = st_module.SamplePanel(store)
    qtbot.addWidget(panel)
    panel.show()
    hidden = lambda: [c for c in range(panel.model.columnCount()) if panel.table.isColumnHidden(c)]
    panel.resize(1000, 400)
    qtbot.waitUntil(lambda: panel.table.viewport().width() > 900)
    assert hidden() == []
    panel.resize(480, 400)
    qtbot.waitUntil(lambda: panel.table.viewport().width() < 500)
    assert COL_USED in hidden() and COL_SOURCE in hidden()
    assert COL_IMAGE not in hidden() and COL_LABEL not in hidden()
    assert panel.table.columnWidth(COL_LABEL) >= st_module.MIN_LABEL_WIDTH
    panel.resize(1000, 400)
    qtbot.waitUntil(lambda: not hidden())


@pytest.mark.parametrize("steps, top, interval", [(1, 4, 1), (3, 4, 1), (12, 12, 5), (300, 300, 100), (1234, 1234, 500)])
def test_progress_chart_step_ticks_are_distinct_whole_numbers(qapp, steps, top, interval):
    from nepocr_desktop.gui.chart import ProgressChart

    chart = ProgressChart()
    chart.reset(steps)
    axis = chart.x_axis
    assert (axis.min(), axis.max(), axis.tickInterval(), axis.tickAnchor()) == (0, top, interval, 0)
    ticks = [axis.tickAnchor() + k * axis.tickInterval() for k in range(int(top // interval) + 1)]
    assert len({f"{t:.0f}" for t in ticks}) == len(ticks)  # no two ticks show the same label
    chart.finish(2)
    assert (axis.max(), axis.tickInterval()) == (4, 1)


def test_progress_chart_error_and_loss_labels_show_the_tick_values(qapp):
    from nepocr_desktop.gui.chart import ProgressChart

    chart = ProgressChart()
    chart.reset(100)
    chart.add_epoch(50, 0.08)  # errors axis 0-10 %: ticks at 2.5 and 7.5
    for axis in (chart.cer_axis, chart.loss_axis):
        lo, hi, n = axis.min(), axis.max(), axis.tickCount()
        ticks = [lo + k * (hi - lo) / (n - 1) for k in range(n)]
        labels = [axis.labelFormat() % t for t in ticks]
        assert [float(x) for x in labels] == pytest.approx(ticks), labels  # 2.5 is not shown as 2
    assert chart.cer_axis.max() == 10


def test_model_names_are_shown_whole_or_cut_in_the_middle_with_a_tooltip(qtbot, library, tiny_model_path):
    loaded = load_model(tiny_model_path)
    info = loaded.info
    info.metadata = {**info.metadata, "finetuned": "2026-01-02 03:04:05", "base_model": "tiny.pt"}
    library.add(loaded.module, info, activate=False)
    manager = ModelManager(library)
    qtbot.addWidget(manager)
    manager.resize(900, 300)
    manager.show()
    qtbot.waitExposed(manager)
    tree = manager.tree
    assert tree.textElideMode() == Qt.TextElideMode.ElideMiddle
    metrics = tree.fontMetrics()
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        name = item.text(mm_module.COL_NAME)
        assert item.toolTip(mm_module.COL_NAME) == name
        # bold for the model in use: measured with the item's own font
        width = QFontMetrics(item.font(mm_module.COL_NAME)).horizontalAdvance(name)
        assert tree.header().sectionSize(mm_module.COL_NAME) >= width >= metrics.horizontalAdvance(name)


def test_the_new_model_message_goes_when_another_model_is_chosen(qtbot, make_tab, library, tiny_model_path):
    loaded = load_model(tiny_model_path)
    mine = library.add(loaded.module, loaded.info, activate=True)
    tab = make_tab(library)
    tab.show()
    tab.show_message("The new model is now in use.", error=False)
    assert tab.message.isVisible()
    with qtbot.waitSignal(tab.modelChanged) as changed:
        tab.models.original_button.click()  # back to the original model
    assert changed.args == [str(tiny_model_path)] and library.active_name() == BUNDLED
    assert tab.message.isHidden()
    assert mine.exists()


def test_a_long_verdict_is_shown_whole(qtbot, make_tab, library, tiny_model_path):
    """The verdict's labels get the height their wrapped text needs at the width they have."""
    loaded = load_model(tiny_model_path)
    tab = make_tab(library)
    tab.resize(900, 560)
    tab.show()
    qtbot.waitExposed(tab)
    long = " ".join(["It probably reads your handwriting better, though it could also be chance."] * 4)
    res = dataclasses.replace(_judged("probably_better", True, n=30, reason=long), model=loaded.module,
                              candidate=loaded.module, drawings=loaded.module, apart=True, info=loaded.info)
    tab._on_finished(res)
    qtbot.wait(50)
    for label in (tab.result_label, tab.verdict_label):
        assert label.isVisible() and label.height() >= label.heightForWidth(label.width()) > 0
