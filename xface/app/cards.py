"""What the camera pages put on a face's card, worked out apart from drawing it: the headline, the Why? pictures,
the status line, and a live guess kept in the journal.

The pages only lay these out with Streamlit; everything here is tested without a browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from xface.app.draw import heatmap_overlay, mesh_overlay, reading_explanation
from xface.app.live import LiveSnapshot
from xface.journal.schema import JournalError
from xface.journal.store import Journal
from xface.teach.explain import region_sentence
from xface.vision.pipeline import Analyzer, FaceReading

WHY_SIZE = 240
"""Pixels across each Why? picture: big enough to see the face's parts, small enough to sit beside the video."""


def headline(face_id: int | None, text: str) -> str:
    """ "Looks happy" → "Face 2: looks happy"."""
    name = f"Face {face_id}" if face_id is not None else "Face"
    return f"{name}: {text[:1].lower()}{text[1:]}"


def status_line(snap: LiveSnapshot) -> str:
    """How fast the labels come, for the Details fold."""
    parts = [f"labels update {snap.analysis_fps:.1f} times a second", f"video {snap.video_fps:.0f} frames a second"]
    if (latency := snap.label_latency()) is not None:
        parts.append(f"first label after {latency:.1f} s")
    if (total := snap.timings.get("total")) is not None:
        parts.append(f"{total * 1000:.0f} ms to read a frame")
    return " · ".join(parts)


@dataclass(frozen=True)
class WhyPictures:
    """A face frozen by "Why?": where the model looked and which parts moved (in memory only)."""

    reading: FaceReading
    at: datetime
    overlay: np.ndarray | None = None
    """The heat map over the face; None when this model can't show where it looked."""
    cues_picture: np.ndarray | None = None
    """The face points, the moved ones thick; None when no face mesh was fitted."""
    sentence: str = ""
    error: str | None = None
    """Why there is no heat map, in a few words."""


def why_pictures(analyzer: Analyzer, reading: FaceReading) -> WhyPictures:
    """Explain one reading: the attention map and the cue points, computed once when the person asks."""
    now = datetime.now()
    try:
        grid = analyzer.attention_map(reading)
    except ValueError as error:
        return WhyPictures(reading, now, error=str(error))
    try:
        cues_picture = mesh_overlay(reading, size=WHY_SIZE, typical=reading.cues_against_typical)
    except ValueError:  # no face mesh on this face: the heat map alone
        cues_picture = None
    return WhyPictures(
        reading,
        now,
        overlay=heatmap_overlay(reading.aligned, grid, size=WHY_SIZE),
        cues_picture=cues_picture,
        sentence=region_sentence(grid),
    )


def store_live_guess(journal: Journal, session_id: int | None, reading: FaceReading, guess: str) -> int:
    """Keep a guess made on the live page (answered by Xface's reading); returns the guessing session.

    The session opens with the first guess. A guess on an unsure reading is kept unscored.
    """
    if session_id is None:
        session_id = journal.start_session("quiz")
    journal.add_quiz_answer(
        session_id,
        question=f"live face {reading.face_id}",
        guess=guess,
        answer=reading.emotion,
        answer_source="model",
        model_emotion=reading.emotion,
        model_confidence=reading.confidence,
        face_source="live",
        verdict="unscored" if reading_explanation(reading).band == "unsure" else None,
    )
    return session_id


def end_guessing(journal: Journal | None, session_id: int | None) -> None:
    """Close the live guessing session when guess-first is turned off (its answers are already saved)."""
    if journal is None or session_id is None:
        return
    try:
        journal.end_session(session_id)
    except (ValueError, JournalError):
        pass  # the answers are saved; only the session's end time is missing
