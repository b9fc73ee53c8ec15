"""The personal emotion journal: one SQLite file, owned by this module alone.

Everything Xface remembers lives here, so that it can be read, exported and deleted in one place:
live, quiz and mirror sessions, the per-second expression readings of a live session, quiz answers,
mirror-practice tries and
check-ins (how the person felt, in their words). No image pixels are ever stored.

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
* Times are ISO-8601 UTC strings of one fixed width (``2025-01-31T09:15:00.000000+00:00``), so
  text comparison is time comparison. ``start``/``end`` filters take a ``datetime`` (naive means
  local time; ``start`` inclusive, ``end`` exclusive) or a ``date`` (local days, both inclusive).
* Deletes overwrite the deleted content (``secure_delete``) and empty the WAL, because deleting a
  private note should remove it from the disk, not only from the view.

Query methods return rows as dicts with JSON columns decoded (``summary`` dict, ``body`` list,
``correct`` bool); ``export`` returns rows exactly as stored, so an export can be imported again.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from numbers import Integral
from pathlib import Path
from typing import Any

import platformdirs
from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from xface.emotions import EMOTIONS
from xface.feelings import BODY_PLACES, FEELINGS_WHEEL, core_of

__all__ = [
    "ANSWER_SOURCES",
    "FACE_SOURCES",
    "Journal",
    "JournalError",
    "Recorder",
    "SCHEMA_VERSION",
    "SESSION_KINDS",
    "TABLES",
    "VERDICTS",
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
MAX_IMPORT_BYTES = 512 * 1024 * 1024
"""Largest journal.json accepted for import: years of daily practice are far smaller."""


class JournalError(Exception):
    """The journal file can't be used as it is (newer, damaged, held by another program); one-line message."""


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


MIGRATIONS: tuple[Callable[[Database], None], ...] = (_v1_tables, _v2_body_and_answer_source, _v3_mirror_and_verdicts)
"""MIGRATIONS[n] turns a version-n journal into version n+1 (version 0 is an empty file). Append only."""

SCHEMA_VERSION = len(MIGRATIONS)


# --- the journal --------------------------------------------------------------------------------


