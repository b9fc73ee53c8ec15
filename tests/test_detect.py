"""Detection on real photos: recall on the labelled faces, no faces on animals and ducks."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import NO_FACES, WITH_FACES, labelled_boxes
from xface.detect import FaceDetector, plausible_face
from xface.images import load_image
from xface.pipeline import box_iou


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def test_finds_labelled_faces_in_real_photos(detector: FaceDetector) -> None:
    found, total, unmatched = 0, 0, 0
    for name, truth in labelled_boxes().items():
        detections = detector.detect(load_image(WITH_FACES / name))
        matched = set()
        for box in truth:
            total += 1
            overlaps = [box_iou(box, d.box) for d in detections]
            if overlaps and max(overlaps) >= 0.4:
                found += 1
                matched.add(int(np.argmax(overlaps)))
        unmatched += len(detections) - len(matched)
    assert total == 43
    assert found / total >= 0.95, f"recall {found}/{total}"
    assert unmatched <= 1


@pytest.mark.parametrize("photo", sorted(p.name for p in NO_FACES.iterdir()))
def test_reports_no_face_on_photos_without_people(detector: FaceDetector, photo: str) -> None:
    assert detector.detect(load_image(NO_FACES / photo)) == []


def test_beagle_that_fools_plain_mtcnn_is_rejected() -> None:
    """Plain MTCNN scores the beagle at 0.97; the geometry and mirror checks must reject it."""
    permissive = FaceDetector(min_score=0.0)
    boxes, scores, _ = permissive.mtcnn.detect(load_image(NO_FACES / "tfod_image1.jpg"), landmarks=True)
    assert boxes is not None and max(float(s) for s in scores) > 0.95
    assert FaceDetector().detect(load_image(NO_FACES / "tfod_image1.jpg")) == []


def _frontal_landmarks(angle_degrees: float = 0.0) -> np.ndarray:
    points = np.array([[30.0, 40], [70, 40], [50, 60], [35, 78], [65, 78]])
    angle = np.radians(angle_degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return (points - 50) @ rotation.T + 50


@pytest.mark.parametrize("angle", [-30, 0, 25])
def test_face_geometry_holds_for_tilted_heads(angle: float) -> None:
    assert plausible_face((0, 0, 100, 100), _frontal_landmarks(angle))


def test_face_geometry_rejects_nose_outside_the_eyes_and_mouth_above_nose() -> None:
    nose_outside = _frontal_landmarks()
    nose_outside[2] = [80, 60]
    assert not plausible_face((0, 0, 100, 100), nose_outside)
    mouth_above = _frontal_landmarks()
    mouth_above[3:] = [[35, 50], [65, 50]]
    assert not plausible_face((0, 0, 100, 100), mouth_above)
    tiny_eyes = _frontal_landmarks()
    tiny_eyes[1] = [38, 40]
    assert not plausible_face((0, 0, 100, 100), tiny_eyes)


def test_landmarks_sit_inside_their_box(detector: FaceDetector, group_photo) -> None:
    for detection in detector.detect(load_image(group_photo)):
        x1, y1, x2, y2 = detection.box
        assert detection.landmarks.shape == (5, 2)
        assert np.all(detection.landmarks[:, 0] > x1 - 2) and np.all(detection.landmarks[:, 0] < x2 + 2)
        assert np.all(detection.landmarks[:, 1] > y1 - 2) and np.all(detection.landmarks[:, 1] < y2 + 2)


def test_min_face_size_drops_small_faces(group_photo) -> None:
    image = load_image(group_photo)
    small_allowed = FaceDetector(min_face_size=20).detect(image)
    large_only = FaceDetector(min_face_size=100).detect(image)
    assert len(large_only) < len(small_allowed)


def test_shrunk_detection_reports_boxes_in_original_pixels(portrait: np.ndarray) -> None:
    full = FaceDetector().detect(portrait)
    shrunk = FaceDetector(max_side=320).detect(portrait)
    assert len(full) == len(shrunk) == 1
    assert box_iou(full[0].box, shrunk[0].box) > 0.8


def test_refine_follows_a_moving_face(portrait: np.ndarray) -> None:
    detector = FaceDetector()
    first = detector.detect(portrait)[0]
    moved = np.roll(portrait, shift=(12, 20), axis=(0, 1))
    followed = detector.refine(moved, [first])[0]
    assert followed is not None
    shift = np.subtract(followed.box, first.box)
    assert abs(shift[0] - 20) < 8 and abs(shift[1] - 12) < 8


def test_refine_reports_a_lost_face(portrait: np.ndarray) -> None:
    detector = FaceDetector()
    first = detector.detect(portrait)[0]
    blank = np.full_like(portrait, 90)
    assert detector.refine(blank, [first]) == [None]
