import json
from importlib import resources

import textstat

from xface.emotions import EMOTIONS, WORDS, canonical_emotion, emotion_word
from xface.journal.feelings import (
    BODY_PLACES,
    ENERGY,
    FEELINGS_WHEEL,
    GRID,
    PLEASANTNESS,
    RENAMED,
    core_of,
    current_word,
    place_of,
    words_near,
)


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
    assert expressions["afraid"] == "fear" and expressions["calm"] == "neutral"
    assert set(EMOTIONS) <= set(expressions.values())


def test_a_core_feeling_that_is_an_expression_has_the_apps_one_word_for_it():
    """The wheel said "scared" where the cards, quiz and charts say "afraid": one word per emotion."""
    for core in FEELINGS_WHEEL:
        emotion = canonical_emotion(core)
        if emotion is not None and emotion != "neutral":  # calm is a feeling; "neutral" names only a face
            assert core == emotion_word(emotion), (core, emotion_word(emotion))
    assert {word for word in WORDS.values() if word != "neutral"} <= set(FEELINGS_WHEEL)
    all_words = {word for core, words in FEELINGS_WHEEL.items() for word in (core, *words)}
    assert not set(RENAMED) & all_words  # an old word is not on the wheel any more …
    assert set(RENAMED.values()) <= all_words  # … and what it became is
    # An older journal's or export's word still finds its place and its core.
    assert current_word(" Scared ") == "afraid" and core_of("scared") == "afraid"
    assert place_of("scared") == place_of("afraid")


def test_body_places_and_data_file():
    assert {"chest", "stomach", "throat", "face", "head", "shoulders", "hands", "legs", "whole body"} <= set(
        BODY_PLACES
    )
    assert len(BODY_PLACES) == len(set(BODY_PLACES))
    data = json.loads(resources.files("xface.journal").joinpath("feelings.json").read_text(encoding="utf-8"))
    assert data["wheel"] == FEELINGS_WHEEL


def test_every_word_sits_on_the_grid_with_a_plain_meaning():
    words = [word for core, specific in FEELINGS_WHEEL.items() for word in (core, *specific)]
    assert set(GRID) == set(words)
    for word, place in GRID.items():
        assert -2 <= place.pleasantness <= 2 and -2 <= place.energy <= 2, word
        assert textstat.flesch_reading_ease(place.means) >= 70, (word, place.means)
        assert place.means.endswith(".") and len(place.means) < 80, word
    # The grid agrees with common sense at its corners.
    assert place_of("Joyful") == (2, 2, GRID["joyful"].means)
    assert place_of("peaceful")[:2] == (2, -2)
    assert place_of("furious")[:2] == (-2, 2)
    assert place_of("hopeless")[:2] == (-2, -2)
    assert place_of("like fog") is None and place_of(None) is None
    # Every quarter of the grid has words to offer.
    for pleasantness in (-2, 2):
        for energy in (-2, 2):
            assert words_near(pleasantness, energy), (pleasantness, energy)


def test_words_near_a_point_come_closest_first():
    near = words_near(2, 2)
    assert near[0] in {"joyful", "excited", "playful"}
    assert all(GRID[word].pleasantness >= 1 and GRID[word].energy >= 1 for word in near)
    assert "furious" not in near and "relaxed" not in near
    assert set(words_near(0, 0, reach=2)) == set(GRID)
    assert set(PLEASANTNESS) == set(ENERGY) == {-2, -1, 0, 1, 2}


def test_the_centre_offers_pleasant_and_unpleasant_words_in_turn():
    """ "neither" pleasant nor unpleasant, "medium" energy: the first words offered are not all unpleasant."""
    offered = words_near(0, 0)[:12]
    assert offered[0] == "thoughtful"  # the one word that sits at the centre itself
    sides = [(GRID[word].pleasantness > 0) - (GRID[word].pleasantness < 0) for word in offered[1:]]
    assert abs(sides.count(1) - sides.count(-1)) <= 1, offered
    assert sides[:2] != [-1, -1], offered
    assert offered[1] == "balanced"  # the nearest word on the pleasant side takes the first turn
