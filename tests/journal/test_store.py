import os
import signal
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import platformdirs
import pytest
from sqlite_utils import Database

from xface.emotions import EMOTIONS
from xface.journal.recorder import Recorder
from xface.journal.schema import SCHEMA_VERSION, TABLES, JournalError, default_path
from xface.journal.store import Journal

ROOT = Path(__file__).resolve().parents[2]


def probs(emotion: str) -> dict[str, float]:
    return {e: (0.7 if e == emotion else 0.05) for e in EMOTIONS}


def reading(t: float, face_id: int = 0, emotion: str = "happy") -> dict:
    return {"t": t, "face_id": face_id, "probs": probs(emotion), "emotion": emotion}


@dataclass
class Reading:
    face_id: int
    probs: dict
    emotion: str


def fill(journal: Journal) -> dict:
    """A little of everything: a live session, a quiz session, linked and unlinked check-ins."""
    live = journal.start_session("live")
    journal.add_observations(live, [reading(0.0, 0, "happy"), reading(0.0, 1, "sad"), reading(1.0, 0, "fear")])
    journal.end_session(live, {"note": "first"})
    quiz = journal.start_session("quiz")
    journal.add_quiz_answer(quiz, "happy/1.jpg", "happy", "happy", "label", "happy", 0.9)
    journal.add_quiz_answer(quiz, "x.jpg#0", "surprise", "fear", "model", "fear", 0.55)
    linked = journal.add_checkin(
        "anxious", "afraid", 4, body=["chest", "stomach"], note="after the call", session_id=live
    )
    other = journal.add_checkin("content", "happy", 2)
    mirror = journal.start_session("mirror")
    journal.add_mirror_result(mirror, "happy", True, 1.5, 0.9)
    return {"live": live, "quiz": quiz, "linked": linked, "other": other, "mirror": mirror}


