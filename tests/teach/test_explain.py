"""Tests for xface.teach.explain: bands, headlines, input checks, region sentences and reading ease."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from importlib import resources
from itertools import permutations
from pathlib import Path

import numpy as np
import pytest
import textstat

from xface.emotions import EMOTIONS
from xface.teach import explain
from xface.teach.explain import Explanation, describe, region_of, region_sentence
from xface.vision.cues import CUE_NAMES, calibration, goes_with

MIN_EASE = 70.0
TEXT_FIELDS = ("face", "meaning", "look_alikes", "respond", "caution", "summary")
KEYS = ("label", "action_units", "face", "meaning", "look_alikes", "respond", "caution")


def _label(emotion: str) -> str:
    return explain.texts()["emotions"][emotion]["label"]


def _probs(top: str, p_top: float, second: str | None = None, p_second: float = 0.0) -> dict[str, float]:
    """A reading with `top` at p_top, `second` at p_second and the rest spread evenly."""
    others = [e for e in EMOTIONS if e not in (top, second)]
    rest = (1.0 - p_top - p_second) / len(others)
    probs = dict.fromkeys(others, rest)
    probs[top] = p_top
    if second is not None:
        probs[second] = p_second
    return probs


def _ease(text: str) -> float:
    return textstat.flesch_reading_ease(text)


def _all_explanations() -> list[Explanation]:
    """One explanation per emotion and band, plus every close pair and every 'no clear reading'."""
    out = []
    for top in EMOTIONS:
        out.append(describe({top: 1.0}))
        out.append(describe(_probs(top, 0.5)))
        out.append(describe(_probs(top, 0.22, _other(top), 0.20)))
    for top, second in permutations(EMOTIONS, 2):
        out.append(describe(_probs(top, 0.45, second, 0.40)))
    return out


def _other(emotion: str) -> str:
    return next(e for e in EMOTIONS if e != emotion)


# --- the JSON ------------------------------------------------------------------------------------


def test_json_has_all_emotions_and_keys():
    data = json.loads(resources.files("xface.teach").joinpath("explanations.json").read_text(encoding="utf-8"))
    assert set(data["emotions"]) == set(EMOTIONS)
    for name in EMOTIONS:
        entry = data["emotions"][name]
        for key in KEYS:
            assert key in entry, (name, key)
            if key != "action_units":
                assert isinstance(entry[key], str) and entry[key].strip(), (name, key)
        assert all(au.startswith("AU") for au in entry["action_units"])
    for a, b in permutations(EMOTIONS, 2):
        assert f"{a}|{b}" in data["pairs"] or f"{b}|{a}" in data["pairs"], (a, b)
    assert set(data["bands"]) == {"clear", "likely", "unsure", "no_reading"}
    assert set(data["headlines"]) == {"clear", "likely", "unsure", "no_reading"}
    assert set(data["regions"]) == {"brows", "eyes", "nose", "mouth", "even"}


def test_no_action_unit_codes_in_prose():
    data = explain.texts()
    for name in EMOTIONS:
        for key in ("face", "meaning", "look_alikes", "respond", "caution"):
            assert "AU" not in data["emotions"][name][key], (name, key)
    for text in data["pairs"].values():
        assert "AU" not in text


def test_texts_loaded_once():
    assert explain.texts() is explain.texts()


def _prose(data: dict, path: str = "") -> list[tuple[str, str]]:
    """Every text people read in the JSON (labels, headline templates and notes are too short to score)."""
    found = []
    for key, value in data.items():
        where = f"{path}.{key}" if path else key
        if key in ("_about", "label", "action_units", "headlines"):
            continue
        if isinstance(value, str):
            found.append((where, value))
        elif isinstance(value, dict):
            found.extend(_prose(value, where))
    return found


def test_every_json_text_is_easy_to_read():
    prose = _prose(explain.texts())
    assert len(prose) > 60
    low = [(where, _ease(text)) for where, text in prose if _ease(text) < MIN_EASE]
    assert not low, low


def test_every_composed_explanation_is_easy_to_read():
    for ex in _all_explanations():
        for field in TEXT_FIELDS:
            text = getattr(ex, field)
            assert _ease(text) >= MIN_EASE, (ex.emotion, ex.band, field, text)
        assert _ease(ex.as_text()) >= MIN_EASE, (ex.emotion, ex.band, ex.second)


def test_every_region_sentence_is_easy_to_read():
    for text in explain.texts()["regions"].values():
        assert _ease(text) >= MIN_EASE, text


# --- bands and headlines -------------------------------------------------------------------------


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_clear_band(emotion):
    ex = describe(_probs(emotion, 0.8))
    assert ex.emotion == emotion
    assert ex.band == "clear"
    assert ex.headline == f"Looks {_label(emotion)}"
    assert ex.second is None
    assert ex.short_label == _label(emotion)
    assert ex.look_alikes == explain.texts()["emotions"][emotion]["look_alikes"]
    assert math.isclose(ex.confidence, 0.8)


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_likely_band(emotion):
    ex = describe(_probs(emotion, 0.5))
    assert ex.band == "likely"
    assert ex.headline == f"Might be {_label(emotion)}"
    assert ex.second is None
    assert ex.short_label == f"{_label(emotion)}?"


@pytest.mark.parametrize(("top", "second"), list(permutations(EMOTIONS, 2)))
def test_unsure_band_names_the_second_choice(top, second):
    ex = describe(_probs(top, 0.45, second, 0.40))
    assert ex.band == "unsure"
    assert ex.emotion == top
    assert ex.second == second
    assert ex.headline == f"Not sure: {_label(top)} or {_label(second)}"
    assert ex.short_label == f"{_label(top)} / {_label(second)}?"
    assert ex.look_alikes.startswith(f"It could also be {_label(second)}.")
    assert _label(second) in ex.summary


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_fields_come_from_the_top_emotion(emotion):
    entry = explain.texts()["emotions"][emotion]
    for probs in (_probs(emotion, 0.9), _probs(emotion, 0.5), _probs(emotion, 0.45, _other(emotion), 0.4)):
        ex = describe(probs)
        for field in ("face", "meaning", "respond", "caution"):
            assert getattr(ex, field) == entry[field]
        assert ex.action_units == tuple(entry["action_units"])


def test_low_top_is_unsure_even_with_a_wide_margin():
    ex = describe(_probs("fear", 0.38, "sad", 0.16))
    assert ex.band == "unsure"
    assert ex.second == "sad"
    assert ex.headline == "Not sure: afraid or sad"


def test_near_flat_reading_is_no_clear_reading():
    ex = describe(_probs("sad", 0.2, "neutral", 0.18))
    assert ex.band == "unsure"
    assert ex.headline == "No clear reading"
    assert ex.summary == explain.no_reading_text()
    assert ex.short_label == "unclear?"


@pytest.mark.parametrize(
    ("top", "band"),
    [(0.60, "clear"), (0.5999, "likely"), (0.40, "likely"), (0.3999, "unsure")],
)
def test_thresholds(top, band):
    assert describe(_probs("happy", top, "surprise", 0.0)).band == band


def test_close_margin_beats_a_high_top():
    assert describe(_probs("happy", 0.5, "surprise", 0.36)).band == "unsure"
    assert describe(_probs("happy", 0.5, "surprise", 0.34)).band == "likely"


def test_short_labels_fit_and_show_the_band_in_text():
    for ex in _all_explanations():
        assert 0 < len(ex.short_label) <= 24, ex.short_label
    for emotion in EMOTIONS:
        labels = {
            describe(_probs(emotion, 0.9)).short_label,
            describe(_probs(emotion, 0.5)).short_label,
            describe(_probs(emotion, 0.45, _other(emotion), 0.4)).short_label,
            describe(_probs(emotion, 0.2, _other(emotion), 0.18)).short_label,
        }
        assert len(labels) == 4, labels


# --- input checks --------------------------------------------------------------------------------


def test_missing_emotions_count_as_zero():
    ex = describe({"happy": 0.9, "neutral": 0.1})
    assert ex.emotion == "happy" and ex.band == "clear"
    assert describe({"sad": 1.0}).headline == "Looks sad"


def test_probs_are_normalised():
    ex = describe({"happy": 3.0, "neutral": 1.0})
    assert math.isclose(ex.confidence, 0.75)
    assert ex.band == "clear"
    assert describe({"sad": 2.0, "neutral": 2.0}).band == "unsure"


def test_ties_go_to_the_earlier_emotion():
    ex = describe({"neutral": 0.5, "sad": 0.5})
    assert ex.emotion == "sad" and ex.second == "neutral"


@pytest.mark.parametrize(
    "probs",
    [
        {"happy": -0.1, "sad": 1.0},
        {"happy": float("nan")},
        {"happy": float("inf")},
        {"joy": 1.0},
        {"Happy": 1.0},
        {"happy": "lots"},
        {"happy": None},
        {},
        {"happy": 0.0, "sad": 0.0},
    ],
)
def test_bad_probs_raise(probs):
    with pytest.raises(ValueError):
        describe(probs)


def test_explanation_is_frozen():
    ex = describe({"happy": 1.0})
    with pytest.raises(AttributeError):
        ex.band = "unsure"  # type: ignore[misc]


# --- regions -------------------------------------------------------------------------------------


def _hot_rows(rows: list[int], size: int = 6) -> np.ndarray:
    heat = np.full((size, size), 0.05)
    heat[rows, :] = 1.0
    return heat


def test_region_mouth_for_bottom_rows():
    assert region_of(_hot_rows([4, 5])) == "mouth"
    assert region_sentence(_hot_rows([4, 5])) == explain.texts()["regions"]["mouth"]
    assert "mouth" in region_sentence(_hot_rows([5]))


def test_region_eyes_for_eye_rows():
    assert region_of(_hot_rows([2])) == "eyes"
    assert "eyes" in region_sentence(_hot_rows([2]))


def test_region_brows_for_top_rows():
    assert region_of(_hot_rows([0])) == "brows"
    assert "brows" in region_sentence(_hot_rows([0]))


def test_region_nose_for_middle_rows():
    heat = np.full((20, 20), 0.05)
    heat[11:13, :] = 1.0
    assert region_of(heat) == "nose"


def test_region_even_for_flat_or_empty_maps():
    assert region_of(np.ones((6, 6))) == "even"
    assert region_of(np.zeros((6, 6))) == "even"


def test_region_ignores_columns():
    heat = np.zeros((6, 6))
    heat[5, 0] = 1.0
    assert region_of(heat) == "mouth"


@pytest.mark.parametrize("bad", [np.ones(6), np.ones((2, 2, 2)), np.zeros((0, 6)), np.array([[np.nan, 1.0]])])
def test_region_rejects_bad_maps(bad):
    with pytest.raises(ValueError):
        region_sentence(bad)


def test_import_stays_light():
    code = "import sys, xface.teach.explain; sys.exit(bool({'torch', 'streamlit'} & set(sys.modules)))"
    root = Path(explain.__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


# --- measured cues in words --------------------------------------------------------------------


def _cue_sets() -> list[dict[str, float]]:
    """Many cue combinations: none, each cue alone at three strengths, every pair, and random faces."""
    from xface.vision.cues import CUE_NAMES

    sets: list[dict[str, float]] = [dict.fromkeys(CUE_NAMES, 0.0)]
    for name in CUE_NAMES:
        for value in (0.3, 0.6, 1.0):
            sets.append({**dict.fromkeys(CUE_NAMES, 0.0), name: value})
    for i, a in enumerate(CUE_NAMES):
        for b in CUE_NAMES[i + 1 :]:
            sets.append({**dict.fromkeys(CUE_NAMES, 0.05), a: 0.7, b: 0.35})
    rng = np.random.default_rng(7)
    for _ in range(150):
        sets.append(dict(zip(CUE_NAMES, rng.uniform(0, 1, len(CUE_NAMES)) ** 2, strict=True)))
    return sets


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in text.replace(":", ".").split(".") if len(s.strip().split()) >= 1]


def test_every_generated_cue_sentence_is_easy_to_read():
    """Every text made from measured cues (card line, "what the face is doing", quiz lesson), and
    every sentence in it, reads at Flesch 70 or more."""
    checked = 0
    for cues in [*_cue_sets(), None]:
        texts_made = []
        for typical in (True, False):  # against a typical relaxed face, and against the person's own
            texts_made += [explain.cue_line(cues, typical=typical), explain.cue_line(cues, most=2, typical=typical)]
            texts_made += [explain.face_doing(emotion, cues, typical=typical) for emotion in EMOTIONS]
            for answer in EMOTIONS:
                texts_made += [explain.cue_contrast(answer, guess, cues, typical=typical) for guess in EMOTIONS]
        for text in set(texts_made):
            assert _ease(text) >= MIN_EASE, text
            for sentence in text.split(". "):
                assert _ease(sentence) >= MIN_EASE, sentence
            checked += 1
    assert checked > 5_000


def _own(name: str, past: float = 0.05) -> float:
    """An intensity `past` beyond where a cue is named against a person's own relaxed face."""
    return explain.show_at(name, typical=False) + past


