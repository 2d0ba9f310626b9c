"""tools/eval_all.py: every evaluation set read with one model, figures and readings kept."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from eval_all import SETS, command

WORDS = ("नेपाल", "घर", "पानी")


def _tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "tools/eval_all.py", *args], check=False, capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_each_set_is_read_as_the_model_card_reports_it(tmp_path):
    by_name = {s.name: s for s in SETS}
    pen = command(by_name["lens_val_strokes_read"], tmp_path / "x", None, tmp_path)
    assert "--lexicon" in pen and "--drawings" in pen and "--model" not in pen
    photos = command(by_name["lens_val"], tmp_path / "x", "m.pt", tmp_path)
    assert "--lexicon" in photos and "--drawings" not in photos and photos[-2:] == ["--model", "m.pt"]
    dhcd = command(by_name["dhcd_heldout"], tmp_path / "x", None, tmp_path)
    assert "--lexicon" not in dhcd  # characters, greedily
    assert all(s.make.startswith("python tools/") for s in SETS)
    for name in ("lens_val_strokes_read_u3", "synth_dev_strokes_read_u3"):  # traced from the image scaled up
        assert "--drawings" in command(by_name[name], tmp_path / "x", None, tmp_path)
        assert by_name[name].make.endswith("--reading --upscale 3")


def test_a_set_is_read_its_readings_kept_and_a_missing_one_listed(tmp_path, render_word):
    folder = tmp_path / "eval" / "lens_val"
    (folder / "images").mkdir(parents=True)
    rows = []
    for i, word in enumerate(WORDS):
        render_word(word, size=48).save(folder / "images" / f"{i}.png")
        rows.append(f"images/{i}.png\t{word}\n")
    (folder / "labels.tsv").write_text("".join(rows), encoding="utf-8")
    out = tmp_path / "out"
    done = _tool("--eval", str(tmp_path / "eval"), "--out", str(out), "--sets", "lens_val", "hands_more",
                 "--jobs", "1")
    assert done.returncode == 0, done.stderr
    assert "missing, left out" in done.stderr and "hands_more" in done.stderr
    figures = json.loads((out / "figures.json").read_text(encoding="utf-8"))
    assert set(figures) == {"lens_val"} and figures["lens_val"]["n"] == 3
    assert 0.0 <= figures["lens_val"]["cer"] < 0.5  # printed words, read by the bundled model
    readings = (out / "lens_val.tsv").read_text(encoding="utf-8").splitlines()
    assert [r.split("\t")[1] for r in readings] == list(WORDS)
    assert "| lens_val (photos) |" in done.stdout

    again = _tool("--eval", str(tmp_path / "eval"), "--out", str(tmp_path / "again"), "--sets", "lens_val",
                  "--against", str(out))
    assert again.returncode == 0, again.stderr
    row = next(line for line in again.stdout.splitlines() if line.startswith("| lens_val"))
    assert row.count("(") == 4  # the set's name, the figures of both runs and the change
    assert "+0.00 (+0.00 to +0.00; 0 better, 0 worse)" in row  # the same model reads alike


def test_an_unknown_set_is_a_usage_error(tmp_path):
    done = _tool("--out", str(tmp_path), "--sets", "photos_of_cats")
    assert done.returncode == 2 and "unknown set(s): photos_of_cats" in done.stderr


def test_missing_sets_are_written_after_the_sets_they_come_from(tmp_path):
    from eval_all import make_missing

    by_name = {s.name: s for s in SETS}
    (tmp_path / "lens_val").mkdir()
    (tmp_path / "lens_val" / "labels.tsv").write_text("", encoding="utf-8")  # already there
    ran: list[str] = []

    def run(cmd: str) -> bool:
        ran.append(cmd)
        return "hands_more " not in cmd + " "  # the hands set fails to be written

    wanted = [by_name["hands_more_read"], by_name["lens_val_strokes_read"], by_name["lens_val"]]
    made = make_missing(wanted, tmp_path, run)
    assert [c.split()[1] for c in ran] == ["tools/make_hands_set.py", "tools/make_stroke_set.py",
                                          "tools/make_stroke_set.py"]
    assert all(str(tmp_path) in c for c in ran)  # written where the sets are read from
    assert "lens_val_strokes_read" in made and "hands_more" not in made
    assert ran[1].endswith(f"{tmp_path.as_posix()}/hands_more_read --reading")
