"""The screen as the live page's video source: read the faces of a video call on this computer.

The screen is captured by FFmpeg's own screen grabbers through PyAV, as aiortc's `MediaPlayer`
(x11grab on Linux with X11, gdigrab on Windows, avfoundation on macOS): nothing new to install. The
frames go through the same `LiveSession` as the camera (boxes, readings, one cue line per face) and
are sent to the browser on this computer only; nothing is kept unless the person records readings.

It runs only when the server is on the person's own computer: captured from anywhere else, "the
screen" would be the server's screen, not the person's. Where capture can't work (Wayland, no display,
no permission) `capture_problem` says why in one sentence, with the virtual-camera way round it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

SCREEN_FPS = 10
"""Frames a second taken from the screen: what the analysis keeps up with, and a light load beside a call."""

PRIVACY = (
    "Xface reads the faces on your screen here, on this computer. Nothing is sent anywhere and no pictures are "
    "kept. Only if you press Start recording are the readings saved in your journal, as numbers.",
    "Tell the others in the call that you use a tool that reads faces. They should know, and may say no.",
    "Some places restrict emotion reading. For example, in the EU it is not allowed at work or in schools, "
    "except for medical or safety reasons.",
)
"""What the live page says before the screen is read, one sentence each."""

VIRTUAL_CAMERA = (
    "Another way: send the call's window to a virtual camera (OBS Studio's Virtual Camera; on Linux, "
    "v4l2loopback) and choose that camera with the Camera source."
)
ONLY_LOCAL = (
    "The screen can only be read when Xface runs on this computer; it is being served to other computers now, "
    "so use the camera instead."
)


@dataclass(frozen=True)
class ScreenArea:
    """The part of the screen to read: one window (`window`: its X11 id, or its title on Windows), or a
    region in screen pixels; nothing given: the whole screen."""

    left: int = 0
    top: int = 0
    width: int | None = None
    height: int | None = None
    window: str | None = None


@dataclass(frozen=True)
class Window:
    id: str
    title: str
    size: str


_WINDOW_LINE = re.compile(r'^\s*(0x[0-9a-f]+) "(.*)": \(.*\)\s+(\d+x\d+)\+')


def open_windows(env: Mapping[str, str] = os.environ) -> list[Window]:
    """The named, visible-sized windows of this X11 screen (from `xwininfo`; none where it is missing)."""
    if not env.get("DISPLAY") or shutil.which("xwininfo") is None:
        return []
    try:
        listing = subprocess.run(
            ["xwininfo", "-root", "-tree"], capture_output=True, text=True, timeout=5, env=dict(env), check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    windows = []
    for line in listing.splitlines():
        if (found := _WINDOW_LINE.match(line)) and found.group(2):
            width, height = (int(v) for v in found.group(3).split("x"))
            if width >= 160 and height >= 120:
                windows.append(Window(found.group(1), found.group(2), found.group(3)))
    return windows


@dataclass(frozen=True)
class ScreenInput:
    """What FFmpeg opens to grab the screen: the device name, its format and options."""

    file: str
    format: str
    options: dict[str, str]


def screen_input(
    area: ScreenArea = ScreenArea(),
    fps: int = SCREEN_FPS,
    platform: str = sys.platform,
    env: Mapping[str, str] = os.environ,
) -> ScreenInput:
    """The grabber for this system; raises ValueError with a sentence on a system without one."""
    options = {"framerate": str(fps)}
    if area.width and area.height and not area.window:
        options["video_size"] = f"{area.width}x{area.height}"
    if platform.startswith("linux"):
        options["draw_mouse"] = "0"
        display = env.get("DISPLAY", ":0")
        if area.window:
            return ScreenInput(display, "x11grab", {**options, "window_id": str(int(area.window, 0))})
        return ScreenInput(f"{display}+{area.left},{area.top}", "x11grab", options)
    if platform == "win32":
        options["draw_mouse"] = "0"
        if area.window:
            return ScreenInput(f"title={area.window}", "gdigrab", options)
        options.update(offset_x=str(area.left), offset_y=str(area.top))
        return ScreenInput("desktop", "gdigrab", options)
    if platform == "darwin":
        options = {"framerate": str(fps), "capture_cursor": "0", "pixel_format": "bgr0"}
        return ScreenInput("Capture screen 0", "avfoundation", options)
    raise ValueError(f"Xface can't read the screen on this system ({platform}). {VIRTUAL_CAMERA}")


def capture_problem(
    area: ScreenArea = ScreenArea(), platform: str = sys.platform, env: Mapping[str, str] = os.environ
) -> str | None:
    """Why the screen can't be read here, in one sentence (and the way round it), or None when it can.

    Tries to take one frame, as the live page would: that finds a missing display, a refused permission
    or an area off the screen before the person presses Start."""
    if platform.startswith("linux"):
        if env.get("XDG_SESSION_TYPE") == "wayland" or (env.get("WAYLAND_DISPLAY") and not env.get("DISPLAY")):
            return (
                "This desktop uses Wayland, which does not let programs read the screen this way "
                f"(only X11 windows, or nothing). {VIRTUAL_CAMERA}"
            )
        if not env.get("DISPLAY"):
            return f"No screen is available to this program (no X11 display is set). {VIRTUAL_CAMERA}"
    try:
        grabber = screen_input(area, platform=platform, env=env)
    except ValueError as error:
        return str(error)
    import av

    try:
        with av.open(grabber.file, format=grabber.format, options=grabber.options, timeout=5) as container:
            next(container.decode(video=0))
    except (av.error.FFmpegError, OSError, StopIteration) as error:
        reason = getattr(error, "strerror", None) or "no picture came"
        allow = (
            " Allow Screen Recording for the program that runs Xface (System Settings, Privacy & Security)."
            if platform == "darwin"
            else ""
        )
        return f"The screen can't be read here ({reason}).{allow} {VIRTUAL_CAMERA}"
    return None


def screen_player(area: ScreenArea = ScreenArea(), fps: int = SCREEN_FPS):
    """A fresh aiortc `MediaPlayer` on the screen (streamlit-webrtc's `player_factory` calls this per session)."""
    from aiortc.contrib.media import MediaPlayer

    grabber = screen_input(area, fps)
    return MediaPlayer(grabber.file, format=grabber.format, options=grabber.options)
