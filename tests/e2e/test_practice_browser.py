"""Practice in a real browser: a quiz round with Xface's own faces, keyboard only after the first click."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import StreamlitServer, drawn_now, press_until, start_camera
from xface.journal.store import Journal

pytestmark = pytest.mark.slow

BANK_FILE = re.compile(r"face-\d{3}")
WAIT_MS = 60_000
"""For each expectation: the first guess loads the model, which on a busy small machine takes a while."""
CAMERA_WAIT_MS = 300_000
"""For what needs many analysed camera frames: a busy 2-core machine analysed 7 frames a minute at worst."""


def focused(page: Page) -> str:
    return page.evaluate("document.activeElement.innerText || ''").strip()


def test_a_bank_quiz_round_shows_nothing_before_the_guess_and_goes_on_by_keyboard(
    streamlit_server: StreamlitServer, browser_page: Page, evidence: None
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
    expect(page.get_by_text(re.compile(r"^\d+ of 10 people said"))).to_be_visible(timeout=WAIT_MS)  # the split first
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
    assert session["kind"] == "quiz" and session["ended_at"] and session["summary"]["answers"] == 2


def in_view(page: Page, locator) -> bool:
    """Wholly on the screen (the page scrolls inside Streamlit's own container, so the window's size is the test)."""
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] and box["x"] >= 0


def test_on_a_phone_the_face_and_all_seven_choices_fit_and_the_face_stays_after_a_guess(
    streamlit_server: StreamlitServer, browser_page: Page, evidence: None
):
    """390 x 844: "Neutral" sat below the screen (one choice a row), and after a guess the page scrolled to the
    feedback, taking the face out of view."""
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{streamlit_server.url}/photo_quiz")
    page.get_by_role("button", name="Practise with Xface's faces").click()
    expect(page.get_by_text("Face 1 of 10")).to_be_visible(timeout=WAIT_MS)
    face = page.locator('[data-testid="stImage"] img')
    expect(page.locator("p", has_text="Which emotion do you see?")).to_be_focused(timeout=WAIT_MS)
    page.wait_for_timeout(1000)  # the scroll that brings the face to the top
    choices = [page.get_by_role("button", name=word, exact=True) for word in ("Angry", "Surprised", "Neutral")]
    assert in_view(page, face) and all(in_view(page, choice) for choice in choices)

    page.get_by_role("button", name="Sad", exact=True).click()
    expect(page.get_by_role("button", name="Next face")).to_be_focused(timeout=WAIT_MS)
    page.wait_for_timeout(1000)
    assert in_view(page, page.locator('[data-testid="stImage"] img'))
    first_line = page.locator('[data-testid="stAlert"]').first  # the feedback's first line, under the face
    assert first_line.bounding_box()["y"] < page.viewport_size["height"]


def test_a_mirror_round_learns_the_resting_face_coaches_and_stores_what_was_tried(
    streamlit_server: StreamlitServer, browser_page: Page, evidence: None
):
    """The fake camera shows one still, smiling face: "Look happy" may succeed on its own, the rest cannot."""
    page = browser_page
    page.goto(f"{streamlit_server.url}/mirror_practice")
    expect(page.get_by_text("Press Start camera")).to_be_visible(timeout=WAIT_MS)
    start_camera(page, ready=page.get_by_text("First, let your face rest"))
    expect(page.get_by_text("First, let your face rest")).to_be_visible(timeout=WAIT_MS)
    # Coaching starts once the stream has learnt this face at rest (15 measured frames, a few seconds).
    expect(page.get_by_text(re.compile(r"[12] of 7: Look"))).to_be_visible(timeout=CAMERA_WAIT_MS)
    expect(page.get_by_text(re.compile(r"^Xface reads: ")).first).to_be_visible(timeout=WAIT_MS)
    skip = drawn_now(page).get_by_role("button", name="Skip this one")
    expect(page.get_by_text("2 of 7: Look surprised")).to_be_visible(timeout=CAMERA_WAIT_MS)  # after happy
    tips = page.get_by_text(re.compile(r"^(Good\. Now )?(Raise your brows|Open your mouth|Open your eyes)"))
    expect(tips.first).to_be_visible(timeout=WAIT_MS)  # coached from the cues measured on this face
    press_until(skip, page.get_by_text("3 of 7: Look sad"), before=page.get_by_text("2 of 7: Look surprised"))
    press_until(page.get_by_role("button", name="End the round"), page.get_by_text("Round done"))

    with Journal(streamlit_server.db_path) as journal:
        sessions, results = journal.sessions(), journal.mirror_results()
    (session,) = sessions
    assert session["kind"] == "mirror" and session["ended_at"]
    assert [row["target"] for row in results] == ["happy", "surprise", "sad"]
    assert [row["succeeded"] for row in results] == [True, False, False]  # the smile held, one skipped, then ended
    assert (session["summary"]["tries"], session["summary"]["succeeded"]) == (3, 1)
