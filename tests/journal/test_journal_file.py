"""The journal file: ids never reused, another program's database never touched, its folder's failures in words,
and CSVs a spreadsheet can't run. Every test uses real SQLite files."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from sqlite_utils import Database

from tests.journal.test_files import fill
from xface.emotions import EMOTIONS
from xface.journal.files import export_zip, restore_zip
from xface.journal.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, JournalError
from xface.journal.store import Journal


def reading(t: float) -> dict:
    return {"t": t, "face_id": 0, "probs": dict.fromkeys(EMOTIONS, 1 / 7), "emotion": "happy"}


def test_a_deleted_rows_id_is_never_given_again(journal) -> None:
    first = journal.add_checkin("content", "happy", 2)
    newest = journal.add_checkin("lonely", "sad", 3)
    journal.delete_checkin(newest)
    assert journal.add_checkin("relaxed", "calm", 1) == newest + 1
    session = journal.start_session("live")
    journal.delete_session(session)
    assert journal.start_session("quiz") == session + 1
    assert first < newest


def test_restoring_an_export_after_the_newest_row_was_deleted_and_another_added(journal) -> None:
    """The issue's case: export, delete the newest check-in, add one, restore. It used to be refused ("differs")."""
    fill(journal)
    data = export_zip(journal, include_photo_names=True)
    newest = journal.checkins()[-1]["id"]
    journal.delete_checkin(newest)
    added = journal.add_checkin("relaxed", "calm", 1)
    result = restore_zip(journal, data)
    assert result.restored == 1  # the deleted check-in is back, under its own id
    assert [row["id"] for row in journal.checkins()][-2:] == [newest, added]


def test_readings_of_a_deleted_recording_never_go_into_the_next_session(journal) -> None:
    recording = journal.start_session("live")
    journal.add_observations(recording, [reading(0.0)])
    journal.delete_session(recording)  # deleted on the Journal page while it runs
    quiz = journal.start_session("quiz")  # a quiz starts meanwhile
    assert quiz != recording
    for session in (recording, quiz):
        with pytest.raises(ValueError):
            journal.add_observations(session, [reading(1.0)])
    with pytest.raises(ValueError):
        journal.end_session(recording)
    assert journal.observations() == []


def test_a_version_5_journals_scared_check_ins_say_afraid(tmp_path) -> None:
    """The feelings wheel said "scared" for the feeling the rest of the app calls "afraid"; older check-ins
    move to the one word, with nothing else changed."""
    path = tmp_path / "journal.db"
    db = Database(path)
    for version, migrate in enumerate(MIGRATIONS[:5]):
        migrate(db)
        db.execute(f"PRAGMA user_version = {version + 1}")
    at = "2025-01-02T10:00:00.000000+00:00"
    db["checkins"].insert_all(
        {"at": at, "own_words": "", "body": "[]"} | row
        for row in [
            {"core": "scared", "feeling": "anxious", "intensity": 3, "pleasantness": -1, "energy": 2, "note": ""},
            {"core": "scared", "feeling": "scared", "intensity": 4, "note": "scared of the call"},
            {"core": "happy", "feeling": "content", "intensity": 2, "note": ""},
        ]
    )
    db.conn.commit()
    db.close()
    with Journal(path) as journal:
        rows = sorted(journal.checkins(), key=lambda row: row["id"])
        assert [(row["core"], row["feeling"]) for row in rows] == [
            ("afraid", "anxious"),
            ("afraid", "afraid"),
            ("happy", "content"),
        ]
        assert rows[1]["note"] == "scared of the call"  # the person's own words stay theirs
        assert (rows[0]["pleasantness"], rows[0]["energy"]) == (-1, 2)
        assert journal._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_version_4_journal_moves_to_ids_never_reused_keeping_every_row(tmp_path) -> None:
    path = tmp_path / "journal.db"
    db = Database(path)
    for version, migrate in enumerate(MIGRATIONS[:4]):
        migrate(db)
        db.execute(f"PRAGMA user_version = {version + 1}")
    db["sessions"].insert({"id": 1, "kind": "live", "started_at": "2025-01-01T10:00:00.000000+00:00"})
    db["observations"].insert_all(
        [
            {"id": n, "session_id": 1, "t": float(n), "at": "2025-01-01T10:00:01.000000+00:00", "face_id": 0}
            | {f"p_{e}": 1 / 7 for e in EMOTIONS}
            | {"emotion": "happy"}
            for n in (1, 2)
        ]
    )
    db["checkins"].insert_all(
        [
            {"id": n, "at": "2025-01-02T10:00:00.000000+00:00", "core": "happy", "feeling": "content", "intensity": 2}
            for n in (1, 2)
        ]
    )
    db.conn.commit()
    db.close()
    with Journal(path) as journal:
        assert len(journal.observations()) == 2 and len(journal.checkins()) == 2
        assert journal._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert journal._db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert journal._db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert (
            "AUTOINCREMENT"
            in journal._db.execute("select sql from sqlite_master where name = 'checkins'").fetchone()[0]
        )
        assert len(journal._db.execute("select name from sqlite_master where type = 'index'").fetchall()) == 9
        journal.delete_checkin(2)
        assert journal.add_checkin("relaxed", "calm", 1) == 3
        with pytest.raises(sqlite3.IntegrityError):  # the children still point at the sessions table
            journal._db.execute(
                "insert into observations (session_id, t, at, face_id, emotion) values (99, 0, 'x', 0, 'happy')"
            )


