"""The face mesh: the bundled model file, and real points on a real face."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from xface.vision.landmarks import (
    MESH_MODEL,
    MESH_SIZE,
    MeshModel,
    mesh_crop,
    mesh_crop_transform,
    tight_crop_to_mesh_input,
)

ROOT = Path(__file__).resolve().parents[2]


def _extract_script():
    spec = importlib.util.spec_from_file_location("extract_face_mesh", ROOT / "scripts" / "extract_face_mesh.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bundled_model_is_the_one_extracted_from_the_wheel_with_its_licence():
    script = _extract_script()
    assert hashlib.sha256(MESH_MODEL.read_bytes()).hexdigest() == script.MODEL_SHA256
    assert "Apache License" in (MESH_MODEL.parent / "LICENSE").read_text()
    assert script.MODEL_SHA256 in (MESH_MODEL.parent / "NOTICE").read_text()


def test_extract_refuses_a_wheel_that_is_not_the_published_one(tmp_path):
    import zipfile

    script = _extract_script()
    fake = tmp_path / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr(script.MODEL_IN_WHEEL, b"not a model")
        archive.writestr(script.LICENSE_IN_WHEEL, b"licence")
    with pytest.raises(ValueError, match="SHA-256"):
        script.extract(fake, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert script.main([str(fake), "--out", str(tmp_path / "out")]) == 1


def test_missing_model_says_how_to_restore_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="extract_face_mesh"):
        MeshModel(tmp_path / "face_landmark.tflite")


def test_wrong_crop_size_is_refused():
    with pytest.raises(ValueError, match="192"):
        MeshModel().run(np.zeros((100, 100, 3), np.uint8))


def test_crop_transform_levels_the_eyes_and_frames_the_face():
    box = (100.0, 50.0, 200.0, 170.0)
    eyes = np.array([[120.0, 100.0], [180.0, 130.0], [150, 130], [130, 150], [170, 160]])
    matrix = mesh_crop_transform(box, eyes)
    to_crop = np.linalg.inv(matrix)
    left, right = (to_crop @ np.array([*eyes[0], 1]))[:2], (to_crop @ np.array([*eyes[1], 1]))[:2]
    assert left[1] == pytest.approx(right[1])  # level in the crop
    centre = to_crop @ np.array([150.0, 110.0, 1.0])
    assert centre[:2] == pytest.approx([MESH_SIZE / 2, MESH_SIZE / 2])
    assert np.hypot(*matrix[:2, 0]) * MESH_SIZE == pytest.approx(120 * 1.5)


def test_real_mesh_lands_on_the_eyes_and_mouth_mtcnn_found(analyzer, portrait):
    (reading,) = analyzer.analyze(portrait)
    mesh, marks = reading.mesh, reading.landmarks
    assert mesh.shape == (468, 3)
    eye_distance = float(np.linalg.norm(marks[1] - marks[0]))
    # The person's right eye is on the image's left: mesh points 33/133 (corners) and 159/145 (lids).
    right_eye = mesh[[33, 133, 159, 145], :2].mean(0)
    left_eye = mesh[[263, 362, 386, 374], :2].mean(0)
    assert np.linalg.norm(right_eye - marks[0]) < 0.15 * eye_distance
    assert np.linalg.norm(left_eye - marks[1]) < 0.15 * eye_distance
    assert np.linalg.norm(mesh[61, :2] - marks[3]) < 0.2 * eye_distance
    assert np.linalg.norm(mesh[291, :2] - marks[4]) < 0.2 * eye_distance
    assert np.linalg.norm(mesh[1, :2] - marks[2]) < 0.2 * eye_distance  # nose tip
    # Brows above the eyes, mouth below the nose (along the face's own up-down direction).
    down = np.array([-(marks[1] - marks[0])[1], (marks[1] - marks[0])[0]]) / eye_distance
    assert (mesh[[105, 334], :2].mean(0) - (right_eye + left_eye) / 2) @ down < 0
    assert (mesh[13, :2] - mesh[1, :2]) @ down > 0


def test_no_mesh_where_there_is_no_face(analyzer):
    grey = np.full((400, 400, 3), 128, np.uint8)
    assert analyzer.mesh.fit(grey, (100.0, 100.0, 300.0, 300.0), np.array([[150, 180], [250, 180.0]])) is None


def test_tight_face_crops_are_framed_like_a_face_box(analyzer):
    face = np.random.default_rng(0).integers(0, 255, (48, 48), dtype=np.uint8)
    crop = tight_crop_to_mesh_input(face)
    assert crop.shape == (MESH_SIZE, MESH_SIZE, 3)
    assert (crop[:32] == 128).all() and (crop[-32:] == 128).all()


def _blob_image(centres: np.ndarray, sigma: float, shape: tuple[int, int]) -> np.ndarray:
    """A dark RGB image with bright Gaussian blobs at continuous image points (pixel i spans [i, i + 1))."""
    ys, xs = np.mgrid[: shape[0], : shape[1]] + 0.5
    light = sum(np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2)) for x, y in centres)
    return np.repeat((np.clip(light, 0, 1) * 255).astype(np.uint8)[..., None], 3, axis=2)


# Crop pixels per image pixel: 2.1 (supersampled), 1.3 (nearest), 0.85 (nearest), 0.49 (every 2nd), 0.18 (every 5th).
@pytest.mark.parametrize("face_side", [60.0, 100.0, 150.0, 260.0, 700.0])
def test_mesh_crop_puts_each_image_point_where_the_transform_says(face_side):
    """Whichever way the crop is sampled (it depends on the face's size), an image point lands in the
    crop where `mesh_crop_transform` maps it, to a fraction of a crop pixel, turned faces included."""
    box = (50.0, 60.0, 50.0 + face_side, 60.0 + face_side)
    eyes = np.array([[50 + 0.3 * face_side, 60 + 0.35 * face_side], [50 + 0.7 * face_side, 60 + 0.45 * face_side]])
    matrix = mesh_crop_transform(box, eyes)
    crop_points = np.array([[60.0, 70.0], [130.0, 90.0], [96.0, 150.0]])  # continuous crop coordinates
    image_points = crop_points @ matrix[:2, :2].T + matrix[:2, 2]
    side = int(60 + 1.8 * face_side)
    image = _blob_image(image_points, sigma=3.0 * np.hypot(*matrix[:2, 0]), shape=(side, side))
    crop = mesh_crop(image, matrix)[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:MESH_SIZE, :MESH_SIZE] + 0.5
    for expected in crop_points:
        near = (np.hypot(xs - expected[0], ys - expected[1]) < 12) * crop
        found = np.array([(near * xs).sum(), (near * ys).sum()]) / near.sum()
        assert np.linalg.norm(found - expected) < 0.35, (face_side, expected, found)
