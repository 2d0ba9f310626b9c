"""Image loading and normalisation: polarity, aspect, odd sizes and formats."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageFilter

from nepocr_desktop.lib.read.preprocess import (
    MAX_PIXELS,
    ImageError,
    PreprocessConfig,
    _jpeg_size,
    _percentiles,
    batch,
    ink_bbox,
    ink_map,
    is_bilevel,
    load_gray,
    prepare,
    shows_writing,
    smooth_bilevel,
)

CFG = PreprocessConfig()


def bar(width: int, height: int, canvas=(400, 200), ink: int = 0, paper: int = 255) -> np.ndarray:
    """A solid ink rectangle centred on a plain page."""
    w, h = canvas
    a = np.full((h, w), paper, np.uint8)
    y, x = (h - height) // 2, (w - width) // 2
    a[y:y + height, x:x + width] = ink
    return a


def test_output_is_float_ink_of_fixed_height(render_word):
    out = prepare(render_word("नमस्ते"))
    assert out.dtype == np.float32 and out.shape[0] == CFG.height
    assert out.min() >= 0.0 and out.max() == pytest.approx(1.0)
    assert out[:, : CFG.pad].max() == 0 and out[:, -CFG.pad:].max() == 0  # padding is background
    assert out.mean() < 0.5  # ink is the minority


def test_polarity_light_on_dark_equals_dark_on_light(render_word):
    dark_on_light = prepare(render_word("क्षत्रिय", ink=20, paper=235))
    light_on_dark = prepare(render_word("क्षत्रिय", ink=235, paper=20))
    assert dark_on_light.shape == light_on_dark.shape
    assert np.abs(dark_on_light - light_on_dark).max() < 0.02


def test_aspect_ratio_is_kept():
    w1 = prepare(bar(100, 20)).shape[1] - 2 * CFG.pad
    w2 = prepare(bar(200, 20)).shape[1] - 2 * CFG.pad
    assert w2 / w1 == pytest.approx(2.0, rel=0.03)
    big = np.kron(bar(100, 20), np.ones((3, 3), np.uint8))  # the same page scanned 3x larger
    assert prepare(big).shape[1] - 2 * CFG.pad == pytest.approx(w1, rel=0.04)  # margin rounding


def test_word_scale_does_not_matter(render_word):
    small, large = prepare(render_word("घर", size=30)), prepare(render_word("घर", size=90))
    assert abs(small.shape[1] - large.shape[1]) <= 3


def test_black_and_white_images_are_told_from_grey_ones(render_word):
    grey = np.asarray(render_word("विद्यालय", size=48))
    scan = np.where(grey < 128, 0, 255).astype(np.uint8)
    assert is_bilevel(scan) and is_bilevel(255 - scan)  # either polarity
    assert is_bilevel(load_gray(_jpeg(Image.fromarray(scan), quality=75)))  # a JPEG of a scan rings near the two levels
    assert not is_bilevel(grey)  # anti-aliased edges
    rng = np.random.default_rng(0)
    photo = np.clip(grey * 0.6 + 60 + rng.normal(0, 12, grey.shape) + np.linspace(0, 40, grey.shape[1]), 0, 255)
    assert not is_bilevel(photo.astype(np.uint8))
    assert not is_bilevel(np.full((40, 80), 255, np.uint8))  # no ink at all
    assert not is_bilevel(np.where(scan == 0, 120, 128).astype(np.uint8))  # two levels, no contrast


def test_black_and_white_scans_are_smoothed_before_scaling(render_word):
    grey = np.asarray(render_word("विद्यालय", size=48))
    scan = np.where(grey < 128, 0, 255).astype(np.uint8)
    smoothed = smooth_bilevel(scan)
    assert smoothed.shape == scan.shape
    assert len(np.unique(smoothed)) > 20  # soft edges
    assert np.abs(smoothed.astype(int) - scan).max() < 255 and (smoothed == 0).any()  # strokes stay
    assert np.array_equal(prepare(scan), prepare(smoothed))
    assert smooth_bilevel(grey) is grey  # grey images are read as they are
    assert np.array_equal(prepare(grey), prepare(Image.fromarray(grey)))


def test_tiny_and_blank_inputs_give_empty_ink():
    for img in (np.zeros((1, 1), np.uint8), np.full((1, 1), 255, np.uint8), np.full((300, 500), 255, np.uint8),
                np.full((50, 50), 128, np.uint8)):
        out = prepare(img)
        assert out.shape == (CFG.height, CFG.min_width + 2 * CFG.pad) and out.max() == 0


def test_specks_alone_are_not_writing(render_word):
    """Dust or a stray dot on a blank sheet gives no ink to read; a word, however small in its
    image, and a dot as large as one drawn on the Write tab still do."""
    for size, dot in (((120, 400), 1), ((120, 400), 3), ((1200, 1600), 6)):
        sheet = np.full(size, 245, np.uint8)
        y, x = size[0] // 2, size[1] // 2
        sheet[y:y + dot, x:x + dot] = 10
        assert ink_bbox(ink_map(sheet)) is None and prepare(sheet).max() == 0
    word = np.asarray(render_word("नेपाल", size=20))  # a small word in a large photo
    page = np.full((1500, 2000), 245, np.uint8)
    page[700:700 + word.shape[0], 900:900 + word.shape[1]] = word
    assert prepare(page).max() > 0.5
    dot = np.full((60, 60), 255, np.uint8)
    cv2.circle(dot, (30, 30), 4, 0, -1)  # the Write tab's reading pen is 8 units wide
    assert prepare(dot).max() > 0.5
    tiny = np.full((12, 10), 255, np.uint8)
    tiny[3:9, 4:6] = 0  # a mark of 12 pixels is most of a tiny crop: ink
    assert ink_bbox(ink_map(tiny)) is not None


def test_blank_paper_under_uneven_light_is_not_writing(render_word):
    """A photo of blank paper (shading of 26 gray levels, grain, JPEG) gives no ink to read; a
    faint word (30 levels darker than the paper) on the same paper still does."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:240, 0:600]
    paper = 200 + 20 * np.sin(x / 200.0) + 10 * (y / 240.0) + rng.normal(0, 2, (240, 600))

    def photo(a: np.ndarray) -> np.ndarray:
        buf = io.BytesIO()
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=80)
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))

    blank = photo(paper)
    assert not shows_writing(blank) and prepare(blank).max() == 0
    word = np.asarray(render_word("नेपाल", size=40), np.float32) / 255.0  # 1 paper, 0 ink
    faint = paper.copy()
    h, w = word.shape
    faint[100:100 + h, 200:200 + w] -= 30 * (1 - word)
    assert shows_writing(photo(faint)) and prepare(photo(faint)).max() > 0.5


