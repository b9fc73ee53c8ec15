"""Practising on a clip: each face's readings over time, and the moments worth guessing.

A clip's rows (`xface.vision.video.frame_rows`: one per face per analysed frame) are read here without
Streamlit. A *moment* is where a face's reading changes and then holds clearly: the shown (held) label
stays the same for at least `HOLD_S` seconds, with a mean confidence of at least `CLEAR_AT` over that
stretch. The first clear stretch of each face is a moment too (nothing came before it). The frame shown
for a moment is the clearest one in the stretch's first `SETTLE_S` seconds: the change has happened and
the face shows it. Stretches that are not clear (a face between two expressions, a mixed reading) are
never asked about: the model's reading there is a guess itself.

What changed is measured, not guessed: the cues at the moment against the cues at the moment before
(the same face's previous clear stretch), named when a cue moved by at least `CUE_CHANGE`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from xface.emotions import EMOTIONS, emotion_word
from xface.teach.explain import cue_line, describe, texts

HOLD_S = 1.5
"""A new reading must hold this long to count as a change (the stream already holds labels for 4 frames)."""
CLEAR_AT = 0.55
"""The least mean confidence over the stretch: below it, people themselves would disagree about the face."""
SETTLE_S = 2.0
"""The moment's frame is the clearest within this many seconds after the change."""
GAP_S = 0.6
"""Rows of one face further apart than this (the face left, or was lost) start a new stretch."""
CUE_CHANGE = 0.2
"""A cue that moved by at least this much (on its 0-1 scale) since the moment before is named."""
MOST_MOMENTS = 8


@dataclass(frozen=True)
class Moment:
    """A point in the clip to guess: one face, its reading there, and the moment before (if any)."""

    face_id: int
    time: float
    frame: int
    emotion: str
    """The reading shown at that frame (the held label)."""
    confidence: float
    probs: dict[str, float]
    cues: dict[str, float] | None
    cues_against_typical: bool
    box: tuple[float, float, float, float]
    landmarks: list[list[float]]
    before: Moment | None = None
    """The same face's previous moment (None for the first)."""


@dataclass(frozen=True)
class CueChange:
    name: str
    before: float
    after: float


def face_rows(rows: Iterable[Mapping]) -> dict[int, list[Mapping]]:
    """Each face's rows in time order (rows without a face id, or with an error, are left out)."""
    faces: dict[int, list[Mapping]] = {}
    for row in rows:
        if "error" not in row and row.get("face_id") is not None:
            faces.setdefault(int(row["face_id"]), []).append(row)
    for series in faces.values():
        series.sort(key=lambda row: row["time"])
    return faces


def _stretches(series: Sequence[Mapping]) -> list[list[Mapping]]:
    """Runs of one face's rows with the same shown label and no gap."""
    runs: list[list[Mapping]] = []
    for row in series:
        last = runs[-1][-1] if runs else None
        if last is None or last["emotion"] != row["emotion"] or row["time"] - last["time"] > GAP_S:
            runs.append([row])
        else:
            runs[-1].append(row)
    return runs


def _moment(row: Mapping, before: Moment | None) -> Moment:
    return Moment(
        face_id=int(row["face_id"]),
        time=float(row["time"]),
        frame=int(row["frame"]),
        emotion=row["emotion"],
        confidence=float(row["confidence"]),
        probs=dict(row["probs"]),
        cues=dict(row["cues"]) if row.get("cues") else None,
        cues_against_typical=bool(row.get("cues_against_typical", True)),
        box=tuple(row["box"]),
        landmarks=[list(point) for point in row["landmarks"]],
        before=before,
    )


def choose_moments(rows: Iterable[Mapping], most: int = MOST_MOMENTS) -> list[Moment]:
    """The moments where a face's reading changes and holds clearly, in clip order (at most `most`)."""
    moments: list[Moment] = []
    for series in face_rows(rows).values():
        before: Moment | None = None
        for run in _stretches(series):
            lasted = run[-1]["time"] - run[0]["time"]
            clear = sum(float(row["confidence"]) for row in run) / len(run) >= CLEAR_AT
            if lasted < HOLD_S or not clear or (before is not None and before.emotion == run[0]["emotion"]):
                continue
            settled = [row for row in run if row["time"] - run[0]["time"] <= SETTLE_S]
            before = _moment(max(settled, key=lambda row: float(row["confidence"])), before)
            moments.append(before)
    moments.sort(key=lambda moment: moment.time)
    return moments[:most]


def cue_changes(moment: Moment) -> list[CueChange]:
    """The cues that moved by at least `CUE_CHANGE` since the moment before, biggest change first."""
    if moment.before is None or not moment.cues or not moment.before.cues:
        return []
    changes = [
        CueChange(name, float(moment.before.cues.get(name, 0.0)), float(value))
        for name, value in moment.cues.items()
        if abs(float(value) - float(moment.before.cues.get(name, 0.0))) >= CUE_CHANGE
    ]
    return sorted(changes, key=lambda change: -abs(change.after - change.before))


def changes_sentence(moment: Moment, clock: str) -> str:
    """What the face did since the moment before, in words: "Since 0:03.0: now the lip corners pull up. These went
    away: the brows pull down."."""
    if moment.before is None:
        return "This is the first clear moment of this face, so there is nothing before it to compare with."
    changes = cue_changes(moment)
    if not changes:
        return f"Since {clock}, no part of the face moved much: the difference is subtle."
    cues = texts()["cues"]
    started = [cues[c.name]["clause"] for c in changes if c.after > c.before]
    stopped = [cues[c.name]["clause"] for c in changes if c.after < c.before]
    if not started:
        return f"Since {clock}, these went away: {_join(stopped)}."
    sentence = f"Since {clock}: now {_join(started)}."
    return f"{sentence} These went away: {_join(stopped)}." if stopped else sentence


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def people_would_read(probs: Mapping[str, float]) -> str:
    """The crowd output in words: of 10 people, how many would read each expression (those of 1 in 10 or more)."""
    shares = sorted(((float(p), name) for name, p in probs.items() if name in EMOTIONS), reverse=True)
    named = [f"{round(10 * p)} {emotion_word(name)}" for p, name in shares if round(10 * p) >= 1]
    if not named:
        return "People would not agree on this face."
    return f"Of 10 people, about {_join(named)}."


def verdict(moment: Moment) -> str | None:
    """How a guess is scored, as the quiz scores Xface's own reading: "unscored" unless the reading is clear
    (None: right or wrong by the guess)."""
    return None if describe(moment.probs, top=moment.emotion).band == "clear" else "unscored"


def strongest_cues(cues: Mapping[str, float] | None, typical: bool, most: int = 2) -> str:
    """The strongest measured cues on one line, for the timeline's tooltips."""
    return cue_line(cues, most=most, typical=typical)


def timeline_rows(rows: Iterable[Mapping]) -> list[dict]:
    """One flat record per face per analysed frame, for the timeline chart and the CSV export's preview."""
    records = []
    for face_id, series in sorted(face_rows(rows).items()):
        for row in series:
            records.append(
                {
                    "face": f"Face {face_id}",
                    "time": float(row["time"]),
                    "frame": int(row["frame"]),
                    "reading": emotion_word(row["emotion"]),
                    "confidence": float(row["confidence"]),
                    "cues": strongest_cues(row.get("cues"), bool(row.get("cues_against_typical", True))),
                }
            )
    return records
