"""Video files through the stream path (`xface.vision.video`), on clips made from real photos."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from tests.clips import PEXELS, cut_clip, write_clip
from tests.conftest import portrait_frame
from xface.vision.video import (
    CSV_COLUMNS,
    VIDEO_SUFFIXES,
    CsvRows,
    VideoError,
    VideoFile,
    clock,
    frame_rows,
    read_video,
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cut_clip(tmp_path_factory.mktemp("clips") / "cut.mp4")


def test_faces_are_found_where_they_are_and_nowhere_else(analyzer, clip: Path) -> None:
    frames = list(read_video(analyzer, clip, readings_per_second=10))
    faces = {round(f.time, 2): len(f.readings) for f in frames}
    assert all(count == 1 for at, count in faces.items() if at < 1.95)
    assert all(count == 0 for at, count in faces.items() if 2.05 < at < 2.95)
    assert all(count == 2 for at, count in faces.items() if at > 3.3)  # the next full detection finds both
    first = [f.readings[0].face_id for f in frames if f.time < 1.95]
    assert set(first) == {1}, "one face keeps one id while it stays"


def test_readings_per_second_is_in_clip_time(analyzer, clip: Path) -> None:
    times = [f.time for f in read_video(analyzer, clip, readings_per_second=10)]
    assert 38 <= len(times) <= 42  # a 4 s clip at 25 fps, read 10 times a second
    gaps = np.diff(times)
    assert gaps.min() >= 0.079 and gaps.max() <= 0.121
    every = [f.index for f in read_video(analyzer, clip, readings_per_second=0)]
    assert every == list(range(100))


def test_rows_as_csv_have_every_column_from_the_first_row(analyzer, clip: Path) -> None:
    handle = io.StringIO()
    writer = CsvRows(handle)
    for frame in read_video(analyzer, clip, readings_per_second=5):
        for row in frame_rows("cut.mp4", frame):
            writer.write(row)
    lines = handle.getvalue().splitlines()
    assert lines[0].split(",") == CSV_COLUMNS
    assert writer.written == len(lines) - 1 > 10
    assert all(line.count(",") == len(CSV_COLUMNS) - 1 for line in lines)


def test_a_file_name_a_spreadsheet_would_run_is_written_as_text(analyzer, clip: Path) -> None:
    """`xface analyze =1+2.mp4 --csv` and the Watch page's export: the name can never run as a formula."""
    import csv

    handle = io.StringIO()
    writer = CsvRows(handle)
    frame = next(f for f in read_video(analyzer, clip, readings_per_second=5) if f.readings)
    for name in ("=HYPERLINK(1).mp4", "@cut.mp4", "-1+2.mp4", "cut.mp4"):
        for row in frame_rows(name, frame):
            writer.write(row)
    rows = list(csv.DictReader(io.StringIO(handle.getvalue())))
    assert [row["file"] for row in rows] == ["'=HYPERLINK(1).mp4", "'@cut.mp4", "'-1+2.mp4", "cut.mp4"]
    assert all(float(row["x1"]) == float(rows[-1]["x1"]) for row in rows)  # numbers stay numbers


def test_frame_at_gives_the_frame_shown_at_that_time(tmp_path: Path) -> None:
    colours = [np.full((64, 96, 3), 10 * i, np.uint8) for i in range(25)]
    path = write_clip(tmp_path / "ramp.mp4", colours, fps=10)
    with VideoFile(path) as video:
        assert video.info.width == 96 and video.info.height == 64 and video.info.fps == 10
        assert abs(int(video.frame_at(1.5).mean()) - 150) <= 3
        assert abs(int(video.frame_at(0.0).mean()) - 0) <= 3


def test_a_named_pipe_is_refused_with_a_sentence_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "call.mp4"
    os.mkfifo(fifo)
    with pytest.raises(VideoError, match=r"^call\.mp4: this is not a regular file"):
        VideoFile(fifo)


def test_a_huge_declared_frame_is_refused_before_decoding_naming_the_file(tmp_path: Path) -> None:
    # A YUV4MPEG2 stream that declares 16000×16000 pictures; one decoded frame would take 384 MB.
    path = tmp_path / "huge.mp4"
    path.write_bytes(b"YUV4MPEG2 W16000 H16000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(1000))
    with pytest.raises(VideoError, match=r"^huge\.mp4: the video's pictures are too large \(16000×16000"):
        VideoFile(path)


@pytest.mark.parametrize(
    "content, words",
    [(b"", "not a video Xface can read"), (b"not a video at all" * 100, "not a video Xface can read")],
)
def test_files_that_are_not_video_get_one_sentence(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoError, match=f"^clip.mp4: this is {words}"):
        VideoFile(path)


def test_an_upload_is_read_from_memory(analyzer, tmp_path: Path) -> None:
    data = write_clip(tmp_path / "one.mp4", [portrait_frame()] * 10, fps=10).read_bytes()
    frames = list(read_video(analyzer, data, name="my clip.mp4", readings_per_second=0))
    assert len(frames) == 10 and all(len(f.readings) == 1 for f in frames)


def test_a_3gp_phone_video_is_offered_and_read(analyzer, tmp_path: Path) -> None:
    phone = write_clip(tmp_path / "from a phone.3gp", [portrait_frame()] * 10, fps=10)
    assert phone.suffix in VIDEO_SUFFIXES
    frames = list(read_video(analyzer, phone, readings_per_second=0))
    assert len(frames) == 10 and all(len(f.readings) == 1 for f in frames)


def test_the_real_clip_reads_crying_then_laughing(analyzer) -> None:
    assert PEXELS.is_file()
    frames = list(read_video(analyzer, PEXELS, readings_per_second=5))
    start = [f.readings[0].emotion for f in frames if f.time < 3 and f.readings]
    end = [f.readings[0].emotion for f in frames if f.time > 17 and f.readings]
    assert start.count("sad") > len(start) / 2, start
    assert end.count("happy") > len(end) / 2, end


def test_clock_reads_like_a_player() -> None:
    assert clock(75.25) == "1:15.2" and clock(0) == "0:00.0"


@pytest.mark.parametrize("rotation", [-90, 90, 180])
def test_a_phone_video_stored_on_its_side_is_read_upright(tmp_path: Path, rotation: int) -> None:
    """A phone stores a portrait video sideways and says in the display matrix how to turn it (ffmpeg's
    own player turns it); the frames Xface reads must be the upright picture, or no face is found."""
    upright = portrait_frame()
    stored = np.ascontiguousarray(np.rot90(upright, k=-rotation // 90))
    path = write_clip(tmp_path / "phone.mp4", [stored] * 5, fps=5, display_rotation=rotation)
    with VideoFile(path) as video:
        pixels = [frame for _, _, frame in video.frames()]
        shown = video.frame_at(0.4)
    for frame in [*pixels, shown]:
        assert frame.shape == upright.shape
        assert np.abs(frame.astype(int) - upright).mean() < 5


def test_faces_are_found_in_a_phone_video_stored_on_its_side(analyzer, tmp_path: Path) -> None:
    stored = np.ascontiguousarray(np.rot90(portrait_frame(), k=1))
    path = write_clip(tmp_path / "phone.mp4", [stored] * 5, fps=5, display_rotation=-90)
    assert [len(frame.readings) for frame in read_video(analyzer, path, readings_per_second=0)] == [1] * 5
