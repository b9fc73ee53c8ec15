"""The live page's video source: the camera, or this computer's screen (see xface/app/screen.py).

Streamlit widgets, so here in the ui package; the capture itself is in `xface.app.screen`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from xface.app.ui import CAMERA_WORDS, camera, frame_callback, served_beyond_localhost

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator
    from streamlit_webrtc import WebRtcStreamerContext

    from xface.app.live import LiveSession
    from xface.app.screen import ScreenArea

SCREEN_WORDS = {**CAMERA_WORDS, "start": "Start reading the screen", "stop": "Stop reading the screen"}


def video_source(
    key: str, live: LiveSession, servers: list[dict], choice_area: DeltaGenerator | None = None
) -> WebRtcStreamerContext:
    """The live page's video: the camera, or this computer's screen (the whole screen or one window).

    The choice between them is drawn in `choice_area` (a page's settings, so that on a phone the camera's
    picture and its words still fit on one screen), or under the video.
    `st.session_state[f"{key}_reading_screen"]` says which one the page shows."""
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    from xface.app.screen import screen_player

    above, video = st.container(), st.container()
    source = (choice_area or st).segmented_control(
        "Video source", ["Camera", "Screen"], default="Camera", key=f"{key}_source"
    )
    area = None
    if source == "Screen":
        with above:
            area = _screen_area(key)
    st.session_state[f"{key}_reading_screen"] = area is not None
    with video:
        if area is None:
            return camera(key, live, servers)
        return webrtc_streamer(
            key=f"{key}_screen_{area.window or 'all'}",
            mode=WebRtcMode.RECVONLY,
            rtc_configuration={"iceServers": servers},
            media_stream_constraints={"video": True, "audio": False},
            player_factory=lambda: screen_player(area),
            video_frame_callback=frame_callback(live),
            on_video_ended=live.stream_ended,
            async_processing=True,
            translations=SCREEN_WORDS,
        )


def _screen_area(key: str) -> ScreenArea | None:
    """The privacy sentences and what to read (the whole screen or a window); None, after one sentence saying
    why, where the screen can't be read (a server for other computers, Wayland, no permission)."""
    from xface.app.screen import ONLY_LOCAL, PRIVACY, ScreenArea, capture_problem, open_windows

    if served_beyond_localhost():
        st.info(ONLY_LOCAL)
        return None
    st.info("\n\n".join(PRIVACY))
    windows = {f"Window: {w.title} ({w.size})": w.id for w in open_windows()}
    choice = st.selectbox("What to read", ["The whole screen", *windows], key=f"{key}_screen_area")
    area = ScreenArea(window=windows.get(choice))
    problems = st.session_state.setdefault(f"{key}_screen_problems", {})
    if area not in problems:
        problems[area] = capture_problem(area)
    if problems[area]:
        st.warning(problems[area])
        return None
    return area
