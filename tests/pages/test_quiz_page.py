"""The photo quiz page, run by Streamlit's AppTest with the real model, real photos and a real journal file."""

from __future__ import annotations

import io
import re
import tomllib
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import xface.teach.quiz
from tests.bad_inputs import corpus
from tests.conftest import NO_FACES, ROOT, WITH_FACES
from xface.app.uploads import MAX_UPLOAD_BYTES
from xface.journal.schema import TABLES
from xface.journal.store import Journal

PAGE = str(ROOT / "pages" / "photo_quiz.py")
TWO_FACES = WITH_FACES / "2009_004587.jpg"
BAD_INPUTS = corpus()
ERROR_WORDS = {
    "empty.jpg": "the file is empty",
    "truncated.jpg": "the picture is cut short; try another copy",
    "corrupt.png": "the picture is broken; try a new copy",
    "text.jpg": "not an image file Xface can read",
    "bomb.png": "the image is too large",
    "text_bomb_ztxt.png": "the picture has too much hidden text",
    "text_bomb_itxt.png": "the picture has too much hidden text",
    "postscript.jpg": "not an image file Xface can read",
}
"""What the one line about each unusable corpus file must say."""


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "journal.db"
    monkeypatch.setenv("XFACE_DB", str(path))
    return path


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def next_button(at: AppTest):
    """The one Next face button on show: its key names the face it was drawn for (`ui.drawn_key`)."""
    (button,) = [button for button in at.button if button.key.startswith("quiz_next_")]
    return button


def upload(*files: tuple[str, bytes]) -> AppTest:
    at = run(AppTest.from_file(PAGE, default_timeout=300))
    at.file_uploader[0].set_value([(name, data, "application/octet-stream") for name, data in files])
    return run(at)


def plain(markdown: str) -> str:
    """Markdown as a person reads it: the page escapes file names and messages (``sad\\_1\\.jpg``)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def problem_lines(at: AppTest) -> list[str]:
    """The one line per unusable file in the page's warning, unescaped."""
    return [line.removeprefix("- ") for alert in at.warning for line in plain(alert.value).splitlines()[2:]]


def nothing_stored(db: Path) -> bool:
    """True when the journal file has no row in any table: errors write nothing."""
    with Journal(db) as journal:
        exported = journal.export()
    return set(exported) == set(TABLES) and not any(exported.values())


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
    assert not at.success  # no label: never scored, whatever Xface reads
    shown = " ".join(alert.value for alert in at.info)
    assert "no label, so there is no score" in shown and "For your information, Xface reads it as" in shown
    assert not guess_buttons(at)  # one guess per face
    sessions, answers = stored(db)
    assert [row["kind"] for row in sessions] == ["quiz"]
    (answer,) = answers
    assert answer["guess"] == "happy" and answer["answer_source"] == "model" and answer["face_source"] == "upload"
    assert answer["question"].startswith("2009_004587.jpg#") and answer["session_id"] == sessions[0]["id"]
    assert answer["answer"] is None and answer["verdict"] == "unscored" and 0 < answer["model_confidence"] <= 1

    next_button(at).click()
    at = run(at)
    assert at.subheader[0].value == "Face 2 of 2"
    at.button(key="quiz_guess_neutral").click()
    at = run(at)
    next_button(at).click()
    at = run(at)
    assert at.subheader[0].value == "How the round went"
    assert any("2 faces were practice without a score" in block.value for block in at.markdown)
    sessions, answers = stored(db)
    assert len(answers) == 2 and {row["question"] for row in answers} == {"2009_004587.jpg#0", "2009_004587.jpg#1"}
    assert sessions[0]["ended_at"] and sessions[0]["summary"]["answers"] == 2  # the round closed its session