def test_cue_line_names_the_strongest_cues_first():
    # Measured against the person's own relaxed face (typical=False).
    eyes = _own("upper_lid_raise")
    cues = {"jaw_drop": 0.95, "brow_raise": 0.9, "upper_lid_raise": eyes, "lip_press": 0.1}
    line = explain.cue_line(cues, typical=False)
    assert line == "Mouth: dropped open. Brows: raised. Eyes: wide open a little."
    assert explain.cue_line({"jaw_drop": 0.95, "brow_raise": 0.9, "upper_lid_raise": eyes}, most=1, typical=False) == (
        "Mouth: dropped open."
    )
    assert "No part of the face moves much" in explain.cue_line({"jaw_drop": 0.1}, typical=False)
    assert "could not be found" in explain.cue_line(None)


def test_only_cues_beyond_what_faces_without_them_reach_are_named():
    settings = calibration()
    for column, name in enumerate(CUE_NAMES):
        named = float(settings.named[column])
        assert named >= float(settings.noticeable[column]) or name in explain.FITS_OTHER_CUES
        assert explain.show_at(name) == (math.inf if named >= 1 else max(explain.SHOW_CUE_AT, named))
        own = float(settings.named_own[column])
        assert own >= float(settings.noticeable_own[column]) or name in explain.FITS_OTHER_CUES
        assert explain.show_at(name, typical=False) == (math.inf if own >= 1 else max(explain.SHOW_CUE_AT, own))
    # Against a person's own relaxed face the build is gone, so the smile and raised brows are named from less...
    for name in explain.FITS_OTHER_CUES:
        assert explain.SHOW_CUE_AT <= explain.show_at(name, typical=False) < explain.show_at(name)
    # ...but a laugh still turns the corners down against the upper lip and crying still wrinkles the nose: cues
    # that can't be told on a photo can't be told against a person's own face either.
    for name in ("brow_lower", "nose_wrinkle", "lip_corner_depress", "lip_press"):
        assert explain.show_at(name) == explain.show_at(name, typical=False) == math.inf
    assert explain.cue_line({"lip_corner_depress": 0.7, "lip_corner_pull": 0.7}, typical=False) == (
        "Mouth: corners pulled up."
    )
    # A cue named on photos only past "noticeable": wide-open eyes, as in a few relaxed faces.
    at = explain.show_at("upper_lid_raise")
    assert explain.SHOW_CUE_AT < at < 1
    assert "No part of the face moves much" in explain.cue_line({"upper_lid_raise": (at + explain.SHOW_CUE_AT) / 2})
    # Past where it is named, a cue still says "a little" until it is clearly strong.
    assert explain.cue_line({"upper_lid_raise": at}).endswith("a little.")
    assert not explain.cue_line({"upper_lid_raise": 1.0}, typical=False).endswith("a little.")
    # A neutral label with such lips: no "fits angry more than neutral", and the lesson does not name them.
    assert "fits" not in explain.face_doing("neutral", {"lip_press": 1.0, "brow_lower": 1.0})
    assert "lips press tight" not in explain.cue_contrast("angry", "neutral", {"lip_press": 1.0}).split("yourself")[0]


