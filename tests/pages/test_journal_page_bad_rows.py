"""The journal page with rows an older Xface let in (restored before restores were checked): it shows the rest,
says which rows it left out, and keeps its export, summary and delete buttons. AppTest on a real SQLite file."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.test_journal_page import PAGE, fill
from xface.journal.store import Journal


@pytest.fixture
def east_of_utc(monkeypatch) -> Iterator[None]:
    """Local time in Tokyo: 9999-12-31T23:59:59 UTC is past the last local time Python can show."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("table", "column", "value", "noted"),
    [
        ("sessions", "summary", '{"observations": 5, "faces": 1, "emotion_share": {"happy": 0.6}}', True),
        ("sessions", "summary", '{"duration_s": "long", "observations": 5, "faces": 1, "emotion_share": {}}', True),
        ("sessions", "summary", '{"duration_s": NaN, "observations": 5, "faces": 1, "emotion_share": {}}', True),
        ("sessions", "summary", '{"duration_s": 3, "observations": 5, "faces": 1, "emotion_share": {"a": "x"}}', True),
        ("checkins", "body", '["chest", {"x": 1}]', True),
        ("checkins", "at", "9999-12-31T23:59:59.000000+00:00", False),  # now outside the dates shown
    ],
)
def test_a_bad_row_is_left_out_with_a_note_and_the_page_keeps_working(
    tmp_path: Path, monkeypatch, east_of_utc, table, column, value, noted
):
    path = tmp_path / "journal.db"
    monkeypatch.setenv("XFACE_DB", str(path))
    fill(path)
    with Journal(path) as journal:
        kind = "live" if table == "sessions" else None
        where = "kind = 'live'" if kind else "id = (select id from checkins order by at desc limit 1)"
        journal._db.execute(f"update {table} set {column} = ? where {where}", [value])  # as an old restore did
        journal._db.conn.commit()
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    assert any("can't be read and is not shown" in warning.value for warning in app.warning) == noted
    labels = [button.label for button in app.button] + [getattr(b, "label", "") for b in app.get("download_button")]
    assert any("Export" in label for label in labels) and any("Delete" in label for label in labels), labels


def test_correcting_a_checkin_never_cuts_the_own_words_an_older_xface_kept(tmp_path: Path, monkeypatch) -> None:
    """The first Xface kept own words of any length; the form's 200-character box cut them while the person only
    changed the note, and Save stored the cut words without a word. Now the box holds them whole, Save says why it
    can't store them and changes nothing, and the person shortens them as they choose."""
    path = tmp_path / "journal.db"
    monkeypatch.setenv("XFACE_DB", str(path))
    fill(path)
    long_words = "a knot that words do not reach, " * 15  # 480 characters
    with Journal(path) as journal:
        checkin_id = journal.add_checkin(None, None, 3, own_words="knotted", note="before")
        journal._db.execute("update checkins set own_words = ? where id = ?", [long_words, checkin_id])
        journal._db.conn.commit()  # as the first Xface wrote it
        stored = journal.checkin(checkin_id)
    prefix = f"journal_edit_{checkin_id}_"
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    app.button(key=f"journal_edit_checkin_{checkin_id}").click()
    app.run()
    app.text_area(key=f"{prefix}note").set_value("after")
    app.button(key=f"{prefix}save").click()
    app.run()
    assert not app.exception, app.exception
    assert any("own words must be text of at most 200" in warning.value for warning in app.warning)
    with Journal(path) as journal:
        assert journal.checkin(checkin_id) == stored
    app.text_input(key=f"{prefix}own_words").set_value(long_words[:150])
    app.button(key=f"{prefix}save").click()
    app.run()
    with Journal(path) as journal:
        changed = journal.checkin(checkin_id)
    assert (changed["own_words"], changed["note"]) == (long_words[:150].strip(), "after")
