"""The seven emotion names and the synonyms other checkpoints use for them."""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""FER2013 order: every probability vector in Xface uses it."""

_SYNONYMS: dict[str, str] = {
    "anger": "angry",
    "angry": "angry",
    "mad": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "smile": "happy",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "neutral": "neutral",
    "calm": "neutral",
    "none": "neutral",
}


def canonical_emotion(label: str) -> str | None:
    """Map a checkpoint's label ("Happiness", "LABEL_3: fearful"...) onto one of EMOTIONS, or None."""
    text = label.strip().lower()
    for part in (text, *text.replace(":", " ").replace("_", " ").replace("-", " ").split()):
        if part in _SYNONYMS:
            return _SYNONYMS[part]
    return None