def test_a_face_is_called_at_rest_only_when_its_cues_are_small():
    """ "No part of the face moves much" only where every cue is as small as in nine relaxed faces in ten; elsewhere,
    when no cue can be named (crying with the eyes squeezed shut, a laugh whose corners hardly rise), the words say
    so honestly, without claiming the face moves: a relaxed face may reach one of those levels too."""
    settings = calibration()
    for typical, quiet in ((True, settings.noticeable), (False, settings.noticeable_own)):
        calm = {name: 0.9 * min(float(quiet[i]), explain.show_at(name, typical)) for i, name in enumerate(CUE_NAMES)}
        assert explain.at_rest(calm, typical)
        assert explain.cue_line(calm, typical=typical) == explain.texts()["cue_texts"]["none"]
        # The card of a neutral reading names that sign; a card of another expression never ties it to that one.
        neutral = describe({"neutral": 0.9, "sad": 0.1})
        resting = "Looks neutral. No part of the face moves much."
        assert explain.card_line(neutral, calm, typical=typical) == resting
        assert explain.card_line(describe({"sad": 0.9, "neutral": 0.1}), calm, typical=typical) == "Looks sad."
        # When Xface can't tell, the sign is said where neutral is one of the two choices, and only there.
        unsure = describe({"sad": 0.45, "neutral": 0.40, "happy": 0.15})
        assert (
            explain.card_line(unsure, calm, typical=typical)
            == "Not sure: sad or neutral. No part of the face moves much."
        )
        unsure_not_neutral = describe({"sad": 0.45, "happy": 0.40, "neutral": 0.15})
        assert explain.card_line(unsure_not_neutral, calm, typical=typical) == f"{unsure_not_neutral.headline}."
        for name in ("nose_wrinkle", "lip_corner_depress", "lip_press", "brow_lower"):
            moving = {**calm, name: 1.0}
            assert not explain.at_rest(moving, typical)
            line = explain.cue_line(moving, typical=typical)
            assert line == "Xface can't name a clear sign on this face.", line
            assert "at rest" not in explain.face_doing("sad", moving, typical)
            assert "no part of the face moves much" not in explain.cue_contrast("neutral", "sad", moving, typical)
            assert explain.card_line(neutral, moving, typical=typical) == "Looks neutral."
    # The crying face of the real clip at 3 s (read sad, 93 %), against the woman's own face: no single cue past
    # where it is named, yet far from rest.
    crying = {"brow_lower": 0.67, "cheek_raise": 0.28, "nose_wrinkle": 1.0, "lip_corner_pull": 0.08}
    crying |= {"lip_corner_depress": 0.52, "lip_stretch": 0.74, "lip_press": 0.12}
    assert "at rest" not in explain.card_line(describe({"sad": 0.93, "neutral": 0.07}), crying, typical=False)
    assert "can't name a clear sign" in explain.face_doing("sad", crying, typical=False)
    # A laugh whose corners rise less than where they are named, against her own face: not "at rest" either.
    smile = CUE_NAMES.index("lip_corner_pull")
    laugh = {"lip_corner_pull": (settings.noticeable_own[smile] + explain.show_at("lip_corner_pull", False)) / 2}
    assert explain.cue_line(laugh, typical=False) == "Xface can't name a clear sign on this face."


