"""The camera pages' shared widgets: recording with its check-in, the Why? panel, and help with the camera.

The pages draw these; what they compute comes from `xface.app.cards` and `xface.app.live`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from xface.app import ui
from xface.app.cards import WHY_SIZE, WhyPictures, headline, why_pictures
from xface.app.draw import reading_explanation
from xface.app.live import LiveSession, RecordingEnd, parse_ice_servers
from xface.journal.schema import JournalError
from xface.journal.snapshots import save_snapshot, snapshot_dir
from xface.journal.timeline import live_summary_text
from xface.teach.explain import face_doing
from xface.vision.pipeline import FaceReading

# --- recording -------------------------------------------------------------------------------------


def start_recording(live: LiveSession) -> None:
    journal = ui.journal()
    if journal is None:
        return
    try:
        live.start_recording(journal)
    except (ValueError, JournalError) as error:
        st.session_state.live_record_error = str(error)
    ui.forget_checkin(RECORDING_CHECKIN)


def stop_recording(live: LiveSession) -> None:
    recording_ended(live.stop_recording())


def recording_ended(end: RecordingEnd | None) -> None:
    """Offer the check-in for a saved recording, and keep what to tell the person for the next run."""
    if end is None:
        return
    if end.session_id is not None:
        ui.open_checkin(RECORDING_CHECKIN, end.session_id)
    if end.message:
        st.session_state.live_record_message = end.message


def recording_controls(live: LiveSession, camera_on: bool) -> None:
    """Start and Stop recording. Start waits for the camera: a recording without a picture would hold nothing."""
    journal_ok = ui.journal() is not None
    recording_ended(live.recording_ended_on_its_own())  # the camera stopped, or the person left the page
    with st.container(horizontal=True):
        st.button(
            "Start recording",
            icon=":material/fiber_manual_record:",
            disabled=live.recording or not journal_ok or not camera_on,
            on_click=start_recording,
            args=(live,),
            help="Saves which expressions were seen, once a second, in your journal. No pictures are saved."
            + ("" if camera_on else " Start the camera first."),
        )
        st.button(
            "Stop recording",
            icon=":material/stop:",
            disabled=not live.recording,
            on_click=stop_recording,
            args=(live,),
        )
    if error := st.session_state.pop("live_record_error", None):
        st.error(f"Recording could not start: {error}")
    if message := st.session_state.pop("live_record_message", None):
        st.warning(message)


RECORDING_CHECKIN = "live_checkin_"
"""Prefix of the session-state keys of the check-in after a recording (its session, its widgets)."""


def recording_checkin(session_id: int) -> None:
    """After a recording: what was seen, and an invitation to name what the person felt."""
    journal = ui.journal()
    if journal is None:
        return
    try:
        summary = journal.session(session_id)["summary"]
    except (ValueError, JournalError):  # the session was deleted meanwhile (e.g. on the Journal page)
        ui.forget_checkin(RECORDING_CHECKIN)
        return
    if summary is None:  # the recording's end could not be written (its rows are kept)
        ui.forget_checkin(RECORDING_CHECKIN)
        return
    with st.container(border=True):
        st.subheader("Recording saved")
        st.markdown(live_summary_text(summary))
        ui.session_checkin(journal, session_id, RECORDING_CHECKIN)


# --- "Why?" ----------------------------------------------------------------------------------------


def freeze(reading: FaceReading) -> None:
    """The "Why?" button's callback: keep this face (the aligned crop, in memory only) and explain where the
    model looked. A callback gets the reading the person saw when they clicked, even if that face has left the
    picture by the time the page reruns."""
    st.session_state.live_why = why_pictures(ui.analyzer(), reading)


def close_why() -> None:
    st.session_state.pop("live_why", None)


def why_panel() -> None:
    """Beside the video, under the cards (they stay in view): the frozen face, where the model looked, what moved.

    Pressing Why? redraws the cards, which dropped the keyboard focus to the page's body: it goes to the
    panel's Close button, and Enter closes the panel again."""
    why: WhyPictures | None = st.session_state.get("live_why")
    if not why:
        return
    reading = why.reading
    explanation = reading_explanation(reading)
    with st.container(border=True, key="live_why_panel"):
        st.subheader(f"Why? {headline(reading.face_id, explanation.headline)}")
        st.caption(f"Frozen at {why.at:%H:%M:%S}. This picture stays in memory only, unless you choose to save it.")
        st.button("Close", key="live_why_close", icon=":material/close:", on_click=close_why)
        step = round(why.at.timestamp() * 1000)  # a new frozen face, a new step
        ui.move_focus(".st-key-live_why_close button", step, block="nearest")  # the cards above stay in view
        if why.error is not None:
            st.info(f"This model can't show where it looked ({why.error}).")
            return
        heat, parts = st.columns(2)
        heat.image(why.overlay, caption="Where the model looked: brighter, more attention")
        if why.cues_picture is not None:
            parts.image(why.cues_picture, caption="Face points: thick amber lines moved, thin blue ones did not")
        else:
            big = np.asarray(Image.fromarray(reading.aligned).resize((WHY_SIZE, WHY_SIZE), Image.Resampling.BICUBIC))
            parts.image(big, caption="The face the model saw (lined up, eyes level)")
        st.markdown(f"**{why.sentence}**")
        doing = face_doing(
            explanation.emotion, reading.cues, typical=reading.cues_against_typical, confidence=reading.confidence
        )
        st.markdown(f"**What the face is doing:** {doing}")
        st.caption("The heat map shows where the model looked, not proof of what the person feels.")
        snapshot_controls(reading, why.overlay, explanation.headline)


def snapshot_controls(reading: FaceReading, overlay: np.ndarray, label: str) -> None:
    """Saving a picture is opt-in: off on every visit until the person turns it on."""
    allowed = st.toggle(
        "Allow saving face pictures",
        key="live_allow_snapshots",
        help=f"Off by default. When on, *Save this picture* writes a PNG file to {snapshot_dir()}.",
    )
    if allowed and st.button("Save this picture", key="live_save_snapshot", icon=":material/save:"):
        try:
            path = save_snapshot(reading.aligned, label, overlay)
        except OSError as error:
            st.error(f"The picture could not be saved: {error}")
        else:
            st.success(f"Saved: {path}")


def connection_settings() -> list[dict]:
    """ICE servers: none on localhost; from XFACE_ICE_SERVERS or typed here for use across a network."""
    default = ui.env_ice_servers()
    with st.expander("Connection settings (only for using Xface from another computer)"):
        st.caption(
            "On this computer nothing is needed. From another device on a network, a STUN or TURN server may be "
            'needed, as a JSON list, e.g. `[{"urls": ["stun:stun.example.org:3478"]}]`. '
            "A STUN or TURN server learns your network address."
        )
        text = st.text_area("ICE servers (JSON)", key="live_ice_text", placeholder="[]")
    if not text.strip():
        return default
    try:
        return parse_ice_servers(text)
    except ValueError as error:
        st.error(str(error))
        return default


def camera_troubleshooting() -> None:
    with st.expander("Camera not working?"):
        st.markdown(
            "- **Blocked:** click the camera or lock icon by the address bar, allow the camera, reload.\n"
            "- **Busy:** close other programs that use the camera (video calls, other tabs), then press Start again.\n"
            "- **No camera:** plug one in, or check it is switched on. Laptop cameras can have a privacy switch.\n"
            "- **Spinning for a long time:** the browser can't connect to Xface. On this computer this should not "
            "happen; from another computer see *Connection settings*.\n"
            "- **Slow labels:** the model runs on this computer's processor; close heavy programs."
        )
