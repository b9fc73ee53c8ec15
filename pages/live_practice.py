"""Live practice: the camera picture with a box and words on each face, and plain-language cards beside it.

The video runs through streamlit-webrtc; the frame callback only hands frames to
`xface.app.live.LiveSession` (which never blocks the video and never touches Streamlit). The cards are
a fragment that reads the session's latest snapshot twice a second, so the words update without
reloading the page. Recording writes expression readings (never pictures) to the journal.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import streamlit as st
from PIL import Image

from xface.app import ui
from xface.app.draw import heatmap_overlay, mesh_overlay, reading_explanation
from xface.app.live import LiveSession, LiveSnapshot, RecordingEnd, label_tone, parse_ice_servers
from xface.emotions import EMOTIONS, emotion_word
from xface.journal.snapshots import save_snapshot, snapshot_dir
from xface.journal.store import JournalError
from xface.teach.explain import Explanation, cue_contrast, cue_line, face_doing, region_sentence
from xface.vision.pipeline import FaceReading

ui.enter_page()

MAX_CARDS = 3
"""More cards than this is too much to read at once; the largest faces come first."""
CARD_CUES = 2
"""The strongest cues named on a card's one line (all of them are under "More")."""
STALE_AFTER_S = 3.0
"""No frame for this long while 'playing' means the picture has stopped coming."""


# --- shared state ----------------------------------------------------------------------------------


def live_session() -> LiveSession:
    """One LiveSession per browser session; the video thread reaches it only through the callback's closure."""
    if "live_session" not in st.session_state:
        st.session_state.live_session = LiveSession(ui.analyzer())
    return st.session_state.live_session


def headline(face_id: int | None, text: str) -> str:
    """ "Looks happy" → "Face 2: looks happy"."""
    name = f"Face {face_id}" if face_id is not None else "Face"
    return f"{name}: {text[:1].lower()}{text[1:]}"


# --- recording -------------------------------------------------------------------------------------


def start_recording(live: LiveSession) -> None:
    journal = ui.journal()
    if journal is None:
        return
    try:
        live.start_recording(journal)
    except (ValueError, JournalError) as error:
        st.session_state.live_record_error = str(error)
    ui.forget_checkin(CHECKIN)


def stop_recording(live: LiveSession) -> None:
    recording_ended(live.stop_recording())


def recording_ended(end: RecordingEnd | None) -> None:
    """Offer the check-in for a saved recording, and keep what to tell the person for the next run."""
    if end is None:
        return
    if end.session_id is not None:
        ui.open_checkin(CHECKIN, end.session_id)
    if end.message:
        st.session_state.live_record_message = end.message


