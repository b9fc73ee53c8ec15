"""xface.vision.mtcnn (ONNX Runtime + numpy) against facenet-pytorch's own torch MTCNN, on real photos."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import TORCH_MISSING

pytest.importorskip("torch", reason=TORCH_MISSING)

import torch
from facenet_pytorch import MTCNN
from facenet_pytorch.models.utils.detect_face import detect_face
from PIL import Image

from tests.conftest import NO_FACES, WITH_FACES
from xface.vision.detect import MTCNN_THRESHOLDS, shrink
from xface.vision.mtcnn import Mtcnn, area_resize, detect_faces, nms


@pytest.fixture(scope="module")
def both() -> tuple[Mtcnn, MTCNN]:
    return Mtcnn(), MTCNN(keep_all=True, device="cpu").eval()


def _photos() -> list[np.ndarray]:
    files = sorted(WITH_FACES.glob("*.jpg"))[:12] + sorted(NO_FACES.glob("*.jpg"))[:4]
    return [shrink(np.asarray(Image.open(f).convert("RGB")), 640)[0] for f in files]


def test_area_resize_is_torchs_area_interpolation() -> None:
    image = np.random.default_rng(0).integers(0, 256, (97, 131, 3)).astype(np.float32)
    for size in ((48, 48), (24, 24), (70, 95), (97, 131), (12, 200)):
        expected = torch.nn.functional.interpolate(torch.from_numpy(image).permute(2, 0, 1)[None], size, mode="area")
        np.testing.assert_allclose(area_resize(image, size), expected[0].permute(1, 2, 0).numpy(), atol=1e-3)


def test_nms_keeps_the_best_box_of_each_overlapping_group() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 4, 4]], dtype=np.float32)
    scores = np.array([0.8, 0.9, 0.5, 0.7])
    assert nms(boxes, scores, 0.5).tolist() == [1, 3, 2]
    assert nms(boxes, scores, 0.5, by_smaller=True).tolist() == [1, 2]  # the small box lies inside the big one


def test_same_faces_as_facenet_pytorch_on_real_photos(both: tuple[Mtcnn, MTCNN]) -> None:
    ours, theirs = both
    found = 0
    for image in _photos():
        boxes, points = detect_faces(ours, image, 20, MTCNN_THRESHOLDS)
        with torch.inference_mode():
            their_boxes, their_points = detect_face(
                image, 20, theirs.pnet, theirs.rnet, theirs.onet, list(MTCNN_THRESHOLDS), 0.709, "cpu"
            )
        their_boxes = np.asarray(their_boxes[0], np.float64).reshape(-1, 5)
        their_points = np.asarray(their_points[0], np.float64).reshape(-1, 5, 2)
        assert len(boxes) == len(their_boxes)
        np.testing.assert_allclose(boxes, their_boxes, atol=0.05)
        np.testing.assert_allclose(points, their_points, atol=0.05)
        found += len(boxes)
    assert found >= 20
