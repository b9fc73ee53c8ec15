"""A quiz round from first face to summary, with the real bundled model and a real journal file."""

from __future__ import annotations

from random import Random

import pytest

from xface.journal.store import Journal
from xface.teach.practice import load_bank
from xface.teach.quiz import bank_question
from xface.teach.rounds import QuizRound


@pytest.fixture
def bank_round() -> QuizRound:
    questions = [bank_question(face) for face in load_bank()[:3]]
    return QuizRound("bank", questions, {question.key: question.crowd.display_image() for question in questions})


def test_a_round_opens_one_session_stores_each_answer_and_closes_it(tmp_path, analyzer, bank_round) -> None:
    journal = Journal(tmp_path / "journal.db")
    for position in range(3):
        feedback = bank_round.answer("happy", analyzer, journal)
        assert feedback is not None and bank_round.saved
        assert bank_round.current.model_emotion is not None  # Xface read the bank face for the feedback
        ended = bank_round.next_face(journal)
        assert (ended is not None) == (position == 2)
    assert bank_round.over and bank_round.session_id is None
    (session,) = journal.sessions()
    assert session["id"] == ended and session["summary"]["answers"] == 3
    assert [row["face_source"] for row in journal.quiz_answers()] == ["bank"] * 3


def test_a_double_click_counts_once(tmp_path, analyzer, bank_round) -> None:
    journal = Journal(tmp_path / "journal.db")
    assert bank_round.answer("sad", analyzer, journal) is not None
    steps = bank_round.steps
    assert bank_round.answer("happy", analyzer, journal) is None
    assert bank_round.steps == steps and len(bank_round.feedbacks) == 1
    assert [row["guess"] for row in journal.quiz_answers()] == ["sad"]


def test_ending_early_keeps_the_faces_answered(tmp_path, analyzer, bank_round) -> None:
    journal = Journal(tmp_path / "journal.db")
    bank_round.answer("sad", analyzer, journal)
    bank_round.next_face(journal)
    session_id = bank_round.end_early(journal)
    assert bank_round.over and len(bank_round.questions) == 1
    assert journal.session(session_id)["summary"]["answers"] == 1


def test_a_session_deleted_meanwhile_gets_a_fresh_one(tmp_path, analyzer, bank_round) -> None:
    journal = Journal(tmp_path / "journal.db")
    bank_round.answer("sad", analyzer, journal)
    journal.delete_session(bank_round.session_id)
    bank_round.next_face(journal)
    bank_round.answer("happy", analyzer, journal)
    assert bank_round.saved
    assert [row["guess"] for row in journal.quiz_answers()] == ["happy"]


def test_without_a_journal_the_round_goes_on_unsaved(analyzer, bank_round) -> None:
    assert bank_round.answer("sad", analyzer, None) is not None
    assert not bank_round.saved and bank_round.session_id is None


def test_again_starts_over_with_the_same_faces(tmp_path, analyzer, bank_round) -> None:
    journal = Journal(tmp_path / "journal.db")
    keys = {question.key for question in bank_round.questions}
    bank_round.answer("sad", analyzer, journal)
    bank_round.again(journal.quiz_answers(), Random(0), journal)
    assert bank_round.position == 0 and not bank_round.feedbacks and bank_round.revealed is None
    assert {question.key for question in bank_round.questions} == keys
    assert journal.sessions()[0]["summary"] is not None  # the first pass was closed
