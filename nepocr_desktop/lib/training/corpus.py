"""The training collections: real word crops, handwritten glyphs and vocabulary.

The real word crops are split by word (not by image): a word's every image is either in
training or in validation, decided by a hash of its text, so validation measures words the
model never saw written.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..read.charset import DEFAULT_CHARSET, Charset, LabelError, normalize_text
from ..read.preprocess import load_gray
from ..storage.dataset import Sample, read_labels_tsv

# Typing slips seen in real labels (letters Nepali does not use) mapped to the intended ones.
LABEL_FIXES = str.maketrans({"ऎ": "ए", "ऒ": "ओ", "ॆ": "े", "ॊ": "ो", "ॄ": "ृ"})


# Training crops whose label leaves out a candrabindu (or the dot written for it) that the writer
# wrote, each looked at (model/MODEL_CARD.md, "The candrabindu in the test photos"): the label as
# written. The validation crops keep their labels, so that the test figures stay comparable.
LABEL_CORRECTIONS = {
    "images/206.jpg": "हाँस्ने", "images/330.jpg": "आँसु", "images/690.jpg": "हाँस्ने",
    "images/905.jpg": "अझैँ", "images/930.jpg": "चाहिँ", "images/956.jpg": "हाँस्ने",
    "images/1019.jpg": "सधैँ", "images/1086.jpg": "हाँस्दा", "images/1149.jpg": "छँदैछ",
    "images/1189.jpg": "गराउँछ", "images/1344.jpg": "कहाँ", "images/1536.jpg": "कहाँ",
    "images/2568.jpg": "हटाउँछ", "images/2714.jpg": "सधैँ", "images/3920.jpg": "कहीँ",
    "images/3974.jpg": "चाहिँ", "images/4151.jpg": "हाँस्दै", "images/4190.jpg": "भनेझैँ",
}


def bucket(text: str, n: int = 100) -> int:
    """Stable hash bucket of a string in [0, n)."""
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:4], "big") % n


def is_validation_word(text: str, percent: int = 15) -> bool:
    return bucket("val:" + text) < percent


@dataclass
class WordSplit:
    train: list[Sample]
    val: list[Sample]
    skipped: int


def usable_label(text: str, charset: Charset = DEFAULT_CHARSET) -> str | None:
    """Normalised label, or None when it holds characters outside the charset."""
    try:
        return charset.normalize_label(normalize_text(text).translate(LABEL_FIXES))
    except LabelError:
        return None


def lens_words(root: Path, charset: Charset = DEFAULT_CHARSET, val_percent: int = 15,
               corrections: Mapping[str, str] = LABEL_CORRECTIONS) -> WordSplit:
    """Real word crops (``nepali_lens_words``), split by word into train and validation.

    ``corrections`` (image path relative to ``root`` -> label) replace the labels of training
    crops; a crop whose corrected word is a validation word is left out (counted as skipped), so
    that no validation word is trained on."""
    root = Path(root)
    rows = read_labels_tsv(root / "labels_devanagari_only.tsv")
    train, val, skipped = [], [], 0
    for s in rows:
        text = usable_label(s.text, charset)
        if not text or text == "-":
            skipped += 1
            continue
        # keyed on the label before NEPALI_FIXES, so the split stays the one earlier models were
        # trained and validated on (no word lands on both sides; the tests check it)
        key = normalize_text(s.text, nepali_fixes=False).translate(LABEL_FIXES)
        (val if is_validation_word(key, val_percent) else train).append(Sample(s.path, text))
    if corrections:  # after the split: a correction must not bring a validation word into training
        val_words = {s.text for s in val}
        kept = []
        for s in train:
            fixed = corrections.get(Path(s.path).relative_to(root).as_posix())
            if fixed is not None:
                text = usable_label(fixed, charset)
                if not text or text in val_words:
                    skipped += 1
                    continue
                s = Sample(s.path, text)
            kept.append(s)
        train = kept
    return WordSplit(train, val, skipped)


@dataclass
class GlyphSet:
    """Handwritten glyph images (uint8 gray, any polarity) with their text."""

    images: list[np.ndarray]
    texts: list[str]
    held_out: np.ndarray  # bool per image: kept for evaluation, never trained on
    writer: np.ndarray | None = None  # NHCD writer id per image ("" elsewhere)

    @property
    def trainable(self) -> np.ndarray:
        """Images training may use: not held out, not written by a reserved writer."""
        if self.writer is None:
            return ~self.held_out
        return ~self.held_out & ~np.isin(self.writer, RESERVED_WRITERS)

    def by_writer(self, writer: str) -> list[int]:
        """Indices of one NHCD writer's images."""
        return [] if self.writer is None else [int(i) for i in np.flatnonzero(self.writer == writer)]