def test_face_doing_flags_cues_that_disagree_with_the_label():
    own = {"typical": False}
    polite = explain.face_doing("happy", {"lip_corner_pull": 0.7, "cheek_raise": 0.0}, **own)
    assert polite.startswith("Mouth: corners pulled up.") and "polite smile" in polite
    assert "polite" not in explain.face_doing("happy", {"lip_corner_pull": 0.7, "cheek_raise": 0.5}, **own)
    frown = explain.face_doing("neutral", {"brow_lower": 0.8}, **own)  # not named: too weak a sign
    assert "pull down" not in frown and "pulled down" not in frown and "fits" not in frown
    smile = explain.face_doing("neutral", {"lip_corner_pull": 0.8}, **own)
    assert "fits happy more than neutral" in smile
    assert "fits" not in explain.face_doing(
        "happy", {"lip_corner_pull": 0.8, "jaw_drop": 0.9, "cheek_raise": 0.5}, **own
    )
    crying = explain.face_doing("sad", {"brow_raise": 0.9, "cheek_raise": 0.8}, **own)  # inner brows up (AU1)
    assert "fits" not in crying
    missing = explain.face_doing("surprise", {"lip_press": 0.3}, **own)
    assert "usual signs of surprised do not show" in missing
    both = explain.face_doing("surprise", {"jaw_drop": 0.95, "brow_raise": 0.6}, **own)
    assert both == "Mouth: dropped open. Brows: raised."
    # Against a typical face a strong smile still disagrees with the label.
    assert "fits happy more than neutral" in explain.face_doing("neutral", {"lip_corner_pull": 0.99})


