"""The personal emotion journal: one SQLite file, owned by this module alone.

Everything Xface remembers lives here, so that it can be read, exported and deleted in one place:
live, quiz and mirror sessions, the per-second expression readings of a live session, quiz answers,
mirror-practice tries and check-ins (how the person felt, in their words and on the Mood Meter grid).
No image pixels are ever stored.

Why it is built this way:

* WAL mode, so the video thread can write while the page reads, and a killed process loses nothing
  that was committed (see ``_open``).
* One connection per ``Journal`` guarded by a lock, and every write in ``BEGIN IMMEDIATE``: threads
  sharing a Journal take turns, and other processes wait up to ``timeout`` seconds for the file
  instead of failing with "database is locked".
* The schema version is ``PRAGMA user_version`` and ``MIGRATIONS`` is the ordered list of steps
  from one version to the next, each in its own transaction, so an older file is upgraded in place
  with its rows kept. A file from a newer Xface, a damaged file or a file held by another program
  raises ``JournalError`` and is left untouched.
* Every SQLite failure leaves as a ``JournalError`` whose ``reason`` is a few plain words ("the disk
  is full"), so a page can say what happened instead of showing a traceback.
* Every row is checked by one function per table (``check_row``) before it is written, whether it
  comes from the app or from a restored export, so the journal never holds a value the pages can't show.
* Times are ISO-8601 UTC strings of one fixed width (``2025-01-31T09:15:00.000000+00:00``), so
  text comparison is time comparison. ``start``/``end`` filters take a ``datetime`` (naive means
  local time; ``start`` inclusive, ``end`` exclusive) or a ``date`` (local days, both inclusive).
* Deletes overwrite the deleted content (``secure_delete``) and empty the WAL, because deleting a
  private note should remove it from the disk, not only from the view.
* A session's summary is computed once, by ``end_session``, and stored with it, so listing sessions
  reads one row each.

Query methods return rows as dicts with JSON columns decoded (``summary`` dict, ``body`` list,
``correct`` bool or None); ``export`` returns rows exactly as stored. Export files, and restoring
them, live in ``xface.journal.files``.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time as clock
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import platformdirs
from sqlite_utils import Database

from xface.emotions import EMOTIONS
from xface.journal.feelings import BODY_PLACES, FEELINGS_WHEEL, core_of, place_of

__all__ = [
    "ANSWER_SOURCES",
    "FACE_SOURCES",
    "MAX_NOTE_CHARS",
    "MAX_OWN_WORDS_CHARS",
    "Journal",
    "JournalError",
    "MergeCounts",
    "Recorder",
    "SCHEMA_VERSION",
    "SESSION_KINDS",
    "TABLES",
    "VERDICTS",
    "check_row",
    "default_path",
]

TABLES: tuple[str, ...] = ("sessions", "observations", "quiz_answers", "mirror_results", "checkins")
"""Every table, parents first: the order to import in (and the reverse order to delete in)."""

SESSION_KINDS = ("live", "quiz", "mirror")
ANSWER_SOURCES = ("label", "model", "crowd")
"""Where a quiz answer came from: the photo's own label, the model's reading, or a crowd of annotators' votes."""
FACE_SOURCES = ("upload", "bank", "live")
"""Where a quiz face came from: the person's upload, the bundled practice bank, or the camera."""
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


def _iso(moment: datetime) -> str:
    """A fixed-width UTC string, so that comparing the text compares the times (naive means local)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _now() -> str:
    return _iso(datetime.now(UTC))


def _bound(value: date | datetime | None, *, end: bool) -> str | None:
    """A filter bound as stored text; a date means the local day, and an end date includes its day."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value + timedelta(days=1) if end else value, time())
    return _iso(value)


def _between(column: str, start: date | datetime | None, end: date | datetime | None) -> tuple[str | None, list]:
    """A ``rows_where`` clause for start <= column < end, either side optional."""
    clauses, args = [], []
    if (low := _bound(start, end=False)) is not None:
        clauses.append(f"{column} >= ?")
        args.append(low)
    if (high := _bound(end, end=True)) is not None:
        clauses.append(f"{column} < ?")
        args.append(high)
    return (" and ".join(clauses) or None), args


