"""Face detection with facenet-pytorch's MTCNN, plus a geometry check against non-human faces.

MTCNN's own confidence is not enough: on `no_faces/tfod_image1.jpg` it scores a beagle at 0.97,
above a real face at 0.976. Two more checks, each cheap:
- Geometry (`plausible_face`): on a human face the nose lies between the eyes and below them,
  and the mouth lies below the nose, measured in the frame of the eye line so tilted heads pass.
- Mirror test: human faces are nearly left-right symmetric, so MTCNN's last stage (O-Net) still
  calls the *mirrored* crop a face (every real face in `with_faces` scores >= 0.98 mirrored),
  while the beagle's muzzle, seen from the side, drops to 0.09.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from facenet_pytorch import MTCNN
from facenet_pytorch.models.utils.detect_face import bbreg, imresample, pad, rerec
from PIL import Image

UPRIGHT_WITHIN_DEGREES = 8.0
"""Faces whose eye line tilts more than this get their landmarks measured again, upright."""


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
    score: float
    landmarks: np.ndarray  # (5, 2): left eye, right eye, nose, mouth left, mouth right (image left/right)


def plausible_face(box: np.ndarray | tuple, landmarks: np.ndarray) -> bool:
    """Does the landmark layout look like a human face seen from the front or at an angle?"""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    left_eye, right_eye, nose = landmarks[0], landmarks[1], landmarks[2]
    mouth = (landmarks[3] + landmarks[4]) / 2
    eye_axis = right_eye - left_eye
    eye_distance = float(np.hypot(*eye_axis))
    width = float(box[2] - box[0])
    if eye_distance < 0.3 * width or eye_distance < 4:
        return False
    along = eye_axis / eye_distance
    down = np.array([-along[1], along[0]])  # perpendicular, pointing from the eyes towards the chin

    def position(point: np.ndarray) -> tuple[float, float]:
        offset = point - left_eye
        return float(offset @ along) / eye_distance, float(offset @ down) / eye_distance

    nose_across, nose_down = position(nose)
    mouth_across, mouth_down = position(mouth)
    return (
        -0.1 <= nose_across <= 1.05
        and 0.15 <= nose_down <= 1.2
        and -0.1 <= mouth_across <= 1.1
        and mouth_down >= nose_down + 0.1
        and mouth_down <= 2.0
    )


class FaceDetector:
    """Every plausible human face in an RGB image: boxes, scores and five landmarks.

    `max_side` shrinks large images before detection (speed on video; a face then needs about
    `min_face_size` pixels *after* shrinking). `min_score` is the final-stage confidence.
    """

    def __init__(
        self,
        min_face_size: int = 20,
        min_score: float = 0.9,
        max_side: int | None = None,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
    ) -> None:
        self.min_face_size = min_face_size
        self.min_score = min_score
        self.max_side = max_side
        self.mtcnn = MTCNN(
            keep_all=True, min_face_size=min_face_size, thresholds=list(thresholds), post_process=False, device="cpu"
        )
        self.mtcnn.eval()

    def _shrink(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        height, width = image.shape[:2]
        if self.max_side is None or max(height, width) <= self.max_side:
            return image, 1.0
        factor = self.max_side / max(height, width)
        pixels = torch.from_numpy(np.require(image, requirements=["C", "W"])).permute(2, 0, 1)[None].float()
        size = (max(1, round(height * factor)), max(1, round(width * factor)))
        small = torch.nn.functional.interpolate(pixels, size=size, mode="area")
        return small[0].permute(1, 2, 0).round().to(torch.uint8).numpy(), factor

    @torch.inference_mode()
    def detect(self, image: np.ndarray) -> list[Detection]:
        """Detect faces in an (H, W, 3) uint8 RGB array; the largest face comes first."""
        small, factor = self._shrink(image)
        if min(small.shape[:2]) < self.min_face_size:
            return []  # no face of the minimum size fits (and MTCNN would fail on an empty pyramid)
        boxes, scores, points = self.mtcnn.detect(small, landmarks=True)
        if boxes is None:
            return []
        # facenet-pytorch 2.5.3 hands back object arrays under NumPy 2.
        boxes = np.asarray(boxes.tolist(), dtype=np.float64) / factor
        scores = np.asarray(scores.tolist(), dtype=np.float64)
        points = np.asarray(points.tolist(), dtype=np.float64) / factor
        return self._keep(boxes, scores, points, image)

    def _keep(self, boxes: np.ndarray, scores: np.ndarray, points: np.ndarray, image: np.ndarray) -> list[Detection]:
        """Confident, face-shaped, mirror-consistent detections, clipped to the image, largest first."""
        height, width = image.shape[:2]
        keep = [k for k in range(len(boxes)) if scores[k] >= self.min_score and plausible_face(boxes[k], points[k])]
        if keep:
            mirrored_boxes = [(width - boxes[k][2], boxes[k][1], width - boxes[k][0], boxes[k][3]) for k in keep]
            mirrored = self._onet(np.ascontiguousarray(image[:, ::-1]), mirrored_boxes)
            keep = [k for k, m in zip(keep, mirrored, strict=True) if m is not None and m[0] >= self.min_score]
        found = []
        for k in keep:
            x1, y1, x2, y2 = boxes[k]
            clipped = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
            landmarks = self._upright_landmarks(image, boxes[k], points[k])
            found.append(Detection(tuple(float(v) for v in clipped), float(scores[k]), landmarks))
        found.sort(key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]), reverse=True)
        return found

    def _upright_landmarks(self, image: np.ndarray, box: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Landmarks of a tilted face, measured again on an upright copy of it.

        O-Net was trained on upright faces: on a head tilted by 25° its eye points drift by a
        fifth of the eye distance, enough to skew the aligned crop. Turning the face upright
        (by the first estimate) and asking O-Net again fixes that for one extra O-Net pass.
        """
        eye_line = landmarks[1] - landmarks[0]
        angle = float(np.arctan2(eye_line[1], eye_line[0]))
        if abs(angle) < np.radians(UPRIGHT_WITHIN_DEGREES):
            return landmarks
        center = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
        side = float(max(box[2] - box[0], box[3] - box[1]))
        scale = min(1.0, 96.0 / side)  # O-Net sees 48 px anyway: render the face at ~96 px at most
        crop_side = int(np.ceil(2 * side * scale))
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        crop_center = np.array([crop_side / 2, crop_side / 2])
        # Crop point q comes from image point center + rotation @ (q - crop_center) / scale.
        linear = rotation / scale
        offset = center - linear @ crop_center
        upright = Image.fromarray(np.ascontiguousarray(image)).transform(
            (crop_side, crop_side),
            Image.Transform.AFFINE,
            [linear[0, 0], linear[0, 1], offset[0], linear[1, 0], linear[1, 1], offset[1]],
            Image.Resampling.BILINEAR,
        )
        half = side * scale / 2
        face_box = (crop_side / 2 - half, crop_side / 2 - half, crop_side / 2 + half, crop_side / 2 + half)
        again = self._onet(np.asarray(upright), [face_box])[0]
        if again is None or again[0] < self.min_score:
            return landmarks
        return again[2] @ linear.T + offset

    def _onet(
        self, image: np.ndarray, boxes: list[tuple[float, float, float, float]], grow: float = 0.0
    ) -> list[tuple[float, np.ndarray, np.ndarray] | None]:
        """MTCNN's last stage on given boxes: (score, refined box, landmarks) each, None if off-image.

        Boxes are squared (and enlarged by `grow` on each side) like MTCNN's own third stage.
        """
        height, width = image.shape[:2]
        given = torch.tensor([list(b) for b in boxes], dtype=torch.float32)
        margin = (given[:, 2:] - given[:, :2]) * grow
        candidates = rerec(torch.cat([given[:, :2] - margin, given[:, 2:] + margin], 1))
        pixels = torch.from_numpy(np.require(image, requirements=["C", "W"])).permute(2, 0, 1).float()
        y, ey, x, ex = pad(candidates, width, height)
        crops, usable = [], []
        for k in range(len(candidates)):
            if ey[k] > y[k] and ex[k] > x[k]:
                crops.append(imresample(pixels[None, :, y[k] - 1 : ey[k], x[k] - 1 : ex[k]], (48, 48)))
                usable.append(k)
        results: list[tuple[float, np.ndarray, np.ndarray] | None] = [None] * len(boxes)
        if not crops:
            return results
        crop_boxes = torch.tensor([[x[k], y[k], ex[k], ey[k]] for k in usable], dtype=torch.float32)
        regression, marks, probs = self.mtcnn.onet((torch.cat(crops) - 127.5) * 0.0078125)
        scores = probs[:, 1]
        box_w = crop_boxes[:, 2] - crop_boxes[:, 0] + 1
        box_h = crop_boxes[:, 3] - crop_boxes[:, 1] + 1
        points_x = box_w[:, None] * marks[:, :5] + crop_boxes[:, :1] - 1
        points_y = box_h[:, None] * marks[:, 5:] + crop_boxes[:, 1:2] - 1
        points = torch.stack([points_x, points_y], -1).numpy().astype(np.float64)
        fitted = bbreg(torch.cat([crop_boxes, scores[:, None]], 1), regression).numpy().astype(np.float64)
        for row, k in enumerate(usable):
            results[k] = (float(scores[row]), fitted[row, :4], points[row])
        return results

    @torch.inference_mode()
    def refine(self, image: np.ndarray, faces: list[Detection]) -> list[Detection | None]:
        """Follow known faces into a new frame with MTCNN's last stage only (O-Net).

        Much cheaper than a full detection: each previous box, squared and slightly enlarged, is
        re-scored and its landmarks found again. The box then moves and scales with the landmarks
        rather than taking O-Net's own box edges, which jitter by several pixels from frame to
        frame (the top edge most: hair has no clear border). A face that moved away or turned
        gets None (lost).
        """
        results: list[Detection | None] = []
        if not faces:
            return results
        height, width = image.shape[:2]
        for face, found in zip(faces, self._onet(image, [f.box for f in faces], grow=0.1), strict=True):
            kept = [] if found is None else self._keep(found[1][None], np.array([found[0]]), found[2][None], image)
            if not kept:
                results.append(None)
                continue
            landmarks = kept[0].landmarks
            shift = landmarks.mean(0) - face.landmarks.mean(0)
            scale = float(np.clip(_spread(landmarks) / max(_spread(face.landmarks), 1e-6), 0.8, 1.25))
            center = np.array([(face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2]) + shift
            half = np.array([face.box[2] - face.box[0], face.box[3] - face.box[1]]) * scale / 2
            x1, y1 = center - half
            x2, y2 = center + half
            box = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
            results.append(Detection(tuple(float(v) for v in box), kept[0].score, landmarks))
        return results


def _spread(landmarks: np.ndarray) -> float:
    """Root-mean-square distance of the landmarks from their centre: the face's size in pixels."""
    return float(np.sqrt(((landmarks - landmarks.mean(0)) ** 2).sum(1).mean()))
