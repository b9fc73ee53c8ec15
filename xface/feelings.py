"""The feelings wheel used by check-ins: more words than the seven expression labels.

Seven labels are enough to describe a face, but not to name what one feels inside; a wheel of core
feelings, each with more specific words, gives people with alexithymia a vocabulary to choose from.
The words live in feelings.json beside this file, so they can be reviewed and translated without
touching code. Every word belongs to exactly one core feeling, so ``core_of`` is unambiguous.
Most core feelings also map onto an expression label through ``xface.emotions.canonical_emotion``
(scared → fear, calm → neutral...); "tired" deliberately has no expression.
"""

from __future__ import annotations

import json
from importlib import resources

_DATA = json.loads(resources.files("xface").joinpath("feelings.json").read_text(encoding="utf-8"))

FEELINGS_WHEEL: dict[str, list[str]] = {core: list(words) for core, words in _DATA["wheel"].items()}
"""Core feeling → more specific words, in the order the check-in form shows them."""

BODY_PLACES: tuple[str, ...] = tuple(_DATA["body_places"])
"""Where a feeling can be noticed in the body, head to toe."""

_CORE_OF: dict[str, str] = {word: core for core, words in FEELINGS_WHEEL.items() for word in (core, *words)}


def core_of(word: str) -> str | None:
    """The core feeling a wheel word belongs to (a core is its own core), or None for other words."""
    return _CORE_OF.get(word.strip().lower())
