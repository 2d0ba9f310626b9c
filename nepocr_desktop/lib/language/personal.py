"""The user's own words: every word of their corrections, a personal word list.

People write the same words again: their name, their village, the words of their trade. Once a
word has been corrected, a reading that spells it gets a bonus in beam search on top of the
shipped word list's, so a later copy of the word wins close calls against look-alikes the
shipped list also knows (``कुरा`` against ``करा``), and words in no list (names, Hindi words,
spellings of the user's own) become known. Like the word list, the bonus only re-ranks what the
network offers.
"""

from __future__ import annotations

from collections.abc import Iterable

from .lexicon import SEPARATORS, core, words_in

MAX_WORDS = 50_000  # more than anyone corrects; bounds what a model file carries


def words_of(labels: Iterable[str]) -> list[str]:
    """The distinct words (tokens with a letter, without surrounding punctuation, NFC) of
    ``labels``, in first-seen order."""
    seen: dict[str, None] = {}
    for label in labels:
        for w in words_in(label):
            seen.setdefault(w, None)
    return list(seen)


class PersonalWords:
    """A set of words with a bonus test for the decoder (exact words: no endings added)."""

    def __init__(self, words: Iterable[str]):
        self.words: frozenset[str] = frozenset(words_of(words)[:MAX_WORDS])
        # each start of a word: the largest share of a word it spells (1 for a whole word)
        self._covered: dict[str, float] = {}
        for w in self.words:
            for i in range(1, len(w) + 1):
                if self._covered.get(w[:i], 0.0) < i / len(w):
                    self._covered[w[:i]] = i / len(w)

    def __len__(self) -> int:
        return len(self.words)

    def bonus(self, text: str, final: bool) -> float:
        """Number of the user's words in ``text``. The last word, unless ``final`` or followed
        by a space, counts by the share of one of them it already spells (``कु`` of ``कुरा``:
        0.5): enough to keep it in the beam, too little to pull a reading towards a word it
        will not become (a whole bonus for any start did that, measured on synth_dev)."""
        tokens = [t for t in SEPARATORS.split(text) if t]
        if not tokens:
            return 0.0
        open_last = not final and not SEPARATORS.match(text[-1])
        n = 0.0
        for k, token in enumerate(tokens):
            w = core(token)
            n += self._covered.get(w, 0.0) if open_last and k == len(tokens) - 1 else float(w in self.words)
        return n
