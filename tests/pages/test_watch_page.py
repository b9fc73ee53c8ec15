"""The Watch page through the real app (AppTest): a clip named by its path is read, its moments guessed and stored.

The upload, the chart's clicks and the CSV download are tested in a real browser
(tests/e2e/test_watch_browser.py); here the page's flow on the real Pexels clip and a real journal file.
"""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.clips import PEXELS, cut_after_picture, moving_face, truncate_bytes, write_clip
from xface.journal.store import Journal

ROOT = Path(__file__).resolve().parents[2]


def watch(tmp_path: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("XFACE_DB", str(tmp_path / "journal.db"))
    monkeypatch.delenv("XFACE_PASSCODE", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.switch_page("pages/watch.py")
    return at.run()


def test_a_clip_on_this_computer_is_read_and_a_moment_guessed_into_the_journal(tmp_path, monkeypatch) -> None:
    at = watch(tmp_path, monkeypatch)
    assert not at.exception and at.title[0].value == "Watch"
    at.text_input(key="watch_path").input(str(PEXELS)).run()
    next(b for b in at.button if b.label == "Read this clip").click().run()
    assert not at.exception, at.exception
    assert at.button_group(key="watch_view").value == "Guess the moment"  # guessing first: the timeline tells
    texts = " ".join(m.value for m in at.markdown)
    found = re.search(r"Moment 1 of 2: face 1 at (\d+:\d\d\.\d)", texts)
    assert found, texts  # while she cries (0:01-0:07 on the Pexels clip)
    at_time = found.group(1)
    assert "0:01.0" <= at_time <= "0:07.0"
    assert "You said" not in texts  # the reading stays hidden until the guess
    at.button_group(key="watch_guess_0").set_value("sad").run()
    texts = " ".join(m.value for m in at.markdown)
    assert "You said **sad**" in texts
    people = re.search(r"Of 10 people, about (\d+) sad", texts)  # sad first: most people would read her so
    assert people and int(people.group(1)) >= 7, texts
    with Journal(tmp_path / "journal.db") as journal:
        (answer,) = journal.quiz_answers()
        (session,) = journal.sessions()
    assert (answer["face_source"], answer["verdict"]) == ("clip", "right")
    assert answer["question"] == f"a clip at {at_time}, face 1"  # the clip's name only when allowed
    assert session["kind"] == "clip"


def test_a_path_that_is_not_a_video_gets_one_sentence(tmp_path, monkeypatch) -> None:
    at = watch(tmp_path, monkeypatch)
    (tmp_path / "notes.mp4").write_text("not a video")
    at.text_input(key="watch_path").input(str(tmp_path / "notes.mp4")).run()
    next(b for b in at.button if b.label == "Read this clip").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["notes.mp4: this is not a video Xface can read, or it is damaged."]


def test_a_clip_cut_short_is_shown_up_to_the_cut_with_a_warning(tmp_path, monkeypatch) -> None:
    frames = moving_face(50)
    clip = truncate_bytes(write_clip(tmp_path / "download.mp4", frames, faststart=True), 0.9)
    at = watch(tmp_path, monkeypatch)
    at.text_input(key="watch_path").input(str(clip)).run()
    next(b for b in at.button if b.label == "Read this clip").click().run()
    assert not at.exception and not at.error
    (warning,) = [w.value for w in at.warning]
    assert warning.startswith("download.mp4: the video is damaged") and "Readings are shown up to 0:01" in warning
    at.button_group(key="watch_view").set_value("Timeline").run()
    assert at.warning[0].value == warning  # in both views
    assert at.slider(key="watch_time").max < 1.6  # the timeline ends at the cut, not at the 2 s the file claims


def test_a_clip_read_only_at_its_first_moment_still_has_a_timeline(tmp_path, monkeypatch) -> None:
    """One picture, at 0:00.0, survived the cut: the moment slider still needs two different ends."""
    frames = moving_face(50)
    clip = cut_after_picture(write_clip(tmp_path / "whole.mp4", frames, faststart=True), 1, tmp_path / "download.mp4")
    at = watch(tmp_path, monkeypatch)
    at.text_input(key="watch_path").input(str(clip)).run()
    next(b for b in at.button if b.label == "Read this clip").click().run()
    at.button_group(key="watch_view").set_value("Timeline").run()
    assert not at.exception, at.exception
    assert "the pictures stop at 0:00.0" in at.warning[0].value
    assert at.slider(key="watch_time").max == 0.1
