"""Recording in a real browser: leaving the live page stops the recording, and the session is closed in the journal."""

from __future__ import annotations

import re
import sqlite3
import time

import pytest

from tests.e2e.conftest import start_camera

pytestmark = pytest.mark.slow

SAVED = re.compile(r"Recording: (\d+) readings? saved")
WAIT_MS = 240_000


def saved_rows(db_path) -> tuple[list[tuple], int]:
    with sqlite3.connect(db_path) as db:
        sessions = db.execute("select id, ended_at, summary from sessions").fetchall()
        observations = db.execute("select count(*) from observations").fetchone()[0]
    return sessions, observations


def test_leaving_the_live_page_stops_the_recording(streamlit_server, browser_page, evidence):
    page = browser_page
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{streamlit_server.url}/live_practice")
    page.get_by_role("heading", name="Live practice").wait_for()
    start_camera(page, ready=page.get_by_role("heading", name=re.compile(r"Face \d+:")))
    page.get_by_role("heading", name=re.compile(r"Face \d+:")).first.wait_for()
    page.get_by_role("button", name="Start recording").click()
    deadline = time.monotonic() + WAIT_MS / 1000
    while int(SAVED.search(page.get_by_text(SAVED).first.inner_text())[1]) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(500)

    page.get_by_role("link", name="Journal").click()  # leave the page while recording
    page.get_by_role("heading", name="Journal").wait_for()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        (session,), observations = saved_rows(streamlit_server.db_path)
        if session[1] is not None:
            break
        page.wait_for_timeout(500)
    assert session[1] is not None, "the recording is still open after leaving the page"
    assert '"observations"' in session[2] and observations >= 2
    page.wait_for_timeout(3000)
    assert saved_rows(streamlit_server.db_path)[1] == observations  # nothing more is written

    page.get_by_role("link", name="Live practice").click()  # back: the recording is over, its check-in offered
    page.get_by_role("heading", name="Live practice").wait_for()
    page.get_by_text("You practised for").wait_for()
    page.get_by_text("How did you feel?").wait_for()
    assert page.get_by_role("button", name="Stop recording").is_disabled()
