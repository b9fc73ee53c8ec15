"""The Watch page's engine on real clips made from real photos (`xface.app.watch`)."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.clips import (
    cut_after_picture,
    cut_clip,
    moving_face,
    truncate_bytes,
    write_clip,
    write_webm_without_duration,
)
from tests.conftest import portrait_frame
from xface.app.watch import Clip, analyse, moment_picture, readings_csv, rows_at, timeline_chart
from xface.vision.video import CSV_COLUMNS, VideoError, clock


@pytest.fixture(scope="module")
def cut(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cut_clip(tmp_path_factory.mktemp("watch") / "cut.mp4")


@pytest.fixture(scope="module")
def readings(analyzer, cut: Path):
    shares = []
    readings = analyse(analyzer, Clip("cut.mp4", data=cut.read_bytes()), lambda share, words: shares.append(share))
    assert shares == sorted(shares) and shares[-1] == 1.0
    return readings


def test_a_clip_is_read_with_every_face_and_no_file_column(readings) -> None:
    assert readings.info.width == 640 and readings.info.duration == pytest.approx(4.0, abs=0.1)
    assert {row["face_id"] for row in readings.rows} >= {1, 2}
    assert all("file" not in row for row in readings.rows)


def test_the_timeline_has_one_row_of_dots_per_face(readings) -> None:
    spec = timeline_chart(readings.rows, readings.info.duration).to_dict()
    faces = {record["face"] for record in spec["data"]["values"]}
    assert len(faces) == len({row["face_id"] for row in readings.rows})
    assert spec["facet"]["row"]["field"] == "face"
    assert spec["params"][0]["name"] == "moment"


def test_a_moment_is_drawn_with_boxes_and_a_hidden_face_has_no_label(analyzer, cut: Path, readings) -> None:
    clip = Clip("cut.mp4", path=cut)
    here = rows_at(readings.rows, 1.0)
    shown = moment_picture(analyzer, clip, here)
    hidden = moment_picture(analyzer, clip, here, hidden=[here[0]["face_id"]])
    assert shown.frame.shape == (480, 640, 3) and abs(shown.time - 1.0) < 0.1
    assert here[0]["face_id"] in shown.cue_pictures and not hidden.cue_pictures  # no cue hints before the guess
    assert not np.array_equal(shown.frame, hidden.frame)  # the label plate differs


def test_nothing_but_the_rows_and_the_csv_leave_the_page(readings) -> None:
    text = readings_csv(readings.rows, "cut.mp4").decode()
    lines = text.splitlines()
    assert lines[0].split(",") == CSV_COLUMNS and len(lines) == len(readings.rows) + 1
    assert all(line.startswith("cut.mp4,") for line in lines[1:])


def test_a_clip_over_half_an_hour_is_sent_to_the_command_line(analyzer, tmp_path: Path) -> None:
    long = write_clip(tmp_path / "long.mp4", [np.zeros((32, 32, 3), np.uint8)] * 1900, fps=1)
    with pytest.raises(VideoError, match=r"^long\.mp4: the clip is 31:40\.0 long.*xface analyze"):
        analyse(analyzer, Clip("long.mp4", path=long), lambda share, words: None)


def test_a_clip_that_does_not_say_its_length_shows_how_far_it_has_read(analyzer, tmp_path: Path) -> None:
    """A browser's recording (WebM) often has no duration: the progress bar must still move on in words."""
    clip = write_webm_without_duration(tmp_path / "call.webm", [portrait_frame()] * 4, fps=2)
    said: list[str] = []
    readings = analyse(analyzer, Clip("call.webm", path=clip), lambda share, words: said.append(words))
    assert readings.info.duration is None and len(readings.rows) == 4
    assert said == ["0:00.0 read", "0:00.5 read", "0:01.0 read", "0:01.5 read", "done"]


def test_a_clip_that_does_not_say_its_length_stops_at_half_an_hour(analyzer, tmp_path: Path) -> None:
    """Without a duration the length can't be refused up front, so reading stops once it passes the limit."""
    long = write_webm_without_duration(tmp_path / "long.webm", [np.zeros((32, 32, 3), np.uint8)] * 32, fps=1 / 60)
    with pytest.raises(VideoError, match=r"^long\.webm: the clip is longer than 30 minutes.*xface analyze"):
        analyse(analyzer, Clip("long.webm", path=long), lambda share, words: None)


