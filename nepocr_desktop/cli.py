"""The ``nepocr`` command: no arguments opens the app; subcommands work without a display.

Each subcommand is registered by ``_add_<name>(subparsers)`` and runs in ``_cmd_<name>(args)``,
which returns the exit code: 0 success, 1 a failure (message on stderr), 2 a usage error. A
:class:`~nepocr_desktop.lib.errors.NepocrError` that escapes a command is printed as one
``error: ...`` line and ends it with the error's exit code.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Container, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from . import __version__
from .lib.errors import NepocrError
from .lib.read.devices import DEFAULT_DEVICE, DEVICES

if TYPE_CHECKING:
    from .lib.read.results import Recognition, RecognitionFailure
    from .page import PageResult

PROG = "nepocr"
CHUNK = 256  # images handed to the recognizer at a time (bounds memory, streams output)
MAX_LISTED_ERRORS = 100

T = TypeVar("T")


class CliError(NepocrError):
    """A failure to report as one line on stderr with exit code 1."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="PATH", help="model file (default: the bundled model)")
    p.add_argument("--device", default=DEFAULT_DEVICE, choices=DEVICES,
                   help="where to run the model (default: auto = CUDA if available)")
    p.add_argument("--beam", type=_positive_int, default=1, metavar="N",
                   help="beam width; 1 = greedy decoding (default: 1)")
    p.add_argument("--lexicon", action="store_true",
                   help="favour likely Nepali words (the word list and a character language "
                        "model) where the image is ambiguous; beam 8 unless --beam is wider")
    p.add_argument("--drawings", action="store_true",
                   help="the images are pen or mouse drawings as the Write tab hands them to the "
                        "recognizer (one 8-unit pen): with --lexicon, read with the weights for drawings "
                        "(without it, an image that looks drawn by software, with smooth edges on "
                        "pure white, gets those weights too)")
    p.add_argument("--float", action="store_true",
                   help="run the network in float32 on the CPU; by default it runs as an int8 copy, "
                        "which reads about 3x as fast (made once per model, in about a second, and "
                        "kept in the user's cache folder)")


def _add_recognize(sub) -> None:
    p = sub.add_parser("recognize", help="read handwritten words or lines from image files",
                       description="Print the text read from each image, one line per image.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--json", action="store_true", help="one JSON object per image and line")
    p.add_argument("--page", action="store_true",
                   help="the image is a whole page: find its lines and words and read them all")
    p.add_argument("--auto", action="store_true",
                   help="decide for each image as the app does: a page when several words are found on it "
                        "(its words read one by one; its lines joined by spaces on the image's one output line, "
                        "and with --json the page as --page --format json gives it, under \"page\"), else one "
                        "word or line read whole")
    p.add_argument("--format", choices=("text", "json", "pagexml"), default=None,
                   help="with --page: plain text (default), JSON, or PAGE XML")
    p.add_argument("--strokes", action="store_true",
                   help="each IMAGE is a file of pen strokes (JSON: a list of strokes, each a list of [x, y] or "
                        "[x, y, width] points), read as the Write tab reads writing: drawn with its reading pen, "
                        "lines laid out as one line; implies --drawings")
    _add_model_options(p)
    p.set_defaults(func=_cmd_recognize)


def _cmd_recognize_pages(args: argparse.Namespace) -> int:
    if args.drawings:
        raise CliError("--drawings reads word images, not --page")
    if args.strokes:
        raise CliError("--strokes reads pen strokes, not --page")
    from .lib.read.preprocess import ImageError
    from .page import read_page

    fmt = args.format or ("json" if args.json else "text")
    rec = _recognizer(args)
    failed = 0
    for path in args.images:
        try:
            result = read_page(rec, path)
        except ImageError as exc:
            failed += 1
            _err(str(exc))
            if fmt == "json":
                print(json_line({"path": path, "error": str(exc)}))
            continue
        if fmt == "json":
            obj = result.to_dict()
            obj["path"] = path
            print(json_line(obj))
        elif fmt == "pagexml":
            print(result.to_pagexml(image_filename=Path(path).name))
        else:
            if not result.text:
                _err(f"{path}: no writing found")
            print(result.text)
        sys.stdout.flush()
    return 1 if failed else 0


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="measure accuracy on a labelled folder",
                       description="Character and word error rates on DIR, which holds labels.tsv "
                                   "(relative/path<TAB>text) or x.png + x.gt.txt pairs.")
    p.add_argument("dir", metavar="DIR", help="labelled image folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--limit", type=_positive_int, metavar="N", help="use only the first N samples")
    p.add_argument("--predictions", type=Path, metavar="FILE",
                   help="also write every reading to FILE: path (within DIR)<TAB>label<TAB>reading, one line per image "
                        "read (for comparing two models word by word: tools/compare_readings.py)")
    _add_model_options(p)
    p.set_defaults(func=_cmd_eval)


