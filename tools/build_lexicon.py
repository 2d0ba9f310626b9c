"""Build ``resources/lexicon/``: the gzip word list, its licence, and the character model.

Usage: python tools/build_lexicon.py [--source words.txt] [--license LICENSE]
                                     [--tessdata nep.traineddata] [--hindi hin.traineddata] [--out DIR]

Each entry is normalised (NFC, an ASCII colon after a letter read as visarga), split at
spaces and hyphens, trimmed of punctuation; tokens made only of Devanagari letters and
signs of the default charset are kept, sorted and deduplicated. The word list holds the
dictionary headwords, the inflected word forms of Tesseract's Nepali model (Debian
``tesseract-ocr-nep``, read out with ``combine_tessdata -u`` and ``dawg2wordlist``) and the
words of its Hindi model (``tesseract-ocr-hin``: Hindi words written in Devanagari, many of them
shared with Nepali); the character language model (``charlm.npz``, order 6) is trained on the
Nepali words alone (headwords and forms).
"""

from __future__ import annotations

import argparse
import gzip
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nepocr_desktop.lib.language.charlm import CharLM
from nepocr_desktop.lib.language.lexicon import LETTERS, WORDS_FILE, core
from nepocr_desktop.lib.language.prior import CHARLM_FILE
from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET, normalize_text

DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "nepali_wordlist_bisug"
DEFAULT_TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata/nep.traineddata")
DEFAULT_HINDI = Path("/usr/share/tesseract-ocr/5/tessdata/hin.traineddata")
APACHE_LICENSE = Path("/usr/share/common-licenses/Apache-2.0")
CHARLM_ORDER = 6
_COLON_VISARGA = re.compile(r"(?<=[\u0900-\u097f]):")
_SPLIT = re.compile(r"[\s\-\u2013\u2014/]+")

SOURCE_NOTE = """# Nepali word list

`{name}`: {count} words, one per line (NFC, UTF-8, gzip), built by `tools/build_lexicon.py`
from three lists:

- the Nepali Wordlist Dataset (github.com/bisug/Nepali-Wordlist-Dataset, `data/words.lst`;
  {heads} headwords of the Nepali Brihat Sabdakosh), released under CC0 1.0; see `LICENSE`;
- the {forms} word forms of Tesseract's Nepali model (tessdata_fast `nep.traineddata` as packaged
  by Debian `tesseract-ocr-nep`; less {dropped} that are a verb in -छ with ा after it, a danda
  read as ा in the text they came from: {dropped_words}) and the {hindi} words of its Hindi model (`hin.traineddata`,
  Debian `tesseract-ocr-hin`), Apache License 2.0, Copyright 2006-2022 Google Inc.; see
  `LICENSE-Apache-2.0`.

`{lm}`: a character {order}-gram language model (interpolated Kneser-Ney, {ngrams} n-grams) of
Nepali words, trained on the headwords and the Nepali word forms, {total} distinct words in all.
"""


def tokens(entry: str) -> list[str]:
    """Usable word tokens of one word-list entry."""
    text = _COLON_VISARGA.sub("\u0903", normalize_text(entry))
    out = []
    for tok in _SPLIT.split(text):
        w = core(tok)
        if w and all(c in LETTERS for c in w) and not DEFAULT_CHARSET.unknown(w):
            out.append(w)
    return out


def tesseract_words(traineddata: Path) -> list[str]:
    """The word list inside a Tesseract ``.traineddata`` file (needs Tesseract's tools)."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(traineddata, Path(tmp) / "t.traineddata")
        subprocess.run(["combine_tessdata", "-u", "t.traineddata", "t."], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["dawg2wordlist", "t.lstm-unicharset", "t.lstm-word-dawg", "words.txt"],
                       cwd=tmp, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return (Path(tmp) / "words.txt").read_text(encoding="utf-8").split("\n")


def danda_read_as_aa(forms: set[str], heads: set[str]) -> set[str]:
    """The word forms that are another form in -छ with ा after it (हुन्छा, पर्छा): a present-tense
    verb never takes ा, so these are a danda read as ा in the text the forms came from (they would
    keep the recognizer from reading हुन्छ। as a word and a danda). Headwords (कान्छा, भान्छा)
    are kept."""
    ends = {w for w in forms if w.endswith("\u094d\u091b\u093e") and w not in heads}
    return {w for w in ends if w[:-1] in heads or w[:-1] in forms}


def build(source: Path, license_file: Path, out: Path, tessdata: Path, hindi: Path) -> int:
    """Write the word list, licence and character model into ``out``; return the word count."""
    heads: set[str] = set()
    with open(source, encoding="utf-8") as f:
        for line in f:
            heads.update(tokens(line))
    forms: set[str] = set()
    for line in tesseract_words(tessdata):
        forms.update(tokens(line))
    dropped = danda_read_as_aa(forms, heads)
    forms -= dropped
    hindi_words: set[str] = set()
    for line in tesseract_words(hindi):
        hindi_words.update(tokens(line))
    lm = CharLM.train(heads | forms, order=CHARLM_ORDER)
    words = heads | forms | hindi_words
    out.mkdir(parents=True, exist_ok=True)
    data = "".join(w + "\n" for w in sorted(words)).encode("utf-8")
    with open(out / WORDS_FILE, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                             compresslevel=9, filename="") as gz:
        gz.write(data)
    shutil.copyfile(license_file, out / "LICENSE")
    shutil.copyfile(APACHE_LICENSE, out / "LICENSE-Apache-2.0")
    lm.save(out / CHARLM_FILE)
    note = SOURCE_NOTE.format(name=WORDS_FILE, count=len(words), heads=len(heads), forms=len(forms),
                              dropped=len(dropped), dropped_words=", ".join(sorted(dropped)),
                              hindi=len(hindi_words), lm=CHARLM_FILE, order=CHARLM_ORDER, ngrams=len(lm),
                              total=len(heads | forms))
    (out / "SOURCE.md").write_text(note, encoding="utf-8")
    return len(words)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE / "words.txt")
    ap.add_argument("--license", type=Path, default=DEFAULT_SOURCE / "LICENSE")
    ap.add_argument("--tessdata", type=Path, default=DEFAULT_TESSDATA,
                    help="Tesseract's Nepali model, for its word forms")
    ap.add_argument("--hindi", type=Path, default=DEFAULT_HINDI, help="Tesseract's Hindi model, for its words")
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "lexicon")
    args = ap.parse_args(argv)
    for p in (args.source, args.license, args.tessdata, args.hindi, APACHE_LICENSE):
        if not p.is_file():
            print(f"build_lexicon: not found: {p}", file=sys.stderr)
            return 1
    n = build(args.source, args.license, args.out, args.tessdata, args.hindi)
    size = (args.out / WORDS_FILE).stat().st_size
    print(f"{n} words -> {args.out / WORDS_FILE} ({size / 1e6:.2f} MB)")
    size = (args.out / CHARLM_FILE).stat().st_size
    print(f"character model -> {args.out / CHARLM_FILE} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