def test_new_journal_is_wal_versioned_and_has_no_blobs(tmp_path):
    path = tmp_path / "journal.db"
    Journal(path).close()
    db = Database(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert set(TABLES) <= set(db.table_names())
    for table in TABLES:
        assert all(column.type != "BLOB" for column in db[table].columns), table
    assert {f"p_{e}" for e in EMOTIONS} <= set(db["observations"].columns_dict)


def test_path_comes_from_xface_db_or_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XFACE_DB", str(tmp_path / "nested" / "mine.db"))
    with Journal() as journal:
        journal.start_session("live")
    assert (tmp_path / "nested" / "mine.db").exists()
    monkeypatch.delenv("XFACE_DB")
    assert default_path() == Path(platformdirs.user_data_dir("xface", appauthor=False)) / "journal.db"


def test_in_memory_journal_for_when_a_file_is_not_the_point():
    with Journal(":memory:") as journal:
        fill(journal)
        assert [len(rows) for rows in journal.export().values()] == [3, 3, 2, 1, 2]


def test_sessions_round_trip(journal):
    session = journal.start_session("live")
    assert journal.sessions()[0] | {"started_at": None} == {
        "id": session,
        "kind": "live",
        "started_at": None,
        "ended_at": None,
        "summary": None,
    }
    journal.end_session(session, {"emotion": "happy"})
    (row,) = journal.sessions()
    assert row["summary"] == {"emotion": "happy", "duration_s": row["summary"]["duration_s"]} | {
        "observations": 0,
        "faces": 0,
        "emotion_share": {},
    }
    assert datetime.fromisoformat(row["ended_at"]) >= datetime.fromisoformat(row["started_at"])
    assert datetime.fromisoformat(row["started_at"]).utcoffset().total_seconds() == 0
    with pytest.raises(ValueError, match="live"):
        journal.start_session("video")
    with pytest.raises(ValueError, match="no session 99"):
        journal.end_session(99)


def test_observations_round_trip(journal):
    session = journal.start_session("live")
    ids = journal.add_observations(session, [reading(0.5, 3, "fear"), reading(1.5, 4, "neutral")])
    rows = journal.observations(session)
    assert [row["id"] for row in rows] == ids
    first = rows[0]
    assert (first["session_id"], first["t"], first["face_id"], first["emotion"]) == (session, 0.5, 3, "fear")
    assert {e: first[f"p_{e}"] for e in EMOTIONS} == probs("fear")
    assert journal.observations(session_id=session + 1) == []
    with pytest.raises(ValueError, match="no session"):
        journal.add_observations(session + 1, [reading(0.0)])
    with pytest.raises(ValueError, match="emotions"):
        journal.add_observations(session, [{"t": 0, "face_id": 0, "probs": {"joy": 1.0}, "emotion": "happy"}])
    assert len(journal.observations()) == 2


def test_quiz_answers_round_trip(journal):
    quiz = journal.start_session("quiz")
    answer_id = journal.add_quiz_answer(quiz, "fear-01.png", "surprise", "fear", "label", "surprise", 0.61)
    (row,) = journal.quiz_answers()
    assert row == row | {
        "id": answer_id,
        "session_id": quiz,
        "question": "fear-01.png",
        "guess": "surprise",
        "answer": "fear",
        "answer_source": "label",
        "model_emotion": "surprise",
        "model_confidence": 0.61,
        "correct": False,
    }
    journal.add_quiz_answer(quiz, "x.jpg", "sad", "sad", "model", "sad", 0.4)
    assert [row["correct"] for row in journal.quiz_answers()] == [False, True]
    with pytest.raises(ValueError, match="answer_source"):
        journal.add_quiz_answer(quiz, "x.jpg", "sad", "sad", "guessed", "sad", 0.4)
    with pytest.raises(ValueError, match="guess"):
        journal.add_quiz_answer(quiz, "x.jpg", "joy", "sad", "label", "sad", 0.4)
    assert len(journal.quiz_answers()) == 2


def test_checkins_round_trip_and_text_is_verbatim(journal):
    note = "<script>alert(1)</script>\n**bold** _it_ [link](javascript:alert(1)) # heading\n'; DROP TABLE checkins; --"
    first = journal.add_checkin("lonely", "sad", 3, body=["throat", "chest", "throat"], note=note)
    second = journal.add_checkin(None, None, 5, own_words="  like static <b>inside</b>  ", body="whole body")
    third = journal.add_checkin("Grateful", None, 1)  # the core is found from the word
    rows = journal.checkins()
    assert [row["id"] for row in rows] == [first, second, third]
    assert rows[0] | {"at": None} == {
        "id": first,
        "at": None,
        "session_id": None,
        "core": "sad",
        "feeling": "lonely",
        "own_words": "",
        "intensity": 3,
        "body": ["throat", "chest"],
        "note": note,
        "pleasantness": -1,  # where "lonely" sits on the Mood Meter, as no place was given
        "energy": -1,
    }
    assert (rows[1]["pleasantness"], rows[1]["energy"]) == (None, None)  # own words only: not placed
    assert (rows[1]["core"], rows[1]["feeling"], rows[1]["own_words"]) == (None, None, "  like static <b>inside</b>  ")
    assert rows[1]["body"] == ["whole body"]
    assert (rows[2]["core"], rows[2]["feeling"]) == ("happy", "grateful")
    assert "checkins" in journal.export()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"feeling": "lonely", "core": "sad", "intensity": 0}, "Intensity"),
        ({"feeling": "lonely", "core": "sad", "intensity": 6}, "Intensity"),
        ({"feeling": "lonely", "core": "sad", "intensity": 2.5}, "Intensity"),
        ({"feeling": "lonely", "core": "sad", "intensity": True}, "Intensity"),
        ({"feeling": "lonely", "core": "happy", "intensity": 2}, "not one of the 'happy' words"),
        ({"feeling": "blorp", "core": "sad", "intensity": 2}, "not one of the 'sad' words"),
        ({"feeling": "lonely", "core": "melancholy", "intensity": 2}, "not on the feelings wheel"),
        ({"feeling": None, "core": None, "intensity": 2}, "own words"),
        ({"feeling": None, "core": None, "intensity": 2, "own_words": "   "}, "own words"),
        ({"feeling": "lonely", "core": "sad", "intensity": 2, "body": ["chest", "elbow"]}, "elbow"),
        ({"feeling": "lonely", "core": "sad", "intensity": 2, "session_id": 42}, "no session 42"),
        ({"feeling": "lonely", "core": "sad", "intensity": 2, "pleasantness": 3, "energy": 0}, "pleasantness"),
        ({"feeling": "lonely", "core": "sad", "intensity": 2, "pleasantness": 0, "energy": -3}, "energy"),
        ({"feeling": "lonely", "core": "sad", "intensity": 2, "pleasantness": 1}, "both"),
        ({"feeling": "lonely", "core": "sad", "intensity": 2, "pleasantness": 1.5, "energy": 0}, "whole number"),
        ({"feeling": "lonely", "core": "sad", "intensity": 2, "note": "x" * 2001}, "note"),
        ({"feeling": "lonely", "core": "sad", "intensity": 2, "note": 7}, "note"),
        ({"feeling": "lonely", "core": "sad", "intensity": 2, "at": datetime(2999, 1, 1)}, "future"),
    ],
)
def test_invalid_checkins_write_nothing(journal, kwargs, message):
    with pytest.raises(ValueError, match=message):
        journal.add_checkin(**kwargs)
    assert journal.checkins() == []
    assert Database(journal.path)["checkins"].count == 0


