"""Dense face landmarks: MediaPipe's face mesh (468 points in 3-D) on each face MTCNN found.

MTCNN's five points say where a face is; they cannot say whether the brows went up or the lip
corners down. The face mesh can: its points sit on the brows, the lids, the lips and the nose.

The model is `models/face_mesh/face_landmark.tflite` (Apache-2.0, extracted from the mediapipe
0.10.21 wheel by `scripts/extract_face_mesh.py`). It runs with `ai-edge-litert`, Google's own
TFLite runtime: a 21 MB wheel that works with numpy 2, about 1 ms a face on one thread, where the
whole `mediapipe` package is 36 MB, pins numpy < 2 and would run its own face detector too.

The model wants what MediaPipe's own pipeline gives it: a 192×192 RGB crop in [0, 1] of a square
1.5 times the face box, turned so that the eyes are level. MTCNN's box and eye points give both.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from xface.vision.align import source_region

__all__ = [
    "MESH_SIZE",
    "MESH_MODEL",
    "FaceMesh",
    "MeshModel",
    "mesh_crop",
    "mesh_crop_transform",
    "tight_crop_to_mesh_input",
]

MESH_MODEL = Path(__file__).resolve().parents[2] / "models" / "face_mesh" / "face_landmark.tflite"
MESH_SIZE = 192
"""The model's input side in pixels."""
CROP_SCALE = 1.5
"""The crop is this many times the face box's longer side (MediaPipe's own setting)."""
MIN_FACE_SCORE = 0.5
"""Below this face score (the model's own "is this a face?" output) the mesh is not used."""


class FaceMesh(NamedTuple):
    points: np.ndarray
    """(468, 3): x, y in image pixels; z (depth, smaller is nearer the camera) in the same pixel units."""
    score: float
    """The model's own confidence that the crop holds a face, in [0, 1]."""


def mesh_crop_transform(box: tuple[float, float, float, float], landmarks: np.ndarray) -> np.ndarray:
    """3×3 matrix mapping mesh-crop pixels (192×192) to image pixels: a square around the face, eyes level."""
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * CROP_SCALE
    centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    eyes = np.asarray(landmarks, dtype=np.float64)[:2]
    angle = float(np.arctan2(*(eyes[1] - eyes[0])[::-1]))
    scale = side / MESH_SIZE
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    half = MESH_SIZE / 2
    # crop point p → image point: R·s·(p − half) + centre
    return np.array(
        [
            [cos, -sin, centre[0] - cos * half + sin * half],
            [sin, cos, centre[1] - sin * half - cos * half],
            [0.0, 0.0, 1.0],
        ]
    )


SUPERSAMPLE_BELOW = 0.5
"""Image pixels per crop pixel below which the crop is supersampled (2 × 2 points a pixel, averaged):
in so small a face the nearest pixel alone moves the cues more than half a pixel's shift does."""


