"""The feelings wheel used by check-ins, placed on the Mood Meter grid.

Seven labels are enough to describe a face, but not to name what one feels inside; a wheel of core
feelings, each with more specific words, gives people with alexithymia a vocabulary to choose from.
Each word also sits on the Mood Meter (How We Feel) grid: how pleasant it is and how much energy it
carries, each from -2 to +2. Two plain questions ("how pleasant?", "how much energy?") are easier to
answer than "which word?", and the grid then offers the words that sit near the answer, each with a
one-line meaning. The words live in feelings.json beside this file, so they can be reviewed and
translated without touching code. Every word belongs to exactly one core feeling, so ``core_of`` is
unambiguous. Most core feelings also map onto an expression label through
``xface.emotions.canonical_emotion`` (afraid → fear, calm → neutral...); "tired" deliberately has no expression.
A core feeling that is also an expression has the app's one word for it (``xface.emotions.WORDS``): "afraid",
not "scared", on the wheel as on the cards; ``RENAMED`` reads the older word in older journals and exports.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import NamedTuple

__all__ = [
    "BODY_PLACES",
    "ENERGY",
    "FEELINGS_WHEEL",
    "GRID",
    "PLEASANTNESS",
    "RENAMED",
    "GridPlace",
    "core_of",
    "current_word",
    "place_of",
    "words_near",
]

_DATA = json.loads(resources.files(__package__).joinpath("feelings.json").read_text(encoding="utf-8"))

FEELINGS_WHEEL: dict[str, list[str]] = {core: list(words) for core, words in _DATA["wheel"].items()}
"""Core feeling → more specific words, in the order the check-in form shows them."""

RENAMED: dict[str, str] = dict(_DATA["renamed"])
"""A wheel word an older Xface used → the word now ("scared" → "afraid")."""

BODY_PLACES: tuple[str, ...] = tuple(_DATA["body_places"])
"""Where a feeling can be noticed in the body, head to toe."""

PLEASANTNESS: dict[int, str] = {
    -2: "very unpleasant",
    -1: "unpleasant",
    0: "neither",
    1: "pleasant",
    2: "very pleasant",
}
"""The pleasantness scale, as the check-in form and the charts name its steps."""

ENERGY: dict[int, str] = {-2: "very low", -1: "low", 0: "medium", 1: "high", 2: "very high"}
"""The energy scale, as the check-in form and the charts name its steps."""


class GridPlace(NamedTuple):
    """Where a feeling word sits on the Mood Meter, and what it means."""

    pleasantness: int
    energy: int
    means: str


GRID: dict[str, GridPlace] = {word: GridPlace(**place) for word, place in _DATA["grid"].items()}
"""Every wheel word (cores included) → its place on the grid and a short meaning."""

_CORE_OF: dict[str, str] = {word: core for core, words in FEELINGS_WHEEL.items() for word in (core, *words)}


def current_word(word: str) -> str:
    """A feeling word in lower case, as the wheel says it now (an older Xface's "scared" is "afraid")."""
    text = word.strip().lower()
    return RENAMED.get(text, text)


def core_of(word: str) -> str | None:
    """The core feeling a wheel word belongs to (a core is its own core), or None for other words."""
    return _CORE_OF.get(current_word(word))


def place_of(word: str | None) -> GridPlace | None:
    """Where a wheel word sits on the grid, or None for words not on the wheel."""
    return GRID.get(current_word(word or ""))


def words_near(pleasantness: int, energy: int, reach: int = 1) -> list[str]:
    """Wheel words within ``reach`` steps of a grid point on both axes, the nearest ring first.

    Within a ring the words take turns by side: as pleasant as the point, more pleasant, less pleasant.
    The grid holds more unpleasant words than pleasant ones, so closest-first alone offered a person who
    chose "neither" seven unpleasant words in a row ("guilty, bitter, insecure…"). On each side, the
    closest come first, then cores (the most familiar names), then wheel order.
    """
    order = {word: index for index, word in enumerate(_CORE_OF)}

    def offset(word: str) -> tuple[int, int]:
        return GRID[word].pleasantness - pleasantness, GRID[word].energy - energy

    def ring(word: str) -> int:
        return max(map(abs, offset(word)))

    def side(word: str) -> int:
        """0 as pleasant as the point, 1 more pleasant, 2 less pleasant."""
        return (0, 1, 2)[(offset(word)[0] > 0) + 2 * (offset(word)[0] < 0)]

    near = [word for word in GRID if ring(word) <= reach]
    closest_first = sorted(
        near, key=lambda word: (sum(map(abs, offset(word))), word not in FEELINGS_WHEEL, order[word])
    )
    turn: dict[str, int] = {}
    taken: dict[tuple[int, int], int] = {}
    for word in closest_first:
        group = (ring(word), side(word))
        turn[word] = taken.get(group, 0)
        taken[group] = turn[word] + 1
    return sorted(near, key=lambda word: (ring(word), turn[word], side(word)))