def test_checkins_sit_where_the_person_puts_them_on_the_grid(journal):
    placed = journal.add_checkin("lonely", "sad", 3, pleasantness=-2, energy=1)
    own = journal.add_checkin(None, None, 2, own_words="wired and flat", pleasantness=-1, energy=2)
    rows = {row["id"]: row for row in journal.checkins()}
    assert (rows[placed]["pleasantness"], rows[placed]["energy"]) == (-2, 1)
    assert (rows[own]["pleasantness"], rows[own]["energy"]) == (-1, 2)


def test_a_checkin_can_be_corrected_backdated_and_deleted(tmp_path):
    path = tmp_path / "journal.db"
    with Journal(path) as journal:
        first = journal.add_checkin("lonely", "sad", 3, note="SECRET-NOTE-0815", body=["chest"])
        other = journal.add_checkin("calm", "calm", 2)
        changed = journal.update_checkin(first, intensity=5, note="better words", body=["throat", "chest"])
        assert (changed["intensity"], changed["note"], changed["body"]) == (5, "better words", ["throat", "chest"])
        assert (changed["feeling"], changed["pleasantness"]) == ("lonely", -1)  # the rest stays
        # A new word moves the check-in to that word's place, unless a place is given.
        moved = journal.update_checkin(first, feeling="joyful")
        assert (moved["core"], moved["pleasantness"], moved["energy"]) == ("happy", 2, 2)
        kept = journal.update_checkin(first, feeling="content", pleasantness=0, energy=0)
        assert (kept["core"], kept["pleasantness"], kept["energy"]) == ("happy", 0, 0)
        yesterday = datetime.now().replace(microsecond=0) - timedelta(days=1)
        backdated = journal.update_checkin(first, at=yesterday)
        assert datetime.fromisoformat(backdated["at"]) == yesterday.astimezone()
        assert [row["id"] for row in journal.checkins()] == [first, other]
        assert journal.checkins(start=date.today()) == [journal.checkin(other)]
        before = journal.export()
        for fields, message in [
            ({"intensity": 9}, "Intensity"),
            ({"pleasantness": 5, "energy": 0}, "pleasantness"),
            ({"feeling": "blorp"}, "wheel"),
            ({"at": datetime(2999, 1, 1)}, "future"),
            ({"session_id": 3}, "no field"),
            ({"id": 99}, "no field"),
        ]:
            with pytest.raises(ValueError, match=message):
                journal.update_checkin(first, **fields)
        assert journal.export() == before  # a refused correction changes nothing
        with pytest.raises(ValueError, match="no check-in 99"):
            journal.update_checkin(99, intensity=2)
        journal.update_checkin(first, note="SECRET-NOTE-0815")
        assert journal.delete_checkin(first) is True  # True: the WAL was emptied as well
        assert [row["id"] for row in journal.checkins()] == [other]
        with pytest.raises(ValueError, match="no check-in"):
            journal.delete_checkin(first)
        assert b"SECRET-NOTE-0815" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())


def test_filters_by_time(journal):
    early = journal.add_checkin("calm", "calm", 1, at=datetime(2024, 3, 1, 12, tzinfo=UTC))
    late = journal.add_checkin("calm", "calm", 2, at=datetime(2024, 3, 5, 12, tzinfo=UTC))

    def ids(**bounds):
        return [row["id"] for row in journal.checkins(**bounds)]

    assert ids() == [early, late]
    assert ids(start=datetime(2024, 3, 2, tzinfo=UTC)) == [late]
    assert ids(end=datetime(2024, 3, 2, tzinfo=UTC)) == [early]
    assert ids(start=datetime(2024, 3, 1, 12, tzinfo=UTC), end=datetime(2024, 3, 5, 12, tzinfo=UTC)) == [early]
    # Dates are whole local days, both ends included (noon UTC is the same date in nearly every zone).
    assert ids(start=date(2024, 3, 1), end=date(2024, 3, 1)) == [early]
    assert ids(start=date(2024, 3, 2), end=date(2024, 3, 5)) == [late]
    assert journal.sessions(start=date(2000, 1, 1), end=date(2000, 1, 2)) == []
    assert journal.quiz_answers(start=datetime.now(UTC)) == []


