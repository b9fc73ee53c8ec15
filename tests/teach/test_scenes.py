"""Choosing the moments of a clip to guess, and saying what changed (`xface.teach.scenes`)."""

from __future__ import annotations

import pytest

from xface.emotions import EMOTIONS
from xface.teach.scenes import (
    changes_sentence,
    choose_moments,
    cue_changes,
    people_would_read,
    timeline_rows,
    verdict,
)
from xface.vision.cues import CUE_NAMES


def row(time: float, emotion: str, confidence: float, face_id: int = 1, **cues: float) -> dict:
    """A row as `frame_rows` makes it: the shown label leads with `confidence`, the rest shared evenly."""
    probs = {name: (1 - confidence) / 6 for name in EMOTIONS} | {emotion: confidence}
    return {
        "frame": round(time * 10),
        "time": time,
        "face": 0,
        "face_id": face_id,
        "box": [10.0, 10.0, 110.0, 130.0],
        "landmarks": [[40.0, 50.0]] * 5,
        "detection_score": 0.99,
        "emotion": emotion,
        "confidence": confidence,
        "probs": probs,
        "cues": {name: cues.get(name, 0.0) for name in CUE_NAMES},
        "cues_against_typical": False,
    }


def stretch(start: float, end: float, emotion: str, confidence: float, face_id: int = 1, **cues: float) -> list[dict]:
    steps = range(round((end - start) * 10))
    return [row(round(start + k / 10, 1), emotion, confidence, face_id, **cues) for k in steps]


def test_a_change_that_holds_clearly_is_a_moment_and_a_blip_is_not() -> None:
    rows = (
        stretch(0, 3, "neutral", 0.8)
        + stretch(3, 3.5, "surprise", 0.9)  # too short to count
        + stretch(3.5, 6, "neutral", 0.8)
        + stretch(6, 9, "happy", 0.9, lip_corner_pull=0.7, cheek_raise=0.5)
    )
    moments = choose_moments(rows)
    assert [(m.emotion, m.face_id) for m in moments] == [("neutral", 1), ("happy", 1)]
    assert 6.0 <= moments[1].time <= 8.0 and moments[1].before is moments[0]


def test_an_unclear_stretch_is_never_asked_about() -> None:
    rows = stretch(0, 3, "sad", 0.85) + stretch(3, 6, "neutral", 0.4) + stretch(6, 9, "sad", 0.85)
    assert [m.emotion for m in choose_moments(rows)] == ["sad"]  # the same reading again is no change


def test_each_face_has_its_own_moments_in_clip_order() -> None:
    rows = stretch(0, 4, "happy", 0.9, face_id=1) + stretch(1, 5, "angry", 0.7, face_id=2)
    assert [(m.face_id, m.emotion) for m in choose_moments(rows)] == [(1, "happy"), (2, "angry")]


def test_a_face_that_leaves_starts_again() -> None:
    rows = stretch(0, 2, "happy", 0.9) + stretch(5, 7, "sad", 0.9)
    moments = choose_moments(rows)
    assert [m.emotion for m in moments] == ["happy", "sad"]


def test_what_changed_names_cues_that_moved_both_ways() -> None:
    rows = stretch(0, 3, "sad", 0.9, brow_lower=0.8) + stretch(3, 6, "happy", 0.9, lip_corner_pull=0.7)
    first, second = choose_moments(rows)
    assert {c.name for c in cue_changes(second)} == {"brow_lower", "lip_corner_pull"}
    sentence = changes_sentence(second, "0:01.0")
    assert sentence.startswith("Since 0:01.0: now the lip corners pull up.")
    assert sentence.endswith("These went away: the inner ends of the brows pull down.")
    only_gone = changes_sentence(
        choose_moments(stretch(0, 3, "sad", 0.9, brow_lower=0.8) + stretch(3, 6, "neutral", 0.9))[1], "0:01.0"
    )
    assert only_gone == "Since 0:01.0, these went away: the inner ends of the brows pull down."
    assert "first clear moment" in changes_sentence(first, "")


def test_people_would_read_counts_in_tens() -> None:
    probs = {name: 0.0 for name in EMOTIONS} | {"happy": 0.72, "surprise": 0.2, "neutral": 0.08}
    assert people_would_read(probs) == "Of 10 people, about 7 happy, 2 surprised and 1 neutral."


@pytest.mark.parametrize("confidence, expected", [(0.9, None), (0.45, "unscored")])
def test_only_a_clear_reading_scores_a_guess(confidence: float, expected: str | None) -> None:
    rows = stretch(0, 3, "sad", 0.9)
    moment = choose_moments(rows)[0]
    unclear = moment.__class__(**{**moment.__dict__, "probs": row(0, "sad", confidence)["probs"]})
    assert verdict(unclear) == expected


def test_timeline_rows_say_the_reading_in_words() -> None:
    records = timeline_rows(stretch(0, 1, "fear", 0.9, upper_lid_raise=0.9))
    assert records[0]["reading"] == "afraid" and records[0]["face"] == "Face 1"
    assert records[0]["cues"].startswith("Eyes:")