def mesh_crop(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The (192, 192, 3) uint8 mesh input: `matrix` (from `mesh_crop_transform`) maps its pixels into
    the image. Only the face's surroundings go to Pillow; outside the image is black.

    Pillow's bilinear affine sampling costs about 1 ms a crop, most of the mesh model's own time,
    and its resizing is no faster. So the crop takes the nearest pixel, from every k-th pixel of a
    large face's surroundings (numpy slicing leaves between one and two image pixels a crop pixel);
    a face under half the crop's resolution is sampled at 2 × 2 nearest points a crop pixel, then
    averaged. On real faces the cues then differ from bilinear sampling's by 0.006–0.015 on average
    (on their 0–1 scale), less than or about as much as moving the face half a pixel changes them
    (0.009–0.02), at a quarter to half the cost. A box filter before the slicing, or supersampling
    faces up to the crop's resolution, changed them by less than that and cost 0.3 ms.
    """
    bounds = source_region(matrix, (MESH_SIZE, MESH_SIZE), image.shape, margin=1)
    if bounds is None:
        return np.zeros((MESH_SIZE, MESH_SIZE, 3), np.uint8)
    left, top, right, bottom = bounds
    surroundings = image[top:bottom, left:right]
    to_region = np.hstack([matrix[:2, :2], (matrix[:2, 2] - [left, top])[:, None]])
    scale = float(np.hypot(*matrix[:2, 0]))  # image pixels per crop pixel
    step = max(1, int(scale))
    if step > 1:  # kept pixel j is pixel step·j + step // 2 (Pillow's pixel i spans [i, i + 1))
        surroundings = surroundings[step // 2 :: step, step // 2 :: step]
        to_region /= step
        to_region[:, 2] += 0.5 - (step // 2 + 0.5) / step
    supersample = 2 if scale < SUPERSAMPLE_BELOW else 1
    to_region[:, :2] /= supersample
    sampled = Image.fromarray(np.ascontiguousarray(surroundings)).transform(
        (MESH_SIZE * supersample, MESH_SIZE * supersample),
        Image.Transform.AFFINE,
        to_region.ravel().tolist(),
        Image.Resampling.NEAREST,
        fillcolor=(0, 0, 0),
    )
    return np.asarray(sampled.reduce(supersample) if supersample > 1 else sampled)


@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence what native code writes to file descriptor 2 while the model loads.

    The runtime's one INFO line would otherwise land in `xface analyze`'s error output, where each
    line is meant to be one failed file. Python's own `sys.stderr` is left alone."""
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr (e.g. some service managers): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class MeshModel:
    """The face-mesh model on one CPU thread. Calls are serialised: the interpreter is not thread-safe."""

    def __init__(self, path: str | Path = MESH_MODEL, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"The face-mesh model is missing ({path}). Run scripts/extract_face_mesh.py to restore it."
            )
        with _quiet_native_stderr():  # LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate" to fd 2
            self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {d["shape"][-1]: d["index"] for d in self._interpreter.get_output_details()}
        self._points_out, self._score_out = outputs[468 * 3], outputs[1]
        self._lock = threading.Lock()

    def run(self, crop: np.ndarray) -> FaceMesh:
        """The mesh of a (192, 192, 3) uint8 RGB crop, in crop pixels."""
        crop = np.asarray(crop)
        if crop.shape != (MESH_SIZE, MESH_SIZE, 3):
            raise ValueError(f"the face-mesh crop must be ({MESH_SIZE}, {MESH_SIZE}, 3), got {crop.shape}")
        with self._lock:
            # Scaled straight into the interpreter's input buffer: no float copies of the crop to allocate.
            np.multiply(crop, np.float32(1 / 255), out=self._interpreter.tensor(self._input)()[0], casting="unsafe")
            self._interpreter.invoke()
            points = self._interpreter.get_tensor(self._points_out).reshape(468, 3).astype(np.float64)
            logit = float(self._interpreter.get_tensor(self._score_out).ravel()[0])
        return FaceMesh(points, float(1.0 / (1.0 + np.exp(-logit))))

    def fit(self, image: np.ndarray, box: tuple[float, float, float, float], landmarks: np.ndarray) -> FaceMesh | None:
        """The mesh of one detected face in image pixels, or None when the model does not see a face there."""
        matrix = mesh_crop_transform(box, landmarks)
        mesh = self.run(mesh_crop(image, matrix))
        if mesh.score < MIN_FACE_SCORE:
            return None
        points = mesh.points.copy()
        points[:, :2] = points[:, :2] @ matrix[:2, :2].T + matrix[:2, 2]
        points[:, 2] *= float(np.hypot(*matrix[:2, 0]))
        return FaceMesh(points, mesh.score)


def tight_crop_to_mesh_input(face: np.ndarray) -> np.ndarray:
    """A tight face crop (e.g. a 48×48 grey FER2013 face) framed as the mesh model expects: the face
    fills the middle two thirds of a grey 192×192 square, as a 1.5× crop around a face box would.

    Filling the whole square instead puts the mouth points on the upper lip (checked by eye on
    FER2013 surprise faces), because the model was trained on 1.5× crops."""
    inner = round(MESH_SIZE / CROP_SCALE)
    pad = (MESH_SIZE - inner) // 2
    picture = Image.fromarray(np.asarray(face, dtype=np.uint8)).convert("RGB")
    canvas = np.full((MESH_SIZE, MESH_SIZE, 3), 128, np.uint8)
    canvas[pad : pad + inner, pad : pad + inner] = np.asarray(picture.resize((inner, inner), Image.Resampling.BICUBIC))
    return canvas
