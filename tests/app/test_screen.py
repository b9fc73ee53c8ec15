"""The screen source: which grabber each system uses, and a plain sentence wherever capture can't work.

The capture itself is tested on a real X server (Xvfb) in tests/e2e/test_screen_browser.py; here the
refusals, which need no screen: no display, Wayland, a display that is not there.
"""

from __future__ import annotations

import pytest

from xface.app.screen import VIRTUAL_CAMERA, ScreenArea, capture_problem, screen_input


def test_each_system_has_its_grabber() -> None:
    linux = screen_input(ScreenArea(10, 20, 640, 360), fps=10, platform="linux", env={"DISPLAY": ":3"})
    assert (linux.file, linux.format, linux.options["video_size"]) == (":3+10,20", "x11grab", "640x360")
    window = screen_input(ScreenArea(window="0x200008"), platform="linux", env={"DISPLAY": ":3"})
    assert window.options["window_id"] == str(0x200008) and "video_size" not in window.options
    assert screen_input(ScreenArea(window="Call"), platform="win32").file == "title=Call"
    assert screen_input(platform="darwin").format == "avfoundation"
    with pytest.raises(ValueError, match="can't read the screen on this system"):
        screen_input(platform="sunos5")


@pytest.mark.parametrize(
    "env, words",
    [
        ({}, "No screen is available to this program"),
        ({"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}, "This desktop uses Wayland"),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "This desktop uses Wayland"),
        ({"DISPLAY": ":87"}, "The screen can't be read here"),  # no X server there
    ],
)
def test_where_capture_cant_work_one_sentence_says_so_with_the_way_round(env: dict, words: str) -> None:
    problem = capture_problem(platform="linux", env=env)
    assert problem is not None and problem.startswith(words) and problem.endswith(VIRTUAL_CAMERA)
