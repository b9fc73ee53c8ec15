"""Real browser: the first request to a fresh server is a page URL (a bookmark), not the app's root.

Streamlit then runs that page file on its own, in its old `pages/` folder mode; `ui.enter_page`
must hand it to app.py so the person still gets the app's navigation and its passcode gate.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import StreamlitServer

pytestmark = pytest.mark.slow

APP_PAGES = ["Live practice", "Photo quiz", "Journal", "Help"]


def navigation(page) -> list[str]:
    """Page titles in the sidebar (each link also holds its icon's name on a line of its own)."""
    return [text.split("\n")[-1].strip() for text in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]


def test_bookmarked_page_opens_inside_the_app(streamlit_server, browser_page) -> None:
    page = browser_page
    page.goto(f"{streamlit_server.url}/journal")
    page.get_by_text("How do I feel?").first.wait_for()
    page.locator('[data-test-script-state="notRunning"]').wait_for()
    assert navigation(page) == APP_PAGES
    assert page.get_by_role("dialog").filter(has_text="Page not found").count() == 0
    page.locator('[data-testid="stSidebarNav"] a', has_text="Help").click()
    page.get_by_text("What Xface can and cannot tell you").wait_for()


def test_bookmarked_page_asks_for_the_passcode_first(tmp_path: Path, browser_page) -> None:
    server = StreamlitServer(
        tmp_path / "journal.db", env={"XFACE_PASSCODE": "quiet river", "STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}
    )
    page = browser_page
    try:
        page.goto(f"{server.url}/help")
        passcode = page.get_by_label("Passcode", exact=True)
        passcode.wait_for()
        page.locator('[data-test-script-state="notRunning"]').wait_for()
        assert page.get_by_text("What Xface can and cannot tell you").count() == 0
        passcode.fill("quiet river")
        passcode.press("Enter")
        page.get_by_text("What Xface can and cannot tell you").wait_for()
        assert navigation(page) == APP_PAGES
    finally:
        server.stop()
