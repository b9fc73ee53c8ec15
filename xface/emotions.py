"""The seven emotion names, the one word a person sees for each, and the synonyms other checkpoints use."""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""FER2013 order: every probability vector in Xface uses it."""

WORDS: dict[str, str] = {
    "angry": "angry",
    "disgust": "disgusted",
    "fear": "afraid",
    "happy": "happy",
    "sad": "sad",
    "surprise": "surprised",
    "neutral": "neutral",
}
"""The one display word per emotion, used on every button, card, chart and export.

Each is an adjective that fits "looks …" and "… face": a person learns one word per expression,
not three ("fear", "afraid" and "scared" read as three different things). "Afraid" rather than
"scared" because it is the plainer word for the same feeling; "disgusted" and "surprised" because
"looks disgust" is not English."""

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


def emotion_word(emotion: str) -> str:
    """The display word for one of EMOTIONS (or a synonym of it): "fear" → "afraid"."""
    name = emotion if emotion in WORDS else canonical_emotion(emotion)
    if name is None:
        raise ValueError(f"An emotion is one of {', '.join(EMOTIONS)}, not {emotion!r}.")
    return WORDS[name]
