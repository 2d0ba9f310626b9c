"""Learning from corrections: fine-tune on N corrected words of a user, measure CER on the rest.

    python benchmarks/bench_finetune.py --case same hand scanner canvas [--sizes 30 100 200 300] [--threads 1]
    python benchmarks/bench_finetune.py --user nhcd|writer|writer_canvas|crops [--sizes 50 200]

Cases (``--case``), each split by word in a fixed order into N corrections and "their other words":

``same``: writers the model already knows. The base model was trained on the word-disjoint train
split of ``nepali_lens_words``; ``data_cache/eval/lens_val`` holds the unseen words of the same
writers and photos. Fine-tuning on some of them must not make the others worse.

``hand``: a new hand, binarised like a scan: ``data_cache/eval/hands_heldout`` (words composed from
handwritten characters the model never trained on).

``scanner``: a new scanner: ``data_cache/eval/lens_val_scanner``, the lens_val photos as a
black-and-white document scanner gives them (``tools/make_scanner_set.py``), a device
training never saw.

``bw``: known writers in black and white at full resolution: ``data_cache/eval/lens_val_bw``, the
lens_val photos binarised by the app's page binarisation (``tools/make_scanner_set.py
data_cache/eval/lens_val --binarise --out data_cache/eval/lens_val_bw``), which the model reads
1.3 times worse than the photos: a sharp, legible scan of writers it knows, where what there is to
learn is the look of black-and-white ink.

``canvas``: a new input domain, pen strokes drawn on the canvas, as the Write tab hands them to the
recognizer (one reading pen): ``data_cache/eval/lens_val_strokes_read`` (the lens_val words redrawn as
strokes, ``tools/make_stroke_set.py data_cache/eval/lens_val --out data_cache/eval/lens_val_strokes_read
--reading``). ``canvas_drawn``: the same strokes as drawn with pens 2-8 (``lens_val_strokes``), the case
before the Write tab read with one pen. ``photo_cer_*`` is CER on the photographed versions of the
same other words (``lens_val``): what drawing practice does to reading photos.

``hand_canvas``: the words of ``hand_large`` written on the Write tab: its 1,600 words, composed from
the handwritten characters of writers the model never saw, traced to pen strokes and drawn with the
reading pen (``tools/make_stroke_set.py data_cache/eval/hands_more --out data_cache/eval/hands_more_read
--reading``), passed as canvas drawings. Handwriting the model never saw, in the domain it reads worst
(the base model reads these words at about 24%). ``photo_cer_*`` is CER on every photo of ``lens_val``.

Older single-user simulations (``--user``):

``crops``: as ``same``, read from ``../shared/data`` directly.

``writer``: one consistent hand the model never saw, drawn as on the canvas: words of the
bundled lexicon rendered in a face held out of training (AnnapurnaSIL), redrawn with one pen
width and one slant (outside the slant range of training) and a little wobble per word.

``writer_canvas``: the same hand on the Write tab: each of its words traced to pen strokes and drawn
again with the pen the Write tab reads drawings with, at one size, as one person's canvas writing
(the samples are passed as canvas drawings, as the app passes them). ``photo_cer_*`` is CER on
every photo of ``lens_val``, which learning from one person's drawings must not make worse.

``nhcd``: one real hand the model was not trained on: NHCD writer 001 (reserved from
training, see ``corpus.RESERVED_WRITERS``). Lexicon words made only of the characters NHCD has
(consonants, independent vowels, digits) are composed from that writer's characters joined by a
head line; the writer's images of each character are split in two, the fine-tune words drawn from
one half and the test words from the other, so the test strokes are new as well. As a control, the
test words are also composed from another NHCD writer (004); ``control_cer_*`` show how much of the
gain carries over to a hand the fine-tuning did not see.

``cer_after`` is CER of the model fine-tuning hands back (the base model when its checks reject
the new one); ``candidate_cer_after`` that of the new model whether accepted or not. Prints one
JSON object per case and size.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from nepocr_desktop.lib.language.lexicon import WORDS_FILE
from nepocr_desktop.lib.read.branch import canvas_only
from nepocr_desktop.lib.read.charset import split_aksharas
from nepocr_desktop.lib.read.modelio import load_model
from nepocr_desktop.lib.read.preprocess import is_clean_drawing, load_gray
from nepocr_desktop.lib.read.strokes import READING_PEN
from nepocr_desktop.lib.read.surer import SurerOf, reads_surer
from nepocr_desktop.lib.storage.dataset import read_dataset, write_dataset
from nepocr_desktop.lib.training.augment import elastic, pen_strokes, to_gray, to_ink, warp
from nepocr_desktop.lib.training.corpus import RESERVED_WRITERS, bucket, lens_words, load_glyphs
from nepocr_desktop.lib.training.finetune import FinetuneConfig, finetune, replay_material
from nepocr_desktop.lib.training.sources import GlyphWords
from nepocr_desktop.lib.training.strokes import WritingStyle, redraw_as_strokes, trace_strokes
from nepocr_desktop.lib.training.synth import find_fonts, render_text
from nepocr_desktop.lib.training.train import evaluate, prepare_validation
from nepocr_desktop.paths import bundled_model_path, fonts_dir, lexicon_dir

CONTROL_WRITER = "004"  # an NHCD writer in the training data, for the --user nhcd control


class SimulatedWriter:
    """One hand: a held-out face, one pen (radius in pixels at 48 px type), one slant and
    stretch; small variation per word."""

    def __init__(self, font: Path, seed: int = 7, slant: float = 0.45, pen: float = 2.0, stretch: float = 1.2):
        self.font, self.seed, self.slant, self.pen, self.stretch = font, seed, slant, pen, stretch

    def write(self, word: str) -> np.ndarray:
        rng = np.random.default_rng([self.seed, bucket(word, 1 << 30)])
        ink = to_ink(render_text(word, self.font, size=48))
        ink = pen_strokes(ink, rng, radius=self.pen / ink.shape[0])
        ink = warp(ink, rng.uniform(-1.5, 1.5), self.slant + rng.uniform(-0.04, 0.04),
                   self.stretch * np.exp(rng.uniform(-0.05, 0.05)))
        ink = elastic(ink, rng, amp=0.012)
        return to_gray(np.clip(ink, 0, 1))


def crop_users(data: Path) -> tuple[list[str], dict[str, list]]:
    """Words (in a fixed shuffled order) and their real crops from the validation split."""
    split = lens_words(data / "nepali_lens_words")
    words = sorted({s.text for s in split.val}, key=lambda w: (bucket("user:" + w, 1 << 30), w))
    by_word: dict[str, list] = {}
    for s in split.val:
        by_word.setdefault(s.text, []).append((load_gray(s.path), s.text))
    return words, by_word


def on_canvas(gray: np.ndarray, word: str) -> np.ndarray:
    """A word image traced to strokes and drawn as the Write tab reads them (one pen, one size)."""
    rng = np.random.default_rng([11, bucket("canvas:" + word, 1 << 30)])
    style = WritingStyle(pen=READING_PEN, spacing=3.0, height=170.0, reading=True)
    return redraw_as_strokes(gray, rng, style=style, paths=trace_strokes(gray))


def is_drawn(case: str) -> bool:
    """Cases whose samples are canvas drawings (passed as such, and checked on photos too)."""
    return case.startswith("canvas") or case in ("writer_canvas", "hand_canvas")


def writer_user(lexicon: list[str], count: int, canvas: bool = False) -> tuple[list[str], dict[str, list]]:
    """``count`` lexicon words written by one simulated hand (``canvas``: on the Write tab)."""
    fonts = [f for f in find_fonts(held_out=True) if "annapurna" in f.name.lower()] or find_fonts(held_out=True)
    if not fonts:
        raise SystemExit("no held-out font (AnnapurnaSIL or Gargi) is installed: apt-get install fonts-sil-annapurna")
    writer = SimulatedWriter(min(fonts))
    pool = sorted((w for w in lexicon if 3 <= len(w) <= 10), key=lambda w: (bucket("writer:" + w, 1 << 30), w))
    words = pool[:count]
    return words, {w: [(on_canvas(writer.write(w), w) if canvas else writer.write(w), w)] for w in words}


def nhcd_user(data: Path, lexicon: list[str], train_count: int, test_count: int,
              writer: str = RESERVED_WRITERS[0], control: str = CONTROL_WRITER
              ) -> tuple[list[str], dict[str, list], list]:
    """Words composed from one NHCD writer's characters: the first ``train_count`` words from
    one half of each character's images, the next ``test_count`` from the other half; and the
    same test words written by the ``control`` writer (a hand the fine-tuning never sees)."""
    glyphs = load_glyphs(data, cache=Path("data_cache/glyphs.npz"))
    mine, theirs = glyphs.by_writer(writer), glyphs.by_writer(control)
    if not mine or not theirs:
        raise SystemExit(f"no NHCD images of writers {writer} and {control} under {data}")
    halves: tuple[list[int], list[int]] = ([], [])
    seen: dict[str, int] = {}
    for i in mine:
        k = seen.get(glyphs.texts[i], 0)
        halves[k % 2].append(i)
        seen[glyphs.texts[i]] = k + 1
    composers = [GlyphWords(glyphs, [], ids=h) for h in halves]
    other = GlyphWords(glyphs, [], ids=theirs)
    usable = [c.index for c in composers] + [other.index]
    pool = sorted((w for w in lexicon if 2 <= len(split_aksharas(w)) <= 6
                   and all(a in idx for a in split_aksharas(w) for idx in usable)),
                  key=lambda w: (bucket("nhcd:" + w, 1 << 30), w))
    words = pool[:train_count + test_count]
    by_word, control_set = {}, []
    for j, w in enumerate(words):
        rng = np.random.default_rng(bucket("nhcd-img:" + w, 1 << 30))
        by_word[w] = [(composers[0 if j < train_count else 1].compose(split_aksharas(w), rng), w)]
        if j >= train_count:
            control_set.append((other.compose(split_aksharas(w), rng), w))
    return words, by_word, control_set


EVAL = Path("data_cache/eval")
# hand_large: the new hand of `hand` with four times the words (tools/make_hands_set.py --out
# data_cache/eval/hands_more --n 1600 --seed 18), so that 300 corrections leave 1,300 other words
CASES = {"same": "lens_val", "hand": "hands_heldout", "hand_large": "hands_more", "scanner": "lens_val_scanner",
         "bw": "lens_val_bw",
         "canvas": "lens_val_strokes_read", "canvas_drawn": "lens_val_strokes", "hand_canvas": "hands_more_read"}


def eval_folder_user(folder: Path, split: int = 0) -> tuple[list[str], dict[str, list]]:
    """Words (in a fixed shuffled order) and their images from a labelled eval folder. Each
    ``split`` orders the words otherwise, so that other words are the corrections (0: the order
    of every figure before this option)."""
    by_word: dict[str, list] = {}
    for s in read_dataset(folder):
        by_word.setdefault(s.text, []).append((load_gray(s.path), s.text))
    prefix = "user:" if split == 0 else f"user{split}:"
    words = sorted(by_word, key=lambda w: (bucket(prefix + w, 1 << 30), w))
    return words, by_word


def split_words(words: list[str], by_word: dict[str, list], n: int) -> tuple[list, list, set[str]]:
    train, test, rest = [], [], set()
    for w in words:
        if len(train) < n:
            train.extend(by_word[w])
        else:
            test.extend(by_word[w])
            rest.add(w)
    return train, test, rest


def cer_of(model, info, prepared) -> float:
    return round(evaluate(model, info.charset, prepared, torch.device("cpu"))[0], 4)


def reader(model, drawings, pairs: list, metadata: dict, canvas: bool = False) -> object:
    """What reads ``pairs`` as the app would: a model learned for drawings alone reads images of
    ink without grey (drawings, black-and-white scans) with ``drawings``, or where its ``metadata``
    says so, with the surer of ``drawings`` and ``model``; ``canvas``: the Write tab's writing,
    which a network for drawings reads even where it reads nothing else (``canvas_only``)."""
    if drawings is None:
        return model
    if not canvas and (canvas_only(metadata) or sum(is_clean_drawing(img) for img, _ in pairs) * 2 <= len(pairs)):
        return model
    return SurerOf(model, drawings) if reads_surer(metadata) else drawings


# FinetuneConfig fields the benchmark sets from the command line: field -> (type, help)
CONFIG_OPTIONS: dict[str, tuple[type, str | None]] = {
    "epochs": (int, "passes over the samples (0: automatic)"),
    "lr": (float, None),
    "l2sp": (float, None),
    "replay": (float, None),
    "recombine": (float, "share of the user's samples that are new words joined from theirs (default: automatic)"),
    "max_steps": (int, "most training steps of one run (more samples do not add steps beyond it)"),
    "min_steps": (int, "fewest training steps of one run"),
    "seed": (int, "of the fine-tuning runs"),
    "drawings_replay": (float, "replayed share of a batch when learning for drawings alone"),
    "freeze_cnn_below": (int, "fewer training samples than this: the convolutions stay as they are"),
    "cv_below": (int, "fewer samples than this: judged by cross-validation, else on held-back words"),
    "folds": (int, "cross-validation folds"),
    "general_words": (int, "words of the general check set"),
    "distill": (float, "weight of reading the replayed words as the base model does"),
    "ewc": (float, "pull of the weights the general words depend on (elastic weight consolidation)"),
    "drawings_drawn": (float, "share of the replayed words written as pen strokes when learning for drawings alone"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--eval", type=Path, default=EVAL, help="the labelled eval folders")
    ap.add_argument("--model", type=Path, default=bundled_model_path())
    ap.add_argument("--case", choices=sorted(CASES), nargs="+", default=None)
    ap.add_argument("--sizes", type=int, nargs="+", default=None,
                    help="corrections (default 30 100 200 300 with --case, 50 200 with --user)")
    ap.add_argument("--threads", type=int, default=2)
    for field, (kind, text) in CONFIG_OPTIONS.items():  # FinetuneConfig's fields, as --field-name
        ap.add_argument("--" + field.replace("_", "-"), type=kind, default=getattr(FinetuneConfig, field),
                        help=text)
    ap.add_argument("--blends", type=float, nargs="+", default=FinetuneConfig.blends, metavar="SHARE",
                    help="shares of the learned change tried in turn where the general check refuses "
                         "(default: %(default)s; 1 alone: the new networks only)")
    ap.add_argument("--adapt", choices=["rnn", "cnn", "head"], default=FinetuneConfig.adapt,
                    help="the part that learns below --freeze-cnn-below")
    ap.add_argument("--write-split", type=Path, default=None,
                    help="write each case's corrections and other words to DIR/CASE-N/{corrections,others} "
                         "(labelled folders for nepocr finetune and eval) instead of learning")
    ap.add_argument("--last-run", action="store_true",
                    help="judged by cross-validation: hand back the last run's network, not the mean of every run's")
    ap.add_argument("--one-network", action="store_true",
                    help="one network for every image, even when learning from drawings alone")
    ap.add_argument("--user", choices=["crops", "writer", "writer_canvas", "nhcd"], default=None)
    ap.add_argument("--split", type=int, default=0,
                    help="(--case) which words are the corrections: each number orders the words otherwise")
    ap.add_argument("--test-words", type=int, default=300, help="(--user writer|writer_canvas|nhcd) words in the test set")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    lex, fonts = replay_material(lexicon_dir() / WORDS_FILE, fonts_dir())
    base = load_model(args.model)
    cfg = FinetuneConfig(**{field: getattr(args, field) for field in CONFIG_OPTIONS}, adapt=args.adapt,
                         apart=not args.one_network, blends=tuple(args.blends), mean_of_runs=not args.last_run)
    jobs: list[tuple[str, list[str], dict, list]] = []
    if args.user or not args.case:
        user = args.user or "crops"
        sizes = args.sizes or [50, 200]
        control: list = []
        if user == "crops":
            words, by_word = crop_users(args.data)
        elif user in ("writer", "writer_canvas"):
            words, by_word = writer_user(lex, max(sizes) + args.test_words, canvas=user == "writer_canvas")
        else:
            words, by_word, control = nhcd_user(args.data, lex, max(sizes), args.test_words)
        jobs.append((user, words, by_word, control))
    else:
        sizes = args.sizes or [30, 100, 200, 300]
        for case in args.case:
            words, by_word = eval_folder_user(args.eval / CASES[case], args.split)
            jobs.append((case, words, by_word, []))
    photos = eval_folder_user(args.eval / "lens_val")[1] if any(is_drawn(j[0]) for j in jobs) else {}
    for case, words, by_word, control in jobs:
        for n in sizes:
            train, test, rest = split_words(words, by_word, n)
            if len(test) < 50:
                print(json.dumps({"case": case, "samples": n, "skipped": f"only {len(test)} words would be left"}))
                continue
            if args.write_split:  # the corrections and the other words as labelled folders, nothing learned
                for part, pairs in (("corrections", train), ("others", test)):
                    folder = args.write_split / f"{case}-{n}" / part
                    print(json.dumps({"case": case, "samples": n, part: write_dataset(folder, iter(pairs)),
                                      "folder": str(folder)}))
                continue
            test_p = prepare_validation(test, base.info.preprocess)
            torch.manual_seed(0)
            t0, c0 = time.time(), time.process_time()
            kinds = ["canvas"] * len(train) if is_drawn(case) else None  # as the app passes them
            res = finetune(base, train, lex, fonts, cfg, kinds=kinds)
            secs, cpu = time.time() - t0, time.process_time() - c0
            drawn = is_drawn(case)
            before = cer_of(reader(base.module, base.drawings, test, base.info.metadata, drawn), base.info,
                            test_p)  # as the app read them
            after = cer_of(reader(res.model, res.drawings, test, res.info.metadata, drawn), res.info, test_p)
            cand_net = reader(res.model, res.candidate, test, res.info.metadata, drawn) if res.apart else res.candidate
            cand = cer_of(cand_net, res.info, test_p) if cand_net is not None else None
            j = res.judgement
            row = {"case": case, "split": args.split, "samples": len(train), "test_images": len(test), "cer_before": before,
                   "cer_after": after, "relative_reduction": round(1 - after / before, 4) if before else None,
                   "candidate_cer_after": cand, "accepted": res.accepted, "claim": j.claim if j else None,
                   "judged_words": res.heldout_samples,
                   "judged_user_cer": [round(res.user_cer_before, 4), round(res.candidate_user_cer, 4)],
                   "general_cer": [round(res.general_cer_before, 4), round(res.candidate_general_cer, 4)],
                   "general_delta": [round(j.general_delta_low, 4), round(j.general_delta_high, 4)] if j else None,
                   "share_learned": res.info.metadata.get("share_learned"), "blends": res.blends,
                   "drawings_read": res.drawings_read,
                   "steps": res.steps, "learned_for": "drawings" if res.apart else "all", "seconds": round(secs, 1), "cpu_seconds": round(cpu, 1),
                   "threads": args.threads, "lr": res.lr}
            if control:  # the same test words in another hand: how much of the gain is this hand's
                control_p = prepare_validation(control, base.info.preprocess)
                row["control_cer_before"] = cer_of(reader(base.module, base.drawings, control, base.info.metadata, drawn),
                                                   base.info, control_p)
                row["control_cer_after"] = cer_of(reader(res.model, res.drawings, control, res.info.metadata, drawn),
                                                  res.info, control_p)
            if is_drawn(case):  # learning from drawings must not make photos worse: the other
                # words' photos, or every photo for a hand whose words are not those of the photos
                same_words = case.startswith("canvas")
                shown = [p for w in (rest if same_words else photos) for p in photos.get(w, [])]
                photo_p = prepare_validation(shown, base.info.preprocess)
                row["photo_cer_before"] = cer_of(reader(base.module, base.drawings, shown, base.info.metadata), base.info,
                                                 photo_p)
                row["photo_cer_after"] = cer_of(reader(res.model, res.drawings, shown, res.info.metadata), res.info, photo_p)
                cand_net = reader(res.model, res.candidate, shown, res.info.metadata) if res.apart else res.candidate
                if cand_net is not None:
                    row["photo_candidate_cer_after"] = cer_of(cand_net, res.info, photo_p)
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
