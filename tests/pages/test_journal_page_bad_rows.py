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
