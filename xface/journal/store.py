"""The personal emotion journal: one SQLite file, read and written through this module alone.

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
* Older files are upgraded in place by ``schema.MIGRATIONS``. A file from a newer Xface, another program's
  database, a damaged file or one held by another program raises ``JournalError`` and is left untouched.
* Every SQLite failure leaves as a ``JournalError`` whose ``reason`` is a few plain words ("the disk
  is full"), so a page can say what happened instead of showing a traceback.
* Every row is checked by one function per table (``checks.check_row``) before it is written, whether it
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
import sqlite3
import threading
import time as clock
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from xface.journal.checks import CORRECT, body_text, check_row, check_stored, observation_fields, past
from xface.journal.merge import MergeCounts, merge_rows
from xface.journal.schema import (
    APPLICATION_ID,
    BUSY_TIMEOUT_S,
    CHECKPOINT_TRIES,
    MIGRATIONS,
    ROW_NAMES,
    SCHEMA_VERSION,
    TABLES,
    JournalError,
    default_path,
    explain,
    is_unmarked_journal,
    iso,
)


def _now() -> str:
    return iso(datetime.now(UTC))


def _bound(value: date | datetime | None, *, end: bool) -> str | None:
    """A filter bound as stored text; a date means the local day, and an end date includes its day."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value + timedelta(days=1) if end else value, time())
    return iso(value)


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


class Journal:
    """The emotion journal in one SQLite file; safe to share between threads."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = BUSY_TIMEOUT_S) -> None:
        path = default_path() if path is None else path
        if str(path) != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:  # a file in the way, no permission, a read-only disk
                raise JournalError(
                    f"The folder for the journal, {Path(path).parent}, can't be made: "
                    f"{error.strerror or error}. Choose another place (XFACE_DB) or fix the folder.",
                    "the journal's folder can't be made",
                ) from error
        self.path = str(path)
        self._lock = threading.RLock()
        self.unreadable: dict[str, set[int]] = {}
        """Rows that could not be read back (``_rows`` skips them), per table: see ``unreadable_note``."""
        try:
            conn = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False)
        except sqlite3.Error as error:
            raise explain(error, self.path) from error
        conn.text_factory = partial(str, encoding="utf-8", errors="replace")  # a damaged byte: U+FFFD, not a failure
        try:
            self._db = Database(conn)
            self._open()
        except JournalError:
            conn.close()
            raise
        except sqlite3.Error as error:
            conn.close()
            raise explain(error, self.path) from error

    def _open(self) -> None:
        # Read-only checks first: a file we must refuse is never written to.
        version = self._user_version()
        application_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        marked = application_id == APPLICATION_ID
        if marked and version > SCHEMA_VERSION:
            raise JournalError(
                f"{self.path} was written by a newer Xface (journal version {version}, this Xface knows "
                f"{SCHEMA_VERSION}); update Xface to open it. It was left untouched.",
                "the journal is from a newer Xface",
            )
        if not marked and not is_unmarked_journal(self._db, application_id, version):
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
                raise explain(error, self.path) from error
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
                raise explain(error, self.path) from error

    def _rows(self, table: str, where: str | None, args: list) -> list[dict]:
        """Rows in id order; a row the pages can't show (``check_stored``: restored by an older Xface, or written
        by hand) is left out and counted in ``unreadable``, so one bad row can't stop a page showing the rest."""
        with self._read() as db:
            rows = list(db[table].rows_where(where, args, order_by="id"))
        readable = []
        for row in rows:
            try:
                check_stored(table, row)
            except ValueError:
                self.unreadable.setdefault(table, set()).add(row["id"])
            else:
                readable.append(row)
        return readable

    def unreadable_note(self) -> str | None:
        """One sentence about the rows reads have left out so far (None: none), for the page to show."""
        unreadable = self.unreadable
        named = [f"{ROW_NAMES[table]} {row_id}" for table in TABLES for row_id in sorted(unreadable.get(table, ()))]
        if not named:
            return None
        listed = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
        return (
            f"{len(named)} entr{'y' if len(named) == 1 else 'ies'} in the journal can't be read and "
            f"{'is' if len(named) == 1 else 'are'} not shown ({listed}). The export keeps them as they are."
        )

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
                    raise explain(error, self.path) from error
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
        """Open a 'live', 'quiz', 'mirror' or 'clip' session; its id ties observations, answers and results together."""
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
            record = check_row(
                "sessions",
                {"kind": session[0], "started_at": session[1], "ended_at": ended_at, "summary": json.dumps(stored)},
            )
            db["sessions"].update(session_id, {"ended_at": record["ended_at"], "summary": record["summary"]})
        return stored

    def add_observations(self, session_id: int, rows: Iterable[dict]) -> list[int]:
        """Store readings (t, face_id, probs, emotion[, at]) in one transaction; returns their ids in order."""
        now = _now()
        records = [check_row("observations", observation_fields(session_id, row, now)) for row in rows]
        if not records:
            return []
        with self._write() as db:
            self._require_session(db, session_id, kind="live")
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
                "correct": CORRECT.get(verdict),
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
                "at": _now() if at is None else past(at),
                "session_id": session_id,
                "core": core,
                "feeling": feeling,
                "own_words": own_words,
                "intensity": intensity,
                "body": body_text(body),
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
                fields["at"] = past(fields["at"])
            if "body" in fields:
                fields["body"] = body_text(fields["body"])
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
        with self._write() as db:
            return merge_rows(db, rows, withheld)

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


def _summary(db: Database, session_id: int, kind: str, started_at: str, ended_at: str) -> dict:
    """What a session held, in a few numbers: read once when it ends (see ``Journal.end_session``)."""
    if kind in ("quiz", "guess", "clip"):  # live guesses and a clip's guessed moments are quiz answers
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
