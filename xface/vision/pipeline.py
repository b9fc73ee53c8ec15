"""Faces in, readings out: `Analyzer` for photos (stateless) and `AnalyzerStream` for video.

The stream runs a full MTCNN detection only every few frames; in between, each known face is
followed by MTCNN's last stage alone (see `FaceDetector.refine`). Faces keep a stable id,
their probabilities are smoothed over time, and the label changes only after the new emotion
has led for a few frames, so the words on screen do not flicker.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from xface.emotions import EMOTIONS
from xface.vision.align import align_face
from xface.vision.classifier import ExpressionClassifier, View, load_classifier
from xface.vision.cues import CueBaseline, as_dict, intensities, measure
from xface.vision.detect import Detection, FaceDetector, load_mtcnn
from xface.vision.images import load_image
from xface.vision.landmarks import FaceMesh, MeshModel


@dataclass
class FaceReading:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
    landmarks: np.ndarray  # (5, 2)
    detection_score: float
    probs: dict[str, float]  # the seven EMOTIONS, summing to 1
    emotion: str
    confidence: float
    face_id: int | None = None
    aligned: np.ndarray | None = field(default=None, repr=False, compare=False)
    """The aligned crop the model saw; kept in memory only, never stored."""
    mesh: np.ndarray | None = field(default=None, repr=False, compare=False)
    """The face mesh (468, 3) in image pixels (x, y, depth); in memory only, for drawing the cues."""
    cues: dict[str, float] | None = None
    """What the face is doing, measured: every name in `xface.vision.cues.CUE_NAMES` → intensity in [0, 1]
    (0 = as in a relaxed face, 1 = as strong as faces get); None when no face mesh could be fitted."""
    cues_against_typical: bool = True
    """Whether `cues` were measured against a typical relaxed face (photos, a stream's first seconds)
    rather than this face's own relaxed face, learned by the stream (`xface.teach.explain.show_at`)."""
    fer2013_probs: dict[str, float] | None = None
    """The model's FER2013-label output (`probs` is the crowd's reading); photos only, not on video."""

    def to_dict(self) -> dict:
        """JSON-ready, without pixels."""
        record = {
            "box": [round(v, 1) for v in self.box],
            "landmarks": np.round(self.landmarks, 1).tolist(),
            "detection_score": round(self.detection_score, 4),
            "emotion": self.emotion,
            "confidence": round(self.confidence, 4),
            "probs": {name: round(p, 4) for name, p in self.probs.items()},
        }
        if self.face_id is not None:
            record["face_id"] = self.face_id
        if self.cues is not None:
            record["cues"] = {name: round(value, 3) for name, value in self.cues.items()}
        return record


def _reading(detection: Detection, probs: np.ndarray, aligned: np.ndarray, face_id: int | None = None) -> FaceReading:
    top = int(np.argmax(probs))
    return FaceReading(
        box=detection.box,
        landmarks=detection.landmarks,
        detection_score=detection.score,
        probs={name: float(p) for name, p in zip(EMOTIONS, probs, strict=True)},
        emotion=EMOTIONS[top],
        confidence=float(probs[top]),
        face_id=face_id,
        aligned=aligned,
    )


_NEUTRAL = EMOTIONS.index("neutral")


def _typical_cues(mesh: FaceMesh) -> dict[str, float]:
    """A photo's cues: this face against a typical relaxed face (a stream learns each face's own)."""
    return as_dict(intensities(measure(mesh.points)))


class Analyzer:
    """Detect, align and classify every face in a photo. Keeps no state between calls.

    `model` is a local checkpoint folder (default: the bundled `models/xface-vit`).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        min_face_size: int = 20,
        flip_average: bool = True,
        threads: int | None = None,
        classifier: ExpressionClassifier | None = None,
    ) -> None:
        self.classifier = classifier or load_classifier(model, flip_average=flip_average, threads=threads)
        self.detector = FaceDetector(load_mtcnn(threads or 1), min_face_size=min_face_size)
        self.mesh = MeshModel(threads=threads or 1)
        """The face mesh (468 points) behind the cues."""
        self.inference_lock = threading.Lock()
        """Held while the models run: one analysis at a time, whichever thread asks (the live page's
        analysis thread, its "Why?" button, the quiz). Two model calls at once on a 2-core CPU only
        slow each other down, and the face-mesh interpreter is not thread-safe."""

    def align(self, image: np.ndarray, detections: list[Detection]) -> np.ndarray:
        """Aligned crops (N, h, w, 3) at the classifier's input size."""
        size = self.classifier.image_size
        if not detections:
            return np.zeros((0, *size, 3), np.uint8)
        return np.stack([align_face(image, d.landmarks, size) for d in detections])

    def meshes(self, image: np.ndarray, detections: list[Detection]) -> list[FaceMesh | None]:
        """The face mesh of each detected face (None where the mesh model sees no face)."""
        return [self.mesh.fit(image, d.box, d.landmarks) for d in detections]

    def analyze(self, image: str | Path | bytes | Image.Image | np.ndarray, cues: bool = True) -> list[FaceReading]:
        """Readings for every face, largest first; cues against a typical relaxed face (`cues=False`: expressions
        only, as `xface evaluate --photos` reads them). Bad input: `ImageError`."""
        pixels = load_image(image)
        with self.inference_lock:
            detections = self.detector.detect(pixels)
            crops = self.align(pixels, detections)
            outputs = self.classifier.predict_outputs(crops)
            meshes = self.meshes(pixels, detections) if cues else [None] * len(detections)
        readings = [_reading(d, p, c) for d, p, c in zip(detections, outputs.shown, crops, strict=True)]
        for reading, fer2013, mesh in zip(readings, outputs.fer2013, meshes, strict=True):
            reading.fer2013_probs = {name: float(p) for name, p in zip(EMOTIONS, fer2013, strict=True)}
            if mesh is not None:
                reading.mesh = mesh.points
                reading.cues = _typical_cues(mesh)
        return readings

    def face_cues(self, image: str | Path | bytes | Image.Image | np.ndarray) -> dict[str, float] | None:
        """The cues of the largest face against a typical relaxed face, without reading its expression;
        None when no face (or no face mesh) is found. Bad input: `ImageError`."""
        pixels = load_image(image)
        with self.inference_lock:
            detections = self.detector.detect(pixels)
            mesh = self.mesh.fit(pixels, detections[0].box, detections[0].landmarks) if detections else None
        return None if mesh is None else _typical_cues(mesh)

    def attention_map(self, reading: FaceReading) -> np.ndarray:
        """Where the model looked on this face's aligned crop (grid in [0, 1])."""
        if reading.aligned is None:
            raise ValueError("this reading carries no aligned face")
        with self.inference_lock:
            return self.classifier.attention_map(reading.aligned)

    def stream(self, **settings) -> AnalyzerStream:
        return AnalyzerStream(self, **settings)


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class HeldLabel:
    """The emotion a face shows, steadied: a new leader must lead `hold_frames` frames in a row to take over.

    Without it the words on screen would flicker between two close emotions from frame to frame.
    """

    label: int
    hold_frames: int
    challenger: int = -1
    challenger_frames: int = 0

    def update(self, probs: np.ndarray) -> int:
        """Take this frame's (smoothed) probabilities into account; returns the label to show."""
        leader = int(np.argmax(probs))
        if leader == self.label:
            self.challenger, self.challenger_frames = -1, 0
            return self.label
        self.challenger_frames = self.challenger_frames + 1 if leader == self.challenger else 1
        self.challenger = leader
        if self.challenger_frames >= self.hold_frames:
            self.label, self.challenger, self.challenger_frames = leader, -1, 0
        return self.label


@dataclass
class _Track:
    face_id: int
    detection: Detection
    probs: np.ndarray
    held: HeldLabel


class AnalyzerStream:
    """Stateful video analysis: stable face ids, smoothed probabilities, steady labels.

    - `detect_every`: frames between full detections. Faces are followed in between, and a face that
      is lost brings the next full detection forward; full detections are there to find new faces.
    - `max_side`: frames are shrunk to this longer side for full detection.
    - `smoothing`: weight of the past in the exponential moving average of probabilities.
    - `hold_frames`: a new label must lead this many frames in a row before it is shown.
    """

    def __init__(
        self,
        analyzer: Analyzer,
        detect_every: int = 10,
        max_side: int = 320,
        min_face_size: int = 24,
        smoothing: float = 0.7,
        hold_frames: int = 4,
    ) -> None:
        self.analyzer = analyzer
        self.detector = FaceDetector(analyzer.detector.mtcnn, min_face_size=min_face_size, max_side=max_side)
        self.detect_every = max(1, detect_every)
        self.smoothing = smoothing
        self.hold_frames = hold_frames
        self.frame_index = 0
        self.last_timings: dict[str, float] = {}
        """Seconds spent per stage on the last frame (for `xface bench` and the live page's status)."""
        self.full_detection = False
        """Whether the last frame was searched whole (True) or its known faces followed."""
        self.tracks: list[_Track] = []
        self._next_id = 1
        self._baselines: dict[int, CueBaseline] = {}
        """Each tracked face's own relaxed face (cues are measured against it once it is ready)."""
        self._capture_all = False
        self._baseline_lock = threading.Lock()
        """Baselines change in the analysis thread and on request from the page's thread."""

    def capture_baseline(self, face_id: int | None = None) -> None:
        """Learn a fresh relaxed face from the next frames: for one face, or for every face (None).

        Ask the person to hold a relaxed face for a few seconds. Without a capture, each face's
        baseline keeps running on its own (see `xface.vision.cues.CueBaseline`).
        """
        with self._baseline_lock:
            if face_id is None:
                self._capture_all = True
                for baseline in self._baselines.values():
                    baseline.capture()
            else:
                self._baselines.setdefault(face_id, CueBaseline()).capture()

    def baseline_ready(self, face_id: int) -> bool:
        """Are this face's cues measured against its own relaxed face yet?"""
        with self._baseline_lock:
            baseline = self._baselines.get(face_id)
            return baseline is not None and baseline.ready

    def _cues(self, face_id: int, measures: np.ndarray, neutral: float) -> dict[str, float]:
        """Cues against this face's own relaxed face once known (else a typical one); the frame joins its baseline,
        as far from rest as Xface's reading is from neutral (`neutral`: its probability)."""
        baseline = self._baseline(face_id)
        baseline.add(measures, movement=1.0 - neutral)
        own = baseline.reference()
        return as_dict(intensities(measures, own))

    def _baseline(self, face_id: int) -> CueBaseline:
        if face_id not in self._baselines:
            baseline = CueBaseline()
            if self._capture_all:
                baseline.capture()
            self._baselines[face_id] = baseline
        return self._baselines[face_id]

    def _view(self) -> View | None:
        """Each frame is read once, as seen and mirrored by turns: the running average of probabilities
        then mixes both views, as a photo's reading averages them in one pass, at half the cost."""
        if not self.analyzer.classifier.flip_average:
            return None
        return "mirrored" if self.frame_index % 2 else "as_seen"

    def _locate(self, frame: np.ndarray) -> list[tuple[Detection, _Track | None]]:
        """This frame's faces, each with the track it continues (None for a new face)."""
        self.full_detection = self.frame_index % self.detect_every == 0 or not self.tracks
        if not self.full_detection:
            followed = self.detector.refine(frame, [t.detection for t in self.tracks])
            if all(d is not None for d in followed):
                return list(zip(followed, self.tracks, strict=True))
            self.full_detection = True  # a face was lost: look for every face now
        detections = self.detector.detect(frame)
        pairs: list[tuple[Detection, _Track | None]] = []
        free = list(self.tracks)
        for detection in detections:
            best = max(free, key=lambda t: box_iou(t.detection.box, detection.box), default=None)
            if best is not None and box_iou(best.detection.box, detection.box) >= 0.3:
                free.remove(best)
                pairs.append((detection, best))
            else:
                pairs.append((detection, None))
        return pairs

    def process(self, frame: np.ndarray) -> list[FaceReading]:
        """Readings for one RGB video frame, with `face_id` and smoothed `probs`."""
        frame = load_image(frame)
        with self.analyzer.inference_lock:
            started = time.perf_counter()
            pairs = self._locate(frame)
            located = time.perf_counter()
            crops = self.analyzer.align(frame, [d for d, _ in pairs])
            aligned = time.perf_counter()
            probs = self.analyzer.classifier.predict(crops, view=self._view())
            classified = time.perf_counter()
            self.frame_index += 1
            meshes = self.analyzer.meshes(frame, [d for d, _ in pairs])
            raw = [None if m is None else measure(m.points) for m in meshes]
            measured = time.perf_counter()
        self.last_timings = {
            "detect": located - started,
            "align": aligned - located,
            "classify": classified - aligned,
            "cues": measured - classified,
        }
        with self._baseline_lock:
            readings = self._readings(pairs, probs, crops, meshes, raw)
        return readings

    def _readings(
        self,
        pairs: list[tuple[Detection, _Track | None]],
        probs: np.ndarray,
        crops: np.ndarray,
        meshes: list[FaceMesh | None],
        raw: list[np.ndarray | None],
    ) -> list[FaceReading]:
        """Update the tracks and their baselines with this frame's results (caller holds `_baseline_lock`)."""
        tracks, readings = [], []
        for (detection, track), fresh, crop, mesh, measures in zip(pairs, probs, crops, meshes, raw, strict=True):
            if track is None:
                track = _Track(self._next_id, detection, fresh, HeldLabel(int(np.argmax(fresh)), self.hold_frames))
                self._next_id += 1
            else:
                track.detection = detection
                track.probs = self.smoothing * track.probs + (1 - self.smoothing) * fresh
                track.held.update(track.probs)
            tracks.append(track)
            reading = _reading(detection, track.probs, crop, track.face_id)
            label = track.held.label
            reading.emotion, reading.confidence = EMOTIONS[label], float(track.probs[label])
            if mesh is not None:
                reading.mesh = mesh.points
                reading.cues = self._cues(track.face_id, measures, float(track.probs[_NEUTRAL]))
                reading.cues_against_typical = not self._baselines[track.face_id].ready
            readings.append(reading)
        self.tracks = tracks
        self._baselines = {t.face_id: self._baselines[t.face_id] for t in tracks if t.face_id in self._baselines}
        self._capture_all = False  # faces that arrive later keep a running baseline
        return readings
