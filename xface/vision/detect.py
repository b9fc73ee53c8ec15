"""Face detection with facenet-pytorch's MTCNN, plus two checks against non-human faces.

MTCNN's own confidence is not enough: on `no_faces/tfod_image1.jpg` it scores a beagle at 0.97,
above a real face at 0.976. Two more checks, each cheap:
- Mirror test: human faces are nearly left-right symmetric, so MTCNN's last stage (O-Net) still
  calls the *mirrored* crop a face, while the beagle's muzzle, seen from the side, drops to 0.09.
- Geometry (`plausible_face`): on a face seen from the front the nose lies between the eyes and
  below them, and the mouth lies below the nose, measured in the frame of the eye line so tilted
  heads pass. A face turned aside fails it although it is a face; so geometry does not reject on
  its own, it decides how sure the mirror test must be.

Built in facenet-pytorch's style: one `Mtcnn` holds the three networks (`load_mtcnn`, see `xface.vision.mtcnn`), pure
functions run its stages on given boxes (`onet`, `onet_upright`, `upright_landmarks`), and `FaceDetector` is a set
of settings over a shared MTCNN. The photo detector and every video stream share one MTCNN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from PIL import Image

from xface.vision.mtcnn import (
    Mtcnn,
    area_resize,
    clip_to_pixels,
    detect_faces,
    landmark_points,
    normalise,
    regress,
    to_squares,
)

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels

UPRIGHT_WITHIN_DEGREES = 8.0
"""Faces whose eye line tilts more than this get their landmarks measured again, upright."""

FOLLOW_MIN_SCORE = 0.5
"""A followed face is kept while O-Net scores it at least this (its own decision boundary). A new face needs
`min_score`; a face already found dips below that now and then (a blink, motion blur) without going away."""

FOLLOW_RECENTRE = 0.04
"""A followed face that moved more than this share of its square's side is looked at again, centred."""
"""Faces whose eye line tilts more than this get their landmarks measured again, upright."""

MTCNN_THRESHOLDS = (0.6, 0.7, 0.7)
"""facenet-pytorch's defaults for its three stages; the last one is also the least O-Net score a face keeps."""

MIRROR_FACE = 0.5
"""O-Net must still call the mirrored crop a face: its own decision boundary (real faces: 99 % score >= 0.59)."""

MIRROR_FACE_TURNED = 0.9
"""Where the landmark layout is doubtful (a face turned aside, or no face), the mirror test must be sure."""

PHOTO_MAX_SIDE = 1280
"""Photos larger than this (phone photos of 12-48 MP) are searched on a copy shrunk to it; each face found
is then measured on the full photo. MTCNN's pyramid on 48 MP takes 10 s and 1.7 GB; this way about 1.4 s
of CPU and 50 MB. A face must then be 20 px in the copy: 60 px on a 12 MP photo, 125 px on 48 MP."""


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float
    landmarks: np.ndarray  # (5, 2): left eye, right eye, nose, mouth left, mouth right (image left/right)


class OnetResult(NamedTuple):
    """MTCNN's last stage (O-Net) on one square crop."""

    score: float  # probability that the crop is a face
    box: np.ndarray  # (4,) the face's box after O-Net's regression, x1, y1, x2, y2
    landmarks: np.ndarray  # (5, 2) in image pixels


def load_mtcnn(threads: int = 1) -> Mtcnn:
    """MTCNN's three networks (facenet-pytorch's weights) on ONNX Runtime, `threads` threads each."""
    return Mtcnn(threads=threads)


def plausible_face(box: np.ndarray | Sequence[float], landmarks: np.ndarray) -> bool:
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


def looks_human(face: OnetResult, mirror_score: float, min_score: float = MTCNN_THRESHOLDS[2]) -> bool:
    """O-Net is confident, and the mirrored crop is still a face: sure of it where the layout is doubtful."""
    if face.score < min_score:
        return False
    needed = MIRROR_FACE if plausible_face(face.box, face.landmarks) else MIRROR_FACE_TURNED
    return mirror_score >= needed


