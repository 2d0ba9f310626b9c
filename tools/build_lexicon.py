"""Build ``resources/lexicon/`` (gzip word list + licence) from a plain Nepali word list.

Usage: python tools/build_lexicon.py [--source words.txt] [--license LICENSE] [--out DIR]

Each entry is normalised (NFC, an ASCII colon after a letter read as visarga), split at
spaces and hyphens, trimmed of punctuation; tokens made only of Devanagari letters and
signs of the default charset are kept, sorted and deduplicated.
"""

from __future__ import annotations

import argparse
import gzip
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nepocr_desktop.lib.charset import DEFAULT_CHARSET, normalize_text
from nepocr_desktop.lib.lexicon import LETTERS, WORDS_FILE, core

DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "nepali_wordlist_bisug"
_COLON_VISARGA = re.compile(r"(?<=[\u0900-\u097f]):")
_SPLIT = re.compile(r"[\s\-\u2013\u2014/]+")

SOURCE_NOTE = """# Nepali word list

`{name}`: {count} words, one per line (NFC, UTF-8, gzip), built by `tools/build_lexicon.py`
from the Nepali Wordlist Dataset (github.com/bisug/Nepali-Wordlist-Dataset, `data/words.lst`;
headwords of the Nepali Brihat Sabdakosh). Released under CC0 1.0; see `LICENSE`.
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


def build(source: Path, license_file: Path, out: Path) -> int:
    """Write the word list and licence into ``out``; return the number of words."""
    words: set[str] = set()
    with open(source, encoding="utf-8") as f:
        for line in f:
            words.update(tokens(line))
    out.mkdir(parents=True, exist_ok=True)
    data = "".join(w + "\n" for w in sorted(words)).encode("utf-8")
    with open(out / WORDS_FILE, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                             compresslevel=9, filename="") as gz:
        gz.write(data)
    shutil.copyfile(license_file, out / "LICENSE")
    (out / "SOURCE.md").write_text(SOURCE_NOTE.format(name=WORDS_FILE, count=len(words)), encoding="utf-8")
    return len(words)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE / "words.txt")
    ap.add_argument("--license", type=Path, default=DEFAULT_SOURCE / "LICENSE")
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "lexicon")
    args = ap.parse_args(argv)
    for p in (args.source, args.license):
        if not p.is_file():
            print(f"build_lexicon: not found: {p}", file=sys.stderr)
            return 1
    n = build(args.source, args.license, args.out)
    size = (args.out / WORDS_FILE).stat().st_size
    print(f"{n} words -> {args.out / WORDS_FILE} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
