"""Guess first on live faces: a new guess for every new expression, on real readings of real faces."""

from __future__ import annotations

from dataclasses import replace

import pytest

from xface.journal.store import Journal
from xface.teach.explain import describe
from xface.teach.guessing import CHANGE_HOLD_S, GUESS_SESSION, GuessFirst, store_guess
from xface.teach.practice import load_bank


@pytest.fixture(scope="module")
def faces(analyzer):
    """Real readings of practice faces (real FER2013 faces) read clearly: neutral, happy, surprise."""
    found = {}
    for emotion in ("neutral", "happy", "surprise"):
        for face in load_bank(1, [emotion]):
            (reading, *_) = analyzer.analyze(face.display_image()) or [None]
            if reading is not None and reading.emotion == emotion and describe(reading.probs).band == "clear":
                found[emotion] = replace(reading, face_id=1)  # one face on camera, changing its expression
                break
    assert set(found) == {"neutral", "happy", "surprise"}
    return found


def test_a_new_guess_is_asked_when_the_reading_changes_and_holds(faces):
    calm, smile, surprised = faces["neutral"], faces["happy"], faces["surprise"]
    guessing = GuessFirst()
    guessing.observe([calm], at=0.0)
    assert guessing.asking(1) and guessing.hidden([calm]) == {1}
    made = guessing.guess(calm, "neutral", at=0.5)
    assert (made.guess, made.reading) == ("neutral", "neutral") and not guessing.asking(1)

    guessing.observe([smile], at=1.0)  # a passing smile is not a new expression yet
    guessing.observe([calm], at=1.5)
    guessing.observe([smile], at=2.0)
    guessing.observe([smile], at=2.0 + CHANGE_HOLD_S / 2)
    assert not guessing.asking(1)
    guessing.observe([smile], at=2.0 + CHANGE_HOLD_S)  # the smile held: a new guess for the new expression
    assert guessing.asking(1) and guessing.last_guess(1) == made  # the old guess stays for the card

    second = guessing.guess(smile, "happy", at=4.0)
    assert second.reading == "happy" and not guessing.asking(1)
    for at in (5.0, 5.0 + CHANGE_HOLD_S):
        guessing.observe([surprised], at=at)
    assert guessing.asking(1)  # and again for surprise
    guessing.guess(surprised, "fear", at=8.0)
    guessing.ask_again(1)
    assert guessing.asking(1)
    with pytest.raises(ValueError):
        guessing.guess(surprised, "bored", at=9.0)
    guessing.reset()
    assert guessing.asking(1) and guessing.last_guess(1) is None


def test_an_unsure_reading_does_not_ask_again(faces):
    calm = faces["neutral"]
    unsure = replace(calm, probs={"neutral": 0.4, "sad": 0.35, "happy": 0.25}, emotion="sad")
    assert describe(unsure.probs, top=unsure.emotion).band == "unsure"
    guessing = GuessFirst()
    guessing.guess(calm, "neutral", at=0.0)
    for at in (1.0, 2.0, 3.0, 4.0):
        guessing.observe([unsure], at=at)
    assert not guessing.asking(1)


def test_live_guesses_are_their_own_kind_in_the_journal_and_never_scored(faces, tmp_path):
    guessing = GuessFirst()
    with Journal(tmp_path / "journal.db") as journal:
        session = store_guess(journal, None, guessing.guess(faces["happy"], "happy", at=0.0))
        assert store_guess(journal, session, guessing.guess(faces["surprise"], "fear", at=1.0)) == session
        summary = journal.end_session(session)
        (row,) = journal.sessions()
        answers = journal.quiz_answers()
    assert row["kind"] == GUESS_SESSION and summary == {"answers": 2, "scored": 0, "right": 0, "shared": 0}
    assert [(a["guess"], a["model_emotion"], a["face_source"], a["verdict"], a["correct"]) for a in answers] == [
        ("happy", "happy", "live", "unscored", None),
        ("fear", "surprise", "live", "unscored", None),
    ]
