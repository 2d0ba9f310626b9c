"""A Nepali word list used to nudge beam search toward real words (open vocabulary).

The list holds dictionary headwords. Running text is full of inflected forms that are not
headwords (``घरमा``, ``केटाहरूलाई``, ``गरेको``), so a word also counts as known when it is a
headword plus up to two case/plural endings, or the stem of a ``-नु`` verb plus a verb
ending. The lexicon only adds a bonus in the decoder; it never replaces what was read.
"""

from __future__ import annotations

import bisect
import functools
import gzip
import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from ..errors import NepocrError
from ..read.charset import CONSONANTS, INDEPENDENT_VOWELS, MODIFIERS, NUKTA, VIRAMA, VOWEL_SIGNS

WORDS_FILE = "words.txt.gz"

LETTERS = frozenset(INDEPENDENT_VOWELS + CONSONANTS + NUKTA + VIRAMA + VOWEL_SIGNS + MODIFIERS + "ऽॐ")
_EDGE = "".join(chr(c) for c in range(0x20, 0x7F)) + "।॥०१२३४५६७८९॰‘’“”–—"
SEPARATORS = re.compile(r"[\s\-/]+")

# Endings written joined to a noun or pronoun; up to two may follow a headword (हरू + लाई).
NOUN_ENDINGS = (
    "हरू", "हरु", "को", "का", "की", "मा", "लाई", "ले", "बाट", "देखि", "सम्म", "सँग", "संग",
    "तिर", "भन्दा", "भित्र", "माथि", "बारे", "नै", "कै", "मै", "पनि", "जस्तो", "जस्ता", "जस्ती",
    "झैं", "झैँ", "द्वारा", "प्रति", "वाला", "वाली", "ज्यू", "जी",
)
# Verb endings after the stem of a ``-नु`` headword; one starting with a vowel sign or
# virama replaces the stem's final virama (गर् + ेको -> गरेको).
VERB_ENDINGS = (
    "छ", "छु", "छौ", "छौं", "छौँ", "छन्", "छिन्", "छस्", "छे", "छ्यौ", "थ्यो", "थिए", "थियो",
    "थिइन्", "दै", "दा", "दैन", "दिन", "दैनन्", "दैनौ", "दछ", "दछन्", "न", "नु", "ने", "नेछ",
    "नेछु", "नेछन्", "नुहोस्", "नुहुन्छ", "नुभयो", "नुभएको", "नुपर्छ", "नुपर्ने", "ला", "लान्",
    "लिन्", "न्छ", "न्छु", "न्छन्", "न्छौ", "न्दै", "न्न", "न्दा", "ँदै", "ँदा", "एको", "एका",
    "एकी", "एर", "ए", "यो", "ई", "इन्", "इन्छ", "इयो", "ऊँ", "औं", "ओस्",
    "ेको", "ेका", "ेकी", "ेर", "े", "ेँ", "ें", "ेछ", "ेन", "ेनन्", "ेनौ", "्यो", "्यौ", "्यौं",
    "ी", "ौं", "ौँ", "ौ", "ू", "ून्", "ोस्", "िन्", "िए", "िएको", "िन्छ", "िनु",
)
_ATTACHING = frozenset(VOWEL_SIGNS + VIRAMA)


class LexiconError(NepocrError):
    """A word-list file that is missing or unreadable; the message is for users."""


def _chains(endings: Iterable[str], depth: int) -> frozenset[str]:
    out = set(endings)
    for _ in range(depth - 1):
        out |= {a + b for a in out for b in endings}
    return frozenset(out)


def _prefixes(strings: Iterable[str]) -> frozenset[str]:
    return frozenset(s[:i] for s in strings for i in range(1, len(s) + 1))


_NOUN_CHAINS = _chains(NOUN_ENDINGS, 2)
_NOUN_PREFIXES = _prefixes(_NOUN_CHAINS)
_VERB_SET = frozenset(VERB_ENDINGS)
_VERB_PREFIXES = _prefixes(VERB_ENDINGS)


def core(token: str) -> str:
    """A token without the digits and punctuation around it, in NFC."""
    t = token.strip(_EDGE)
    return t if unicodedata.is_normalized("NFC", t) else unicodedata.normalize("NFC", t)


def words_in(text: str) -> list[str]:
    """The words of ``text``, in order: its tokens with a letter, without the digits and
    punctuation around them, in NFC."""
    return [w for w in (core(t) for t in SEPARATORS.split(text)) if any(c in LETTERS for c in w)]


class Lexicon:
    """A sorted word list with known-word and could-become-a-word tests."""

    def __init__(self, words: Iterable[str]):
        cleaned = dict.fromkeys(core(w) for w in words)  # in order: a sorted list sorts in one pass
        self.words: tuple[str, ...] = tuple(sorted(w for w in cleaned if w))
        self._set = frozenset(self.words)
        self._stems = frozenset(w[:-2] for w in self.words if w.endswith("नु") and len(w) > 2)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._set

    @classmethod
    def load(cls, path: str | os.PathLike) -> Lexicon:
        """Read a gzip (or plain) UTF-8 list, one word per line."""
        path = Path(path)
        try:
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as f:
                text = f.read()  # at once: reading line by line took longer than the words' cleaning
            return cls(line.strip() for line in text.splitlines())
        except FileNotFoundError:
            raise LexiconError(f"word list not found: {path}") from None
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise LexiconError(f"{path.name}: the word list is damaged ({exc})") from None

    def _verb_form(self, head: str, tail: str, endings: frozenset[str]) -> bool:
        if tail not in endings:
            return False
        return head in self._stems or (tail[0] in _ATTACHING and head + VIRAMA in self._stems)

    def is_word(self, word: str) -> bool:
        """A headword, a headword with case/plural endings, or an inflected ``-नु`` verb."""
        if word in self._set:
            return True
        for i in range(1, len(word)):
            head, tail = word[:i], word[i:]
            if (tail in _NOUN_CHAINS and head in self._set) or self._verb_form(head, tail, _VERB_SET):
                return True
        return False

    def is_prefix(self, text: str) -> bool:
        """Whether ``text`` is the start of some word that :meth:`is_word` accepts."""
        i = bisect.bisect_left(self.words, text)
        if i < len(self.words) and self.words[i].startswith(text):
            return True
        for j in range(1, len(text)):
            head, tail = text[:j], text[j:]
            if (tail in _NOUN_PREFIXES and head in self._set) or self._verb_form(head, tail, _VERB_PREFIXES):
                return True
        return False

    def knows(self, text: str) -> bool:
        """Whether ``text`` has a word and every word of it is known (:meth:`is_word`)."""
        words = words_in(text)
        return bool(words) and all(self.is_word(w) for w in words)

    def bonus(self, text: str, final: bool) -> float:
        """Number of known words in ``text``. Tokens of digits or punctuation count as known;
        the last word, unless ``final`` or followed by a space, counts if it can still become
        a word."""
        tokens = SEPARATORS.split(text)
        open_last = not final and bool(text) and not SEPARATORS.match(text[-1])
        n = 0.0
        for k, token in enumerate(tokens):
            if not token:
                continue
            w = core(token)
            if not any(c in LETTERS for c in w):
                n += 1.0
            elif open_last and k == len(tokens) - 1:
                n += self.is_prefix(w)
            else:
                n += self.is_word(w)
        return n


@functools.lru_cache(maxsize=1)
def default_lexicon(folder: Path) -> Lexicon:
    """The word list shipped with the app (``WORDS_FILE`` in ``folder``), loaded once."""
    return Lexicon.load(Path(folder) / WORDS_FILE)
