"""The character language model, the decoding prior built on it, and the shipped model file."""

from __future__ import annotations

import gzip
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nepocr_desktop.lib.language.charlm import END, CharLM, CharLMError
from nepocr_desktop.lib.language.lexicon import Lexicon
from nepocr_desktop.lib.language.prior import (
    CHARLM_FILE,
    LanguagePrior,
    PriorWeights,
    closing_marks,
    default_charlm,
    default_prior,
)
from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET as CS
from nepocr_desktop.lib.read.ctc_decoder import beam_decode, greedy_decode
from nepocr_desktop.paths import lexicon_dir
from nepocr_desktop.recognizer import Recognizer

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["घर", "घरमा", "घरको", "पानी", "पानीमा", "नेपाल", "नेपालको", "नेपाली", "किताब", "किताबमा",
         "गर्नु", "गरेको", "गर्छ", "माया", "मान्छे", "कमल", "कलम"]
SMALL = CharLM.train(WORDS, order=4)
LETTERS = sorted(SMALL.letters)


def _total(lm: CharLM, context: str) -> float:
    return sum(math.exp(lm.logp(context, c)) for c in sorted(lm.letters) + [END])


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=LETTERS, max_size=7))
def test_probabilities_after_any_context_sum_to_one(context):
    assert _total(SMALL, context) == pytest.approx(1.0, abs=1e-6)


def test_shipped_model_is_normalised_and_prefers_real_spellings():
    lm = default_charlm(lexicon_dir())
    assert lm.order == 6 and len(lm) > 500_000
    for context in ("", "क", "नेपा", "सिकाउ", "ज्ञ", "झ्ब्ल"):
        assert _total(lm, context) == pytest.approx(1.0, abs=1e-3)  # float16 storage
    for good, bad in (("नेपाल", "नेपला"), ("निरर्थक", "निर्रर्थक"), ("सिकाउँछ", "सिकाउछ"),
                      ("विज्ञान", "बिज्ञाान"), ("मानिसको", "मानीिसको")):
        assert lm.text_logp(good, True) > lm.text_logp(bad, True) + 1.0, (good, bad)


def test_words_are_scored_apart_and_non_letters_are_not_scored():
    lm = SMALL
    assert lm.text_logp("", True) == 0.0
    assert lm.text_logp("घर पानी", True) == pytest.approx(lm.word_logp("घर", True) + lm.word_logp("पानी", True))
    assert lm.text_logp("घर १२, पानी", True) == pytest.approx(lm.text_logp("घर पानी", True))
    assert lm.text_logp("१२३", True) == 0.0 and lm.letter_count("घर १२") == 2
    # an unfinished word is not closed: its end is scored only when final
    assert lm.text_logp("घ", False) == pytest.approx(lm.logp("", "घ"))
    assert lm.text_logp("घ", True) == pytest.approx(lm.logp("", "घ") + lm.logp("घ", END))
    # seen words beat their scrambles, and a letter never seen is very unlikely
    assert lm.text_logp("कमल", True) > lm.text_logp("कलमल", True)
    assert lm.logp("", "ङ") < lm.logp("", "क") - 5
    # a context with digits or spaces: the word starts after them
    assert lm.logp("१२ क", "म") == pytest.approx(lm.logp("क", "म"))
    assert lm.logp("घर ", "प") == pytest.approx(lm.logp("", "प"))


def test_train_rejects_what_it_cannot_use():
    with pytest.raises(ValueError):
        CharLM.train(WORDS, order=1)
    with pytest.raises(ValueError):
        CharLM.train(["", "^$"])


def test_save_and_load_round_trip(tmp_path):
    path = tmp_path / "lm.npz"
    SMALL.save(path)
    back = CharLM.load(path)
    assert back.order == SMALL.order and back.letters == SMALL.letters and len(back) == len(SMALL)
    for text in ("घरमा", "नेपाली किताब", "झ्ब्ल", "क"):
        assert back.text_logp(text, True) == pytest.approx(SMALL.text_logp(text, True), abs=0.02)


