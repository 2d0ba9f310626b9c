"""One base class for failures whose messages are written for users."""

from __future__ import annotations

import pytest

from nepocr_desktop.cli import CliError
from nepocr_desktop.lib.errors import NepocrError, UsageError
from nepocr_desktop.lib.language.charlm import CharLMError
from nepocr_desktop.lib.language.lexicon import LexiconError
from nepocr_desktop.lib.read.charset import LabelError
from nepocr_desktop.lib.read.modelio import ModelError
from nepocr_desktop.lib.read.preprocess import ImageError
from nepocr_desktop.lib.storage.dataset import DatasetError
from nepocr_desktop.lib.storage.store import InvalidSampleError, SampleNotFoundError, StoreError
from nepocr_desktop.lib.training.synth import RenderError
from nepocr_desktop.recognizer import DeviceError


@pytest.mark.parametrize("cls", [CliError, CharLMError, LexiconError, LabelError, ModelError, ImageError,
                                 DatasetError, StoreError, InvalidSampleError, SampleNotFoundError,
                                 RenderError, DeviceError, UsageError])
def test_user_facing_errors_share_the_base_class(cls):
    assert issubclass(cls, NepocrError)
    exc = cls("something is wrong")
    assert str(exc) == exc.message == "something is wrong"
    assert exc.exit_code == (2 if cls is UsageError else 1)


def test_value_errors_stay_value_errors():
    for cls in (ImageError, LabelError, DatasetError, DeviceError, InvalidSampleError):
        assert issubclass(cls, ValueError)
    assert issubclass(SampleNotFoundError, LookupError) and issubclass(RenderError, RuntimeError)


def test_exit_code_can_be_given():
    assert NepocrError("x", exit_code=3).exit_code == 3
    assert NepocrError("x").exit_code == 1


def test_the_app_shows_the_message_of_any_of_them():
    pytest.importorskip("PySide6")
    from nepocr_desktop.gui.errors import plain_message

    assert plain_message(DeviceError("device 'cuda' was asked for")) == "Device 'cuda' was asked for."
    assert plain_message(LabelError("bad label")) == "Bad label."