def recording_controls(live: LiveSession) -> None:
    journal_ok = ui.journal() is not None
    recording_ended(live.recording_ended_on_its_own())  # the camera stopped, or the person left the page
    with st.container(horizontal=True):
        st.button(
            "Start recording",
            icon=":material/fiber_manual_record:",
            disabled=live.recording or not journal_ok,
            on_click=start_recording,
            args=(live,),
            help="Saves which expressions were seen, once a second, in your journal. No pictures are saved.",
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


def describe_time(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def session_summary_text(summary: dict) -> str:
    shares = sorted(((s, e) for e, s in summary["emotion_share"].items() if s > 0), reverse=True)
    seen = ", ".join(f"{emotion} {share:.0%}" for share, emotion in shares) or "no faces were recorded"
    faces = summary["faces"]
    return (
        f"You practised for **{describe_time(summary['duration_s'])}**. "
        f"{faces} face{'s' if faces != 1 else ''} seen. "
        f"Share of the time each expression was shown: {seen}."
    )


CHECKIN = "live_checkin_"
"""Prefix of the session-state keys of the check-in after a recording (its session, its widgets)."""


def checkin(session_id: int) -> None:
    """After a recording: what was seen, and an invitation to name what the person felt."""
    journal = ui.journal()
    if journal is None:
        return
    try:
        summary = journal.session(session_id)["summary"]
    except (ValueError, JournalError):  # the session was deleted meanwhile (e.g. on the Journal page)
        ui.forget_checkin(CHECKIN)
        return
    if summary is None:  # the recording's end could not be written (its rows are kept)
        ui.forget_checkin(CHECKIN)
        return
    with st.container(border=True):
        st.subheader("Recording saved")
        st.markdown(session_summary_text(summary))
        ui.session_checkin(journal, session_id, CHECKIN)


# --- "Why?" ----------------------------------------------------------------------------------------


def freeze(reading: FaceReading) -> None:
    """The "Why?" button's callback: keep this face (the aligned crop, in memory only) and explain
    where the model looked. A callback gets the reading the person saw when they clicked, even if
    that face has left the picture by the time the page reruns."""
    st.session_state.live_why_new = True  # the panel lives outside the cards' fragment: rerun the page
    try:
        grid = ui.analyzer().attention_map(reading)
    except ValueError as error:
        st.session_state.live_why = {"reading": reading, "error": str(error), "at": datetime.now()}
        return
    try:
        cues_picture = mesh_overlay(reading, size=240, typical=reading.cues_against_typical)
    except ValueError:  # no face mesh on this face: the heat map alone
        cues_picture = None
    st.session_state.live_why = {
        "reading": reading,
        "overlay": heatmap_overlay(reading.aligned, grid, size=240),
        "cues_picture": cues_picture,
        "sentence": region_sentence(grid),
        "at": datetime.now(),
    }


def why_panel() -> None:
    """Beside the video (above the cards): the frozen face, where the model looked, and which parts moved."""
    why = st.session_state.get("live_why")
    if not why:
        return
    reading: FaceReading = why["reading"]
    explanation = reading_explanation(reading)
    with st.container(border=True):
        st.subheader(f"Why? {headline(reading.face_id, explanation.headline)}")
        st.caption(f"Frozen at {why['at']:%H:%M:%S}. This picture stays in memory only, unless you choose to save it.")
        if st.button("Close", key="live_why_close", icon=":material/close:"):
            st.session_state.pop("live_why", None)
            st.rerun()
        if "error" in why:
            st.info(f"This model can't show where it looked ({why['error']}).")
            return
        heat, parts = st.columns(2)
        heat.image(why["overlay"], caption="Where the model looked: brighter, more attention")
        if why.get("cues_picture") is not None:
            parts.image(why["cues_picture"], caption="Face points: thick amber lines moved, thin blue ones did not")
        else:
            big = np.asarray(Image.fromarray(reading.aligned).resize((240, 240), Image.Resampling.BICUBIC))
            parts.image(big, caption="The face the model saw (lined up, eyes level)")
        st.markdown(f"**{why['sentence']}**")
        doing = face_doing(explanation.emotion, reading.cues, typical=reading.cues_against_typical)
        st.markdown(f"**What the face is doing:** {doing}")
        st.caption("The heat map shows where the model looked, not proof of what the person feels.")
        snapshot_controls(reading, why["overlay"], explanation.headline)


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


# --- the cards -------------------------------------------------------------------------------------


def status_line(snap: LiveSnapshot) -> str:
    parts = [f"labels update {snap.analysis_fps:.1f} times a second", f"video {snap.video_fps:.0f} frames a second"]
    if (latency := snap.label_latency()) is not None:
        parts.append(f"first label after {latency:.1f} s")
    if (total := snap.timings.get("total")) is not None:
        parts.append(f"{total * 1000:.0f} ms to read a frame")
    return " · ".join(parts)


def face_card(reading: FaceReading, explanation: Explanation) -> None:
    """Glanceable: the headline and one line of measured cues; the rest folded under "More"."""
    typical = reading.cues_against_typical
    with st.container(border=True):
        st.markdown(f"#### {headline(reading.face_id, explanation.headline)}")
        st.markdown(cue_line(reading.cues, most=CARD_CUES, typical=typical))
        st.button(
            "Why?",
            key=f"live_why_{reading.face_id}",
            icon=":material/help:",
            help="Freeze this face: see which part of the face the model looked at, and which parts moved",
            on_click=freeze,
            args=(reading,),
        )
        with st.expander("More"):
            note = face_doing(explanation.emotion, reading.cues, typical=typical)
            st.markdown(f"**What the face is doing:** {note}")
            st.markdown(f"**How sure:** {explanation.summary}")
            st.markdown(f"**What it often means:** {explanation.meaning}")
            st.markdown(f"**What else it could be:** {explanation.look_alikes}")
            st.markdown(f"**What you might say or do:** {explanation.respond}")
            st.markdown(f"**Careful:** {explanation.caution}")


# --- guess first -----------------------------------------------------------------------------------

GUESSES = "live_guesses"
"""Session-state key: face id → the guess and the reading it was checked against."""


def guessed(live: LiveSession, reading: FaceReading) -> None:
    """A guess was picked: show this face's reading, and keep the answer in the journal (a quiz answer from live)."""
    guess = st.session_state.get(f"live_guess_pick_{reading.face_id}")
    if guess is None:
        return
    st.session_state.setdefault(GUESSES, {})[reading.face_id] = {"guess": guess, "reading": reading}
    live.revealed.add(reading.face_id)
    journal = ui.journal()
    if journal is None:
        return
    try:
        if "live_guess_session" not in st.session_state:
            st.session_state.live_guess_session = journal.start_session("quiz")
        journal.add_quiz_answer(
            st.session_state.live_guess_session,
            question=f"live face {reading.face_id}",
            guess=guess,
            answer=reading.emotion,
            answer_source="model",
            model_emotion=reading.emotion,
            model_confidence=reading.confidence,
            face_source="live",
            verdict="unscored" if reading_explanation(reading).band == "unsure" else None,
        )
    except (ValueError, JournalError) as error:
        st.session_state.live_guess_error = f"Your guess could not be saved in the journal: {error}"


def guess_again(live: LiveSession, face_id: int | None) -> None:
    st.session_state.get(GUESSES, {}).pop(face_id, None)
    st.session_state.pop(f"live_guess_pick_{face_id}", None)
    live.revealed.discard(face_id)


def guess_card(live: LiveSession, reading: FaceReading) -> None:
    """Guess first: no label until the person has said what they see; then the reading, the cues and why."""
    done = st.session_state.get(GUESSES, {}).get(reading.face_id)
    with st.container(border=True):
        if done is None:
            name = f"face {reading.face_id}" if reading.face_id is not None else "this face"
            st.markdown(f"#### Face {reading.face_id}: what do you see?")
            st.pills(
                f"Your guess for {name}",
                EMOTIONS,
                format_func=emotion_word,
                key=f"live_guess_pick_{reading.face_id}",
                on_change=guessed,
                args=(live, reading),
            )
            return
        answer: FaceReading = done["reading"]
        explanation = reading_explanation(answer)
        verdict = "Same as the model." if done["guess"] == answer.emotion else "The model sees it another way."
        st.markdown(f"#### {headline(answer.face_id, explanation.headline)}")
        st.markdown(f"You said **{emotion_word(done['guess'])}**. {verdict}")
        st.markdown(cue_contrast(answer.emotion, done["guess"], answer.cues, typical=answer.cues_against_typical))
        st.caption("The model is a hint, not the truth: it is wrong about one time in three.")
        st.button(
            "Guess again", key=f"live_guess_again_{reading.face_id}", on_click=guess_again, args=(live, reading.face_id)
        )


def label_sound(snap: LiveSnapshot) -> None:
    """A short tone when a face's label changes (optional, off by default): eyes can stay on the face."""
    heard: dict = st.session_state.setdefault("live_heard", {})
    for reading in snap.readings[:MAX_CARDS]:
        explanation = snap.explanations.get(reading.face_id) or reading_explanation(reading)
        if explanation.band == "unsure" or heard.get(reading.face_id) == explanation.emotion:
            continue
        heard[reading.face_id] = explanation.emotion
        st.audio(label_tone(explanation.emotion), format="audio/wav", autoplay=True)
        st.caption(f"Sound: face {reading.face_id} now looks {emotion_word(explanation.emotion)}.")
        return  # one sound at a time


def readings_panel(live: LiveSession, playing: bool) -> None:
    """The cards: redrawn every half second from the latest snapshot while the camera runs."""
    if st.session_state.pop("live_why_new", False):
        st.rerun(scope="app")
    snap = live.snapshot()
    if snap.recording is not None:
        rec = snap.recording
        line = f"● Recording: {rec.written} reading{'s' if rec.written != 1 else ''} saved (no pictures)."
        if rec.error:
            st.error(rec.error)
        else:
            st.markdown(f"**{line}**")
    if not playing:
        st.info(
            "Press **Start camera** under the video area to begin. The first time, your browser asks to use the "
            "camera: choose **Allow**. The picture is analysed on this computer and is never saved."
        )
        return
    if snap.last_frame_at is None or live.clock() - snap.last_frame_at > STALE_AFTER_S:
        st.info("Waiting for the camera picture… If nothing comes within a few seconds, see *Camera not working?*")
        return
    if snap.error:
        st.warning(f"The last frame could not be analysed ({snap.error}). Trying the next one.")
    if not snap.readings:
        st.info(
            "No face found yet. Face the camera, with light on your face (not behind you), about an arm's length away."
        )
        return
    guessing = live.hide_labels
    if st.session_state.get("live_sound") and not guessing:
        label_sound(snap)
    for reading in snap.readings[:MAX_CARDS]:
        if guessing:
            guess_card(live, reading)
        else:
            face_card(reading, snap.explanations.get(reading.face_id) or reading_explanation(reading))
    if len(snap.readings) > MAX_CARDS:
        st.caption(f"{len(snap.readings) - MAX_CARDS} more face(s) in the picture: cards show the largest {MAX_CARDS}.")
    with st.expander("Details"):
        st.caption(status_line(snap))


# --- the page --------------------------------------------------------------------------------------


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


def troubleshooting() -> None:
    with st.expander("Camera not working?"):
        st.markdown(
            "- **Blocked:** click the camera or lock icon by the address bar, allow the camera, reload.\n"
            "- **Busy:** close other programs that use the camera (video calls, other tabs), then press Start again.\n"
            "- **No camera:** plug one in, or check it is switched on. Laptop cameras can have a privacy switch.\n"
            "- **Spinning for a long time:** the browser can't connect to Xface. On this computer this should not "
            "happen; from another computer see *Connection settings*.\n"
            "- **Slow labels:** the model runs on this computer's processor; close heavy programs."
        )


st.title("Live practice")
st.markdown(
    "Point the camera at a face: yours, or someone's on a screen. Each face gets a box and a few words, and the "
    "cards explain what the face is doing. **A face is not a feeling:** treat the words as a hint to check, "
    "not an answer."
)

live = ui.models_or_stop(live_session, "live practice")


def guess_first_changed(live: LiveSession) -> None:
    """Guess first on: hide every label until a guess; off: show labels again and close the guessing session."""
    live.hide_labels = bool(st.session_state.live_guess_first)
    live.revealed.clear()
    st.session_state.pop(GUESSES, None)
    session_id = st.session_state.pop("live_guess_session", None)
    journal = ui.journal()
    if not live.hide_labels and session_id is not None and journal is not None:
        try:
            journal.end_session(session_id)
        except (ValueError, JournalError):
            pass  # the answers are saved; only the session's end time is missing


# The video and the cards side by side (on a phone: the video, then the cards right under it), so the
# headline is in view while watching the face; everything else, the settings too, comes after both.
video, cards = st.columns([3, 2], gap="medium")
with video:
    camera = st.container()
with cards:
    why_panel()
    cards_area = st.container()
st.toggle(
    "Guess first",
    key="live_guess_first",
    on_change=guess_first_changed,
    args=(live,),
    help="Labels stay hidden until you pick what you think each face shows.",
)
st.toggle(
    "Sound when a label changes",
    key="live_sound",
    help="Off by default. Each expression has its own short two-note sound, made on this computer.",
)
st.caption(
    "Box shapes show how sure the model is: **solid** = clear, **long dashes** = likely (label ends in ?), "
    "**short dashes** = unsure (two guesses). The #number follows the same face."
)
recording_controls(live)
if (session_id := ui.checkin_session(CHECKIN)) is not None:
    checkin(session_id)
if error := st.session_state.pop("live_guess_error", None):
    st.error(error)
troubleshooting()
servers = connection_settings()
with camera:
    ctx = ui.video_source("live", live, servers)

playing = bool(ctx.state.playing or ctx.state.signalling)
with cards_area:
    st.fragment(run_every=0.5 if playing else None)(readings_panel)(live, bool(ctx.state.playing))