def test_no_cue_fits_another_expression_better_where_most_people_would_say_this_one():
    """The clip's crying face (read sad 87 %) stretches its mouth up: that is crying, not "fits happy more"."""
    crying = {"lip_corner_pull": 0.99, "cheek_raise": 0.9}
    assert "fits happy more than sad" in explain.face_doing("sad", crying, confidence=0.45)
    assert "fits happy more than sad" in explain.face_doing("sad", crying)  # no confidence given: as before
    sure = explain.face_doing("sad", crying, confidence=0.87)
    assert "fits" not in sure and sure.startswith("Mouth: corners pulled up.")
    reading = explain.describe({"happy": 0.1, "sad": 0.87, "neutral": 0.03})
    assert "fits" not in explain.more_text(reading, crying)


def test_cue_contrast_names_this_faces_cues_and_what_tells_the_answer_apart():
    own = {"typical": False}
    surprised = {"brow_raise": 0.8, "jaw_drop": 0.9}
    lesson = explain.cue_contrast("surprise", "fear", surprised, **own)
    assert lesson.startswith("Surprised and afraid faces can both raise the brows.")
    assert "the jaw drops and the mouth opens and the brows go up: that points to surprised" in lesson
    # A fear sign Xface can't measure against a person's own face is not called missing.
    assert "lips stretch" not in lesson and "missing" not in lesson and "pull down" not in lesson
    happy = explain.cue_contrast("happy", "surprise", {"lip_corner_pull": 0.8, "cheek_raise": 0.7}, **own)
    assert "the lip corners pull up and the cheeks lift: that points to happy" in happy
    # Lip corners down and brows pulled down can't be measured well, on a photo or against a person's own face:
    # the lesson says where to look instead.
    sad_face = {"brow_lower": 0.5, "lip_corner_depress": 0.7}
    for typical in (True, False):
        typical_lesson = explain.cue_contrast("sad", "angry", sad_face, typical=typical)
        assert "can't measure this well. Look for it yourself: the lip corners turn down" in typical_lesson
        assert "points to sad" not in typical_lesson
    # The answer's cues are missing here: say what the guess would have shown instead.
    rest = explain.cue_contrast("neutral", "happy", {"brow_raise": 0.1}, **own)
    assert "no part of the face moves much" in rest and "the lip corners pull up. Here that sign is missing" in rest
    # Only measured cues are named.
    assert "jaw" not in explain.cue_contrast("surprise", "fear", {"brow_raise": 0.8, "jaw_drop": 0.0}, **own)
    # Signs that move, but not enough to name, are not called missing: the clip's laugh at 11.2 s (read happy
    # 98 %) against her own face, whose corners rise just under where they are named.
    laugh = {"brow_lower": 0.26, "cheek_raise": 0.3, "lip_corner_pull": 0.38, "lip_corner_depress": 0.35}
    for guess in ("happy", "sad"):
        lesson = explain.cue_contrast("happy", guess, laugh, **own)
        assert lesson.startswith("Here Xface can't name a clear sign of happy.") and "do not show" not in lesson
        assert "do not show" not in explain.face_doing("happy", laugh, **own)
    # The lesson speaks of happy's own signs, so it never denies a sign the card names beside it (a laugh's open
    # mouth goes with happy).
    open_laugh = {**laugh, "jaw_drop": 0.9}
    assert explain.card_line(explain.describe({"happy": 0.9, "neutral": 0.1}), open_laugh, typical=False).endswith(
        "Mouth: dropped open."
    )
    assert explain.cue_contrast("happy", "happy", open_laugh, **own) == "Here Xface can't name a clear sign of happy."
    still = {"lip_corner_pull": 0.1, "cheek_raise": 0.05}
    assert "usual signs of happy do not show" in explain.cue_contrast("happy", "happy", still, **own)
    assert "usual signs of happy do not show" in explain.face_doing("happy", still, **own)
    # Nor is a sign of the guess called missing where it moves, only not enough to name: a smile just under where
    # it is named on a photo is no lesson that "that sign is missing".
    almost = {"lip_corner_pull": 0.5, "cheek_raise": 0.45}
    assert "missing" not in explain.cue_contrast("neutral", "happy", almost)
    assert "Here that sign is missing" in explain.cue_contrast("neutral", "happy", {"lip_corner_pull": 0.05})
    with pytest.raises(ValueError):
        explain.cue_contrast("glee", "happy", sad_face)


