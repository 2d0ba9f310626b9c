"""A line's text from its words' readings."""

from __future__ import annotations

from collections.abc import Iterable

from ..read.charset import CLOSING_MARKS


def join_words(words: Iterable[str]) -> str:
    """The readings of a line's words joined by spaces, the empty ones left out. A word that is
    only closing marks (a danda or comma the page reader found apart from its word) is written
    against the word before it, as Nepali is typed: ``["हुन्छ", "।"]`` gives ``"हुन्छ।"``."""
    out: list[str] = []
    for w in words:
        if not w:
            continue
        if out and all(c in CLOSING_MARKS for c in w):
            out[-1] += w
        else:
            out.append(w)
    return " ".join(out)
