"""The thin Streamlit layer: cached resources, the passcode gate and the app's frame. Pages import from here.

This package is the only place in `xface` that imports Streamlit; `ui.frame` holds what every page shares (name,
focus ring, menu button), `ui.widgets` the camera pages' widgets.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import runpy
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple, TypeVar

import streamlit as st

from xface.journal.feelings import BODY_PLACES, ENERGY, GRID, PLEASANTNESS, words_near

if TYPE_CHECKING:
    from streamlit_webrtc import WebRtcStreamerContext

    from xface.app.live import LiveSession
    from xface.journal.store import Journal

APP_SCRIPT = Path(__file__).resolve().parents[3] / "app.py"
LOCAL_ADDRESSES = {"localhost", "127.0.0.1", "::1"}
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:&])")


@st.cache_resource(show_spinner="Loading the expression model…")
def analyzer():
    """One Analyzer per server process: the model loads once and is shared by every page."""
    from xface.app.live import APP_THREADS
    from xface.vision.pipeline import Analyzer

    return Analyzer(threads=APP_THREADS)


Loaded = TypeVar("Loaded")


def models_or_stop(load: Callable[[], Loaded], activity: str) -> Loaded:
    """What `load` makes from the models; if they can't be loaded, say so on the page and stop it there."""
    try:
        return load()
    except (OSError, ValueError, RuntimeError) as error:
        st.error(f"The expression model can't be loaded, so {activity} is not available: {error}")
        st.stop()


def enter_page() -> None:
    """Run the page through app.py when Streamlit opened it on its own; call first in every page.

    A fresh server that is first asked for a page URL (a bookmark to /journal) runs that page file
    directly in Streamlit's old `pages/` folder mode: no passcode gate, file names as navigation.
    app.py's `st.navigation` then takes over and runs this same page, now inside the app.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        runpy.run_path(str(APP_SCRIPT), run_name="__main__")
        st.stop()


def journal() -> Journal | None:
    """The journal for this browser session, or None after showing why it can't be opened.

    The passcode gate is checked here too, at the only door to journal data, so a page reached
    any way at all (even without the navigation in app.py) shows nothing private while locked.
    """
    if not unlocked():
        st.stop()
    if "journal" not in st.session_state:
        from xface.journal.schema import JournalError  # here, not at the top: sqlite-utils takes 0.6 s to import
        from xface.journal.store import Journal

        try:
            st.session_state.journal = Journal()
        except JournalError as error:
            st.error(f"The journal can't be opened: {error}")
            return None
    return st.session_state.journal


def say(place: str, kind: Literal["success", "warning", "error"], text: str) -> None:
    """Keep a message for the page's next run (callbacks run before the page draws), to be shown by
    `show_said(place)` where the person was looking: after "Delete everything" at the bottom of a long
    page, a message at its top was 1,300 px away."""
    st.session_state[f"said_{place}"] = (kind, text)


def show_said(place: str) -> None:
    """The message kept for ``place``, once."""
    if message := st.session_state.pop(f"said_{place}", None):
        {"success": st.success, "warning": st.warning, "error": st.error}[message[0]](message[1])


def escape_markdown(text: object) -> str:
    """Text that Streamlit's Markdown shows literally: a file name or note can't format, link or embed anything."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text))


def served_beyond_localhost() -> bool:
    """True when other computers can reach this server (an empty address means every interface)."""
    return (st.get_option("server.address") or "") not in LOCAL_ADDRESSES


def configured_passcode() -> str | None:
    """XFACE_PASSCODE, else `passcode` in .streamlit/secrets.toml (a TOML number such as 1234 counts as its digits).

    Raises ValueError (a sentence) for a secrets passcode that is neither text nor a whole number.
    """
    if os.environ.get("XFACE_PASSCODE"):
        return os.environ["XFACE_PASSCODE"]
    try:
        passcode = st.secrets.get("passcode")
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return None
    if isinstance(passcode, int) and not isinstance(passcode, bool):
        passcode = str(passcode)
    if passcode is not None and not isinstance(passcode, str):
        raise ValueError(
            'The passcode in .streamlit/secrets.toml must be text in quotes, like passcode = "quiet river".'
        )
    return passcode or None


