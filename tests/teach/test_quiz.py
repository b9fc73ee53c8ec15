from collections import Counter
from random import Random

import numpy as np
import pytest
import textstat

from xface.emotions import EMOTIONS
from xface.journal.store import Journal
from xface.teach.practice import crowd_sentence, load_bank
from xface.teach.quiz import (
    Mixup,
    Question,
    bank_question,
    bank_questions,
    confusion_weights,
    label_from_name,
    order_questions,
    read_bank_face,
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
    """A question; a model reading gets probabilities with ``confidence`` on ``model`` and the rest spread evenly."""
    probs = {}
    if model is not None and confidence is not None:
        probs = {emotion: (1 - confidence) / 6 for emotion in EMOTIONS} | {model: confidence}
    return Question(key=key, photo=key, label=label, model_emotion=model, model_confidence=confidence, probs=probs)


def test_score_against_a_label():
    feedback = score(question("sad/1.jpg", label="sad", model="neutral", confidence=0.8), "sad")
    assert (feedback.correct, feedback.answer, feedback.answer_source, feedback.verdict) == (
        True,
        "sad",
        "label",
        "right",
    )
    assert "labelled sad" in feedback.message
    missed = score(question("fear/2.jpg", label="fear", model="fear"), "Surprised")
    assert (missed.correct, missed.guess, missed.answer, missed.verdict) == (False, "surprise", "fear", "wrong")
    assert "labelled afraid; you chose surprised" in missed.message  # one word per emotion
    assert missed.lesson  # the teaching sentence from the cues
    assert "!" not in feedback.message + missed.message
    assert len({question("a", label="sad"), question("a", label="sad")}) == 1  # usable as a key


@pytest.mark.parametrize("confidence", [0.45, 0.59, 0.82, 0.97])
def test_an_unlabelled_upload_is_never_scored_and_shows_the_reading_as_information(confidence):
    for guess in ("happy", "sad"):  # matching the reading or not, clear or not: no right or wrong
        feedback = score(question("x.jpg#0", model="happy", confidence=confidence), guess)
        assert (feedback.verdict, feedback.answer, feedback.correct) == ("unscored", None, False)
        assert f"{confidence:.0%} sure" in feedback.message and "no score" in feedback.message
        assert not feedback.message.startswith("Yes") and "labelled" not in feedback.message
        assert feedback.journal_fields()["answer"] is None
        assert textstat.flesch_reading_ease(feedback.message) >= 70
    assert not question("x.jpg#0", model="happy", confidence=0.97).scored
    with pytest.raises(ValueError):
        score(question("x.jpg#0", model="happy"), "elated")
    with pytest.raises(ValueError):
        score(question("y.jpg#0"), "happy")


def test_crowd_feedback_names_how_people_read_the_face():
    split = next(face for face in load_bank(3) if sorted(face.votes.values())[-2] >= 3)
    minority = sorted(split.votes, key=split.votes.get)[-2]
    nobody = next(emotion for emotion in EMOTIONS if split.votes[emotion] == 0)
    item = bank_question(split)
    right, shared, wrong = score(item, split.emotion), score(item, minority), score(item, nobody)
    assert [f.verdict for f in (right, shared, wrong)] == ["right", "shared", "wrong"]
    assert {f.answer_source for f in (right, shared, wrong)} == {"crowd"}
    assert right.crowd.startswith(f"{split.votes[split.emotion]} of 10 people said ")
    assert shared.message.startswith("Some people see it that way too")
    assert all(f.lesson for f in (right, shared, wrong))
    for feedback in (right, shared, wrong):
        assert textstat.flesch_reading_ease(feedback.message) >= 70, feedback.message
        fields = feedback.journal_fields()
        assert (fields["face_source"], fields["answer_source"]) == ("bank", "crowd")


def test_feedback_is_stored_by_the_journal(tmp_path):
    bank_face = bank_question(load_bank(1)[0])
    with Journal(tmp_path / "journal.db") as journal:
        session = journal.start_session("quiz")
        journal.add_quiz_answer(
            session, **score(question("x.jpg#1", model="fear", confidence=0.9), "surprise").journal_fields()
        )
        journal.add_quiz_answer(
            session, **score(question("y.jpg#0", model="fear", confidence=0.4), "fear").journal_fields()
        )
        journal.add_quiz_answer(session, **score(bank_face, bank_face.answer).journal_fields())
        rows = journal.quiz_answers()
    picked = [
        (r["question"], r["guess"], r["answer"], r["answer_source"], r["face_source"], r["verdict"], r["correct"])
        for r in rows
    ]
    assert picked == [
        ("x.jpg#1", "surprise", None, "model", "upload", "unscored", None),
        ("y.jpg#0", "fear", None, "model", "upload", "unscored", None),
        (bank_face.key, bank_face.answer, bank_face.answer, "crowd", "bank", "right", True),
    ]


def test_a_bank_round_keeps_to_the_level_and_emotions_chosen():
    chosen = bank_questions(2, ["sad", "fear"], [], Random(1))
    assert len(chosen) == 10 and len({q.key for q in chosen}) == 10
    assert all(q.crowd.level == 2 and q.answer in {"sad", "fear"} and q.answer_source == "crowd" for q in chosen)
    assert {q.answer for q in bank_questions(1, None, [], Random(2), count=60)} == set(EMOTIONS)
    assert all(not any(word in q.key for word in EMOTIONS) for q in chosen)  # the key gives nothing away


def test_a_bank_face_is_read_by_the_real_model(analyzer):
    asked = read_bank_face(analyzer, bank_question(load_bank(1, ["happy"])[0]))
    assert asked.model_emotion == "happy" and asked.model_confidence > 0.6  # 10 of 10 people said happy
    assert sum(asked.probs.values()) == pytest.approx(1, abs=1e-4)
    assert asked.crowd is not None and asked.answer_source == "crowd"
    with pytest.raises(ValueError):
        read_bank_face(analyzer, question("x.jpg#0", label="sad"))


def answers(pairs: list[tuple[str, str]], source: str = "label") -> list[dict]:
    return [
        {"answer": answer, "guess": guess, "answer_source": source, "verdict": "right" if guess == answer else "wrong"}
        for answer, guess in pairs
    ]


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


def test_a_mixup_is_named_only_after_three_labelled_or_crowd_answers():
    history = answers(
        [("fear", "surprise")] * 3 + [("disgust", "angry")] * 2 + [("sad", "neutral"), ("happy", "happy")]
    )
    assert top_confusions(history) == [Mixup("fear", "surprise", 3)]  # two of disgust → angry are not enough
    assert top_confusions(history + answers([("disgust", "angry")], "crowd"), n=2) == [
        Mixup("fear", "surprise", 3),
        Mixup("disgust", "angry", 3),
    ]
    from_the_model = answers([("sad", "angry")] * 5, "model")
    assert top_confusions(from_the_model) == []  # Xface's own reading is no evidence
    shared = [{**row, "verdict": "shared"} for row in answers([("sad", "neutral")] * 4, "crowd")]
    assert top_confusions(shared) == []  # what some people saw too is no mix-up
    assert top_confusions(answers([("happy", "happy")])) == []


def test_the_order_learns_only_from_labelled_and_crowd_answers():
    model_misses = answers([("fear", "surprise")] * 10, "model")
    unscored = [{"answer": None, "guess": "sad", "answer_source": "model", "verdict": "unscored"}] * 5
    assert confusion_weights(model_misses + unscored) == {emotion: 0.5 for emotion in EMOTIONS}
    crowd_misses = answers([("fear", "surprise")] * 10, "crowd")
    assert confusion_weights(crowd_misses)["fear"] == pytest.approx(11 / 12)


def test_round_summary_is_calm():
    bank_face = bank_question(next(face for face in load_bank(3) if sorted(face.votes.values())[-2] >= 3))
    minority = sorted(bank_face.crowd.votes, key=bank_face.crowd.votes.get)[-2]
    feedbacks = [
        score(question("a", label="sad"), "sad"),
        score(question("b", label="sad"), "neutral"),
        score(question("c", model="happy", confidence=0.9), "happy"),
        score(question("d", model="happy", confidence=0.4), "happy"),
        score(bank_face, minority),
    ]
    summary = round_summary(feedbacks)
    assert (summary.asked, summary.scored, summary.right, summary.shared) == (5, 3, 1, 1)
    assert summary.per_emotion["sad"] == {"asked": 2, "right": 1}
    assert "happy" not in summary.per_emotion or bank_face.answer == "happy"  # an unlabelled upload never counts
    assert summary.message == (
        "You read 1 of 3 faces the same way as their answer. 1 more matched what some people saw. "
        "2 faces were practice without a score."
    )
    assert "streak" not in str(summary).lower()
    assert round_summary([]).asked == 0


def test_feedback_is_at_most_70_words_a_face_with_the_crowd_split_first():
    from xface.teach.quiz import FEEDBACK_WORDS, feedback_lines
    from xface.vision.cues import CUE_NAMES

    rng = np.random.default_rng(3)
    checked = 0
    for face in load_bank(3)[::4]:
        item = bank_question(face)
        cues = dict(zip(CUE_NAMES, rng.random(len(CUE_NAMES)), strict=True))
        probs = dict(zip(EMOTIONS, rng.dirichlet(np.ones(len(EMOTIONS))), strict=True))
        item = Question(key=item.key, photo=item.photo, probs=probs, cues=cues, crowd=face)
        for guess in EMOTIONS:
            lines = feedback_lines(score(item, guess))
            assert sum(len(line.split()) for line in lines) <= FEEDBACK_WORDS, lines
            assert lines[0] == crowd_sentence(face)  # how people read it comes first
            checked += 1
    unlabelled = score(question("x.jpg#0", model="happy", confidence=0.97), "sad")
    lines = feedback_lines(unlabelled)
    assert lines[0] == unlabelled.message and "97% sure" in lines[0] and "no score" in lines[0]
    assert checked > 50
