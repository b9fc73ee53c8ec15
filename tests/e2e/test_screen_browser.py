"""Real browser, real screen: the live page's Screen source reads a face from a window that plays a clip.

An X server of its own (Xvfb) shows the Pexels clip in an ffplay window; the Streamlit server runs on
that display, the page lists the window, and the faces in it get cards as from a camera.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.clips import PEXELS
from tests.e2e.conftest import StreamlitServer

pytestmark = pytest.mark.slow

CARD = re.compile(r"Face \d+: (looks|might be|not sure)")
WAIT_MS = 240_000
WINDOW = "xface-test-clip"
WINDOW_WAIT_S = 30.0


def show_clip(display: str, tries: int = 3) -> subprocess.Popen:
    """Start ffplay showing the clip in a window named WINDOW on `display`, and wait until the window is there.

    SDL is held to X11: left to choose, it once went on playing without any window (no X connection at all) and the
    wait never ended. A player that shows no window in time is stopped and started again."""
    for _ in range(tries):
        player = subprocess.Popen(
            ["ffplay", "-loglevel", "error", "-an", "-loop", "0", "-left", "100", "-top", "60"]
            + ["-window_title", WINDOW, str(PEXELS)],
            env={"DISPLAY": display, "SDL_VIDEODRIVER": "x11", "SDL_AUDIODRIVER": "dummy", "PATH": "/usr/bin:/bin"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + WINDOW_WAIT_S
        while time.monotonic() < deadline and player.poll() is None:
            windows = subprocess.run(
                ["xwininfo", "-root", "-tree"], env={"DISPLAY": display}, capture_output=True, text=True
            ).stdout
            if WINDOW in windows:
                return player
            time.sleep(0.1)
        player.terminate()
        player.wait()
    raise AssertionError(f"ffplay showed no window on {display} in {tries} tries")


@pytest.fixture
def screen_with_a_clip() -> Iterator[str]:
    """An Xvfb display with the clip looping in a window named WINDOW; yields the DISPLAY value."""
    if shutil.which("Xvfb") is None or shutil.which("ffplay") is None:
        pytest.fail("Xvfb and ffplay are needed: apt-get install xvfb ffmpeg")
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    number = xvfb.stdout.readline().strip()
    assert number.isdigit(), "Xvfb did not start"
    display = f":{number}"
    try:
        player = show_clip(display)
        try:
            yield display
        finally:
            player.terminate()
            player.wait()
    finally:
        xvfb.terminate()
        xvfb.wait()


def start_screen(page, tries: int = 3, wait_s: float = 30.0) -> None:
    """Press Start, and again if no video comes (as `start_camera` does: a first press can be lost)."""
    player = page.frame_locator('iframe[title*="streamlit_webrtc"]')
    video = player.locator("video")
    for attempt in range(tries):
        start = player.get_by_role("button", name="Start reading the screen")
        if attempt == 0 or start.is_visible():
            start.click()
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if video.count() and video.first.evaluate("v => v.readyState >= 2 && v.currentTime > 0"):
                return
            page.wait_for_timeout(250)
    raise AssertionError(f"the screen's video did not start after {tries} presses of Start")


def test_the_screen_source_reads_a_face_in_a_window_playing_a_clip(screen_with_a_clip, browser_page, tmp_path):
    server = StreamlitServer(tmp_path / "journal.db", env={"DISPLAY": screen_with_a_clip})
    page = browser_page
    try:
        page.set_default_timeout(WAIT_MS)
        page.goto(f"{server.url}/live_practice")
        page.get_by_role("heading", name="Live practice").wait_for()
        page.get_by_role("radio", name="Screen").click()
        page.get_by_text("Tell the others in the call that you use a tool that reads faces.").wait_for()
        page.get_by_text("in the EU it is not allowed at work or in schools").wait_for()
        page.get_by_text("What to read").wait_for()
        page.get_by_text("Press Start reading the screen under the video area to begin.").wait_for()
        page.get_by_test_id("stSelectbox").click()
        page.get_by_role("option", name=re.compile(f"Window: {WINDOW}")).click()
        start_screen(page)
        page.get_by_role("heading", name=CARD).first.wait_for()
        video = page.frame_locator('iframe[title*="streamlit_webrtc"]').locator("video").first
        assert video.evaluate("v => v.videoWidth") == 640  # the window alone, not the whole screen
        page.screenshot(path=str(tmp_path / "screen.png"))
    except Exception:
        page.screenshot(path=str(tmp_path / "screen_failed.png"), full_page=True)
        print(f"screenshot: {tmp_path / 'screen_failed.png'}\nserver log and stacks:\n{server.stacks()}")
        raise
    finally:
        server.stop()
