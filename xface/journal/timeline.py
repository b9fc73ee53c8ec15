"""The journal in words: one line per session, a check-in's lines, times and durations as people read them.

Kept apart from the page so that every sentence the journal shows is tested, and so that the live page, the
journal page and the printable summary say a duration the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NamedTuple

from xface.emotions import emotion_word
from xface.journal.feelings import ENERGY, PLEASANTNESS


def local_time(at: str) -> str:
    """A stored UTC time as the person's local date and time: "Sat 05 Dec 2026, 14:03"."""
    return datetime.fromisoformat(at).astimezone().strftime("%a %d %b %Y, %H:%M")


def duration_words(seconds: float) -> str:
    """12 → "12 s", 185 → "3 min 5 s", 3600 → "60 min": never "0 min" for a short recording."""
    minutes, secs = divmod(round(max(seconds, 0.0)), 60)
    if not minutes:
        return f"{secs} s"
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


def live_summary_text(summary: dict) -> str:
    """What a saved live recording held, in two sentences (Markdown)."""
    shares = sorted(((share, e) for e, share in summary["emotion_share"].items() if share > 0), reverse=True)
    seen = ", ".join(f"{emotion_word(emotion)} {share:.0%}" for share, emotion in shares) or "no faces were recorded"
    faces = summary["faces"]
    return (
        f"You practised for **{duration_words(summary['duration_s'])}**. "
        f"{faces} face{'s' if faces != 1 else ''} seen. "
        f"Share of the time each expression was shown: {seen}."
    )


def session_line(session: dict) -> str:
    """One line per session (Markdown with an icon), from the summary stored when it ended."""
    summary = session["summary"] or {}
    started = local_time(session["started_at"])
    if session["kind"] == "quiz":
        scored, right = summary.get("scored", 0), summary.get("right", 0)
        done = f"{right} of {scored} faces read as their answer" if summary else "not finished"
        return f":material/photo_library: **Photo quiz** · {started} · {done}"
    if session["kind"] == "guess":
        answers = summary.get("answers", 0)
        done = f"{answers} guess{'es' if answers != 1 else ''} on live faces, not scored" if summary else "not finished"
        return f":material/videocam: **Live guesses** · {started} · {done}"
    if session["kind"] == "clip":
        scored, right = summary.get("scored", 0), summary.get("right", 0)
        done = f"{right} of {scored} moments read as Xface read them" if summary else "not finished"
        return f":material/movie: **Watch: guessing a clip's moments** · {started} · {done}"
    if session["kind"] == "mirror":
        tries, succeeded = summary.get("tries", 0), summary.get("succeeded", 0)
        done = f"{succeeded} of {tries} tries showed the asked face" if summary else "not finished"
        return f":material/face: **Mirror practice** · {started} · {done}"
    if not summary:
        return f":material/videocam: **Live practice** · {started} · not finished"
    shares = summary.get("emotion_share") or {}
    mostly = f"mostly {emotion_word(max(shares, key=shares.get))}" if shares else "no faces recorded"
    return f":material/videocam: **Live practice** · {started} · {duration_words(summary['duration_s'])} · {mostly}"


def checkin_lines(row: dict) -> list[str]:
    """A check-in as plain lines: its words, place on the grid and strength, then own words, body and note.

    These hold what the person wrote: the page shows them as plain text, never as Markdown."""
    words = " → ".join(part for part in dict.fromkeys((row["core"], row["feeling"])) if part)
    place = (
        f"{PLEASANTNESS[row['pleasantness']]}, {ENERGY[row['energy']]} energy"
        if row["pleasantness"] is not None
        else "not on the grid"
    )
    lines = [f"{words or 'In my own words'} · {place} · strength {row['intensity']} of 5"]
    if row["own_words"]:
        lines.append(f"In my own words: {row['own_words']}")
    if row["body"]:
        lines.append("Felt in: " + ", ".join(row["body"]))
    if row["note"]:
        lines.append(row["note"])
    return lines


class TimelineEntry(NamedTuple):
    """One entry of the journal's timeline: a session or a check-in, with the time it sorts by."""

    at: str
    kind: Literal["session", "checkin"]
    row: dict


def timeline_entries(sessions: list[dict], checkins: list[dict]) -> list[TimelineEntry]:
    """Sessions and check-ins together, newest first."""
    entries = [TimelineEntry(row["started_at"], "session", row) for row in sessions]
    entries += [TimelineEntry(row["at"], "checkin", row) for row in checkins]
    return sorted(entries, key=lambda entry: entry.at, reverse=True)
