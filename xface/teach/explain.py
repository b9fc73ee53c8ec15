"""Turn the model's seven probabilities into plain words a person can act on.

People with alexithymia asked for more than a label: what the face is doing, what it often
means, what it is mixed up with, and what they could say back, together with an honest
sign of how sure the model is. The texts live in ``explanations.json`` (data, not code) so
they can be edited and checked for reading ease without touching this module.

Confidence bands (on probabilities normalised to sum to 1):

* ``clear``  - top >= CLEAR_AT (0.60) and at least CLOSE_MARGIN ahead of the second choice:
  "Looks happy", short label ``happy``.
* ``likely`` - LIKELY_AT (0.40) <= top < 0.60 and at least CLOSE_MARGIN ahead: "Might be
  surprised", short label ``surprised?``.
* ``unsure`` - top < 0.40, or the top two within CLOSE_MARGIN (0.15): "Not sure: sad or
  neutral", short label ``sad / neutral?``; ``second`` is then always set. When even the top
  is below NO_READING_BELOW (0.25; a flat guess over seven is 0.14) the headline is "No clear
  reading" and the short label ``unclear?``.

This module must stay light: no streamlit, no torch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np

from xface.emotions import EMOTIONS
from xface.vision.cues import CUE_NAMES, EMOTION_CUES, calibration, goes_with

__all__ = [
    "CLEAR_AT",
    "CLOSE_MARGIN",
    "LIKELY_AT",
    "NO_READING_BELOW",
    "REGIONS",
    "Band",
    "Explanation",
    "describe",
    "no_reading_text",
    "region_of",
    "region_sentence",
    "texts",
    "cue_contrast",
    "cue_line",
    "face_doing",
    "SHOW_CUE_AT",
    "show_at",
    "at_rest",
    "named_cues",
    "sure_word",
    "accuracy_statement",
    "card_line",
    "more_text",
]

CLEAR_AT = 0.60
"""Top probability at or above which the reading is 'clear' (if not close to the second)."""
LIKELY_AT = 0.40
"""Top probability at or above which the reading is 'likely'; below it is 'unsure'."""
CLOSE_MARGIN = 0.15
"""Top two closer than this are too close to call: the band is 'unsure' and both are named."""
NO_READING_BELOW = 0.25
"""Below this top probability the guess is near flat, so we say 'no clear reading'."""
SHORT_LABEL_MAX = 24
"""Longest label we draw on video, so it fits above a face box."""

Band = Literal["clear", "likely", "unsure"]

REGIONS: tuple[tuple[str, float, float], ...] = (
    ("brows", 0.00, 0.25),
    ("eyes", 0.25, 0.50),
    ("nose", 0.50, 0.65),
    ("mouth", 0.65, 1.00),
)
"""Face regions as fractions of height in the aligned crop (eyes ~35-40 %, mouth ~75-80 % down)."""
EVEN_RATIO = 1.15
"""If the busiest region's mean attention is under this many times the face mean, no region stands out."""

SHOW_CUE_AT = 0.25
"""Cues weaker than this are not named, whatever they are measured against (see `show_at`)."""
STRONG_CUE_AT = 0.5
"""Cues this far past where they are named (0.25 past `show_at`) get no "a little", and can
disagree with the label."""
FITS_OTHER_CUES = ("lip_corner_pull", "brow_raise")
"""The only cues strong and reliable enough to say "That fits happy more than sad": those that tell their
expression from every other well (AUC at least 0.85 on FER2013 faces through the whole pipeline: lip corners
pulled up for happy, raised brows for surprised). Brows lowered, nose wrinkled, lip corners down and the others
separate their expressions too weakly (AUC 0.6 to 0.8) to contradict the model's reading."""
MISSING_BELOW = 0.15
"""When every cue of the label is below this, the label's usual signs are missing on this face."""

_FIELDS = ("label", "action_units", "face", "meaning", "look_alikes", "respond", "caution")


