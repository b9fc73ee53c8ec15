"""A restore takes only what the app itself writes, and refuses anything else in one sentence, changing nothing.

Every case starts from a real export of a real journal file and changes one thing in its journal.json, as a
crafted file would. Refusals are plain ValueErrors, the only kind the Journal page catches besides JournalError.
"""

from __future__ import annotations

import io
import json
import math
import time
import zipfile
from datetime import date

import pytest

from tests.journal.test_files import fill
from xface.journal import files
from xface.journal.files import NOT_AN_EXPORT, export_zip, restore_zip, summary_html
from xface.journal.store import Journal


def payload_of(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read("journal.json"))


def zipped(text: str | bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("journal.json", text)
    return buffer.getvalue()


@pytest.fixture
def exported(tmp_path) -> dict:
    """journal.json of a real export (a live, a quiz and a mirror session, two check-ins)."""
    with Journal(tmp_path / "source.db") as source:
        fill(source)
        return payload_of(export_zip(source, include_photo_names=True))


def refused(journal: Journal, payload: dict | str) -> str:
    """The sentence a restore refuses with; the journal must be exactly as it was."""
    before = journal.export()
    text = payload if isinstance(payload, str) else json.dumps(payload, allow_nan=True)
    with pytest.raises(ValueError) as raised:
        restore_zip(journal, zipped(text))
    assert journal.export() == before
    assert "\n" not in str(raised.value) and "Traceback" not in str(raised.value)
    return str(raised.value)


def live_session(payload: dict) -> dict:
    return next(row for row in payload["tables"]["sessions"] if row["kind"] == "live")


@pytest.mark.parametrize(
    ("summary", "says"),
    [
        ({"observations": 2, "faces": 1, "emotion_share": {"happy": 0.5}}, "duration_s"),
        ({"duration_s": "long", "observations": 2, "faces": 1, "emotion_share": {}}, "duration_s"),
        ({"duration_s": math.nan, "observations": 2, "faces": 1, "emotion_share": {}}, "duration_s"),
        ({"duration_s": math.inf, "observations": 2, "faces": 1, "emotion_share": {}}, "duration_s"),
        ({"duration_s": 3, "observations": 2, "faces": 1, "emotion_share": {"happy": "half"}}, "share of happy"),
        ({"duration_s": 3, "observations": 2, "faces": 1, "emotion_share": {"happy": 0.5, "sad": None}}, "sad"),
        ({"duration_s": 3, "observations": 2, "faces": 1, "emotion_share": {"joy": 0.5}}, "emotion"),
        ({"duration_s": 3, "observations": 2, "faces": 1, "emotion_share": [0.5]}, "emotion_share"),
        ({"duration_s": 3, "observations": "2", "faces": 1, "emotion_share": {}}, "observations"),
        ({"duration_s": 3, "observations": 2, "faces": 1, "emotion_share": {}, "extra": {"deep": 1}}, "extra"),
        ([1, 2], "JSON dict"),
    ],
)
def test_a_live_summary_unlike_the_apps_own_is_refused(journal, exported, summary, says) -> None:
    live_session(exported)["summary"] = json.dumps(summary, allow_nan=True)
    assert says in refused(journal, exported)


def test_a_summary_on_a_session_that_never_ended_is_refused(journal, exported) -> None:
    live_session(exported)["ended_at"] = None
    assert "ended" in refused(journal, exported)


@pytest.mark.parametrize(
    "at",
    [
        "9999-12-31T23:59:59+00:00",  # shown in a time zone east of UTC it is past the year 9999
        "9999-12-31T23:59:59-14:00",  # past the last moment Python can hold in UTC: OverflowError
        "0001-01-01T00:00:00+14:00",
        "1969-12-31T23:00:00+00:00",  # before the first moment Windows can show in local time
        "3000-01-01T00:00:00+00:00",
    ],
)
def test_a_time_local_time_cant_show_is_refused(journal, exported, at) -> None:
    exported["tables"]["checkins"][0]["at"] = at
    assert "between the years 1970 and 3000" in refused(journal, exported)


def test_a_time_in_the_future_is_refused(journal, exported) -> None:
    exported["tables"]["checkins"][0]["at"] = "2999-12-31T00:00:00+00:00"
    assert "can't be in the future" in refused(journal, exported)


def test_deeply_nested_json_is_a_plain_refusal(journal, exported) -> None:
    assert refused(journal, "[" * 200_000 + "]" * 200_000) == NOT_AN_EXPORT
    live_session(exported)["summary"] = "[" * 200_000 + "]" * 200_000
    assert "summary must be JSON text" in refused(journal, exported)
    exported["tables"]["checkins"][0]["body"] = "[" * 200_000 + "]" * 200_000
    assert "must be JSON text" in refused(journal, exported)


def test_blanks_in_a_small_zip_are_dropped_as_they_are_read(journal) -> None:
    """A 260 KB zip holding 255 MB of blanks: what is kept for parsing is the content alone (a few bytes)."""
    for blank, megabytes in ((" ", 255), ("\n", 16), ("\t", 16)):
        head, tail = '{"format": "xface-journal", "withheld": [], "tables": {"checkins": [', "]}}"
        data = zipped(head + blank * (megabytes * 1024 * 1024) + tail)
        assert len(data) < megabytes * 1100
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("journal.json") as stream:
            assert len(files._squeezed(stream)) <= len(head) + files.BLANKS_KEPT + len(tail)
        assert restore_zip(journal, data).restored == 0


def test_an_export_with_more_values_than_rows_can_hold_is_refused_before_parsing(journal) -> None:
    many = '{"format": "xface-journal", "withheld": [], "tables": {"checkins": [' + "0," * 20_000_000 + "0]}}"
    assert "too large to restore" in refused(journal, many)


def test_rows_already_in_a_journal_that_pages_cant_show_are_skipped_with_a_note(tmp_path, monkeypatch) -> None:
    """Rows an older Xface restored without these checks (written here straight into the real file), read in a
    time zone east of UTC, where 9999-12-31T23:59:59 UTC is past the last local time Python can show."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    path = tmp_path / "journal.db"
    with Journal(path) as journal:
        ids = fill(journal)
        journal._db.execute(  # a poisoned live summary and a check-in that local time can't show
            "update sessions set summary = ? where id = ?", ['{"emotion_share": {"happy": "x"}}', ids["live"]]
        )
        journal._db.execute(
            "update checkins set at = ? where id = ?", ["9999-12-31T23:59:59.000000+00:00", ids["other"]]
        )
        journal._db.conn.commit()
    with Journal(path) as journal:
        assert [row["id"] for row in journal.sessions()] == [ids["quiz"], ids["mirror"]]
        assert [row["id"] for row in journal.checkins()] == [ids["linked"]]
        note = journal.unreadable_note()
        assert note == (
            f"2 entries in the journal can't be read and are not shown (session {ids['live']}, check-in "
            f"{ids['other']}). The export keeps them as they are."
        )
        data = export_zip(journal)  # the export still works, and keeps every row as stored
        assert len(payload_of(data)["tables"]["checkins"]) == 2
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert "9999-12-31T23:59:59.000000+00:00" in archive.read("checkins.csv").decode()
        assert "<h1>" in summary_html(journal, date(2000, 1, 1), date(2100, 1, 1))
        assert journal.delete_session(ids["live"]) and journal.delete_checkin(ids["other"])
        fresh = Journal(path)
        fresh.sessions(), fresh.checkins()
        assert fresh.unreadable_note() is None
        fresh.close()
    monkeypatch.undo()
    time.tzset()


def test_a_quiz_summary_as_the_first_release_wrote_it_is_restored_and_shown(journal, exported) -> None:
    """Before journal version 3 the quiz page stored its own summary: asked, correct, per-emotion counts, a message."""
    quiz = next(row for row in exported["tables"]["sessions"] if row["kind"] == "quiz")
    quiz["summary"] = json.dumps(
        {
            "asked": 2,
            "correct": 1,
            "per_emotion": {"happy": {"asked": 1, "correct": 1}, "fear": {"asked": 1, "correct": 0}},
            "message": "You read 1 of 2 faces the same way as their answer.",
        }
    )
    restore_zip(journal, zipped(json.dumps(exported)))
    assert [row["kind"] for row in journal.sessions()] == ["live", "quiz", "mirror"]
    assert journal.unreadable_note() is None
    quiz["summary"] = json.dumps({"asked": 2, "per_emotion": {"happy": {"asked": "one"}}})
    quiz["id"] += 100
    for table in ("quiz_answers",):
        for row in exported["tables"][table]:
            row["session_id"] = quiz["id"]
    assert "count for happy" in refused(journal, exported)


@pytest.mark.parametrize("item", [[], {}, 1])
def test_a_withheld_list_that_is_not_column_names_is_a_plain_refusal(journal, exported, item) -> None:
    """A list or a dict among the withheld columns can't be looked up in a set: TypeError reached the page."""
    exported["withheld"] = [item]
    assert refused(journal, exported) == NOT_AN_EXPORT


@pytest.mark.parametrize(
    ("table", "column", "says"),
    [
        ("mirror_results", "best_confidence", "best confidence"),
        ("mirror_results", "seconds", "seconds"),
        ("observations", "t", "time in the session"),
        ("observations", "p_happy", "p_happy"),
        ("quiz_answers", "model_confidence", "model confidence"),
    ],
)
def test_a_number_past_what_a_float_holds_is_refused(journal, exported, table, column, says) -> None:
    """JSON reads a 400-digit number as a Python int, which no float holds: OverflowError reached the page."""
    exported["tables"][table][0][column] = 10**400
    assert says in refused(journal, exported)


def test_a_summary_number_past_what_a_float_holds_is_refused(journal, exported) -> None:
    summary = json.loads(live_session(exported)["summary"])
    live_session(exported)["summary"] = json.dumps(summary | {"duration_s": 10**400})
    assert "duration_s" in refused(journal, exported)
    live_session(exported)["summary"] = json.dumps(summary | {"emotion_share": {"happy": 10**400}})
    assert "share of happy" in refused(journal, exported)


def test_a_face_number_past_what_sqlite_holds_is_refused(journal, exported) -> None:
    """SQLite holds 64-bit whole numbers: a larger face number passed the checks and failed at the insert."""
    exported["tables"]["observations"][0]["face_id"] = 10**30
    assert "face number" in refused(journal, exported)
