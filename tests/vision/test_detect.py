"""Detection on real photos: recall on the labelled faces, no faces on animals and ducks, big phone photos."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from tests.conftest import DATA, NO_FACES, WITH_FACES, labelled_boxes, needs_torch
from xface.tools.evaluate import detection_recall, evaluate_detection, labelled_faces
from xface.vision.detect import FaceDetector, OnetResult, load_mtcnn, onet, plausible_face
from xface.vision.images import load_image
from xface.vision.pipeline import box_iou

CROWD = DATA / "faces" / "crowd_photos"


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


@pytest.mark.parametrize("photo", sorted(p.name for p in NO_FACES.iterdir()) if NO_FACES.is_dir() else ["(missing)"])
def test_reports_no_face_on_photos_without_people(detector: FaceDetector, photo: str) -> None:
    assert detector.detect(load_image(NO_FACES / photo)) == []


def test_beagle_that_fools_plain_mtcnn_is_rejected(detector: FaceDetector) -> None:
    """Plain MTCNN scores the beagle at 0.97; the mirror check must reject it."""
    beagles = load_image(NO_FACES / "tfod_image1.jpg")
    candidates = detector.candidates(beagles)
    assert candidates and max(c.score for c in candidates) > 0.95
    mirrored = onet(detector.mtcnn, beagles, [c.box for c in candidates], mirrored=True)
    assert all(m is not None and m.score < 0.5 for m in mirrored)
    assert detector.detect(beagles) == []


def test_onet_gives_named_results_and_a_real_face_stays_a_face_mirrored(detector: FaceDetector, portrait) -> None:
    face = detector.detect(portrait)[0]
    straight, mirrored = (onet(detector.mtcnn, portrait, [face.box], mirrored=flip)[0] for flip in (False, True))
    assert isinstance(straight, OnetResult) and straight.landmarks.shape == (5, 2) and straight.box.shape == (4,)
    assert straight.score > 0.9 and mirrored.score > 0.9
    assert box_iou(tuple(straight.box), face.box) > 0.7
    assert onet(detector.mtcnn, portrait, [(-500, -500, -400, -400)]) == [None]


def test_a_face_turned_aside_is_kept_although_its_layout_is_doubtful(detector: FaceDetector) -> None:
    """A turned face fails the frontal layout check, but its mirror image is surely a face: it stays."""
    photo = load_image(CROWD / "maksssksksss104.jpg")
    turned = [c for c in detector.candidates(photo) if not plausible_face(c.box, c.landmarks) and c.score > 0.99]
    assert turned
    found = detector.detect(photo)
    assert all(max(box_iou(tuple(c.box), d.box) for d in found) > 0.9 for c in turned)


def test_crowd_photo_listing_is_read_with_labels() -> None:
    photos = labelled_faces(CROWD)
    assert len(photos) == 143
    labels = {label for faces in photos.values() for label, _ in faces}
    assert labels == {"without_mask", "with_mask", "mask_weared_incorrect"}
    without = labelled_faces(NO_FACES)
    assert set(without) == {p.name for p in NO_FACES.iterdir()} and not any(without.values())


def test_detection_recall_counts_found_missed_and_extra_faces(tmp_path) -> None:
    shutil.copy(WITH_FACES / "2008_007676.jpg", tmp_path / "a.jpg")
    truth = labelled_boxes()["2008_007676.jpg"]
    rows = ["image,width,height,label,xmin,ymin,xmax,ymax"]
    rows += [f"a.jpg,0,0,without_mask,{x1},{y1},{x2},{y2}" for x1, y1, x2, y2 in truth]
    (tmp_path / "boxes.csv").write_text("\n".join(rows) + "\n")
    half = truth[: len(truth) // 2]
    report = detection_recall(tmp_path, lambda image: [*half, (0, 0, 5, 5)], min_size=0, progress=False)
    assert report["faces"] == len(truth)
    assert report["recall"] == pytest.approx(len(half) / len(truth))
    assert report["unmatched"] == 1


@pytest.mark.slow
@needs_torch
def test_finds_at_least_the_crowd_faces_plain_mtcnn_finds() -> None:
    """Unmasked crowd faces of 20 px or more: Xface's photo detector against plain MTCNN, same photos."""
    results = evaluate_detection(CROWD, progress=False)
    assert results["xface"]["faces"] == results["plain_mtcnn"]["faces"] > 200
    assert results["xface"]["recall"] >= results["plain_mtcnn"]["recall"]
    assert results["xface"]["unmatched"] <= results["plain_mtcnn"]["unmatched"]


def test_a_big_phone_photo_is_searched_shrunk_and_measured_at_full_size(detector: FaceDetector) -> None:
    """A 12 MP photo made from a real one: the same faces as on the small photo, landmarks in full pixels."""
    small = load_image(WITH_FACES / "2008_007676.jpg")
    scale = 4000 / small.shape[1]
    big = np.asarray(Image.fromarray(small).resize((4000, round(small.shape[0] * scale)), Image.Resampling.BICUBIC))
    assert detector.max_side is not None and max(big.shape[:2]) > detector.max_side
    on_small = detector.detect(small)
    on_big = detector.detect(big)
    assert len(on_big) == len(on_small) == 7
    for face in on_small:
        grown = tuple(v * scale for v in face.box)
        twin = max(on_big, key=lambda d: box_iou(d.box, grown))
        assert box_iou(twin.box, grown) > 0.7
        eye_distance = np.hypot(*(twin.landmarks[1] - twin.landmarks[0]))
        assert np.abs(twin.landmarks - face.landmarks * scale).max() < 0.25 * eye_distance
        # Measured on the full photo, not scaled up from the shrunk copy's whole pixels.
        shrink = detector.max_side / max(big.shape[:2])
        assert not np.allclose(twin.landmarks * shrink, np.round(twin.landmarks * shrink))


def test_the_photo_detector_and_every_stream_share_one_mtcnn(analyzer) -> None:
    streams = [analyzer.stream(), analyzer.stream(min_face_size=40)]
    assert all(stream.detector.mtcnn is analyzer.detector.mtcnn for stream in streams)
    assert streams[1].detector.min_face_size == 40


def test_a_detector_given_an_mtcnn_uses_it() -> None:
    mtcnn = load_mtcnn()
    assert FaceDetector(mtcnn).mtcnn is mtcnn


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
