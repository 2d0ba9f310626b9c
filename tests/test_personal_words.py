"""The personal word list: the words of the user's corrections win close calls in beam search."""

from __future__ import annotations

import numpy as np
import pytest

from nepocr_desktop.lib.language.personal import PersonalWords, words_of
from nepocr_desktop.lib.language.prior import LanguagePrior, PriorWeights
from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
from nepocr_desktop.lib.read.ctc_decoder import beam_decode
from nepocr_desktop.lib.read.modelio import ModelInfo, load_model, save_model
from nepocr_desktop.lib.storage.store import SampleStore
from nepocr_desktop.recognizer import Recognizer


def test_words_are_the_tokens_with_letters_without_punctuation():
    assert words_of(["कुरा गर्नु।", "राम-श्याम", "१२३", "", "कुरा"]) == ["कुरा", "गर्नु", "राम", "श्याम"]


def test_bonus_counts_whole_words_and_keeps_an_open_word_alive():
    words = PersonalWords(["कुरा", "राम"])
    assert words.bonus("कुरा", True) == 1 and words.bonus("कुरा राम", True) == 2
    assert words.bonus("कु", False) == 0.5     # may still become कुरा: half of it is written
    assert words.bonus("रा", False) == pytest.approx(2 / 3) and words.bonus("राम", False) == 1  # र ा of र ा म
    assert words.bonus("कु", True) == 0        # finished: not one of the words
    assert words.bonus("करा", True) == 0 and words.bonus("कुरा ग", False) == 1
    assert words.bonus("कुरा रा", False) == pytest.approx(1 + 2 / 3)
    assert words.bonus("", False) == 0


def _logprobs(path: list[dict[str, float]]) -> np.ndarray:
    """Frames of log-probabilities: each frame gives the listed characters (or the blank, '')
    their probability and spreads the rest over the other classes."""
    n = DEFAULT_CHARSET.num_classes
    out = np.full((len(path), n), 1e-4)
    for t, probs in enumerate(path):
        for ch, p in probs.items():
            out[t, 0 if ch == "" else DEFAULT_CHARSET.shown.index(ch) + 1] = p
    out /= out.sum(1, keepdims=True)
    return np.log(out)


def test_a_corrected_word_wins_the_close_call_it_lost():
    # the network slightly prefers करा (no ु) over कुरा
    lp = _logprobs([{"क": 0.98}, {"": 0.55, "ु": 0.44}, {"र": 0.98}, {"ा": 0.98}])
    shown = DEFAULT_CHARSET.shown

    def read(prior: LanguagePrior) -> str:
        return "".join(shown[k - 1] for k in beam_decode(lp, 8, prior, charset=DEFAULT_CHARSET)[0].labels)

    plain = LanguagePrior(None, None)
    assert read(plain) == "करा"
    assert read(plain.with_user_words(["कुरा"])) == "कुरा"
    assert read(plain.with_user_words(["कमल"])) == "करा"   # other words change nothing
    off = LanguagePrior(None, None, PriorWeights(user=0.0)).with_user_words(["कुरा"])
    assert read(off) == "करा"
    assert plain.user_words is None and plain.with_user_words([]).user_words is None


def test_model_metadata_carries_the_words(tiny_model_path, tmp_path):
    loaded = load_model(tiny_model_path)
    info = ModelInfo(loaded.info.charset, loaded.info.preprocess, loaded.info.spec,
                     {"user_words": ["कुरा", 3, "राम"]})
    assert info.user_words == ("कुरा", "राम")            # what is not text is ignored
    assert ModelInfo(info.charset, info.preprocess, info.spec, {"user_words": "कुरा"}).user_words == ()
    path = tmp_path / "personal.pt"
    save_model(loaded.module, info, path)
    rec = Recognizer(path, lexicon=True)
    assert set(rec.lexicon.user_words.words) == {"कुरा", "राम"}
    rec.set_user_words(["नेपाल"])                         # the store's words join the model's
    assert set(rec.lexicon.user_words.words) == {"कुरा", "राम", "नेपाल"}
    rec.set_user_words([])
    assert set(rec.lexicon.user_words.words) == {"कुरा", "राम"}
    greedy = Recognizer(path)                             # no language prior: nothing to add to
    greedy.set_user_words(["नेपाल"])
    assert greedy.lexicon is None


def test_store_labels_are_distinct_oldest_first(tmp_path):
    img = np.full((32, 64), 255, np.uint8)
    img[10:20, 10:50] = 0
    with SampleStore(tmp_path / "s.sqlite3") as store:
        for label in ["घर", "पानी", "घर", "आमा"]:
            store.add(img, label)
        assert store.labels() == ["घर", "पानी", "आमा"]
        store.delete([s.id for s in store.list() if s.label == "पानी"])
        assert store.labels() == ["घर", "आमा"]


@pytest.mark.parametrize("final", [True, False])
def test_prior_adds_the_user_weight_per_word(final):
    base = LanguagePrior(None, None)
    assert base.with_user_words(["घर"]).bonus("घर", final) - base.bonus("घर", final) == PriorWeights().user