def _explain(error: sqlite3.Error, path: str) -> str:
    text = str(error)
    if "locked" in text or "busy" in text:
        return f"The journal {path} is in use by another program; close it and try again."
    if isinstance(error, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return f"{path} is damaged or is not an Xface journal; it was left untouched."
    return f"The journal {path} can't be used: {text}."


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
            raise JournalError(_explain(error, self.path)) from error
        try:
            self._db = Database(conn)
            self._open()
        except JournalError:
            conn.close()
            raise
        except sqlite3.Error as error:
            conn.close()
            raise JournalError(_explain(error, self.path)) from error

    def _open(self) -> None:
        # Read-only checks first: a file we must refuse is never written to.
        version = self._user_version()
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"{self.path} was written by a newer Xface (journal version {version}, this Xface knows "
                f"{SCHEMA_VERSION}); update Xface to open it. It was left untouched."
            )
        if version == 0 and self._db.table_names():
            raise JournalError(f"{self.path} is a SQLite database but not an Xface journal; it was left untouched.")
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

    @contextmanager
    def _write(self) -> Iterator[Database]:
        """One write transaction; IMMEDIATE takes the write lock up front, so it waits instead of failing."""
        with self._lock:
            try:
                self._db.conn.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.conn.execute("COMMIT")
            except sqlite3.OperationalError as error:
                self._db.rollback()
                if "locked" in str(error) or "busy" in str(error):
                    raise JournalError(_explain(error, self.path)) from error
                raise
            except BaseException:
                self._db.rollback()
                raise

    @contextmanager
    def _snapshot(self) -> Iterator[Database]:
        """A read transaction, so rows read from several tables belong to one moment."""
        with self._lock:
            self._db.conn.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.rollback()

    def _rows(self, table: str, where: str | None, args: list) -> list[dict]:
        with self._lock:
            return list(self._db[table].rows_where(where, args, order_by="id"))

    def _forget(self) -> None:
        """Move the WAL into the file and empty it, so deleted rows leave no copy behind."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

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
        if kind not in SESSION_KINDS:
            raise ValueError(f"A session is 'live', 'quiz' or 'mirror', not {kind!r}.")
        with self._write() as db:
            return db["sessions"].insert({"kind": kind, "started_at": _now()}).last_pk

    def end_session(self, session_id: int, summary: dict | None = None) -> None:
        """Mark the session finished now, keeping an optional summary (stored as JSON)."""
        text = None if summary is None else json.dumps(summary)
        with self._write() as db:
            try:
                db["sessions"].update(session_id, {"ended_at": _now(), "summary": text})
            except NotFoundError:
                raise ValueError(f"There is no session {session_id} in the journal.") from None

    def add_observations(self, session_id: int, rows: Iterable[dict]) -> list[int]:
        """Store readings (t, face_id, probs, emotion[, at]) in one transaction; returns their ids in order."""
        now = _now()
        records = [_observation_record(session_id, row, now) for row in rows]
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
        record = _quiz_answer_record(
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
                "correct": _CORRECT[verdict] if verdict in _CORRECT else None,
            }
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
        record = _mirror_result_record(
            {
                "session_id": session_id,
                "at": _now(),
                "target": target,
                "succeeded": succeeded,
                "seconds": seconds,
                "best_confidence": best_confidence,
            }
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
    ) -> int:
        """Store how the person feels. Invalid values raise ValueError before anything is written.

        Without ``own_words``, ``feeling`` must be a wheel word (or a core) belonging to ``core``; a
        missing core is taken from the feeling. With ``own_words`` the feeling is free, and the core
        may be left empty. ``note`` and ``own_words`` are stored exactly as given.
        """
        record = _checkin_record(feeling, core, intensity, body, note, own_words, session_id, at)
        with self._write() as db:
            if session_id is not None:
                self._require_session(db, session_id)
            return db["checkins"].insert(record).last_pk

    # --- reading back --------------------------------------------------------------------------

    def sessions(self, start: date | datetime | None = None, end: date | datetime | None = None) -> list[dict]:
        """Sessions that started in [start, end), oldest first, ``summary`` decoded."""
        rows = self._rows("sessions", *_between("started_at", start, end))
        for row in rows:
            row["summary"] = None if row["summary"] is None else json.loads(row["summary"])
        return rows

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

    def session_summary(self, session_id: int) -> dict:
        """Duration, observation count, faces seen and each emotion's share of the session's observations.

        The recorder writes one observation per face per second, so a share of observations is a
        share of time. Duration is end minus start, or up to the last observation while still open.
        """
        with self._snapshot() as db:
            try:
                session = db["sessions"].get(session_id)
            except NotFoundError:
                raise ValueError(f"There is no session {session_id} in the journal.") from None
            count, faces, last_t = db.execute(
                "select count(*), count(distinct face_id), max(t) from observations where session_id = ?",
                [session_id],
            ).fetchone()
            per_emotion = dict(
                db.execute(
                    "select emotion, count(*) from observations where session_id = ? group by emotion", [session_id]
                ).fetchall()
            )
        if session["ended_at"]:
            started = datetime.fromisoformat(session["started_at"])
            duration = (datetime.fromisoformat(session["ended_at"]) - started).total_seconds()
        else:
            duration = float(last_t or 0.0)
        return {
            "session_id": session_id,
            "kind": session["kind"],
            "started_at": session["started_at"],
            "ended_at": session["ended_at"],
            "duration_s": duration,
            "observations": count,
            "faces": faces,
            "emotion_share": {emotion: (per_emotion.get(emotion, 0) / count if count else 0.0) for emotion in EMOTIONS},
        }

    def confusion_counts(
        self, start: date | datetime | None = None, end: date | datetime | None = None
    ) -> dict[tuple[str, str], int]:
        """How often each (answer, guess) pair happened; only pairs that occurred, the diagonal included."""
        where, args = _between("at", start, end)
        sql = "select answer, guess, count(*) from quiz_answers"
        sql += f" where {where}" if where else ""
        with self._lock:
            rows = self._db.execute(sql + " group by answer, guess", args).fetchall()
        return {(answer, guess): count for answer, guess, count in rows}

    # --- export, import, delete ----------------------------------------------------------------

    def export(self) -> dict[str, list[dict]]:
        """Every row of every table exactly as stored (JSON columns as text), read as one snapshot."""
        with self._snapshot() as db:
            return {table: list(db[table].rows_where(order_by="id")) for table in TABLES}

    def export_json(self) -> str:
        """The export as JSON text: what ``import_export(json.loads(text))`` restores."""
        return json.dumps(self.export(), indent=1, ensure_ascii=False)

    def export_zip(self) -> bytes:
        """One download: journal.json plus one CSV per table (with a header even when empty)."""
        with self._snapshot() as db:
            data = {table: list(db[table].rows_where(order_by="id")) for table in TABLES}
            columns = {table: [column.name for column in db[table].columns] for table in TABLES}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("journal.json", json.dumps(data, indent=1, ensure_ascii=False))
            for table, rows in data.items():
                text = io.StringIO()
                writer = csv.DictWriter(text, fieldnames=columns[table])
                writer.writeheader()
                writer.writerows(rows)
                archive.writestr(f"{table}.csv", text.getvalue())
        return buffer.getvalue()

    def import_export(self, data: dict[str, list[dict]]) -> None:
        """Restore rows from ``export()`` (ids included) in one transaction: all of them or none.

        Rows from an older export get the defaults of columns added since. Unknown tables or
        columns, and ids already in this journal, raise ValueError.
        """
        unknown = set(data) - set(TABLES)
        if unknown:
            raise ValueError(f"Not an Xface export: unknown table(s) {', '.join(sorted(unknown))}.")
        with self._write() as db:
            for table in TABLES:
                rows = data.get(table) or []
                if not rows:
                    continue
                if table == "quiz_answers":  # exports before version 3 have no verdict: it follows 'correct'
                    rows = [{"verdict": "right" if row.get("correct") else "wrong", **row} for row in rows]
                extra = set().union(*rows) - set(db[table].columns_dict)
                if extra:
                    raise ValueError(f"Not an Xface export: {table} has unknown column(s) {', '.join(sorted(extra))}.")
                try:
                    db[table].insert_all(rows)
                except sqlite3.IntegrityError as error:
                    raise ValueError(
                        f"These {table} rows can't be imported ({error}); import into an empty journal."
                    ) from error

    def import_zip(self, data: bytes) -> dict[str, int]:
        """Restore an ``export_zip()`` download (its journal.json); returns the rows restored per table.

        Anything that is not such a zip raises ValueError with a message for people, and changes nothing.
        """
        not_an_export = "This file is not an Xface journal export (a zip holding journal.json)."
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                entry = archive.getinfo("journal.json")
                if entry.file_size > MAX_IMPORT_BYTES:
                    raise ValueError(f"journal.json is too large to import ({entry.file_size / 1e6:.0f} MB).")
                payload = json.loads(archive.read(entry).decode("utf-8"))
        except (zipfile.BadZipFile, KeyError, EOFError, UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError(not_an_export) from None
        if not isinstance(payload, dict) or not all(
            isinstance(rows, list) and all(isinstance(row, dict) for row in rows) for rows in payload.values()
        ):
            raise ValueError(not_an_export)
        self.import_export(payload)
        return {table: len(payload.get(table) or []) for table in TABLES}

    def delete_session(self, session_id: int) -> None:
        """Delete a session with its observations and answers; its check-ins stay, unlinked."""
        with self._write() as db:
            db.execute("update checkins set session_id = null where session_id = ?", [session_id])
            db["observations"].delete_where("session_id = ?", [session_id])
            db["quiz_answers"].delete_where("session_id = ?", [session_id])
            db["mirror_results"].delete_where("session_id = ?", [session_id])
            db["sessions"].delete_where("id = ?", [session_id])
        self._forget()

    def delete_all(self) -> None:
        """Delete every row of every table (the empty schema stays)."""
        with self._write() as db:
            for table in reversed(TABLES):
                db[table].delete_where()
        self._forget()


def _observation_record(session_id: int, row: dict, now: str) -> dict:
    emotion, probs = row["emotion"], row["probs"]
    unknown = set(probs) - set(EMOTIONS)
    if emotion not in EMOTIONS or unknown:
        raise ValueError(f"Observations use the emotions {', '.join(EMOTIONS)}; got {emotion!r} and {sorted(unknown)}.")
    return {
        "session_id": session_id,
        "t": float(row["t"]),
        "at": row.get("at") or now,
        "face_id": int(row["face_id"]),
        **{column: (float(probs[e]) if e in probs else None) for e, column in PROB_COLUMNS.items()},
        "emotion": emotion,
    }


_CORRECT = {"right": 1, "shared": 0, "wrong": 0}
"""``correct`` for each scored verdict; 'unscored' stores NULL."""


def _require_emotion(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if value not in EMOTIONS:
        allowed = ", ".join(EMOTIONS) + (" or None" if optional else "")
        raise ValueError(f"The {name} must be one of {allowed}, not {value!r}.")


def _unit_number(name: str, value: object, *, optional: bool = False) -> float | None:
    """A number from 0 to 1 (a probability), or None where allowed."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"The {name} must be a number from 0 to 1, not {value!r}.")
    return float(value)


