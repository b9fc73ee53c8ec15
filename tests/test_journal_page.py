"""The journal page, run by Streamlit's AppTest against a real temporary SQLite journal."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.ipc
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from xface import journal_io
from xface.emotions import EMOTIONS
from xface.journal import TABLES, Journal

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "journal.py")
NOTE = "<script>alert(1)</script> **bold** [link](http://example.com) :red[x]"


def probs(emotion: str) -> dict[str, float]:
    return {e: (0.7 if e == emotion else 0.05) for e in EMOTIONS}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A journal file with a live session, a quiz session, check-ins today and one from long ago."""
    path = tmp_path / "journal.db"
    monkeypatch.setenv("XFACE_DB", str(path))
    with Journal(path) as journal:
        live = journal.start_session("live")
        journal.add_observations(
            live,
            [
                {"t": t, "face_id": 1, "probs": probs(e), "emotion": e}
                for t, e in enumerate(["happy"] * 3 + ["sad"] * 2)
            ],
        )
        journal.end_session(live)
        quiz = journal.start_session("quiz")
        journal.add_quiz_answer(quiz, "a.jpg#0", "surprise", "fear", "label", "surprise", 0.6)
        journal.add_quiz_answer(quiz, "b.jpg#0", "happy", "happy", "model", "happy", 0.9)
        journal.add_quiz_answer(quiz, "c.jpg#0", "surprise", "fear", "model", "fear", 0.5)
        journal.end_session(quiz, {"asked": 3, "correct": 1})
        mirror = journal.start_session("mirror")
        journal.add_mirror_result(mirror, "surprise", True, 2.0, 0.8)
        journal.end_session(mirror)
        journal.add_checkin("lonely", "sad", 3, ["chest", "throat"], note=NOTE)
        journal.add_checkin(None, None, 2, own_words="like <b>fog</b> _inside_")
        journal.add_checkin("relaxed", "calm", 5, at=datetime.now() - timedelta(days=90))
    return path


