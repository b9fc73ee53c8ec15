"""Mirror practice: coaching tips from measured cues, the round's state machine on real readings, results stored."""

from __future__ import annotations

import numpy as np
import pytest
import textstat

from xface.app.live import LiveSession
from xface.emotions import EMOTIONS
from xface.journal.store import Journal
from xface.teach.mirror import (
    HOLD_S,
    ORDER,
    SUCCESS_SHOW_S,
    MirrorCoach,
    MirrorPractice,
    coaching_tips,
    prompt,
    store_results,
)
from xface.teach.practice import load_bank
from xface.vision.cues import CUE_NAMES, EMOTION_CUES


def cues(**values: float) -> dict[str, float]:
    """A full cue dict as `FaceReading.cues` carries it: every cue, relaxed unless given."""
    return {name: values.get(name, 0.0) for name in CUE_NAMES}


def test_tips_name_what_to_move_first_then_more_then_now():
    assert coaching_tips("surprise", cues()) == ["Raise your brows", "Open your mouth"]
    assert coaching_tips("surprise", cues(brow_raise=0.2)) == ["Raise your brows higher", "Open your mouth"]
    assert coaching_tips("surprise", cues(brow_raise=0.6)) == [
        "Good. Now open your mouth",
        "Good. Now open your eyes wide",
    ]
    assert coaching_tips("happy", cues(lip_corner_pull=0.7)) == ["Good. Now let your cheeks rise"]
    assert coaching_tips("happy", cues(lip_corner_pull=0.7, cheek_raise=0.5)) == ["Good. Hold it there."]


def test_tips_say_what_works_against_the_expression():
    assert coaching_tips("happy", cues(lip_corner_pull=0.7, cheek_raise=0.5, brow_lower=0.8)) == ["Let your brows rest"]
    assert coaching_tips("neutral", cues(jaw_drop=0.7, brow_raise=0.5)) == ["Close your mouth", "Let your brows rest"]
    assert coaching_tips("neutral", cues(jaw_drop=0.1)) == ["Good. Hold it there."]
    assert "can't see the points of your face" in coaching_tips("sad", None)[0]
    with pytest.raises(ValueError):
        coaching_tips("bored", cues())


def test_every_tip_and_prompt_is_plain():
    """What the page shows at once, the request and its tips, reads easily (short sentences and words)."""
    rng = np.random.default_rng(0)
    for target in EMOTIONS:
        for _ in range(200):
            measured = cues(**dict(zip(CUE_NAMES, rng.random(len(CUE_NAMES)), strict=True)))
            shown = " ".join(
                [f"{prompt(target)}.", *(tip.rstrip(".") + "." for tip in coaching_tips(target, measured))]
            )
            assert textstat.flesch_reading_ease(shown) >= 70, shown
    assert prompt("surprise") == "Look surprised" and prompt("fear") == "Look afraid"


@pytest.fixture(scope="module")
def real_readings(analyzer):
    """Real readings of practice faces most people agree on: one clear reading per emotion, cues measured."""
    found = {}
    for emotion in EMOTIONS:
        for face in load_bank(1, [emotion]):
            readings = analyzer.analyze(face.display_image())
            if readings and readings[0].emotion == emotion and readings[0].confidence > 0.7 and readings[0].cues:
                found[emotion] = readings[0]
                break
    assert {"happy", "neutral", "surprise"} <= set(found)
    return found


