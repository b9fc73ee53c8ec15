"""Guesses at a clip's moments are their own kind of session ("clip"), kept, summarised, exported and restored."""

from __future__ import annotations

from pathlib import Path

from xface.journal.files import export_zip, restore_zip
from xface.journal.store import Journal
from xface.journal.timeline import session_line


def guessed_clip(journal: Journal) -> int:
    session = journal.start_session("clip")
    for guess in ("sad", "happy"):
        journal.add_quiz_answer(
            session,
            question="a clip at 0:02.9, face 1",
            guess=guess,
            answer="sad",
            answer_source="model",
            model_emotion="sad",
            model_confidence=0.9,
            face_source="clip",
        )
    journal.end_session(session)
    return session


def test_a_clip_session_is_summarised_and_named_in_the_timeline(journal: Journal) -> None:
    session = journal.session(guessed_clip(journal))
    assert session["summary"] == {"answers": 2, "scored": 2, "right": 1, "shared": 0}
    assert "**Watch: guessing a clip's moments**" in session_line(session)
    assert "1 of 2 moments read as Xface read them" in session_line(session)


def test_a_clip_session_survives_export_and_restore(journal: Journal, tmp_path: Path) -> None:
    guessed_clip(journal)
    with Journal(tmp_path / "other.db") as other:
        restore_zip(other, export_zip(journal, include_photo_names=True))
        assert [s["kind"] for s in other.sessions()] == ["clip"]
        assert [a["face_source"] for a in other.quiz_answers()] == ["clip", "clip"]
