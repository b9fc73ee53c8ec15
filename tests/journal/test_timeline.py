"""The journal in words, on rows read back from a real journal file."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from xface.journal.feelings import ENERGY, PLEASANTNESS
from xface.journal.store import Journal
from xface.journal.timeline import (
    checkin_lines,
    duration_words,
    live_summary_text,
    local_time,
    session_line,
    timeline_entries,
)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "0 s"), (12.4, "12 s"), (59.6, "1 min"), (185, "3 min 5 s"), (3600, "60 min"), (-3, "0 s")],
)
def test_durations_read_as_people_say_them(seconds: float, words: str) -> None:
    assert duration_words(seconds) == words


def test_a_short_recording_is_never_zero_minutes(tmp_path) -> None:
    journal = Journal(tmp_path / "journal.db")
    session = journal.start_session("live")
    journal.add_observations(session, [{"t": 0.0, "face_id": 1, "probs": {"happy": 0.9}, "emotion": "happy"}])
    journal.end_session(session)
    row = journal.session(session)
    row["summary"]["duration_s"] = 12.0  # what a 12 s recording stores
    line = session_line(row)
    assert "12 s" in line and "0 min" not in line
    assert "mostly happy" in line
    assert "**12 s**" in live_summary_text(row["summary"])


def test_sessions_of_each_kind_have_their_own_line(tmp_path) -> None:
    journal = Journal(tmp_path / "journal.db")
    quiz = journal.start_session("quiz")
    journal.add_quiz_answer(quiz, "face 1", "happy", "happy", "label", None, None)
    journal.add_quiz_answer(quiz, "face 2", "sad", "happy", "label", None, None)
    journal.end_session(quiz)
    mirror = journal.start_session("mirror")
    journal.add_mirror_result(mirror, "fear", True, 3.0, 0.8)
    journal.end_session(mirror)
    live = journal.start_session("live")
    journal.add_observations(live, [{"t": 0.0, "face_id": 1, "probs": {"fear": 0.9}, "emotion": "fear"}])
    journal.end_session(live)
    open_session = journal.start_session("quiz")
    lines = {row["id"]: session_line(row) for row in journal.sessions()}
    assert "1 of 2 faces read as their answer" in lines[quiz]
    assert "1 of 1 tries showed the asked face" in lines[mirror]
    assert "mostly afraid" in lines[live]  # the app's word, not the machine label "fear"
    assert "not finished" in lines[open_session]


def test_live_summary_names_the_shares_in_the_apps_words() -> None:
    text = live_summary_text({"duration_s": 185, "faces": 2, "emotion_share": {"surprise": 0.25, "happy": 0.75}})
    assert text.startswith("You practised for **3 min 5 s**. 2 faces seen.")
    assert text.index("happy 75%") < text.index("surprised 25%")


def test_checkin_lines_hold_what_was_written(tmp_path) -> None:
    journal = Journal(tmp_path / "journal.db")
    first = journal.add_checkin("calm", None, 2, body=["chest"], note="=SUM(A1)", own_words="")
    second = journal.add_checkin(None, None, 4, own_words="fizzy")
    words = checkin_lines(journal.checkin(first))
    assert words[0] == f"calm · {PLEASANTNESS[1]}, {ENERGY[-1]} energy · strength 2 of 5"  # the word's own place
    assert "Felt in: chest" in words and "=SUM(A1)" in words
    own = checkin_lines(journal.checkin(second))
    assert own[0].startswith("In my own words · not on the grid")
    assert "In my own words: fizzy" in own


def test_timeline_puts_the_newest_first(tmp_path) -> None:
    journal = Journal(tmp_path / "journal.db")
    old = journal.add_checkin("calm", None, 2, at=datetime.now() - timedelta(days=2))
    session = journal.start_session("quiz")
    new = journal.add_checkin("calm", None, 3)
    entries = timeline_entries(journal.sessions(), journal.checkins())
    assert [(entry.kind, entry.row["id"]) for entry in entries] == [
        ("checkin", new),
        ("session", session),
        ("checkin", old),
    ]


def test_local_time_is_the_persons_clock() -> None:
    moment = datetime(2026, 12, 5, 13, 3).astimezone()
    assert local_time(moment.isoformat()) == moment.strftime("%a %d %b %Y, %H:%M")