def test_held_label_leads_the_words():
    held = describe({"happy": 0.40, "neutral": 0.45, "sad": 0.15}, top="happy")
    assert (held.emotion, held.band, held.second) == ("happy", "unsure", "neutral")
    assert describe({"happy": 0.9, "neutral": 0.1}, top="happy") == describe({"happy": 0.9, "neutral": 0.1})
    with pytest.raises(ValueError):
        describe({"happy": 1.0}, top="glee")


def test_the_explanations_use_the_apps_one_word_for_each_emotion() -> None:
    from xface.emotions import EMOTIONS, emotion_word
    from xface.teach.explain import texts

    assert {e: texts()["emotions"][e]["label"] for e in EMOTIONS} == {e: emotion_word(e) for e in EMOTIONS}


def test_card_is_one_line_and_more_holds_at_most_60_words():
    rng = np.random.default_rng(7)
    for explanation in _all_explanations():
        for _ in range(20):
            cues = dict(zip(CUE_NAMES, rng.random(len(CUE_NAMES)) ** 2, strict=True))
            for typical in (True, False):
                line = explain.card_line(explanation, cues, typical=typical)
                assert line.startswith(f"{explanation.headline}.") and "\n" not in line
                assert len(line.split(". ")) <= 3  # the headline and one region's cue
                more = explain.more_text(explanation, cues, typical=typical)
                assert 0 < len(more.split()) <= explain.MORE_WORDS, more
    flat = describe(dict.fromkeys(EMOTIONS, 1.0))  # no clear reading: say so, and tie no cue to an emotion
    assert explain.card_line(flat, {"jaw_drop": 0.9, "brow_raise": 0.9}) == "No clear reading."
    assert "surprise" not in explain.more_text(flat, {"jaw_drop": 0.9}).lower()