def answer_to_localhost_too() -> None:
    """Keep localhost working when the person lists extra names in server.allowedHosts.

    Streamlit's own WebSocket check accepts only the listed names once the list is set; Xface's host gate
    (xface/app/gate.py) accepts localhost plus the list, and Streamlit must agree with it.
    """
    from streamlit import config

    from xface.app.gate import LOCAL_NAMES

    names = list(st.get_option("server.allowedHosts") or [])
    if names:
        config.set_option("server.allowedHosts", list(dict.fromkeys([*names, *LOCAL_NAMES, "127.0.0.1", "::1"])))


def allowed_hosts() -> list[str]:
    """Host names the person added for the server (server.allowedHosts, or the one address it listens on)."""
    names = list(st.get_option("server.allowedHosts") or [])
    address = st.get_option("server.address") or ""
    return names + ([address] if address not in ("", "0.0.0.0", "::") else [])


def allowed_origins() -> list[str]:
    """Other sites the person lets open the app's WebSocket (server.corsAllowedOrigins): none by default."""
    return list(st.get_option("server.corsAllowedOrigins") or [])


def keep_streamlit_offline() -> None:
    """Streamlit looks up this computer's public address at checkip.amazonaws.com, to print an "External URL"
    and to judge a WebSocket from another site. Xface sends nothing anywhere: it has no public address to know."""
    from streamlit import net_util

    net_util.get_external_ip = lambda: None


def unlocked() -> bool:
    """On localhost: always. Beyond it: only after the right passcode; without one set, never.

    Behind app.py's server gate (xface/app/gate.py) the browser gave the passcode before the app loaded,
    and its unlock cookie says so; the form below is the second lock for any other way in.
    """
    from xface.app.gate import is_unlock_token

    if not served_beyond_localhost() or st.session_state.get("unlocked"):
        return True
    try:
        expected = configured_passcode()
    except ValueError as error:  # app.py refuses to start with it; this covers any other way in
        st.error(str(error))
        return False
    if expected is not None and is_unlock_token(_unlock_cookie(), expected):
        st.session_state.unlocked = True
        return True
    st.title("Xface")
    if expected is None:
        st.error(
            "Xface is being served beyond this computer, but no passcode is set. Journal data stays "
            "hidden. Set XFACE_PASSCODE (or `passcode` in .streamlit/secrets.toml) and restart."
        )
        return False
    given = st.text_input("Passcode", type="password", help="Ask the person who runs this Xface.")
    if given and hmac.compare_digest(given.encode(), expected.encode()):
        st.session_state.unlocked = True
        st.rerun()
    elif given:
        st.error("That passcode is not right.")
    return False


def _unlock_cookie() -> str:
    """The browser's unlock cookie from the server gate, or "" (none, or outside a browser session as in AppTest)."""
    from xface.app.gate import COOKIE

    try:
        value = st.context.cookies.get(COOKIE)
    except (AttributeError, RuntimeError):
        return ""
    return value if isinstance(value, str) else ""


def drawn_key(button: str, drawn_for: int | str | None) -> str:
    """The key of a button (or pills) that adds to the journal or moves a round on, named by what it was drawn for.

    One press must act once, on what the person saw. Streamlit calls a callback with the arguments of the latest
    drawing under its key, which a redraw may have moved on since; and when a newer press cuts short the page run
    that a press started, Streamlit may run that press's callback again. So such a button's key carries what it was
    drawn for (the place in a round, the moment, the face, the form), its callback gets the same value and acts only
    while that is still what is shown: a second call finds it moved on, or already answered, and does nothing.
    """
    return f"{button}_{drawn_for}"


def open_checkin(prefix: str, session_id: int | None) -> None:
    """Offer a fresh check-in for this session (None offers none); it stays until `forget_checkin`."""
    forget_checkin(prefix)
    st.session_state[f"{prefix}session"] = session_id


def checkin_session(prefix: str) -> int | None:
    """The session whose check-in is on offer, if any."""
    return st.session_state.get(f"{prefix}session")


