"""Real browser: upload a real photo to the quiz, answer, then find the answer in the journal's chart and export.

Screenshots go to $XFACE_SCREENSHOTS (a folder) when set, else into the test's temporary folder.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
import zipfile
from pathlib import Path

import pytest

from tests.e2e.conftest import FACES
from xface.journal import Journal

pytestmark = pytest.mark.slow

PHOTO = FACES / "2009_004587.jpg"
NOTE = "<script>alert(1)</script> **bold** <img src=x onerror=alert(2)>"
ANALYSIS_TIMEOUT_MS = 240_000
"""Loading the model and finding faces on a busy two-core machine can take a while the first time."""


def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("XFACE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(page, url: str) -> None:
    """Go to one of the app's pages (as a bookmark would) and wait for its script to finish."""
    page.goto(url)
    page.locator('[data-test-script-state="notRunning"]').wait_for()
    page.wait_for_timeout(500)
    assert page.get_by_role("dialog").filter(has_text="Page not found").count() == 0


def screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its own container, so grow the window to fit it first."""
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height + 40, size["height"]), 6000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def stored_answers(db_path: Path, timeout: float = 20.0) -> list[dict]:
    """The journal's quiz answers, waiting for the app's write to land."""
    deadline = time.monotonic() + timeout
    while True:
        with Journal(db_path) as journal:
            answers = journal.quiz_answers()
        if answers or time.monotonic() > deadline:
            return answers
        time.sleep(0.5)


def test_quiz_answer_reaches_the_journal_chart_and_export(streamlit_server, browser_page, tmp_path):
    page = browser_page
    shots = screenshots(tmp_path)

    open_page(page, f"{streamlit_server.url}/photo_quiz")
    page.get_by_role("heading", name="Photo quiz").wait_for()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(PHOTO))
    page.get_by_text("Face 1 of 2").wait_for(timeout=ANALYSIS_TIMEOUT_MS)
    face = page.locator('[data-testid="stImage"] img').first
    face.wait_for(state="visible")
    assert face.evaluate("img => img.complete && img.naturalWidth > 20")  # the crop really rendered

    page.get_by_role("button", name="Happy", exact=True).click()
    page.get_by_text("Xface's reading:").wait_for()
    page.get_by_text("What the face is doing.").wait_for()
    page.get_by_role("button", name="Next face").wait_for()
    screenshot(page, shots / "quiz.png")

    (answer,) = stored_answers(streamlit_server.db_path)
    assert answer["guess"] == "happy" and answer["question"].startswith("2009_004587.jpg#")

    open_page(page, f"{streamlit_server.url}/journal")
    page.get_by_role("heading", name="Journal").wait_for()

    # A check-in whose note looks like HTML and Markdown is shown exactly as typed, and runs nothing.
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_label("Core feeling").click()
    page.get_by_role("option", name="Sad", exact=True).click()
    page.get_by_label("Note (optional)").fill(NOTE)
    page.get_by_role("button", name="Save check-in").click()
    page.get_by_text("Saved.").wait_for()
    page.get_by_text(NOTE, exact=True).wait_for()
    assert dialogs == [] and page.locator("strong", has_text="bold").count() == 0
    mood = page.locator('[data-testid="stVegaLiteChart"]').first  # the Mood tab, open by default
    mood.locator("canvas, svg").first.wait_for(state="visible")
    screenshot(page, shots / "journal_mood.png")
    page.get_by_role("tab", name="Photo quiz").click()
    chart = page.locator('[data-testid="stVegaLiteChart"]').filter(has=page.locator("canvas, svg")).last
    chart.locator("canvas, svg").first.wait_for(state="visible")
    box = chart.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100  # a drawn chart, not an empty frame
    page.get_by_text("Photo quiz ·").first.wait_for()  # the session in the timeline

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export everything").click()
    download = download_info.value
    assert download.suggested_filename.startswith("xface-journal-") and download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    exported = json.loads(archive.read("journal.json"))
    assert [row["question"] for row in exported["quiz_answers"]] == [answer["question"]]
    rows = list(csv.DictReader(io.StringIO(archive.read("quiz_answers.csv").decode())))
    assert [(row["question"], row["guess"]) for row in rows] == [(answer["question"], "happy")]
    assert [(row["core"], row["intensity"], row["note"]) for row in exported["checkins"]] == [("sad", 3, NOTE)]
    screenshot(page, shots / "journal.png")
