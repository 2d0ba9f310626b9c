"""Training collections: word-disjoint split, label cleaning, vocabulary, glyph words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nepocr_desktop.lib.corpus import GlyphSet, clean_label, is_validation_word, lens_words
from nepocr_desktop.lib.dataset import DatasetError, read_dataset
from nepocr_desktop.lib.sources import GlyphWords

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_typing_slips_are_mapped_and_foreign_labels_dropped():
    assert clean_label("कॆटा") == "केटा"
    assert clean_label("ऒखर") == "ओखर"
    assert clean_label("hello") is None
    assert clean_label("  नेपाल\u200d ") == "नेपाल"


def test_validation_membership_is_by_word():
    words = [f"शब्द{i}" for i in range(400)]
    share = sum(is_validation_word(w) for w in words) / len(words)
    assert 0.08 < share < 0.25
    assert all(is_validation_word(w) == is_validation_word(w) for w in words)


@pytest.mark.skipif(not (SHARED / "nepali_lens_words").exists(), reason="shared data not present")
def test_real_word_split_is_word_disjoint():
    split = lens_words(SHARED / "nepali_lens_words")
    train_words = {s.text for s in split.train}
    val_words = {s.text for s in split.val}
    assert train_words and val_words and not train_words & val_words
    assert len(split.train) + len(split.val) + split.skipped == 3289


def test_glyph_words_compose_known_aksharas():
    rng = np.random.default_rng(0)
    img = np.full((32, 32), 255, np.uint8)
    img[8:24, 6:26] = 0
    gs = GlyphSet([img, img.copy(), img.copy()], ["क", "मा", "ल"], np.array([False, False, True]))
    gw = GlyphWords(gs, ["कमा", "कल", "माक"])
    assert sorted(gw.words) == ["कमा", "माक"]  # ल is held out, so कल cannot be composed
    for _ in range(10):
        out, text = gw(rng)
        assert out.dtype == np.uint8 and out.shape[1] > 20
        assert set(text) <= set("कमा")


def test_dataset_refuses_paths_outside(tmp_path):
    (tmp_path / "labels.tsv").write_text("../secret.png\tक\n", encoding="utf-8")
    with pytest.raises(DatasetError):
        read_dataset(tmp_path)
    (tmp_path / "labels.tsv").write_text("/etc/passwd\tक\n", encoding="utf-8")
    with pytest.raises(DatasetError):
        read_dataset(tmp_path)
    outside = tmp_path.parent / "outside.png"
    outside.write_bytes(b"x")
    (tmp_path / "link.png").symlink_to(outside)
    (tmp_path / "labels.tsv").write_text("link.png\tक\n", encoding="utf-8")
    with pytest.raises(DatasetError):
        read_dataset(tmp_path)