def clear_checkin(prefix: str) -> None:
    """Put a check-in form that stays on the page back to its start (call from a callback).

    Widget values are set, not deleted: a deleted key lets the browser keep showing the old text.
    """
    state = st.session_state
    for key in [k for k in state if str(k).startswith(f"{prefix}word_")]:
        state[key] = None
    state[f"{prefix}pleasantness"] = state[f"{prefix}energy"] = 0
    state[f"{prefix}intensity"] = 3
    state[f"{prefix}own_words"] = state[f"{prefix}note"] = ""
    state[f"{prefix}body"] = []
    state[f"{prefix}earlier"] = False


def forget_checkin(prefix: str) -> None:
    """Forget a check-in form, its session and what was typed in it, so the next one starts empty."""
    for key in [k for k in st.session_state if str(k).startswith(prefix)]:
        st.session_state.pop(key, None)


INTENSITY = {1: "1 · barely", 2: "2 · a little", 3: "3 · clearly", 4: "4 · strongly", 5: "5 · very strongly"}
MOST_WORDS = 12
"""Words offered for one place on the grid: enough to choose from, few enough to read."""


def offered_words(pleasantness: int, energy: int) -> list[str]:
    """The wheel words at this place on the grid, then the nearest ones, at most MOST_WORDS."""
    return words_near(pleasantness, energy, reach=1)[:MOST_WORDS]


def fill_checkin(prefix: str, row: dict) -> None:
    """Put a stored check-in into the form's widgets (to correct it); call from a button's callback."""
    state = st.session_state
    forget_checkin(prefix)
    place = (row["pleasantness"], row["energy"])
    if None in place:
        place = (0, 0)
    state[f"{prefix}pleasantness"], state[f"{prefix}energy"] = place
    if row["feeling"] in offered_words(*place):
        state[f"{prefix}word_{place[0]}_{place[1]}"] = row["feeling"]
    state[f"{prefix}own_words"] = row["own_words"]
    state[f"{prefix}intensity"] = row["intensity"]
    state[f"{prefix}body"] = list(row["body"])
    state[f"{prefix}note"] = row["note"]
    local = datetime.fromisoformat(row["at"]).astimezone()
    state[f"{prefix}earlier"] = True
    state[f"{prefix}day"], state[f"{prefix}time"] = local.date(), local.time().replace(second=0, microsecond=0)


def checkin_fields(prefix: str, *, with_time: bool = False) -> None:
    """The check-in widgets: the Mood Meter's two questions, the words that sit there, strength, body, note.

    Pills and sliders only: no widget here has a small clear button that Enter could press by mistake.
    Every key starts with `prefix`; `checkin_values` reads them back.
    """
    from xface.journal.schema import MAX_NOTE_CHARS, MAX_OWN_WORDS_CHARS

    state = st.session_state
    state.setdefault(f"{prefix}pleasantness", 0)
    state.setdefault(f"{prefix}energy", 0)
    state.setdefault(f"{prefix}intensity", 3)
    left, right = st.columns(2)
    # The ends in the label: Streamlit shows a slider's ends only while it is hovered or focused.
    pleasantness = left.select_slider(
        f"How pleasant does it feel? ({PLEASANTNESS[-2]} to {PLEASANTNESS[2]})",
        options=list(PLEASANTNESS),
        format_func=PLEASANTNESS.get,
        key=f"{prefix}pleasantness",
    )
    energy = right.select_slider(
        f"How much energy do you have? ({ENERGY[-2]} to {ENERGY[2]})",
        options=list(ENERGY),
        format_func=ENERGY.get,
        key=f"{prefix}energy",
    )
    words = offered_words(pleasantness, energy)
    word = st.pills("Words that sit here (pick one, or none)", words, key=f"{prefix}word_{pleasantness}_{energy}")
    if word:
        st.text(f"{word.capitalize()}: {GRID[word].means}")
    with st.expander("What do these words mean?"):
        st.text("\n".join(f"{w}: {GRID[w].means}" for w in words))
    # Never shorter than what it holds: the box cuts its value to max_chars, and an older Xface kept longer own words.
    longest = max(MAX_OWN_WORDS_CHARS, len(state.get(f"{prefix}own_words") or ""))
    st.text_input("Or say it in your own words", key=f"{prefix}own_words", max_chars=longest)
    st.select_slider(
        f"How strong is it? ({INTENSITY[1]} to {INTENSITY[5]})",
        options=list(INTENSITY),
        format_func=INTENSITY.get,
        key=f"{prefix}intensity",
    )
    st.pills("Where do you notice it in your body?", BODY_PLACES, selection_mode="multi", key=f"{prefix}body")
    st.text_area(
        "Note (optional)", key=f"{prefix}note", max_chars=MAX_NOTE_CHARS, placeholder="What happened, what helped…"
    )
    if with_time and st.toggle("It was earlier", key=f"{prefix}earlier"):
        now = datetime.now()
        state.setdefault(f"{prefix}day", now.date())
        state.setdefault(f"{prefix}time", now.time().replace(second=0, microsecond=0))
        day, moment = st.columns(2)
        day.date_input("Day", key=f"{prefix}day", max_value=now.date(), format="YYYY-MM-DD")
        moment.time_input("Time", key=f"{prefix}time", step=timedelta(minutes=15))