def test_thin_stroke_keeps_minimum_width():
    out = prepare(bar(1, 150))
    assert out.shape[0] == CFG.height and out.shape[1] >= CFG.min_width + 2 * CFG.pad and out.max() > 0.5


def test_very_wide_line_is_capped():
    out = prepare(bar(11_000, 20, canvas=(12_000, 60)))
    assert out.shape == (CFG.height, CFG.max_width + 2 * CFG.pad)


def test_rgba_transparent_background_equals_white(render_word):
    gray = render_word("नेपाल")
    rgba = Image.new("RGBA", gray.size, (0, 0, 0, 0))
    rgba.putalpha(Image.eval(gray, lambda v: 255 - v))  # black ink, transparent paper
    np.testing.assert_allclose(prepare(rgba), prepare(gray), atol=0.02)
    arr = np.asarray(rgba)
    np.testing.assert_allclose(prepare(arr), prepare(gray), atol=0.02)


def test_16_bit_png(render_word, tmp_path):
    gray = np.asarray(render_word("पानी"))
    path = tmp_path / "deep.png"
    Image.fromarray(gray.astype(np.uint16) * 257).save(path)
    assert Image.open(path).mode.startswith("I")
    np.testing.assert_allclose(prepare(path), prepare(gray), atol=0.02)
    np.testing.assert_allclose(prepare(gray.astype(np.uint16) * 257), prepare(gray), atol=0.02)


def test_exif_rotation_is_honoured(render_word, tmp_path):
    upright = render_word("विद्यालय").convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a phone held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    path = tmp_path / "photo.jpg"
    stored.save(path, quality=95, exif=exif)
    assert load_gray(path).shape == (upright.height, upright.width)
    assert np.abs(prepare(path) - prepare(upright)).mean() < 0.02


def test_float_and_channel_arrays(render_word):
    gray = np.asarray(render_word("घर"))
    ref = prepare(gray)
    np.testing.assert_allclose(prepare(gray.astype(np.float32) / 255.0), ref, atol=0.02)
    np.testing.assert_allclose(prepare(np.stack([gray] * 3, axis=2)), ref, atol=0.02)
    np.testing.assert_allclose(prepare(gray[:, :, None]), ref, atol=0.02)
    with pytest.raises(ImageError):
        prepare(np.zeros((4, 4, 7)))
    with pytest.raises(ImageError):
        prepare(np.zeros((0, 5)))


def test_bad_files_raise_image_error(tmp_path, word_image):
    cases = {"missing.png": None, "empty.png": b"", "text.png": b"hello",
             "cut.png": word_image.read_bytes()[:100]}
    for name, data in cases.items():
        p = tmp_path / name
        if data is not None:
            p.write_bytes(data)
        with pytest.raises(ImageError) as exc:
            load_gray(p)
        assert name in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(ImageError, match="folder"):
        load_gray(tmp_path)
    with pytest.raises(ImageError):
        load_gray(b"\x89PNG\r\n\x1a\nrubbish")


def test_huge_image_is_refused_before_decoding(tmp_path):
    side = int(MAX_PIXELS ** 0.5) + 100
    img = Image.new("1", (side, side), 1)
    path = tmp_path / "scan.png"
    img.save(path)
    with pytest.raises(ImageError, match="too large"):
        load_gray(path)
    buf = io.BytesIO()
    Image.new("1", (side * 2, side), 1).save(buf, format="PNG")
    with pytest.raises(ImageError, match="too large"):
        load_gray(buf.getvalue())


