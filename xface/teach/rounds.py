"""One photo-quiz round from start to summary: which face is asked, what was answered, and its journal session.

The page keeps a ``QuizRound`` in its session state and calls these methods from its buttons; everything a
round decides (when the session opens and closes, what a double click does, the order of a second pass) is
here, where it is tested without a browser. A journal that can't be opened is ``None``: the round goes on,
and the answers say they were not saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random
from typing import Literal

import numpy as np

from xface.journal.schema import JournalError
from xface.journal.store import Journal
from xface.teach.quiz import Feedback, Question, order_questions, read_bank_face, score
from xface.vision.pipeline import Analyzer


@dataclass
class QuizRound:
    """The round in progress: its faces, how far the person got, and the answers so far."""

    kind: Literal["bank", "upload"]
    questions: list[Question]
    crops: dict[str, np.ndarray]
    """Each question's face picture, in memory only."""
    problems: list[str] = field(default_factory=list)
    """Files of an upload that could not be used, one sentence each."""
    no_faces: list[str] = field(default_factory=list)
    """Photos of an upload in which no face was found."""
    position: int = 0
    feedbacks: list[Feedback] = field(default_factory=list)
    revealed: Feedback | None = None
    """The feedback on the face now shown, once guessed."""
    session_id: int | None = None
    saved: bool = True
    """Whether the last answer reached the journal."""
    steps: int = 1
    """Changes with every answer and every new face (the page moves the keyboard focus on each step)."""

    @property
    def over(self) -> bool:
        return self.position >= len(self.questions)

    @property
    def current(self) -> Question:
        return self.questions[self.position]

    @property
    def last_face(self) -> bool:
        return self.position + 1 == len(self.questions)

    def answer(self, emotion: str, analyzer: Analyzer, journal: Journal | None) -> Feedback | None:
        """Score a guess for the face shown and keep it; a second click on the same face changes nothing."""
        if self.over or self.revealed is not None:
            return None
        question = self.current
        if question.crowd is not None and question.model_emotion is None:
            question = read_bank_face(analyzer, question)  # Xface's reading, for the feedback
            self.questions[self.position] = question
        feedback = score(question, emotion)
        self.feedbacks.append(feedback)
        self.revealed = feedback
        self.saved = self._store(journal, feedback)
        self.steps += 1
        return feedback

    def next_face(self, journal: Journal | None) -> int | None:
        """Go on to the next face; after the last one the round is over: returns its session (for a check-in)."""
        self.position += 1
        self.revealed = None
        self.steps += 1
        if not self.over:
            return None
        session_id = self.session_id
        self.finish(journal)
        return session_id

    def end_early(self, journal: Journal | None) -> int | None:
        """Stop here and keep the faces seen so far, for the summary; returns the round's session."""
        self.questions = self.questions[: self.position + (self.revealed is not None)]
        self.position = len(self.questions)
        self.revealed = None
        session_id = self.session_id
        self.finish(journal)
        return session_id

    def again(self, history: list[dict], rng: Random, journal: Journal | None) -> None:
        """The same faces once more, the ones this person tends to miss first."""
        self.finish(journal)
        self.questions = order_questions(self.questions, history, rng)
        self.position = 0
        self.feedbacks = []
        self.revealed = None
        self.steps += 1

    def finish(self, journal: Journal | None) -> None:
        """Close the round's journal session, which sums it up from its answers (only a round with answers has one)."""
        if self.session_id is None or journal is None:
            return
        try:
            journal.end_session(self.session_id)
        except (ValueError, JournalError):
            pass  # the session was deleted on the journal page meanwhile: nothing to close
        self.session_id = None

    def _store(self, journal: Journal | None, feedback: Feedback) -> bool:
        """Write one answer, opening the round's quiz session on the first one."""
        if journal is None:
            return False
        for _ in range(2):
            try:
                if self.session_id is None:
                    self.session_id = journal.start_session("quiz")
                journal.add_quiz_answer(self.session_id, **feedback.journal_fields())
                return True
            except ValueError:
                self.session_id = None  # deleted meanwhile on the journal page: start a fresh session once
            except JournalError:
                return False
        return False
