"""Export, restore and the printable summary, on real journal files."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile
from datetime import date, datetime, timedelta

import pytest
import textstat

from xface.app.live import NO_FACE_SEEN
from xface.emotions import EMOTIONS
from xface.journal import files
from xface.journal.charts import SMOOTH_RULE
from xface.journal.files import export_zip, restore_zip, summary_html
from xface.journal.schema import TABLES, explain
from xface.journal.store import Journal

IMAGE_NOTE = "![me](https://example.com/track.png) <img src='https://example.com/x.png'> **bold**"


def probs(emotion: str) -> dict[str, float]:
    return {e: (0.7 if e == emotion else 0.05) for e in EMOTIONS}


def fill(journal: Journal) -> dict:
    live = journal.start_session("live")
    journal.add_observations(
        live, [{"t": float(t), "face_id": 1, "probs": probs(e), "emotion": e} for t, e in enumerate(["happy", "sad"])]
    )
    journal.end_session(live)
    quiz = journal.start_session("quiz")
    journal.add_quiz_answer(quiz, "Anna Schmidt.jpg#0", "happy", "happy", "label", "happy", 0.91234)
    journal.add_quiz_answer(quiz, "bank/12.png", "surprise", "fear", "crowd", "fear", 0.5, "bank", "shared")
    journal.end_session(quiz)
    mirror = journal.start_session("mirror")
    journal.add_mirror_result(mirror, "sad", False, None, 0.42)
    journal.end_session(mirror)
    linked = journal.add_checkin("anxious", "afraid", 4, body=["chest", "stomach"], note=IMAGE_NOTE, session_id=live)
    other = journal.add_checkin("content", "happy", 2, at=datetime.now() - timedelta(days=2))
    return {"live": live, "quiz": quiz, "mirror": mirror, "linked": linked, "other": other}


def zip_of(tables: dict, withheld: list | None = None, bare: bool = False) -> bytes:
    """A crafted export: what a person (or someone else) could hand to Restore."""
    payload = tables if bare else {"format": "xface-journal", "withheld": withheld or [], "tables": tables}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("journal.json", json.dumps(payload))
    return buffer.getvalue()


def test_restore_into_an_empty_journal_brings_back_every_row(journal, tmp_path):
    fill(journal)
    before = journal.export()
    data = export_zip(journal, include_photo_names=True)
    with Journal(tmp_path / "new.db") as fresh:
        result = restore_zip(fresh, data)
        assert fresh.export() == before
        fresh.add_checkin("calm", "calm", 3)  # ids carry on after the restored ones
        assert fresh.checkins()[-1]["id"] == max(row["id"] for row in before["checkins"]) + 1
    assert result == (sum(len(rows) for rows in before.values()), 0)
    assert result.message == "Restored 10 entries, and 0 were already there."


def test_restore_merges_what_is_missing_and_skips_what_is_there(journal):
    ids = fill(journal)
    before = journal.export()
    data = export_zip(journal, include_photo_names=True)
    journal.delete_session(ids["quiz"])  # undo this by restoring
    journal.delete_checkin(ids["other"])
    result = restore_zip(journal, data)
    assert journal.export() == before
    assert result.restored == 1 + 2 + 1  # the quiz session, its two answers, the check-in
    assert result.already_there == 10 - result.restored
    assert "Restored 4 entries, and 6 were already there." == result.message
    assert restore_zip(journal, data).message == "Restored 0 entries, and 10 were already there."
    assert journal.export() == before


def test_photo_names_are_left_out_unless_asked_and_restore_still_merges(journal, tmp_path):
    fill(journal)
    data = export_zip(journal)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        text = b"".join(archive.read(name) for name in archive.namelist())
    assert b"Anna Schmidt" not in text
    assert restore_zip(journal, data).restored == 0  # the names were withheld, not changed
    with Journal(tmp_path / "new.db") as fresh:
        restore_zip(fresh, data)
        assert [row["question"] for row in fresh.quiz_answers()] == ["", ""]
    with zipfile.ZipFile(io.BytesIO(export_zip(journal, include_photo_names=True))) as archive:
        assert b"Anna Schmidt" in archive.read("quiz_answers.csv")


def test_an_export_from_before_version_3_restores_with_defaults(journal):
    session = {"id": 3, "kind": "quiz", "started_at": "2024-01-01T00:00:00.000000+00:00"}
    answers = [
        {"id": n, "session_id": 3, "at": session["started_at"], "question": "q", "guess": "sad", "answer": answer}
        | {"correct": int(answer == "sad"), "answer_source": "label"}
        for n, answer in [(1, "sad"), (2, "fear")]
    ]
    checkin = {"id": 7, "at": "2024-01-01T00:00:00.000000+00:00", "core": "calm", "feeling": "safe", "intensity": 2}
    restore_zip(journal, zip_of({"sessions": [session], "quiz_answers": answers, "checkins": [checkin]}, bare=True))
    assert [(row["verdict"], row["face_source"]) for row in journal.quiz_answers()] == [
        ("right", "upload"),
        ("wrong", "upload"),
    ]
    (row,) = journal.checkins()
    assert (row["body"], row["pleasantness"], row["energy"]) == ([], 1, -1)  # "safe" on the grid


def test_an_export_that_says_scared_restores_as_afraid(journal):
    """Exports written before the wheel said "afraid" still restore, in the one word the app uses now."""
    at = "2025-01-01T00:00:00.000000+00:00"
    checkins = [
        {"id": 1, "at": at, "core": "scared", "feeling": "worried", "intensity": 2, "body": "[]"},
        {"id": 2, "at": at, "core": "Scared", "feeling": "scared", "intensity": 3, "body": "[]"},
    ]
    restore_zip(journal, zip_of({"checkins": checkins}))
    rows = sorted(journal.checkins(), key=lambda row: row["id"])
    assert [(row["core"], row["feeling"]) for row in rows] == [("afraid", "worried"), ("afraid", "afraid")]
    assert (rows[1]["pleasantness"], rows[1]["energy"]) == (-2, 2)  # the word's place on the grid
    restore_zip(journal, zip_of({"checkins": checkins}))  # the same export again adds nothing
    assert len(journal.checkins()) == 2


def crafted(ids: dict, export: dict) -> dict[str, tuple[dict, str]]:
    """Exports that must be refused, each with the words the refusal must contain."""
    checkin = dict(export["checkins"][1])
    new_id = {"id": 500}
    return {
        "intensity 9": ({"checkins": [checkin | new_id | {"intensity": 9}]}, "Intensity is a whole number"),
        "body not JSON": ({"checkins": [checkin | new_id | {"body": "chest, {"}]}, "body places must be JSON"),
        "body not a list": ({"checkins": [checkin | new_id | {"body": '{"a": 1}'}]}, "JSON list"),
        "unknown body place": ({"checkins": [checkin | new_id | {"body": '["elbow"]'}]}, "elbow"),
        "word not on the wheel": ({"checkins": [checkin | new_id | {"feeling": "blorp"}]}, "not one of the"),
        "pleasantness 7": ({"checkins": [checkin | new_id | {"pleasantness": 7, "energy": 0}]}, "pleasantness"),
        "time not a time": ({"checkins": [checkin | new_id | {"at": "yesterday"}]}, "date and time"),
        "note too long": ({"checkins": [checkin | new_id | {"note": "x" * 5000}]}, "note"),
        "points at an existing session": (
            {"checkins": [checkin | new_id | {"session_id": ids["live"]}]},
            f"points at session {ids['live']}, which is not in this export",
        ),
        "answer points at an existing session": (
            {"quiz_answers": [export["quiz_answers"][0] | new_id]},
            f"points at session {ids['quiz']}",
        ),
        "same id, other content": (
            {"checkins": [export["checkins"][0] | {"note": "changed", "session_id": None}]},
            "differs from the one in your",
        ),
        "one id twice": ({"checkins": [checkin | {"note": "changed"}]}, "holds check-in"),
        "summary not JSON": ({"sessions": [export["sessions"][0] | {"id": 90, "summary": "{oops"}]}, "summary"),
        "probability 3": (
            {
                "sessions": [export["sessions"][0] | {"id": 91}],
                "observations": [export["observations"][0] | {"id": 92, "session_id": 91, "p_sad": 3}],
            },
            "p_sad",
        ),
        "verdict against its answer": (
            {
                "sessions": [export["sessions"][1] | {"id": 93}],
                "quiz_answers": [export["quiz_answers"][0] | {"id": 94, "session_id": 93, "verdict": "wrong"}],
            },
            "can't be 'wrong'",
        ),
        "unknown column": ({"checkins": [checkin | new_id | {"photo": "abc"}]}, "unknown value(s) photo"),
        "no id": ({"checkins": [{key: value for key, value in checkin.items() if key != "id"}]}, "no number"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "intensity 9",
        "body not JSON",
        "body not a list",
        "unknown body place",
        "word not on the wheel",
        "pleasantness 7",
        "time not a time",
        "note too long",
        "points at an existing session",
        "answer points at an existing session",
        "same id, other content",
        "one id twice",
        "summary not JSON",
        "probability 3",
        "verdict against its answer",
        "unknown column",
        "no id",
    ],
)
def test_a_crafted_export_is_refused_with_a_reason_and_changes_nothing(journal, case):
    ids = fill(journal)
    export = journal.export()
    journal.delete_checkin(ids["other"])  # something a good restore would bring back
    before = journal.export()
    tables, words = crafted(ids, export)[case]
    good = {"sessions": [], "checkins": [export["checkins"][1]]}
    mixed = {table: good.get(table, []) + tables.get(table, []) for table in TABLES}
    with pytest.raises(ValueError) as refused:
        restore_zip(journal, zip_of(mixed))
    assert words in str(refused.value)
    assert str(refused.value).startswith(("Nothing was restored", "The export's"))
    assert journal.export() == before  # the good row was not written either


def test_a_markdown_image_link_is_restored_as_plain_text(journal, tmp_path):
    fill(journal)
    data = export_zip(journal)
    with Journal(tmp_path / "new.db") as fresh:
        restore_zip(fresh, data)
        assert fresh.checkins()[0]["note"] == IMAGE_NOTE  # kept exactly; the pages show it as text


@pytest.mark.parametrize(
    "data",
    [
        b"not a zip",
        b"",
        zip_of({"photos": [{"id": 1}]}),
        zip_of({"sessions": "all of them"}),
        zip_of([1, 2], bare=True),
    ],
)
def test_what_is_not_an_export_is_refused(journal, data):
    fill(journal)
    before = journal.export()
    with pytest.raises(ValueError, match="not an Xface|unknown table"):
        restore_zip(journal, data)
    assert journal.export() == before


def test_one_restore_is_bounded_in_size_and_rows(journal, monkeypatch):
    fill(journal)
    before = journal.export()
    data = export_zip(journal, include_photo_names=True)
    monkeypatch.setattr(files, "MAX_RESTORE_ROWS", 5)
    with pytest.raises(ValueError, match="at most 5"):
        restore_zip(journal, data)
    monkeypatch.setattr(files, "MAX_RESTORE_ROWS", 1_000_000)
    monkeypatch.setattr(files, "MAX_IMPORT_BYTES", 1000)
    with pytest.raises(ValueError, match="too large"):
        restore_zip(journal, data)
    # A zip whose header understates the size: reading stops at the limit all the same.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("journal.json", json.dumps({"sessions": [], "pad": "x" * 50_000}))
    lying = bytearray(buffer.getvalue())
    central = lying.rfind(b"PK\x01\x02")
    lying[central + 24 : central + 28] = (10).to_bytes(4, "little")  # the uncompressed size in the central directory
    with pytest.raises(ValueError, match="too large|not an Xface"):
        restore_zip(journal, bytes(lying))
    assert journal.export() == before


def test_csvs_are_for_people(journal):
    fill(journal)
    with zipfile.ZipFile(io.BytesIO(export_zip(journal))) as archive:
        tables = {table: list(csv.DictReader(io.StringIO(archive.read(f"{table}.csv").decode()))) for table in TABLES}
    linked = tables["checkins"][0]
    assert linked["body"] == "chest, stomach"  # not '["chest", "stomach"]'
    assert linked["note"] == IMAGE_NOTE
    local = datetime.fromisoformat(journal.checkins()[0]["at"]).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert linked["at"] == local and "+00:00" not in linked["at"]
    assert tables["quiz_answers"][0]["model_confidence"] == "0.91"
    assert tables["quiz_answers"][0]["correct"] == "yes" and tables["quiz_answers"][1]["correct"] == "no"
    assert "question" not in tables["quiz_answers"][0]
    assert tables["mirror_results"][0]["succeeded"] == "no"
    assert tables["sessions"][0]["summary"].startswith("duration ") and " s;" in tables["sessions"][0]["summary"]
    assert "happy 50%" in tables["sessions"][0]["summary"] and "{" not in tables["sessions"][0]["summary"]
    assert tables["observations"][0]["p_happy"] == "0.7"


def test_the_printable_summary_is_self_contained_and_shows_text_as_text(journal):
    fill(journal)
    today = date.today()
    page = summary_html(journal, today - timedelta(days=6), today, include_notes=True)
    assert "<img" not in page and "<script" not in page and "<a " not in page  # nothing that loads or links
    assert "&lt;img src=&#x27;https://example.com/x.png&#x27;&gt;" in page  # the note, shown as text
    assert "default-src 'none'" in page  # the browser may load nothing, even if something slipped through
    assert "2 check-ins" in page and "1 of 2 faces read the same way" in page  # a shared answer is scored
    assert "0 of 1 tries" in page and "Live practice: 1 session" in page
    private = summary_html(journal, today - timedelta(days=6), today)
    assert "example.com" not in private  # notes are left out unless asked for
    empty = summary_html(journal, date(2001, 1, 1), date(2001, 1, 31))
    assert "No check-ins in these days." in empty


def test_a_12_second_recording_is_12_s_in_the_printable_summary_and_the_export(journal):
    """Was "0 min" in the summary and "duration 0 min 12 s" in the export: said as the timeline says it."""
    live = journal.start_session("live")
    journal.add_observations(live, [{"t": 0.0, "face_id": 1, "probs": {"happy": 0.9}, "emotion": "happy"}])
    with sqlite3.connect(journal.path) as db:  # the recording began 12 s before it ends
        started = datetime.fromisoformat(db.execute("select started_at from sessions").fetchone()[0])
        db.execute("update sessions set started_at = ?", [(started - timedelta(seconds=12)).isoformat()])
    db.close()
    journal.end_session(live)
    page = summary_html(journal, date.today() - timedelta(days=1), date.today() + timedelta(days=1))
    assert "Live practice: 1 session, 12 s." in page
    with zipfile.ZipFile(io.BytesIO(export_zip(journal))) as archive:
        (session,) = csv.DictReader(io.StringIO(archive.read("sessions.csv").decode()))
    assert session["summary"].startswith("duration 12 s;")


def test_messages_for_people_are_plain(journal):
    """Every sentence these modules show a person reads easily (Flesch reading ease >= 70)."""
    errors = [
        "database or disk is full",
        "database is locked",
        "attempt to write a readonly database",
        "unable to open database file",
        "database disk image is malformed",
        "disk I/O error",
    ]
    sentences = [SMOOTH_RULE, NO_FACE_SEEN, files.RestoreResult(4, 11).message]
    for text in errors:
        explained = explain(sqlite3.OperationalError(text), "journal.db")
        sentences += [str(explained), f"Recording stopped: {explained.reason}. What was saved so far is kept."]
    fill(journal)
    for case in ("intensity 9", "points at an existing session", "same id, other content"):
        ids = {"live": 1, "quiz": 2}
        tables, _ = crafted(ids, journal.export())[case]
        try:
            restore_zip(journal, zip_of(tables))
        except ValueError as error:
            sentences.append(str(error))
    assert len(sentences) == 3 + 2 * len(errors) + 3
    for sentence in sentences:
        assert textstat.flesch_reading_ease(sentence) >= 70, sentence
