"""The journal page, run by Streamlit's AppTest against a real temporary SQLite journal."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import uuid
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow.ipc
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from xface.emotions import EMOTIONS
from xface.journal import files
from xface.journal.schema import TABLES
from xface.journal.store import Journal

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "journal.py")
NOTE = "<script>alert(1)</script> **bold** [link](http://example.com) :red[x]"
IMAGE_NOTE = "![smile](https://example.com/pixel.png) and <img src='https://example.com/p.png'>"


def probs(emotion: str) -> dict[str, float]:
    return {e: (0.7 if e == emotion else 0.05) for e in EMOTIONS}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A journal file with a live, a quiz and a mirror session, check-ins today and one from long ago."""
    path = tmp_path / "journal.db"
    monkeypatch.setenv("XFACE_DB", str(path))
    fill(path)
    return path


def fill(path: Path) -> None:
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
        journal.add_checkin(None, None, 2, own_words="like <b>fog</b> _inside_", pleasantness=-1, energy=-2)
        journal.add_checkin("relaxed", "calm", 5, at=datetime.now() - timedelta(days=90))


def run(at: AppTest | None = None) -> AppTest:
    at = (at or AppTest.from_file(PAGE, default_timeout=60)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart_specs(at: AppTest) -> list[dict]:
    """Each chart's spec, with the data Streamlit sent apart (as Arrow) put back as "datasets"."""
    specs = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if chart.proto.data.data:
            spec["datasets"] = {"sent": pyarrow.ipc.open_stream(chart.proto.data.data).read_all().to_pylist()}
        specs.append(spec)
    return specs


def chart_values(spec: object) -> list[dict]:
    """Every inline data row anywhere in a Vega-Lite spec (top level, panels or layers)."""
    found = []
    if isinstance(spec, dict):
        if isinstance(spec.get("data"), dict) and "values" in spec["data"]:
            found += spec["data"]["values"]
        for rows in (spec.get("datasets") or {}).values():
            found += rows
        for key, value in spec.items():
            if key not in ("data", "datasets"):
                found += chart_values(value)
    elif isinstance(spec, list):
        for item in spec:
            found += chart_values(item)
    return found


def mood_spec(at: AppTest) -> dict:
    """The pleasantness and energy charts together: both of the Mood tab's first two charts."""
    pleasantness, energy = chart_specs(at)[:2]
    assert pleasantness["layer"][0]["encoding"]["y"]["title"] == "Pleasantness"
    return {"vconcat": [pleasantness, energy]}


def test_charts_are_built_from_stored_rows(db):
    at = run()
    mood = chart_values(mood_spec(at))
    # Two placed check-ins in the last 30 days, each drawn once per panel (the one from 90 days ago is out).
    assert sorted(row["level"] for row in mood if "drawn" in row) == sorted([-1, -1, -1, -2])
    rates = [row["label"] for spec in chart_specs(at) for row in chart_values(spec) if "label" in row]
    assert "0 of 2" in rates and "1 of 1" in rates  # the quiz: fear read right 0 of 2 times, happy 1 of 1
    mirror = chart_specs(at)[-1]  # the last tab: your own face
    assert [row["label"] for row in chart_values(mirror)] == ["1 of 1"]
    tabs = [tab.label for tab in at.tabs]
    assert tabs == ["Mood", "Faces you read", "Your own face"]


def test_week_grouping_and_date_range(db):
    at = run()
    at.button_group(key="journal_period").set_value("week")
    at = run(at)
    x = mood_spec(at)["vconcat"][0]["layer"][0]["encoding"]["x"]
    assert x["axis"]["format"].startswith("Week of")
    today = datetime.now().date()
    at.date_input(key="journal_range").set_value((today - timedelta(days=120), today))
    at = run(at)
    assert len([row for row in chart_values(mood_spec(at)) if "drawn" in row]) == 2 * 3  # the old one is back


def test_journal_text_is_shown_as_plain_text(db):
    with Journal(db) as journal:
        journal.add_checkin("calm", "calm", 2, note=IMAGE_NOTE)
    at = run()
    texts = [element.value for element in at.text]
    assert NOTE in texts and IMAGE_NOTE in texts
    assert "In my own words: like <b>fog</b> _inside_" in texts
    rendered = " ".join(str(element.value) for element in [*at.markdown, *at.caption, *at.get("alert")])
    assert "<script>" not in rendered and "fog" not in rendered and "example.com" not in rendered
    assert not at.get("imgs")  # no image element was made from the note


def test_the_checkin_form_has_no_clear_buttons_to_press_by_mistake(db):
    at = run()
    assert not at.selectbox and not at.multiselect  # both draw a small clear button that Enter can press
    keys = {widget.key for widget in at.button_group}
    assert {"journal_ci_body", "journal_ci_word_0_0"} <= keys


def test_the_checkin_sliders_name_their_ends():
    """Streamlit shows a slider's ends only while hovered or focused: the labels say them."""
    at = run()
    labels = {key: at.select_slider(key=f"journal_ci_{key}").label for key in ("pleasantness", "energy", "intensity")}
    assert labels["pleasantness"] == "How pleasant does it feel? (very unpleasant to very pleasant)"
    assert labels["energy"] == "How much energy do you have? (very low to very high)"
    assert "barely" in labels["intensity"] and "very strongly" in labels["intensity"]


def test_a_checkin_is_saved_from_the_form(db):
    at = run()
    at.select_slider(key="journal_ci_pleasantness").set_value(-1)
    at.select_slider(key="journal_ci_energy").set_value(2)
    at = run(at)
    words = at.button_group(key="journal_ci_word_-1_2")
    assert "anxious" in words.options[0].content if hasattr(words.options[0], "content") else True
    words.set_value("anxious")
    at = run(at)
    assert "Anxious: You feel tense about what might happen." in [element.value for element in at.text]
    at.select_slider(key="journal_ci_intensity").set_value(4)
    at.button_group(key="journal_ci_body").set_value(["stomach", "chest"])
    at.text_area(key="journal_ci_note").set_value("Before the meeting *again*")
    at.button(key="journal_ci_save_0").click()
    at = run(at)
    assert at.success and "Saved" in at.success[0].value
    with Journal(db) as journal:
        row = max(journal.checkins(), key=lambda row: row["id"])
    assert (row["core"], row["feeling"], row["intensity"], row["body"], row["note"]) == (
        "afraid",
        "anxious",
        4,
        ["stomach", "chest"],
        "Before the meeting *again*",
    )
    assert (row["pleasantness"], row["energy"]) == (-1, 2)
    assert at.select_slider(key="journal_ci_pleasantness").value == 0  # ready for the next
    # Save is now drawn for the next check-in: the press just handled, if Streamlit calls it again, saves nothing.
    assert [button.key for button in at.button if button.key.startswith("journal_ci_save")] == ["journal_ci_save_1"]
    assert at.text_area(key="journal_ci_note").value == ""
    assert "Before the meeting *again*" in [element.value for element in at.text]


def test_a_checkin_in_own_words_is_placed_where_the_sliders_are(db):
    at = run()
    at.select_slider(key="journal_ci_pleasantness").set_value(2)
    at.text_input(key="journal_ci_own_words").set_value("fizzy")
    at.button(key="journal_ci_save_0").click()
    at = run(at)
    with Journal(db) as journal:
        row = max(journal.checkins(), key=lambda row: row["id"])
    assert (row["own_words"], row["feeling"], row["pleasantness"], row["energy"]) == ("fizzy", None, 2, 0)


def test_an_empty_checkin_explains_and_saves_nothing(db):
    at = run()
    assert at.select_slider(key="journal_ci_intensity").value == 3  # starts in the middle
    at.button(key="journal_ci_save_0").click()
    at = run(at)
    assert at.warning and "own words" in at.warning[0].value
    with Journal(db) as journal:
        assert len(journal.checkins()) == 3


def newest_checkin(path: Path) -> dict:
    with Journal(path) as journal:
        return [row for row in journal.checkins() if row["note"] == NOTE][0]


def test_a_checkin_is_corrected_and_backdated_from_the_timeline(db):
    row = newest_checkin(db)
    prefix = f"journal_edit_{row['id']}_"
    at = run()
    at.button(key=f"journal_edit_checkin_{row['id']}").click()
    at = run(at)
    assert at.select_slider(key=f"{prefix}pleasantness").value == -1  # the form holds the stored check-in
    assert at.button_group(key=f"{prefix}word_-1_-1").value == "lonely"
    at.select_slider(key=f"{prefix}intensity").set_value(5)
    at.text_area(key=f"{prefix}note").set_value("It passed by the evening.")
    three_days_ago = date.today() - timedelta(days=3)
    at.date_input(key=f"{prefix}day").set_value(three_days_ago)
    at.button(key=f"{prefix}save").click()
    at = run(at)
    assert any("changed" in element.value for element in at.success)
    with Journal(db) as journal:
        changed = journal.checkin(row["id"])
    assert (changed["intensity"], changed["note"], changed["feeling"]) == (5, "It passed by the evening.", "lonely")
    assert datetime.fromisoformat(changed["at"]).astimezone().date() == three_days_ago
    assert "It passed by the evening." in [element.value for element in at.text]


def test_a_refused_correction_explains_and_changes_nothing(db):
    row = newest_checkin(db)
    prefix = f"journal_edit_{row['id']}_"
    at = run()
    at.button(key=f"journal_edit_checkin_{row['id']}").click()
    at = run(at)
    at.button_group(key=f"{prefix}word_-1_-1").set_value(None)
    at.button(key=f"{prefix}save").click()
    at = run(at)
    assert any("own words" in element.value for element in at.warning)
    assert newest_checkin(db) == row


def test_deleting_a_checkin_takes_a_confirmation(db):
    row = newest_checkin(db)
    at = run()
    at.button(key=f"journal_delete_checkin_{row['id']}").click()
    at = run(at)
    at.button(key=f"journal_keep_checkin_{row['id']}").click()
    at = run(at)
    with Journal(db) as journal:
        assert len(journal.checkins()) == 3
    at.button(key=f"journal_delete_checkin_{row['id']}").click()
    at = run(at)
    at.button(key=f"journal_confirm_delete_checkin_{row['id']}").click()
    at = run(at)
    with Journal(db) as journal:
        assert row["id"] not in [other["id"] for other in journal.checkins()]
    assert any("check-in was deleted" in element.value for element in at.success)
    assert NOTE not in [element.value for element in at.text]


def test_export_contains_every_row(db, monkeypatch):
    made = []
    original = MediaFileManager.add_deferred

    def keep(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made.append((data_callable, mimetype, file_name))
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    at = run()
    labels = [button.proto.label for button in at.get("download_button")]
    assert any("Export" in label for label in labels) and any("summary" in label for label in labels)
    make, mimetype, file_name = next(item for item in made if item[1] == "application/zip")
    assert file_name.endswith(".zip")
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
    summary, mimetype, file_name = next(item for item in made if item[1] == "text/html")
    page = summary()
    assert file_name.endswith(".html") and "3 check-ins" not in page and "2 check-ins" in page
    assert "<script>" not in page  # the note is not even in it (notes are opt-in)


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


def test_deleting_everything_takes_a_confirmation(db):
    at = run()
    at.button(key="journal_delete_all").click()
    at = run(at)
    at.button(key="journal_keep_all").click()
    at = run(at)
    with Journal(db) as journal:
        assert journal.sessions()
    at.button(key="journal_delete_all").click()
    at = run(at)
    at.button(key="journal_confirm_delete_all").click()
    at = run(at)
    with Journal(db) as journal:
        assert all(rows == [] for rows in journal.export().values())
    said = [i for i, e in enumerate(in_page_order(at)) if "Everything in your journal was deleted." in str(e.value)]
    headings = [str(e.value) for e in in_page_order(at) if e.type in ("subheader", "heading")]
    (where,) = said
    your_data = next(i for i, e in enumerate(in_page_order(at)) if str(getattr(e, "value", "")) == "Your data")
    assert where > your_data, ("said where the person pressed Delete, under Your data, not at the top", headings)


def in_page_order(at: AppTest) -> list:
    """Every element on the page, top to bottom."""

    def walk(node) -> list:
        children = getattr(node, "children", None)
        if not children:
            return [node]
        return [leaf for child in children.values() for leaf in walk(child)]

    return walk(at.main)


def restore_upload(at: AppTest, name: str, data: bytes) -> AppTest:
    """Choose a file in "Restore from an export" and press Restore."""
    at.file_uploader(key="journal_import_file").set_value([(name, data, "application/zip")])
    at = run(at)
    at.button(key="journal_import").click()
    return run(at)


def test_export_then_delete_all_then_restore_brings_back_every_row(db):
    with Journal(db) as journal:
        before = journal.export()
        exported = files.export_zip(journal, include_photo_names=True)
    at = run()
    at.button(key="journal_delete_all").click()
    at = run(at)
    at.button(key="journal_confirm_delete_all").click()
    at = run(at)
    at = restore_upload(at, "xface-journal.zip", exported)
    with Journal(db) as journal:
        assert journal.export() == before
    assert any("Restored 15 entries, and 0 were already there." in s.value for s in at.success)
    assert chart_values(mood_spec(at))  # the mood chart shows the restored check-ins again


def test_restoring_one_deleted_session_merges_it_back(db):
    with Journal(db) as journal:
        before = journal.export()
        exported = files.export_zip(journal)
        quiz = next(row["id"] for row in journal.sessions() if row["kind"] == "quiz")
        journal.delete_session(quiz)
    at = restore_upload(run(), "xface-journal.zip", exported)
    assert any("Restored 4 entries, and 11 were already there." in s.value for s in at.success)
    with Journal(db) as journal:
        restored = journal.export()
    assert restored == before | {"quiz_answers": [row | {"question": ""} for row in before["quiz_answers"]]}


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
    at = restore_upload(run(), name, data)
    assert any("not an Xface journal export" in e.value for e in at.error)
    with Journal(db) as journal:
        assert journal.export() == before


def crafted_zip(tables: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("journal.json", json.dumps({"format": "xface-journal", "withheld": [], "tables": tables}))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "change, words",
    [
        ({"intensity": 9}, "Intensity is a whole number"),
        ({"body": "not json ["}, "must be JSON"),
        ({"note": IMAGE_NOTE, "session_id": 1}, "points at session 1, which is not in this export"),
    ],
)
def test_a_crafted_export_is_refused_and_the_page_keeps_working(db, change, words):
    with Journal(db) as journal:
        before = journal.export()
        checkin = dict(before["checkins"][0])
    at = restore_upload(run(), "crafted.zip", crafted_zip({"checkins": [checkin | {"id": 77} | change]}))
    assert any(words in element.value for element in at.error)
    with Journal(db) as journal:
        assert journal.export() == before
    at = run(AppTest.from_file(PAGE, default_timeout=60))  # a later visit: no error, Delete all is there
    assert at.button(key="journal_delete_all")


def test_a_damaged_journal_says_so_instead_of_a_traceback(tmp_path, monkeypatch):
    path = tmp_path / "journal.db"
    monkeypatch.setenv("XFACE_DB", str(path))
    fill(path)
    with Journal(path) as journal:
        session = journal.start_session("live")
        journal.add_observations(
            session, [{"t": float(t), "face_id": 1, "probs": probs("sad"), "emotion": "sad"} for t in range(3000)]
        )
    content = bytearray(path.read_bytes())
    middle = (len(content) // 4096 // 2) * 4096
    content[middle : middle + 4096] = b"\x00\xff" * 2048
    path.write_bytes(bytes(content))
    at = run()
    assert any("damaged or is not an Xface journal" in element.value for element in at.error)


@pytest.fixture
def small_disk_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The journal on a real 1 MB filesystem (a tmpfs mounted for the test); root only."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("Mounting a small filesystem needs root.")
    point = tmp_path / f"small-{uuid.uuid4().hex[:6]}"
    point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(point)], capture_output=True).returncode:
        pytest.skip("This machine does not allow mounting a small filesystem.")
    try:
        path = point / "journal.db"
        monkeypatch.setenv("XFACE_DB", str(path))
        fill(path)
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(point)], check=True)  # the page may still hold the file open


def fill_the_disk(folder: Path) -> None:
    with (folder / "filler").open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass


def test_a_full_disk_while_saving_a_checkin_is_explained(small_disk_db):
    at = run()  # the journal is open, then the disk fills up
    fill_the_disk(small_disk_db.parent)
    at.select_slider(key="journal_ci_pleasantness").set_value(1)
    at.text_area(key="journal_ci_note").set_value("x" * 1900)
    at.text_input(key="journal_ci_own_words").set_value("fine")
    at.button(key="journal_ci_save_0").click()
    at = run(at)
    assert any("is full" in element.value for element in at.warning)
    at.button(key="journal_delete_all").click()
    at = run(at)
    at.button(key="journal_confirm_delete_all").click()
    at = run(at)  # a delete on a full disk either works or says why, never a traceback
    assert at.success or at.error
    (small_disk_db.parent / "filler").unlink()
    with Journal(small_disk_db) as journal:
        assert all(row["own_words"] != "fine" for row in journal.checkins())
