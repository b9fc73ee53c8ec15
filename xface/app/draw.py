"""Pictures for people: face boxes with labels on video frames, and "where the model looked" heat maps.

How sure the model is must be readable without colour (colour-blind users, bad screens), so each
band has its own box *shape* as well as its own words: a solid thick box for a clear reading,
long dashes for a likely one, short dashes for an unsure one, and the label ends in "?" unless it
is clear. Labels sit on a dark plate so they stay readable on any background.

Pure numpy + Pillow (no streamlit, no torch): it runs on every video frame, so it has to take a
couple of milliseconds at 640x480, and it has to be testable on its own.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import cache, lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from xface.teach.explain import Band, Explanation, describe, named_cues
from xface.vision.cues import CUE_MEASURED_FROM
from xface.vision.pipeline import FaceReading

__all__ = [
    "BAND_DASHES",
    "draw_readings",
    "face_label",
    "heatmap_overlay",
    "marked_points",
    "mesh_overlay",
    "overlay_points",
    "reading_explanation",
]

BAND_DASHES: dict[str, tuple[int, int] | None] = {"clear": None, "likely": (18, 8), "unsure": (6, 6)}
"""Box outline per band as (dash, gap) in pixels; None is a solid line."""
BAND_WIDTH: dict[str, int] = {"clear": 4, "likely": 3, "unsure": 3}
BOX_COLOUR = (255, 214, 10)  # amber: visible on skin, walls and dark rooms alike
EDGE_COLOUR = (0, 0, 0)  # a thin dark edge around the box so it also shows on bright backgrounds
PLATE_COLOUR = (17, 17, 17)
TEXT_COLOUR = (255, 255, 255)

# Perceptually uniform, colour-blind-safe ramp (matplotlib's "inferno" at five stops): brighter means more.
_RAMP_STOPS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
_RAMP_RGB = np.array(
    [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]],
    dtype=np.float32,
)


def reading_explanation(reading: FaceReading) -> Explanation:
    """The words for a reading: about its (held) label, `reading.emotion`, which in a stream may trail the numbers."""
    return describe(reading.probs, top=reading.emotion)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font: works offline and on every platform, loaded once per size."""
    return ImageFont.load_default(size=size)


def face_label(reading: FaceReading, band: Band | None = None, short_label: str | None = None) -> str:
    """What is drawn above a face: "#2 happy", "#2 happy?", "#2 sad / neutral?"."""
    if short_label is None:
        short_label = reading_explanation(reading).short_label
    return f"#{reading.face_id} {short_label}" if reading.face_id is not None else short_label


def _dashed_line(draw: ImageDraw.ImageDraw, start: tuple[float, float], end: tuple[float, float], **style) -> None:
    dash, gap = style.pop("dashes")
    (x1, y1), (x2, y2) = start, end
    length = float(np.hypot(x2 - x1, y2 - y1))
    if length == 0:
        return
    dx, dy = (x2 - x1) / length, (y2 - y1) / length
    position = 0.0
    while position < length:
        stop = min(position + dash, length)
        draw.line([(x1 + dx * position, y1 + dy * position), (x1 + dx * stop, y1 + dy * stop)], **style)
        position = stop + gap


def _box(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], band: str) -> None:
    x1, y1, x2, y2 = box
    width = BAND_WIDTH.get(band, 3)
    dashes = BAND_DASHES.get(band)
    corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2), (x1, y1)]
    for colour, line_width in ((EDGE_COLOUR, width + 2), (BOX_COLOUR, width)):
        if dashes is None:
            draw.line(corners, fill=colour, width=line_width, joint="curve")
        else:
            for start, end in zip(corners, corners[1:], strict=False):
                _dashed_line(draw, start, end, fill=colour, width=line_width, dashes=dashes)