@dataclass(frozen=True)
class Explanation:
    """Everything the UI shows for one reading; the band is in the words, not only in a colour."""

    emotion: str
    """Top emotion (one of EMOTIONS)."""
    band: Band
    headline: str
    """E.g. "Looks happy", "Might be surprised", "Not sure: sad or neutral"."""
    second: str | None
    """The model's second choice when the band is 'unsure', else None."""
    face: str
    meaning: str
    look_alikes: str
    respond: str
    caution: str
    short_label: str
    """At most 24 characters for drawing on video: "happy", "happy?", "sad / neutral?"."""
    summary: str
    """One short text on how sure the model is, in words."""
    confidence: float
    """Normalised probability of the top emotion."""
    action_units: tuple[str, ...]
    """FACS action units behind the top emotion (for the curious; kept out of the prose)."""

    def as_text(self) -> str:
        """The whole explanation as plain paragraphs (for screen readers, copying, or the journal)."""
        parts = (
            f"{self.headline}.",
            self.summary,
            self.face,
            self.meaning,
            self.look_alikes,
            self.respond,
            self.caution,
        )
        return "\n\n".join(parts)


@cache
def texts() -> dict[str, Any]:
    """The explanation texts, read once from the JSON that ships beside this module."""
    raw = resources.files(__package__).joinpath("explanations.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    missing = [e for e in EMOTIONS if e not in data["emotions"]]
    if missing:
        raise ValueError(f"explanations.json lacks emotions: {missing}")
    for name in EMOTIONS:
        lacking = [f for f in _FIELDS if f not in data["emotions"][name]]
        if lacking:
            raise ValueError(f"explanations.json: {name} lacks {lacking}")
    return data


def _label(emotion: str) -> str:
    return texts()["emotions"][emotion]["label"]


def _pair_text(a: str, b: str) -> str:
    pairs = texts()["pairs"]
    return pairs.get(f"{a}|{b}") or pairs[f"{b}|{a}"]


def _normalise(probs: Mapping[str, float]) -> dict[str, float]:
    """Check and normalise probs; missing emotions count as 0 so partial outputs still work."""
    unknown = [k for k in probs if k not in EMOTIONS]
    if unknown:
        raise ValueError(f"unknown emotion names: {unknown}; expected some of {EMOTIONS}")
    clean: dict[str, float] = {}
    for name in EMOTIONS:
        value = probs.get(name, 0.0)
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"probability for {name!r} is not a number: {value!r}") from exc
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"probability for {name!r} must be finite and >= 0, got {value!r}")
        clean[name] = number
    total = sum(clean.values())
    if total <= 0:
        raise ValueError("probabilities are all zero; there is nothing to describe")
    return {name: value / total for name, value in clean.items()}


def _band(top: float, margin: float) -> Band:
    if top < LIKELY_AT or margin < CLOSE_MARGIN:
        return "unsure"
    return "clear" if top >= CLEAR_AT else "likely"


