"""Journal files: the export (a zip of CSVs for people and journal.json for restoring), the restore, and a
one-page summary to print or share.

Why it is built this way:

* The CSVs are for people, not for restoring: local times, rounded numbers, body places and session
  summaries as words. ``journal.json`` keeps every value exactly, so a restore brings back the same rows.
* Quiz photo names are often people's names, so the export leaves them out unless asked
  (``include_photo_names``); journal.json then says so, and a restore does not compare them.
* A restore is a merge: rows already in the journal (same id, same content) are skipped, missing
  ones are added. Every row is checked by ``journal.check_row``, exactly as a new entry is, and every
  row must point at a session in the same export, before anything is written; a single bad row
  refuses the whole file with a sentence saying which and why, and the journal stays as it was.
* The file and its rows are bounded (``MAX_IMPORT_BYTES``, ``MAX_RESTORE_ROWS``), so a crafted zip
  can't fill the memory; the size is checked while reading, not trusted from the zip's header. Whitespace
  is dropped as it is read (``MAX_JSON_BYTES`` bounds what is kept and parsed), so a small zip holding
  hundreds of megabytes of blanks costs no more memory than its content.
* CSV cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
  return) start with an apostrophe, so a note can't make the spreadsheet open links or run commands
  (OWASP "CSV injection"). journal.json keeps every value exactly.
* The summary is a self-contained HTML page (no scripts, no remote fonts or images), and every piece
  of journal text in it is escaped, so a note can't format, link or load anything.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import NamedTuple

from xface.emotions import EMOTIONS, emotion_word
from xface.journal.checks import check_row
from xface.journal.feelings import ENERGY, PLEASANTNESS
from xface.journal.schema import SCHEMA_VERSION, TABLES
from xface.journal.store import Journal
from xface.journal.timeline import duration_words
from xface.spreadsheet import spreadsheet_safe

__all__ = [
    "MAX_IMPORT_BYTES",
    "MAX_RESTORE_ROWS",
    "RestoreResult",
    "export_zip",
    "people_csv",
    "restore_zip",
    "summary_html",
]

FORMAT = "xface-journal"
MAX_IMPORT_BYTES = 256 * 1024 * 1024
"""Largest journal.json a restore reads (a year of daily 20-minute recordings is about 60 MB)."""
MAX_JSON_BYTES = 128 * 1024 * 1024
"""Most of journal.json kept for parsing once blanks are squeezed out (a year of recordings: about 40 MB)."""
READ_CHUNK_BYTES = 1024 * 1024
BLANKS_KEPT = 4096
_LONG_BLANKS = re.compile(rb" {%d,}" % (BLANKS_KEPT + 1))
"""Runs of spaces longer than any text a row may hold (MAX_NOTE_CHARS): blanks between values, or a text that is
refused anyway, so cutting them to BLANKS_KEPT changes no export that can be restored."""
MAX_RESTORE_ROWS = 600_000
"""Most rows one restore accepts, all tables together: about 1 GB of memory at the peak (measured: 300,000
rows took 580 MB), and room for a year of 20-minute daily recordings (one reading a second)."""
MAX_JSON_VALUES = 30 * MAX_RESTORE_ROWS
"""Most values journal.json may hold (a row has at most 20), counted before parsing by the commas, brackets and
braces that separate them: what parsing makes is bounded too, not only the text it reads."""
PHOTO_NAMES = "quiz_answers.question"
NOT_AN_EXPORT = "This file is not an Xface journal export (a zip holding journal.json)."


class RestoreResult(NamedTuple):
    restored: int
    already_there: int

    @property
    def message(self) -> str:
        """'Restored 12 entries, and 30 were already there.'"""
        entries = f"{self.restored} entr{'y' if self.restored == 1 else 'ies'}"
        there = f"{self.already_there} w{'as' if self.already_there == 1 else 'ere'} already there"
        return f"Restored {entries}, and {there}."


# --- export ------------------------------------------------------------------------------------


def _local(at: str | None) -> str:
    return "" if not at else datetime.fromisoformat(at).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _summary_words(text: str | None) -> str:
    """A stored session summary as short words: 'duration 5 min 3 s; faces 2; happy 60%, sad 40%'."""
    if not text:
        return ""
    summary = json.loads(text)
    parts = []
    for key, value in summary.items():
        if key == "duration_s":
            parts.append(f"duration {duration_words(value)}")
        elif isinstance(value, dict):
            shares = ", ".join(f"{name} {share:.0%}" for name, share in value.items() if isinstance(share, int | float))
            parts.append(f"{key.replace('_', ' ')}: {shares}" if shares else key.replace("_", " "))
        else:
            parts.append(f"{key.replace('_', ' ')} {value}")
    return "; ".join(parts)


def _as_text(value: object) -> str:
    """A BLOB another tool stored where Xface keeps text, as text (JSON has no bytes); anything else is a bug."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _people_value(column: str, value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return _as_text(value)
    if column in ("at", "started_at", "ended_at"):
        return _local(value)  # type: ignore[arg-type]
    if column == "body":
        return ", ".join(json.loads(value))  # type: ignore[arg-type]
    if column == "summary":
        return _summary_words(value)  # type: ignore[arg-type]
    if column in ("correct", "succeeded"):
        return "yes" if value else "no"
    if isinstance(value, float):
        return round(value, 1) if column in ("t", "seconds") else round(value, 2)
    return value


