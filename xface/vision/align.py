"""Landmarks → the canonical face crop the expression model was trained on.

FER2013 faces are upright and tight. Running MTCNN on 370 training faces (upscaled, padded)
put the eyes, in a 48×48 crop, at a median (15.0, 18.7) and (33.4, 18.5): the template below.
A similarity transform (rotate, scale, shift) that moves the detected eyes onto those points
makes a tilted head in a wide webcam frame look like a training face.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PIL import Image

# Median MTCNN landmarks on FER2013 crops, as fractions of the crop's width and height.
TEMPLATE = np.array([[15.0, 18.74], [33.36, 18.5], [24.32, 29.0], [16.89, 37.88], [32.12, 37.76]]) / 48.0

# How the crop is sampled from the (block-shrunk) picture. Bicubic keeps the edges of brows and lips that a
# bilinear crop blurs: see align_face for what each read.
CROP_RESAMPLING = Image.Resampling.BICUBIC


def eye_transform(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """2×3 matrix mapping image points to crop points, fitted on the two eyes."""
    height, width = size
    source = np.asarray(landmarks, dtype=np.float64)[:2]
    target = TEMPLATE[:2] * [width, height]
    src_vec, dst_vec = source[1] - source[0], target[1] - target[0]
    scale = np.hypot(*dst_vec) / max(np.hypot(*src_vec), 1e-6)
    angle = np.arctan2(dst_vec[1], dst_vec[0]) - np.arctan2(src_vec[1], src_vec[0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shift = target.mean(0) - rotation @ source.mean(0)
    return np.hstack([rotation, shift[:, None]])


def align_face(image: np.ndarray, landmarks: np.ndarray, size: tuple[int, int] = (48, 48)) -> np.ndarray:
    """Crop one face from an (H, W, 3) uint8 RGB image into an upright (h, w, 3) crop.

    Big faces are first shrunk by averaging whole pixel blocks (to at most twice the crop's
    resolution), so that small crops do not alias. Only the face's surroundings go to Pillow
    (a whole 48 MP photo would be copied for each face).

    Weighed against a77b3a8's crop (an antialiased resize to exactly twice the resolution) for issue 21, the
    model's FER2013 output on 600 web_expressions faces shrunk to eye distances of 132, 66, 53, 40 and 29 px:
    this crop 63.3 / 66.0 / 65.7 / 65.3 / 63.5 %, a77b3a8's 62.3 / 62.5 / 62.8 / 62.5 / 63.0 %, an exact area
    filter to twice the resolution 62.7-64.0 %, an 8x supersampled crop (nearest to exact) 59.7-61.7 %.
    Sampled bicubic rather than bilinear (`xface evaluate --photos`, FER2013 output / shown output, of the faces
    found): ckplus_dev 71.2 / 66.2 % -> 73.5 / 68.0 %, web_expressions 65.0 / 82.4 % -> 66.3 / 82.7 %, FER2013
    validation saved as photos 66.3 / 61.0 % -> 66.9 / 61.7 %; sharper crops are nearer to the training faces.
    """
    matrix = eye_transform(np.asarray(landmarks, dtype=np.float64), size)
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]  # crop point → image point
    region = source_region(inverse, size, image.shape, margin=2)
    if region is None:
        return np.full((*size, 3), 128, np.uint8)  # the face lies wholly outside the image
    left, top, right, bottom = region
    picture = Image.fromarray(np.ascontiguousarray(image[top:bottom, left:right]))
    block = max(1, int(1 / (2 * float(np.hypot(*matrix[:, 0])))))
    if block > 1:
        picture = picture.reduce(block)
    in_picture = np.hstack([inverse[:, :2], (inverse[:, 2] - [left, top])[:, None]]) / block
    crop = picture.transform(
        (size[1], size[0]),
        Image.Transform.AFFINE,
        in_picture.ravel().tolist(),
        CROP_RESAMPLING,
        fillcolor=(128, 128, 128),
    )
    return np.asarray(crop)


class Region(NamedTuple):
    """A rectangle of an image in whole pixels: columns left..right-1, rows top..bottom-1."""

    left: int
    top: int
    right: int
    bottom: int


def source_region(
    crop_to_image: np.ndarray, size: tuple[int, int], image_shape: tuple[int, ...], margin: int
) -> Region | None:
    """The part of an image that an affine crop of `size` (h, w) reads from: the bounds of the crop's corners
    mapped by `crop_to_image` (2×3 or 3×3), widened by `margin` pixels and clipped to the image; None when
    it lies wholly outside. Crops take only this part to Pillow, not the whole (possibly 48 MP) image."""
    height, width = size
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], np.float64)
    corners = corners @ np.asarray(crop_to_image)[:2].T
    left, top = np.maximum(np.floor(corners.min(0)).astype(int) - margin, 0)
    right, bottom = np.minimum(np.ceil(corners.max(0)).astype(int) + margin, [image_shape[1], image_shape[0]])
    if right <= left or bottom <= top:
        return None
    return Region(int(left), int(top), int(right), int(bottom))


def grey_to_rgb(image: np.ndarray) -> np.ndarray:
    """A (48, 48) grey FER2013 face as the (48, 48, 3) RGB crop the pipeline hands the model."""
    return np.repeat(np.asarray(image, dtype=np.uint8)[..., None], 3, axis=-1)