# --- schema -------------------------------------------------------------------------------------


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


MIGRATIONS: tuple[Callable[[Database], None], ...] = (
    _v1_tables,
    _v2_body_and_answer_source,
    _v3_mirror_and_verdicts,
    _v4_mood_meter,
)
"""MIGRATIONS[n] turns a version-n journal into version n+1 (version 0 is an empty file). Append only."""

SCHEMA_VERSION = len(MIGRATIONS)


# --- the journal --------------------------------------------------------------------------------


def _explain(error: sqlite3.Error, path: str) -> JournalError:
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


class MergeCounts(NamedTuple):
    """What a merge did: rows written, and rows skipped because the same row was already there."""

    restored: int
    already_there: int


class Journal:
    """The emotion journal in one SQLite file; safe to share between threads."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = BUSY_TIMEOUT_S) -> None:
        path = default_path() if path is None else path
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._lock = threading.RLock()
        try:
            conn = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False)
        except sqlite3.Error as error:
            raise _explain(error, self.path) from error
        try:
            self._db = Database(conn)
            self._open()
        except JournalError:
            conn.close()
            raise
        except sqlite3.Error as error:
            conn.close()
            raise _explain(error, self.path) from error

    def _open(self) -> None:
        # Read-only checks first: a file we must refuse is never written to.
        version = self._user_version()
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"{self.path} was written by a newer Xface (journal version {version}, this Xface knows "
                f"{SCHEMA_VERSION}); update Xface to open it. It was left untouched.",
                "the journal is from a newer Xface",
            )
        if version == 0 and self._db.table_names():
            raise JournalError(
                f"{self.path} is a SQLite database but not an Xface journal; it was left untouched.",
                "the file is not an Xface journal",
            )
        # A file damaged in the middle reads fine until a query reaches the bad page; checking every
        # page once here gives it the same clear message as a damaged header, before anything is shown.
        if version and self._db.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
            raise JournalError(
                f"{self.path} is damaged or is not an Xface journal; it was left untouched.",
                "the journal file is damaged",
            )
        self._db.enable_wal()
        # WAL + synchronous=NORMAL: COMMIT returns once the transaction is written (write(2)) to the
        # WAL, i.e. it is in the operating system's cache and survives this process being killed
        # (SIGKILL, crash). Only a power cut or OS crash can lose the last commits, and even then the
        # file stays consistent. FULL would add an fsync per commit for that case alone.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten with zeros, so a deleted note does not linger in the file.
        self._db.execute("PRAGMA secure_delete=ON")
        self._migrate()

    def _user_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        while True:
            with self._write() as db:
                # Read inside the write lock: two processes opening an old file migrate it once.
                version = self._user_version()
                if version >= SCHEMA_VERSION:
                    return
                MIGRATIONS[version](db)
                db.execute(f"PRAGMA user_version = {version + 1}")

    def _rollback(self) -> None:
        try:
            self._db.rollback()
        except sqlite3.Error:
            pass  # SQLite already rolled back (a full disk or I/O error ends the transaction itself)

    @contextmanager
    def _write(self) -> Iterator[Database]:
        """One write transaction; IMMEDIATE takes the write lock up front, so it waits instead of failing."""
        with self._lock:
            try:
                self._db.conn.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.conn.execute("COMMIT")
            except sqlite3.IntegrityError:
                self._rollback()
                raise
            except sqlite3.Error as error:
                self._rollback()
                raise _explain(error, self.path) from error
            except BaseException:
                self._rollback()
                raise

    @contextmanager
    def _read(self) -> Iterator[Database]:
        """A read transaction, so rows read from several tables belong to one moment."""
        with self._lock:
            try:
                self._db.conn.execute("BEGIN")
                try:
                    yield self._db
                finally:
                    self._rollback()
            except sqlite3.Error as error:
                raise _explain(error, self.path) from error

    def _rows(self, table: str, where: str | None, args: list) -> list[dict]:
        with self._read() as db:
            return list(db[table].rows_where(where, args, order_by="id"))

    def _forget(self) -> bool:
        """Move the WAL into the file and empty it, so deleted rows leave no copy behind.

        A connection still reading an older moment keeps the WAL alive: each try waits up to the
        busy timeout for it. Returns False when the WAL could not be emptied (the caller tells the person).
        """
        with self._lock:
            for attempt in range(CHECKPOINT_TRIES):
                try:
                    busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                except sqlite3.Error as error:
                    raise _explain(error, self.path) from error
                if not busy:
                    return True
                clock.sleep(0.1 * (attempt + 1))
            return False

    @staticmethod
    def _require_session(db: Database, session_id: int, kind: str | None = None) -> None:
        row = db.execute("select kind from sessions where id = ?", [session_id]).fetchone()
        if row is None:
            raise ValueError(f"There is no session {session_id} in the journal (it may have been deleted).")
        if kind is not None and row[0] != kind:
            raise ValueError(f"Session {session_id} is a {row[0]} session, not a {kind} session.")

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (the WAL is merged back and removed when the last connection closes)."""
        with self._lock:
            self._db.close()

    # --- sessions and what was seen ------------------------------------------------------------

    def start_session(self, kind: str) -> int:
        """Open a 'live', 'quiz' or 'mirror' session; its id ties observations, answers and results together."""
        record = check_row("sessions", {"kind": kind, "started_at": _now(), "ended_at": None, "summary": None})
        with self._write() as db:
            return db["sessions"].insert(record).last_pk

    def end_session(self, session_id: int, summary: dict | None = None) -> dict:
        """Mark the session finished now and store its summary, computed here from its rows; returns it.

        Live: ``duration_s``, ``observations``, ``faces``, ``emotion_share`` (each expression's share of
        the readings, which are one per face per second, so a share of time). Quiz: ``answers``,
        ``scored``, ``right``, ``shared``. Mirror: ``tries``, ``succeeded``. Keys of ``summary`` that
        the journal does not compute are kept beside them.
        """
        with self._write() as db:
            session = db.execute("select kind, started_at from sessions where id = ?", [session_id]).fetchone()
            if session is None:
                raise ValueError(f"There is no session {session_id} in the journal.")
            ended_at = _now()
            computed = _summary(db, session_id, session[0], session[1], ended_at)
            stored = {**(summary or {}), **computed}
            db["sessions"].update(session_id, {"ended_at": ended_at, "summary": json.dumps(stored)})
        return stored

    def add_observations(self, session_id: int, rows: Iterable[dict]) -> list[int]:
        """Store readings (t, face_id, probs, emotion[, at]) in one transaction; returns their ids in order."""
        now = _now()
        records = [check_row("observations", _observation_fields(session_id, row, now)) for row in rows]
        if not records:
            return []
        with self._write() as db:
            self._require_session(db, session_id)
            db["observations"].insert_all(records)
            # One statement holding the write lock: the new ids are consecutive up to the last one.
            last = db.execute("SELECT last_insert_rowid()").fetchone()[0]
        return list(range(last - len(records) + 1, last + 1))

    def add_quiz_answer(
        self,
        session_id: int,
        question: str,
        guess: str,
        answer: str | None,
        answer_source: str,
        model_emotion: str | None,
        model_confidence: float | None,
        face_source: str = "upload",
        verdict: str | None = None,
    ) -> int:
        """Store one quiz answer; ``correct`` follows from the verdict here, so the two can't disagree.

        Without a verdict, a guess equal to the answer is 'right' and any other is 'wrong'.
        """
        if verdict is None:
            verdict = "right" if guess == answer else "wrong"
        record = check_row(
            "quiz_answers",
            {
                "session_id": session_id,
                "at": _now(),
                "question": question,
                "guess": guess,
                "answer": answer,
                "answer_source": answer_source,
                "model_emotion": model_emotion,
                "model_confidence": model_confidence,
                "face_source": face_source,
                "verdict": verdict,
                "correct": _CORRECT.get(verdict),
            },
        )
        with self._write() as db:
            self._require_session(db, session_id)
            return db["quiz_answers"].insert(record).last_pk

    def add_mirror_result(
        self, session_id: int, target: str, succeeded: bool, seconds: float | None, best_confidence: float
    ) -> int:
        """Store one mirror-practice try: the expression asked for, whether the face showed it, and how fast.

        ``seconds`` is None when the try did not succeed (or was not timed); ``best_confidence`` is the
        highest probability the model gave ``target`` during the try.
        """
        record = check_row(
            "mirror_results",
            {
                "session_id": session_id,
                "at": _now(),
                "target": target,
                "succeeded": succeeded,
                "seconds": seconds,
                "best_confidence": best_confidence,
            },
        )
        with self._write() as db:
            self._require_session(db, session_id, kind="mirror")
            return db["mirror_results"].insert(record).last_pk

    def add_checkin(
        self,
        feeling: str | None,
        core: str | None,
        intensity: int,
        body: Iterable[str] = (),
        note: str = "",
        own_words: str = "",
        session_id: int | None = None,
        at: datetime | None = None,
        pleasantness: int | None = None,
        energy: int | None = None,
    ) -> int:
        """Store how the person feels. Invalid values raise ValueError before anything is written.

        Without ``own_words``, ``feeling`` must be a wheel word (or a core) belonging to ``core``; a
        missing core is taken from the feeling. With ``own_words`` the feeling is free, and the core
        may be left empty. ``note`` and ``own_words`` are stored exactly as given. ``pleasantness``
        and ``energy`` (-2..+2) place the feeling on the Mood Meter; left out, they are the wheel
        word's own place (a check-in in own words only then stays unplaced). ``at`` backdates it.
        """
        record = check_row(
            "checkins",
            {
                "at": _now() if at is None else _past(at),
                "session_id": session_id,
                "core": core,
                "feeling": feeling,
                "own_words": own_words,
                "intensity": intensity,
                "body": _body_text(body),
                "note": note,
                "pleasantness": pleasantness,
                "energy": energy,
            },
        )
        with self._write() as db:
            if session_id is not None:
                self._require_session(db, session_id)
            return db["checkins"].insert(record).last_pk

    def update_checkin(self, checkin_id: int, **fields: Any) -> dict:
        """Correct one check-in: any of the ``add_checkin`` fields (``at`` backdates it); returns the new row.

        The changed row is checked exactly like a new check-in. A new feeling word without a new
        place on the grid moves the check-in to that word's place.
        """
        allowed = {"feeling", "core", "intensity", "body", "note", "own_words", "at", "pleasantness", "energy"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"A check-in has no field(s) {', '.join(sorted(unknown))}.")
        with self._write() as db:
            rows = list(db["checkins"].rows_where("id = ?", [checkin_id]))
            if not rows:
                raise ValueError(f"There is no check-in {checkin_id} in the journal (it may have been deleted).")
            row = dict(rows[0])
            if ({"feeling", "core"} & set(fields)) and not ({"pleasantness", "energy"} & set(fields)):
                row["pleasantness"] = row["energy"] = None  # taken from the new word
            if "feeling" in fields and "core" not in fields:
                row["core"] = None  # taken from the new word
            if "at" in fields:
                fields["at"] = _past(fields["at"])
            if "body" in fields:
                fields["body"] = _body_text(fields["body"])
            record = check_row("checkins", {**row, **fields})
            db["checkins"].update(checkin_id, record)
        return self.checkin(checkin_id)

    def delete_checkin(self, checkin_id: int) -> bool:
        """Delete one check-in and wipe it from the disk; False when the WAL could not be emptied yet."""
        with self._write() as db:
            if not db["checkins"].count_where("id = ?", [checkin_id]):
                raise ValueError(f"There is no check-in {checkin_id} in the journal (it may have been deleted).")
            db["checkins"].delete_where("id = ?", [checkin_id])
        return self._forget()

    # --- reading back --------------------------------------------------------------------------

    def sessions(self, start: date | datetime | None = None, end: date | datetime | None = None) -> list[dict]:
        """Sessions that started in [start, end), oldest first, ``summary`` decoded (None while open)."""
        rows = self._rows("sessions", *_between("started_at", start, end))
        for row in rows:
            row["summary"] = None if row["summary"] is None else json.loads(row["summary"])
        return rows

    def session(self, session_id: int) -> dict:
        """One session, ``summary`` decoded; ValueError when there is no such session."""
        rows = self._rows("sessions", "id = ?", [session_id])
        if not rows:
            raise ValueError(f"There is no session {session_id} in the journal (it may have been deleted).")
        row = rows[0]
        row["summary"] = None if row["summary"] is None else json.loads(row["summary"])
        return row

    def observations(
        self,
        session_id: int | None = None,
        start: date | datetime | None = None,
        end: date | datetime | None = None,
    ) -> list[dict]:
        """Observations of one session (or all), within [start, end), oldest first."""
        where, args = _between("at", start, end)
        if session_id is not None:
            where = " and ".join(filter(None, ["session_id = ?", where]))
            args = [session_id, *args]
        return self._rows("observations", where, args)

    def quiz_answers(self, start: date | datetime | None = None, end: date | datetime | None = None) -> list[dict]:
        """Quiz answers within [start, end), oldest first, ``correct`` as a bool (None when unscored)."""
        rows = self._rows("quiz_answers", *_between("at", start, end))
        for row in rows:
            row["correct"] = None if row["correct"] is None else bool(row["correct"])
        return rows

    def mirror_results(self, start: date | datetime | None = None, end: date | datetime | None = None) -> list[dict]:
        """Mirror-practice tries within [start, end), oldest first, ``succeeded`` as a bool."""
        rows = self._rows("mirror_results", *_between("at", start, end))
        for row in rows:
            row["succeeded"] = bool(row["succeeded"])
        return rows

    def checkins(self, start: date | datetime | None = None, end: date | datetime | None = None) -> list[dict]:
        """Check-ins within [start, end), oldest first, ``body`` as a list of places."""
        rows = self._rows("checkins", *_between("at", start, end))
        for row in rows:
            row["body"] = json.loads(row["body"])
        return rows

    def checkin(self, checkin_id: int) -> dict:
        """One check-in, ``body`` as a list; ValueError when there is none with that id."""
        rows = self._rows("checkins", "id = ?", [checkin_id])
        if not rows:
            raise ValueError(f"There is no check-in {checkin_id} in the journal (it may have been deleted).")
        rows[0]["body"] = json.loads(rows[0]["body"])
        return rows[0]

    def confusion_counts(
        self, start: date | datetime | None = None, end: date | datetime | None = None
    ) -> dict[tuple[str, str], int]:
        """How often each (answer, guess) pair happened among scored answers; only pairs that occurred."""
        where, args = _between("at", start, end)
        sql = "select answer, guess, count(*) from quiz_answers where correct is not null"
        sql += f" and {where}" if where else ""
        with self._read() as db:
            rows = db.execute(sql + " group by answer, guess", args).fetchall()
        return {(answer, guess): count for answer, guess, count in rows}

    # --- export, merge, delete -----------------------------------------------------------------

    def columns(self, table: str) -> list[str]:
        """A table's columns in stored order (the CSV header, and what a restored row may hold)."""
        if table not in TABLES:
            raise ValueError(f"There is no table {table!r} in the journal.")
        with self._read() as db:
            return list(db[table].columns_dict)

    def export(self) -> dict[str, list[dict]]:
        """Every row of every table exactly as stored (JSON columns as text), read as one snapshot."""
        with self._read() as db:
            return {table: list(db[table].rows_where(order_by="id")) for table in TABLES}

    def merge(self, rows: dict[str, list[dict]], withheld: Iterable[str] = ()) -> MergeCounts:
        """Add rows (with their ids, already passed through ``check_row``) in one transaction: all or none.

        A row whose id is already there with the same content is skipped. One whose id is there with
        different content raises ValueError, and nothing is written. Parents come first (``TABLES``
        order), so a row can point at a session added by the same merge. ``withheld`` names columns
        ("quiz_answers.question") that the export left out: they are not compared.
        """
        restored = already_there = 0
        skip = set(withheld)
        with self._write() as db:
            for table in TABLES:
                incoming = rows.get(table) or []
                columns = [column for column in db[table].columns_dict if f"{table}.{column}" not in skip]
                stored: dict[int, dict] = {}
                for start in range(0, len(incoming), _MERGE_BATCH):  # a few queries, not one per row
                    ids = [row["id"] for row in incoming[start : start + _MERGE_BATCH]]
                    where = f"id in ({', '.join('?' * len(ids))})"
                    stored.update((row["id"], row) for row in db[table].rows_where(where, ids))
                new = []
                for row in incoming:
                    if row["id"] not in stored:
                        new.append(row)
                    elif _same(stored[row["id"]], row, columns):
                        already_there += 1
                    else:
                        raise ValueError(
                            f"The export's {_ROW_NAMES[table]} {row['id']} differs from the one in your journal "
                            "with the same number, so nothing was restored."
                        )
                if new:
                    db[table].insert_all(new, batch_size=_MERGE_BATCH)
                    restored += len(new)
        return MergeCounts(restored, already_there)

    def delete_session(self, session_id: int) -> bool:
        """Delete a session with its rows; its check-ins stay, unlinked. False when the WAL could not be emptied."""
        with self._write() as db:
            db.execute("update checkins set session_id = null where session_id = ?", [session_id])
            for table in ("observations", "quiz_answers", "mirror_results"):
                db[table].delete_where("session_id = ?", [session_id])
            db["sessions"].delete_where("id = ?", [session_id])
        return self._forget()

    def delete_all(self) -> bool:
        """Delete every row of every table (the empty schema stays); False when the WAL could not be emptied.

        While another connection is still reading, the old rows stay in the WAL: ``_forget`` waits for
        it and tries again, and a False return lets the page tell the person to close other windows.
        """
        with self._write() as db:
            for table in reversed(TABLES):
                db[table].delete_where()
        return self._forget()


