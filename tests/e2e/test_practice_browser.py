"""Practice in a real browser: a quiz round with Xface's own faces, keyboard only after the first click."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import StreamlitServer
from xface.journal import Journal

pytestmark = pytest.mark.slow

BANK_FILE = re.compile(r"face-\d{3}")
WAIT_MS = 60_000
"""For each expectation: the first guess loads the model, which on a busy small machine takes a while."""


def focused(page: Page) -> str:
    return page.evaluate("document.activeElement.innerText || ''").strip()


def test_a_bank_quiz_round_shows_nothing_before_the_guess_and_goes_on_by_keyboard(
    streamlit_server: StreamlitServer, browser_page: Page
):
    page = browser_page
    page.goto(f"{streamlit_server.url}/photo_quiz")
    page.get_by_text("Level 3: people disagree").click()
    page.get_by_role("button", name="Practise with Xface's faces").click()
    expect(page.get_by_text("Face 1 of 10")).to_be_visible(timeout=WAIT_MS)
    face = page.locator('[data-testid="stImage"] img')
    expect(face).to_have_attribute("alt", "A face. Which emotion do you see?", timeout=WAIT_MS)

    # Before the guess: no file name, no source, no crowd in the page (text, captions, alt texts, URLs).
    html = page.content()
    assert not BANK_FILE.search(html) and "people said" not in html and "FER2013" not in html
    assert not page.locator('[data-testid="stImageCaption"]').count()

    page.get_by_role("button", name="Sad", exact=True).click()
    expect(page.get_by_text("How people read it.")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text(re.compile(r"\d+ of 10 people said"))).to_be_visible(timeout=WAIT_MS)
    expect(page.locator('[data-testid="stImage"] img')).to_have_attribute(
        "alt", re.compile("practice faces"), timeout=WAIT_MS
    )
    expect(page.get_by_role("button", name="Next face")).to_be_focused(timeout=WAIT_MS)

    page.keyboard.press("Enter")  # goes on to the next face
    expect(page.get_by_text("Face 2 of 10")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("p", has_text="Which emotion do you see?")).to_be_focused(timeout=WAIT_MS)
    assert "people said" not in page.content()
    page.keyboard.press("Tab")  # one Tab: the first choice
    assert focused(page) == "Angry"
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Next face")).to_be_focused(timeout=WAIT_MS)

    with Journal(streamlit_server.db_path) as journal:
        answers = journal.quiz_answers()
    assert [(row["guess"], row["face_source"], row["answer_source"]) for row in answers] == [
        ("sad", "bank", "crowd"),
        ("angry", "bank", "crowd"),
    ]

    # Leave the page in the middle of the round and come back: the round is where it was.
    page.get_by_role("link", name="Help").click()
    expect(page.get_by_role("heading", name="Help", exact=False).first).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("link", name="Photo quiz").click()
    expect(page.get_by_text("Face 2 of 10")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Next face")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="End this round").click()
    expect(page.get_by_text("How the round went")).to_be_visible(timeout=WAIT_MS)
    with Journal(streamlit_server.db_path) as journal:
        (session,) = journal.sessions()
    assert session["kind"] == "quiz" and session["ended_at"] and session["summary"]["asked"] == 2
