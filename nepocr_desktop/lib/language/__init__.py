"""What nudges the beam towards likely Nepali: the word list, the character language model
and the prior that combines them."""

from __future__ import annotations

from .charlm import CharLM, CharLMError
from .lexicon import WORDS_FILE, Lexicon, LexiconError, default_lexicon
from .prior import CHARLM_FILE, LanguagePrior, PriorWeights, default_charlm, default_prior

__all__ = [
    "CHARLM_FILE",
    "WORDS_FILE",
    "CharLM",
    "CharLMError",
    "LanguagePrior",
    "Lexicon",
    "LexiconError",
    "PriorWeights",
    "default_charlm",
    "default_lexicon",
    "default_prior",
]
