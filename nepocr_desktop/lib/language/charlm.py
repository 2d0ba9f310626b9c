"""A character n-gram language model of Nepali words, for nudging beam search.

Interpolated Kneser-Ney over the letters of single words (each word padded with a start
mark and closed with an end mark), stored as back-off tables: ``P(c | h)`` is the stored
probability of ``h + c`` when that n-gram was seen, else ``backoff(h) * P(c | h[1:])``.
Characters the model has no letters for (digits, punctuation, Latin) end the current word
and are not scored, so the model never stands in the way of reading them.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable

import numpy as np

from ..errors import NepocrError

START = "^"
END = "$"
FORMAT = 1
_BITS = 7           # bits per character in an n-gram key
_CACHE_LIMIT = 200_000


class CharLMError(NepocrError):
    """A language-model file that is missing or unreadable; the message is for users."""


class CharLM:
    """Back-off character n-gram model; ``logp`` and ``text_logp`` return natural logs.

    N-grams are kept as sorted integer keys (7 bits per character) with float values (float16
    when loaded from a file), so a model of a million n-grams takes about 10 MB.
    """

    def __init__(self, order: int, letters: Iterable[str], prob: dict[str, float],
                 backoff: dict[str, float]):
        self.order = int(order)
        self.letters = frozenset(letters)
        symbols = sorted(self.letters) + [START, END]
        if len(symbols) >= 1 << _BITS or self.order * _BITS > 62:
            raise ValueError("too many letters or too high an order for 64-bit n-gram keys")
        self._ids = {c: i + 1 for i, c in enumerate(symbols)}
        self._pkeys, self._pvals = self._table(prob)
        self._bkeys, self._bvals = self._table(backoff)
        self._floor = math.log(1.0 / len(symbols)) - 10.0  # a letter never seen in training
        self._words: dict[str, float] = {}  # word prefix -> summed log P of its letters

    def _key(self, g: str) -> int:
        k = 0
        for ch in g:
            k = (k << _BITS) | self._ids[ch]
        return k

    def _table(self, d: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        keys = np.fromiter((self._key(g) for g in d), np.int64, len(d))
        vals = np.fromiter(d.values(), np.float32, len(d))
        order = np.argsort(keys)
        return keys[order], vals[order]

    @staticmethod
    def _get(keys: np.ndarray, vals: np.ndarray, k: int) -> float | None:
        i = int(keys.searchsorted(k))
        return float(vals[i]) if i < len(keys) and keys[i] == k else None

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def train(cls, words: Iterable[str], order: int = 6) -> CharLM:
        """Interpolated Kneser-Ney with one discount per order (``n1 / (n1 + 2 n2)``).

        Lower orders count how many different letters precede an n-gram (continuation
        counts), except n-grams that begin at the word start, which keep their raw counts.
        """
        if order < 2:
            raise ValueError("order must be at least 2")
        counts: list[Counter[str]] = [Counter() for _ in range(order + 1)]  # by n-gram length
        letters: set[str] = set()
        for w in set(words):
            if not w or START in w or END in w:
                continue
            letters.update(w)
            s = START * (order - 1) + w + END
            for i in range(order - 1, len(s)):
                counts[order][s[i - order + 1: i + 1]] += 1
        if not letters:
            raise ValueError("no words to train on")
        for n in range(order - 1, 0, -1):
            for g, c in counts[n + 1].items():
                counts[n][g[1:]] += c if g[1] == START else 1
        vocab = sorted(letters) + [END]
        prob: dict[str, float] = {}
        backoff: dict[str, float] = {}
        for n in range(1, order + 1):
            n1 = sum(1 for c in counts[n].values() if c == 1)
            n2 = sum(1 for c in counts[n].values() if c == 2)
            d = n1 / (n1 + 2 * n2) if n1 + 2 * n2 else 0.5
            total: dict[str, int] = defaultdict(int)
            children: dict[str, list[str]] = defaultdict(list)
            for g, c in counts[n].items():
                total[g[:-1]] += c
                children[g[:-1]].append(g[-1])
            if n == 1:  # interpolate with the uniform distribution
                gamma = d * len(counts[1]) / total[""]
                for c in vocab:
                    prob[c] = math.log(max(counts[1].get(c, 0) - d, 0) / total[""] + gamma / len(vocab))
                continue
            for h, kids in children.items():
                gamma = d * len(kids) / total[h]
                seen_here = seen_lower = 0.0
                for c in kids:
                    lower = math.exp(_lookup_dict(prob, backoff, h[1:] + c))
                    p = max(counts[n][h + c] - d, 0) / total[h] + gamma * lower
                    prob[h + c] = math.log(p)
                    seen_here += p
                    seen_lower += lower
                backoff[h] = math.log(max(1.0 - seen_here, 1e-12) / max(1.0 - seen_lower, 1e-12))
        return cls(order, letters, prob, backoff)

    # -- scoring ----------------------------------------------------------------------------
    def _lookup(self, g: str) -> float:
        total = 0.0
        while True:
            v = self._get(self._pkeys, self._pvals, self._key(g))
            if v is not None:
                return total + v
            if len(g) == 1:
                return total + self._floor
            b = self._get(self._bkeys, self._bvals, self._key(g[:-1]))
            total += b or 0.0
            g = g[1:]

    def logp(self, context: str, char: str) -> float:
        """log P(char | the last letters of ``context``); ``char`` may be :data:`END`. A
        character of ``context`` that is not a letter starts a new word after it."""
        if char != END and char not in self.letters:
            return self._floor
        h = context[-(self.order - 1):]
        for i in range(len(h) - 1, -1, -1):
            if h[i] not in self.letters:
                h = h[i + 1:]
                break
        h = (START * (self.order - 1) + h)[-(self.order - 1):]
        return self._lookup(h + char)

    def word_logp(self, word: str, final: bool) -> float:
        """Summed log P of the letters of one word (letters only); ``final`` adds its end."""
        score = self._words.get(word)
        if score is None:
            score = self.word_logp(word[:-1], False) + self.logp(word[:-1], word[-1]) if word else 0.0
            if len(self._words) >= _CACHE_LIMIT:
                self._words.clear()
            self._words[word] = score
        return score + self.logp(word, END) if final and word else score

    def text_logp(self, text: str, final: bool) -> float:
        """Summed log-probability of the letters of ``text``; with ``final`` the last word is
        closed (its end scored). Non-letters split words; each word they close is scored
        with its end, and they score nothing themselves."""
        total = 0.0
        start = 0
        for i, ch in enumerate(text):
            if ch not in self.letters:
                if i > start:
                    total += self.word_logp(text[start:i], True)
                start = i + 1
        if start < len(text):
            total += self.word_logp(text[start:], final)
        return total

    def letter_count(self, text: str) -> int:
        """How many characters of ``text`` the model scores."""
        return sum(map(self.letters.__contains__, text))

    # -- files ------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the model as a compressed ``.npz`` of plain arrays (no pickles): keys as
        byte planes and log-probabilities as float16, which compress to about a third."""
        with open(path, "wb") as f:
            np.savez_compressed(
                f, format=np.array(FORMAT), order=np.array(self.order),
                letters=np.array("".join(sorted(self.letters))),
                pkeys=_planes(self._pkeys), pvals=self._pvals.astype(np.float16),
                bkeys=_planes(self._bkeys), bvals=self._bvals.astype(np.float16))

    @classmethod
    def load(cls, path: str | os.PathLike) -> CharLM:
        """Read a model written by :meth:`save`; raise :class:`CharLMError` if it cannot be."""
        name = os.fspath(path)
        try:
            with np.load(name, allow_pickle=False) as z:
                if int(z["format"]) != FORMAT:
                    raise CharLMError(f"{name} is a language model of another format")
                self = cls.__new__(cls)
                self.order = int(z["order"])
                self.letters = frozenset(str(z["letters"]))
                self._pkeys, self._pvals = _unplanes(z["pkeys"]), z["pvals"]  # float16, as stored
                self._bkeys, self._bvals = _unplanes(z["bkeys"]), z["bvals"]
        except CharLMError:
            raise
        except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as exc:
            raise CharLMError(f"the language model {name} cannot be read ({exc})") from None
        symbols = sorted(self.letters) + [START, END]
        if (len(self._pkeys) != len(self._pvals) or len(self._bkeys) != len(self._bvals)
                or len(symbols) >= 1 << _BITS or not 2 <= self.order <= 62 // _BITS):
            raise CharLMError(f"the language model {name} is damaged")
        self._ids = {c: i + 1 for i, c in enumerate(symbols)}
        self._floor = math.log(1.0 / len(symbols)) - 10.0
        self._words = {}
        return self

    def __len__(self) -> int:
        return len(self._pkeys)


def _planes(keys: np.ndarray) -> np.ndarray:
    """int64 keys as 8 rows of bytes (sorted keys share their high bytes: compresses well)."""
    return np.ascontiguousarray(keys.astype("<i8").view(np.uint8).reshape(-1, 8).T)


def _unplanes(planes: np.ndarray) -> np.ndarray:
    if planes.dtype != np.uint8 or planes.ndim != 2 or planes.shape[0] != 8:
        raise ValueError("n-gram keys of the wrong shape")
    return np.ascontiguousarray(planes.T).view("<i8").ravel().astype(np.int64)


def _lookup_dict(prob: dict[str, float], backoff: dict[str, float], g: str) -> float:
    total = 0.0
    while True:
        v = prob.get(g)
        if v is not None:
            return total + v
        total += backoff.get(g[:-1], 0.0)
        g = g[1:]