# NHCD writers (file names "<writer>_<sample>") never trained on: their characters make the
# single-writer personalisation benchmark (benchmarks/bench_finetune.py --user nhcd).
RESERVED_WRITERS = ("001",)


def _dhcd(root: Path) -> tuple[list[np.ndarray], list[str], list[bool]]:
    labels = {}
    for line in (root / "labels.tsv").read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            p, t = line.split("\t", 1)
            labels[p] = normalize_text(t)
    imgs, texts, held = [], [], []
    with tarfile.open(root / "dhcd_images.tar.gz") as tar:
        for m in tar:
            if not m.isfile() or m.name not in labels:
                continue
            data = tar.extractfile(m).read()
            imgs.append(load_gray(data))
            texts.append(labels[m.name])
            held.append(bucket("dhcd:" + m.name) < 10)
    return imgs, texts, held


def load_glyphs(data_root: Path, cache: Path | None = None) -> GlyphSet:
    """DHCD (10% held out by file hash), NHCD (with writer ids) and CALAM syllables, cached as one .npz."""
    if cache and cache.exists():
        cached = _read_glyph_cache(cache)
        if cached is not None:
            return cached
    images, texts, held = _dhcd(data_root / "dhcd")
    writers = [""] * len(images)
    for name in ("nhcd", "calam_syllables"):
        for s in read_labels_tsv(data_root / name / "labels.tsv"):
            text = usable_label(s.text)
            if text:
                images.append(load_gray(s.path))
                texts.append(text)
                held.append(False)
                writers.append(Path(s.path).stem.split("_")[0] if name == "nhcd" else "")
    gs = GlyphSet(images, texts, np.array(held), np.array(writers))
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        shapes = np.array([im.shape for im in images])
        offsets = np.concatenate([[0], np.cumsum([im.size for im in images])])
        # Written beside the cache and renamed into place, so a process reading the cache while
        # another writes it never sees half a file.
        fd, tmp = tempfile.mkstemp(suffix=".npz", prefix=cache.stem + ".", dir=cache.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, pixels=np.concatenate([im.ravel() for im in images]), shapes=shapes,
                         offsets=offsets, texts=np.array(texts), held_out=gs.held_out, writer=gs.writer)
            os.replace(tmp, cache)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return gs


def _read_glyph_cache(cache: Path) -> GlyphSet | None:
    """The cached glyphs, or None when the file is of an older layout or unreadable (it is rebuilt)."""
    try:
        with np.load(cache, allow_pickle=False) as z:
            if "writer" not in z.files:
                return None
            offsets, flat, shapes = z["offsets"], z["pixels"], z["shapes"]
            images = [flat[offsets[i]:offsets[i + 1]].reshape(shapes[i]) for i in range(len(shapes))]
            return GlyphSet(images, [str(t) for t in z["texts"]], z["held_out"], z["writer"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None


SUFFIXES = ("को", "का", "की", "मा", "लाई", "ले", "बाट", "हरू", "हरूको", "हरूले", "सँग", "देखि",
            "सम्म", "मै", "नै", "भन्दा", "तिर", "पछि", "का लागि")


def vocabulary(data_root: Path, exclude: set[str], charset: Charset = DEFAULT_CHARSET,
               max_len: int = 18) -> list[str]:
    """Dictionary headwords and names, minus ``exclude`` (validation words), encodable only."""
    words: set[str] = set()
    wl = data_root / "nepali_wordlist_bisug" / "words.txt"
    names = data_root / "nepali_names_prabinzz" / "names.tsv"
    lines = wl.read_text(encoding="utf-8").splitlines()
    if names.exists():
        lines += [ln.split("\t")[-1] for ln in names.read_text(encoding="utf-8").splitlines()]
    for ln in lines:
        t = usable_label(ln, charset)
        if t and 1 <= len(t) <= max_len and t not in exclude:
            words.add(t)
    return sorted(words)