def _cell(column: str, value: object) -> object:
    """A value as people read it; one that can't be shown that way (a damaged row) is written as stored."""
    try:
        shown = _people_value(column, value)
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError):
        shown = str(value)
    return spreadsheet_safe(shown)


def people_csv(rows: list[dict], columns: list[str]) -> str:
    """One table as CSV for a spreadsheet: local times, rounded numbers, JSON columns as words, no formulas."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: _cell(column, row.get(column)) for column in columns})
    return text.getvalue()


def export_zip(journal: Journal, include_photo_names: bool = False) -> bytes:
    """One download: journal.json (every value, for restoring) and a CSV per table for people."""
    data = journal.export()
    withheld = [] if include_photo_names else [PHOTO_NAMES]
    if not include_photo_names:
        data["quiz_answers"] = [{**row, "question": None} for row in data["quiz_answers"]]
    payload = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "withheld": withheld, "tables": data}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("journal.json", json.dumps(payload, indent=1, ensure_ascii=False, default=_as_text))
        for table in TABLES:
            columns = journal.columns(table)
            if not include_photo_names and table == "quiz_answers":
                columns.remove("question")
            archive.writestr(f"{table}.csv", people_csv(data[table], columns))
    return buffer.getvalue()


# --- restore -----------------------------------------------------------------------------------


def _read_payload(data: bytes) -> dict:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entry = archive.getinfo("journal.json")
            if entry.file_size > MAX_IMPORT_BYTES:
                raise ValueError(_too_large(entry.file_size))
            with archive.open(entry) as stream:
                kept = _squeezed(stream)
            values = kept.count(b",") + kept.count(b"[") + kept.count(b"{")
            if values > MAX_JSON_VALUES:
                raise ValueError(
                    f"This export is too large to restore ({values:,} values; at most {MAX_JSON_VALUES:,}).",
                )
            payload = json.loads(kept)
            del kept
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        KeyError,
        EOFError,
        UnicodeDecodeError,
        ValueError,
        RecursionError,  # nested deeper than Python's parser goes
        NotImplementedError,  # a compression method zipfile can't read
        OSError,
    ) as error:
        if isinstance(error, ValueError) and str(error).startswith("This export is too large"):
            raise
        raise ValueError(NOT_AN_EXPORT) from None
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        tables, withheld = payload.get("tables"), payload.get("withheld") or []
    else:  # exports before journal version 3: the tables alone
        tables, withheld = payload, []
    if not isinstance(tables, dict) or not all(
        isinstance(rows, list) and all(isinstance(row, dict) for row in rows) for rows in tables.values()
    ):
        raise ValueError(NOT_AN_EXPORT)
    if not isinstance(withheld, list) or any(name != PHOTO_NAMES for name in withheld):  # no set: [[]] can't hash
        raise ValueError(NOT_AN_EXPORT)
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ValueError(f"Not an Xface export: unknown table(s) {', '.join(sorted(unknown))}.")
    return {"tables": tables, "withheld": withheld}


def _squeezed(stream: io.BufferedIOBase) -> bytearray:
    """journal.json read in chunks, without the blanks that can't be part of a value: line breaks and tabs
    (JSON escapes them inside text) and runs of spaces longer than any text a row may hold.

    Raises ValueError when the file, or what is kept of it, is larger than a restore reads.
    """
    kept = bytearray()
    total = trailing = 0  # bytes read; spaces at the end of what is kept
    while chunk := stream.read(READ_CHUNK_BYTES):  # the header's size may lie: count what comes
        total += len(chunk)
        if total > MAX_IMPORT_BYTES:
            raise ValueError(_too_large(total))
        piece = _LONG_BLANKS.sub(b" " * BLANKS_KEPT, chunk.translate(None, b"\n\r\t"))
        leading = len(piece) - len(piece.lstrip(b" "))
        excess = trailing + leading - BLANKS_KEPT  # a run of spaces going on from the chunk before
        if excess > 0:
            piece, leading = piece[excess:], leading - excess
        trailing = trailing + leading if leading == len(piece) else len(piece) - len(piece.rstrip(b" "))
        kept += piece
        if len(kept) > MAX_JSON_BYTES:
            raise ValueError(_too_large(total))
    return kept


def _too_large(size: int) -> str:
    return f"This export is too large to restore ({size / 1e6:.0f} MB; at most {MAX_IMPORT_BYTES / 1e6:.0f} MB)."


_NAMES = {
    "sessions": "session",
    "observations": "reading",
    "quiz_answers": "quiz answer",
    "mirror_results": "mirror try",
    "checkins": "check-in",
}


def checked_rows(journal: Journal, tables: dict[str, list[dict]], withheld: Iterable[str] = ()) -> dict[str, list]:
    """Every row of an export checked like a new entry, each pointing at a session in the same export.

    Raises ValueError naming the first rows that can't be restored, and why.
    """
    total = sum(len(rows) for rows in tables.values())
    if total > MAX_RESTORE_ROWS:
        raise ValueError(f"This export has {total:,} entries; one restore takes at most {MAX_RESTORE_ROWS:,}.")
    problems: list[str] = []
    checked: dict[str, list[dict]] = {}
    for table in TABLES:
        known = set(journal.columns(table))
        checked[table] = []
        for index, row in enumerate(tables.get(table) or []):
            label = f"{_NAMES[table]} {row.get('id', f'#{index + 1}')}"
            extra = set(row) - known
            if extra:
                problems.append(f"The {label} has unknown value(s) {', '.join(sorted(extra))}.")
                continue
            if "id" not in row:
                problems.append(f"The {label} has no number (id).")
                continue
            if table == "quiz_answers" and PHOTO_NAMES in withheld:
                row = {**row, "question": row.get("question") or ""}
            try:
                checked[table].append(check_row(table, row))
            except ValueError as error:
                problems.append(f"The {label}: {error}")
            if len(problems) >= 3:
                break
        if len(problems) >= 3:
            break
    for table in TABLES:
        seen: set[int] = set()
        for row in checked[table]:
            if row["id"] in seen and len(problems) < 3:
                problems.append(f"The export holds {_NAMES[table]} {row['id']} twice.")
            seen.add(row["id"])
    session_ids = {row["id"] for row in checked["sessions"]}
    for table in TABLES[1:]:
        for row in checked[table]:
            if row.get("session_id") is not None and row["session_id"] not in session_ids and len(problems) < 3:
                problems.append(
                    f"The {_NAMES[table]} {row['id']} points at session {row['session_id']}, "
                    "which is not in this export."
                )
    if problems:
        raise ValueError("Nothing was restored. " + " ".join(problems))
    return checked


def restore_zip(journal: Journal, data: bytes) -> RestoreResult:
    """Merge an ``export_zip`` download back into the journal: all of it, or nothing with a reason.

    Raises ValueError (a sentence for people) for anything that is not a clean export, and
    JournalError when the journal file itself can't be written.
    """
    payload = _read_payload(data)
    rows = checked_rows(journal, payload["tables"], payload["withheld"])
    counts = journal.merge(rows, withheld=payload["withheld"])
    return RestoreResult(counts.restored, counts.already_there)


# --- the one-page summary ----------------------------------------------------------------------

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #111; max-width: 46em; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.5em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.2em 0 .3em; }
table { border-collapse: collapse; } td, th { padding: 2px 6px; text-align: left; vertical-align: top; }
.cal td { width: 1.9em; height: 1.6em; text-align: center; font-size: 11px; border: 1px solid #fff; }
.muted { color: #555; } .rows td { border-top: 1px solid #ddd; }
@page { size: A4; margin: 12mm; } @media print { body { margin: 0; max-width: none; } }
"""