@lru_cache(maxsize=256)
def _label_plate(text: str, font_size: int) -> Image.Image:
    """The label on its dark plate, rendered once per text and size: labels change rarely between frames,
    and rendering text is most of the cost of drawing a frame."""
    font = _font(font_size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
    pad = 4
    plate = Image.new("RGB", (right - left + 2 * pad + 1, bottom - top + 2 * pad + 1), PLATE_COLOUR)
    draw = ImageDraw.Draw(plate)
    draw.rectangle([0, 0, plate.width - 1, plate.height - 1], outline=BOX_COLOUR)
    draw.text((pad - left, pad - top), text, font=font, fill=TEXT_COLOUR)
    return plate


def _plate(image: Image.Image, text: str, box: tuple[float, ...]) -> None:
    """The label on a dark plate above the box (inside it when the box touches the top edge)."""
    width, height = image.size
    plate = _label_plate(text, max(14, height // 20))
    x = int(min(max(box[0], 0), max(width - plate.width, 0)))
    y = int(box[1]) - plate.height - 1
    if y < 0:
        y = int(max(box[1], 0)) + 2
    image.paste(plate, (x, y))


def draw_readings(
    frame: np.ndarray,
    readings: Sequence[FaceReading],
    explanations: Mapping[int | None, Explanation] | None = None,
    hidden: Collection[int | None] = (),
) -> np.ndarray:
    """A copy of an RGB uint8 frame with each face's box, id and label; the band shows in shape and words.

    `explanations` (by face id) are the words already made for these readings (the live page makes
    them once per analysis); missing ones are made here. Faces whose id is in `hidden` get a plain box
    and their number only, so a person can guess before the reading is shown.
    """
    image = Image.fromarray(np.asarray(frame, dtype=np.uint8))
    if not readings:
        return np.array(image)
    draw = ImageDraw.Draw(image)
    explanations = explanations or {}
    for reading in readings:
        if reading.face_id in hidden:
            _box(draw, reading.box, "clear")
            _plate(image, f"#{reading.face_id}" if reading.face_id is not None else "?", reading.box)
            continue
        explanation = explanations.get(reading.face_id) or reading_explanation(reading)
        _box(draw, reading.box, explanation.band)
        _plate(image, face_label(reading, short_label=explanation.short_label), reading.box)
    return np.array(image)


def _ramp(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] onto the colour ramp: (..., 3) float RGB."""
    return np.stack([np.interp(values, _RAMP_STOPS, _RAMP_RGB[:, c]) for c in range(3)], axis=-1)


def heatmap_overlay(face: np.ndarray, grid: np.ndarray, size: int | None = None, strength: float = 0.75) -> np.ndarray:
    """The face in grey with the attention grid laid over it as heat: where it glows, the model looked.

    The grid is stretched smoothly over the face and scaled so its peak is 1; the face shows
    through where attention is low, so a person can see *which part* of the face mattered.
    ``size`` enlarges the (small) aligned crop for display. Returns RGB uint8 (size, size, 3).
    """
    pixels = np.asarray(face, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    if pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise ValueError(f"face must be an RGB image (H, W, 3), got shape {pixels.shape}")
    heat = np.asarray(grid, dtype=np.float32)
    if heat.ndim != 2 or heat.size == 0 or not np.all(np.isfinite(heat)):
        raise ValueError(f"grid must be a finite, non-empty 2-D array, got shape {heat.shape}")
    image = Image.fromarray(pixels)
    if size is not None:
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    grey = np.asarray(image.convert("L"), dtype=np.float32)[..., None].repeat(3, axis=-1)
    heat = np.clip(heat, 0.0, None)
    peak = float(heat.max())
    heat = heat / peak if peak > 0 else heat
    smooth = Image.fromarray(heat).resize(image.size, Image.Resampling.BICUBIC)
    heat = np.clip(np.asarray(smooth, dtype=np.float32), 0.0, 1.0)
    alpha = (strength * heat)[..., None]
    blended = (1 - alpha) * grey + alpha * _ramp(heat)
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


MESH_GROUPS: dict[str, tuple[tuple[int, ...], ...]] = {
    "brows": ((70, 63, 105, 66, 107), (300, 293, 334, 296, 336)),
    "eyes": (
        (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7, 33),
        (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249, 263),
    ),
    "cheeks": ((117, 118), (346, 347)),
    "nose": ((168, 6, 197, 195, 5, 4), (98, 2, 327)),
    "mouth": (
        (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146, 61),
        (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95, 78),
    ),
}
"""Mesh point chains drawn in the "Why?" panel, one group per part of the face that carries cues."""
MARK_RADIUS = 2.5
"""Radius of a marked point at a 240-pixel picture."""
ACTIVE_COLOUR = (255, 214, 10)  # the same amber as the boxes: "this part is moving"
QUIET_COLOUR = (120, 190, 255)


def overlay_points(reading: FaceReading, size: int = 240) -> np.ndarray:
    """The mesh points (468, 2) where `mesh_overlay` draws them: on the aligned face, enlarged to `size`."""
    from xface.vision.align import eye_transform

    if reading.aligned is None or reading.mesh is None:
        raise ValueError("this reading carries no aligned face or no face mesh")
    height, width = reading.aligned.shape[:2]
    matrix = eye_transform(reading.landmarks, (height, width))
    points = reading.mesh[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    return points * [size / width, size / height]


def marked_points(reading: FaceReading, typical: bool = True) -> set[int]:
    """The mesh points `mesh_overlay` marks in amber: every point each named cue was measured from."""
    named = named_cues(reading.cues, typical) if reading.cues else []
    return {i for name in named for i in CUE_MEASURED_FROM[name]}


def mesh_overlay(reading: FaceReading, size: int = 240, typical: bool = True) -> np.ndarray:
    """The aligned face with its parts drawn thin in blue and, in amber dots, exactly the mesh points each named
    cue was measured from (`xface.vision.cues.CUE_MEASURED_FROM`), so a person can check the words on the face.

    A cue is named when it is strong enough (`xface.teach.explain.named_cues`; `typical`: measured against a
    typical relaxed face, not the person's own). Raises ValueError without an aligned face or a mesh.
    """
    points = overlay_points(reading, size)
    image = Image.fromarray(np.asarray(reading.aligned, dtype=np.uint8)).convert("L").convert("RGB")
    image = image.resize((size, size), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for chains in MESH_GROUPS.values():
        for chain in chains:
            draw.line([tuple(points[i]) for i in chain], fill=QUIET_COLOUR, width=1, joint="curve")
    radius = MARK_RADIUS * size / 240
    for index in sorted(marked_points(reading, typical)):
        x, y = points[index]
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=ACTIVE_COLOUR)
    return np.asarray(image)