def test_end_session_stores_its_summary_once(journal):
    ids = fill(journal)  # fill ends the live session
    summary = journal.session(ids["live"])["summary"]
    assert summary["note"] == "first"  # the caller's own keys are kept beside the computed ones
    assert (summary["observations"], summary["faces"]) == (3, 2)
    assert summary["duration_s"] >= 0
    assert summary["emotion_share"] == {"fear": 0.333, "happy": 0.333, "sad": 0.333}
    assert journal.sessions()[0]["summary"] == summary  # listing sessions reads the same stored summary
    quiz = journal.end_session(ids["quiz"])
    assert quiz == {"answers": 2, "scored": 2, "right": 1, "shared": 0}
    assert journal.end_session(ids["mirror"]) == {"tries": 1, "succeeded": 1}
    open_session = journal.start_session("live")
    assert journal.session(open_session)["summary"] is None  # not ended yet
    assert journal.end_session(open_session, {"faces": 99})["faces"] == 0  # computed values win
    assert journal.confusion_counts() == {("happy", "happy"): 1, ("fear", "surprise"): 1}
    assert journal.confusion_counts(end=date(2000, 1, 1)) == {}
    with pytest.raises(ValueError):
        journal.session(999)
    with pytest.raises(ValueError):
        journal.end_session(999)


# A version-1 journal exactly as the first release wrote it: no body on check-ins, no answer source.
V1_SCHEMA = """
CREATE TABLE "sessions" ("id" INTEGER PRIMARY KEY, "kind" TEXT NOT NULL, "started_at" TEXT NOT NULL,
   "ended_at" TEXT, "summary" TEXT);
CREATE TABLE "observations" ("id" INTEGER PRIMARY KEY, "session_id" INTEGER NOT NULL REFERENCES "sessions"("id"),
   "t" REAL NOT NULL, "at" TEXT NOT NULL, "face_id" INTEGER NOT NULL, "p_angry" REAL, "p_disgust" REAL,
   "p_fear" REAL, "p_happy" REAL, "p_sad" REAL, "p_surprise" REAL, "p_neutral" REAL, "emotion" TEXT NOT NULL);
CREATE TABLE "quiz_answers" ("id" INTEGER PRIMARY KEY, "session_id" INTEGER NOT NULL REFERENCES "sessions"("id"),
   "at" TEXT NOT NULL, "question" TEXT NOT NULL, "guess" TEXT NOT NULL, "answer" TEXT NOT NULL,
   "model_emotion" TEXT, "model_confidence" REAL, "correct" INTEGER NOT NULL);
CREATE TABLE "checkins" ("id" INTEGER PRIMARY KEY, "at" TEXT NOT NULL, "session_id" INTEGER REFERENCES "sessions"("id"),
   "core" TEXT, "feeling" TEXT, "own_words" TEXT NOT NULL DEFAULT '', "intensity" INTEGER NOT NULL,
   "note" TEXT NOT NULL DEFAULT '');
CREATE INDEX "idx_sessions_started_at" ON "sessions" ("started_at");
CREATE INDEX "idx_observations_session_id" ON "observations" ("session_id");
CREATE INDEX "idx_observations_at" ON "observations" ("at");
CREATE INDEX "idx_quiz_answers_session_id" ON "quiz_answers" ("session_id");
CREATE INDEX "idx_quiz_answers_at" ON "quiz_answers" ("at");
CREATE INDEX "idx_checkins_session_id" ON "checkins" ("session_id");
CREATE INDEX "idx_checkins_at" ON "checkins" ("at");
INSERT INTO sessions VALUES (1, 'quiz', '2024-01-02T10:00:00.000000+00:00', '2024-01-02T10:05:00.000000+00:00', NULL);
INSERT INTO observations VALUES (1, 1, 0.0, '2024-01-02T10:00:00.000000+00:00', 0,
   0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1, 'happy');
INSERT INTO quiz_answers VALUES (1, 1, '2024-01-02T10:01:00.000000+00:00', 'sad/3.jpg', 'sad', 'sad', 'sad', 0.8, 1);
INSERT INTO checkins VALUES (1, '2024-01-02T11:00:00.000000+00:00', 1, 'sad', 'lonely', '', 2, 'old note');
PRAGMA user_version = 1;
"""


