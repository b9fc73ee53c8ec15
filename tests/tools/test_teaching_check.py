"""`xface teaching-check`: the words Xface says about faces it reads correctly agree with those faces."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import DATA
from xface.tools.teaching_check import (
    CONFIDENT,
    SETS,
    TARGETS,
    Face,
    Worded,
    judge,
    load_faces,
    measure_all,
    measure_clip,
    other_emotions_named,
    read_clip,
    read_faces,
    save_faces,
)

FLOORS = {"contradicting": 0.10, "other_emotion": 0.05, "lead_happy": 0.60, "lead_surprise": 0.60, "neutral_cue": 0.30}
"""Issue 22's targets, held on every set together (each set alone may differ: CK+ has no neutral faces)."""


def test_other_emotions_are_found_by_their_words():
    assert other_emotions_named("Mouth: corners turned down. That fits sad more than happy.", "happy") == ["sad"]
    assert other_emotions_named("Brows: raised. Mouth: dropped open.", "surprise") == []
    assert other_emotions_named("The usual signs of surprised do not show clearly here.", "surprise") == []


def test_saved_readings_measure_the_same(tmp_path, analyzer, portrait):
    (reading,) = analyzer.analyze(portrait)
    faces = [
        Face("web_expressions", "happy/a.jpg", "happy", reading.emotion, reading.mesh),
        Face("ckplus_dev", "sad/b.png", "sad", "sad", None),  # no mesh: no cue is named
    ]
    save_faces(faces, tmp_path / "readings.npz")
    again = load_faces(tmp_path / "readings.npz")
    assert [(f.source, f.name, f.label, f.emotion) for f in again] == [
        (f.source, f.name, f.label, f.emotion) for f in faces
    ]
    assert np.allclose(again[0].mesh, reading.mesh) and again[1].mesh is None
    assert measure_all(again) == measure_all(faces)
    sad = measure_all(faces)["ckplus_dev"]
    assert (sad.read_right, sad.contradicting, sad.other_emotion, sad.neutral_cue) == (1, 0.0, 0.0, None)


@pytest.mark.slow
def test_teaching_truth_on_held_out_photos_through_the_whole_pipeline(photo_reader):
    """Every labelled face of web_expressions, ckplus_dev and FER2013 validation (clear crowd majority): the
    figures of `xface teaching-check` (the pipeline is deterministic, so they are the ones in the report)."""
    results = measure_all(read_faces(DATA, SETS, analyzer=photo_reader))
    total = results["all"]
    assert total.read_right > 1000
    assert set(FLOORS) == set(TARGETS)
    assert total.contradicting <= FLOORS["contradicting"], total
    assert total.other_emotion <= FLOORS["other_emotion"], total
    assert total.lead_happy >= FLOORS["lead_happy"], total
    assert total.lead_surprise >= FLOORS["lead_surprise"], total
    assert total.neutral_cue <= FLOORS["neutral_cue"], total


def test_calibration_faces_are_training_faces_in_a_fixed_order():
    from xface.tools.teaching_check import TRAIN_FACES, TRAIN_SET, labelled_pictures

    first = labelled_pictures(DATA, TRAIN_SET)
    assert len(first) == TRAIN_FACES and all(name.startswith("train_") for name, _, _ in first)
    assert [name for name, _, _ in first[:5]] == [name for name, _, _ in labelled_pictures(DATA, TRAIN_SET)[:5]]


CLIP = DATA / "videos" / "woman_emotions_pexels.mp4"
"""A real 20 s clip: a woman crying (0-7 s), surprised with a hand at her mouth (about 8-9 s), laughing (10-20 s)."""
CLIP_FLOORS = {"contradicting": 0.10, "other_emotion": 0.05, "lead_happy": 0.55}
"""On the clip's confident frames measured against her own relaxed face. The lead cue stays under issue 22's 60 %:
her resting mouth already measures as half a smile against a typical face (lip corners 0.5 in the frames read
neutral), so in the laugh at 12-15 s her corners hardly rise above it (docs/cues.md, "In a stream")."""


def test_words_are_judged_on_faces_whose_reading_is_their_label():
    smile = {"lip_corner_pull": 0.9, "cheek_raise": 0.6}
    turned_down = {"lip_corner_pull": 0.9, "lip_corner_depress": 0.9}  # against the person's own face
    faces = [
        Worded("happy", "happy", smile),
        Worded("happy", "happy", turned_down, typical=False),
        Worded("happy", "neutral", smile),  # read wrong: not judged
        Worded("sad", "sad", smile, typical=False),  # a smile named on a sad face
        Worded("neutral", "neutral", {"brow_raise": 0.0}),
    ]
    truth = judge(faces, total=len(faces))
    assert (truth.faces, truth.read_right, truth.own_face) == (5, 4, 2)
    assert truth.contradicting == 1 / 3 and truth.contradicting_cues == {"sad: lip_corner_pull": 1}
    assert truth.lead_happy == 1.0 and truth.neutral_cue == 0.0 and truth.lead_surprise is None
    assert truth.other_emotion == 1 / 4  # "That fits happy more than sad"


@pytest.mark.slow
def test_teaching_truth_on_a_real_clip_through_the_stream_path(analyzer):
    """The real clip through the stream path, as `xface teaching-check --clip` reads it: the words on the frames
    Xface reads with confidence agree with that reading (the figures in docs/cues.md)."""
    frames, seen = read_clip(CLIP, analyzer)
    assert seen > 150 and len(frames) > 100
    assert {f.label for f in frames} >= {"sad", "happy"}
    assert all(f.cues is not None for f in frames)
    results = measure_clip(CLIP, analyzer)
    own = results["own face"]
    assert own.read_right > 100 and own.own_face == own.read_right
    assert results["all"].read_right == len(frames) > own.read_right  # the first seconds: a typical face
    assert own.contradicting <= CLIP_FLOORS["contradicting"], own
    assert own.other_emotion <= CLIP_FLOORS["other_emotion"], own
    assert own.lead_happy >= CLIP_FLOORS["lead_happy"], own
    assert results["all"].other_emotion <= CLIP_FLOORS["other_emotion"], results["all"]
    # The fault this check was made for: a laugh named as "corners turned down", crying as "nose wrinkled up".
    assert not {"happy: lip_corner_depress", "sad: nose_wrinkle", "happy: brow_lower"} & set(own.contradicting_cues)
    assert CONFIDENT == 0.6
