"""The photo quiz page, run by Streamlit's AppTest with the real model, real photos and a real journal file."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import xface.quiz
from tests.conftest import NO_FACES, WITH_FACES
from xface.journal import Journal

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "photo_quiz.py")
TWO_FACES = WITH_FACES / "2009_004587.jpg"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "journal.db"
    monkeypatch.setenv("XFACE_DB", str(path))
    return path


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(*files: tuple[str, bytes]) -> AppTest:
    at = run(AppTest.from_file(PAGE, default_timeout=300))
    at.file_uploader[0].set_value([(name, data, "application/octet-stream") for name, data in files])
    return run(at)


def guess_buttons(at: AppTest) -> list[str]:
    return [button.key for button in at.button if button.key and button.key.startswith("quiz_guess_")]


def stored(db: Path) -> tuple[list[dict], list[dict]]:
    with Journal(db) as journal:
        return journal.sessions(), journal.quiz_answers()


def test_upload_guess_feedback_and_the_answer_is_stored(db):
    at = upload(("2009_004587.jpg", TWO_FACES.read_bytes()))
    assert at.subheader[0].value == "Face 1 of 2"
    assert len(at.get("image")) == 1  # the face crop
    assert len(guess_buttons(at)) == 7
    assert stored(db) == ([], [])  # nothing is written before a guess

    at.button(key="quiz_guess_happy").click()
    at = run(at)
    shown = " ".join(alert.value for alert in [*at.success, *at.info])
    assert "The model reads this face as" in shown and "can be wrong" in shown  # no label: the model is the answer
    assert any("Xface's reading" in caption.value for caption in at.caption)
    assert any("What the face is doing" in block.value for block in at.markdown)
    assert not guess_buttons(at)  # one guess per face
    sessions, answers = stored(db)
    assert [row["kind"] for row in sessions] == ["quiz"]
    (answer,) = answers
    assert answer["guess"] == "happy" and answer["answer_source"] == "model"
    assert answer["question"].startswith("2009_004587.jpg#") and answer["session_id"] == sessions[0]["id"]
    assert answer["answer"] == answer["model_emotion"] and 0 < answer["model_confidence"] <= 1

    at.button(key="quiz_next").click()
    at = run(at)
    assert at.subheader[0].value == "Face 2 of 2"
    at.button(key="quiz_guess_neutral").click()
    at = run(at)
    at.button(key="quiz_next").click()
    at = run(at)
    assert at.subheader[0].value == "How the round went"
    assert any("faces the same way as their answer" in block.value for block in at.markdown)
    sessions, answers = stored(db)
    assert len(answers) == 2 and {row["question"] for row in answers} == {"2009_004587.jpg#0", "2009_004587.jpg#1"}
    assert sessions[0]["ended_at"] and sessions[0]["summary"]["asked"] == 2  # the round closed its session


def test_a_label_in_the_name_is_the_answer(db):
    at = upload(("img_sad.jpg", TWO_FACES.read_bytes()))
    at.button(key="quiz_guess_sad").click()
    at = run(at)
    assert at.success and "Yes. This photo is labelled sad." in at.success[0].value
    assert any("Scored against the photo's name" in caption.value for caption in at.caption)
    (answer,) = stored(db)[1]
    assert (answer["answer"], answer["answer_source"], answer["correct"]) == ("sad", "label", True)
    at.button(key="quiz_next").click()
    at = run(at)
    at.button(key="quiz_guess_fear").click()
    at = run(at)
    assert not at.success and "you chose fear" in at.info[0].value and "For sad, look for" in at.info[0].value
    at.button(key="quiz_next").click()
    at = run(at)
    assert any("You often mix up sad and afraid" in block.value for block in at.markdown)


def test_bad_files_get_a_message_and_nothing_is_stored(db):
    at = upload(
        ("broken.jpg", b"this is not a photo"),
        ("empty.png", b""),
        ("dogs.jpg", (NO_FACES / "dlib_dogs.jpg").read_bytes()),
    )
    warning = at.warning[0].value
    assert "broken" in warning and "not an image" in warning and "empty" in warning
    assert any("No face found in: dogs" in alert.value for alert in at.info)
    assert any("no faces to ask about" in alert.value for alert in at.info)
    assert not guess_buttons(at)
    assert stored(db) == ([], [])


def test_the_rest_of_a_batch_is_still_used(db):
    at = upload(("broken.jpg", b"\xff\xd8\xff\xe0 cut"), ("2009_004587.jpg", TWO_FACES.read_bytes()))
    assert "broken" in at.warning[0].value
    assert at.subheader[0].value == "Face 1 of 2" and len(guess_buttons(at)) == 7
    assert stored(db) == ([], [])


def test_a_finished_round_can_go_again_or_start_over(db):
    at = upload(("happy/friends.jpg", TWO_FACES.read_bytes()))
    for _ in range(2):
        at.button(key="quiz_guess_happy").click()
        at = run(at)
        at.button(key="quiz_next").click()
        at = run(at)
    at.button(key="quiz_again").click()
    at = run(at)
    assert at.subheader[0].value == "Face 1 of 2" and len(guess_buttons(at)) == 7
    at.button(key="quiz_guess_happy").click()
    at = run(at)
    sessions, answers = stored(db)
    assert len(sessions) == 2 and len(answers) == 3  # a second round is a second session
    assert sessions[0]["ended_at"] and sessions[1]["ended_at"] is None
    at.button(key="quiz_next").click()
    at = run(at)
    at.button(key="quiz_guess_happy").click()
    at = run(at)
    at.button(key="quiz_next").click()
    at = run(at)
    at.button(key="quiz_new_photos").click()
    at = run(at)
    assert not at.subheader and not at.file_uploader[0].value  # a fresh, empty uploader
    assert all(row["ended_at"] for row in stored(db)[0])


def test_a_zip_gives_labels_from_folders_and_skips_what_it_must(db):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("happy/img1.jpg", TWO_FACES.read_bytes())
        archive.writestr("../escape.jpg", TWO_FACES.read_bytes())
        archive.writestr("notes.txt", "not a photo")
    at = upload(("faces.zip", buffer.getvalue()))
    warning = at.warning[0].value
    assert "escape" in warning and "outside the zip" in warning and "notes" in warning
    assert at.subheader[0].value == "Face 1 of 2"
    at.button(key="quiz_guess_happy").click()
    at = run(at)
    assert "Yes. This photo is labelled happy." in at.success[0].value
    (answer,) = stored(db)[1]
    assert answer["question"].startswith("faces.zip/happy/img1.jpg#") and answer["answer_source"] == "label"


def test_the_order_uses_this_persons_stored_answers(db, monkeypatch):
    with Journal(db) as journal:
        session = journal.start_session("quiz")
        for guess in ("surprise", "surprise", "fear"):
            journal.add_quiz_answer(session, "old.jpg#0", guess, "fear", "label", None, None)
    seen = []
    original = xface.quiz.order_questions

    def spy(questions, history, rng):
        seen.append(list(history))
        return original(questions, history, rng)

    monkeypatch.setattr(xface.quiz, "order_questions", spy)
    upload(("2009_004587.jpg", TWO_FACES.read_bytes()))
    assert [row["guess"] for row in seen[0]] == ["surprise", "surprise", "fear"]