def _quiz_answer_record(row: dict) -> dict:
    """A quiz answer checked as it will be stored; ValueError says what is wrong."""
    verdict, guess, answer = row.get("verdict"), row.get("guess"), row.get("answer")
    if verdict not in VERDICTS:
        raise ValueError(f"The verdict is one of {', '.join(VERDICTS)}, not {verdict!r}.")
    _require_emotion("guess", guess)
    _require_emotion("answer", answer, optional=verdict == "unscored")
    if row.get("answer_source") not in ANSWER_SOURCES:
        raise ValueError(f"answer_source is one of {', '.join(ANSWER_SOURCES)}, not {row.get('answer_source')!r}.")
    if row.get("face_source") not in FACE_SOURCES:
        raise ValueError(f"face_source is one of {', '.join(FACE_SOURCES)}, not {row.get('face_source')!r}.")
    if verdict == "right" and guess != answer or verdict in ("shared", "wrong") and guess == answer:
        raise ValueError(f"A guess of {guess!r} for the answer {answer!r} can't be {verdict!r}.")
    if verdict == "shared" and row.get("answer_source") != "crowd":
        raise ValueError("Only an answer from a crowd's votes can be 'shared'.")
    if row.get("correct") != _CORRECT.get(verdict):
        raise ValueError(
            f"'correct' must be {_CORRECT.get(verdict)} for a {verdict!r} answer, not {row.get('correct')!r}."
        )
    _require_emotion("model emotion", row.get("model_emotion"), optional=True)
    if not isinstance(row.get("question"), str):
        raise ValueError(f"The question must be text, not {row.get('question')!r}.")
    return {
        **row,
        "model_confidence": _unit_number("model confidence", row.get("model_confidence"), optional=True),
    }