def describe(probs: Mapping[str, float], top: str | None = None) -> Explanation:
    """Explain a probability reading in plain words, with an honest confidence band.

    ``probs`` maps emotion names (from EMOTIONS) to scores; missing names count as 0 and the
    rest are normalised. Raises ValueError for unknown names, negative, NaN or infinite
    values, or an all-zero reading. Ties go to the earlier emotion in EMOTIONS.

    ``top`` names the emotion to explain when it is not the most likely one: a video stream
    holds its label until a newcomer has led for a few frames, and the words must follow the
    label on screen. The band then compares ``top`` with the strongest other emotion, so a held
    label that has fallen behind reads "Not sure: happy or neutral".
    """
    p = _normalise(probs)
    if top is not None and top not in EMOTIONS:
        raise ValueError(f"unknown emotion name: {top!r}; expected one of {EMOTIONS}")
    ranked = sorted(EMOTIONS, key=lambda e: (-p[e], EMOTIONS.index(e)))
    top = top or ranked[0]
    runner_up = next(e for e in ranked if e != top)
    band = _band(p[top], p[top] - p[runner_up])
    second = runner_up if band == "unsure" else None

    data = texts()
    entry = data["emotions"][top]
    words = {"label": _label(top), "second": _label(runner_up)}
    key = "no_reading" if p[top] < NO_READING_BELOW else band

    if key == "no_reading":
        short_label = "unclear?"
    elif band == "unsure":
        short_label = f"{words['label']} / {words['second']}?"
    elif band == "likely":
        short_label = f"{words['label']}?"
    else:
        short_label = words["label"]

    if second is not None:
        look_alikes = f"{data['second_intro'].format(**words)} {_pair_text(top, second)}"
    else:
        look_alikes = entry["look_alikes"]

    return Explanation(
        emotion=top,
        band=band,
        headline=data["headlines"][key].format(**words),
        second=second,
        face=entry["face"],
        meaning=entry["meaning"],
        look_alikes=look_alikes,
        respond=entry["respond"],
        caution=entry["caution"],
        short_label=short_label[:SHORT_LABEL_MAX],
        summary=data["bands"][key].format(**words, sure=sure_word(p[top])),
        confidence=p[top],
        action_units=tuple(entry["action_units"]),
    )


def sure_word(confidence: float) -> str:
    """How sure, in words that follow the number: "very sure" from 90 %, "fairly sure" from 75 %, and so on."""
    return next(word for at, word in texts()["sure_words"] if confidence >= at)


ACCURACY_MEASURED_ON = (
    "FER2013 validation faces with a clear FER+ majority (3,354 faces): Xface agreed with that majority on 83 % of them"
)
"""What `accuracy_statement` was measured on, for people who want the details (Help shows it; the README's
`xface evaluate --npz` line measures it again)."""


def accuracy_statement() -> str:
    """The one statement of how often Xface is right, in plain words (every page says the same; the details are in
    ACCURACY_MEASURED_ON)."""
    return texts()["accuracy"].format(**texts()["accuracy_measured"])


def no_reading_text() -> str:
    """What to show when there is no reading at all (e.g. no face found)."""
    return texts()["bands"]["no_reading"]


def region_of(heatmap: np.ndarray) -> str:
    """Name the face region ('brows', 'eyes', 'nose', 'mouth') with the most attention per unit height.

    Rows of the map are spread over the regions by how much of each row falls in each region,
    and each region's share is divided by its height, so tall regions (the mouth) are not
    favoured. Returns 'even' when no region stands out. Negative values (some saliency
    methods give them) are treated as 0.
    """
    arr = np.asarray(heatmap, dtype=float)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"heatmap must be a non-empty 2-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("heatmap has NaN or infinite values")
    rows = np.clip(arr, 0.0, None).sum(axis=1)
    total = float(rows.sum())
    if total <= 0:
        return "even"
    n = len(rows)
    edges = np.arange(n + 1) / n
    density: dict[str, float] = {}
    for name, lo, hi in REGIONS:
        overlap = np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0.0, None) * n
        density[name] = float((rows * overlap).sum()) / total / (hi - lo)
    best = max(density, key=density.__getitem__)
    return best if density[best] >= EVEN_RATIO else "even"


def region_sentence(heatmap: np.ndarray) -> str:
    """One plain sentence on where the model looked, so people learn which part of a face to watch.

    ``heatmap`` is a small 2-D attention map (e.g. 6x6) over the aligned, upright face crop.
    """
    return texts()["regions"][region_of(heatmap)]


# --- measured cues in words ------------------------------------------------------------------------


def _cue_words(name: str) -> dict[str, str]:
    return texts()["cues"][name]


