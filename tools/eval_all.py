"""Read every evaluation set with one model, as the model card reports them, and print a table.

    python tools/eval_all.py --out evals/bundled
    python tools/eval_all.py --model runs/candidate.pt --out evals/candidate --against evals/bundled

Each set is read by ``nepocr eval`` in its own process (``--jobs`` at a time, one thread each),
as the app reads it (``--lexicon``, with ``--drawings`` for the sets written as the Write tab hands
writing to the recognizer; DHCD's characters greedily, as the model card gives them). The readings
of each set go to ``OUT/SET.tsv`` (path, label, reading: ``tools/compare_readings.py`` compares two)
and the figures to ``OUT/figures.json``. With ``--against`` another such folder's figures are printed
beside them, with the change word by word and its 90% interval (``compare_readings.py``). Sets
missing from ``--eval`` are listed and left out; the sets themselves are written by
``tools/make_eval_sets.py``, ``make_stroke_set.py``, ``make_scanner_set.py`` and ``make_hands_set.py``
(the model card gives each command; ``--commands`` prints them, ``--make`` runs them for the sets
missing).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class EvalSet:
    name: str
    what: str
    drawings: bool = False
    greedy: bool = False
    make: str = ""      # the command that writes it, ``{eval}`` standing for the folder of the sets
    source: str = ""    # the set it is written from, if any

    def make_command(self, eval_dir: Path) -> str:
        return self.make.format(eval=eval_dir.as_posix())


def _written(name: str, what: str, greedy: bool = False) -> EvalSet:
    """A set ``tools/make_eval_sets.py`` writes."""
    return EvalSet(name, what, greedy=greedy, make=f"python tools/make_eval_sets.py --only {name} --out {{eval}}")


def _traced(name: str, what: str, source: str, flags: str = "") -> EvalSet:
    """``source`` written again as pen strokes (``tools/make_stroke_set.py``); with ``--reading`` in
    ``flags``, as the Write tab hands writing to the recognizer (read with ``--drawings``)."""
    return EvalSet(name, what, drawings="--reading" in flags, source=source,
                   make=f"python tools/make_stroke_set.py {{eval}}/{source} --out {{eval}}/{name} {flags}".rstrip())


SETS = (
    _written("lens_val", "photos"),
    _traced("lens_val_strokes", "pen strokes drawn", "lens_val"),
    _traced("lens_val_mouse", "mouse drawn", "lens_val", "--mouse"),
    _traced("lens_val_strokes_read", "pen, as the Write tab reads", "lens_val", "--reading"),
    _traced("lens_val_mouse_read", "mouse, as the Write tab reads", "lens_val", "--reading --mouse"),
    EvalSet("lens_val_scanner", "scanner",
            make="python tools/make_scanner_set.py {eval}/lens_val --out {eval}/lens_val_scanner", source="lens_val"),
    EvalSet("lens_val_bw", "binarised at full resolution",
            make="python tools/make_scanner_set.py {eval}/lens_val --binarise --out {eval}/lens_val_bw", source="lens_val"),
    EvalSet("hands_heldout", "hands_heldout", make="python tools/make_hands_set.py --out {eval}/hands_heldout"),
    EvalSet("hands_more", "hands_more", make="python tools/make_hands_set.py --out {eval}/hands_more --n 1600 --seed 18"),
    _traced("hands_more_read", "hands_more, as the Write tab reads", "hands_more", "--reading"),
    _traced("lens_val_strokes_read_t32", "pen, another tracer (32 rows, gaps open)", "lens_val",
            "--reading --trace-height 32 --epsilon 1.5 --spur 0.5 --no-close"),
    _traced("lens_val_strokes_read_h32", "pen, another tracer (32 rows)", "lens_val", "--reading --trace-height 32"),
    _traced("lens_val_strokes_read_u3", "pen, traced from the photo scaled up 3x", "lens_val", "--reading --upscale 3"),
    _written("synth_heldout_fonts", "unseen fonts"),
    _written("synth_punct", "words with a mark after them"),
    _traced("synth_punct_strokes_read", "the same, as the Write tab reads", "synth_punct", "--reading"),
    _written("dhcd_heldout", "DHCD characters (greedy)", greedy=True),
    _written("synth_dev", "development: fonts"),
    _traced("synth_dev_strokes_read", "development: pen, as the Write tab reads", "synth_dev", "--reading"),
    _traced("synth_dev_mouse_read", "development: mouse, as the Write tab reads", "synth_dev", "--reading --mouse"),
    _traced("synth_dev_strokes_read_u3", "development: pen, traced from the render scaled up 3x", "synth_dev",
            "--reading --upscale 3"),
)
BY_NAME = {s.name: s for s in SETS}


def _run_make(cmd: str) -> bool:
    """Run one set's command from the project's folder; whether it succeeded."""
    argv = shlex.split(cmd)
    argv[0] = sys.executable if argv[0] == "python" else argv[0]
    done = subprocess.run(argv, cwd=ROOT, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"failed: {cmd}: {(done.stderr.strip().splitlines() or ['no output'])[-1]}", file=sys.stderr)
    return done.returncode == 0


def make_missing(chosen: list[EvalSet], eval_dir: Path, run: Callable[[str], bool] = _run_make) -> list[str]:
    """Write the chosen sets that ``eval_dir`` lacks, each after the set it is written from; the
    names of those written."""
    made: list[str] = []
    tried: set[str] = set()

    def ensure(s: EvalSet) -> None:
        if s.name in tried or (eval_dir / s.name / "labels.tsv").is_file():
            return
        tried.add(s.name)
        if s.source:
            ensure(BY_NAME[s.source])
        print(f"writing {eval_dir / s.name}", file=sys.stderr)
        if run(s.make_command(eval_dir)):
            made.append(s.name)

    for s in chosen:
        ensure(s)
    return made


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


def change(before: Path, after: Path) -> str:
    """The change in CER between two runs' readings of one set, word by word, with its 90%
    bootstrap interval (``tools/compare_readings.py``); empty where they cannot be compared."""
    from compare_readings import compare, read_predictions

    try:
        c = compare(read_predictions(before), read_predictions(after))
    except (OSError, SystemExit):
        return ""
    return (f"{100 * c['delta']:+.2f} ({100 * c['delta_low']:+.2f} to {100 * c['delta_high']:+.2f}; "
            f"{c['b_better']} better, {c['b_worse']} worse)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", type=Path, default=Path("data_cache/eval"), help="the folder holding the sets")
    ap.add_argument("--model", help="the model file (default: the bundled model)")
    ap.add_argument("--out", type=Path, help="where the readings and figures go")
    ap.add_argument("--sets", nargs="+", metavar="SET", help="only these sets")
    ap.add_argument("--against", type=Path, help="another output folder whose figures are printed beside")
    ap.add_argument("--jobs", type=int, default=2, help="sets read at once (default 2)")
    ap.add_argument("--commands", action="store_true", help="print the commands that write the sets, and stop")
    ap.add_argument("--make", action="store_true", help="write the sets that are missing first (minutes)")
    args = ap.parse_args(argv)
    if args.commands:
        for s in SETS:
            print(f"{s.name}: {s.make_command(args.eval)}")
        return 0
    if args.out is None:
        ap.error("--out is required")
    unknown = [n for n in args.sets or () if n not in BY_NAME]
    if unknown:
        ap.error(f"unknown set(s): {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    chosen = [BY_NAME[n] for n in args.sets] if args.sets else list(SETS)
    if args.make:
        make_missing(chosen, args.eval)
    present = [s for s in chosen if (args.eval / s.name / "labels.tsv").is_file()]
    for s in chosen:
        if s not in present:
            print(f"missing, left out: {args.eval / s.name} ({s.make_command(args.eval)}; or --make)",
                  file=sys.stderr)
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
    head = "| set | CER (WER) |" + (f" {args.against.name} | change, 90% interval |" if before else "")
    print(head)
    print("| --- | --- |" + (" --- | --- |" if before else ""))
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
            row += f" {change(args.against / f'{s.name}.tsv', args.out / f'{s.name}.tsv')} |"
        print(row)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