def onet(
    mtcnn: Mtcnn, image: np.ndarray, boxes: Sequence[Box] | np.ndarray, mirrored: bool = False
) -> list[OnetResult | None]:
    """MTCNN's last stage on given boxes of an (H, W, 3) uint8 image; None for a box off the image.

    Boxes are squared like MTCNN's own third stage. Only the
    crops are turned into floats, so a 48 MP photo costs what its faces cost. `mirrored` shows O-Net
    each crop flipped left-right: its score then says whether the mirror image is a face too (the
    box and landmarks it returns are then those of the mirror image and mean little).
    """
    results: list[OnetResult | None] = [None] * len(boxes)
    if len(boxes) == 0:
        return results
    height, width = image.shape[:2]
    given = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    candidates = to_squares(given)
    pixels = clip_to_pixels(candidates, width, height)
    found, usable = [], []
    for k in range(len(candidates)):
        top, bottom, left, right = pixels.top[k], pixels.bottom[k], pixels.left[k], pixels.right[k]
        if bottom > top and right > left:
            crop = np.asarray(image[top - 1 : bottom, left - 1 : right], dtype=np.float32)
            found.append(area_resize(crop[:, ::-1] if mirrored else crop, (48, 48)))
            usable.append(k)
    if not found:
        return results
    output = mtcnn.onet(normalise(np.stack(found)))
    crop_boxes = np.array(
        [[pixels.left[k], pixels.top[k], pixels.right[k], pixels.bottom[k]] for k in usable], dtype=np.float64
    )
    points = landmark_points(crop_boxes, output.landmarks)
    fitted = regress(crop_boxes, output.regression.astype(np.float64))
    for row, k in enumerate(usable):
        results[k] = OnetResult(float(output.probabilities[row]), fitted[row, :4], points[row])
    return results


class Square(NamedTuple):
    """A square of the image around a face, turned by `angle` (radians: its eye line) so the face sits upright."""

    center: np.ndarray  # (2,) x, y in image pixels
    side: float  # in image pixels
    angle: float

    @classmethod
    def around(cls, box: Sequence[float] | np.ndarray, landmarks: np.ndarray) -> Square:
        """The square on a face box's longer side, turned by the face's eye line."""
        center = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], dtype=np.float64)
        side = float(max(box[2] - box[0], box[3] - box[1]))
        return cls(center, side, eye_angle(landmarks))


def eye_angle(landmarks: np.ndarray) -> float:
    """The eye line's angle in radians (0: level; positive: the face's right eye, image left, is higher)."""
    eye_line = np.asarray(landmarks[1], dtype=np.float64) - landmarks[0]
    return float(np.arctan2(eye_line[1], eye_line[0]))


ONET_SIZE = 48
"""O-Net's input side in pixels."""


def onet_upright(mtcnn: Mtcnn, image: np.ndarray, squares: Sequence[Square]) -> list[OnetResult | None]:
    """MTCNN's last stage on squares of an (H, W, 3) uint8 image, each turned upright first; one batch.

    O-Net was trained on upright faces: on a head tilted by 25° its eye points drift by a fifth of
    the eye distance. Each square is rendered straight into O-Net's 48×48 input, turned by its
    angle (after shrinking by whole pixel blocks, so a big face does not alias), and the landmarks
    are turned back. Only each face's surroundings go to Pillow. None for a square off the image.
    """
    results: list[OnetResult | None] = [None] * len(squares)
    height, width = image.shape[:2]
    crops, mappings, usable = [], [], []
    for k, square in enumerate(squares):
        reach = square.side * 0.71 + 2  # half the square's diagonal: every pixel a turned square can touch
        left, top = (max(0, int(np.floor(c - reach))) for c in square.center)
        right = min(width, int(np.ceil(square.center[0] + reach)))
        bottom = min(height, int(np.ceil(square.center[1] + reach)))
        if right - left < 2 or bottom - top < 2 or square.side < 2:
            continue
        region = Image.fromarray(np.ascontiguousarray(image[top:bottom, left:right]))
        block = max(1, int(square.side / (2 * ONET_SIZE)))
        if block > 1:
            region = region.reduce(block)
        # Crop point q (O-Net pixels) comes from image point centre + rotation · (q − 24) · side / 48.
        cos, sin = np.cos(square.angle), np.sin(square.angle)
        linear = np.array([[cos, -sin], [sin, cos]]) * (square.side / ONET_SIZE)
        offset = square.center - linear @ [ONET_SIZE / 2, ONET_SIZE / 2]
        in_region = np.hstack([linear, (offset - [left, top])[:, None]]) / block
        crop = region.transform(
            (ONET_SIZE, ONET_SIZE), Image.Transform.AFFINE, in_region.ravel().tolist(), Image.Resampling.BILINEAR
        )
        crops.append(np.asarray(crop))
        mappings.append((linear, offset))
        usable.append(k)
    if not crops:
        return results
    output = mtcnn.onet(normalise(np.stack(crops)))
    marks, regression, scores = output.landmarks.astype(np.float64), output.regression, output.probabilities
    for row, (k, (linear, offset)) in enumerate(zip(usable, mappings, strict=True)):
        points = np.stack([marks[row, :5], marks[row, 5:]], -1) * ONET_SIZE
        fitted = np.array([0, 0, ONET_SIZE, ONET_SIZE]) + regression[row] * ONET_SIZE
        corners = np.array(
            [[fitted[0], fitted[1]], [fitted[2], fitted[1]], [fitted[0], fitted[3]], [fitted[2], fitted[3]]]
        )
        corners = corners @ linear.T + offset
        box = np.concatenate([corners.min(0), corners.max(0)])
        results[k] = OnetResult(float(scores[row]), box, points @ linear.T + offset)
    return results