def build_parser(commands: Container[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; with ``commands``, only those get the options whose
    definitions load torch (``train``, ``finetune``): the others are listed, so that
    ``--help``, ``--version`` and ``recognize`` start without the training code."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Offline handwritten Nepali recognition. Without a command, opens the app.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_recognize(sub)
    _add_eval(sub)
    _add_train(sub, commands is None or "train" in commands)
    _add_finetune(sub, commands is None or "finetune" in commands)
    return parser


def _add_train(sub, full: bool = True) -> None:
    p = sub.add_parser("train", help="train a recognizer from real and synthetic data",
                       description="Train a model (resumes from OUT/last.ckpt); the best epoch is exported "
                                   "as TorchScript. Runs data-parallel under torchrun.")
    if full:
        from .training import add_train_arguments

        add_train_arguments(p)
    p.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    from .training import run_train

    return run_train(args)


def _add_finetune(sub, full: bool = True) -> None:
    p = sub.add_parser("finetune", help="adapt a model to one person's handwriting",
                       description="Fine-tune on DIR (labels.tsv or x.png + x.gt.txt) and write the result to "
                                   "--out; prints held-back and general CER before and after.")
    if full:
        from .finetuning import add_finetune_arguments

        add_finetune_arguments(p)
    p.set_defaults(func=_cmd_finetune)


def _cmd_finetune(args: argparse.Namespace) -> int:
    from .finetuning import run_finetune

    return run_finetune(args)


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _recognizer(args: argparse.Namespace):
    from .recognizer import Recognizer

    rec = Recognizer(args.model, device=args.device, beam=args.beam, lexicon=args.lexicon, int8=not args.float)
    rec.warmup()  # so that reported times are those of steady use
    return rec


def _finite(value: object) -> object:
    """``value`` with every float that is not finite (NaN, infinity) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def json_line(obj: object) -> str:
    """Strict JSON for one output line: NaN and infinities are written as null, never as the
    ``NaN``/``Infinity`` that JSON does not have."""
    return json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False)


def _err(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def _recognition_json(path: str, r, precision: str) -> dict:
    return {
        "path": path,
        "text": r.text,
        "confidence": round(r.confidence, 4),
        "chars": [{"char": c.char, "confidence": round(c.confidence, 4)} for c in r.chars],
        "graphemes": [{"text": g.text, "confidence": round(g.confidence, 4)} for g in r.graphemes],
        "alternatives": [{"text": a.text, "score": round(a.score, 4)} for a in r.alternatives],
        "device": r.device,
        "precision": precision,
        "ms": round(r.ms, 2),
    }


def _read(rec, args: argparse.Namespace):
    """The recognizer's reading method for ``args``: drawings or any images."""
    return rec.recognize_drawings if args.drawings else rec.recognize


def _read_strokes(rec, paths: Sequence[str]) -> list[Recognition | RecognitionFailure | None]:
    """Strokes files read as the Write tab reads writing; a file that is not one is a failure."""
    from .lib.read.results import RecognitionFailure
    from .lib.read.strokes_file import StrokesFileError, read_strokes, strokes_image

    results: list[Recognition | RecognitionFailure | None] = [None] * len(paths)
    images, where = [], []
    for i, path in enumerate(paths):
        try:
            images.append(strokes_image(read_strokes(path)))
            where.append(i)
        except StrokesFileError as exc:
            results[i] = RecognitionFailure(str(exc))
    for i, r in zip(where, rec.recognize_drawings(images) if images else []):
        results[i] = r
    return results


def _read_auto(rec, paths: Sequence[str]) -> list[Recognition | RecognitionFailure | PageResult]:
    """``--auto``: each image a page or one word, decided as the app's automatic mode decides."""
    from .lib.read.preprocess import ImageError
    from .lib.read.results import RecognitionFailure
    from .page import read_any

    results: list[Recognition | RecognitionFailure | PageResult] = []
    for path in paths:
        try:
            results.append(read_any(rec, path))
        except ImageError as exc:
            results.append(RecognitionFailure(str(exc)))
    return results


def _shown(path: str, r: Recognition | PageResult, rec, kind: bool) -> tuple[str, dict]:
    """What ``recognize`` prints of a reading: its text on one line, and its JSON object (with
    ``kind`` under ``--auto``)."""
    from .page import PageResult

    if isinstance(r, PageResult):
        return " ".join(ln.text for ln in r.lines if ln.text), {
            "path": path, "kind": "page", "text": r.text,
            "confidence": round(min((w.confidence for w in r.words), default=0.0), 4),
            "device": rec.device_name, "precision": rec.precision, "ms": round(r.ms, 2), "page": r.to_dict()}
    obj = _recognition_json(path, r, rec.precision)
    return r.text, dict(obj, kind="word") if kind else obj


def _cmd_recognize(args: argparse.Namespace) -> int:
    if args.auto:
        for flag in ("page", "strokes", "drawings"):
            if getattr(args, flag):
                raise CliError(f"--auto decides between a page and a word by itself: leave out --{flag}")
    elif args.page:
        return _cmd_recognize_pages(args)
    if args.format:
        raise CliError("--format goes with --page")
    from .recognizer import RecognitionFailure

    rec = _recognizer(args)
    if args.auto:
        read = lambda paths: _read_auto(rec, paths)
    elif args.strokes:
        read = lambda paths: _read_strokes(rec, paths)
    else:
        read = _read(rec, args)
    several = len(args.images) > 1
    failed = 0
    for chunk in _chunks(args.images):
        for path, r in zip(chunk, read(list(chunk))):
            if isinstance(r, RecognitionFailure):
                failed += 1
                _err(r.message)
                if args.json:
                    print(json_line({"path": path, "error": r.message}))
                continue
            text, obj = _shown(path, r, rec, args.auto)
            if args.json:
                print(json_line(obj))
            else:
                if not text:
                    _err(f"{path}: no writing found")
                print(f"{path}\t{text}" if several else text)
        sys.stdout.flush()
    return 1 if failed else 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from .lib.read.charset import normalize_text
    from .lib.read.metrics import error_rates
    from .lib.storage.dataset import read_dataset
    from .lib.system.atomic import atomic_write
    from .recognizer import RecognitionFailure

    samples = read_dataset(args.dir)
    if args.limit:
        samples = samples[: args.limit]
    rec = _recognizer(args)
    pairs: list[tuple[str, str]] = []
    errors: list[dict] = []
    skipped: list[dict] = []
    labelled = []
    for s in samples:  # an empty label says nothing about accuracy: listed, not counted
        if normalize_text(s.text):
            labelled.append(s)
        else:
            _err(f"skipped: {s.path}: the label is empty")
            skipped.append({"path": str(s.path), "error": "the label is empty"})
    samples = labelled
    n_wrong = words = 0
    readings: list[str] = []
    t0 = time.perf_counter()
    for chunk in _chunks(samples):
        for s, r in zip(chunk, _read(rec, args)([s.path for s in chunk])):
            if isinstance(r, RecognitionFailure):
                _err(f"skipped: {r.message}")
                skipped.append({"path": str(s.path), "error": r.message})
                continue
            ref, pred = normalize_text(s.text), normalize_text(r.text)
            pairs.append((pred, ref))
            if args.predictions is not None:
                readings.append(f"{Path(os.path.relpath(s.path, args.dir)).as_posix()}\t{ref}\t{pred}\n")
            words += max(1, len(ref.split()))
            if pred != ref:
                n_wrong += 1
                if len(errors) < MAX_LISTED_ERRORS:
                    errors.append({"path": str(s.path), "ref": ref, "pred": pred})
    elapsed = time.perf_counter() - t0
    if not pairs:
        raise CliError(f"{args.dir}: none of the {len(samples) + len(skipped)} samples could be read"
                       + (f" ({len(skipped)} skipped)" if skipped else ""))
    if args.predictions is not None:
        try:
            text = "".join(readings)
            atomic_write(args.predictions, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        except OSError as exc:
            raise CliError(f"{args.predictions}: cannot write the readings: {exc.strerror or exc}") from None
    cer, wer = error_rates(pairs)
    ms_per_word = elapsed * 1000.0 / words
    if args.json:
        print(json_line({
            "n": len(pairs), "cer": round(cer, 6), "wer": round(wer, 6),
            "ms_per_word": round(ms_per_word, 3), "n_wrong": n_wrong, "errors": errors,
            "skipped": skipped, "model": str(rec.model_path), "device": rec.device_name,
            "beam": rec.beam, "lexicon": rec.lexicon is not None, "precision": rec.precision,
            "drawings": bool(args.drawings),
        }))
    else:
        print(f"n        {len(pairs)}")
        print(f"CER      {cer * 100:.2f}%")
        print(f"WER      {wer * 100:.2f}%")
        print(f"ms/word  {ms_per_word:.2f}")
        if skipped:
            print(f"skipped  {len(skipped)}")
    return 0


def _utf8_output() -> None:
    """Make sure Devanagari can be printed (e.g. on a Windows console)."""
    for stream in (sys.stdout, sys.stderr):
        enc = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if enc != "utf8" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(encoding="utf-8", errors="replace")
            except (ValueError, OSError):
                pass


def _run_gui(argv: list[str]) -> int:
    try:
        from .gui.app import run
    except ImportError as exc:
        _err(f"error: the app cannot start ({exc})")
        return 1
    return run(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nepocr`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = ("recognize", "eval", "train", "finetune")
    if not argv or (argv[0] not in commands and argv[0] not in ("-h", "--help", "--version")
                    and (argv[0].startswith("-") or Path(argv[0]).is_file())):
        return _run_gui(argv)  # the app: its own options (--model, --device, --self-test) or an image
    _utf8_output()
    parser = build_parser(commands=argv[:1])
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error (code 2)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_usage(sys.stderr)
        return 2
    try:
        return args.func(args)
    except NepocrError as exc:
        _err(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return 0