def _mirror_result_record(row: dict) -> dict:
    """A mirror-practice try checked as it will be stored; ValueError says what is wrong."""
    _require_emotion("target", row.get("target"))
    succeeded, seconds = row.get("succeeded"), row.get("seconds")
    if succeeded not in (True, False, 0, 1):
        raise ValueError(f"'succeeded' is true or false, not {succeeded!r}.")
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < 24 * 3600
    ):
        raise ValueError(f"The seconds must be a positive number or None, not {seconds!r}.")
    return {
        **row,
        "succeeded": int(succeeded),
        "seconds": None if seconds is None else float(seconds),
        "best_confidence": _unit_number("best confidence", row.get("best_confidence")),
    }


def _checkin_record(
    feeling: str | None,
    core: str | None,
    intensity: int,
    body: Iterable[str],
    note: str,
    own_words: str,
    session_id: int | None,
    at: datetime | None,
) -> dict:
    own_words = own_words or ""
    feeling = (feeling or "").strip().lower() or None
    core = (core or "").strip().lower() or (core_of(feeling) if feeling else None)
    if core is not None and core not in FEELINGS_WHEEL:
        raise ValueError(f"{core!r} is not on the feelings wheel; the core feelings are {', '.join(FEELINGS_WHEEL)}.")
    if not own_words.strip():
        if feeling is None or core is None:
            raise ValueError("Choose a feeling from the wheel, or describe it in your own words.")
        if core_of(feeling) != core:
            raise ValueError(f"{feeling!r} is not one of the {core!r} words on the feelings wheel.")
    if isinstance(intensity, bool) or not isinstance(intensity, Integral) or not 1 <= intensity <= 5:
        raise ValueError(f"Intensity is a whole number from 1 (barely) to 5 (very strong), not {intensity!r}.")
    places = [body] if isinstance(body, str) else list(dict.fromkeys(body))
    unknown = [place for place in places if place not in BODY_PLACES]
    if unknown:
        raise ValueError(
            f"Unknown body place(s) {', '.join(map(repr, unknown))}; choose from {', '.join(BODY_PLACES)}."
        )
    if not isinstance(note, str) or not isinstance(own_words, str):
        raise ValueError("The note and own words must be text.")
    return {
        "at": _now() if at is None else _iso(at),
        "session_id": session_id,
        "core": core,
        "feeling": feeling,
        "own_words": own_words,
        "intensity": int(intensity),
        "body": json.dumps(places),
        "note": note,
    }


class Recorder:
    """Writes a live session's readings, at most one row per face per ``interval`` seconds of stream time.

    Why: 30 readings a second are the same expression; one a second keeps months of use small
    and keeps the video thread's writes short. ``offer`` is called from the video-callback thread
    while the page uses the same Journal; the Journal's lock makes that safe. If the journal
    refuses a write (session deleted, file held elsewhere) recording stops and ``error`` says why,
    rather than breaking the video.
    """

    def __init__(self, journal: Journal, session_id: int, interval: float = 1.0) -> None:
        self.journal = journal
        self.session_id = session_id
        self.interval = interval
        self.written = 0
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
            return len(due)
