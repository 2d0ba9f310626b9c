"""What beam search is nudged by: the word list and the character language model.

The score a hypothesis gets on top of the network's log-probability is

    word * (known words) + char * (log P_charlm(letters) + symbol * (other characters))
    + letter * (number of letters)

Digits and punctuation, which the character model has no letters for, each count as one
character of a uniform model over the charset (``symbol``): free, they would win every
close call against letters. The letter bonus offsets the preference for short readings. Both parts
only re-rank what the network offers; neither can add a character the image does not
support, and words outside the list are still read (open vocabulary). The weights were
chosen on ``synth_dev`` (see ``tools/make_eval_sets.py``: words people wrote, rendered in
fonts never trained on), never on the real validation words.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

from ..read.charset import DEFAULT_CHARSET
from .charlm import CharLM
from .lexicon import Lexicon, default_lexicon

CHARLM_FILE = "charlm.npz"


@dataclass(frozen=True)
class PriorWeights:
    word: float = 2.0     # per word of the list (headwords and their inflected forms)
    char: float = 0.4     # times the character model's natural-log probability
    letter: float = 0.4   # per letter the character model scores
    symbol: float = -math.log(len(DEFAULT_CHARSET.shown))  # log P of a digit or punctuation mark


class LanguagePrior:
    """A word list and a character model behind one ``bonus(text, final)`` for the decoder."""

    def __init__(self, lexicon: Lexicon | None, charlm: CharLM | None,
                 weights: PriorWeights = PriorWeights()):
        self.lexicon, self.charlm, self.weights = lexicon, charlm, weights

    def bonus(self, text: str, final: bool) -> float:
        w = self.weights
        score = 0.0
        if self.lexicon is not None and w.word:
            score += w.word * self.lexicon.bonus(text, final)
        if self.charlm is not None and w.char:
            letters = self.charlm.letter_count(text)
            symbols = len(text) - letters - text.count(" ")
            score += w.char * (self.charlm.text_logp(text, final) + w.symbol * symbols) + w.letter * letters
        return score


@functools.lru_cache(maxsize=1)
def default_charlm(folder: Path) -> CharLM:
    """The character model shipped with the app (``CHARLM_FILE`` in ``folder``), loaded once."""
    return CharLM.load(Path(folder) / CHARLM_FILE)


@functools.lru_cache(maxsize=1)
def default_prior(folder: Path) -> LanguagePrior:
    """The word list and character model shipped in ``folder``, with the shipped weights."""
    return LanguagePrior(default_lexicon(folder), default_charlm(folder))
