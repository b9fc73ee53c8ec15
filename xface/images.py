"""Turn whatever a person hands us (path, bytes, PIL image, array) into a safe RGB array.

Every failure becomes an `ImageError` with one plain sentence, so the CLI, the API and the
upload page can show it instead of a traceback.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 50_000_000
"""Larger images are refused before decoding: a "decompression bomb" could exhaust memory."""

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


class ImageError(ValueError):
    """An input that is not a usable image; the message says why in one sentence."""


def _open(source: str | Path | bytes | Image.Image) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    name = "upload" if isinstance(source, bytes) else Path(source).name
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
        handle = path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(handle)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name}: the image is too large (over {MAX_PIXELS // 1_000_000} megapixels)") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file Xface can read (JPEG, PNG, GIF, WebP, BMP, TIFF)") from None
    except OSError as error:
        raise ImageError(f"{name}: the image could not be read ({error})") from None
    return picture


def load_image(source: str | Path | bytes | Image.Image | np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array, upright as the camera saw it (EXIF rotation applied)."""
    if isinstance(source, np.ndarray):
        return _from_array(source)
    picture = _open(source)
    name = getattr(picture, "filename", "") or "image"
    name = Path(name).name if name else "image"
    width, height = picture.size
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{name}: the image is too large ({width}×{height}, over {MAX_PIXELS // 1_000_000} megapixels)"
        )
    if width < 1 or height < 1:
        raise ImageError(f"{name}: the image has no pixels")
    try:
        picture.seek(0)  # animated GIF / WebP: the first frame
        picture.load()
        picture = ImageOps.exif_transpose(picture) or picture
        return np.asarray(_to_rgb(picture))
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{name}: the image is damaged or cut short ({error})") from None


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