def test_a_clip_cut_short_keeps_the_readings_before_the_cut_and_says_where_it_stopped(analyzer, tmp_path: Path) -> None:
    frames = moving_face(50)  # 2 s at 25 a second
    clip = truncate_bytes(write_clip(tmp_path / "download.mp4", frames, faststart=True), 0.9)  # about 1.1 s
    readings = analyse(analyzer, Clip("download.mp4", path=clip), lambda share, words: None)
    assert readings.info.duration == pytest.approx(2.0, abs=0.1)  # the file still says 2 s
    assert 0.5 < readings.seconds < 1.6 and readings.rows
    assert max(row["time"] for row in readings.rows) <= readings.seconds
    assert re.fullmatch(
        r"download\.mp4: the video is damaged and can't be read further\. Readings are shown up to 0:0\d\.\d\.",
        readings.stopped_early,
    ), readings.stopped_early


def test_a_whole_clip_is_read_to_its_end_with_nothing_to_say(readings) -> None:
    assert readings.stopped_early == ""


@pytest.mark.parametrize("name", ["recording.mkv", "recording.mp4"])
def test_a_sound_track_longer_than_the_pictures_is_no_sign_of_a_cut(analyzer, tmp_path: Path, name: str) -> None:
    clip = write_clip(tmp_path / name, [portrait_frame()] * 30, fps=10, sound_seconds=8)
    readings = analyse(analyzer, Clip(name, path=clip), lambda share, words: None)
    assert readings.stopped_early == "" and readings.seconds == pytest.approx(3.0, abs=0.05)


def test_a_slideshow_of_a_picture_every_two_seconds_is_read_whole(analyzer, tmp_path: Path) -> None:
    """Its last picture begins 2 s before the end: shown for its time, it reaches the end."""
    slides = write_clip(tmp_path / "slides.mp4", [portrait_frame()] * 5, fps=Fraction(1, 2))
    readings = analyse(analyzer, Clip("slides.mp4", path=slides), lambda share, words: None)
    assert readings.info.duration == pytest.approx(10.0) and readings.stopped_early == ""
    assert [row["time"] for row in readings.rows] == [0.0, 2.0, 4.0, 6.0, 8.0]


def _cut_inside_the_first_picture(folder: Path) -> Path:
    return truncate_bytes(write_clip(folder / "download.mp4", [portrait_frame()] * 50, faststart=True), 0.2)


def _recording_that_ends_before_its_first_picture(folder: Path) -> Path:
    return truncate_bytes(write_webm_without_duration(folder / "call.webm", [portrait_frame()] * 50), 0.6)


@pytest.mark.parametrize("damaged", [_cut_inside_the_first_picture, _recording_that_ends_before_its_first_picture])
def test_a_clip_with_no_readable_picture_is_refused_in_one_sentence(analyzer, tmp_path: Path, damaged) -> None:
    """Whether decoding fails (the first) or the file ends quietly (the second), nothing was read: one sentence."""
    clip = damaged(tmp_path)
    with pytest.raises(VideoError) as refused:
        analyse(analyzer, Clip(clip.name, path=clip), lambda share, words: None)
    assert str(refused.value) == f"{clip.name}: no picture in this video could be read; it may be damaged or cut short."


def test_a_guess_is_a_clip_answer_named_only_when_allowed(journal, readings) -> None:
    from xface.app.watch import save_guess
    from xface.teach.scenes import choose_moments

    moments = choose_moments(readings.rows)
    assert moments, "the cut clip has a face that holds its reading"
    session = save_guess(journal, None, moments[0], "happy", clip_name=None)
    assert save_guess(journal, session, moments[0], moments[0].emotion, clip_name="cut.mp4") == session
    first, second = journal.quiz_answers()
    assert first["question"].startswith("a clip at 0:0") and second["question"].startswith("cut.mp4 at 0:0")
    assert {first["face_source"], second["face_source"]} == {"clip"}
    (stored,) = journal.sessions()
    assert stored["kind"] == "clip" and stored["summary"]["answers"] == 2


def test_a_download_that_ends_quietly_before_its_stated_length_says_so(analyzer, tmp_path: Path) -> None:
    """Cut at a picture's edge, a file ends without a decoding error: its stated length tells it was cut."""
    frames = moving_face(100)  # 4 s
    whole = write_clip(tmp_path / "whole.mp4", frames, faststart=True)
    cut = cut_after_picture(whole, 50, tmp_path / "download.mp4")  # 2 s
    readings = analyse(analyzer, Clip("download.mp4", path=cut), lambda share, words: None)
    assert readings.info.duration == pytest.approx(4.0, abs=0.1) and readings.seconds < 2.0
    assert readings.stopped_early == (
        f"download.mp4: the pictures stop at {clock(readings.seconds)}, though the video says it lasts 0:04.0; "
        f"it may have been cut short. Readings are shown up to {clock(readings.seconds)}."
    )