def show_at(name: str, typical: bool = True) -> float:
    """The intensity from which a cue is named: only beyond what all but a few faces of each expression without it
    reach, so that a named cue speaks for the expressions it belongs to.

    Against a typical relaxed face (photos, the quiz, a stream's first seconds) relaxed faces themselves differ by
    build and the mesh's noise, and a measure also moves a little with other expressions (`Calibration.named`, made
    on FER2013 training faces, at least what nine relaxed faces in ten reach): a neutral face is not described as
    moving because its lips are thin, nor a surprised one as frowning. Against a person's own relaxed face
    (``typical=False``, a stream once its baseline is ready) the build is taken out but not what other expressions
    do to a measure: a laugh's open mouth turns the corners down against the upper lip, crying squeezes the nose
    (`Calibration.named_own`, made on photos against the same person's relaxed photos). Never below SHOW_CUE_AT.
    A threshold at or past 1 (as strong as faces get) means the cue is never named: it can't be told apart well
    enough (on photos: lowered brows, a wrinkled nose, lip corners down, pressed lips; against a person's own face
    also stretched lips, for which there is no evidence either way).
    """
    settings = calibration()
    named = float((settings.named if typical else settings.named_own)[CUE_NAMES.index(name)])
    return math.inf if named >= 1.0 else max(SHOW_CUE_AT, named)


def at_rest(cues: Mapping[str, float], typical: bool = True) -> bool:
    """Whether every measured cue is as small as in nine relaxed faces in ten (`Calibration.noticeable`, or
    `noticeable_own` against a person's own relaxed face) and below where it is named: only then may the words say
    the face is close to a face at rest. A crying face with its eyes squeezed shut moves a lot even when no single
    cue can be named."""
    settings = calibration()
    quiet = settings.noticeable if typical else settings.noticeable_own
    return all(
        float(cues.get(name, 0.0)) < min(float(quiet[column]), show_at(name, typical))
        for column, name in enumerate(CUE_NAMES)
    )


def _shown(cues: Mapping[str, float], typical: bool = True) -> list[tuple[str, float]]:
    """Cues strong enough to name, strongest first (ties in CUE_NAMES order)."""
    named = [(n, float(cues[n])) for n in CUE_NAMES if n in cues and float(cues[n]) >= show_at(n, typical)]
    return sorted(named, key=lambda item: -item[1])


def named_cues(cues: Mapping[str, float], typical: bool = True) -> list[str]:
    """The cues the words name for this face, strongest first."""
    return [name for name, _ in _shown(cues, typical)]


def _strong(name: str, value: float, typical: bool) -> bool:
    return value >= show_at(name, typical) + STRONG_CUE_AT - SHOW_CUE_AT


def _state(name: str, value: float, typical: bool) -> str:
    state = _cue_words(name)["state"]
    return state if _strong(name, value, typical) else f"{state} {texts()['cue_texts']['a_little']}"


def cue_line(cues: Mapping[str, float] | None, most: int | None = None, typical: bool = True) -> str:
    """The measured cues on one line, strongest region first: "Brows: raised. Mouth: dropped open.".

    `most` keeps only that many of the strongest cues (a live card has room for one line);
    `typical` says the cues were measured against a typical relaxed face, not the person's own (`show_at`)."""
    words = texts()["cue_texts"]
    if cues is None:
        return words["no_mesh"]
    regions: dict[str, list[str]] = {}
    for name, value in _shown(cues, typical)[:most]:
        regions.setdefault(_cue_words(name)["region"], []).append(_state(name, value, typical))
    if not regions:
        return words["none"] if at_rest(cues, typical) else words["unclear"]
    return " ".join(f"{region}: {' and '.join(states)}." for region, states in regions.items())


def _clause(name: str) -> str:
    return _cue_words(name)["clause"]


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


CROWD_MAJORITY = 0.5
"""A reading at least this sure means most people would say it (the shown output is the crowd's vote shares): the
cues never say it "fits" another expression better there (issue 22: crying with its mouth stretched up is sad)."""


