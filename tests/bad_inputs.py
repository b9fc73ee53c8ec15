"""A corpus of awkward and broken images, generated on the spot (nothing is downloaded).

Each entry: file name → (bytes, expected), where expected is "error" or the (width, height)
that `load_image` must return.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def declared_bomb_png(side: int = 30000) -> bytes:
    """A tiny file whose header declares side×side pixels: decoding it would need gigabytes."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def text_bomb_png(kind: bytes = b"zTXt", unpacked: int = 100_000_000) -> bytes:
    """A small PNG with a compressed text chunk (zTXt or iTXt) that unpacks to `unpacked` bytes."""
    packed = zlib.compress(b"A" * unpacked, 9)
    data = b"Comment\x00\x00" + packed if kind == b"zTXt" else b"Comment\x00\x01\x00\x00\x00" + packed
    plain = _save(Image.new("RGB", (8, 8), (30, 60, 90)), "PNG")
    after_header = 8 + 25  # the signature, then the IHDR chunk
    return plain[:after_header] + _png_chunk(kind, data) + plain[after_header:]


def tiny_huge_jpeg(side: int = 7000) -> bytes:
    """A JPEG of about 630 bytes whose header declares side×side pixels (a real 16×16 JPEG, header patched)."""
    data = bytearray(_save(Image.new("RGB", (16, 16), (120, 80, 60)), "JPEG", quality=50))
    start = data.find(b"\xff\xc0")  # SOF0: length (2), precision (1), height (2), width (2)
    data[start + 5 : start + 9] = struct.pack(">HH", side, side)
    return bytes(data)


def postscript() -> bytes:
    """An EPS file: Pillow's EPS plugin would hand it to Ghostscript to draw."""
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto 10 10 lineto stroke\nshowpage\n%%EOF\n"
    )


def _save(picture: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **options)
    return buffer.getvalue()


def _gradient(width: int = 64, height: int = 48) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    return Image.fromarray(np.stack([x, x[::-1], np.full_like(x, 128)], -1))


def _orientation(value: int) -> bytes:
    """An EXIF block holding only the orientation tag (6: shown turned 90° clockwise)."""
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def exif_rotated_jpeg(picture: Image.Image) -> bytes:
    """Stored on its side with EXIF orientation 6: shown upright it is `picture` turned 90° clockwise."""
    return _save(picture, "JPEG", exif=_orientation(6), quality=95)


def corpus() -> dict[str, tuple[bytes, object]]:
    good_jpeg = _save(_gradient(), "JPEG")
    good_png = _save(_gradient(), "PNG")
    corrupt_png = bytearray(good_png)
    corrupt_png[60:90] = b"\xff" * 30
    sixteen_bit = Image.fromarray(np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) * 20)
    palette = _gradient().convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.info["transparency"] = 0
    frames = [_gradient(), _gradient().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    animated = io.BytesIO()
    frames[0].save(animated, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return {
        "empty.jpg": (b"", "error"),
        "truncated.jpg": (good_jpeg[: len(good_jpeg) // 2], "error"),
        "corrupt.png": (bytes(corrupt_png), "error"),
        "text.jpg": (b"this is not a picture, just words\n" * 20, "error"),
        "bomb.png": (declared_bomb_png(), "error"),
        "text_bomb_ztxt.png": (text_bomb_png(b"zTXt"), "error"),
        "text_bomb_itxt.png": (text_bomb_png(b"iTXt"), "error"),
        "postscript.jpg": (postscript(), "error"),
        "tiny_huge.jpg": (tiny_huge_jpeg(), (1750, 1750)),  # decoded at 1/4 scale
        "cmyk.jpg": (_save(_gradient().convert("CMYK"), "JPEG"), (64, 48)),
        "sixteen_bit.png": (_save(sixteen_bit, "PNG"), (64, 48)),
        "palette_transparent.png": (_save(palette, "PNG", transparency=0), (64, 48)),
        "rgba.png": (_save(_gradient().convert("RGBA"), "PNG"), (64, 48)),
        "grey.png": (_save(_gradient().convert("L"), "PNG"), (64, 48)),
        "animated.gif": (animated.getvalue(), (64, 48)),
        "one_pixel.png": (_save(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"), (1, 1)),
        "exif_rotated.jpg": (exif_rotated_jpeg(_gradient()), (48, 64)),
        # 16-bit pictures are turned to 8 bits through a new image: the orientation must be applied first.
        "sixteen_bit_exif_rotated.png": (_save(sixteen_bit, "PNG", exif=_orientation(6)), (48, 64)),
        # A TIFF keeps its orientation among its own tags; Pillow may turn it while loading it.
        "rotated.tiff": (_save(_gradient(), "TIFF", tiffinfo={274: 6}), (48, 64)),
        "sixteen_bit_rotated.tiff": (_save(sixteen_bit, "TIFF", tiffinfo={274: 6}), (48, 64)),
    }
