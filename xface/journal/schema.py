"""The journal's file format: its tables, the migrations that build them, and what its failures mean.

The schema version is ``PRAGMA user_version`` and ``MIGRATIONS`` is the ordered list of steps from one version to
the next, each run in its own transaction by ``Journal``, so an older file is upgraded in place with its rows kept.
Times are stored as ISO-8601 UTC strings of one fixed width (``iso``), so comparing the text compares the times.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from xface.emotions import EMOTIONS
from xface.journal.feelings import RENAMED, place_of

if TYPE_CHECKING:  # sqlite-utils takes 0.6 s to import: the pages that only need JournalError skip it
    from sqlite_utils import Database

TABLES: tuple[str, ...] = ("sessions", "observations", "quiz_answers", "mirror_results", "checkins")
"""Every table, parents first: the order to import in (and the reverse order to delete in)."""

SESSION_KINDS = ("live", "quiz", "mirror", "guess", "clip")
"""'guess': guesses on live faces (guess first on the live page), apart from the photo quiz; its answers are
quiz_answers rows with face_source 'live', never scored (a live face has no label). 'clip': guesses at moments of a
video clip (the Watch page), stored as quiz answers with face_source 'clip'."""
ANSWER_SOURCES = ("label", "model", "crowd")
"""Where a quiz answer came from: the photo's own label, the model's reading, or a crowd of annotators' votes."""
FACE_SOURCES = ("upload", "bank", "live", "clip")
"""Where a quiz face came from: the person's upload, the bundled practice bank, the camera, or a video clip."""
VERDICTS = ("right", "shared", "wrong", "unscored")
"""How a guess was scored. 'shared': the guess is what a sizeable minority of the crowd saw, not the majority.
'unscored': practice without a score. ``correct`` is 1 for 'right', 0 for 'shared' and 'wrong', NULL for 'unscored',
so accuracy (right among scored answers) stays a plain mean of ``correct`` over the rows where it is not NULL."""
PROB_COLUMNS: dict[str, str] = {emotion: f"p_{emotion}" for emotion in EMOTIONS}
BUSY_TIMEOUT_S = 10.0
MAX_NOTE_CHARS = 2000
MAX_OWN_WORDS_CHARS = 200
MAX_QUESTION_CHARS = 1000
"""A quiz question is a photo's file name (and a face number): long enough for any real name."""
CHECKPOINT_TRIES = 3
"""Times a delete tries to empty the WAL (each waits up to the busy timeout for readers to finish)."""

ROW_NAMES = {
    "sessions": "session",
    "observations": "reading",
    "quiz_answers": "quiz answer",
    "mirror_results": "mirror try",
    "checkins": "check-in",
}
"""Each table's rows in words, for messages."""


class JournalError(Exception):
    """The journal file can't be used as it is (newer, damaged, held by another program, disk full).

    ``str(error)`` is one sentence for people; ``reason`` is the same cause in a few words
    ("the disk is full"), for sentences like "Recording stopped: the disk is full."
    """

    def __init__(self, message: str, reason: str = "the journal can't be used") -> None:
        super().__init__(message)
        self.reason = reason


def default_path() -> Path:
    """Where the journal lives: ``$XFACE_DB`` if set, else the platform's per-user data folder."""
    if os.environ.get("XFACE_DB"):
        return Path(os.environ["XFACE_DB"])
    return Path(platformdirs.user_data_dir("xface", appauthor=False)) / "journal.db"