def test_missing_damaged_or_foreign_files_give_clear_errors(tmp_path):
    with pytest.raises(CharLMError, match="cannot be read"):
        CharLM.load(tmp_path / "nothing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(CharLMError, match="cannot be read"):
        CharLM.load(bad)
    good = tmp_path / "good.npz"
    SMALL.save(good)
    with np.load(good) as z:
        arrays = dict(z)
    half = dict(arrays, pvals=arrays["pvals"][:10])
    with open(tmp_path / "half.npz", "wb") as f:
        np.savez(f, **half)
    with pytest.raises(CharLMError, match="damaged"):
        CharLM.load(tmp_path / "half.npz")
    with open(tmp_path / "other.npz", "wb") as f:
        np.savez(f, **dict(arrays, format=np.array(99)))
    with pytest.raises(CharLMError, match="another format"):
        CharLM.load(tmp_path / "other.npz")
    with open(tmp_path / "pickled.npz", "wb") as f:
        np.savez(f, **dict(arrays, letters=np.array([{"x": 1}], dtype=object)))
    with pytest.raises(CharLMError):
        CharLM.load(tmp_path / "pickled.npz")  # object arrays would need unpickling: refused


def frames(plan: list[dict[str, float]]) -> np.ndarray:
    """A (T, C) log-posterior matrix: each dict gives label probabilities, the rest is blank."""
    lp = np.full((len(plan), CS.num_classes), 1e-6)
    for t, probs in enumerate(plan):
        for ch, p in probs.items():
            lp[t, CS.encode(ch)[0]] = p
        lp[t, 0] = max(1e-6, 1.0 - sum(probs.values()))
    lp /= lp.sum(axis=1, keepdims=True)
    return np.log(lp)


def text_of(labels: list[int]) -> str:
    return "".join(CS.shown[k - 1] for k in labels)


def test_character_model_tips_an_ambiguous_reading_toward_a_likely_spelling():
    prior = LanguagePrior(None, SMALL)
    # "कलम" vs "कलन": the image leans to न, the model knows कलम
    lp = frames([{"क": 0.95}, {}, {"ल": 0.95}, {}, {"न": 0.5, "म": 0.45}])
    assert text_of(greedy_decode(lp).labels) == "कलन"
    assert text_of(beam_decode(lp, beam=8, lexicon=prior)[0].labels) == "कलम"


def test_prior_keeps_clear_evidence_and_unknown_words():
    prior = LanguagePrior(Lexicon(WORDS), SMALL)
    lp = frames([{"क": 0.95}, {}, {"ल": 0.95}, {}, {"न": 0.99, "म": 0.002}])
    assert text_of(beam_decode(lp, beam=8, lexicon=prior)[0].labels) == "कलन"
    plan = [{"झ": 0.95}, {}, {"ट": 0.95}, {}, {"प": 0.95}]  # a string no word list knows
    assert text_of(beam_decode(frames(plan), beam=8, lexicon=prior)[0].labels) == "झटप"


def test_prior_combines_its_parts_with_its_weights():
    lex = Lexicon(WORDS)
    w = PriorWeights(word=2.0, char=0.5, letter=0.25)
    prior = LanguagePrior(lex, SMALL, w)
    text = "घरमा पानी"
    expected = 2.0 * 2 + 0.5 * SMALL.text_logp(text, True) + 0.25 * 8  # two known words, eight letters
    assert prior.bonus(text, True) == pytest.approx(expected)
    # digits and punctuation cost a uniform character each (they are not free: see test below)
    assert prior.bonus("घर १२।", True) == pytest.approx(
        2.0 * 2 + 0.5 * (SMALL.text_logp("घर", True) + 3 * w.symbol) + 0.25 * 2)
    assert w.symbol == pytest.approx(-math.log(CS.num_classes - 1))
    assert LanguagePrior(None, None).bonus(text, True) == 0.0
    assert LanguagePrior(lex, None).bonus(text, True) == pytest.approx(2.0 * lex.bonus(text, True))


def test_digits_are_not_free_under_the_prior():
    prior = default_prior(lexicon_dir())
    w = prior.weights
    assert prior.bonus("६", True) == pytest.approx(w.word * 1 + w.char * w.symbol)
    assert prior.bonus("२०८१", True) < prior.bonus("२०", True) < prior.bonus("६", True)
    # a clear single letter or digit is read as it is
    assert text_of(beam_decode(frames([{"छ": 0.97, "६": 0.02}]), beam=8, lexicon=prior)[0].labels) == "छ"
    assert text_of(beam_decode(frames([{"छ": 0.3, "६": 0.65}]), beam=8, lexicon=prior)[0].labels) == "६"


def test_a_mark_closing_a_word_costs_its_own_log_probability():
    """A danda or comma right after a letter costs ``mark``; after a digit, or where no word
    ends, a mark is any other symbol."""
    lex = Lexicon(WORDS)
    w = PriorWeights(word=2.0, char=0.5, letter=0.25, mark=-1.0)
    prior = LanguagePrior(lex, SMALL, w)
    assert closing_marks("घर।", SMALL.letters) == 1 and closing_marks("घर, पानी।", SMALL.letters) == 2
    assert closing_marks("१२।", SMALL.letters) == 0 and closing_marks("।घर", SMALL.letters) == 0
    assert prior.bonus("घर।", True) - prior.bonus("घर", True) == pytest.approx(0.5 * -1.0)
    assert prior.bonus("१२।", True) - prior.bonus("१२", True) == pytest.approx(0.5 * w.symbol)


def test_a_danda_the_network_reads_survives_the_shipped_prior():
    """हुन्छ। where the network gives the danda's frame 60% (and 40% to nothing): the word list
    and the character model know हुन्छ, and must not drop a sentence's danda for it."""
    prior = default_prior(lexicon_dir())
    plan = [{"ह": 0.95}, {"ु": 0.9}, {"न": 0.95}, {"्": 0.9}, {"छ": 0.95}, {}, {"।": 0.6}]
    assert text_of(beam_decode(frames(plan), beam=8, lexicon=prior)[0].labels) == "हुन्छ।"
    clear = [{"ह": 0.95}, {"ु": 0.9}, {"न": 0.95}, {"्": 0.9}, {"छ": 0.95}, {}, {"।": 0.1}]
    assert text_of(beam_decode(frames(clear), beam=8, lexicon=prior)[0].labels) == "हुन्छ"


def test_recognizer_with_lexicon_uses_the_shipped_prior(tiny_model_path):
    rec = Recognizer(tiny_model_path, device="cpu", lexicon=True)
    assert rec.lexicon is default_prior(lexicon_dir())
    assert rec.lexicon.charlm is not None and rec.lexicon.lexicon is not None


def test_shipped_model_file_and_its_licences():
    folder = lexicon_dir()
    assert (lexicon_dir() / CHARLM_FILE).stat().st_size < 5_000_000
    assert "Apache License" in (folder / "LICENSE-Apache-2.0").read_text(encoding="utf-8")
    assert "charlm.npz" in (folder / "SOURCE.md").read_text(encoding="utf-8")


TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata/nep.traineddata")
HINDI = TESSDATA.with_name("hin.traineddata")
WORDLIST = ROOT.parent / "shared" / "data" / "nepali_wordlist_bisug"


@pytest.mark.skipif(not (TESSDATA.exists() and HINDI.exists() and WORDLIST.exists() and shutil.which("dawg2wordlist")),
                    reason="needs ../shared/data and Tesseract's nep and hin models and tools")
def test_build_lexicon_reproduces_the_shipped_files(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_lexicon.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for name in ("words.txt.gz", "SOURCE.md", "LICENSE", "LICENSE-Apache-2.0"):
        assert (tmp_path / name).read_bytes() == (lexicon_dir() / name).read_bytes(), name
    with np.load(tmp_path / "charlm.npz") as built, np.load(lexicon_dir() / CHARLM_FILE) as shipped:
        assert sorted(built.files) == sorted(shipped.files)
        for key in built.files:
            assert np.array_equal(built[key], shipped[key]), key


def test_the_priors_kept_scores_are_its_scores_and_stay_bounded(monkeypatch):
    from nepocr_desktop.lib.language import prior as prior_module
    from nepocr_desktop.lib.language.prior import LanguagePrior, default_prior
    from nepocr_desktop.paths import lexicon_dir

    shipped = default_prior(lexicon_dir())
    prior = LanguagePrior(shipped.lexicon, shipped.charlm, shipped.weights)
    texts = ["न", "नम", "नमस्", "नमस्ते", "नमस्ते ", "नमस्ते सं", "घर।", "१२", ""]
    fresh = [prior._score(t, f) for t in texts for f in (False, True)]
    assert [prior.bonus(t, f) for t in texts for f in (False, True)] == fresh  # first asked
    assert [prior.bonus(t, f) for t in texts for f in (False, True)] == fresh  # then kept
    assert fresh[texts.index("नमस्ते") * 2 + 1] > fresh[texts.index("नमस्") * 2 + 1]  # a word beats its start
    monkeypatch.setattr(prior_module, "MEMO_LIMIT", 5)
    small = LanguagePrior(shipped.lexicon, shipped.charlm, shipped.weights)
    assert [small.bonus(t, True) for t in texts] == fresh[1::2]
    assert len(small._memo) <= 5
    small.forget()
    assert small._memo == {} and small.bonus("नमस्ते", True) == fresh[texts.index("नमस्ते") * 2 + 1]


def test_word_forms_that_are_a_danda_read_as_aa_are_dropped():
    sys.path.insert(0, str(ROOT / "tools"))
    from build_lexicon import danda_read_as_aa

    heads = {"हुनु", "कान्छा", "भान्छा"}
    forms = {"हुन्छ", "हुन्छा", "पर्छ", "पर्छा", "इच्छा", "कान्छा", "गर्छा"}
    assert danda_read_as_aa(forms, heads) == {"हुन्छा", "पर्छा"}  # गर्छा: no गर्छ to come from
    with gzip.open(lexicon_dir() / "words.txt.gz", "rt", encoding="utf-8") as f:
        words = f.read().split()
    assert "हुन्छ" in words and "हुन्छा" not in words and "कान्छा" in words
