"""Quiz logic without the page: where answers come from, scoring, and which faces to ask next.

Answers and scores. A face has one of three kinds of answer, and each is scored its own way:

* ``crowd``: a face from Xface's practice bank (``xface.teach.practice``). The answer is what most of
  the 10 FER+ people chose. A guess that a sizeable minority chose (``SHARED_AT``, 3 of 10) is
  "shared": some people see it that way too, so it is not wrong.
* ``label``: an upload whose name gives the emotion (``label_from_name``). Right or wrong.
* ``model``: an upload without a label. It is never scored: Xface's reading is wrong often enough
  (about 2 times in 10) that marking a person against it would teach its mistakes. The guess is
  practice without a score ("unscored"): the feedback shows what Xface reads and how sure it is, as
  information, never right or wrong, and it does not count in the round's score.

Mix-ups and order learn only from answers that had a real answer: a label or the crowd, never
Xface's own reading (wrong about 2 times in 10, ``accuracy_statement``). A mix-up is named only once the
person has made it at least ``MIXUP_EVIDENCE`` (3) times.

Adaptive ordering, the exact rule. For each true emotion e, take the person's last ``window`` (20)
scored label or crowd answers whose answer was e; with n of them and w wrong, e's weight is the
smoothed error rate (w + 1) / (n + 2), the mean of a Beta(1, 1) prior updated by those answers, so
an emotion never asked weighs 0.5, one always missed tends to 1 and one always read right tends to
0 but never reaches it. Each question gets its emotion's weight divided by the number of questions
in the pool with that emotion (so a folder with many happy photos doesn't crowd out the rest), and
the order is a weighted random sample without replacement (Efraimidis–Spirakis: sort by
u ** (1 / weight), u uniform from the given ``random.Random``), so it is reproducible from a seed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from random import Random
from typing import TYPE_CHECKING

import numpy as np

from xface.emotions import EMOTIONS, canonical_emotion, emotion_word
from xface.teach.explain import cue_contrast, cue_line, describe
from xface.teach.practice import BankFace, crowd_sentence, crowd_verdict, load_bank
from xface.vision.align import grey_to_rgb

if TYPE_CHECKING:
    from xface.vision.pipeline import Analyzer

__all__ = [
    "MIXUP_EVIDENCE",
    "Feedback",
    "Mixup",
    "Question",
    "RoundSummary",
    "FEEDBACK_WORDS",
    "bank_question",
    "feedback_lines",
    "bank_questions",
    "confusion_weights",
    "label_from_name",
    "order_questions",
    "read_bank_face",
    "round_summary",
    "score",
    "top_confusions",
]

WINDOW = 20
"""How many recent answers per emotion the weights look at, so that progress shows."""
MIXUP_EVIDENCE = 3
"""Answers of one pair (answer read as guess) before Xface names it as a mix-up: one slip is not a pattern."""
TEACHING_SOURCES = ("label", "crowd")
"""Answer sources with a real answer: only these name mix-ups and steer the order."""
BANK_ROUND = 10
"""Faces in a round from the practice bank."""

_TOKEN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _emotions_in(name: str) -> set[str]:
    """The emotions named by whole words of ``name``: 'img_sad' and 'imgSad' name sad, 'sadie' doesn't."""
    return {emotion for token in _TOKEN.findall(name) if (emotion := canonical_emotion(token.lower())) is not None}


def label_from_name(path_or_name: str) -> str | None:
    """The known answer for a photo, from its file name or else its nearest folder.

    The file name (without extension) is read first, then folders from the deepest up: the first
    that names exactly one emotion gives the label (``train/happy/img1.jpg``, ``img_sad.jpg``,
    ``2_Surprised.jpeg``, ``fear-01.png``). Words must be whole: ``sadie.jpg`` and
    ``disgusting.jpg`` name nothing. A name that names two emotions (``happy_or_sad.jpg``) is
    ambiguous, so there is no label and the model's reading is used instead.
    """
    path = PurePosixPath(path_or_name.replace("\\", "/"))
    for part in (path.stem, *reversed(path.parent.parts)):
        found = _emotions_in(part)
        if len(found) == 1:
            return found.pop()
        if len(found) > 1:
            return None
    return None