def test_a_label_in_the_name_is_the_answer(db):
    at = upload(("img_sad.jpg", TWO_FACES.read_bytes()))
    at.button(key="quiz_guess_sad").click()
    at = run(at)
    assert at.success and "Yes. This photo is labelled sad." in at.success[0].value
    assert any(block.value.startswith("Xface's reading:") for block in at.markdown)
    (answer,) = stored(db)[1]
    assert (answer["answer"], answer["answer_source"], answer["correct"]) == ("sad", "label", True)
    next_button(at).click()
    at = run(at)
    at.button(key="quiz_guess_fear").click()
    at = run(at)
    assert not at.success and "labelled sad; you chose afraid" in at.info[0].value
    assert any(block.value.startswith("Xface's reading:") for block in at.markdown)
    next_button(at).click()
    at = run(at)
    assert not any("as afraid" in block.value for block in at.markdown)  # one miss is not yet a mix-up


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
        next_button(at).click()
        at = run(at)
    at.button(key="quiz_again").click()
    at = run(at)
    assert at.subheader[0].value == "Face 1 of 2" and len(guess_buttons(at)) == 7
    at.button(key="quiz_guess_happy").click()
    at = run(at)
    sessions, answers = stored(db)
    assert len(sessions) == 2 and len(answers) == 3  # a second round is a second session
    assert sessions[0]["ended_at"] and sessions[1]["ended_at"] is None
    next_button(at).click()
    at = run(at)
    at.button(key="quiz_guess_happy").click()
    at = run(at)
    next_button(at).click()
    at = run(at)
    at.button(key="quiz_new_round").click()
    at = run(at)
    assert at.subheader[0].value == "Practise with Xface's faces" and not at.file_uploader[0].value  # a fresh start
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
    original = xface.teach.quiz.order_questions

    def spy(questions, history, rng):
        seen.append(list(history))
        return original(questions, history, rng)

    monkeypatch.setattr(xface.teach.quiz, "order_questions", spy)
    upload(("2009_004587.jpg", TWO_FACES.read_bytes()))
    assert [row["guess"] for row in seen[0]] == ["surprise", "surprise", "fear"]


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_every_awkward_file_gets_one_clear_line_and_the_rest_of_the_batch_is_asked(db, name):
    data, expected = BAD_INPUTS[name]
    at = upload((name, data), ("2009_004587.jpg", TWO_FACES.read_bytes()))
    if expected == "error":
        (line,) = problem_lines(at)
        assert line.startswith(f"{name}: ") and ERROR_WORDS[name] in line, line
        assert "Traceback" not in line and "Error" not in line
        assert not any(name in plain(alert.value) for alert in at.info)
    else:  # a usable picture without a face: named as such, not as a broken file
        assert not at.warning
        assert any(f"No face found in: {name}" in plain(alert.value) for alert in at.info)
    assert at.subheader[0].value == "Face 1 of 2" and len(guess_buttons(at)) == 7  # the real photo still counts
    assert len(at.get("image")) == 1
    assert nothing_stored(db)


def test_the_whole_corpus_in_one_batch_gives_one_line_each_and_the_faces_still_come(db):
    files = [(name, data) for name, (data, _) in BAD_INPUTS.items()]
    at = upload(*files, ("2009_004587.jpg", TWO_FACES.read_bytes()))
    errors = [name for name, (_, expected) in BAD_INPUTS.items() if expected == "error"]
    assert [line.split(": ", 1)[0] for line in problem_lines(at)] == errors
    (no_faces,) = [plain(alert.value) for alert in at.info if "No face found in" in alert.value]
    assert all(name in no_faces for name, (_, expected) in BAD_INPUTS.items() if expected != "error")
    assert at.subheader[0].value == "Face 1 of 2" and len(guess_buttons(at)) == 7
    assert nothing_stored(db)


def test_an_upload_over_the_size_limit_gets_a_message_and_the_rest_is_asked(db):
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == MAX_UPLOAD_BYTES  # the page's limit is the server's
    huge = b"\xff\xd8\xff\xe0" + bytes(MAX_UPLOAD_BYTES - 3)  # one byte over
    at = upload(("huge.jpg", huge), ("2009_004587.jpg", TWO_FACES.read_bytes()))
    (line,) = problem_lines(at)
    assert line == "huge.jpg: the file is 25.0 MB, over the 25.0 MB limit"
    assert at.subheader[0].value == "Face 1 of 2" and len(guess_buttons(at)) == 7
    assert nothing_stored(db)


def test_a_zip_with_nested_folders_and_a_path_out_of_it(db, tmp_path, monkeypatch):
    here = tmp_path / "deep" / "down"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)  # were "../../x.jpg" ever written, it would land in tmp_path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.mkdir("trip/2024/empty")
        archive.writestr("trip/2024/day one/happy/friends.jpg", TWO_FACES.read_bytes())
        archive.writestr("../../x.jpg", TWO_FACES.read_bytes())
    at = upload(("faces.zip", buffer.getvalue()))
    assert problem_lines(at) == ["faces.zip/../../x.jpg: skipped: its path points outside the zip"]
    assert at.subheader[0].value == "Face 1 of 2" and len(guess_buttons(at)) == 7  # x.jpg's faces are not asked
    assert nothing_stored(db)
    assert not list(tmp_path.rglob("x.jpg")) and not (here / ".." / ".." / "x.jpg").exists()

    at.button(key="quiz_guess_happy").click()
    at = run(at)
    assert "Yes. This photo is labelled happy." in at.success[0].value  # the label from the nested folder
    sessions, answers = stored(db)
    (answer,) = answers
    assert answer["question"].startswith("faces.zip/trip/2024/day one/happy/friends.jpg#")
    assert answer["session_id"] == sessions[0]["id"]


