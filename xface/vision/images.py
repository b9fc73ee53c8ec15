"""Turn whatever a person hands us (path, bytes, PIL image, array) into a safe RGB array.

Every failure becomes an `ImageError` with one plain sentence, so the CLI, the API and the
upload page can show it instead of a traceback: Pillow's own wording ("image file is truncated
(1 bytes not processed)") is translated, never passed on.

Decoding is bounded before it starts. Only the formats Xface reads are tried (never Pillow's
EPS/PostScript plugin, which would run Ghostscript on a file that merely claims to be a photo),
the declared size is checked against a pixel budget, and a large JPEG is decoded at a reduced
scale (Pillow's draft mode: the JPEG library itself skips the detail), so a tiny file that
declares 7000×7000 costs a fraction of a second, not seconds and gigabytes.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageOps

MAX_PIXELS = 50_000_000
"""Larger images are refused before decoding: a "decompression bomb" could exhaust memory."""
MAX_SIDE = 2048
"""Photos longer than this are read at most this long, so the decoded picture, its copies and the work
on it stay small whatever the file declares (MTCNN over a whole photo took about 1 s at 2048×2048
and 4 s at 4096×4096 on one laptop core); a face that is then still 20 pixels wide is found and read."""

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
"""The Pillow plugins Xface lets open a file (a phone's multi-picture JPEG opens as JPEG)."""
READABLE = "JPEG, PNG, GIF, WebP, BMP, TIFF"
RESIZABLE_MODES = {"RGB", "RGBA", "L", "LA", "CMYK", "YCbCr"}
"""Modes shrunk as they are; others (palette, 16-bit, float) become RGB first."""

_PLAIN_WORDS = (
    ("truncated", "the picture is cut short; try another copy"),
    ("decompressed data too large", "the picture has too much hidden text to open safely"),
    ("cannot identify", f"not an image file Xface can read ({READABLE})"),
)
"""Pillow's wording → a sentence for people (the first match wins; anything else is "broken")."""


class ImageError(ValueError):
    """An input that is not a usable image; the message says why in one sentence."""


class Picture(NamedTuple):
    """Decoded pixels and how much they were shrunk (`scale`: decoded size ÷ original size, 1.0 if not)."""

    pixels: np.ndarray
    scale: float


def _plain(error: BaseException) -> str:
    """What went wrong, in words a person can act on (never the library's own message)."""
    if isinstance(error, MemoryError | Image.DecompressionBombError | Image.DecompressionBombWarning):
        return f"the image is too large (over {MAX_PIXELS // 1_000_000} megapixels)"
    if isinstance(error, PermissionError):
        return "Xface is not allowed to open this file"
    text = str(error).lower()
    for fragment, sentence in _PLAIN_WORDS:
        if fragment in text:
            return sentence
    return "the picture is broken; try a new copy"


def printable_name(path: str | Path) -> str:
    r"""A file name as text that any output can hold: bytes that are not UTF-8 become backslash-x escapes.

    A name holding the byte 0xFF (not UTF-8) is shown as ``bad\xff.jpg``: a backslash, an x and two
    hex digits, the same in JSON, CSV and messages, so a CSV file is never cut short by it.
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _name(source: str | Path | bytes | Image.Image) -> str:
    """How a message names the source: the file's name, or "upload" for bytes (callers put the real name)."""
    if isinstance(source, bytes):
        return "upload"
    if isinstance(source, Image.Image):
        return printable_name(Path(getattr(source, "filename", "") or "image").name)
    return printable_name(Path(source).name)


@contextmanager
def _open(source: str | Path | bytes | Image.Image, name: str) -> Iterator[Image.Image]:
    """The picture, not yet decoded; a file is read through our own handle, closed afterwards.

    Not by its path: Pillow then maps an uncompressed file into memory, and turning a 16-bit TIFF upright
    while loading it scrambles the mapped pixels."""
    if isinstance(source, Image.Image):
        yield source
        return
    if isinstance(source, bytes):
        if not source:
            raise ImageError(f"{name}: the file is empty")
        handle = io.BytesIO(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"{name}: no such file")
        if path.stat().st_size == 0:
            raise ImageError(f"{name}: the file is empty")
        handle = path.open("rb")
    with handle:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                picture = Image.open(handle, formats=FORMATS)
        except Image.UnidentifiedImageError:
            raise ImageError(f"{name}: not an image file Xface can read ({READABLE})") from None
        except Exception as error:  # any decoder failure (ValueError for PNG text bombs, OSError, SyntaxError, …)
            raise ImageError(f"{name}: {_plain(error)}") from None
        yield picture


def read_picture(source: str | Path | bytes | Image.Image, max_side: int = MAX_SIDE) -> Picture:
    """Pixels of a photo file, upright (EXIF rotation applied), its longer side at most `max_side`.

    A large JPEG comes out between half of `max_side` and `max_side` (its decoder reduces by powers of two);
    other formats are decoded whole, within MAX_PIXELS, and then shrunk to `max_side`.
    """
    name = _name(source)
    with _open(source, name) as picture:
        width, height = picture.size
        if width * height > MAX_PIXELS:
            raise ImageError(
                f"{name}: the image is too large ({width}×{height}, over {MAX_PIXELS // 1_000_000} megapixels)"
            )
        if width < 1 or height < 1:
            raise ImageError(f"{name}: the image has no pixels")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                picture.seek(0)  # animated GIF / WebP: the first frame
                if max(width, height) > max_side:
                    # JPEG only: the decoder itself works at 1/2, 1/4 or 1/8 scale, the smallest reduction
                    # that fits max_side, so no full-size picture (and no resize of one) is ever in memory.
                    reduction = min(8, 1 << math.ceil(math.log2(max(width, height) / max_side)))
                    picture.draft("RGB", (max(1, width // reduction), max(1, height // reduction)))
                picture.load()
                if picture.mode not in RESIZABLE_MODES:  # upright first: a 16-bit picture is remade without its EXIF
                    picture = _to_rgb(ImageOps.exif_transpose(picture) or picture)
                picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # in place: no full-size copy
                picture = _to_rgb(ImageOps.exif_transpose(picture) or picture)
        except Exception as error:  # every decoder failure, whatever Pillow raises
            raise ImageError(f"{name}: {_plain(error)}") from None
        return Picture(np.asarray(picture), max(picture.size) / max(width, height))


def load_image(source: str | Path | bytes | Image.Image | np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array, upright as the camera saw it (EXIF rotation applied).

    A photo file longer than `max_side` is read smaller (boxes found in it are in its
    coordinates; `read_picture` tells the scale). An array is taken as it is.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source)
    return read_picture(source, max_side).pixels


def _to_rgb(picture: Image.Image) -> Image.Image:
    """RGB for every mode: 16-bit grey is scaled down, transparency goes onto white."""
    if picture.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(picture, dtype=np.float64)
        high = 65535.0 if picture.mode.startswith("I;16") or values.max() > 255 else 255.0
        picture = Image.fromarray(np.clip(values / high * 255.0, 0, 255).astype(np.uint8), "L")
    elif picture.mode == "F":
        values = np.asarray(picture, dtype=np.float64)
        picture = Image.fromarray(np.clip(values * (255.0 if values.max() <= 1 else 1.0), 0, 255).astype(np.uint8), "L")
    if picture.mode == "P" and "transparency" in picture.info or picture.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        picture = picture.convert("RGBA")
        background = Image.new("RGBA", picture.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(background, picture)
    return picture.convert("RGB")


def _from_array(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4) or min(array.shape[:2]) < 1:
        raise ImageError(f"expected an RGB image array (H, W, 3), got shape {array.shape}")
    if array.shape[0] * array.shape[1] > MAX_PIXELS:
        raise ImageError(f"the image is too large (over {MAX_PIXELS // 1_000_000} megapixels)")
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and array.max(initial=0) <= 1.0:
            array = array * 255.0
        array = np.clip(array, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array[..., :3])