def checkin_values(prefix: str) -> dict:
    """What the check-in widgets hold, as keyword arguments for `Journal.add_checkin` / `update_checkin`."""
    state = st.session_state
    pleasantness, energy = state.get(f"{prefix}pleasantness", 0), state.get(f"{prefix}energy", 0)
    values = {
        "feeling": state.get(f"{prefix}word_{pleasantness}_{energy}"),
        "core": None,
        "pleasantness": pleasantness,
        "energy": energy,
        "own_words": (state.get(f"{prefix}own_words") or "").strip(),
        "intensity": int(state.get(f"{prefix}intensity", 3)),
        "body": list(state.get(f"{prefix}body") or []),
        "note": state.get(f"{prefix}note") or "",
    }
    if state.get(f"{prefix}earlier") and state.get(f"{prefix}day") and state.get(f"{prefix}time"):
        values["at"] = datetime.combine(state[f"{prefix}day"], state[f"{prefix}time"])
    return values


def _save_session_checkin(journal: Journal, session_id: int, prefix: str) -> None:
    """Save the check-in once: a second call of the same press finds it saved (`drawn_key`)."""
    from xface.journal.schema import JournalError

    if st.session_state.get(f"{prefix}saved"):
        return
    values = checkin_values(prefix)
    try:
        journal.add_checkin(**values, session_id=session_id)
    except (ValueError, JournalError) as error:
        st.session_state[f"{prefix}error"] = str(error)
        return
    felt = values["own_words"] or values["feeling"] or "no word"
    where = f" in: {', '.join(values['body'])}" if values["body"] else ""
    text = f"Felt: {felt} ({PLEASANTNESS[values['pleasantness']]}, {ENERGY[values['energy']]} energy){where}"
    st.session_state[f"{prefix}saved"] = text + (f"\nNote: {values['note']}" if values["note"] else "")


def session_checkin(journal: Journal, session_id: int, prefix: str) -> None:
    """ "How did you feel?" after a live recording or a quiz round, saved linked to that session.

    Every key (widgets, the offered session) starts with `prefix`, so each page keeps its own
    check-in; Skip and Done forget it.
    """
    if saved := st.session_state.get(f"{prefix}saved"):
        st.success("Your check-in is saved in the journal.")
        st.text(saved)
        st.button("Done", key=f"{prefix}done", on_click=forget_checkin, args=(prefix,))
        return
    st.markdown("**How did you feel?** Naming it, even roughly, is the practice. You can skip this.")
    checkin_fields(prefix)
    if error := st.session_state.pop(f"{prefix}error", None):
        st.error(error)
    with st.container(horizontal=True):
        st.button(
            "Save check-in",
            type="primary",
            key=f"{prefix}save",
            on_click=_save_session_checkin,
            args=(journal, session_id, prefix),
        )
        st.button("Skip", key=f"{prefix}skip", on_click=forget_checkin, args=(prefix,))


