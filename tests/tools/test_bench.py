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


def test_the_hd_clip_is_720p_and_its_speed_is_reported_in_clip_time(analyzer, tmp_path) -> None:
    from xface.tools.bench import hd_clip, video_speed
    from xface.vision.video import VideoFile

    clip = hd_clip(FACES, tmp_path / "hd.mp4", seconds=2)
    with VideoFile(clip) as video:
        assert (video.info.width, video.info.height, video.info.fps) == (1280, 720, 25)
    report = video_speed(analyzer, clip, readings_per_second=5)
    assert report["clip_s"] == 2.0 and report["size"] == "1280x720"
    assert report["frames_read"] == 10 and report["rows"] == 10  # one face in every frame read
    assert report["realtime_per_core"] > 0 and report["realtime_wall"] > 0
    assert 9 <= len(report["rss_mb_each_tenth"]) <= 10  # one sample each tenth of the clip
