"""Every row is checked by one function per table (``check_row``) before it is written, whether it comes from the
app or from a restored export, so the journal never holds a value the pages can't show."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from xface.emotions import EMOTIONS
from xface.journal.feelings import BODY_PLACES, FEELINGS_WHEEL, core_of, place_of
from xface.journal.schema import (
    ANSWER_SOURCES,
    FACE_SOURCES,
    MAX_NOTE_CHARS,
    MAX_OWN_WORDS_CHARS,
    MAX_QUESTION_CHARS,
    PROB_COLUMNS,
    ROW_NAMES,
    SESSION_KINDS,
    VERDICTS,
    iso,
)

CORRECT = {"right": 1, "shared": 0, "wrong": 0}
"""``correct`` for each scored verdict; 'unscored' stores NULL."""


def past(moment: datetime) -> str:
    """A check-in time as stored; a time in the future is refused (backdating is fine)."""
    if not isinstance(moment, datetime):
        raise ValueError(f"The time must be a date and time, not {moment!r}.")
    if moment.astimezone(UTC) > datetime.now(UTC) + timedelta(minutes=1):
        raise ValueError("A check-in can't be in the future.")
    return iso(moment)


def body_text(body: Iterable[str] | str) -> str:
    places = [body] if isinstance(body, str) else list(dict.fromkeys(body))
    return json.dumps(places)


def observation_fields(session_id: int, row: dict, now: str) -> dict:
    probs = row["probs"]
    unknown = set(probs) - set(EMOTIONS)
    if unknown:
        raise ValueError(f"Observations use the emotions {', '.join(EMOTIONS)}; got {sorted(unknown)}.")
    return {
        "session_id": session_id,
        "t": row["t"],
        "at": row.get("at") or now,
        "face_id": row["face_id"],
        **{column: probs.get(e) for e, column in PROB_COLUMNS.items()},
        "emotion": row["emotion"],
    }


def _whole(name: str, value: object, low: int | None = None, high: int | None = None) -> int:
    in_range = low is None or high is None or (isinstance(value, int) and low <= value <= high)
    if isinstance(value, bool) or not isinstance(value, int) or not in_range:
        span = f" from {low} to {high}" if low is not None else ""
        raise ValueError(f"The {name} must be a whole number{span}, not {value!r}.")
    return value


def _number(name: str, value: object, low: float, high: float, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ValueError(f"The {name} must be a number from {low:g} to {high:g}, not {value!r}.")
    return float(value)


def _text(name: str, value: object, limit: int, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"The {name} must be text of at most {limit} characters.")
    return value


def _time(name: str, value: object, *, optional: bool = False) -> str | None:
    """A stored time: ISO-8601 with a UTC offset, normalised to the fixed-width UTC form."""
    if value is None and optional:
        return None
    try:
        moment = datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"The {name} must be a date and time like 2025-01-31T09:15:00+00:00, not {value!r}.") from None
    if moment.tzinfo is None:
        raise ValueError(f"The {name} must say its time zone (like +00:00), not {value!r}.")
    return iso(moment)


def _emotion(name: str, value: object, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if value not in EMOTIONS:
        allowed = ", ".join(EMOTIONS) + (" or None" if optional else "")
        raise ValueError(f"The {name} must be one of {allowed}, not {value!r}.")
    return value  # type: ignore[return-value]


def _json(name: str, value: object, kind: type) -> Any:
    try:
        decoded = json.loads(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"The {name} must be JSON text, not {str(value)[:40]!r}.") from None
    if not isinstance(decoded, kind):
        raise ValueError(f"The {name} must be a JSON {kind.__name__}, not {str(value)[:40]!r}.")
    return decoded


def _check_session(row: dict) -> dict:
    if row.get("kind") not in SESSION_KINDS:
        raise ValueError(f"A session is one of {', '.join(SESSION_KINDS)}, not {row.get('kind')!r}.")
    summary = row.get("summary")
    return {
        "kind": row["kind"],
        "started_at": _time("start time", row.get("started_at")),
        "ended_at": _time("end time", row.get("ended_at"), optional=True),
        "summary": None if summary is None else json.dumps(_json("summary", summary, dict)),
    }


def _check_observation(row: dict) -> dict:
    return {
        "session_id": _whole("session number", row.get("session_id")),
        "t": _number("time in the session", row.get("t"), 0.0, 1e7),
        "at": _time("time", row.get("at")),
        "face_id": _whole("face number", row.get("face_id")),
        **{column: _number(column, row.get(column), 0.0, 1.0, optional=True) for column in PROB_COLUMNS.values()},
        "emotion": _emotion("emotion", row.get("emotion")),
    }


def _check_quiz_answer(row: dict) -> dict:
    # Answers from before version 3 were all scored against a label: the verdict follows 'correct'.
    row = {"answer_source": "label", "face_source": "upload", **row}
    row.setdefault("verdict", "right" if row.get("correct") else "wrong")
    verdict, guess, answer = row.get("verdict"), row.get("guess"), row.get("answer")
    if verdict not in VERDICTS:
        raise ValueError(f"The verdict is one of {', '.join(VERDICTS)}, not {verdict!r}.")
    _emotion("guess", guess)
    _emotion("answer", answer, optional=verdict == "unscored")
    if row.get("answer_source") not in ANSWER_SOURCES:
        raise ValueError(f"answer_source is one of {', '.join(ANSWER_SOURCES)}, not {row.get('answer_source')!r}.")
    if row.get("face_source") not in FACE_SOURCES:
        raise ValueError(f"face_source is one of {', '.join(FACE_SOURCES)}, not {row.get('face_source')!r}.")
    if verdict == "right" and guess != answer or verdict in ("shared", "wrong") and guess == answer:
        raise ValueError(f"A guess of {guess!r} for the answer {answer!r} can't be {verdict!r}.")
    if verdict == "shared" and row.get("answer_source") != "crowd":
        raise ValueError("Only an answer from a crowd's votes can be 'shared'.")
    correct = row.get("correct")
    if correct != CORRECT.get(verdict):
        raise ValueError(f"'correct' must be {CORRECT.get(verdict)} for a {verdict!r} answer, not {correct!r}.")
    return {
        "session_id": _whole("session number", row.get("session_id")),
        "at": _time("time", row.get("at")),
        "question": _text("question", row.get("question"), MAX_QUESTION_CHARS),
        "guess": guess,
        "answer": answer,
        "answer_source": row["answer_source"],
        "face_source": row["face_source"],
        "verdict": verdict,
        "correct": CORRECT.get(verdict),
        "model_emotion": _emotion("model emotion", row.get("model_emotion"), optional=True),
        "model_confidence": _number("model confidence", row.get("model_confidence"), 0.0, 1.0, optional=True),
    }


def _check_mirror_result(row: dict) -> dict:
    succeeded = row.get("succeeded")
    if succeeded not in (True, False) or not isinstance(succeeded, bool | int):
        raise ValueError(f"'succeeded' is true or false, not {succeeded!r}.")
    return {
        "session_id": _whole("session number", row.get("session_id")),
        "at": _time("time", row.get("at")),
        "target": _emotion("target", row.get("target")),
        "succeeded": int(succeeded),
        "seconds": _number("seconds", row.get("seconds"), 0.0, 24 * 3600.0, optional=True),
        "best_confidence": _number("best confidence", row.get("best_confidence"), 0.0, 1.0),
    }


def _check_checkin(row: dict) -> dict:
    own_words = _text("own words", row.get("own_words") or "", MAX_OWN_WORDS_CHARS)
    note = _text("note", row.get("note") or "", MAX_NOTE_CHARS)
    feeling = _text("feeling", row.get("feeling"), MAX_OWN_WORDS_CHARS, optional=True)
    core = _text("core feeling", row.get("core"), MAX_OWN_WORDS_CHARS, optional=True)
    feeling = (feeling or "").strip().lower() or None
    core = (core or "").strip().lower() or (core_of(feeling) if feeling else None)
    if core is not None and core not in FEELINGS_WHEEL:
        raise ValueError(f"{core!r} is not on the feelings wheel; the core feelings are {', '.join(FEELINGS_WHEEL)}.")
    if not own_words.strip():
        if feeling is None or core is None:
            raise ValueError("Choose a feeling from the wheel, or describe it in your own words.")
        if core_of(feeling) != core:
            raise ValueError(f"{feeling!r} is not one of the {core!r} words on the feelings wheel.")
    intensity = row.get("intensity")
    if isinstance(intensity, bool) or not isinstance(intensity, int) or not 1 <= intensity <= 5:
        raise ValueError(f"Intensity is a whole number from 1 (barely) to 5 (very strong), not {intensity!r}.")
    places = _json("body places", row.get("body", "[]"), list)
    unknown = [place for place in places if place not in BODY_PLACES]
    if unknown or len(places) != len(set(places)):
        raise ValueError(
            f"Unknown body place(s) {', '.join(map(repr, unknown))}; choose from {', '.join(BODY_PLACES)}."
        )
    pleasantness, energy = row.get("pleasantness"), row.get("energy")
    if pleasantness is None and energy is None:
        place = place_of(feeling) or place_of(core)
        pleasantness, energy = (place.pleasantness, place.energy) if place else (None, None)
    elif pleasantness is None or energy is None:
        raise ValueError("Give both pleasantness and energy, or neither.")
    else:
        _whole("pleasantness", pleasantness, -2, 2)
        _whole("energy", energy, -2, 2)
    session_id = row.get("session_id")
    return {
        "at": _time("time", row.get("at")),
        "session_id": None if session_id is None else _whole("session number", session_id),
        "core": core,
        "feeling": feeling,
        "own_words": own_words,
        "intensity": intensity,
        "body": json.dumps(places),
        "note": note,
        "pleasantness": pleasantness,
        "energy": energy,
    }


_CHECKS: dict[str, Callable[[dict], dict]] = {
    "sessions": _check_session,
    "observations": _check_observation,
    "quiz_answers": _check_quiz_answer,
    "mirror_results": _check_mirror_result,
    "checkins": _check_checkin,
}


def check_row(table: str, row: dict) -> dict:
    """A row as it will be stored, checked like every new entry; ValueError (a sentence) if it can't be.

    JSON columns (``summary``, ``body``) are given as JSON text, as ``export`` has them. An ``id``
    is kept when given (a restored row). Missing values that older versions did not have get the
    value a migration gives them.
    """
    if table not in _CHECKS:
        raise ValueError(f"There is no table {table!r} in the journal.")
    if not isinstance(row, dict):
        raise ValueError(f"A {ROW_NAMES[table]} must be a set of named values.")
    record = _CHECKS[table](row)
    if "id" in row:
        record = {"id": _whole(f"{ROW_NAMES[table]} number", row["id"], 1, 2**62), **record}
    return record