def other_programs_database(path: Path, user_version: int, application_id: int = 0) -> bytes:
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
            "INSERT INTO notes (body) VALUES ('not yours');"
            f"PRAGMA user_version = {user_version}; PRAGMA application_id = {application_id};"
        )
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    ("user_version", "application_id"),
    [(0, 0), (1, 0), (2, 0), (4, 0), (5, 0), (SCHEMA_VERSION + 1, 0), (2, 1234), (5, 0x4C4C4C4C)],
)
def test_another_programs_database_is_refused_and_left_untouched(tmp_path, user_version, application_id) -> None:
    path = tmp_path / "theirs.db"
    before = other_programs_database(path, user_version, application_id)
    with pytest.raises(JournalError, match="not an Xface journal"):
        Journal(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.db"]  # no WAL, no journal file
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert [name for (name,) in conn.execute("select name from sqlite_master")] == ["notes"]
    conn.close()


def test_another_programs_database_with_a_sessions_table_is_not_taken_for_a_journal(tmp_path) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE sessions (id INTEGER PRIMARY KEY, token TEXT); PRAGMA user_version = 4;")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(JournalError, match="not an Xface journal"):
        Journal(path)
    assert path.read_bytes() == before


def test_a_journal_folder_that_cant_be_made_is_said_in_words(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("in the way")
    for place in (blocker / "journal.db", blocker / "deeper" / "journal.db", Path("/proc/xface-test/journal.db")):
        monkeypatch.setenv("XFACE_DB", str(place))
        with pytest.raises(JournalError, match="can't be made") as raised:
            Journal()
        assert str(place.parent) in str(raised.value) and "\n" not in str(raised.value)
    assert blocker.read_text() == "in the way"


FORMULAS = ['=HYPERLINK("https://example.com/?"&A1,"open")', "@SUM(A1:A9)", "=cmd|' /C calc'!A0", "+1+1", "-2+3"]


def test_exported_csv_cells_never_start_a_spreadsheet_formula(journal) -> None:
    session = journal.start_session("quiz")
    for formula in FORMULAS:
        journal.add_checkin("content", "happy", 2, note=formula, own_words=formula[:200])
        journal.add_quiz_answer(session, formula, "happy", "happy", "label", None, None)
    journal.add_checkin("content", "happy", 2, note="\tindented", own_words=" =spaced")
    data = export_zip(journal, include_photo_names=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        cells = [
            cell
            for name in ("checkins.csv", "quiz_answers.csv")
            for row in csv.reader(io.StringIO(archive.read(name).decode()))
            for cell in row
        ]
        restored = json.loads(archive.read("journal.json"))["tables"]
    formulas = [cell for cell in cells if cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert set(formulas) <= {"-1", "-2"}  # numbers (pleasantness, energy) stay numbers
    assert {f"'{formula}" for formula in FORMULAS} <= set(cells)
    assert "'\tindented" in cells and "' =spaced" in cells
    assert [row["note"] for row in restored["checkins"]] == [*FORMULAS, "\tindented"]  # journal.json exact


def test_a_damaged_byte_in_a_note_costs_that_letter_not_the_journal(tmp_path) -> None:
    """A flipped byte inside a note's text is not UTF-8 any more; quick_check looks at pages, not text, so the file
    opens. Reading it made every read of check-ins, the export and the summary fail with a sentence holding the
    private note: the whole journal was shut, and could not even be exported. Now the byte reads as one U+FFFD."""
    path = tmp_path / "journal.db"
    with Journal(path) as journal:
        ids = fill(journal)
        damaged = journal.add_checkin("calm", None, 2, note="hello, a private note")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.db"]  # closed: every row is in the file
    content = bytearray(path.read_bytes())
    content[content.index(b"hello, a private note")] = 0xFF  # not a UTF-8 byte anywhere
    path.write_bytes(bytes(content))
    with Journal(path) as journal:
        notes = {row["id"]: row["note"] for row in journal.checkins()}
        assert notes[damaged] == "\ufffdello, a private note" and set(notes) == {ids["linked"], ids["other"], damaged}
        assert journal.unreadable_note() is None
        data = export_zip(journal)
    with Journal(tmp_path / "new.db") as fresh:
        assert restore_zip(fresh, data).restored == 11
        assert fresh.checkin(damaged)["note"] == "\ufffdello, a private note"


def test_a_note_another_tool_stored_as_bytes_is_exported_not_a_traceback(tmp_path) -> None:
    """A value stored as a BLOB (another SQLite tool, by hand) is left out of the pages with a note that says "the
    export keeps them as they are"; the export itself then failed: bytes are not JSON."""
    path = tmp_path / "journal.db"
    with Journal(path) as journal:
        ids = fill(journal)
    with sqlite3.connect(path) as conn:
        conn.execute("update checkins set note = ? where id = ?", [b"typed in \xc3\xa9 another tool", ids["other"]])
    conn.close()
    with Journal(path) as journal:
        assert [row["id"] for row in journal.checkins()] == [ids["linked"]]
        assert "check-in" in journal.unreadable_note()
        with zipfile.ZipFile(io.BytesIO(export_zip(journal))) as archive:
            kept = json.loads(archive.read("journal.json"))["tables"]["checkins"]
            assert "typed in é another tool" in archive.read("checkins.csv").decode()
    assert [row["note"] for row in kept if row["id"] == ids["other"]] == ["typed in é another tool"]