def _disagreement(emotion: str, cues: Mapping[str, float], typical: bool, confidence: float | None) -> str | None:
    """A sentence when the measured cues do not fit the label, or None."""
    words = texts()["cue_texts"]
    smile = cues.get("lip_corner_pull", 0.0) >= show_at("lip_corner_pull", typical)
    if emotion == "happy" and smile and cues.get("cheek_raise", 0.0) < 0.15:
        return words["polite_smile"]
    crowd_agrees = confidence is not None and confidence >= CROWD_MAJORITY
    for name, value in [] if crowd_agrees else _shown(cues, typical):
        if name not in FITS_OTHER_CUES or not _strong(name, value, typical) or name in goes_with(emotion):
            continue
        other = next((e for e in EMOTIONS if e != emotion and EMOTION_CUES[e][:1] == (name,)), None)
        if other is not None:
            return words["fits_other"].format(clause=_clause(name), other=_label(other), label=_label(emotion))
    if _signs_missing(emotion, cues, typical):
        return words["missing"].format(label=_label(emotion))
    return None


def _sign_missing(name: str, cues: Mapping[str, float], typical: bool = True) -> bool:
    """Whether one sign is missing on this face: Xface can measure it here and it is below MISSING_BELOW. A sign that
    moves but not enough to name is not missing: the words then say no clear sign, or nothing."""
    return math.isfinite(show_at(name, typical)) and cues.get(name, 0.0) < MISSING_BELOW


def _signs_missing(emotion: str, cues: Mapping[str, float], typical: bool = True) -> bool:
    """Whether the usual signs of `emotion` are missing on this face: every one Xface can measure (`_sign_missing`)."""
    measurable = [name for name in EMOTION_CUES[emotion] if math.isfinite(show_at(name, typical))]
    return bool(measurable) and all(_sign_missing(name, cues, typical) for name in measurable)


def _missing(emotion: str, cues: Mapping[str, float], typical: bool) -> str:
    """What to say when none of an expression's cues is named here: where to look, when some of them can't be
    measured on a photo at all; that they don't show, when they are missing; else that no sign is clear."""
    words = texts()["cue_texts"]
    unmeasured = [name for name in EMOTION_CUES[emotion] if not math.isfinite(show_at(name, typical))][:2]
    if unmeasured:
        return words["unmeasured"].format(clauses=_join([_clause(name) for name in unmeasured]))
    if _signs_missing(emotion, cues, typical):
        return words["missing"].format(label=_label(emotion))
    return words["contrast_unclear_of"].format(label=_label(emotion))


def _rest(answer: str, cues: Mapping[str, float], typical: bool) -> str:
    """The lesson for a face at rest: that nothing moves, only where that is so."""
    words = texts()["cue_texts"]
    return words["contrast_rest" if at_rest(cues, typical) else "contrast_unclear"].format(answer=_label(answer))


def face_doing(
    emotion: str, cues: Mapping[str, float] | None, typical: bool = True, confidence: float | None = None
) -> str:
    """ "What the face is doing" for this face: its measured cues, and a note when they disagree with the label.

    `typical`: the cues were measured against a typical relaxed face, not the person's own (`show_at`).
    `confidence`: how sure the reading is; from CROWD_MAJORITY up, no cue is said to fit another expression."""
    line = cue_line(cues, typical=typical)
    if cues is None:
        return line
    note = _disagreement(emotion, cues, typical, confidence)
    return f"{line} {note}" if note else line