def test_version_1_file_is_migrated_in_place_keeping_rows(tmp_path):
    path = tmp_path / "journal.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_SCHEMA)
    conn.close()
    with Journal(path) as journal:
        assert journal.sessions()[0]["kind"] == "quiz"
        assert journal.observations()[0]["p_happy"] == 0.4
        (answer,) = journal.quiz_answers()
        assert (answer["question"], answer["correct"], answer["answer_source"]) == ("sad/3.jpg", True, "label")
        (checkin,) = journal.checkins()
        assert (checkin["feeling"], checkin["note"], checkin["body"]) == ("lonely", "old note", [])
        journal.add_checkin("hurt", "sad", 3, body=["chest"])
        assert journal.checkins()[-1]["body"] == ["chest"]
    db = Database(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {"body"} <= set(db["checkins"].columns_dict)
    assert {"answer_source"} <= set(db["quiz_answers"].columns_dict)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# A version-2 journal as Xface wrote it before mirror practice: check-ins with a body, answers with a source.
V2_SCHEMA = """
CREATE TABLE "sessions" ("id" INTEGER PRIMARY KEY, "kind" TEXT NOT NULL, "started_at" TEXT NOT NULL,
   "ended_at" TEXT, "summary" TEXT);
CREATE TABLE "observations" ("id" INTEGER PRIMARY KEY, "session_id" INTEGER NOT NULL REFERENCES "sessions"("id"),
   "t" REAL NOT NULL, "at" TEXT NOT NULL, "face_id" INTEGER NOT NULL, "p_angry" REAL, "p_disgust" REAL,
   "p_fear" REAL, "p_happy" REAL, "p_sad" REAL, "p_surprise" REAL, "p_neutral" REAL, "emotion" TEXT NOT NULL);
CREATE TABLE "quiz_answers" ("id" INTEGER PRIMARY KEY, "session_id" INTEGER NOT NULL REFERENCES "sessions"("id"),
   "at" TEXT NOT NULL, "question" TEXT NOT NULL, "guess" TEXT NOT NULL, "answer" TEXT NOT NULL,
   "model_emotion" TEXT, "model_confidence" REAL, "correct" INTEGER NOT NULL
, "answer_source" TEXT NOT NULL DEFAULT 'label');
CREATE TABLE "checkins" ("id" INTEGER PRIMARY KEY, "at" TEXT NOT NULL, "session_id" INTEGER REFERENCES "sessions"("id"),
   "core" TEXT, "feeling" TEXT, "own_words" TEXT NOT NULL DEFAULT '', "intensity" INTEGER NOT NULL,
   "note" TEXT NOT NULL DEFAULT ''
, "body" TEXT NOT NULL DEFAULT '[]');
CREATE INDEX "idx_sessions_started_at" ON "sessions" ("started_at");
CREATE INDEX "idx_observations_session_id" ON "observations" ("session_id");
CREATE INDEX "idx_observations_at" ON "observations" ("at");
CREATE INDEX "idx_quiz_answers_session_id" ON "quiz_answers" ("session_id");
CREATE INDEX "idx_quiz_answers_at" ON "quiz_answers" ("at");
CREATE INDEX "idx_checkins_session_id" ON "checkins" ("session_id");
CREATE INDEX "idx_checkins_at" ON "checkins" ("at");
INSERT INTO sessions VALUES (1, 'quiz', '2024-01-02T10:00:00.000000+00:00', '2024-01-02T10:05:00.000000+00:00', NULL);
INSERT INTO quiz_answers VALUES (1, 1, '2024-01-02T10:01:00.000000+00:00', 'sad/3.jpg', 'sad', 'sad', 'sad', 0.8, 1,
   'label');
INSERT INTO quiz_answers VALUES (2, 1, '2024-01-02T10:02:00.000000+00:00', 'x.jpg#0', 'fear', 'surprise', NULL, NULL,
   0, 'model');
INSERT INTO checkins VALUES (1, '2024-01-02T11:00:00.000000+00:00', 1, 'sad', 'lonely', '', 2, 'old note',
   '["chest"]');
INSERT INTO checkins VALUES (2, '2024-01-03T11:00:00.000000+00:00', NULL, NULL, NULL, 'fizzy', 3, '', '[]');
INSERT INTO checkins VALUES (3, '2024-01-04T11:00:00.000000+00:00', NULL, 'tired', NULL, '', 1, '', '[]');
PRAGMA user_version = 2;
"""


def test_version_2_file_is_migrated_in_place_keeping_rows(tmp_path):
    path = tmp_path / "journal.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(V2_SCHEMA)
    conn.close()
    with Journal(path) as journal:
        first, second = journal.quiz_answers()
        assert (first["question"], first["correct"], first["verdict"], first["face_source"]) == (
            "sad/3.jpg",
            True,
            "right",
            "upload",
        )
        assert (second["guess"], second["correct"], second["verdict"], second["answer_source"]) == (
            "fear",
            False,
            "wrong",
            "model",
        )
        checkin, own_words, core_only = journal.checkins()
        assert checkin["note"] == "old note"
        # Version 4 places each check-in where its word sits; own words only stay unplaced.
        assert (checkin["pleasantness"], checkin["energy"]) == (-1, -1)  # "lonely"
        assert (own_words["pleasantness"], own_words["energy"], own_words["own_words"]) == (None, None, "fizzy")
        assert (core_only["pleasantness"], core_only["energy"]) == (-1, -2)  # "tired"
        # What version 3 adds works on the upgraded file.
        mirror = journal.start_session("mirror")
        journal.add_mirror_result(mirror, "happy", True, 2.5, 0.91)
        journal.add_quiz_answer(
            1, "bank/7.png", "sad", None, "crowd", None, None, face_source="bank", verdict="unscored"
        )
        assert journal.quiz_answers()[-1]["correct"] is None
    db = Database(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    indexes = {index.name for index in db["quiz_answers"].indexes}
    assert {"idx_quiz_answers_session_id", "idx_quiz_answers_at"} <= indexes


def test_mirror_results_round_trip(journal):
    mirror = journal.start_session("mirror")
    first = journal.add_mirror_result(mirror, "surprise", True, 3.2, 0.84)
    journal.add_mirror_result(mirror, "fear", False, None, 0.31)
    rows = journal.mirror_results()
    assert [row["id"] for row in rows][0] == first
    assert [(r["target"], r["succeeded"], r["seconds"], r["best_confidence"]) for r in rows] == [
        ("surprise", True, 3.2, 0.84),
        ("fear", False, None, 0.31),
    ]
    assert journal.mirror_results(start=date(2000, 1, 1), end=date(2000, 1, 2)) == []
    quiz = journal.start_session("quiz")
    for args, message in [
        ((quiz, "happy", True, 1.0, 0.9), "not a mirror session"),
        ((mirror + 99, "happy", True, 1.0, 0.9), "no session"),
        ((mirror, "joy", True, 1.0, 0.9), "target"),
        ((mirror, "happy", True, -1.0, 0.9), "seconds"),
        ((mirror, "happy", True, 1.0, 1.5), "confidence"),
        ((mirror, "happy", "yes", 1.0, 0.9), "succeeded"),
    ]:
        with pytest.raises(ValueError, match=message):
            journal.add_mirror_result(*args)
    assert len(journal.mirror_results()) == 2
    journal.delete_session(mirror)
    assert journal.mirror_results() == []


def test_quiz_verdicts_and_sources(journal):
    quiz = journal.start_session("quiz")
    journal.add_quiz_answer(quiz, "a", "happy", "happy", "crowd", "happy", 0.8, face_source="bank")
    journal.add_quiz_answer(quiz, "b", "surprise", "fear", "crowd", "fear", 0.5, face_source="bank", verdict="shared")
    journal.add_quiz_answer(quiz, "c", "sad", "angry", "label", None, None, face_source="live")
    journal.add_quiz_answer(quiz, "d", "sad", None, "crowd", None, None, face_source="bank", verdict="unscored")
    rows = journal.quiz_answers()
    assert [(r["verdict"], r["correct"]) for r in rows] == [
        ("right", True),
        ("shared", False),
        ("wrong", False),
        ("unscored", None),
    ]
    assert [r["face_source"] for r in rows] == ["bank", "bank", "live", "bank"]
    for kwargs, message in [
        ({"verdict": "right"}, "can't be 'right'"),  # guess sad, answer fear
        ({"verdict": "maybe"}, "verdict"),
        ({"face_source": "camera"}, "face_source"),
        ({"answer_source": "label", "verdict": "shared"}, "crowd"),
        ({"answer": None}, "answer"),  # only an unscored answer may lack one
    ]:
        args = {"question": "e", "guess": "sad", "answer": "fear", "answer_source": "crowd", "model_emotion": None}
        with pytest.raises(ValueError, match=message):
            journal.add_quiz_answer(quiz, **{**args, "model_confidence": None, **kwargs})
    with pytest.raises(ValueError, match="can't be 'wrong'"):
        journal.add_quiz_answer(quiz, "f", "sad", "sad", "label", None, None, verdict="wrong")
    assert len(journal.quiz_answers()) == 4


def test_newer_journal_is_refused_and_untouched(tmp_path):
    path = tmp_path / "journal.db"
    Journal(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(JournalError, match="newer Xface") as raised:
        Journal(path)
    assert "\n" not in str(raised.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", [b"this is not a database at all\n" * 200, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_damaged_file_is_refused_and_untouched(tmp_path, content):
    path = tmp_path / "journal.db"
    path.write_bytes(content)
    with pytest.raises(JournalError, match="damaged or is not an Xface journal") as raised:
        Journal(path)
    assert "\n" not in str(raised.value)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.db"]


def test_a_file_damaged_in_the_middle_gets_the_same_clear_message(tmp_path):
    path = tmp_path / "journal.db"
    with Journal(path) as journal:
        session = journal.start_session("live")
        journal.add_observations(session, [reading(float(t), t % 3) for t in range(3000)])
        journal.add_checkin("calm", "calm", 2, note="still here")
    content = bytearray(path.read_bytes())
    page = 4096
    assert len(content) > 20 * page  # the header and the first pages stay intact
    middle = (len(content) // page // 2) * page
    content[middle : middle + page] = b"\x5a" * page  # one page in the middle turned to noise
    path.write_bytes(bytes(content))
    with pytest.raises(JournalError, match="damaged or is not an Xface journal") as raised:
        Journal(path)
    assert raised.value.reason == "the journal file is damaged"
    assert path.read_bytes() == bytes(content)  # left untouched


def test_delete_all_empties_the_wal_after_another_connection_stops_reading(tmp_path):
    path = tmp_path / "journal.db"
    journal = Journal(path, timeout=2.0)
    fill(journal)
    journal.add_checkin("hurt", "sad", 4, note="SECRET-NOTE-5150")
    reader = sqlite3.connect(path, check_same_thread=False)
    reader.execute("BEGIN")
    assert reader.execute("select count(*) from checkins").fetchone()[0] == 3  # a read in progress
    # The reader finishes a moment after the delete starts; the delete waits for it and then empties the WAL.
    finish = threading.Timer(0.3, reader.rollback)
    finish.start()
    assert journal.delete_all() is True
    finish.join()
    assert Path(f"{path}-wal").stat().st_size == 0
    assert b"SECRET-NOTE-5150" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())
    reader.close()
    journal.close()


def test_delete_all_says_so_when_a_reader_keeps_the_wal(tmp_path):
    path = tmp_path / "journal.db"
    journal = Journal(path, timeout=0.2)
    fill(journal)
    journal.add_checkin("hurt", "sad", 4, note="SECRET-NOTE-6160")
    reader = sqlite3.connect(path)
    reader.execute("BEGIN")
    reader.execute("select count(*) from checkins").fetchone()
    assert journal.delete_all() is False  # the page tells the person to close other Xface windows
    assert journal.export() == {table: [] for table in TABLES}  # deleted all the same
    reader.rollback()
    reader.close()
    assert journal.delete_all() is True  # pressing again once the other window is closed wipes the disk
    assert b"SECRET-NOTE-6160" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())
    journal.close()


def test_other_sqlite_database_is_refused_and_untouched(tmp_path):
    path = tmp_path / "journal.db"
    Database(path)["recipes"].insert({"name": "soup"})
    before = path.read_bytes()
    with pytest.raises(JournalError, match="not an Xface journal"):
        Journal(path)
    assert path.read_bytes() == before


def test_locked_database_gives_a_clear_error(tmp_path):
    path = tmp_path / "journal.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(JournalError, match="in use by another program"):
        Journal(path, timeout=0.05)
    holder.execute("ROLLBACK")
    holder.close()
    Journal(path).close()


def test_write_while_another_program_holds_the_lock_writes_nothing(journal, tmp_path):
    busy = Journal(journal.path, timeout=0.05)
    holder = sqlite3.connect(journal.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(JournalError, match="in use by another program"):
        busy.add_checkin("calm", "calm", 2)
    holder.execute("ROLLBACK")
    holder.close()
    assert busy.checkins() == []
    busy.add_checkin("calm", "calm", 2)
    assert len(journal.checkins()) == 1
    busy.close()


@pytest.mark.parametrize("connections", ["shared", "separate"])
def test_two_threads_writing_at_once(journal, connections):
    other = journal if connections == "shared" else Journal(journal.path)
    live = journal.start_session("live")
    quiz = other.start_session("quiz")
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    observed: list[int] = []

    def observe():
        start.wait()
        for step in range(300):
            observed.extend(journal.add_observations(live, [reading(step / 30, step % 2)]))

    def answer():
        start.wait()
        for step in range(150):
            other.add_checkin("calm", "calm", 1 + step % 5, note=f"n{step}")
            other.add_quiz_answer(quiz, f"q{step}", "fear", "surprise", "label", "fear", 0.5)

    def guarded(work):
        try:
            work()
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(work,)) for work in (observe, answer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [row["id"] for row in journal.observations(live)] == observed
    assert len(observed) == 300
    assert [row["note"] for row in journal.checkins()] == [f"n{step}" for step in range(150)]
    assert len(journal.quiz_answers()) == 150
    if other is not journal:
        other.close()


def test_committed_rows_survive_sigkill(tmp_path):
    path = tmp_path / "journal.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "durability_writer.py"), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    printed = []
    try:
        for line in child.stdout:
            printed.append(int(line))
            if len(printed) >= 300:
                break
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        rest = child.stdout.read()
        child.wait()
    # Lines still in the pipe were printed after their commits too.
    printed += [int(line) for line in rest.split()]
    assert child.returncode == -signal.SIGKILL
    assert len(printed) >= 300
    db = Database(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {row["id"] for row in db.query("select id from observations")}
    assert set(printed) <= stored
    with Journal(path) as journal:
        assert len(journal.observations()) >= len(printed)


def test_delete_session_removes_its_rows_and_nothing_else(journal):
    first = fill(journal)
    second = fill(journal)
    before = journal.export()
    journal.delete_session(first["live"])
    journal.delete_session(first["quiz"])
    journal.delete_session(first["mirror"])
    after = journal.export()
    assert [row["id"] for row in after["sessions"]] == [second["live"], second["quiz"], second["mirror"]]
    assert after["observations"] == [row for row in before["observations"] if row["session_id"] == second["live"]]
    assert after["quiz_answers"] == [row for row in before["quiz_answers"] if row["session_id"] == second["quiz"]]
    assert after["mirror_results"] == [row for row in before["mirror_results"] if row["session_id"] == second["mirror"]]
    checkins = {row["id"]: row for row in after["checkins"]}
    assert set(checkins) == {row["id"] for row in before["checkins"]}
    assert checkins[first["linked"]]["session_id"] is None
    assert checkins[second["linked"]]["session_id"] == second["live"]
    journal.delete_session(first["live"])  # already gone: nothing happens
    assert journal.export() == after


def test_deleted_notes_leave_the_disk(tmp_path):
    path = tmp_path / "journal.db"
    with Journal(path) as journal:
        fill(journal)
        journal.add_checkin("hurt", "sad", 4, note="SECRET-NOTE-4711")
        journal.delete_all()
        on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir())
        assert b"SECRET-NOTE-4711" not in on_disk
    assert b"SECRET-NOTE-4711" not in path.read_bytes()


def test_recorder_keeps_one_row_per_face_per_second(journal):
    session = journal.start_session("live")
    recorder = Recorder(journal, session, interval=1.0)
    for frame in range(300):  # 10 s at 30 fps, two faces
        recorder.offer(frame / 30, [Reading(0, probs("happy"), "happy"), Reading(1, probs("sad"), "sad")])
    rows = journal.observations(session)
    assert len(rows) == recorder.written == 20
    assert [row["t"] for row in rows if row["face_id"] == 0] == pytest.approx(list(range(10)))
    assert {row["emotion"] for row in rows if row["face_id"] == 1} == {"sad"}


def test_recorder_from_a_video_thread_while_the_page_writes(journal):
    session = journal.start_session("live")
    recorder = Recorder(journal, session, interval=0.5)
    errors: list[BaseException] = []

    def video():
        try:
            for frame in range(600):
                recorder.offer(frame / 30, [Reading(frame // 200, probs("fear"), "fear")])
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)

    thread = threading.Thread(target=video)
    thread.start()
    for step in range(50):
        journal.add_checkin("worried", "afraid", 1 + step % 5)
        journal.observations(session)
    thread.join()
    assert errors == [] and recorder.error is None
    assert len(journal.observations(session)) == recorder.written == 3 * 14  # faces 0,1,2 each ~6.7 s of t
    assert len(journal.checkins()) == 50


def test_recorder_stops_quietly_when_its_session_is_deleted(journal):
    session = journal.start_session("live")
    recorder = Recorder(journal, session)
    recorder.offer(0.0, [Reading(0, probs("happy"), "happy")])
    journal.delete_session(session)
    assert recorder.offer(5.0, [Reading(0, probs("happy"), "happy")]) == 0
    assert isinstance(recorder.error, ValueError)
    assert journal.observations() == []
