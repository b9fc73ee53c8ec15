"""MTCNN (Zhang et al. 2016) on ONNX Runtime and numpy: facenet-pytorch's face detector, without torch.

The app's live path must start fast and stay small: importing torch costs 2.5 s and about 500 MB of
resident memory (PyPI's torch is the CUDA build), more than the rest of the app together. So the
three networks run on ONNX Runtime, exported from facenet-pytorch's own bundled weights by
`scripts/export_onnx.py`, and the steps between them (image pyramid, candidate boxes,
non-maximum suppression, box regression) are a step-for-step port of facenet-pytorch's
`detect_face` for one image, written by hand because facenet-pytorch's own runs on torch tensors.
`tests/vision/test_mtcnn.py` checks that both find the same faces on real photos.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from xface.vision.runtime import load_export, onnx_session

MTCNN_EXPORTS = Path(__file__).resolve().parents[2] / "models" / "mtcnn"
"""MTCNN's three networks exported to ONNX by `scripts/export_onnx.py`."""
NETWORKS = ("pnet", "rnet", "onet")
PYRAMID_FACTOR = 0.709
"""Each level of the image pyramid is this much smaller than the last (MTCNN's own setting)."""


def facenet_weights() -> dict[str, Path] | None:
    """facenet-pytorch's bundled weight files, which the exports must come from (found without importing torch);
    None where facenet-pytorch is not installed (the base install: then the exports are the weights)."""
    from importlib.util import find_spec

    spec = find_spec("facenet_pytorch")
    if spec is None or spec.origin is None:
        return None
    data = Path(spec.origin).parent / "data"
    return {name: data / f"{name}.pt" for name in NETWORKS}


class OnetOutput(NamedTuple):
    """O-Net's answer for a batch of 48×48 crops."""

    regression: np.ndarray  # (N, 4) box corrections, in shares of the crop's side
    landmarks: np.ndarray  # (N, 10) five x then five y, in shares of the crop's side
    probabilities: np.ndarray  # (N,) that the crop is a face