@pytest.mark.parametrize(
    ("confidence", "word"), [(0.97, "very sure"), (0.9, "very sure"), (0.8, "fairly sure"), (0.62, "somewhat sure")]
)
def test_confidence_words_follow_the_number(confidence, word):
    explanation = describe(_probs("happy", confidence))
    assert explanation.band == "clear" and word in explanation.summary
    assert "fairly" not in describe(_probs("sad", 0.97)).summary
    assert "not sure" in describe(_probs("sad", 0.5)).summary


def test_one_statement_of_accuracy():
    statement = explain.accuracy_statement()
    assert "8 times in 10" in statement and "2 times in 10" in statement and "3,354" in statement
    assert "3,354" in explain.ACCURACY_MEASURED_ON and "FER2013" in explain.ACCURACY_MEASURED_ON
    assert _ease(statement) >= MIN_EASE


def test_the_card_names_only_a_cue_that_goes_with_the_reading():
    """One line that paired "Looks angry" with a smile's corners would teach that anger pulls them up: the card
    names the strongest cue of the expression read, or none; "More" keeps the cue that speaks against it."""
    angry = describe({"angry": 0.8, "happy": 0.1, "neutral": 0.1})
    smile_and_stare = {"lip_corner_pull": 0.95, "upper_lid_raise": 0.9}
    assert explain.card_line(angry, smile_and_stare) == "Looks angry. Eyes: wide open a little."
    assert explain.card_line(angry, {"lip_corner_pull": 0.95}) == "Looks angry."
    assert "corners pulled up" in explain.more_text(angry, {"lip_corner_pull": 0.95})
    happy = describe({"happy": 0.8, "neutral": 0.2})
    assert explain.card_line(happy, smile_and_stare) == "Looks happy. Mouth: corners pulled up."
    laugh = {"jaw_drop": 0.8, "brow_raise": 0.95}  # a laugh may open the mouth; raised brows are no sign of it
    assert explain.card_line(happy, laugh) == "Looks happy. Mouth: dropped open a little."
    assert explain.card_line(describe({"neutral": 0.9, "sad": 0.1}), {"brow_raise": 0.9}) == "Looks neutral."
    unsure = describe({"sad": 0.45, "angry": 0.40, "neutral": 0.15})  # can't tell: either one's cues may show
    assert unsure.second == "angry"
    assert explain.card_line(unsure, smile_and_stare).endswith("Eyes: wide open a little.")
    rng = np.random.default_rng(11)
    for explanation in _all_explanations():
        read = [explanation.emotion, *([explanation.second] if explanation.second else [])]
        fitting = {name for emotion in read for name in goes_with(emotion)}
        for _ in range(20):
            cues = dict(zip(CUE_NAMES, rng.random(len(CUE_NAMES)) ** 2, strict=True))
            line = explain.card_line(explanation, cues)
            strangers = [name for name in explain.named_cues(cues) if name not in fitting]
            for name in strangers:
                assert explain.cue_line({name: cues[name]}) not in line, (explanation.headline, line)
