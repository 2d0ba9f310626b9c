"""The shipped word list and the known-word tests used by the beam search."""

from __future__ import annotations

import gzip

import pytest

from nepocr_desktop.lib.language.lexicon import Lexicon, LexiconError, default_lexicon
from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
from nepocr_desktop.paths import lexicon_dir


def test_shipped_word_list_loads_with_its_licence():
    lex = default_lexicon(lexicon_dir())
    folder = lexicon_dir()
    assert len(lex) > 100_000
    assert (folder / "LICENSE").read_text(encoding="utf-8").startswith("Creative Commons")
    assert (folder / "words.txt.gz").stat().st_size < 5_000_000
    for w in ("घर", "पानी", "नेपाल", "किताब", "क्षत्रिय", "अन्तःकरण"):
        assert w in lex, w
    assert all(not DEFAULT_CHARSET.unknown(w) for w in lex.words[::97])


def test_inflected_forms_are_known_but_not_random_strings():
    lex = default_lexicon(lexicon_dir())
    for w in ("घरमा", "केटीहरूलाई", "नेपालको", "किताबहरूमा", "गरेको", "गर्छ", "खान्छ"):
        assert lex.is_word(w), w
    for w in ("घरमाझौ", "झ्ब्ल", "कखगघ"):
        assert not lex.is_word(w), w


def test_prefixes():
    lex = Lexicon(["घर", "गर्नु"])
    assert lex.is_prefix("घ") and lex.is_prefix("घर") and lex.is_prefix("घरहर")
    assert lex.is_prefix("गरे") and lex.is_prefix("गर्छ")
    assert not lex.is_prefix("घरक्ष") and not lex.is_prefix("झ")


def test_bonus_counts_known_words():
    lex = Lexicon(["घर", "पानी"])
    assert lex.bonus("घर पानी", final=True) == 2
    assert lex.bonus("घर पा", final=True) == 1
    assert lex.bonus("घर पा", final=False) == 2        # "पा" may still become "पानी"
    assert lex.bonus("घर। १२", final=True) == 2         # punctuation and numbers are neutral
    assert lex.bonus("झलक", final=True) == 0
    assert lex.bonus("", final=True) == 0


def test_missing_or_damaged_word_list(tmp_path):
    with pytest.raises(LexiconError, match="not found"):
        Lexicon.load(tmp_path / "nothing.txt.gz")
    bad = tmp_path / "bad.txt.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(LexiconError, match="damaged"):
        Lexicon.load(bad)
    good = tmp_path / "w.txt.gz"
    with gzip.open(good, "wt", encoding="utf-8") as f:
        f.write("घर\nपानी\n\n")
    assert Lexicon.load(good).words == ("घर", "पानी")