def iso(moment: datetime) -> str:
    """A fixed-width UTC string, so that comparing the text compares the times (naive means local)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _v1_tables(db: Database) -> None:
    """Version 1: sessions, their observations and quiz answers, and check-ins."""
    db["sessions"].create(
        {"id": int, "kind": str, "started_at": str, "ended_at": str, "summary": str},
        pk="id",
        not_null=["kind", "started_at"],
    )
    db["observations"].create(
        {
            "id": int,
            "session_id": int,
            "t": float,
            "at": str,
            "face_id": int,
            **{column: float for column in PROB_COLUMNS.values()},
            "emotion": str,
        },
        pk="id",
        foreign_keys=[("session_id", "sessions", "id")],
        not_null=["session_id", "t", "at", "face_id", "emotion"],
    )
    db["quiz_answers"].create(
        {
            "id": int,
            "session_id": int,
            "at": str,
            "question": str,
            "guess": str,
            "answer": str,
            "model_emotion": str,
            "model_confidence": float,
            "correct": int,
        },
        pk="id",
        foreign_keys=[("session_id", "sessions", "id")],
        not_null=["session_id", "at", "question", "guess", "answer", "correct"],
    )
    db["checkins"].create(
        {
            "id": int,
            "at": str,
            "session_id": int,
            "core": str,
            "feeling": str,
            "own_words": str,
            "intensity": int,
            "note": str,
        },
        pk="id",
        foreign_keys=[("session_id", "sessions", "id")],
        not_null=["at", "intensity", "own_words", "note"],
        defaults={"own_words": "", "note": ""},
    )
    db["sessions"].create_index(["started_at"])
    db["observations"].create_index(["session_id"])
    db["observations"].create_index(["at"])
    db["quiz_answers"].create_index(["session_id"])
    db["quiz_answers"].create_index(["at"])
    db["checkins"].create_index(["session_id"])
    db["checkins"].create_index(["at"])


def _v2_body_and_answer_source(db: Database) -> None:
    """Version 2: where a feeling sits in the body, and whether a quiz answer came from a label or the model.

    Version 1 quizzes only used labelled photos, so its answers are marked 'label'.
    """
    db["checkins"].add_column("body", str, not_null_default="[]")
    db["quiz_answers"].add_column("answer_source", str, not_null_default="label")


def _v3_mirror_and_verdicts(db: Database) -> None:
    """Version 3: mirror practice results, where a quiz face came from, and how each answer was scored.

    Earlier answers were all scored against one answer, so their verdict follows ``correct``.
    An unscored answer may have no answer and no ``correct``, so both columns lose NOT NULL.
    """
    db["quiz_answers"].add_column("face_source", str, not_null_default="upload")
    db["quiz_answers"].add_column("verdict", str, not_null_default="wrong")
    db.execute("update quiz_answers set verdict = 'right' where correct = 1")
    db["quiz_answers"].transform(not_null={"answer": False, "correct": False})
    db["mirror_results"].create(
        {
            "id": int,
            "session_id": int,
            "at": str,
            "target": str,
            "succeeded": int,
            "seconds": float,
            "best_confidence": float,
        },
        pk="id",
        foreign_keys=[("session_id", "sessions", "id")],
        not_null=["session_id", "at", "target", "succeeded", "best_confidence"],
    )
    db["mirror_results"].create_index(["session_id"])
    db["mirror_results"].create_index(["at"])


def _v4_mood_meter(db: Database) -> None:
    """Version 4: where a check-in sits on the Mood Meter grid (pleasantness and energy, -2 to +2).

    Older check-ins take the place of their feeling word on the grid (or of its core feeling);
    check-ins in the person's own words only stay unplaced (NULL), because guessing would put
    words in their mouth.
    """
    db["checkins"].add_column("pleasantness", int)
    db["checkins"].add_column("energy", int)
    for row_id, feeling, core in db.execute("select id, feeling, core from checkins").fetchall():
        place = place_of(feeling) or place_of(core)
        if place is not None:
            db.execute(
                "update checkins set pleasantness = ?, energy = ? where id = ?",
                [place.pleasantness, place.energy, row_id],
            )


APPLICATION_ID = 0x58464A31
"""``PRAGMA application_id`` of an Xface journal ("XFJ1"): another program's SQLite file is never taken for one."""