@dataclass(frozen=True)
class Question:
    """One face to name: where it comes from, which face, and what is known about it."""

    key: str
    photo: str
    """Where the face comes from, for after the answer only: a file name can give the answer away."""
    face_index: int = 0
    box: tuple[float, float, float, float] | None = None
    label: str | None = None
    model_emotion: str | None = None
    model_confidence: float | None = None
    probs: dict[str, float] = field(default_factory=dict, hash=False)  # hashable, e.g. as a dict key
    cues: dict[str, float] | None = field(default=None, hash=False)
    """The measured cues of this face (``FaceReading.cues``), None when not measured."""
    crowd: BankFace | None = field(default=None, hash=False)
    """The practice-bank face and its crowd votes, for a face from Xface's own bank."""

    @property
    def face_source(self) -> str:
        return "bank" if self.crowd is not None else "upload"

    @property
    def answer(self) -> str | None:
        """The crowd's emotion for a bank face, else the label, else the model's reading."""
        if self.crowd is not None:
            return self.crowd.emotion
        return self.label or self.model_emotion

    @property
    def answer_source(self) -> str:
        if self.crowd is not None:
            return "crowd"
        return "label" if self.label else "model"

    @property
    def scored(self) -> bool:
        """Only a real answer counts: the crowd's or a label, never Xface's own reading."""
        return self.answer_source != "model"


@dataclass(frozen=True)
class Feedback:
    """The result of one guess, ready to show and to store with ``Journal.add_quiz_answer``."""

    question: Question
    guess: str
    answer: str | None
    """None when the guess was practice without a score."""
    answer_source: str
    verdict: str
    """'right', 'shared' (a sizeable minority of the crowd saw it so), 'wrong' or 'unscored'."""
    message: str
    crowd: str | None = None
    """How the crowd read a bank face: "8 of 10 people said sad, 2 said neutral."."""
    lesson: str | None = None
    """The cues that carry the answer on this face, and the one that tells it from the guess."""

    @property
    def correct(self) -> bool:
        return self.verdict == "right"

    def journal_fields(self) -> dict:
        """Keyword arguments for ``Journal.add_quiz_answer`` (add the session id)."""
        return {
            "question": self.question.key,
            "guess": self.guess,
            "answer": self.answer,
            "answer_source": self.answer_source,
            "model_emotion": self.question.model_emotion,
            "model_confidence": self.question.model_confidence,
            "face_source": self.question.face_source,
            "verdict": self.verdict,
        }


def _sure(question: Question) -> str:
    return f", {question.model_confidence:.0%} sure" if question.model_confidence is not None else ""


def score(question: Question, guess: str) -> Feedback:
    """Compare a guess with the answer and say so calmly, naming where the answer came from."""
    chosen = canonical_emotion(guess)
    if chosen is None:
        raise ValueError(f"A guess is one of {', '.join(EMOTIONS)}, not {guess!r}.")
    answer = question.answer
    if answer is None:
        raise ValueError(f"Question {question.key!r} has neither a label nor a model reading to compare with.")
    you, word = emotion_word(chosen), emotion_word(answer)
    if not question.scored:
        message = (
            f"You chose {you}. This photo has no label, so there is no score. "
            f"For your information, Xface reads it as {word}{_sure(question)}, and it can be wrong."
        )
        return Feedback(question, chosen, None, "model", "unscored", message)
    if question.crowd is not None:
        verdict = crowd_verdict(question.crowd, chosen)
        if verdict == "right":
            message = f"Yes. Most people read this face as {word} too."
        elif verdict == "shared":
            message = (
                f"Some people see it that way too: {question.crowd.votes[chosen]} of {question.crowd.raters} "
                f"said {you}. Most people read it as {word}."
            )
        else:
            message = f"Most people read this face as {word}; you chose {you}."
        lesson = cue_contrast(answer, chosen, question.cues)
        return Feedback(question, chosen, answer, "crowd", verdict, message, crowd_sentence(question.crowd), lesson)
    verdict = "right" if chosen == answer else "wrong"
    source = f"This photo is labelled {word}"
    message = f"Yes. {source}." if verdict == "right" else f"{source}; you chose {you}."
    return Feedback(
        question,
        chosen,
        answer,
        question.answer_source,
        verdict,
        message,
        None,
        cue_contrast(answer, chosen, question.cues),
    )


