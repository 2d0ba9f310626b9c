"""Label normalisation, CTC encoding and akshara splitting."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nepocr_desktop.lib.read.charset import (
    DEFAULT_CHARSET,
    NEPALI_CHARS,
    NUKTA,
    Charset,
    LabelError,
    normalize_text,
    split_aksharas,
)

CS = DEFAULT_CHARSET


def test_blank_is_index_zero_and_chars_follow():
    assert CS.num_classes == len(CS.chars) + 1
    assert CS.encode(CS.chars[0]) == [1]
    assert CS.encode("क") == [CS.chars.index("क") + 1]
    assert CS.decode([0, CS.chars.index("ख") + 1, 0]) == "ख"


@pytest.mark.parametrize("cp", range(0x0958, 0x0960))
def test_nukta_letters_decompose_and_encode(cp):
    letter = chr(cp)
    norm = normalize_text(letter)
    assert len(norm) == 2 and norm[1] == NUKTA
    assert norm == unicodedata.normalize("NFD", letter)
    assert CS.decode(CS.encode(letter)) == norm
    assert letter not in CS.chars


def test_nfc_composes_decomposed_input():
    assert normalize_text("\u0928\u093c") == "\u0929"  # न + nukta is the precomposed ऩ
    assert CS.encode("\u0928\u093c") == CS.encode("\u0929")


def test_invisible_characters_and_spaces():
    assert normalize_text("क्\u200dष") == "क्ष"
    assert normalize_text("\ufeffघर\u200c") == "घर"
    assert normalize_text("  घर \t\n मा  ") == "घर मा"
    assert normalize_text("") == ""


def test_candra_e_is_read_as_candrabindu():
    """Nepali has no U+0945: labels typed with it, and models that learned it, give ँ (U+0901)."""
    assert normalize_text("सिकाउॅछ") == "सिकाउँछ"
    assert CS.encode("चाहिॅ") == CS.encode("चाहिँ")
    candra_e = CS.chars.index("\u0945") + 1
    assert CS.decode([CS.chars.index("त") + 1, candra_e]) == "तँ"
    assert CS.shown[candra_e - 1] == "\u0901" and CS.chars[candra_e - 1] == "\u0945"


def test_unknown_characters_are_named():
    with pytest.raises(LabelError) as exc:
        CS.encode("घरx€x")
    msg = str(exc.value)
    assert "'x' U+0078 LATIN SMALL LETTER X" in msg and "U+20AC EURO SIGN" in msg
    assert msg.count("U+0078") == 1
    assert CS.unknown("aघb") == ["a", "b"]


def test_charset_checks_and_json_round_trip():
    with pytest.raises(ValueError):
        Charset(("क", "क"))
    with pytest.raises(ValueError):
        Charset(("कि",))
    small = Charset(tuple("कखग"))
    assert Charset.from_json(small.to_json()) == small
    assert Charset.from_json(CS.to_json()).chars == CS.chars


@pytest.mark.parametrize("text, aksharas", [
    ("क्षत्रिय", ["क्ष", "त्रि", "य"]),
    ("नमस्ते", ["न", "म", "स्ते"]),
    ("विद्यालय", ["वि", "द्या", "ल", "य"]),
    ("हरूको", ["ह", "रू", "को"]),
    ("अंग्रेजी", ["अं", "ग्रे", "जी"]),
    ("छन्", ["छ", "न्"]),
    ("घर मा", ["घ", "र", " ", "मा"]),
    ("ज़िन्दगी", ["ज़ि", "न्द", "गी"]),
    ("आँखा", ["आँ", "खा"]),
    ("स्त्री", ["स्त्री"]),
    ("उ१२।", ["उ", "१", "२", "।"]),
    ("ि", ["ि"]),
    ("", []),
])
def test_split_aksharas(text, aksharas):
    assert split_aksharas(text) == aksharas


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=NEPALI_CHARS + " \u200d", max_size=30))
def test_split_covers_the_text(text):
    parts = split_aksharas(text)
    assert "".join(parts) == text
    assert all(parts)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=NEPALI_CHARS + "\u200c\u200d\t\n", max_size=30))
def test_encode_decode_round_trip(text):
    norm = normalize_text(text)
    assert CS.decode(CS.encode(text)) == norm
    assert normalize_text(norm) == norm
    assert all(0 < i < CS.num_classes for i in CS.encode(text))


def test_well_formed_sequences():
    from nepocr_desktop.lib.read.charset import is_well_formed

    for good in ["नेपाल", "क्षत्रिय", "गाउँ", "आँप", "दुःख", "ज़मीन", "अंग्रेजी", "राम्", "१२ कि.मी."]:
        assert is_well_formed(good), good
    for bad in ["न्ेपाल", "ाम", "अा", "कि ंक", "क्ँ", "़क"]:
        assert not is_well_formed(bad), bad
