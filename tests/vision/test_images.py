"""Bad and unusual images through the Python API: a correct result or a one-line ImageError."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import textstat
from PIL import Image

from tests.bad_inputs import corpus, exif_rotated_jpeg, postscript, text_bomb_png, tiny_huge_jpeg
from tests.conftest import ROOT
from xface.vision.images import MAX_SIDE, ImageError, load_image, read_picture

CORPUS = corpus()
LIBRARY_WORDING = ("truncated", "bytes not processed", "cannot identify", "decompressed", "plugin", "errno", "error")


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
        sentence = message.removeprefix(f"{name}: ").split(" (JPEG")[0]  # the list of formats may keep its brackets
        assert not any(words in sentence.lower() for words in LIBRARY_WORDING), message
    else:
        pixels = load_image(path)
        assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
        assert (pixels.shape[1], pixels.shape[0]) == expected
        assert np.array_equal(load_image(data), pixels)  # the same, read from the bytes (an upload)


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


@pytest.mark.parametrize("kind", [b"zTXt", b"iTXt"])
def test_a_png_text_chunk_that_unpacks_to_100_mb_is_a_plain_image_error(kind: bytes) -> None:
    """Pillow raises a bare ValueError ("Decompressed data too large") for these; Xface says why in words."""
    data = text_bomb_png(kind)
    assert len(data) < 200_000
    with pytest.raises(ImageError, match="too much hidden text") as caught:
        load_image(data)
    assert "Decompressed" not in str(caught.value)


def test_a_cut_short_jpeg_is_described_for_people(tmp_path: Path) -> None:
    """Pillow's "image file is truncated (N bytes not processed)" becomes an everyday sentence."""
    whole = CORPUS["cmyk.jpg"][0]
    path = tmp_path / "holiday.jpg"
    path.write_bytes(whole[:-40])
    with pytest.raises(ImageError) as caught:
        load_image(path)
    assert str(caught.value) == "holiday.jpg: the picture is cut short; try another copy"


def test_a_tiny_jpeg_declaring_7000_pixels_a_side_is_decoded_small() -> None:
    """Draft mode lets the JPEG library decode at 1/4 scale, the smallest reduction that fits MAX_SIDE."""
    data = tiny_huge_jpeg(7000)
    assert len(data) < 1000
    picture = read_picture(data)
    assert picture.pixels.shape == (1750, 1750, 3) and 1750 <= MAX_SIDE
    assert picture.scale == 0.25


def test_decoding_the_7000_pixel_jpeg_stays_small_in_memory(tmp_path: Path) -> None:
    """Peak memory of a fresh process, before and after: a full decode alone would add 147 MB (7000×7000×3),
    a decode at half scale and a resize about 90 MB; at quarter scale it is about 35 MB."""
    path = tmp_path / "huge.jpg"
    path.write_bytes(tiny_huge_jpeg(7000))
    script = (
        "import resource, sys\n"
        "from xface.vision.images import load_image\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "pixels = load_image(sys.argv[1])\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(pixels.shape[0], (after - before) // 1024)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    side, grown_mb = map(int, result.stdout.split())
    assert side == 1750
    assert grown_mb < 70, f"decoding grew memory by {grown_mb} MB"


def _open_with_a_watched_ghostscript(tmp_path: Path, code: str) -> bool:
    """Run `code` in a fresh Python whose PATH holds a fake `gs` that leaves a mark; True if it ran."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    marker = tmp_path / "ghostscript-ran"
    fake = bin_dir / "gs"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    fake.chmod(0o755)
    photo = tmp_path / "holiday.jpg"
    photo.write_bytes(postscript())
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([sys.executable, "-c", code, str(photo)], env=env, cwd=ROOT, capture_output=True, text=True)
    return marker.exists()


def test_postscript_named_jpg_is_refused_without_running_ghostscript(tmp_path: Path) -> None:
    refused = (
        "import sys\nfrom xface.vision.images import ImageError, load_image\n"
        "try:\n    load_image(sys.argv[1])\nexcept ImageError as error:\n    print(error)\n"
    )
    assert not _open_with_a_watched_ghostscript(tmp_path, refused)
    with pytest.raises(ImageError, match="not an image file Xface can read"):
        load_image(postscript())


def test_the_watched_ghostscript_does_run_when_pillow_opens_any_format(tmp_path: Path) -> None:
    """The check above can fail: Pillow left to try every format hands the same file to Ghostscript."""
    unrestricted = (
        "import sys\nfrom PIL import Image\ntry:\n    Image.open(sys.argv[1]).load()\nexcept Exception:\n    pass\n"
    )
    assert _open_with_a_watched_ghostscript(tmp_path, unrestricted)


def test_image_messages_read_easily() -> None:
    """Every sentence a person may see about a bad picture scores >= 70 on Flesch reading ease."""
    sentences = set()
    for data, expected in CORPUS.values():
        if expected == "error":
            with pytest.raises(ImageError) as caught:
                load_image(data)
            sentences.add(str(caught.value).removeprefix("upload: ").split(" (")[0])
    assert len(sentences) >= 5
    for sentence in sentences:
        assert textstat.flesch_reading_ease(sentence) >= 70, sentence


def test_a_large_sideways_phone_photo_is_read_small_and_upright() -> None:
    """Shrinking happens before the EXIF turn: the turn must still be applied to the small picture."""
    wide = Image.fromarray(np.tile(np.linspace(0, 255, 3000, dtype=np.uint8), (2000, 1)))
    picture = read_picture(exif_rotated_jpeg(wide.convert("RGB")))
    assert picture.pixels.shape == (1500, 1000, 3) and picture.scale == 0.5
    assert picture.pixels[0, 500, 0] < 40 < 215 < picture.pixels[-1, 500, 0]  # turned clockwise: dark at the top