def test_ink_map_contrast():
    ink = ink_map(bar(50, 20, ink=100, paper=180))
    assert ink.max() == pytest.approx(1.0) and ink.min() == 0.0


def test_batch_pads_right_to_a_multiple_of_four():
    a, b = np.ones((48, 10), np.float32), np.ones((48, 21), np.float32)
    x, widths = batch([a, b])
    assert x.shape == (2, 1, 48, 24) and widths.tolist() == [10, 21]
    assert x[0, 0, :, 10:].max() == 0 and x[1, 0, :, :21].min() == 1


@settings(max_examples=80, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40))),
       st.lists(st.floats(0, 100), min_size=1, max_size=5))
def test_histogram_percentiles_match_numpy(gray, qs):
    ours = _percentiles(gray, tuple(qs))
    assert ours == pytest.approx(list(np.percentile(gray.astype(np.float64), qs)), abs=1e-9)


def test_ink_map_of_uint8_and_of_the_same_image_as_float_agree():
    rng = np.random.default_rng(3)
    page = rng.integers(180, 256, (40, 90)).astype(np.uint8)
    page[15:25, 10:80] = rng.integers(0, 60, (10, 70))
    for img in (page, 255 - page):
        fast = ink_map(img)
        slow = ink_map(img.astype(np.int16))  # not uint8: the numpy percentiles
        assert np.allclose(fast, slow, atol=1e-6)
        assert fast[20, 40] > 0.8 and fast[2, 2] < 0.3


def _jpeg(img: Image.Image, **save) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", **save)
    return buf.getvalue()


def _pillow_gray(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        from PIL import ImageOps
        im = ImageOps.exif_transpose(im)
        im.draft("L", im.size)
        return np.asarray(im.convert("L"))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 300), st.integers(1, 120), st.booleans(), st.sampled_from(["RGB", "L", "CMYK"]),
       st.integers(0, 2**32 - 1))
def test_jpeg_header_size_and_pixels_match_pillow(w, h, progressive, mode, seed):
    rng = np.random.default_rng(seed)
    noise = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    img = noise.filter(ImageFilter.GaussianBlur(1.5)).convert(mode)  # smooth, like a photo
    data = _jpeg(img, progressive=progressive, quality=90)
    assert _jpeg_size(data) == (w, h)
    gray = load_gray(data)
    assert gray.shape == (h, w)
    if mode == "L":  # libjpeg's luma, as Pillow decodes it
        assert np.array_equal(gray, _pillow_gray(data))
    elif mode == "RGB":  # the same luma, where coloured "ink" is not darkened further
        luma = _pillow_gray(data)
        assert (gray <= luma).all()


def test_jpeg_rotation_trailing_bytes_and_truncation(word_image):
    img = Image.open(word_image).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways, shown upright
    tagged = _jpeg(img, exif=exif.tobytes())
    upright = load_gray(tagged)
    assert upright.shape == (img.width, img.height)
    assert np.array_equal(upright, _pillow_gray(tagged))
    # bytes after the end-of-image marker (some cameras add them): Pillow reads it, the same
    assert _jpeg_size(tagged + b"camera trailer") is None
    assert np.array_equal(load_gray(tagged + b"camera trailer"), upright)
    # cut short: a clear error, not a half-grey image
    with pytest.raises(ImageError, match="damaged or truncated|not an image"):
        load_gray(tagged[: len(tagged) * 2 // 3])


def test_jpeg_claiming_a_huge_frame_is_refused_before_decoding():
    data = bytearray(_jpeg(Image.new("L", (16, 16), 255)))
    sof = next(i for i in range(2, len(data) - 1) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC2))
    data[sof + 5:sof + 9] = (30000).to_bytes(2, "big") * 2  # height, width
    with pytest.raises(ImageError, match="too large"):
        load_gray(bytes(data))


def test_pillow_bookkeeping_and_raw_bytes_stay_out_of_messages(tmp_path):
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (300, 400), dtype=np.uint8)).save(buf, format="PNG")
    data = buf.getvalue()[: len(buf.getvalue()) // 3]  # Pillow: "... (N bytes not processed)"
    path = tmp_path / "cut.png"
    path.write_bytes(data)
    for src in (path, data):
        message = str(pytest.raises(ImageError, load_gray, src).value)
        assert "truncated" in message and "not processed" not in message and "\\x" not in message
    assert str(pytest.raises(ImageError, load_gray, path).value).startswith(str(path))


def test_a_possible_decompression_bomb_is_refused_without_a_warning(tmp_path):
    import warnings

    side = int(MAX_PIXELS ** 0.5) + 100  # over the limit, under twice it: Pillow only warns
    path = tmp_path / "scan.png"
    Image.new("1", (side, side), 1).save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        message = str(pytest.raises(ImageError, load_gray, path).value)
    assert caught == [] and "too large" in message and message.startswith(str(path))
