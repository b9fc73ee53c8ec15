from collections import Counter
from random import Random

import pytest

from xface.emotions import EMOTIONS
from xface.journal import Journal
from xface.quiz import (
    Question,
    confusion_weights,
    label_from_name,
    order_questions,
    round_summary,
    score,
    top_confusions,
)


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("happy/img1.jpg", "happy"),
        ("/data/fer/test/sad/x.png", "sad"),
        ("img_sad.jpg", "sad"),
        ("2_Surprised.jpeg", "surprise"),
        ("fear-01.png", "fear"),
        ("imgAngry3.png", "angry"),
        ("HAPPY.JPG", "happy"),
        ("C:\\photos\\Disgust\\0001.jpg", "disgust"),
        ("faces/neutral/happy_face.jpg", "happy"),  # the file name wins over the folder
        ("sad/happy/1.jpg", "happy"),  # the deepest folder wins over the ones above
        ("photos/fearful/kid.jpg", "fear"),
        ("sadie.jpg", None),  # whole words only
        ("disgusting.jpg", None),  # not a label word, so no label
        ("sadie/IMG_0001.jpg", None),
        ("happy_or_sad.jpg", None),  # ambiguous: ask the model instead
        ("holiday/IMG_0001.jpg", None),
        ("", None),
    ],
)
def test_label_from_name(name, label):
    assert label_from_name(name) == label


def question(key: str, label: str | None = None, model: str | None = None, confidence: float | None = None):
    return Question(key=key, photo=key, label=label, model_emotion=model, model_confidence=confidence)


def test_score_against_a_label():
    feedback = score(question("sad/1.jpg", label="sad", model="neutral", confidence=0.8), "sad")
    assert (feedback.correct, feedback.answer, feedback.answer_source) == (True, "sad", "label")
    assert "labelled sad" in feedback.message
    missed = score(question("fear/2.jpg", label="fear", model="fear"), "Surprised")
    assert (missed.correct, missed.guess, missed.answer) == (False, "surprise", "fear")
    assert "you chose surprise" in missed.message and "brows raised" in missed.message
    assert "!" not in feedback.message + missed.message
    assert len({question("a", label="sad"), question("a", label="sad")}) == 1  # usable as a key


def test_score_against_the_model_says_it_can_be_wrong():
    feedback = score(question("x.jpg#0", model="happy", confidence=0.62), "happy")
    assert (feedback.correct, feedback.answer_source) == (True, "model")
    assert "62% sure" in feedback.message and "can be wrong" in feedback.message
    with pytest.raises(ValueError):
        score(question("x.jpg#0", model="happy"), "elated")
    with pytest.raises(ValueError):
        score(question("y.jpg#0"), "happy")


def test_feedback_is_stored_by_the_journal(tmp_path):
    with Journal(tmp_path / "journal.db") as journal:
        session = journal.start_session("quiz")
        feedback = score(question("x.jpg#1", model="fear", confidence=0.5), "surprise")
        journal.add_quiz_answer(session, **feedback.journal_fields())
        (row,) = journal.quiz_answers()
    assert (row["question"], row["guess"], row["answer"], row["answer_source"], row["correct"]) == (
        "x.jpg#1",
        "surprise",
        "fear",
        "model",
        False,
    )


def answers(pairs: list[tuple[str, str]]) -> list[dict]:
    return [{"answer": answer, "guess": guess} for answer, guess in pairs]


def test_confusion_weights_smooth_error_rates():
    history = answers([("fear", "surprise")] * 4 + [("happy", "happy")] * 4 + [("sad", "sad"), ("sad", "neutral")])
    weights = confusion_weights(history)
    assert weights["fear"] == pytest.approx(5 / 6)
    assert weights["happy"] == pytest.approx(1 / 6)
    assert weights["sad"] == pytest.approx(2 / 4)
    assert weights["angry"] == 0.5  # never asked: still asked
    assert set(weights) == set(EMOTIONS)


def test_confusion_weights_look_at_recent_answers():
    history = answers([("fear", "surprise")] * 30 + [("fear", "fear")] * 20)
    assert confusion_weights(history)["fear"] == pytest.approx(1 / 22)
    assert confusion_weights(history, window=0)["fear"] == pytest.approx(31 / 52)


def test_adaptive_order_favours_the_emotion_this_person_confuses(tmp_path):
    with Journal(tmp_path / "journal.db") as journal:
        session = journal.start_session("quiz")
        for _ in range(10):
            journal.add_quiz_answer(session, "f.jpg", "surprise", "fear", "label", "fear", 0.5)
            journal.add_quiz_answer(session, "h.jpg", "happy", "happy", "label", "happy", 0.9)
        history = journal.quiz_answers()
    pool = [question(f"{emotion}/{n}.jpg", label=emotion) for emotion in ("happy", "fear", "neutral") for n in range(3)]
    first = Counter(order_questions(pool, history, Random(seed))[0].answer for seed in range(600))
    assert first["fear"] > 5 * first["happy"]
    assert first["neutral"] > first["happy"]
    # Reproducible from a seed, and every question is asked once.
    assert order_questions(pool, history, Random(7)) == order_questions(pool, history, Random(7))
    assert sorted(q.key for q in order_questions(pool, history, Random(7))) == sorted(q.key for q in pool)


def test_many_photos_of_one_emotion_do_not_crowd_out_the_rest():
    pool = [question(f"happy/{n}.jpg", label="happy") for n in range(50)] + [question("sad/1.jpg", label="sad")]
    first = Counter(order_questions(pool, [], Random(seed))[0].answer for seed in range(400))
    assert 0.35 < first["sad"] / 400 < 0.65


def test_top_confusions():
    history = answers(
        [("fear", "surprise")] * 3 + [("disgust", "angry")] * 2 + [("sad", "neutral"), ("happy", "happy")]
    )
    assert top_confusions(history, n=2) == [("fear", "surprise", 3), ("disgust", "angry", 2)]
    assert top_confusions(answers([("happy", "happy")])) == []


def test_round_summary_is_calm():
    feedbacks = [
        score(question("a", label="sad"), "sad"),
        score(question("b", label="sad"), "neutral"),
        score(question("c", model="happy", confidence=0.9), "happy"),
    ]
    summary = round_summary(feedbacks)
    assert (summary["asked"], summary["correct"]) == (3, 2)
    assert summary["per_emotion"] == {"happy": {"asked": 1, "correct": 1}, "sad": {"asked": 2, "correct": 1}}
    assert "streak" not in str(summary).lower()
    assert round_summary([])["asked"] == 0
