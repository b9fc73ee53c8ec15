import json
from importlib import resources

from xface.emotions import EMOTIONS, canonical_emotion
from xface.feelings import BODY_PLACES, FEELINGS_WHEEL, core_of


def test_wheel_is_richer_than_the_seven_labels():
    assert len(FEELINGS_WHEEL) >= 7
    assert all(6 <= len(words) <= 10 for words in FEELINGS_WHEEL.values())
    assert sum(len(words) for words in FEELINGS_WHEEL.values()) > 7 * 6
    assert {"lonely", "disappointed", "hurt", "grieving", "ashamed", "hopeless"} <= set(FEELINGS_WHEEL["sad"])


def test_every_word_has_exactly_one_core():
    words = [word for core, words in FEELINGS_WHEEL.items() for word in (core, *words)]
    assert len(words) == len(set(words))
    for core, specific in FEELINGS_WHEEL.items():
        assert core_of(core) == core
        assert all(core_of(word) == core for word in specific)
    assert core_of("  Lonely ") == "sad"
    assert core_of("lonelyish") is None


def test_core_feelings_that_have_a_face_map_onto_an_expression():
    expressions = {core: canonical_emotion(core) for core in FEELINGS_WHEEL}
    assert expressions["scared"] == "fear" and expressions["calm"] == "neutral"
    assert set(EMOTIONS) <= set(expressions.values())


def test_body_places_and_data_file():
    assert {"chest", "stomach", "throat", "face", "head", "shoulders", "hands", "legs", "whole body"} <= set(
        BODY_PLACES
    )
    assert len(BODY_PLACES) == len(set(BODY_PLACES))
    data = json.loads(resources.files("xface").joinpath("feelings.json").read_text(encoding="utf-8"))
    assert data["wheel"] == FEELINGS_WHEEL