class Mtcnn:
    """MTCNN's three networks on ONNX Runtime (`threads` threads each). Inputs are normalised (N, 3, h, w) float32."""

    def __init__(self, folder: str | Path = MTCNN_EXPORTS, threads: int = 1) -> None:
        folder = Path(folder)
        weights = facenet_weights()
        sessions = {}
        for name in NETWORKS:
            path = folder / f"{name}.onnx"
            if weights is None:  # nothing to check the export against: it is the only copy of the weights here
                sessions[name] = onnx_session(path, threads) if path.is_file() else None
            else:
                sessions[name] = load_export(path, [weights[name]], threads)
            if sessions[name] is None:
                raise FileNotFoundError(
                    f"{path} is missing or was not made from facenet-pytorch's {name}.pt: "
                    "run scripts/export_onnx.py to make it again"
                )
        self._pnet, self._rnet, self._onet = (sessions[name] for name in NETWORKS)

    def pnet(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """P-Net over a whole (1, 3, h, w) image: box corrections (1, 4, h', w') and face probabilities (1, h', w')."""
        regression, probabilities = self._pnet.run(None, {"pixel_values": pixels})
        return regression, probabilities[:, 1]

    def rnet(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """R-Net on (N, 3, 24, 24) crops: box corrections (N, 4) and face probabilities (N,)."""
        if len(crops) == 0:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        regression, probabilities = self._rnet.run(None, {"pixel_values": crops})
        return regression, probabilities[:, 1]

    def onet(self, crops: np.ndarray) -> OnetOutput:
        """O-Net on (N, 3, 48, 48) crops."""
        if len(crops) == 0:
            return OnetOutput(np.zeros((0, 4), np.float32), np.zeros((0, 10), np.float32), np.zeros(0, np.float32))
        regression, landmarks, probabilities = self._onet.run(None, {"pixel_values": crops})
        return OnetOutput(regression, landmarks, probabilities[:, 1])


def normalise(pixels: np.ndarray) -> np.ndarray:
    """(N, h, w, 3) pixel values → MTCNN's (N, 3, h, w) float32 input in [-1, 1]."""
    return np.ascontiguousarray(((np.asarray(pixels, np.float32) - 127.5) * 0.0078125).transpose(0, 3, 1, 2))


def _area_weights(size_in: int | np.ndarray, size_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges of torch's "area" interpolation (adaptive average pooling): [floor(i·n/m), ceil((i+1)·n/m)).
    `size_in` may be an array of sizes (N, 1): then one row of edges per size."""
    index = np.arange(size_out)
    start = (index * size_in) // size_out
    end = -((-(index + 1) * size_in) // size_out)
    return start, end


class IntegralImage:
    """Sums of an (H, W, C) image over every top-left rectangle: any box of it resizes by averaging in a
    few gathers. MTCNN resizes one image to every pyramid level and a hundred boxes of it each time."""

    def __init__(self, image: np.ndarray) -> None:
        height, width, channels = image.shape
        self.sums = np.zeros((height + 1, width + 1, channels), np.float64)
        np.cumsum(np.cumsum(image, 0, dtype=np.float64), 1, out=self.sums[1:, 1:])

    def resize(self, top: int, left: int, height: int, width: int, size: tuple[int, int]) -> np.ndarray:
        """The box (rows top.., columns left..) resized to `size` (h, w), as torch's `interpolate(mode="area")`."""
        row_start, row_end = _area_weights(height, size[0])
        column_start, column_end = _area_weights(width, size[1])
        return self._averages(row_start + top, row_end + top, column_start + left, column_end + left)

    def resize_boxes(self, tops: np.ndarray, lefts: np.ndarray, heights: np.ndarray, widths: np.ndarray, side: int):
        """Many boxes, each resized to side×side at once: (N, side, side, C)."""
        row_start, row_end = _area_weights(heights[:, None], side)
        column_start, column_end = _area_weights(widths[:, None], side)
        rows = (row_start + tops[:, None])[:, :, None], (row_end + tops[:, None])[:, :, None]
        columns = (column_start + lefts[:, None])[:, None, :], (column_end + lefts[:, None])[:, None, :]
        return self._averages(*rows, *columns)

    def _averages(self, row_start, row_end, column_start, column_end) -> np.ndarray:
        """Mean over each rectangle [row_start, row_end) × [column_start, column_end); the edges broadcast."""
        if np.ndim(row_start) == 1:
            row_start, row_end = row_start[:, None], row_end[:, None]
        sums = self.sums
        total = sums[row_end, column_end] - sums[row_start, column_end] - sums[row_end, column_start]
        total += sums[row_start, column_start]
        area = (row_end - row_start) * (column_end - column_start)
        return (total / area[..., None]).astype(np.float32)


def area_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An (H, W, C) image resized to `size` (h, w) by averaging, as torch's `interpolate(mode="area")`."""
    return IntegralImage(image).resize(0, 0, image.shape[0], image.shape[1], size)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, by_smaller: bool = False) -> np.ndarray:
    """Indices of the boxes kept by non-maximum suppression, best first.

    Default: torchvision's `nms` (overlap = intersection over union, areas without the +1). With
    `by_smaller`, facenet-pytorch's "Min" strategy for the last stage (intersection over the smaller
    box, areas with the +1)."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    x1, y1, x2, y2 = (boxes[:, k].astype(np.float64) for k in range(4))
    extra = 1.0 if by_smaller else 0.0
    area = (x2 - x1 + extra) * (y2 - y1 + extra)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while len(order):
        best, rest = order[0], order[1:]
        keep.append(best)
        width = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + extra)
        height = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + extra)
        inter = width * height
        overlap = (
            inter / np.minimum(area[best], area[rest]) if by_smaller else inter / (area[best] + area[rest] - inter)
        )
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.int64)


def regress(boxes: np.ndarray, corrections: np.ndarray) -> np.ndarray:
    """Boxes (N, ≥4) moved by the network's corrections (N, 4), in shares of each box's size (+1, as MTCNN)."""
    moved = boxes.copy()
    width = boxes[:, 2] - boxes[:, 0] + 1
    height = boxes[:, 3] - boxes[:, 1] + 1
    moved[:, :4] = boxes[:, :4] + corrections[:, :4] * np.stack([width, height, width, height], 1)
    return moved


def landmark_points(boxes: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """O-Net's landmarks (N, 10: five x then five y, in shares of each box) as (N, 5, 2) image points."""
    width = boxes[:, 2] - boxes[:, 0] + 1
    height = boxes[:, 3] - boxes[:, 1] + 1
    points_x = width[:, None] * marks[:, :5] + boxes[:, 0:1] - 1
    points_y = height[:, None] * marks[:, 5:] + boxes[:, 1:2] - 1
    return np.stack([points_x, points_y], -1)


def to_squares(boxes: np.ndarray) -> np.ndarray:
    """Each box made square on its longer side, about the same centre."""
    squared = boxes.copy()
    height = boxes[:, 3] - boxes[:, 1]
    width = boxes[:, 2] - boxes[:, 0]
    side = np.maximum(width, height)
    squared[:, 0] = boxes[:, 0] + width * 0.5 - side * 0.5
    squared[:, 1] = boxes[:, 1] + height * 0.5 - side * 0.5
    squared[:, 2] = squared[:, 0] + side
    squared[:, 3] = squared[:, 1] + side
    return squared


class PixelBox(NamedTuple):
    """A box in whole pixels, clipped to the image, as MTCNN crops it: rows top-1..bottom, columns left-1..right."""

    top: np.ndarray
    bottom: np.ndarray
    left: np.ndarray
    right: np.ndarray


def clip_to_pixels(boxes: np.ndarray, width: int, height: int) -> PixelBox:
    """facenet-pytorch's `pad`: truncate to whole pixels (1-based) and clip to the image."""
    whole = np.trunc(boxes[:, :4]).astype(np.int64)
    return PixelBox(
        np.maximum(whole[:, 1], 1),
        np.minimum(whole[:, 3], height),
        np.maximum(whole[:, 0], 1),
        np.minimum(whole[:, 2], width),
    )


def crops(image: IntegralImage, pixels: PixelBox, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Each box's pixels area-resized to side×side and normalised, and the indices of the boxes that had pixels."""
    usable = np.flatnonzero((pixels.bottom > pixels.top - 1) & (pixels.right > pixels.left - 1))
    if len(usable) == 0:
        return np.zeros((0, 3, side, side), np.float32), usable
    top, bottom, left, right = (edge[usable] for edge in pixels)
    return normalise(image.resize_boxes(top - 1, left - 1, bottom - top + 1, right - left + 1, side)), usable


def _pyramid_candidates(mtcnn: Mtcnn, image: IntegralImage, min_face_size: int, threshold: float) -> np.ndarray:
    """Stage one: P-Net over the image pyramid → candidate boxes (N, 9): box, score, corrections."""
    height, width = image.sums.shape[0] - 1, image.sums.shape[1] - 1
    scale = 12.0 / min_face_size
    smallest = min(height, width) * scale
    found = []
    while smallest >= 12:
        level = image.resize(0, 0, height, width, (int(height * scale + 1), int(width * scale + 1)))
        corrections, probabilities = mtcnn.pnet(normalise(level[None]))
        rows, columns = np.nonzero(probabilities[0] >= threshold)
        if len(rows):
            cells = np.stack([columns, rows], 1).astype(np.float32)
            corner1 = np.floor((2 * cells + 1) / scale)
            corner2 = np.floor((2 * cells + 12) / scale)
            score = probabilities[0, rows, columns]
            boxes = np.concatenate([corner1, corner2, score[:, None], corrections[0][:, rows, columns].T], 1)
            found.append(boxes[nms(boxes[:, :4], boxes[:, 4], 0.5)])
        scale *= PYRAMID_FACTOR
        smallest *= PYRAMID_FACTOR
    if not found:
        return np.zeros((0, 9), np.float32)
    boxes = np.concatenate(found)
    return boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]


def detect_faces(
    mtcnn: Mtcnn, image: np.ndarray, min_face_size: int, thresholds: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """MTCNN's three stages on an (H, W, 3) uint8 image: boxes (N, 5: x1, y1, x2, y2, score) and landmarks (N, 5, 2)."""
    height, width = image.shape[:2]
    pixels = IntegralImage(image)
    boxes = _pyramid_candidates(mtcnn, pixels, min_face_size, thresholds[0])
    no_faces = np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32)
    if len(boxes) == 0:
        return no_faces
    # Stage one's corrections are in shares of the box's size without the +1.
    size = boxes[:, 2:4] - boxes[:, 0:2]
    corrected = boxes[:, 0:4] + boxes[:, 5:9] * np.concatenate([size, size], 1)
    boxes = to_squares(np.concatenate([corrected, boxes[:, 4:5]], 1))

    # Stage two: R-Net re-scores each candidate.
    batch, usable = crops(pixels, clip_to_pixels(boxes, width, height), 24)
    corrections, score = mtcnn.rnet(batch)
    boxes = boxes[usable]
    passed = score > thresholds[1]
    boxes = np.concatenate([boxes[passed, :4], score[passed, None]], 1)
    corrections = corrections[passed]
    keep = nms(boxes[:, :4], boxes[:, 4], 0.7)
    boxes = to_squares(regress(boxes[keep], corrections[keep]))
    if len(boxes) == 0:
        return no_faces

    # Stage three: O-Net scores again and finds the five landmarks.
    batch, usable = crops(pixels, clip_to_pixels(boxes, width, height), 48)
    output = mtcnn.onet(batch)
    boxes = boxes[usable]
    passed = output.probabilities > thresholds[2]
    boxes = np.concatenate([boxes[passed, :4], output.probabilities[passed, None]], 1)
    marks = output.landmarks[passed]
    points = landmark_points(boxes, marks)
    boxes = regress(boxes, output.regression[passed])
    keep = nms(boxes[:, :4], boxes[:, 4], 0.7, by_smaller=True)
    return boxes[keep], points[keep]