def run(at: AppTest | None = None) -> AppTest:
    at = (at or AppTest.from_file(PAGE, default_timeout=60)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart_rows(at: AppTest) -> list[list[dict]]:
    """The data of every chart on the page, decoded from the Arrow tables Streamlit sends."""
    charts = at.get("vega_lite_chart")
    return [pyarrow.ipc.open_stream(chart.proto.data.data).read_all().to_pylist() for chart in charts]


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def test_charts_are_built_from_stored_rows(db):
    at = run()
    mood, per_session, over_time, accuracy, matrix = chart_rows(at)
    with Journal(db) as journal:
        recent = [row for row in journal.checkins() if row["at"] > (datetime.now() - timedelta(days=30)).isoformat()]
        live = [row["id"] for row in journal.sessions() if row["kind"] == "live"]
    assert sorted(row["id"] for row in mood) == sorted(row["id"] for row in recent)  # the old one is out of range
    assert {(row["core"], row["intensity"]) for row in mood} == {("sad", 3), ("own words", 2)}
    assert {row["session_id"] for row in per_session} == set(live)
    assert {row["emotion"]: row["count"] for row in per_session} == {"happy": 3, "sad": 2}
    assert sum(row["count"] for row in over_time) == 5
    assert {(row["emotion"], row["asked"], row["correct"]) for row in accuracy} == {("fear", 2, 0), ("happy", 1, 1)}
    cells = {(row["answer"], row["guess"]): row["count"] for row in matrix}
    assert cells[("fear", "surprise")] == 2 and cells[("happy", "happy")] == 1 and cells[("sad", "sad")] == 0


def test_week_grouping_and_date_range(db):
    at = run()
    at.button_group(key="journal_period").set_value("week")
    at = run(at)
    assert chart_specs(at)[0]["layer"][0]["encoding"]["x"]["title"] == "Week starting"
    today = datetime.now().date()
    at.date_input(key="journal_range").set_value((today - timedelta(days=120), today))
    at = run(at)
    assert len(chart_rows(at)[0]) == 3  # the check-in from 90 days ago is back in range


def test_notes_and_own_words_are_shown_as_plain_text(db):
    at = run()
    texts = [element.value for element in at.text]
    assert NOTE in texts
    assert "In my own words: like <b>fog</b> _inside_" in texts
    rendered = " ".join(str(element.value) for element in [*at.markdown, *at.caption, *at.get("alert")])
    assert "<script>" not in rendered and "fog" not in rendered


def test_export_contains_every_row(db, monkeypatch):
    made = []
    original = MediaFileManager.add_deferred

    def keep(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made.append((data_callable, mimetype, file_name))
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    at = run()
    (button,) = at.get("download_button")
    make, mimetype, file_name = made[-1]
    assert "Export" in button.proto.label and mimetype == "application/zip" and file_name.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(make()))
    with Journal(db) as journal:
        stored = journal.export()
    exported = json.loads(archive.read("journal.json"))
    # Quiz photo names (often people's names) are left out unless asked for.
    assert exported["withheld"] == ["quiz_answers.question"]
    assert exported["tables"] == stored | {"quiz_answers": [row | {"question": None} for row in stored["quiz_answers"]]}
    assert "question" not in archive.read("quiz_answers.csv").decode().splitlines()[0]
    assert all(stored[table] for table in TABLES)  # every table has rows: the check is not vacuous
    for table in TABLES:
        rows = list(csv.DictReader(io.StringIO(archive.read(f"{table}.csv").decode())))
        assert [int(row["id"]) for row in rows] == [row["id"] for row in stored[table]]
    assert NOTE in archive.read("checkins.csv").decode()  # the note, exactly as written


def test_deleting_a_session_takes_a_confirmation(db):
    with Journal(db) as journal:
        quiz = next(row["id"] for row in journal.sessions() if row["kind"] == "quiz")
    at = run()
    at.button(key=f"journal_delete_{quiz}").click()
    at = run(at)
    assert any("can't be undone" in alert.value for alert in at.warning)
    at.button(key=f"journal_keep_{quiz}").click()  # changed my mind
    at = run(at)
    assert not at.warning
    with Journal(db) as journal:
        assert len(journal.quiz_answers()) == 3
    at.button(key=f"journal_delete_{quiz}").click()
    at = run(at)
    at.button(key=f"journal_confirm_delete_{quiz}").click()
    at = run(at)
    with Journal(db) as journal:
        assert [row["kind"] for row in journal.sessions()] == ["live", "mirror"]
        assert journal.quiz_answers() == [] and len(journal.checkins()) == 3
    assert any("deleted" in alert.value for alert in at.success)
    assert all(not rows or "message" in rows[0] for rows in chart_rows(at)[3:])  # quiz charts now say "none yet"


def test_deleting_everything_takes_a_confirmation(db):
    at = run()
    at.button(key="journal_delete_all").click()
    at = run(at)
    with Journal(db) as journal:
        assert journal.checkins()  # asking is not deleting
    at.button(key="journal_confirm_delete_all").click()
    at = run(at)
    with Journal(db) as journal:
        assert all(rows == [] for rows in journal.export().values())
    assert any("Nothing in these dates" in alert.value for alert in at.info)


def test_a_checkin_is_saved_from_the_form(db):
    at = run()
    at.selectbox(key="journal_ci_core").set_value("scared")
    at = run(at)
    assert "anxious" in at.selectbox(key="journal_ci_word").options
    at.selectbox(key="journal_ci_word").set_value("anxious")
    assert at.select_slider(key="journal_ci_intensity").value == 3
    at.select_slider(key="journal_ci_intensity").set_value(4)
    at.multiselect(key="journal_ci_body").set_value(["stomach", "chest"])
    at.text_area(key="journal_ci_note").set_value("Before the meeting *again*")
    at.button(key="journal_ci_save").click()
    at = run(at)
    assert at.success and "Saved" in at.success[0].value
    with Journal(db) as journal:
        row = journal.checkins()[-1]
    assert (row["core"], row["feeling"], row["intensity"], row["body"], row["note"]) == (
        "scared",
        "anxious",
        4,
        ["stomach", "chest"],
        "Before the meeting *again*",
    )
    assert (
        at.selectbox(key="journal_ci_core").value is None and at.text_area(key="journal_ci_note").value == ""
    )  # ready for the next
    assert "Before the meeting *again*" in [element.value for element in at.text]


def test_an_empty_checkin_explains_and_saves_nothing(db):
    at = run()
    assert at.select_slider(key="journal_ci_intensity").value == 3  # starts in the middle
    at.button(key="journal_ci_save").click()
    at = run(at)
    assert at.warning and "own words" in at.warning[0].value
    with Journal(db) as journal:
        assert len(journal.checkins()) == 3


def restore_upload(at: AppTest, name: str, data: bytes) -> AppTest:
    """Choose a file in "Restore from an export" and press Restore."""
    at.file_uploader(key="journal_import_file").set_value([(name, data, "application/zip")])
    at = run(at)
    at.button(key="journal_import").click()
    return run(at)


def test_export_then_delete_all_then_restore_brings_back_every_row(db):
    with Journal(db) as journal:
        before = journal.export()
        exported = journal_io.export_zip(journal, include_photo_names=True)
    at = run()
    at.button(key="journal_delete_all").click()
    at = run(at)
    at.button(key="journal_confirm_delete_all").click()
    at = run(at)
    with Journal(db) as journal:
        assert all(rows == [] for rows in journal.export().values())
    at = restore_upload(at, "xface-journal.zip", exported)
    with Journal(db) as journal:
        assert journal.export() == before
    assert any("Restored 15 entries; 0 were already there." in s.value for s in at.success)
    assert chart_rows(at)[0]  # the mood chart shows the restored check-ins again


@pytest.mark.parametrize(
    "name, data",
    [("notes.zip", b"not a zip at all"), ("empty.zip", b""), ("other.zip", None)],
)
def test_restoring_something_that_is_not_an_export_explains_and_changes_nothing(db, name, data):
    if data is None:  # a real zip, but not an export
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("photo.jpg", b"\xff\xd8\xff")
        data = buffer.getvalue()
    with Journal(db) as journal:
        before = journal.export()
    at = run()
    at = restore_upload(at, name, data)
    assert any("not an Xface journal export" in e.value for e in at.error)
    with Journal(db) as journal:
        assert journal.export() == before


def test_restoring_into_a_journal_that_has_the_same_entries_skips_them(db):
    with Journal(db) as journal:
        before = journal.export()
        exported = journal_io.export_zip(journal, include_photo_names=True)
    at = run()
    at = restore_upload(at, "xface-journal.zip", exported)
    assert any("Restored 0 entries; 15 were already there." in s.value for s in at.success)
    with Journal(db) as journal:
        assert journal.export() == before