def upright_landmarks(
    mtcnn: Mtcnn, image: np.ndarray, faces: Sequence[OnetResult], min_score: float
) -> list[np.ndarray]:
    """Each face's landmarks; a tilted face's measured again on an upright copy of it (one O-Net batch for all)."""
    landmarks = [face.landmarks for face in faces]
    tilted = [k for k, face in enumerate(faces) if abs(eye_angle(face.landmarks)) >= np.radians(UPRIGHT_WITHIN_DEGREES)]
    squares = [Square.around(faces[k].box, faces[k].landmarks) for k in tilted]
    for k, again in zip(tilted, onet_upright(mtcnn, image, squares), strict=True):
        if again is not None and again.score >= min_score:
            landmarks[k] = again.landmarks
    return landmarks


def shrink(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """A copy whose longer side is at most `max_side`, and the factor applied (1.0: the image itself).

    Big images are first averaged over whole-pixel blocks a band of rows at a time, so that no full-size
    copy is made (Pillow would hold 192 MB for a 48 MP photo, a float tensor 576 MB).
    """
    height, width = image.shape[:2]
    if max(height, width) <= max_side:
        return image, 1.0
    factor = max_side / max(height, width)
    block = max(1, int(1 / (2 * factor)))  # leave Pillow at least a halving, for a smooth result
    if block == 1:
        small = Image.fromarray(np.ascontiguousarray(image))  # a video frame: small enough to copy
    else:
        band = block * 64
        reduced = [
            np.asarray(Image.fromarray(np.ascontiguousarray(image[top : top + band])).reduce(block))
            for top in range(0, height - height % block, band)
        ]
        small = Image.fromarray(np.concatenate(reduced))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.asarray(small.resize(size, Image.Resampling.BOX)), factor


class FaceDetector:
    """Every human face in an RGB image: boxes, scores and five landmarks, largest face first.

    Settings over a shared `MTCNN` (pass one to share it; by default one is loaded):
    - `min_face_size`: the smallest face searched for, in pixels of the searched copy;
    - `max_side`: larger images are searched on a copy shrunk to this longer side (speed on video,
      memory on big photos), and each face found is measured again on the full image;
    - `min_score`: the least O-Net score a face keeps.
    """

    def __init__(
        self,
        mtcnn: Mtcnn | None = None,
        min_face_size: int = 20,
        min_score: float = MTCNN_THRESHOLDS[2],
        max_side: int | None = PHOTO_MAX_SIDE,
    ) -> None:
        self.mtcnn = mtcnn if mtcnn is not None else load_mtcnn()
        self.min_face_size = min_face_size
        self.min_score = min_score
        self.max_side = max_side

    def candidates(self, image: np.ndarray) -> list[OnetResult]:
        """MTCNN's three stages on the image (shrunk to `max_side`), in full-image pixels, unchecked."""
        small, factor = shrink(image, self.max_side) if self.max_side else (image, 1.0)
        if min(small.shape[:2]) < self.min_face_size:
            return []  # no face of the minimum size fits (and MTCNN would fail on an empty pyramid)
        thresholds = list(MTCNN_THRESHOLDS[:2]) + [min(self.min_score, MTCNN_THRESHOLDS[2])]
        boxes, points = detect_faces(self.mtcnn, small, self.min_face_size, thresholds)
        boxes, points = boxes.astype(np.float64), points.astype(np.float64)
        found = [OnetResult(float(b[4]), b[:4] / factor, p / factor) for b, p in zip(boxes, points, strict=True)]
        if factor < 1.0:
            # Measured again where the pixels are: landmarks from the shrunk copy are off by 1/factor pixels.
            found = [again for again in onet(self.mtcnn, image, [f.box for f in found]) if again is not None]
        return found

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Detect faces in an (H, W, 3) uint8 RGB array; the largest face comes first."""
        found = self._keep(image, self.candidates(image))
        found.sort(key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]), reverse=True)
        return found

    def _keep(self, image: np.ndarray, faces: list[OnetResult]) -> list[Detection]:
        """The human faces among O-Net's findings, clipped to the image, with upright landmarks."""
        confident = [face for face in faces if face.score >= self.min_score]
        mirrored = onet(self.mtcnn, image, [face.box for face in confident], mirrored=True)
        human = [
            face
            for face, mirror in zip(confident, mirrored, strict=True)
            if mirror is not None and looks_human(face, mirror.score, self.min_score)
        ]
        height, width = image.shape[:2]
        kept = []
        for face, landmarks in zip(human, upright_landmarks(self.mtcnn, image, human, self.min_score), strict=True):
            x1, y1, x2, y2 = face.box
            clipped = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
            kept.append(Detection(tuple(float(v) for v in clipped), face.score, landmarks))
        return kept

    def refine(self, image: np.ndarray, faces: list[Detection]) -> list[Detection | None]:
        """Follow known faces into a new frame with MTCNN's last stage only (O-Net), one batch for all.

        Much cheaper than a full detection: each previous box, turned upright by the face's last eye
        line, is scored again and its landmarks found again. The box then moves and
        scales with the landmarks rather than taking O-Net's own box edges, which jitter by several
        pixels from frame to frame (the top edge most: hair has no clear border). A face that moved
        away or turned gets None (lost). The mirror test is left to full detections: the stream's next
        one drops a track that no longer matches a checked face.
        """
        # O-Net sees each face's last box as it is: in a larger crop its points spread outwards, and the
        # box, which scales with them, would creep (6 % over ten frames of a still face).
        squares = [Square.around(face.box, face.landmarks) for face in faces]
        found = onet_upright(self.mtcnn, image, squares)
        # O-Net's points stretch on a face far from its crop's centre: a face that moved that far is
        # looked at again, centred where the first look put it (a second pass for those faces only).
        moved = [
            k
            for k, (face, first) in enumerate(zip(faces, found, strict=True))
            if first is not None
            and np.hypot(*(first.landmarks.mean(0) - face.landmarks.mean(0))) > FOLLOW_RECENTRE * squares[k].side
        ]
        recentred = [
            squares[k]._replace(center=squares[k].center + found[k].landmarks.mean(0) - faces[k].landmarks.mean(0))
            for k in moved
        ]
        for k, again in zip(moved, onet_upright(self.mtcnn, image, recentred), strict=True):
            found[k] = again
        results: list[Detection | None] = []
        height, width = image.shape[:2]
        for face, seen in zip(faces, found, strict=True):
            if seen is None or seen.score < min(FOLLOW_MIN_SCORE, self.min_score):
                results.append(None)
                continue
            landmarks = seen.landmarks
            shift = landmarks.mean(0) - face.landmarks.mean(0)
            scale = float(np.clip(_spread(landmarks) / max(_spread(face.landmarks), 1e-6), 0.8, 1.25))
            center = np.array([(face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2]) + shift
            half = np.array([face.box[2] - face.box[0], face.box[3] - face.box[1]]) * scale / 2
            x1, y1 = center - half
            x2, y2 = center + half
            box = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
            results.append(Detection(tuple(float(v) for v in box), seen.score, landmarks))
        return results


def _spread(landmarks: np.ndarray) -> float:
    """Root-mean-square distance of the landmarks from their centre: the face's size in pixels."""
    return float(np.sqrt(((landmarks - landmarks.mean(0)) ** 2).sum(1).mean()))