FEEDBACK_WORDS = 70
"""At most this many words of feedback a face: the crowd's split first, then the verdict, then what to look for."""


def feedback_lines(feedback: Feedback) -> list[str]:
    """The feedback on one face in a few short lines, at most FEEDBACK_WORDS words in all, most important first:
    how the crowd split (bank faces), the verdict, Xface's reading (information, with how sure in numbers), and
    the cues that carry the answer here. Whole sentences are kept or left out, never cut."""
    question = feedback.question
    parts = [feedback.crowd, feedback.message]
    if question.probs and feedback.answer_source != "model":  # an unlabelled face's message already says it
        explanation = describe(question.probs)
        parts.append(f"Xface's reading: {explanation.headline.lower()} ({explanation.confidence:.0%}).")
    parts.append(feedback.lesson)
    if feedback.answer_source == "model" and question.cues:
        parts.append(cue_line(question.cues))
    lines, words = [], 0
    for part in parts:
        if not part:
            continue
        kept = []
        for sentence in _sentences(part):
            if words + len(sentence.split()) > FEEDBACK_WORDS:
                break
            kept.append(sentence)
            words += len(sentence.split())
        if kept:
            lines.append(" ".join(kept))
    return lines


def _sentences(text: str) -> list[str]:
    """A text's sentences (split after '. ' only, so "8 of 10" and "84%" stay whole)."""
    pieces = text.split(". ")
    return [piece if index == len(pieces) - 1 else f"{piece}." for index, piece in enumerate(pieces) if piece]


def _teaching(answers: Iterable[dict]) -> list[dict]:
    """Scored answers with a real answer (a label or the crowd), oldest first."""
    return [
        row
        for row in answers
        if row.get("answer_source", "label") in TEACHING_SOURCES
        and row.get("answer") in EMOTIONS
        and row.get("verdict", "right" if row["guess"] == row["answer"] else "wrong") != "unscored"
    ]


def _missed(row: dict) -> bool:
    return row.get("verdict", "right" if row["guess"] == row["answer"] else "wrong") == "wrong"


def confusion_weights(answers: Iterable[dict], window: int = WINDOW) -> dict[str, float]:
    """Each emotion's smoothed recent error rate (w + 1) / (n + 2), from label and crowd answers only."""
    recent: dict[str, list[bool]] = {emotion: [] for emotion in EMOTIONS}
    for row in _teaching(answers):
        recent[row["answer"]].append(_missed(row))
    weights = {}
    for emotion, misses in recent.items():
        last = misses[-window:] if window else misses
        weights[emotion] = (sum(last) + 1) / (len(last) + 2)
    return weights


def order_questions(questions: Sequence[Question], answers_history: Iterable[dict], rng: Random) -> list[Question]:
    """All questions, the emotions this person misses most tending to come first (rule in the module docstring)."""
    weights = confusion_weights(answers_history)
    per_emotion = Counter(question.answer for question in questions)

    def weight(question: Question) -> float:
        return weights.get(question.answer, 0.5) / per_emotion[question.answer]

    keyed = [(rng.random() ** (1.0 / weight(question)), index) for index, question in enumerate(questions)]
    return [questions[index] for _, index in sorted(keyed, reverse=True)]