_MERGE_BATCH = 500
"""Rows looked up or inserted per statement while merging (SQLite allows 32,766 parameters per statement)."""

_ROW_NAMES = {
    "sessions": "session",
    "observations": "reading",
    "quiz_answers": "quiz answer",
    "mirror_results": "mirror try",
    "checkins": "check-in",
}


def _same(stored: dict, row: dict, columns: list[str]) -> bool:
    """Whether a stored row and a checked row hold the same content (JSON columns compared decoded)."""
    for column in columns:
        left, right = stored.get(column), row.get(column)
        if column in ("summary", "body") and isinstance(left, str) and isinstance(right, str):
            left, right = json.loads(left), json.loads(right)
        if left != right:
            return False
    return True


def _summary(db: Database, session_id: int, kind: str, started_at: str, ended_at: str) -> dict:
    """What a session held, in a few numbers: read once when it ends (see ``Journal.end_session``)."""
    if kind == "quiz":
        answers, scored, right, shared = db.execute(
            "select count(*), count(correct), coalesce(sum(verdict = 'right'), 0), coalesce(sum(verdict = 'shared'), 0)"
            " from quiz_answers where session_id = ?",
            [session_id],
        ).fetchone()
        return {"answers": answers, "scored": scored, "right": right, "shared": shared}
    if kind == "mirror":
        tries, succeeded = db.execute(
            "select count(*), coalesce(sum(succeeded), 0) from mirror_results where session_id = ?", [session_id]
        ).fetchone()
        return {"tries": tries, "succeeded": succeeded}
    count, faces = db.execute(
        "select count(*), count(distinct face_id) from observations where session_id = ?", [session_id]
    ).fetchone()
    per_emotion = dict(
        db.execute(
            "select emotion, count(*) from observations where session_id = ? group by emotion", [session_id]
        ).fetchall()
    )
    duration = (datetime.fromisoformat(ended_at) - datetime.fromisoformat(started_at)).total_seconds()
    return {
        "duration_s": round(duration, 1),
        "observations": count,
        "faces": faces,
        "emotion_share": {e: round(n / count, 3) for e, n in sorted(per_emotion.items()) if count},
    }


