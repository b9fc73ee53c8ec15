"""`xface bench`'s sequences and what it reports (how fast is for the bench to print, not for tests to assert)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.conftest import DATA
from xface.tools.bench import SEQUENCES, STAGES, run_sequence, sequence_frames
from xface.vision.detect import FaceDetector

FACES = DATA / "faces"


@pytest.mark.parametrize("name", SEQUENCES)
def test_every_sequence_is_640_by_480_jpeg_frames(name: str) -> None:
    frames = sequence_frames(FACES, name, 3)
    assert len(frames) == 3
    for data in frames:
        assert Image.open(io.BytesIO(data)).size == (640, 480)


def test_the_faces_in_each_sequence_are_there_to_be_found() -> None:
    detector = FaceDetector(max_side=None)
    first = {name: np.asarray(Image.open(io.BytesIO(sequence_frames(FACES, name, 1)[0]))) for name in SEQUENCES}
    found = {name: detector.detect(frame) for name, frame in first.items()}
    assert [len(found[name]) for name in SEQUENCES] == [1, 1, 4, 0, 1]
    small, large = (found[name][0].box for name in ("small face", "one face"))
    assert small[2] - small[0] < 80 < 150 < large[2] - large[0]


def test_the_turning_face_is_narrowest_halfway() -> None:
    frames = sequence_frames(FACES, "turning away", 31)
    grey = [np.asarray(Image.open(io.BytesIO(data)).convert("L")).astype(int) for data in frames]
    background = [int((np.abs(frame - 90) > 12).sum()) for frame in grey]  # pixels that are not the grey canvas
    assert background[30] < 0.4 * background[0]


def test_run_sequence_reports_every_stage_and_the_faces_it_followed(analyzer) -> None:
    report = run_sequence(analyzer, sequence_frames(FACES, "four faces", 12), repeats=1, warmup=2)
    assert set(STAGES) <= set(report)
    assert all(report[stage]["median_ms"] > 0 for stage in ("decode", "detect", "classify", "frame_to_label"))
    assert report["faces_per_frame"] == 4
    assert report["full_detections_per_100"] > 0 and report["follow_ms"] is not None
    # The mesh and cues' share is reported per face: a quarter of the frame's "cues" stage here.
    assert 0 < report["cues_per_face"]["median_ms"] < report["cues"]["median_ms"]
    no_face = run_sequence(analyzer, sequence_frames(FACES, "no face", 4), repeats=1, warmup=1)
    assert no_face["cues_per_face"] is None