def finish_round(at: AppTest) -> AppTest:
    """Answer every face left in the round (the first button each time) and reach the summary."""
    while at.subheader[0].value != "How the round went":
        assert not at.pills  # no check-in while the round goes on
        at.button(key=guess_buttons(at)[0]).click()
        at = run(at)
        next_button(at).click()
        at = run(at)
    return at


def test_a_checkin_after_a_round_is_linked_to_its_quiz_session(db):
    at = finish_round(upload(("2009_004587.jpg", TWO_FACES.read_bytes())))
    assert any("How did you feel?" in block.value for block in at.markdown)

    at.button(key="quiz_checkin_save").click()  # nothing chosen yet: a message, nothing written
    at = run(at)
    assert "Choose a feeling" in at.error[0].value
    with Journal(db) as journal:
        assert journal.checkins() == []

    at.select_slider(key="quiz_checkin_pleasantness").set_value(-1)
    at.select_slider(key="quiz_checkin_energy").set_value(-1)
    at = run(at)
    at.button_group(key="quiz_checkin_word_-1_-1").set_value("lonely")
    at.select_slider(key="quiz_checkin_intensity").set_value(4)
    at.button_group(key="quiz_checkin_body").set_value(["chest"])
    at.text_area(key="quiz_checkin_note").set_value("I kept second-guessing")
    at.button(key="quiz_checkin_save").click()
    at = run(at)
    assert "Your check-in is saved" in at.success[0].value
    with Journal(db) as journal:
        sessions, (row,) = journal.sessions(), journal.checkins()
    (session,) = sessions
    assert session["kind"] == "quiz" and session["ended_at"] and session["summary"]["answers"] == 2
    assert row["session_id"] == session["id"]
    assert (row["core"], row["feeling"], row["intensity"], row["body"]) == ("sad", "lonely", 4, ["chest"])
    assert row["note"] == "I kept second-guessing"

    at.button(key="quiz_checkin_done").click()
    at = run(at)
    assert not at.pills and at.subheader[0].value == "How the round went"

    at.button(key="quiz_again").click()  # the next round's check-in goes with the next session
    at = finish_round(run(at))
    at.text_input(key="quiz_checkin_own_words").set_value("restless")
    at.button(key="quiz_checkin_save").click()
    at = run(at)
    with Journal(db) as journal:
        sessions, checkins = journal.sessions(), journal.checkins()
    assert [row["session_id"] for row in checkins] == [sessions[0]["id"], sessions[1]["id"]]
    assert checkins[1]["own_words"] == "restless" and checkins[1]["core"] is None


# --- Xface's own faces, nothing shown before the guess, practice without a score, leaving the page ---------------


def start_bank_round(at: AppTest, level: int = 1, emotions: list[str] | None = None) -> AppTest:
    at.radio(key="quiz_level").set_value(level)
    if emotions:
        at.multiselect(key="quiz_emotions").set_value(emotions)
    at.button(key="quiz_bank_start").click()
    return run(at)


def shown_text(at: AppTest) -> str:
    """Every word on the page a person (or a screen reader) gets: text, captions, image captions and alt texts."""
    parts = [e.value for kind in ("markdown", "caption", "subheader", "title", "info", "success") for e in at.get(kind)]
    parts += [button.label for button in at.button]
    for image in at.get("image"):
        parts += [f"{img.caption} {img.alt}" for img in image.proto.imgs]
    return plain(" ".join(str(part) for part in parts))


def round_state(at: AppTest) -> dict:
    return at.session_state["quiz_round"]


