"""Every row is checked by one function per table (``check_row``) before it is written, whether it comes from the
app or from a restored export, so the journal never holds a value the pages can't show."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from xface.emotions import EMOTIONS
from xface.journal.feelings import BODY_PLACES, FEELINGS_WHEEL, core_of, current_word, place_of
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
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
"""Stored times lie in [EARLIEST, LATEST): every platform can show them in local time (Windows' local time stops
at 1970 and 3000; Python's at years 1 and 9999, which a time zone east of UTC passes from 9999-12-31)."""
FUTURE_SLACK = timedelta(days=1)
"""Everything is written with the time it happened: a time later than this ahead of now is refused (a day of
slack for a computer whose clock was off when it made an export)."""
SUMMARY_COUNTS = {
    "live": ("observations", "faces"),
    "quiz": ("answers", "scored", "right", "shared", "asked", "correct"),
    "mirror": ("tries", "succeeded"),
    "guess": ("answers", "scored", "right", "shared"),
    "clip": ("answers", "scored", "right", "shared"),
}
"""The whole numbers ``Journal.end_session`` stores in each kind of session's summary ('asked' and 'correct':
quiz rounds before journal version 3, whose summaries the quiz page wrote, with per-emotion counts)."""
SUMMARY_REQUIRED = {"live": ("duration_s", "observations", "faces", "emotion_share")}
"""What an ended session's summary must hold: a live one is listed by its length and expressions."""
MAX_SUMMARY_KEYS = 20


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
        or not low <= value <= high  # before isfinite: an int past a float's range compares, but can't convert
        or not math.isfinite(value)
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
        shown = value[:40] if isinstance(value, str) else value
        raise ValueError(f"The {name} must be a date and time like 2025-01-31T09:15:00+00:00, not {shown!r}.") from None
    if moment.tzinfo is None:
        raise ValueError(f"The {name} must say its time zone (like +00:00), not {value!r}.")
    try:
        in_range = EARLIEST <= moment < LATEST  # compares the moments, whatever their time zones
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is past the last moment Python can hold in UTC
        in_range = False
    if not in_range:
        raise ValueError(f"The {name} must lie between the years 1970 and 3000, not {value!r}.")
    if moment > datetime.now(UTC) + FUTURE_SLACK:
        raise ValueError(f"The {name} can't be in the future ({value!r}).")
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
    except (TypeError, ValueError, RecursionError):
        raise ValueError(f"The {name} must be JSON text, not {str(value)[:40]!r}.") from None
    if not isinstance(decoded, kind):
        raise ValueError(f"The {name} must be a JSON {kind.__name__}, not {str(value)[:40]!r}.")
    return decoded


def _summary(kind: str, text: object) -> str:
    """A session's summary (JSON text) with exactly the kinds of values ``Journal.end_session`` stores."""
    summary = _json("summary", text, dict)
    missing = [key for key in SUMMARY_REQUIRED.get(kind, ()) if key not in summary]
    if missing:
        raise ValueError(f"The summary of a {kind} session must say its {', '.join(missing)}.")
    if len(summary) > MAX_SUMMARY_KEYS:
        raise ValueError(f"A session's summary holds at most {MAX_SUMMARY_KEYS} values.")
    for key, value in summary.items():
        if key == "duration_s":
            _number("summary's duration_s", value, 0.0, 1e7)
        elif key in SUMMARY_COUNTS.get(kind, ()):
            _whole(f"summary's {key}", value, 0, 2**62)
        elif key == "per_emotion" and kind == "quiz":  # before version 3: {"happy": {"asked": 2, "correct": 1}}
            if not isinstance(value, dict) or not all(isinstance(counts, dict) for counts in value.values()):
                raise ValueError("The summary's per_emotion must give counts for each emotion.")
            for emotion, counts in value.items():
                _emotion("summary's emotion", emotion)
                for name, count in counts.items():
                    _whole(f"summary's {str(name)[:20]} count for {emotion}", count, 0, 2**62)
        elif key == "emotion_share" and kind == "live":
            if not isinstance(value, dict):
                raise ValueError("The summary's emotion_share must name emotions with their shares.")
            for emotion, share in value.items():
                _emotion("summary's emotion", emotion)
                _number(f"summary's share of {emotion}", share, 0.0, 1.0)
        elif not (value is None or isinstance(value, bool | int | str) or _is_finite(value)) or (
            isinstance(value, str) and len(value) > MAX_OWN_WORDS_CHARS
        ):
            raise ValueError(f"The summary's {str(key)[:40]!r} must be a short text, a number or true/false.")
    return json.dumps(summary)


def _is_finite(value: object) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _check_session(row: dict) -> dict:
    kind = row.get("kind")
    if kind not in SESSION_KINDS:
        raise ValueError(f"A session is one of {', '.join(SESSION_KINDS)}, not {kind!r}.")
    summary = row.get("summary")
    started = _time("start time", row.get("started_at"))
    ended = _time("end time", row.get("ended_at"), optional=True)
    if ended is not None and ended < started:
        raise ValueError("A session can't end before it starts.")
    if summary is not None and ended is None:
        raise ValueError("Only a session that ended has a summary.")
    return {
        "kind": kind,
        "started_at": started,
        "ended_at": ended,
        "summary": None if summary is None else _summary(kind, summary),  # type: ignore[arg-type]
    }


def _check_observation(row: dict) -> dict:
    return {
        "session_id": _whole("session number", row.get("session_id")),
        "t": _number("time in the session", row.get("t"), 0.0, 1e7),
        "at": _time("time", row.get("at")),
        "face_id": _whole("face number", row.get("face_id"), 0, 2**62),  # SQLite holds 64-bit whole numbers
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
    feeling = current_word(feeling or "") or None  # an older export's "scared" is today's "afraid"
    core = current_word(core or "") or (core_of(feeling) if feeling else None)
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


def _stored_body(text: object) -> None:
    places = _json("body places", text, list)
    if not all(isinstance(place, str) for place in places):
        raise ValueError("The body places must be words.")


def _stored_time(value: object) -> None:
    """Like ``_time``, without making the stored text again: reads check many rows (a recording has thousands)."""
    try:
        moment = datetime.fromisoformat(value)  # type: ignore[arg-type]
        in_range = moment.tzinfo is not None and EARLIEST <= moment < LATEST
    except (TypeError, ValueError, OverflowError):
        in_range = False
    if not in_range:
        raise ValueError(f"The time {value!r} is not a date and time between the years 1970 and 3000.")


def _stored_observation(row: dict) -> None:
    _stored_time(row["at"])
    if row["emotion"] not in EMOTIONS or type(row["face_id"]) is not int or type(row["t"]) is not float:
        raise ValueError("The reading's emotion, face number or time in the session is not of its kind.")
    for column in _PROBABILITIES:
        value = row[column]
        if value is not None and not (type(value) is float and 0.0 <= value <= 1.0):
            raise ValueError("The reading's probabilities must be numbers from 0 to 1.")


_PROBABILITIES = tuple(PROB_COLUMNS.values())


def _one_of(name: str, value: object, allowed: tuple) -> None:
    if isinstance(value, bool) or value not in allowed:
        raise ValueError(f"The {name} must be one of {', '.join(map(str, allowed))}, not {value!r}.")


_STORED: dict[str, Callable[[dict], object]] = {
    "sessions": lambda row: _check_session(row),
    "observations": _stored_observation,
    "quiz_answers": lambda row: (
        _stored_time(row["at"]),
        _emotion("guess", row["guess"]),
        _emotion("answer", row["answer"], optional=True),
        _one_of("'correct'", row["correct"], (0, 1, None)),
        _text("question", row["question"], MAX_QUESTION_CHARS),
        _number("model confidence", row["model_confidence"], 0.0, 1.0, optional=True),
    ),
    "mirror_results": lambda row: (
        _stored_time(row["at"]),
        _emotion("target", row["target"]),
        _one_of("'succeeded'", row["succeeded"], (0, 1)),
        _number("seconds", row["seconds"], 0.0, 24 * 3600.0, optional=True),
        _number("best confidence", row["best_confidence"], 0.0, 1.0),
    ),
    "checkins": lambda row: (
        _stored_time(row["at"]),
        _one_of("intensity", row["intensity"], (1, 2, 3, 4, 5)),
        _stored_body(row["body"]),
        _one_of("pleasantness", row["pleasantness"], (-2, -1, 0, 1, 2, None)),
        _one_of("energy", row["energy"], (-2, -1, 0, 1, 2, None)),
        [_text(column, row[column], MAX_NOTE_CHARS) for column in ("note", "own_words")],
        [_text(column, row[column], MAX_NOTE_CHARS, optional=True) for column in ("feeling", "core")],
    ),
}


def check_stored(table: str, row: dict) -> None:
    """Raise ValueError when a stored row holds a value the pages can't show (a time out of range, a summary or
    body of the wrong shape, a number that is text). Looser than ``check_row``: rows older versions wrote stay."""
    try:
        _STORED[table](row)
    except (KeyError, TypeError) as error:
        raise ValueError(f"The {ROW_NAMES[table]} is incomplete ({error}).") from None


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