_PLEASANT_COLOURS = {-2: "#b2182b", -1: "#ef8a62", 0: "#e0e0e0", 1: "#67a9cf", 2: "#2166ac"}
"""Daily pleasantness, unpleasant (red) to pleasant (blue): a colour-blind-safe diverging scale."""


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summary_html(journal: Journal, start: date, end: date, include_notes: bool = False) -> str:
    """A one-page, printable HTML summary of [start, end] (local days) to keep or share with a therapist.

    Notes are left out unless asked for; every piece of journal text is escaped.
    """
    e = html.escape
    checkins = journal.checkins(start, end)
    sessions = journal.sessions(start, end)
    answers = [row for row in journal.quiz_answers(start, end) if row["correct"] is not None]
    tries = journal.mirror_results(start, end)
    placed = [row for row in checkins if row["pleasantness"] is not None]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>Xface journal summary {start} to {end}</title><style>{_CSS}</style></head><body>",
        f"<h1>My Xface journal: {start:%d %b %Y} to {end:%d %b %Y}</h1>",
        "<p class='muted'>Made by Xface on my own computer. Xface reads faces; it does not diagnose.</p>",
        "<h2>How I felt</h2>",
    ]
    if not checkins:
        parts.append("<p>No check-ins in these days.</p>")
    else:
        pleasant = _mean([row["pleasantness"] for row in placed])
        energy = _mean([row["energy"] for row in placed])
        parts.append(f"<p>{len(checkins)} check-in{'s' * (len(checkins) != 1)}.")
        if pleasant is not None and energy is not None:
            parts.append(
                f" On average: pleasantness {pleasant:+.1f} and energy {energy:+.1f}, on a scale from -2 to +2"
                f" ({len(placed)} check-ins placed on the grid)."
            )
        parts.append("</p>")
        words = Counter(row["feeling"] or "own words" for row in checkins).most_common(6)
        parts.append("<p>Words I used most: " + ", ".join(f"{e(word)} ({count})" for word, count in words) + ".</p>")
        parts.append(_calendar(placed))
        parts.append("<table class='rows'><tr><th>When</th><th>Feeling</th><th>Pleasant</th><th>Energy</th>")
        parts.append("<th>Strength</th><th>In the body</th></tr>")
        for row in checkins:
            feeling = " / ".join(e(part) for part in (row["feeling"], row["own_words"]) if part)
            parts.append(
                f"<tr><td>{e(_local(row['at'])[:16])}</td><td>{feeling}</td>"
                f"<td>{e(PLEASANTNESS.get(row['pleasantness'], '-'))}</td>"
                f"<td>{e(ENERGY.get(row['energy'], '-'))}</td><td>{row['intensity']} of 5</td>"
                f"<td>{e(', '.join(row['body']))}</td></tr>"
            )
            if include_notes and row["note"]:
                parts.append(f"<tr><td></td><td colspan='5' class='muted'>{e(row['note'])}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>Practice</h2><ul>")
    live = [row for row in sessions if row["kind"] == "live"]
    seconds = sum((row["summary"] or {}).get("duration_s", 0) for row in live)
    parts.append(f"<li>Live practice: {len(live)} session{'s' * (len(live) != 1)}, {duration_words(seconds)}.</li>")
    right = sum(row["correct"] for row in answers)
    if answers:
        parts.append(f"<li>Photo quiz: {right} of {len(answers)} faces read the same way as their answer.</li>")
        per = Counter(row["answer"] for row in answers)
        got = Counter(row["answer"] for row in answers if row["correct"])
        cells = ", ".join(
            f"{emotion_word(emotion)} {got[emotion]} of {per[emotion]}" for emotion in EMOTIONS if per[emotion]
        )
        parts.append(f"<li class='muted'>Per answer: {e(cells)}.</li>")
    else:
        parts.append("<li>Photo quiz: no scored answers.</li>")
    succeeded = sum(row["succeeded"] for row in tries)
    parts.append(
        f"<li>Mirror practice (my own face): {succeeded} of {len(tries)} tries showed the asked expression.</li>"
        if tries
        else "<li>Mirror practice (my own face): no tries.</li>"
    )
    parts.append("</ul></body></html>")
    return "".join(parts)


def _calendar(placed: list[dict]) -> str:
    """Days as coloured cells by mean pleasantness (a 'year in pixels' for the period), with the value written."""
    per_day: dict[date, list[int]] = {}
    for row in placed:
        day = datetime.fromisoformat(row["at"]).astimezone().date()
        per_day.setdefault(day, []).append(row["pleasantness"])
    if not per_day:
        return ""
    cells = []
    for day in sorted(per_day):
        mean = sum(per_day[day]) / len(per_day[day])
        colour = _PLEASANT_COLOURS[max(-2, min(2, round(mean)))]
        cells.append(f"<td style='background:{colour}' title='{day}'>{day:%d}<br>{mean:+.0f}</td>")
    rows = ["<tr>" + "".join(cells[i : i + 14]) + "</tr>" for i in range(0, len(cells), 14)]
    return "<p class='muted'>Each day's mean pleasantness (red unpleasant, blue pleasant):</p>" + (
        "<table class='cal'>" + "".join(rows) + "</table>"
    )
