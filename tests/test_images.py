"""Bad and unusual images through the Python API: a correct result or a one-line ImageError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.bad_inputs import corpus, exif_rotated_jpeg
from xface.images import ImageError, load_image

CORPUS = corpus()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_awkward_file_gives_pixels_or_a_clear_message(tmp_path: Path, name: str) -> None:
    data, expected = CORPUS[name]
    path = tmp_path / name
    path.write_bytes(data)
    if expected == "error":
        with pytest.raises(ImageError) as caught:
            load_image(path)
        message = str(caught.value)
        assert name in message and "\n" not in message
    else:
        pixels = load_image(path)
        assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
        assert (pixels.shape[1], pixels.shape[0]) == expected


@pytest.mark.parametrize("name", sorted(n for n, (_, e) in CORPUS.items() if e == "error"))
def test_bad_bytes_through_the_analyzer(analyzer, name: str) -> None:
    with pytest.raises(ImageError):
        analyzer.analyze(CORPUS[name][0] or b"")


def test_transparent_pixels_become_white(tmp_path: Path) -> None:
    picture = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    path = tmp_path / "clear.png"
    picture.save(path)
    assert load_image(path).min() == 255


def test_sixteen_bit_range_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 65535]], dtype=np.uint16)
    path = tmp_path / "wide.png"
    Image.fromarray(values).save(path)
    pixels = load_image(path)
    assert pixels[0, 0, 0] == 0 and pixels[0, 1, 0] == 255


def test_exif_rotated_portrait_is_read_upright(analyzer, portrait: np.ndarray, tmp_path: Path) -> None:
    """A phone photo stored sideways with an EXIF tag: the face is found only if the tag is applied."""
    sideways = Image.fromarray(portrait).transpose(Image.Transpose.ROTATE_90)
    path = tmp_path / "phone.jpg"
    path.write_bytes(exif_rotated_jpeg(sideways))
    assert load_image(path).shape == portrait.shape
    assert len(analyzer.analyze(path)) == 1


def test_arrays_in_other_shapes_and_types() -> None:
    assert load_image(np.zeros((5, 6), np.uint8)).shape == (5, 6, 3)
    assert load_image(np.ones((5, 6, 4), np.float32)).max() == 255
    with pytest.raises(ImageError):
        load_image(np.zeros((5, 6, 2), np.uint8))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.jpg")
