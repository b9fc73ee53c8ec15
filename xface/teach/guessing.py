"""Guess first, live: a face's reading stays hidden until the person says what they see, and every new
expression on that face is a new guess.

Per face the state is simple: *asking* (the label is hidden, the card asks "what do you see?") or
*revealed* for the reading the guess was made on. A revealed face goes back to asking when Xface's
reading of it changes to another emotion, read at least "likely" (not "Not sure: …"), and that new
reading holds for ``CHANGE_HOLD_S`` without a break. Once revealed, the card shows the *current*
reading, beside the guess and the reading it was made on.

A live face has no label and no crowd, so a live guess is never scored: it is stored in the journal
as a ``guess`` session's unscored answer, with Xface's reading for information (``store_guess``).
The state machine is fed by the live session's analysis thread and read by the page; it is not
thread-safe on its own (``xface.app.live.LiveSession`` holds its lock around every call).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xface.emotions import EMOTIONS, canonical_emotion
from xface.journal.store import Journal
from xface.teach.explain import describe
from xface.vision.pipeline import FaceReading

__all__ = ["CHANGE_HOLD_S", "GUESS_SESSION", "GuessFirst", "LiveGuess", "store_guess"]

CHANGE_HOLD_S = 1.5
"""Seconds a new reading must hold before the face is asked about again (a passing look is not a new face)."""
GUESS_SESSION = "guess"
"""The journal's session kind for live guesses (their own kind, apart from the photo quiz)."""


@dataclass(frozen=True)
class LiveGuess:
    """One guess on a live face, and Xface's reading at that moment."""

    face_id: int | None
    guess: str
    reading: str
    """The emotion Xface read when the guess was made."""
    confidence: float
    at: float


@dataclass
class _Face:
    revealed_for: str | None = None
    """The reading the last guess was made on; None while asking."""
    newcomer: str | None = None
    newcomer_since: float = 0.0
    last: LiveGuess | None = None


def settled(reading: FaceReading) -> str | None:
    """The emotion a reading shows, or None when Xface is not sure ("Not sure: …" or no clear reading)."""
    explanation = describe(reading.probs, top=reading.emotion)
    return None if explanation.band == "unsure" else explanation.emotion


class GuessFirst:
    """Which faces are asked about now, and the guesses made (rules in the module docstring)."""

    def __init__(self, hold_s: float = CHANGE_HOLD_S) -> None:
        self.hold_s = hold_s
        self._faces: dict[int | None, _Face] = {}

    def observe(self, readings: Sequence[FaceReading], at: float) -> None:
        """One analysed frame: a revealed face whose reading changed and held is asked about again."""
        for reading in readings:
            face = self._faces.setdefault(reading.face_id, _Face())
            if face.revealed_for is None:
                continue
            now = settled(reading)
            if now is None or now == face.revealed_for:
                face.newcomer = None
            elif now != face.newcomer:
                face.newcomer, face.newcomer_since = now, at
            elif at - face.newcomer_since >= self.hold_s:
                face.revealed_for, face.newcomer = None, None

    def asking(self, face_id: int | None) -> bool:
        """Is this face's reading hidden, waiting for a guess?"""
        face = self._faces.get(face_id)
        return face is None or face.revealed_for is None

    def hidden(self, readings: Sequence[FaceReading]) -> set[int | None]:
        return {reading.face_id for reading in readings if self.asking(reading.face_id)}

    def guess(self, reading: FaceReading, guess: str, at: float) -> LiveGuess:
        """The person's guess for this face: its reading is shown until it changes. Bad guess: ValueError."""
        chosen = canonical_emotion(guess)
        if chosen is None:
            raise ValueError(f"A guess is one of {', '.join(EMOTIONS)}, not {guess!r}.")
        made = LiveGuess(reading.face_id, chosen, reading.emotion, reading.confidence, at)
        face = self._faces.setdefault(reading.face_id, _Face())
        face.revealed_for, face.newcomer, face.last = reading.emotion, None, made
        return made

    def last_guess(self, face_id: int | None) -> LiveGuess | None:
        """The latest guess on this face (also while a new one is asked), or None."""
        face = self._faces.get(face_id)
        return None if face is None else face.last

    def ask_again(self, face_id: int | None) -> None:
        """The person wants to guess this face again now."""
        if face_id in self._faces:
            self._faces[face_id].revealed_for = None

    def reset(self) -> None:
        """A new camera session: face numbers start again."""
        self._faces.clear()


def store_guess(journal: Journal, session_id: int | None, guess: LiveGuess) -> int:
    """Keep a live guess in the journal, unscored (a live face has no answer), opening a guess session with the
    first one; returns the session."""
    if session_id is None:
        session_id = journal.start_session(GUESS_SESSION)
    journal.add_quiz_answer(
        session_id,
        question=f"live face {guess.face_id}",
        guess=guess.guess,
        answer=None,
        answer_source="model",
        model_emotion=guess.reading,
        model_confidence=guess.confidence,
        face_source="live",
        verdict="unscored",
    )
    return session_id
