"""Read every evaluation set with one model, as the model card reports them, and print a table.

    python tools/eval_all.py --out evals/bundled
    python tools/eval_all.py --model runs/candidate.pt --out evals/candidate --against evals/bundled

Each set is read by ``nepocr eval`` in its own process (``--jobs`` at a time, one thread each),
as the app reads it (``--lexicon``, with ``--drawings`` for the sets written as the Write tab hands
writing to the recognizer; DHCD's characters greedily, as the model card gives them). The readings
of each set go to ``OUT/SET.tsv`` (path, label, reading: ``tools/compare_readings.py`` compares two)
and the figures to ``OUT/figures.json``. With ``--against`` another such folder's figures are printed
beside them. Sets missing from ``--eval`` are listed and left out; the sets themselves are written
by ``tools/make_eval_sets.py``, ``make_stroke_set.py``, ``make_scanner_set.py`` and ``make_hands_set.py``
(the model card gives each command; ``--commands`` prints them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EvalSet:
    name: str
    what: str
    drawings: bool = False
    greedy: bool = False
    make: str = ""


def _written(name: str, what: str, greedy: bool = False) -> EvalSet:
    """A set ``tools/make_eval_sets.py`` writes."""
    return EvalSet(name, what, greedy=greedy, make=f"python tools/make_eval_sets.py --only {name}")


def _traced(name: str, what: str, source: str, flags: str = "") -> EvalSet:
    """``source`` written again as pen strokes (``tools/make_stroke_set.py``); with ``--reading`` in
    ``flags``, as the Write tab hands writing to the recognizer (read with ``--drawings``)."""
    return EvalSet(name, what, drawings="--reading" in flags,
                   make=f"python tools/make_stroke_set.py {EVAL}/{source} --out {EVAL}/{name} {flags}".rstrip())


EVAL = "data_cache/eval"
SETS = (
    _written("lens_val", "photos"),
    _traced("lens_val_strokes", "pen strokes drawn", "lens_val"),
    _traced("lens_val_mouse", "mouse drawn", "lens_val", "--mouse"),
    _traced("lens_val_strokes_read", "pen, as the Write tab reads", "lens_val", "--reading"),
    _traced("lens_val_mouse_read", "mouse, as the Write tab reads", "lens_val", "--reading --mouse"),
    EvalSet("lens_val_scanner", "scanner",
            make=f"python tools/make_scanner_set.py {EVAL}/lens_val --out {EVAL}/lens_val_scanner"),
    EvalSet("hands_heldout", "hands_heldout", make=f"python tools/make_hands_set.py --out {EVAL}/hands_heldout"),
    EvalSet("hands_more", "hands_more", make=f"python tools/make_hands_set.py --out {EVAL}/hands_more --n 1600 --seed 18"),
    _traced("hands_more_read", "hands_more, as the Write tab reads", "hands_more", "--reading"),
    _traced("lens_val_strokes_read_t32", "pen, another tracer (32 rows, gaps open)", "lens_val",
            "--reading --trace-height 32 --epsilon 1.5 --spur 0.5 --no-close"),
    _traced("lens_val_strokes_read_h32", "pen, another tracer (32 rows)", "lens_val", "--reading --trace-height 32"),
    _written("synth_heldout_fonts", "unseen fonts"),
    _written("synth_punct", "words with a mark after them"),
    _traced("synth_punct_strokes_read", "the same, as the Write tab reads", "synth_punct", "--reading"),
    _written("dhcd_heldout", "DHCD characters (greedy)", greedy=True),
    _written("synth_dev", "development: fonts"),
    _traced("synth_dev_strokes_read", "development: pen, as the Write tab reads", "synth_dev", "--reading"),
    _traced("synth_dev_mouse_read", "development: mouse, as the Write tab reads", "synth_dev", "--reading --mouse"),
)


def command(s: EvalSet, folder: Path, model: str | None, out: Path) -> list[str]:
    """The ``nepocr eval`` command line that reads set ``s`` in ``folder``."""
    cmd = [sys.executable, "-m", "nepocr_desktop", "eval", str(folder), "--json",
           "--predictions", str(out / f"{s.name}.tsv")]
    if not s.greedy:
        cmd.append("--lexicon")
    if s.drawings:
        cmd.append("--drawings")
    if model:
        cmd += ["--model", model]
    return cmd


def run(s: EvalSet, folder: Path, model: str | None, out: Path) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run(command(s, folder, model, out), check=False, capture_output=True, text=True, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    fig = json.loads(lines[-1])
    return {"cer": fig["cer"], "wer": fig["wer"], "n": fig["n"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", type=Path, default=Path("data_cache/eval"), help="the folder holding the sets")
    ap.add_argument("--model", help="the model file (default: the bundled model)")
    ap.add_argument("--out", type=Path, help="where the readings and figures go")
    ap.add_argument("--sets", nargs="+", metavar="SET", help="only these sets")
    ap.add_argument("--against", type=Path, help="another output folder whose figures are printed beside")
    ap.add_argument("--jobs", type=int, default=2, help="sets read at once (default 2)")
    ap.add_argument("--commands", action="store_true", help="print the commands that write the sets, and stop")
    args = ap.parse_args(argv)
    if args.commands:
        for s in SETS:
            print(f"{s.name}: {s.make}")
        return 0
    if args.out is None:
        ap.error("--out is required")
    known = {s.name: s for s in SETS}
    unknown = [n for n in args.sets or () if n not in known]
    if unknown:
        ap.error(f"unknown set(s): {', '.join(unknown)}; known: {', '.join(known)}")
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    chosen = [known[n] for n in args.sets] if args.sets else list(SETS)
    present = [s for s in chosen if (args.eval / s.name / "labels.tsv").is_file()]
    for s in chosen:
        if s not in present:
            print(f"missing, left out: {args.eval / s.name} ({s.make})", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        results = dict(zip((s.name for s in present),
                           pool.map(lambda s: run(s, args.eval / s.name, args.model, args.out), present)))
    (args.out / "figures.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    before: dict = {}
    if args.against is not None:
        try:
            before = json.loads((args.against / "figures.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"{args.against}: no figures to compare with ({exc})", file=sys.stderr)
    head = "| set | CER (WER) |" + (f" {args.against.name} |" if before else "")
    print(head)
    print("| --- | --- |" + (" --- |" if before else ""))
    failed = 0
    for s in present:
        r = results[s.name]
        if "error" in r:
            failed += 1
            cell = f"failed: {r['error']}"
        else:
            cell = f"{100 * r['cer']:.2f} ({100 * r['wer']:.1f})"
        row = f"| {s.name} ({s.what}) | {cell} |"
        if before:
            b = before.get(s.name, {})
            row += f" {100 * b['cer']:.2f} ({100 * b['wer']:.1f}) |" if "cer" in b else " |"
        print(row)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