CAMERA_WORDS = {
    "start": "Start camera",
    "stop": "Stop camera",
    "select_device": "Choose camera",
    "device_ask_permission": "Please allow Xface to use your camera: look for a question near the address bar.",
    "device_access_denied": "The camera is blocked for this page. Allow it in the browser's site settings "
    "(the camera or lock icon by the address bar), then reload the page.",
    "device_not_available": "No camera found, or another program is using it. Close video-call apps, "
    "check the cable, then try again.",
    "media_api_not_available": "This browser can't share a camera here. Open Xface at http://localhost "
    "in Chrome, Edge or Firefox.",
}
"""streamlit-webrtc's button and error texts, in the app's plain words."""


def env_ice_servers() -> list[dict]:
    """ICE servers from XFACE_ICE_SERVERS (none on localhost); a bad value is said on the page and ignored."""
    from xface.app.live import ice_servers

    try:
        return ice_servers()
    except ValueError as error:
        st.error(f"XFACE_ICE_SERVERS is not usable: {error} Using none.")
        return []


def frame_callback(live: LiveSession) -> Callable:
    """The video thread's callback: no st.* there, only `live.process`, which never blocks."""
    import av

    def video_frame_callback(frame: av.VideoFrame) -> av.VideoFrame:
        image = live.process(frame.to_ndarray(format="rgb24"))
        return av.VideoFrame.from_ndarray(image, format="rgb24")

    return video_frame_callback


def camera(key: str, live: LiveSession, servers: list[dict]) -> WebRtcStreamerContext:
    """The webcam for a page, analysed by `live` (a `LiveSession`); returns streamlit-webrtc's context."""
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    video_frame_callback = frame_callback(live)
    return webrtc_streamer(
        key=key,
        mode=WebRtcMode.SENDRECV,
        rtc_configuration={"iceServers": servers},
        media_stream_constraints={"video": True, "audio": False},
        video_frame_callback=video_frame_callback,
        on_video_ended=live.stream_ended,
        async_processing=True,
        translations=CAMERA_WORDS,
    )


class DateSpan(NamedTuple):
    """The days a page shows, both included."""

    start: date
    end: date


def date_span(key: str, days: int = 30) -> DateSpan:
    """A from-to date picker, the last ``days`` days at first; while the second date is being picked, one day."""
    today = date.today()
    default = DateSpan(today - timedelta(days=days - 1), today)
    picked = st.date_input("Show from … to", value=default, key=key, format="YYYY-MM-DD")
    if isinstance(picked, date):
        return DateSpan(picked, picked)
    if not picked:
        return default
    return DateSpan(picked[0], picked[-1])


def move_focus(selector: str, step: int, show: str | None = None, block: Literal["start", "nearest"] = "start") -> None:
    """Put the keyboard focus on the element ``selector`` once it is drawn (a tiny script in the page).

    ``show`` is scrolled to the top of the screen (default: the focused element), so on a phone the
    feedback is read from its start; ``block="nearest"`` scrolls only as far as needed to show it, so
    what is above stays in view where it can. ``step`` changes with every answer and every next face,
    so the script runs again each time; it waits up to 3 s for the element to be drawn.
    """
    script = (
        f"<script>/* step {step} */(function () {{"
        "const deadline = Date.now() + 3000;"
        "function find(selector) { return window.parent.document.querySelector(selector) "
        "|| document.querySelector(selector); }"
        "function go() {"
        f"const target = find({json.dumps(selector)});"
        f"const shown = find({json.dumps(show or selector)}) || target;"
        "if (target) { if (!target.matches('button')) target.setAttribute('tabindex', '-1');"
        "target.focus({preventScroll: true}); shown.style.scrollMarginTop = '4.5rem';"
        f"shown.scrollIntoView({{block: {json.dumps(block)}}}); return; }}"
        "if (Date.now() < deadline) setTimeout(go, 100); }"
        "go(); })();</script>"
    )
    st.html(script, unsafe_allow_javascript=True)