def test_a_round_of_xfaces_own_faces_needs_no_upload(db):
    at = start_bank_round(run(AppTest.from_file(PAGE, default_timeout=300)), level=2, emotions=["sad", "fear"])
    assert at.subheader[0].value == "Face 1 of 10" and len(guess_buttons(at)) == 7
    questions = round_state(at).questions
    assert all(q.crowd.level == 2 and q.answer in ("sad", "fear") for q in questions)
    first = questions[0]
    minority = next((e for e, n in first.crowd.votes.items() if e != first.answer and n >= 3), None)
    choice = minority or first.answer
    at.button(key=f"quiz_guess_{choice}").click()
    at = run(at)
    crowd = next(block.value for block in at.markdown if " of 10 people said " in block.value)
    assert (
        f"{first.crowd.votes[first.answer]} of 10 people said {'sad' if first.answer == 'sad' else 'afraid'}" in crowd
    )
    assert any("Xface's reading" in block.value for block in at.markdown)
    expected = "Some people see it that way too" if minority else "Yes. Most people read this face as"
    assert expected in " ".join(alert.value for alert in [*at.success, *at.info])
    (answer,) = stored(db)[1]
    assert (answer["face_source"], answer["answer_source"], answer["answer"], answer["guess"]) == (
        "bank",
        "crowd",
        first.answer,
        choice,
    )
    assert answer["verdict"] == ("shared" if minority else "right")


def test_nothing_names_the_answer_before_the_guess(db):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("disgust/angry_man_frowning.jpg", TWO_FACES.read_bytes())
    at = upload(("labelled.zip", buffer.getvalue()))
    before = shown_text(at)
    assert "labelled" not in before and "disgust/" not in before and "frowning" not in before
    assert all(not img.caption for image in at.get("image") for img in image.proto.imgs)
    at.button(key="quiz_guess_angry").click()
    at = run(at)
    assert "labelled.zip/disgust/angry_man_frowning.jpg" in shown_text(at)  # named once answered

    at = start_bank_round(run(AppTest.from_file(PAGE, default_timeout=300)), level=3)
    question = round_state(at).questions[0]
    before = shown_text(at)
    assert question.crowd.id not in before and question.crowd.file not in before and "people said" not in before
    assert "FER2013" not in before


def test_an_unclear_reading_of_an_unlabelled_face_is_practice_without_a_score(db):
    at = upload(("2008_002470.jpg", (WITH_FACES / "2008_002470.jpg").read_bytes()))
    seen = set()
    while at.subheader[0].value != "How the round went":
        question = round_state(at).questions[round_state(at).position]
        at.button(key="quiz_guess_sad").click()
        at = run(at)
        alerts = " ".join(alert.value for alert in [*at.success, *at.info])
        if question.scored:
            assert "Xface reads this face as" in alerts
        else:
            seen.add("unscored")
            assert "no score" in alerts and "sure" in alerts and not at.success
        next_button(at).click()
        at = run(at)
    assert seen == {"unscored"}  # this photo has faces Xface can't read clearly
    verdicts = [row["verdict"] for row in stored(db)[1]]
    assert "unscored" in verdicts and any("practice without a score" in block.value for block in at.markdown)


def test_a_round_survives_going_to_another_page_and_back(db):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)  # the app's navigation, as in the browser
    at.switch_page("pages/photo_quiz.py")
    at = start_bank_round(run(at), level=1)
    keys = [q.key for q in round_state(at).questions]
    at.button(key=guess_buttons(at)[0]).click()
    at = run(at)
    next_button(at).click()
    at = run(at)
    assert at.subheader[0].value == "Face 2 of 10"

    at.switch_page("pages/help.py")
    at = run(at)
    assert not guess_buttons(at)
    at.switch_page("pages/photo_quiz.py")
    at = run(at)
    assert at.subheader[0].value == "Face 2 of 10" and len(guess_buttons(at)) == 7
    assert [q.key for q in round_state(at).questions] == keys and len(stored(db)[1]) == 1

    at.button(key=guess_buttons(at)[0]).click()  # and a round of uploads too
    at = run(at)
    at.button(key="quiz_end").click()
    at = run(at)
    assert at.subheader[0].value == "How the round went"
    at.button(key="quiz_new_round").click()
    at = run(at)
    at.file_uploader[0].set_value([("happy/a.jpg", TWO_FACES.read_bytes(), "image/jpeg")])
    at = run(at)
    assert at.subheader[0].value == "Face 1 of 2"
    at.switch_page("pages/journal.py")
    at = run(at)
    at.switch_page("pages/photo_quiz.py")
    at = run(at)
    assert at.subheader[0].value == "Face 1 of 2" and len(guess_buttons(at)) == 7
