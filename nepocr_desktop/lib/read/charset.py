"""Nepali Devanagari character set: label normalisation, CTC encoding, akshara splitting.

Index 0 of the CTC output is the blank; character ``chars[i]`` has index ``i + 1``.
Labels are NFC; NFC decomposes the nukta letters U+0958-U+095F into base + U+093C, so the
set holds the nukta sign and not those letters. ZWJ/ZWNJ are invisible in handwriting and
are removed from labels.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field

from ..errors import NepocrError

INDEPENDENT_VOWELS = "अआइईउऊऋॠऌॡएऐओऔऑ"
CONSONANTS = "कखगघङचछजझञटठडढणतथदधनऩपफबभमयरऱलळऴवशषसह"
NUKTA = "\u093c"
VIRAMA = "\u094d"
VOWEL_SIGNS = "ािीुूृॄॢॣेैोौॅॉ"
MODIFIERS = "ँंः"  # candrabindu, anusvara, visarga
OTHER_SIGNS = "ऽॐ॰"  # avagraha, om, abbreviation sign
DEVANAGARI_DIGITS = "०१२३४५६७८९"
DANDAS = "।॥"
ASCII_DIGITS = "0123456789"
CLOSING_MARKS = frozenset("।॥,?!;:")  # marks that close a word (हुन्छ। घर,): decoding and training treat them so
PUNCTUATION = " .,?!-()\"':;/"

NEPALI_CHARS: str = (
    INDEPENDENT_VOWELS + CONSONANTS + NUKTA + VIRAMA + VOWEL_SIGNS + MODIFIERS + OTHER_SIGNS
    + DEVANAGARI_DIGITS + DANDAS + ASCII_DIGITS + PUNCTUATION
)

_INVISIBLE = dict.fromkeys(map(ord, "\u200c\u200d\ufeff\u00ad"), None)
# Nepali has no candra E (U+0945): typed with a Hindi layout it stands for candrabindu (U+0901),
# as in सिकाउॅछ for सिकाउँछ. Labels are written with ँ, and a model that learned the other
# sign from such labels is read out with ँ too (Charset.shown).
NEPALI_FIXES = {"\u0945": "\u0901"}
_FIXES = str.maketrans(NEPALI_FIXES)
_SPACES = re.compile(r"\s+")


class LabelError(NepocrError, ValueError):
    """A label that cannot be encoded with the character set."""


def normalize_text(text: str, nepali_fixes: bool = True) -> str:
    """NFC, drop ZWJ/ZWNJ/BOM/soft hyphen, ``NEPALI_FIXES``, collapse whitespace, strip."""
    text = unicodedata.normalize("NFC", text.translate(_INVISIBLE))
    if nepali_fixes:
        text = text.translate(_FIXES)
    return _SPACES.sub(" ", text).strip()


def preview(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters for a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(chars: list[str], limit: int = 8) -> str:
    """Characters named for a message: ``'x' U+0078 LATIN SMALL LETTER X, …``."""
    names = ", ".join(f"{c!r} U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in chars[:limit])
    return names + (f" and {len(chars) - limit} more" if len(chars) > limit else "")


@dataclass(frozen=True)
class Charset:
    """An ordered set of code points; CTC index = position + 1 (0 is blank)."""

    chars: tuple[str, ...] = field(default_factory=lambda: tuple(NEPALI_CHARS))
    # what class i + 1 is read out as: chars[i] with NEPALI_FIXES applied
    shown: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("charset has duplicate characters")
        if any(len(c) != 1 for c in self.chars):
            raise ValueError("charset entries must be single code points")
        object.__setattr__(self, "_index", {c: i + 1 for i, c in enumerate(self.chars)})
        object.__setattr__(self, "shown", tuple(NEPALI_FIXES.get(c, c) for c in self.chars))

    @property
    def num_classes(self) -> int:
        """Output classes including the CTC blank."""
        return len(self.chars) + 1

    def unknown(self, text: str) -> list[str]:
        """Characters of (already normalised) ``text`` not in the set, in order of appearance."""
        seen: dict[str, None] = {}
        for c in text:
            if c not in self._index:  # type: ignore[attr-defined]
                seen[c] = None
        return list(seen)

    def normalize_label(self, text: str) -> str:
        """Normalise a label and check every character is in the set."""
        norm = normalize_text(text)
        bad = self.unknown(norm)
        if bad:
            raise LabelError(f"label {preview(text)!r} has characters outside the charset: {describe(bad)}")
        return norm

    def encode(self, text: str) -> list[int]:
        """Normalise and encode a label to CTC indices (no blanks)."""
        norm = self.normalize_label(text)
        return [self._index[c] for c in norm]  # type: ignore[attr-defined]

    def decode(self, ids) -> str:
        """Indices (blank-free, already collapsed) to text."""
        return "".join(self.shown[i - 1] for i in ids if i > 0)

    def to_json(self) -> str:
        return json.dumps({"chars": "".join(self.chars)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str | bytes) -> Charset:
        obj = json.loads(data)
        return cls(tuple(obj["chars"]))


DEFAULT_CHARSET = Charset()

_CONS = set(CONSONANTS)
_JOINERS = set(NUKTA + VIRAMA + VOWEL_SIGNS + MODIFIERS + "\u200c\u200d")


def split_aksharas(text: str) -> list[str]:
    """Split text into aksharas (orthographic syllables) as a reader sees them.

    A consonant cluster joined by virama, with its nukta, vowel signs and modifiers, is one
    akshara: ``क्षत्रिय`` -> ``['क्ष', 'त्रि', 'य']``. Combining marks with no base attach to
    the previous unit, or stand alone at the start.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        start = i
        c = text[i]
        i += 1
        if c in _CONS:
            while i < n:
                d = text[i]
                if d == NUKTA or d in VOWEL_SIGNS or d in MODIFIERS or d in "\u200c\u200d":
                    i += 1
                elif d == VIRAMA:
                    i += 1
                    # a consonant after the virama (maybe after ZWJ/ZWNJ) continues the cluster
                    j = i
                    while j < n and text[j] in "\u200c\u200d":
                        j += 1
                    if j < n and text[j] in _CONS:
                        i = j + 1
                else:
                    break
        else:
            while i < n and (text[i] in MODIFIERS or text[i] in "\u200c\u200d"
                             or (c in INDEPENDENT_VOWELS and text[i] in NUKTA + VOWEL_SIGNS)):
                i += 1
            if c in _JOINERS and out and not text[start - 1].isspace():
                out[-1] += text[start:i]
                continue
        out.append(text[start:i])
    return out


_AFTER_SIGN = _CONS | set(NUKTA)  # what a vowel sign or virama may follow
_AFTER_MODIFIER = _AFTER_SIGN | set(VOWEL_SIGNS) | set(INDEPENDENT_VOWELS)


def is_well_formed(text: str) -> bool:
    """False for sequences no one writes: a vowel sign or virama not after a consonant, a
    nukta not after a consonant, a candrabindu/anusvara/visarga after a virama or a space."""
    prev = ""
    for c in text:
        if (c in VOWEL_SIGNS or c == VIRAMA) and prev not in _AFTER_SIGN:
            return False
        if c == NUKTA and prev not in _CONS:
            return False
        if c in MODIFIERS and prev not in _AFTER_MODIFIER:
            return False
        prev = c
    return True