def cue_contrast(answer: str, guess: str, cues: Mapping[str, float] | None, typical: bool = True) -> str:
    """The quiz's teaching sentence: the cues that carry ``answer`` here, and the one that tells it from ``guess``.

    E.g. "Sad and angry faces can both pull the brows down and together. Here the lip corners turn
    down: that points to sad." Only measured cues are named; when the answer's cues are absent the
    sentence says what the guess would have shown instead.
    """
    for name in (answer, guess):
        if name not in EMOTIONS:
            raise ValueError(f"unknown emotion name: {name!r}; expected one of {EMOTIONS}")
    words = texts()["cue_texts"]
    if not cues:
        if answer == guess:
            return words["contrast_no_cues"]
        return f"{words['contrast_no_cues']} {_pair_text(answer, guess)}"
    names = {"answer": _label(answer), "guess": _label(guess)}
    present = [n for n in EMOTION_CUES[answer] if cues.get(n, 0.0) >= show_at(n, typical)]
    present = sorted(present, key=lambda n: -float(cues[n]))[:3]
    if answer == guess:
        if not present:
            return _rest(answer, cues, typical) if answer == "neutral" else _missing(answer, cues, typical)
        return words["contrast_same"].format(clauses=_join([_clause(n) for n in present]), **names)
    sentences = []
    shared = [n for n in EMOTION_CUES[answer] if n in EMOTION_CUES[guess]]
    telling = [n for n in present if n not in EMOTION_CUES[guess]]
    if shared and shared[0] in present:
        sentences.append(
            words["contrast_shared"].format(
                Answer=names["answer"].capitalize(), guess=names["guess"], verb=_cue_words(shared[0])["verb"]
            )
        )
    if present:
        sentences.append(words["contrast_answer"].format(clauses=_join([_clause(n) for n in present]), **names))
    elif answer == "neutral":
        sentences.append(_rest(answer, cues, typical))
    else:
        sentences.append(_missing(answer, cues, typical))
    if telling and (len(sentences) > 1 or telling[0] != present[0]):
        sentences.append(words["contrast_tells"].format(clause=_clause(telling[0]), guess=names["guess"]))
    elif not telling:
        missing = [n for n in EMOTION_CUES[guess] if n not in EMOTION_CUES[answer] and _sign_missing(n, cues, typical)]
        if missing:
            sentences.append(words["contrast_lacks"].format(clause=_clause(missing[0]), guess=names["guess"]))
    return " ".join(sentences)


# --- the card and its "More" ------------------------------------------------------------------------

MORE_WORDS = 60
"""At most this many words under "More": people asked for fewer, truer words."""


def card_line(explanation: Explanation, cues: Mapping[str, float] | None, typical: bool = True) -> str:
    """The card's one line: the headline and the strongest measured cue that goes with the reading ("Looks happy.
    Mouth: corners pulled up.").

    Only a cue that goes with the expression read (`goes_with`; with the second choice too, when Xface can't tell)
    goes on the card: a line pairing "Looks angry" with a smile's lip corners would teach that anger pulls them up.
    A cue that speaks against the reading is named under "More", with what it means. Without a clear reading the
    line says only that: no cue is tied to an emotion it may not show. A neutral reading has no cue of its own; its
    sign is a face close to rest (`at_rest`), said only where that was measured."""
    if explanation.confidence < NO_READING_BELOW or cues is None:
        return f"{explanation.headline}."
    read = [explanation.emotion, *([explanation.second] if explanation.second else [])]
    fitting = {name for emotion in read for name in goes_with(emotion)}
    shown = [name for name in named_cues(cues, typical) if name in fitting]
    if not shown:
        if "neutral" in read and at_rest(cues, typical):
            return f"{explanation.headline}. {texts()['cue_texts']['card_rest']}"
        return f"{explanation.headline}."
    return f"{explanation.headline}. {cue_line({shown[0]: cues[shown[0]]}, typical=typical)}"


def more_text(explanation: Explanation, cues: Mapping[str, float] | None, typical: bool = True) -> str:
    """What "More" adds to the card, in at most MORE_WORDS words: how sure, what the face is doing, and the
    look-alike when Xface can't tell (else what the look often means)."""
    if explanation.confidence < NO_READING_BELOW:
        parts = [explanation.summary]
    else:
        doing = face_doing(explanation.emotion, cues, typical, explanation.confidence) if cues is not None else ""
        extra = _pair_text(explanation.emotion, explanation.second) if explanation.second else explanation.meaning
        parts = [explanation.summary, doing, extra]
    text = ""
    for part in parts:
        for sentence in _split_sentences(part):
            longer = f"{text} {sentence}".strip()
            if len(longer.split()) > MORE_WORDS:
                return text
            text = longer
    return text


def _split_sentences(text: str) -> list[str]:
    return [f"{s.strip()}." if not s.strip().endswith((".", "?", "!")) else s.strip() for s in text.split(". ") if s]
