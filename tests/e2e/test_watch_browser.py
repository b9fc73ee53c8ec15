"""Real browser: upload the real Pexels clip to the Watch page, see its timeline and a moment, guess one, export CSV.

Screenshots go to $XFACE_SCREENSHOTS (a folder) when set, else into the test's temporary folder.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.clips import PEXELS, truncate_bytes
from tests.e2e.conftest import press_until
from tests.e2e.test_quiz_journal_browser import open_page, screenshot, screenshots, stored_answers

pytestmark = pytest.mark.slow

ANALYSIS_TIMEOUT_MS = 300_000
"""Loading the model and reading a 20 s clip on a busy two-core machine can take a few minutes."""


def scrub_to(page, seconds: float) -> None:
    """Move the moment slider with the keyboard, a tenth of a second a press, until it says `seconds`."""
    slider = page.get_by_role("slider", name=re.compile("Moment"))
    while (now := float(slider.get_attribute("aria-valuetext").split()[0])) != seconds:
        slider.focus()
        page.keyboard.press("ArrowRight" if now < seconds else "ArrowLeft")


def guess(page, word: str) -> None:
    """Pick a guess among the emotion pills."""
    page.get_by_test_id("stButtonGroup").get_by_text(word, exact=True).click()


def moment_time(page, number: int) -> str:
    """The clip time of moment ``number`` as the page says it ("Moment 1 of 2: face 1 at 0:02.9")."""
    heading = page.get_by_text(re.compile(rf"Moment {number} of 2: face 1 at \d+:\d\d\.\d"))
    heading.wait_for()
    return re.search(r"at (\d+:\d\d\.\d)", heading.first.inner_text()).group(1)


def test_a_clip_is_read_its_timeline_shown_and_a_moment_guessed_and_stored(
    streamlit_server, browser_page, tmp_path, evidence
):
    page = browser_page
    shots = screenshots(tmp_path)
    open_page(page, f"{streamlit_server.url}/watch")
    page.get_by_role("heading", name="Watch").wait_for()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(PEXELS))
    page.get_by_role("button", name="Read this clip").click()

    page.get_by_role("radio", name="Timeline").click(timeout=ANALYSIS_TIMEOUT_MS)
    page.get_by_text("1 face in 0:19.7").wait_for()
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.locator("canvas, svg").first.wait_for(state="visible")
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100  # a drawn chart, not an empty frame
    frame = page.locator('[data-testid="stImage"] img:visible').first
    frame.wait_for(state="visible")
    assert frame.evaluate("img => img.complete && img.naturalWidth >= 640")  # the clip's frame, full size
    page.get_by_text("The clip at 0:00.0").wait_for()

    # Scrub: the slider moves the moment, and the frame shown follows.
    scrub_to(page, 3.0)
    page.get_by_text("The clip at 0:03.0").wait_for()
    screenshot(page, shots / "watch_timeline.png")

    # Guess the first moment: the label is hidden until the guess, then the reading and what changed.
    page.get_by_role("radio", name="Guess the moment").click()
    first = moment_time(page, 1)  # while she cries (0:01-0:07)
    assert "0:01.0" <= first <= "0:07.0", first
    assert page.get_by_text("You said").count() == 0
    guess(page, "sad")
    page.get_by_text("You said sad").wait_for()
    page.get_by_text("What people would read:").wait_for()
    page.get_by_text(re.compile(r"Of 10 people, about \d+ sad")).wait_for()
    (answer,) = stored_answers(streamlit_server.db_path)
    assert (answer["guess"], answer["answer"], answer["face_source"]) == ("sad", "sad", "clip")
    assert answer["question"] == f"a clip at {first}, face 1"  # the clip's name only when allowed

    first_shown = page.get_by_text(re.compile(r"Moment 1 of 2: "))
    next_moment = page.get_by_role("button", name="Next moment")
    press_until(next_moment, page.get_by_text(re.compile(r"Moment 2 of 2: ")), before=first_shown)
    second = moment_time(page, 2)  # while she laughs (after 0:10)
    assert "0:10.0" <= second <= "0:19.9", second
    page.get_by_text("Keep the clip's name with my guesses in the journal").click()
    guess(page, "happy")
    page.get_by_text("What changed:").wait_for()
    page.get_by_text(re.compile(rf"Since {re.escape(first)}[,:]")).wait_for()
    answers = stored_answers(streamlit_server.db_path)
    # Each guess once (the browser may send the first pick again with the next click).
    assert [a["question"] for a in answers] == [
        f"a clip at {first}, face 1",
        f"woman_emotions_pexels.mp4 at {second}, face 1",
    ]
    screenshot(page, shots / "watch_guess.png")

    page.get_by_role("radio", name="Timeline").click()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export the readings (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
    assert 190 <= len(rows) <= 200 and {row["face_id"] for row in rows} == {"1"}
    assert rows[0]["file"] == "woman_emotions_pexels.mp4" and float(rows[-1]["time"]) > 19


def test_reading_a_clip_can_be_stopped_and_keeps_nothing(streamlit_server, browser_page, tmp_path):
    """A film scene takes minutes to read: Stop reading ends it, and the page offers to read the clip again."""
    import subprocess

    long_clip = tmp_path / "long_scene.mp4"  # the real clip three times over: a minute
    subprocess.run(
        ["ffmpeg", "-v", "error", "-stream_loop", "2", "-i", str(PEXELS), "-c", "copy", str(long_clip)], check=True
    )
    page = browser_page
    open_page(page, f"{streamlit_server.url}/watch")
    page.get_by_role("heading", name="Watch").wait_for()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(long_clip))
    page.get_by_role("button", name="Read this clip").click()
    page.get_by_text(re.compile(r"\d+:\d\d\.\d of 0:59")).wait_for(timeout=ANALYSIS_TIMEOUT_MS)  # reading
    screenshot(page, screenshots(tmp_path) / "watch_reading.png")
    page.get_by_role("button", name="Stop reading").click()
    expect(page.get_by_role("button", name="Stop reading")).to_have_count(0)
    expect(page.get_by_role("progressbar")).to_have_count(0)
    expect(page.get_by_role("button", name="Read this clip")).to_be_visible()
    assert page.get_by_role("radio", name="Timeline").count() == 0  # nothing read is kept
    assert not stored_answers(streamlit_server.db_path)


def test_a_download_cut_short_is_shown_up_to_the_cut_with_a_warning(streamlit_server, browser_page, tmp_path):
    """A download that stopped half way: the page reads what is there, says where it stopped, and the timeline
    ends there (not at the 20 s the file still claims). At phone width, as such a file often comes from a phone."""
    import subprocess

    download = tmp_path / "scene_download.mp4"
    subprocess.run(  # the index first, as web video has it: cut short, the file still plays up to the cut
        ["ffmpeg", "-v", "error", "-i", str(PEXELS), "-c", "copy", "-movflags", "+faststart", str(download)], check=True
    )
    truncate_bytes(download, 0.5)
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    open_page(page, f"{streamlit_server.url}/watch")
    page.get_by_role("heading", name="Watch").wait_for()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(download))
    page.get_by_role("button", name="Read this clip").click()
    warning = page.get_by_text(re.compile(r"^scene_download\.mp4: the (video is damaged|pictures stop at)"))
    warning.wait_for(timeout=ANALYSIS_TIMEOUT_MS)
    said = warning.inner_text()
    assert re.search(r"Readings are shown up to 0:\d\d\.\d\.$", said), said
    cut_at = re.search(r"up to (0:\d\d\.\d)", said).group(1)
    assert "0:05.0" < cut_at < "0:15.0", said  # about half of the 20 s clip
    # The reading is over: its Read and Stop buttons are gone, the clip can be forgotten.
    expect(page.get_by_role("button", name="Stop reading")).to_have_count(0)
    expect(page.get_by_role("button", name="Read this clip")).to_have_count(0)
    expect(page.get_by_role("button", name="Forget this clip")).to_be_visible()
    screenshot(page, screenshots(tmp_path) / "watch_cut_short_phone.png")
    page.get_by_role("radio", name="Timeline").click()
    page.get_by_text(re.compile(rf"1 face in {re.escape(cut_at)}\.")).wait_for()
    expect(warning).to_have_count(1)  # said once, in this view too
    expect(warning).to_be_visible()