def test_a_round_learns_the_relaxed_face_then_coaches_then_succeeds_after_a_second(real_readings):
    calm, smile, surprised = real_readings["neutral"], real_readings["happy"], real_readings["surprise"]
    coach = MirrorCoach(baseline_s=3.0)
    assert coach.capture_due and coach.status(0).phase == "baseline"
    for at in (0.0, 1.0, 2.0, 3.0):
        coach.observe(calm, baseline_ready=False, at=at)
    assert coach.phase == "baseline"  # the stream has not learnt the face yet
    coach.observe(None, baseline_ready=True, at=3.2)  # the face left the picture: start again
    for at in (3.4, 4.4, 5.4, 6.4):
        coach.observe(calm, baseline_ready=True, at=at)
    assert coach.phase == "coaching" and coach.target == "happy"
    status = coach.status(6.4)
    assert status.prompt == "Look happy" and status.tips == tuple(coaching_tips("happy", calm.cues))

    coach.observe(smile, True, 7.0)
    coach.observe(surprised, True, 7.5)  # a break: the second starts again
    coach.observe(smile, True, 8.0)
    coach.observe(smile, True, 8.0 + HOLD_S / 2)
    assert coach.phase == "coaching" and 0.4 < coach.status(8.0 + HOLD_S / 2).progress < 0.6
    coach.observe(smile, True, 8.0 + HOLD_S)
    assert coach.phase == "success"
    (result,) = coach.take_results()
    assert (result.target, result.succeeded, result.seconds) == ("happy", True, pytest.approx(8.0 + HOLD_S - 6.4))
    assert result.best_confidence == pytest.approx(smile.probs["happy"])

    coach.observe(smile, True, 9.0 + SUCCESS_SHOW_S)
    assert coach.phase == "coaching" and coach.target == "surprise"
    coach.skip(at=12.0)  # skipping one is fine
    assert coach.target == "sad"
    coach.end()
    assert coach.phase == "done" and coach.status(13).phase == "done"
    assert [(r.target, r.succeeded, r.seconds) for r in coach.take_results()] == [
        ("surprise", False, None),
        ("sad", False, None),
    ]
    assert coach.take_results() == []


def test_a_round_covers_the_seven_expressions(real_readings):
    assert sorted(ORDER) == sorted(EMOTIONS)
    coach = MirrorCoach(baseline_s=0.5)
    coach.observe(real_readings["neutral"], True, 0.0)
    coach.observe(real_readings["neutral"], True, 1.0)
    at = 1.0
    for _ in ORDER:
        at += 1
        coach.skip(at)
    assert coach.phase == "done" and [r.target for r in coach.results] == list(ORDER)


def test_a_mirror_session_from_camera_frames_is_stored(analyzer, portrait, tmp_path):
    """The live path with the real model, a real face and a real SQLite file; only the clock is the test's."""
    now = [0.0]
    live = LiveSession(analyzer, background=False, clock=lambda: now[0])
    practice = MirrorPractice(live)
    phases = []
    for frame_number in range(40):
        now[0] = frame_number * 0.2
        live.process(np.ascontiguousarray(np.roll(portrait, frame_number % 3, axis=1)))
        phases.append(practice.update().phase)
    assert phases[0] == "baseline" and "coaching" in phases  # the stream learnt this face's relaxed look
    face = live.snapshot().readings[0]
    assert live.baseline_ready(face.face_id)
    if practice.coach.phase == "coaching":
        practice.coach.skip(now[0])
    practice.coach.end()
    results = practice.coach.take_results()
    assert results

    with Journal(tmp_path / "journal.db") as journal:
        session_id = store_results(journal, None, results)
        summary = journal.end_session(session_id)
        stored = journal.mirror_results()
        (session,) = journal.sessions()
    assert session["kind"] == "mirror" and session["ended_at"]
    assert (summary["tries"], summary["succeeded"]) == (len(results), sum(r.succeeded for r in results))
    assert [(row["target"], row["succeeded"]) for row in stored] == [(r.target, r.succeeded) for r in results]
    assert all(row["session_id"] == session_id for row in stored)
    with Journal(tmp_path / "journal.db") as journal:
        assert store_results(journal, None, []) is None  # nothing tried: no session
        assert len(journal.sessions()) == 1


def test_the_coach_knows_every_expression():
    assert set(EMOTION_CUES) == set(EMOTIONS)
    with pytest.raises(ValueError):
        MirrorCoach(targets=("happy", "bored"))
