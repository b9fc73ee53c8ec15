"""What a camera page's card holds, from real readings of a real photo and a real journal file."""

from __future__ import annotations

import pytest

from xface.app.cards import WHY_SIZE, end_guessing, headline, status_line, store_live_guess, why_pictures
from xface.app.live import LiveSnapshot
from xface.journal.store import Journal


@pytest.mark.parametrize(
    ("face_id", "text", "expected"),
    [(2, "Looks happy", "Face 2: looks happy"), (None, "Might be sad", "Face: might be sad")],
)
def test_headline_names_the_face(face_id, text, expected) -> None:
    assert headline(face_id, text) == expected


def test_status_line_says_how_fast_labels_come() -> None:
    snap = LiveSnapshot(analysis_fps=4.0, video_fps=30.0, stream_started=10.0, first_face_at=11.5)
    snap.timings["total"] = 0.012
    assert status_line(snap) == (
        "labels update 4.0 times a second · video 30 frames a second · first label after 1.5 s · 12 ms to read a frame"
    )
    assert status_line(LiveSnapshot()) == "labels update 0.0 times a second · video 0 frames a second"


def test_why_pictures_show_where_the_model_looked_and_the_face_points(analyzer, group_photo) -> None:
    reading = analyzer.analyze(group_photo)[0]
    why = why_pictures(analyzer, reading)
    assert why.error is None and why.reading is reading
    assert why.overlay.shape[:2] == (WHY_SIZE, WHY_SIZE)
    assert why.cues_picture is None or why.cues_picture.shape[:2] == (WHY_SIZE, WHY_SIZE)
    assert why.sentence.endswith(".")


def test_live_guesses_share_one_session_and_are_answered_by_the_reading(tmp_path, analyzer, group_photo) -> None:
    journal = Journal(tmp_path / "journal.db")
    readings = analyzer.analyze(group_photo)[:2]
    session_id = store_live_guess(journal, None, readings[0], "happy")
    assert store_live_guess(journal, session_id, readings[1], "sad") == session_id
    rows = journal.quiz_answers()
    assert [row["answer"] for row in rows] == [reading.emotion for reading in readings]
    assert {row["face_source"] for row in rows} == {"live"}
    end_guessing(journal, session_id)
    assert journal.session(session_id)["summary"]["answers"] == 2
    end_guessing(journal, 999)  # deleted meanwhile: nothing to close, no error
    end_guessing(None, session_id)
