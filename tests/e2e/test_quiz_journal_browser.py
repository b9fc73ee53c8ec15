"""Real browser: upload a real photo to the quiz, answer, then find the answer in the journal's chart and export.

Screenshots go to $XFACE_SCREENSHOTS (a folder) when set, else into the test's temporary folder.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.conftest import FACES
from xface.journal.store import Journal

pytestmark = pytest.mark.slow

PHOTO = FACES / "2009_004587.jpg"
NOTE = "<script>alert(1)</script> **bold** <img src=x onerror=alert(2)>"
IMAGE_NOTE = "Look: ![me](https://example.com/pixel.png) <img src='https://example.com/p.png'>"
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


def stored_answers(db_path: Path) -> list[dict]:
    """The journal's quiz answers. The page stores an answer before it draws the feedback, so once the
    feedback shows, the answer is in the file: no waiting."""
    with Journal(db_path) as journal:
        return journal.quiz_answers()


def test_quiz_answer_reaches_the_journal_chart_and_export(streamlit_server, browser_page, tmp_path):
    page = browser_page
    shots = screenshots(tmp_path)

    open_page(page, f"{streamlit_server.url}/photo_quiz")
    page.get_by_role("heading", name="Photo quiz").wait_for()
    labelled = tmp_path / "2009_004587_happy.jpg"  # a name that gives the answer: the guess is scored and charted
    labelled.write_bytes(PHOTO.read_bytes())
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(labelled))
    page.get_by_text("Face 1 of 2").wait_for(timeout=ANALYSIS_TIMEOUT_MS)
    face = page.locator('[data-testid="stImage"] img').first
    face.wait_for(state="visible")
    assert face.evaluate("img => img.complete && img.naturalWidth > 20")  # the crop really rendered

    page.get_by_role("button", name="Happy", exact=True).click()
    page.get_by_text("Yes. This photo is labelled happy.").wait_for()
    page.get_by_text("Xface's reading:").wait_for()
    page.get_by_role("button", name="Next face").wait_for()
    screenshot(page, shots / "quiz.png")

    (answer,) = stored_answers(streamlit_server.db_path)
    assert answer["guess"] == "happy" and answer["question"].startswith("2009_004587_happy.jpg#")

    open_page(page, f"{streamlit_server.url}/journal")
    page.get_by_role("heading", name="Journal").wait_for()

    # A check-in whose note looks like HTML and Markdown is shown exactly as typed, and runs nothing.
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_test_id("stButtonGroup").first.get_by_text("thoughtful", exact=True).click()
    page.get_by_label("Note (optional)").fill(NOTE)
    page.get_by_role("button", name="Save check-in").click()
    page.get_by_text("Saved.").wait_for()
    page.get_by_text(NOTE, exact=True).wait_for()
    assert dialogs == [] and page.locator("strong", has_text="bold").count() == 0
    mood = page.locator('[data-testid="stVegaLiteChart"]').first  # the Mood tab, open by default
    mood.locator("canvas, svg").first.wait_for(state="visible")
    screenshot(page, shots / "journal_mood.png")
    page.get_by_role("tab", name="Faces you read").click()
    chart = page.locator('[data-testid="stVegaLiteChart"]:visible').first  # the quiz's answers over time
    chart.locator("canvas, svg").first.wait_for(state="visible")
    box = chart.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100  # a drawn chart, not an empty frame
    page.get_by_text("Photo quiz ·").first.wait_for()  # the session in the timeline

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export everything").click()
    download = download_info.value
    assert download.suggested_filename.startswith("xface-journal-") and download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    exported = json.loads(archive.read("journal.json"))["tables"]
    assert [row["question"] for row in exported["quiz_answers"]] == [None]  # photo names only when asked for
    rows = list(csv.DictReader(io.StringIO(archive.read("quiz_answers.csv").decode())))
    assert [row["guess"] for row in rows] == ["happy"] and "question" not in rows[0]
    assert [(row["feeling"], row["intensity"], row["note"]) for row in exported["checkins"]] == [
        ("thoughtful", 3, NOTE)
    ]
    screenshot(page, shots / "journal.png")


def tooltip_at_a_point(page, chart, wanted: str) -> str | None:
    """Hover over the chart until Vega's tooltip shows `wanted`: proof that a mark for it is drawn there."""
    box = chart.bounding_box()
    for y in range(int(box["y"]) + 4, int(box["y"] + box["height"]) - 4, 5):
        for x in range(int(box["x"]) + 40, int(box["x"] + box["width"]) - 4, 6):
            page.mouse.move(x, y)
            tooltip = page.locator("#vg-tooltip-element.visible")
            if tooltip.count() and wanted in tooltip.inner_text():
                return tooltip.inner_text()
    return None


def test_a_checkin_reaches_its_mood_chart_and_its_note_loads_nothing(streamlit_server, browser_page, tmp_path):
    page = browser_page
    shots = screenshots(tmp_path)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    open_page(page, f"{streamlit_server.url}/journal")
    page.get_by_role("heading", name="Journal").wait_for()

    # Very pleasant, high energy: two steps right on the first slider, one on the second.
    pleasant, energy = page.get_by_role("slider").nth(0), page.get_by_role("slider").nth(1)
    pleasant.focus()
    pleasant.press("ArrowRight")
    pleasant.press("ArrowRight")
    energy.focus()
    energy.press("ArrowRight")
    meaning = page.get_by_text("Proud: You feel good about what you or someone close did.", exact=True)
    for _ in range(3):  # a click that lands while the sliders' last rerun redraws the words is lost: click again
        page.locator('[data-test-script-state="notRunning"]').wait_for()
        page.get_by_test_id("stButtonGroup").first.get_by_text("proud", exact=True).click()
        try:
            meaning.wait_for(timeout=15_000)
            break
        except PlaywrightTimeoutError:
            continue
    meaning.wait_for()
    page.get_by_label("Note (optional)").fill(IMAGE_NOTE)
    page.get_by_role("button", name="Save check-in").click()
    page.get_by_text("Saved.").wait_for()
    page.get_by_text(IMAGE_NOTE, exact=True).wait_for()  # the note, as text
    assert page.get_by_label("Note (optional)").input_value() == ""  # the form is ready for the next one
    assert page.locator("img[src*='example.com']").count() == 0

    with Journal(streamlit_server.db_path) as journal:
        (row,) = journal.checkins()
    assert (row["feeling"], row["pleasantness"], row["energy"], row["note"]) == ("proud", 2, 1, IMAGE_NOTE)

    pleasantness_panel = page.locator('[data-testid="stVegaLiteChart"]').first
    pleasantness_panel.locator("canvas, svg").first.wait_for(state="visible")
    page.wait_for_timeout(500)
    shown = tooltip_at_a_point(page, pleasantness_panel, "proud")
    assert shown is not None, "no mark for the check-in in the mood chart"
    assert "very pleasant" in shown
    screenshot(page, shots / "journal_checkin_chart.png")
    remote = [url for url in requests if not url.startswith(streamlit_server.url) and not url.startswith("data:")]
    assert remote == [], remote  # the image link in the note made no request