# --- checking rows ------------------------------------------------------------------------------

_CORRECT = {"right": 1, "shared": 0, "wrong": 0}
"""``correct`` for each scored verdict; 'unscored' stores NULL."""


def _past(moment: datetime) -> str:
    """A check-in time as stored; a time in the future is refused (backdating is fine)."""
    if not isinstance(moment, datetime):
        raise ValueError(f"The time must be a date and time, not {moment!r}.")
    if moment.astimezone(UTC) > datetime.now(UTC) + timedelta(minutes=1):
        raise ValueError("A check-in can't be in the future.")
    return _iso(moment)


def _body_text(body: Iterable[str] | str) -> str:
    places = [body] if isinstance(body, str) else list(dict.fromkeys(body))
    return json.dumps(places)


def _observation_fields(session_id: int, row: dict, now: str) -> dict:
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
    return _iso(moment)


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
    if correct != _CORRECT.get(verdict):
        raise ValueError(f"'correct' must be {_CORRECT.get(verdict)} for a {verdict!r} answer, not {correct!r}.")
    return {
        "session_id": _whole("session number", row.get("session_id")),
        "at": _time("time", row.get("at")),
        "question": _text("question", row.get("question"), MAX_QUESTION_CHARS),
        "guess": guess,
        "answer": answer,
        "answer_source": row["answer_source"],
        "face_source": row["face_source"],
        "verdict": verdict,
        "correct": _CORRECT.get(verdict),
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
        raise ValueError(f"A {_ROW_NAMES[table]} must be a set of named values.")
    record = _CHECKS[table](row)
    if "id" in row:
        record = {"id": _whole(f"{_ROW_NAMES[table]} number", row["id"], 1, 2**62), **record}
    return record


class Recorder:
    """Writes a live session's readings, at most one row per face per ``interval`` seconds of stream time.

    Why: 30 readings a second are the same expression; one a second keeps months of use small
    and keeps the video thread's writes short. ``offer`` is called from the video-callback thread
    while the page uses the same Journal; the Journal's lock makes that safe. If the journal
    refuses a write (disk full, file read-only or held elsewhere, session deleted) recording stops
    at once and ``error`` says why, rather than breaking the video: what was written stays.
    """

    def __init__(self, journal: Journal, session_id: int, interval: float = 1.0) -> None:
        self.journal = journal
        self.session_id = session_id
        self.interval = interval
        self.written = 0
        self.faces: set[int] = set()
        self.error: Exception | None = None
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()

    def offer(self, t: float, readings: Iterable[Any]) -> int:
        """Consider readings (``face_id``, ``probs``, ``emotion``) taken at stream time ``t``; returns rows written."""
        with self._lock:
            if self.error is not None:
                return 0
            due = []
            for reading in readings:
                last = self._last.get(reading.face_id)
                # A jump back in t means the stream restarted: record again at once.
                if last is None or t < last or t - last >= self.interval - 1e-9:
                    self._last[reading.face_id] = t
                    due.append(
                        {"t": t, "face_id": reading.face_id, "probs": dict(reading.probs), "emotion": reading.emotion}
                    )
            if not due:
                return 0
            try:
                self.journal.add_observations(self.session_id, due)
            except (ValueError, JournalError) as error:
                self.error = error
                return 0
            self.written += len(due)
            self.faces.update(row["face_id"] for row in due)
            return len(due)
