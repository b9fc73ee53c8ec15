"""The public API: Analyzer.analyze on photos, Analyzer.stream on video frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import xface
from xface import EMOTIONS, FaceReading


def test_analyze_accepts_path_pil_and_array_alike(analyzer, group_photo: Path) -> None:
    from_path = analyzer.analyze(group_photo)
    from_pil = analyzer.analyze(Image.open(group_photo))
    from_array = analyzer.analyze(np.asarray(Image.open(group_photo).convert("RGB")))
    assert len(from_path) == len(from_pil) == len(from_array) == 7
    for a, b, c in zip(from_path, from_pil, from_array, strict=True):
        assert a.box == b.box == c.box
        assert a.probs == b.probs == c.probs


def test_readings_carry_every_field(analyzer, group_photo: Path) -> None:
    readings = analyzer.analyze(group_photo)
    for reading in readings:
        assert isinstance(reading, FaceReading)
        x1, y1, x2, y2 = reading.box
        assert 0 <= x1 < x2 and 0 <= y1 < y2
        assert reading.landmarks.shape == (5, 2)
        assert 0.9 <= reading.detection_score <= 1.0
        assert list(reading.probs) == list(EMOTIONS)
        assert abs(sum(reading.probs.values()) - 1) < 1e-4
        assert reading.emotion == max(reading.probs, key=reading.probs.get)
        assert reading.confidence == reading.probs[reading.emotion]
        assert reading.face_id is None
        json.dumps(reading.to_dict())
        assert "aligned" not in reading.to_dict()
    areas = [(r.box[2] - r.box[0]) * (r.box[3] - r.box[1]) for r in readings]
    assert areas == sorted(areas, reverse=True)


def test_analyze_keeps_no_state_between_calls(analyzer, group_photo: Path, portrait: np.ndarray) -> None:
    first = analyzer.analyze(group_photo)
    analyzer.analyze(portrait)
    again = analyzer.analyze(group_photo)
    assert [r.probs for r in first] == [r.probs for r in again]


def test_public_names() -> None:
    assert xface.EMOTIONS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert xface.Analyzer.__name__ == "Analyzer"


def _moving_frames(portrait: np.ndarray, count: int) -> list[np.ndarray]:
    return [np.roll(portrait, shift=(0, 3 * i), axis=(0, 1)) for i in range(count)]


def test_stream_keeps_a_stable_id_for_a_moving_face(analyzer, portrait: np.ndarray) -> None:
    stream = analyzer.stream(detect_every=4)
    ids, lefts = [], []
    for frame in _moving_frames(portrait, 12):
        readings = stream.process(frame)
        assert len(readings) == 1
        ids.append(readings[0].face_id)
        lefts.append(readings[0].box[0])
    assert len(set(ids)) == 1 and ids[0] is not None
    assert lefts[-1] - lefts[0] > 20  # the box followed the face between detections


def test_stream_smooths_probabilities(analyzer, portrait: np.ndarray) -> None:
    stream = analyzer.stream(smoothing=0.7)
    readings = [stream.process(frame)[0] for frame in _moving_frames(portrait, 6)]
    happy = EMOTIONS.index("happy")
    # The model's own reading of each frame's crop, before smoothing: the smoothed values stay within its range.
    # Frames are read as seen and mirrored by turns.
    views = ["as_seen", "mirrored"] * 3
    raw = [analyzer.classifier.predict(r.aligned[None], v)[0, happy] for r, v in zip(readings, views, strict=True)]
    smoothed = [r.probs["happy"] for r in readings]
    assert smoothed[0] == pytest.approx(raw[0], abs=1e-6) and np.ptp(raw) > 0
    assert min(raw) - 1e-6 <= min(smoothed) and max(smoothed) <= max(raw) + 1e-6
    assert np.ptp(smoothed) <= np.ptp(raw) + 1e-6
    assert abs(sum(stream.process(portrait)[0].probs.values()) - 1) < 1e-4


def test_stream_reads_each_frame_once_as_seen_and_mirrored_by_turns(analyzer, portrait, monkeypatch) -> None:
    views = []
    real = analyzer.classifier.predict

    def spy(faces, view=None):
        views.append(view)
        return real(faces, view)

    monkeypatch.setattr(analyzer.classifier, "predict", spy)
    stream = analyzer.stream()
    for _ in range(4):
        stream.process(portrait)
    assert views == ["as_seen", "mirrored", "as_seen", "mirrored"]
    monkeypatch.setattr(analyzer.classifier, "flip_average", False)
    stream.process(portrait)
    assert views[-1] is None  # a classifier told not to flip reads every frame as seen


def test_stream_label_waits_for_evidence_to_hold() -> None:
    from xface.vision.pipeline import HeldLabel

    held = HeldLabel(label=3, hold_frames=3)
    sad = np.array([0.1, 0, 0, 0.2, 0.7, 0, 0])
    assert held.update(sad) == 3
    assert held.update(sad) == 3
    assert held.update(np.array([0.1, 0, 0, 0.8, 0.1, 0, 0])) == 3  # happy leads again: the count starts over
    assert [held.update(sad) for _ in range(3)] == [3, 3, 4]


def test_stream_gives_new_ids_to_new_faces_and_forgets_lost_ones(analyzer, portrait: np.ndarray) -> None:
    stream = analyzer.stream(detect_every=1)
    first = stream.process(portrait)[0].face_id
    assert stream.process(np.full_like(portrait, 90)) == []
    again = stream.process(portrait)[0].face_id
    assert again != first


def test_every_model_call_runs_under_the_inference_lock(analyzer, portrait: np.ndarray, monkeypatch) -> None:
    """The live page's analysis thread and its "Why?" button share one model: never two torch calls at once."""
    calls: list[tuple[str, bool]] = []

    def spy(owner, name: str) -> None:
        real = getattr(owner, name)

        def checked(*args, **kwargs):
            calls.append((name, analyzer.inference_lock.locked()))
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, checked)

    stream = analyzer.stream(detect_every=2)  # a video stream has its own detector, tuned for frames
    for owner, name in [
        (analyzer.detector, "detect"),
        (stream.detector, "detect"),
        (stream.detector, "refine"),
        (analyzer.classifier, "predict"),
        (analyzer.classifier, "predict_outputs"),
        (analyzer.classifier, "attention_map"),
    ]:
        spy(owner, name)
    readings = analyzer.analyze(portrait)
    analyzer.attention_map(readings[0])
    for _ in range(3):  # a full detection, a follow-up (refine), another full detection
        stream.process(portrait)
    assert [name for name, _ in calls] == [
        *["detect", "predict_outputs", "attention_map"],  # a photo: both outputs (crowd and FER2013)
        *["detect", "predict", "predict_outputs", "refine", "predict", "predict_outputs"],
        *["detect", "predict", "predict_outputs"],
    ]
    assert all(held for _, held in calls), calls
    assert not analyzer.inference_lock.locked()