@dataclass(frozen=True)
class Mixup:
    """A mix-up seen often enough to name: the answer, what the person chose instead, how often."""

    answer: str
    guess: str
    count: int


def top_confusions(answers: Iterable[dict], n: int = 3, evidence: int = MIXUP_EVIDENCE) -> list[Mixup]:
    """The n most frequent mix-ups with at least ``evidence`` wrong answers, from label and crowd answers only."""
    mixups = Counter((row["answer"], row["guess"]) for row in _teaching(answers) if _missed(row))
    return [Mixup(answer, guess, count) for (answer, guess), count in mixups.most_common() if count >= evidence][:n]


def bank_question(face: BankFace) -> Question:
    """A quiz question for a practice-bank face; its Xface reading is added when it is asked (``read_bank_face``)."""
    return Question(key=f"bank/{face.id}", photo="Xface's practice faces", crowd=face)


def bank_questions(
    level: int, emotions: Iterable[str] | None, answers_history: Iterable[dict], rng: Random, count: int = BANK_ROUND
) -> list[Question]:
    """A round from the practice bank: ``count`` faces of one level, the emotions this person misses most first."""
    pool = [bank_question(face) for face in load_bank(level, emotions)]
    return order_questions(pool, answers_history, rng)[:count]


def read_bank_face(analyzer: Analyzer, question: Question) -> Question:
    """The question with Xface's reading of its bank face: the classifier on the 48×48 original, as it was
    trained and evaluated, and the cues from the photo path on the up-scaled face (None when no face is found)."""
    face = question.crowd
    if face is None:
        raise ValueError("Only a practice-bank face is read this way.")
    cues = analyzer.face_cues(face.display_image())
    with analyzer.inference_lock:
        probs = analyzer.classifier.predict(grey_to_rgb(face.image)[None])[0]  # the crowd output
    top = int(np.argmax(probs))
    return Question(
        key=question.key,
        photo=question.photo,
        model_emotion=EMOTIONS[top],
        model_confidence=float(probs[top]),
        probs={emotion: float(p) for emotion, p in zip(EMOTIONS, probs, strict=True)},
        cues=None if cues is None else dict(cues),
        crowd=face,
    )


@dataclass(frozen=True)
class RoundSummary:
    asked: int
    scored: int
    right: int
    shared: int
    per_emotion: dict[str, dict[str, int]]
    """For scored answers: emotion → {"asked": n, "right": n}."""
    message: str


def round_summary(feedbacks: Iterable[Feedback]) -> RoundSummary:
    """How a round went, without streaks or rankings: scored faces read the same way, shared readings, practice."""
    feedbacks = list(feedbacks)
    per_emotion: dict[str, dict[str, int]] = {}
    for feedback in feedbacks:
        if feedback.answer is None:
            continue
        counts = per_emotion.setdefault(feedback.answer, {"asked": 0, "right": 0})
        counts["asked"] += 1
        counts["right"] += feedback.correct
    scored = sum(counts["asked"] for counts in per_emotion.values())
    right = sum(counts["right"] for counts in per_emotion.values())
    shared = sum(feedback.verdict == "shared" for feedback in feedbacks)
    practice = len(feedbacks) - scored
    parts = [f"You read {right} of {scored} faces the same way as their answer."] if scored else []
    if shared:
        parts.append(f"{shared} more matched what some people saw.")
    if practice:
        parts.append(f"{practice} {'face was' if practice == 1 else 'faces were'} practice without a score.")
    return RoundSummary(
        asked=len(feedbacks),
        scored=scored,
        right=right,
        shared=shared,
        per_emotion={emotion: per_emotion[emotion] for emotion in EMOTIONS if emotion in per_emotion},
        message=" ".join(parts) or "No faces yet.",
    )