def _v5_ids_never_reused(db: Database) -> None:
    """Version 5: a deleted row's id is never given to a new row (AUTOINCREMENT), and the file says it is Xface's.

    With plain integer keys SQLite hands the newest deleted id out again: an export then disagrees with the
    journal about which row "check-in 12" is, and a recording whose session was deleted could write into the
    next session. SQLite can't add AUTOINCREMENT to a table, so each table is rebuilt from its own definition
    (children pointing at the new sessions table, which takes the old name last) and its indexes made again.
    """
    created = dict(db.execute("select name, sql from sqlite_master where type = 'table'").fetchall())
    indexes = [sql for (sql,) in db.execute("select sql from sqlite_master where type = 'index' and sql is not null")]
    for table in TABLES:  # parents first: the new children point at the new sessions table
        sql, keys = re.subn(
            r'^(CREATE TABLE\s+)("?\[?\w+\]?"?)(.*?)(["\[]?id["\]]?\s+INTEGER\s+PRIMARY\s+KEY)',
            rf'\1"_new_{table}"\3\4 AUTOINCREMENT',
            created[table],
            count=1,
            flags=re.IGNORECASE | re.DOTALL,
        )
        if keys != 1:
            raise sqlite3.DatabaseError(f"unexpected definition of the {table} table")
        parent = r'REFERENCES\s+("sessions"|\[sessions\]|sessions\b)'
        sql = re.sub(parent, 'REFERENCES "_new_sessions"', sql, flags=re.IGNORECASE)
        db.execute(sql)
        db.execute(f'INSERT INTO "_new_{table}" SELECT * FROM "{table}"')
    for table in reversed(TABLES):  # children first: nothing points at a table when it goes
        db.execute(f'DROP TABLE "{table}"')
    for table in TABLES:  # renaming _new_sessions rewrites the children's references to "sessions"
        db.execute(f'ALTER TABLE "_new_{table}" RENAME TO "{table}"')
    for sql in indexes:
        db.execute(sql)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _v6_one_word_per_emotion(db: Database) -> None:
    """Version 6: check-ins say the wheel's words as they are now: "afraid" (the app's one word for the
    expression too) where an older Xface wrote "scared", so charts, timeline and exports say one word."""
    for old, new in RENAMED.items():
        db.execute("update checkins set core = ? where core = ?", [new, old])
        db.execute("update checkins set feeling = ? where feeling = ?", [new, old])


MIGRATIONS: tuple[Callable[[Database], None], ...] = (
    _v1_tables,
    _v2_body_and_answer_source,
    _v3_mirror_and_verdicts,
    _v4_mood_meter,
    _v5_ids_never_reused,
    _v6_one_word_per_emotion,
)
"""MIGRATIONS[n] turns a version-n journal into version n+1 (version 0 is an empty file). Append only."""

SCHEMA_VERSION = len(MIGRATIONS)

LAST_UNMARKED_VERSION = 4
"""Journals up to version 4 carry no application id: they are recognised by their tables."""
UNMARKED_TABLES = {
    1: {"sessions", "observations", "quiz_answers", "checkins"},
    3: {"sessions", "observations", "quiz_answers", "checkins", "mirror_results"},
}
"""The tables of an unmarked journal from version 1 (and 2), and from version 3 (and 4)."""


def is_unmarked_journal(db: Database, application_id: int, version: int) -> bool:
    """An empty file, or a journal from before version 5 (no application id): its tables and columns say so.

    Another program's SQLite file (any other application id, other tables) is not, whatever its user_version.
    """
    if application_id != 0 or version > LAST_UNMARKED_VERSION:
        return False
    tables = {name for name in db.table_names() if not name.startswith("sqlite_")}
    if version == 0:
        return not tables
    if tables != UNMARKED_TABLES[1 if version < 3 else 3]:
        return False
    first = {"sessions": {"id", "kind", "started_at", "ended_at", "summary"}, "checkins": {"id", "at", "intensity"}}
    first |= {table: {"id", "session_id", "at"} for table in tables - {"sessions", "checkins"}}
    return all(first[table] <= set(db[table].columns_dict) for table in tables)


def explain(error: sqlite3.Error, path: str) -> JournalError:
    """A SQLite failure as a JournalError people can act on, read from SQLite's error code (or its text)."""
    code = getattr(error, "sqlite_errorname", "") or ""
    text = str(error).lower()
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text or "busy" in text:
        reason = "another program is using the journal"
        message = f"The journal {path} is in use by another program; close it and try again."
    elif code.startswith("SQLITE_FULL") or "full" in text:
        reason = "the disk is full"
        message = f"The disk that holds the journal {path} is full. Free some space and try again."
    elif code.startswith("SQLITE_READONLY") or "readonly" in text:
        reason = "the journal file is read-only"
        message = f"The journal {path} can't be written to (it is read-only). Check the file's permissions."
    elif code.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        reason = "the journal file can't be opened"
        message = f"The journal {path} can't be opened. Check that its folder exists and may be written to."
    elif code.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "not a database" in text or "malformed" in text:
        reason = "the journal file is damaged"
        message = f"{path} is damaged or is not an Xface journal; it was left untouched."
    elif code.startswith("SQLITE_IOERR") or "disk i/o" in text:
        reason = "the disk could not read or write the journal"
        message = f"The disk could not read or write the journal {path}. It may be full, removed or read-only."
    else:
        reason = "the journal can't be used"
        message = f"The journal {path} can't be used: {error}."
    return JournalError(message, reason)
