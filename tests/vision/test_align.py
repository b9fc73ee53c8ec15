"""Alignment: eyes land on the FER2013 template whatever the head tilt or frame size."""

from __future__ import annotations

import numpy as np
from PIL import Image

from xface.vision.align import TEMPLATE, align_face, eye_transform
from xface.vision.detect import FaceDetector


def test_eye_transform_maps_eyes_onto_template() -> None:
    landmarks = np.array([[210.0, 300], [290, 260], [260, 320], [230, 370], [300, 340]])
    matrix = eye_transform(landmarks, (48, 48))
    mapped = landmarks[:2] @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(mapped, TEMPLATE[:2] * 48, atol=1e-6)


def test_tilted_head_gives_the_same_crop_as_upright(portrait: np.ndarray) -> None:
    detector = FaceDetector()
    upright = detector.detect(portrait)[0]
    tilted_image = np.asarray(
        Image.fromarray(portrait).rotate(25, resample=Image.Resampling.BICUBIC, fillcolor=(90, 90, 90))
    )
    tilted = detector.detect(tilted_image)[0]
    a = align_face(portrait, upright.landmarks).astype(float).mean(-1)
    b = align_face(tilted_image, tilted.landmarks).astype(float).mean(-1)
    correlation = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    assert correlation > 0.85


def test_big_face_in_wide_frame_is_shrunk_without_aliasing(portrait: np.ndarray) -> None:
    detection = FaceDetector().detect(portrait)[0]
    crop = align_face(portrait, detection.landmarks, (48, 48))
    assert crop.shape == (48, 48, 3) and crop.dtype == np.uint8
    big = align_face(portrait, detection.landmarks, (224, 224))
    small_from_big = np.asarray(Image.fromarray(big).resize((48, 48), Image.Resampling.BOX)).astype(float)
    assert np.abs(small_from_big - crop.astype(float)).mean() < 12


def test_face_at_the_frame_edge_is_padded_not_an_error(portrait: np.ndarray) -> None:
    detection = FaceDetector().detect(portrait)[0]
    shifted = detection.landmarks - [detection.box[0] + 30, 0]
    crop = align_face(portrait, shifted)
    assert crop.shape == (48, 48, 3)
