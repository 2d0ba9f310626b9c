"""What beam search is nudged by: the word list and the character language model.

The score a hypothesis gets on top of the network's log-probability is

    word * (known words) + char * (log P_charlm(letters) + symbol * (other characters))
    + letter * (number of letters) + user * (words the user has corrected)

Digits and punctuation, which the character model has no letters for, each count as one
character of a uniform model over the charset (``symbol``): free, they would win every
close call against letters. A mark that closes a word (a danda, a comma, ...; see
:func:`closing_marks`) is far likelier than that and has its own log-probability (``mark``).
The letter bonus offsets the preference for short readings. Both parts only re-rank what the
network offers; neither can add a character the image does not support, and words outside the
list are still read (open vocabulary). The weights were chosen on ``synth_dev`` (see
``tools/make_eval_sets.py``: words people wrote, rendered in fonts never trained on), never on
the real validation words. Drawings from the Write tab are read with a larger character weight,
letter bonus and word bonus (:data:`DRAWING`, :meth:`LanguagePrior.for_drawings`).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..read.charset import CLOSING_MARKS, DEFAULT_CHARSET
from .charlm import CharLM
from .lexicon import Lexicon, default_lexicon, words_in
from .personal import PersonalWords

CHARLM_FILE = "charlm.npz"

# The weights that differ for drawings (pen and mouse writing on the canvas, drawn with the reading
# pen). First chosen over nine weightings on `synth_dev` written as pen strokes and as mouse writing
# (model card, "Drawings read with one pen"): letter 0.6, word 3. Chosen again on 2026-12-06 for the
# bundled model and the larger word list, over character x letter weights 0.3-0.7 x 0.4-2.0 on
# `synth_dev_strokes_read`: 21.78% (0.4 x 0.6) -> 20.81% (0.5 x 1.2); model card, "Decoding". Photos
# and scans keep the weights below: a heavier letter and character weighting cost the black-and-white
# scanner set 0.2-0.4 points.
DRAWING = {"char": 0.5, "letter": 1.2, "word": 3.0}
# bonus() keeps this many texts' scores (about 200 bytes each), then starts again: the beam asks for
# about a hundred a word, and the starts of words come back from word to word
MEMO_LIMIT = 50_000


@dataclass(frozen=True)
class PriorWeights:
    word: float = 2.0     # per word of the list (headwords and their inflected forms)
    char: float = 0.4     # times the character model's natural-log probability
    letter: float = 0.4   # per letter the character model scores
    symbol: float = -math.log(len(DEFAULT_CHARSET.shown))  # log P of a digit or punctuation mark
    user: float = 3.0     # per word of the user's corrections, on top of ``word`` (chosen on synth_dev)
    mark: float = -1.0    # log P of a mark closing a word (closing_marks); see the note below


# ``mark`` was chosen on `synth_punct_dev` (words of the training crops with a danda or comma, in
# held-out fonts), read by round 27's network: at the uniform symbol's -4.7 the beam dropped 81 of
# its 300 marks (CER 7.57%); -3 / -2 / -1 / 0 dropped 68 / 62 / 58 / 54 (6.96 / 6.66 / 6.46 / 6.30%).
# -1 and below change nothing on `synth_dev` (5 marks in 600 words) and on its words as pen strokes,
# which 0 read 0.03 points worse; so -1.


def closing_marks(text: str, letters: frozenset[str]) -> int:
    """How many characters of ``text`` are marks that close a word: one of :data:`CLOSING_MARKS`
    right after a letter, as in हुन्छ। or घर,"""
    return sum(1 for a, b in itertools.pairwise(text) if b in CLOSING_MARKS and a in letters)


class LanguagePrior:
    """A word list and a character model behind one ``bonus(text, final)`` for the decoder."""

    def __init__(self, lexicon: Lexicon | None, charlm: CharLM | None,
                 weights: PriorWeights = PriorWeights(), user_words: PersonalWords | None = None):
        self.lexicon, self.charlm, self.weights = lexicon, charlm, weights
        self.user_words = user_words if user_words else None
        self._memo: dict[tuple[str, bool], float] = {}  # the beginnings of words recur from word to word

    def with_user_words(self, words: Iterable[str]) -> LanguagePrior:
        """This prior with ``words`` (labels of the user's corrections) as the personal word
        list, in place of any it had; no words: none."""
        return LanguagePrior(self.lexicon, self.charlm, self.weights, PersonalWords(words))

    def for_drawings(self) -> LanguagePrior:
        """This prior as drawings from the canvas are read: :data:`DRAWING`'s weights, the
        rest (the user's words among them) as they are."""
        return LanguagePrior(self.lexicon, self.charlm, dataclasses.replace(self.weights, **DRAWING), self.user_words)

    def knows(self, text: str) -> bool:
        """Whether ``text`` has a word and every word of it is in the word list or among the
        user's words."""
        words = words_in(text)
        return bool(words) and all((self.lexicon is not None and self.lexicon.is_word(w))
                                   or (self.user_words is not None and w in self.user_words.words) for w in words)

    def forget(self) -> None:
        """Drop the scores kept by :meth:`bonus` (benchmarks measure words never seen)."""
        self._memo.clear()

    def bonus(self, text: str, final: bool) -> float:
        key = (text, final)
        score = self._memo.get(key)
        if score is None:
            if len(self._memo) >= MEMO_LIMIT:
                self._memo.clear()
            score = self._memo[key] = self._score(text, final)
        return score

    def _score(self, text: str, final: bool) -> float:
        w = self.weights
        score = 0.0
        if self.lexicon is not None and w.word:
            score += w.word * self.lexicon.bonus(text, final)
        if self.charlm is not None and w.char:
            letters = self.charlm.letter_count(text)
            marks = closing_marks(text, self.charlm.letters) if w.mark != w.symbol else 0
            symbols = len(text) - letters - text.count(" ") - marks
            score += (w.char * (self.charlm.text_logp(text, final) + w.symbol * symbols + w.mark * marks)
                      + w.letter * letters)
        if self.user_words is not None and w.user:
            score += w.user * self.user_words.bonus(text, final)
        return score


@functools.lru_cache(maxsize=1)
def default_charlm(folder: Path) -> CharLM:
    """The character model shipped with the app (``CHARLM_FILE`` in ``folder``), loaded once."""
    return CharLM.load(Path(folder) / CHARLM_FILE)


@functools.lru_cache(maxsize=1)
def default_prior(folder: Path) -> LanguagePrior:
    """The word list and character model shipped in ``folder``, with the shipped weights."""
    return LanguagePrior(default_lexicon(folder), default_charlm(folder))
