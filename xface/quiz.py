"""Quiz logic without the page: where answers come from, scoring, and which faces to ask next.

Answers. A photo's known label comes from its name (``label_from_name``); without one, the answer
is the model's reading, and the feedback says so, because the model can be wrong too.

Adaptive ordering, the exact rule. For each true emotion e, take the person's last ``window`` (20)
stored answers whose answer was e; with n of them and w wrong, e's weight is the smoothed error rate
(w + 1) / (n + 2), the mean of a Beta(1, 1) prior updated by those answers, so an emotion never
asked weighs 0.5, one always missed tends to 1 and one always read right tends to 0 but never
reaches it. Each question gets its emotion's weight divided by the number of questions in the pool
with that emotion (so a folder with many happy photos doesn't crowd out the rest), and the order is
a weighted random sample without replacement (Efraimidis–Spirakis: sort by u ** (1 / weight), u
uniform from the given ``random.Random``), so it is reproducible from a seed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from random import Random

from xface.emotions import EMOTIONS, canonical_emotion

__all__ = [
    "Feedback",
    "Question",
    "confusion_weights",
    "label_from_name",
    "order_questions",
    "round_summary",
    "score",
    "top_confusions",
]

WINDOW = 20
"""How many recent answers per emotion the weights look at, so that progress shows."""

CUES: dict[str, str] = {
    "angry": "brows pulled down and together, eyes glaring, lips pressed or tense",
    "disgust": "nose wrinkled, upper lip raised",
    "fear": "brows raised and pulled together, upper eyelids raised, lips stretched back",
    "happy": "cheeks raised, crow's feet at the eyes, lip corners pulled up",
    "sad": "inner brows raised, lip corners pulled down",
    "surprise": "brows raised and curved, eyes wide, jaw dropped open",
    "neutral": "face relaxed, no strong pull in any direction",
}
"""What to look for, shown after a miss: one line per emotion."""

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
    """One face to name: a photo, which face in it, and what is known about it."""

    key: str
    photo: str
    face_index: int = 0
    box: tuple[float, float, float, float] | None = None
    label: str | None = None
    model_emotion: str | None = None
    model_confidence: float | None = None
    probs: dict[str, float] = field(default_factory=dict, hash=False)  # hashable, e.g. as a dict key

    @property
    def answer(self) -> str | None:
        """The label when the photo has one, else the model's reading."""
        return self.label or self.model_emotion

    @property
    def answer_source(self) -> str:
        return "label" if self.label else "model"


@dataclass(frozen=True)
class Feedback:
    """The result of one guess, ready to show and to store with ``Journal.add_quiz_answer``."""

    question: Question
    guess: str
    answer: str
    answer_source: str
    correct: bool
    message: str

    def journal_fields(self) -> dict:
        """Keyword arguments for ``Journal.add_quiz_answer`` (add the session id)."""
        return {
            "question": self.question.key,
            "guess": self.guess,
            "answer": self.answer,
            "answer_source": self.answer_source,
            "model_emotion": self.question.model_emotion,
            "model_confidence": self.question.model_confidence,
        }


def score(question: Question, guess: str) -> Feedback:
    """Compare a guess with the answer and say so calmly, naming where the answer came from."""
    chosen = canonical_emotion(guess)
    if chosen is None:
        raise ValueError(f"A guess is one of {', '.join(EMOTIONS)}, not {guess!r}.")
    answer = question.answer
    if answer is None:
        raise ValueError(f"Question {question.key!r} has neither a label nor a model reading to compare with.")
    correct = chosen == answer
    if question.label:
        source = f"This photo is labelled {answer}"
    else:
        sure = f", {question.model_confidence:.0%} sure" if question.model_confidence is not None else ""
        source = f"The model reads this face as {answer}{sure}, and it can be wrong too"
    if correct:
        message = f"Yes. {source}."
    else:
        message = f"{source}; you chose {chosen}. For {answer}, look for: {CUES[answer]}."
    return Feedback(question, chosen, answer, question.answer_source, correct, message)


def confusion_weights(answers: Iterable[dict], window: int = WINDOW) -> dict[str, float]:
    """Each emotion's smoothed recent error rate (w + 1) / (n + 2); answers oldest first, as the journal gives them."""
    recent: dict[str, list[bool]] = {emotion: [] for emotion in EMOTIONS}
    for row in answers:
        if row["answer"] in recent:
            recent[row["answer"]].append(row["guess"] != row["answer"])
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


def top_confusions(answers: Iterable[dict], n: int = 3) -> list[tuple[str, str, int]]:
    """The n most frequent mix-ups as (answer, guess, count), most frequent first, for "you often read X as Y"."""
    mixups = Counter((row["answer"], row["guess"]) for row in answers if row["guess"] != row["answer"])
    return [(answer, guess, count) for (answer, guess), count in mixups.most_common(n)]


def round_summary(feedbacks: Iterable[Feedback]) -> dict:
    """How a round went, without streaks or rankings: asked, matched, and the same per emotion."""
    per_emotion = {emotion: {"asked": 0, "correct": 0} for emotion in EMOTIONS}
    for feedback in feedbacks:
        per_emotion[feedback.answer]["asked"] += 1
        per_emotion[feedback.answer]["correct"] += feedback.correct
    asked = sum(counts["asked"] for counts in per_emotion.values())
    correct = sum(counts["correct"] for counts in per_emotion.values())
    return {
        "asked": asked,
        "correct": correct,
        "per_emotion": {emotion: counts for emotion, counts in per_emotion.items() if counts["asked"]},
        "message": f"You read {correct} of {asked} faces the same way as their answer." if asked else "No faces yet.",
    }
