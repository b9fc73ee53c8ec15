"""Real browser, keyboard only, on the two camera pages: Start camera is the first stop in the page's content,
its focus ring shows, and Enter starts the camera (frames come back and Xface reads them).

The button is streamlit-webrtc's, drawn in a frame of its own that the app's styles don't reach; the app's frame
script gives it the same ring as every other control (xface/app/ui/frame.py). Before: no ring at all, and 12
Tabs on a desk, 13 on a phone (where the closed menu's seven links, off the screen, took the focus).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import StreamlitServer
from tests.e2e.test_direct_visit_browser import APP_PAGES, contrast

pytestmark = pytest.mark.slow

WAIT_MS = 240_000
"""Generous: the first frame's analysis loads the model, slow on a small machine that is training too."""
DESK = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp/xface_camera_keyboard")
CAMERA_FRAME = 'iframe[title^="streamlit_webrtc"]'

FOCUSED = """() => {
    // The element with the keyboard focus, looking into frames: where it is, what it says, its ring.
    let element = document.activeElement, frame = null;
    while (element && element.tagName === "IFRAME" && element.contentDocument) {
        frame = element;
        element = element.contentDocument.activeElement;
    }
    const style = getComputedStyle(element), box = element.getBoundingClientRect();
    const inFrame = frame !== null;
    return {
        tag: element.tagName,
        name: (element.getAttribute("aria-label") || element.innerText || "").trim().split("\\n").pop(),
        testid: element.getAttribute("data-testid") || "",
        in_frame: inFrame,
        outline: style.outlineStyle, width: parseFloat(style.outlineWidth), offset: parseFloat(style.outlineOffset),
        colour: style.outlineColor,
        background: getComputedStyle(element.ownerDocument.body).backgroundColor,
        left: box.left, right: box.right, top: box.top, bottom: box.bottom,
        frame_width: inFrame ? frame.getBoundingClientRect().width : window.innerWidth,
        frame_height: inFrame ? frame.getBoundingClientRect().height : window.innerHeight,
    };
}"""


def tab_to_start_camera(page: Page, most: int = 30) -> list[dict]:
    """Press Tab from the page's start until Start camera has the focus; every stop on the way, in order."""
    stops = []
    for _ in range(most):
        page.keyboard.press("Tab")
        stops.append(page.evaluate(FOCUSED))
        if stops[-1]["in_frame"] and stops[-1]["name"].lower() == "start camera":
            return stops
    raise AssertionError(f"Start camera not reached in {most} Tabs: {[stop['name'] for stop in stops]}")


def is_app_frame(stop: dict) -> bool:
    """A stop that every page has before its content: the skip link, the app's name, the menu, the page itself."""
    return (
        stop["name"] in ("Skip to main content", "Navigate to home page", "Menu", *APP_PAGES) or stop["tag"] == "MAIN"
    )


def video_plays(page: Page) -> bool:
    video = page.frame_locator(CAMERA_FRAME).locator("video")
    return bool(video.count()) and video.first.evaluate("v => v.readyState >= 2 && v.currentTime > 0")


def start_by_keyboard(page: Page, tries: int = 3, wait_s: float = 30.0) -> None:
    """Enter on the focused Start camera; again, as a person would, if the button comes back with no video
    (now and then streamlit-webrtc's session ends before its first frame: see conftest.start_camera)."""
    start = page.frame_locator(CAMERA_FRAME).get_by_role("button", name="Start camera")
    for attempt in range(tries):
        if attempt:
            if not start.is_visible():
                continue
            start.focus()
        page.keyboard.press("Enter")
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if video_plays(page):
                return
            page.wait_for_timeout(250)
    raise AssertionError(f"no video after {tries} presses of Enter on Start camera")


@pytest.mark.parametrize(
    ("path", "title", "read"),
    [
        ("live_practice", "Live practice", re.compile(r"Face \d+: (looks|might be|not sure|no clear reading)")),
        ("mirror_practice", "Mirror practice", re.compile(r"^Xface reads: ")),
    ],
)
def test_start_camera_comes_first_with_a_visible_ring_and_enter_starts_the_camera(
    streamlit_server: StreamlitServer, browser_page: Page, path: str, title: str, read: re.Pattern
) -> None:
    page = browser_page
    page.set_default_timeout(WAIT_MS)
    SHOTS.mkdir(exist_ok=True)
    tabs = {}
    for name, size in (("phone", PHONE), ("desk", DESK)):  # the desk last: the camera is started there
        page.set_viewport_size(size)
        page.goto(f"{streamlit_server.url}/{path}")
        page.get_by_role("heading", name=title).wait_for()
        page.frame_locator(CAMERA_FRAME).get_by_role("button", name="Start camera").wait_for()
        page.locator('[data-test-script-state="notRunning"]').wait_for()

        stops = tab_to_start_camera(page)
        tabs[name] = len(stops)
        before = stops[:-1]
        assert all(is_app_frame(stop) for stop in before), [stop["name"] for stop in before]
        assert not any(stop["left"] < 0 or stop["right"] > size["width"] for stop in before), before  # all seen

        ring = stops[-1]
        page.screenshot(path=SHOTS / f"{path}_{name}.png")
        assert ring["outline"] == "solid" and ring["width"] >= 2, ring
        assert contrast(ring["colour"], ring["background"]) >= 3, ring
        reach = ring["width"] + ring["offset"]  # the ring is drawn this far outside the button: inside the frame?
        assert ring["left"] - reach >= 0 and ring["right"] + reach <= ring["frame_width"], ring
        assert ring["top"] - reach >= 0 and ring["bottom"] + reach <= ring["frame_height"], ring
    print(f"\n{path}: Tabs to Start camera: desk {tabs['desk']}, phone {tabs['phone']}")
    assert tabs["desk"] == 3 + len(APP_PAGES) + 1  # skip link, name, page, the menu's links; then the camera
    assert tabs["phone"] == 5  # skip link, name, Menu, page; then the camera

    start_by_keyboard(page)
    expect(page.get_by_text(read).first).to_be_visible(timeout=WAIT_MS)  # frames were read, not only shown
    page.screenshot(path=SHOTS / f"{path}_started.png")
