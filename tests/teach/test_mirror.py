"""Mirror practice: coaching tips from measured cues, the round's state machine on real readings, results stored."""

from __future__ import annotations

import numpy as np
import pytest
import textstat

from xface.app.live import LiveSession
from xface.emotions import EMOTIONS
from xface.journal.store import Journal
from xface.teach.explain import describe
from xface.teach.mirror import (
    HOLD,
    HOLD_S,
    ORDER,
    RELAX,
    REST_ALL,
    SUCCESS_SHOW_S,
    TIPS,
    MirrorCoach,
    MirrorPractice,
    coaching_tips,
    prompt,
    store_results,
)
from xface.teach.practice import load_bank
from xface.vision.cues import ALLOWED_WITH, CUE_NAMES, EMOTION_CUES


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
    assert coaching_tips("happy", cues(lip_corner_pull=0.7, cheek_raise=0.5, upper_lid_raise=0.8)) == [
        "Let your eyes rest"
    ]
    # A cue the words never name against a person's own face is too unsure to correct: a laugh measures as
    # lip corners turned down and a frown, crying as a wrinkled nose.
    laugh = cues(lip_corner_pull=0.7, cheek_raise=0.5, brow_lower=0.8, lip_corner_depress=0.6)
    assert coaching_tips("happy", laugh, reads="happy") == ["Good. Hold it there."]
    assert RELAX["nose_wrinkle"] not in coaching_tips("sad", cues(nose_wrinkle=0.9), reads="sad")
    assert coaching_tips("neutral", cues(jaw_drop=0.7, brow_raise=0.5)) == [
        "Close your mouth",
        "Let your brows come down",
    ]
    assert coaching_tips("neutral", cues(jaw_drop=0.1)) == ["Good. Hold it there."]
    assert "can't see the points of your face" in coaching_tips("sad", None)[0]
    with pytest.raises(ValueError):
        coaching_tips("bored", cues())


def test_the_reading_comes_first_and_good_only_while_xface_reads_the_asked_expression():
    # Asked for neutral while Xface reads another expression: not "Good", but what to let go, where Xface can
    # tell (raised brows), else the whole face (lip corners down can't be told against a person's own face).
    assert coaching_tips("neutral", cues(brow_raise=0.2), reads="surprise") == ["Let your brows come down"]
    assert coaching_tips("neutral", cues(lip_corner_depress=0.2), reads="sad") == [REST_ALL]
    assert coaching_tips("neutral", cues(), reads="sad") == [REST_ALL]
    assert coaching_tips("neutral", cues(), reads="neutral") == [HOLD]
    # Asked for sad on a surprised face: first close the mouth, then the next cue, without "Good".
    surprised = cues(brow_raise=0.6, jaw_drop=0.8, upper_lid_raise=0.4, lip_corner_depress=0.5)
    assert coaching_tips("sad", surprised, reads="surprise") == ["Close your mouth", "Now pull your brows down"]
    # Asked for surprise on a surprised face: "Open your mouth" is never followed by a tip that shuts it.
    for tip in coaching_tips("surprise", surprised, reads="surprise"):
        assert tip not in (RELAX["jaw_drop"], RELAX["brow_raise"], RELAX["upper_lid_raise"])


def test_no_tip_undoes_a_needed_cue_and_no_good_while_another_expression_is_read():
    rng = np.random.default_rng(1)
    for target in EMOTIONS:
        needed = set(EMOTION_CUES[target]) | set(ALLOWED_WITH[target])
        undoing = {RELAX[name] for name in needed}
        for reads in EMOTIONS:
            for _ in range(100):
                measured = cues(**dict(zip(CUE_NAMES, rng.random(len(CUE_NAMES)), strict=True)))
                tips = coaching_tips(target, measured, reads=reads)
                assert not undoing & set(tips), (target, reads, tips)
                if reads != target:
                    assert not any(tip.startswith("Good") for tip in tips), (target, reads, tips)


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


START_FROM = {
    "happy": "neutral",
    "surprise": "happy",
    "sad": "surprise",
    "angry": "happy",
    "disgust": "happy",
    "fear": "neutral",
    "neutral": "sad",
}
"""For each asked expression, the face a recording starts from (the issue's cases: neutral asked on a sad
face, sad asked on a surprised one)."""


@pytest.fixture(scope="module")
def clear_faces(analyzer):
    """Per emotion, a real face that the real pipeline reads as it, cues measured: the first practice face (FER2013)
    read clearly, else the surest reading among practice faces and posed CK+ faces from ../shared/data (disgust:
    the model reads no face of it clearly)."""
    from tests.conftest import DATA

    found = {}
    for emotion in EMOTIONS:
        pictures = [face.display_image() for face in load_bank(None, [emotion])]
        pictures += sorted((DATA / "faces" / "ckplus_dev" / emotion).glob("*.png"))
        for picture in pictures:
            readings = analyzer.analyze(picture)
            if readings and readings[0].cues and readings[0].emotion == emotion:
                if emotion not in found or readings[0].confidence > found[emotion].confidence:
                    found[emotion] = readings[0]
                if describe(readings[0].probs).band == "clear":
                    break
    assert set(found) == set(EMOTIONS)
    return found


@pytest.mark.parametrize("target", ORDER)
def test_recorded_faces_played_through_the_coach_get_tips_in_order(clear_faces, target):
    """A recording: a relaxed face, then another expression, then the asked one, each a real face read by the
    real pipeline. On the other expression the first tip moves away from it (or, from a relaxed face, starts
    the asked expression's lead cue) and never says "Good"; on the asked one the coach counts a success."""
    start, goal = clear_faces[START_FROM[target]], clear_faces[target]
    coach = MirrorCoach(targets=(target,), baseline_s=0.5)
    coach.observe(clear_faces["neutral"], True, 0.0)
    coach.observe(clear_faces["neutral"], True, 1.0)
    assert coach.phase == "coaching"
    at, on_start, on_goal = 1.0, [], []
    for face in [start] * 3 + [goal] * 8:
        at += 0.25
        coach.observe(face, True, at)
        if coach.phase != "coaching":
            break
        (on_start if face is start else on_goal).append(coach.status(at).tips)
    if describe(goal.probs).band == "clear":
        assert coach.phase == "success", on_goal
    needed = {RELAX[name] for name in set(EMOTION_CUES[target]) | set(ALLOWED_WITH[target])}
    for tips in on_start + on_goal:
        assert tips and not needed & set(tips), tips
    for tips in on_start:
        assert not any(tip.startswith("Good") for tip in tips), tips
        if start.emotion == "neutral":
            lead = EMOTION_CUES[target][0]
            assert tips[0] in TIPS[lead][:2], tips
        else:
            assert tips[0] in {RELAX[name] for name in EMOTION_CUES[start.emotion]} | {REST_ALL}, tips
    for tips in on_goal:
        assert REST_ALL not in tips, tips
