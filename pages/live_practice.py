"""Live practice: the camera picture with a box and words on each face, and plain-language cards beside it.

The video runs through streamlit-webrtc; the frame callback only hands frames to
`xface.app.live.LiveSession` (which never blocks the video and never touches Streamlit). The cards are
a fragment that reads the session's latest snapshot twice a second, so the words update without
reloading the page. Recording writes expression readings (never pictures) to the journal.
"""

from __future__ import annotations

import streamlit as st

from xface.app import ui
from xface.app.cards import end_guessing, headline, status_line
from xface.app.draw import reading_explanation
from xface.app.live import LiveSession, LiveSnapshot, label_tone
from xface.app.ui import sources, widgets
from xface.emotions import EMOTIONS, emotion_word
from xface.journal.schema import JournalError
from xface.teach.explain import Explanation, accuracy_statement, card_line, cue_contrast, more_text
from xface.teach.guessing import store_guess
from xface.vision.pipeline import FaceReading

ui.enter_page()

MAX_CARDS = 3
"""More cards than this is too much to read at once; the largest faces come first."""
STALE_AFTER_S = 3.0
"""No frame for this long while 'playing' means the picture has stopped coming."""


# --- shared state ----------------------------------------------------------------------------------


def live_session() -> LiveSession:
    """One LiveSession per browser session; the video thread reaches it only through the callback's closure."""
    if "live_session" not in st.session_state:
        st.session_state.live_session = LiveSession(ui.analyzer())
    return st.session_state.live_session


# --- the cards -------------------------------------------------------------------------------------


def face_card(reading: FaceReading, explanation: Explanation) -> None:
    """Glanceable: one line (the headline and the strongest measured cue); a few more words under "More"."""
    typical = reading.cues_against_typical
    with st.container(border=True):
        st.markdown(f"#### {headline(reading.face_id, card_line(explanation, reading.cues, typical=typical))}")
        st.button(
            "Why?",
            key=f"live_why_{reading.face_id}",
            icon=":material/help:",
            help="Freeze this face: see which part of the face the model looked at, and which parts moved",
            on_click=widgets.freeze,
            args=(reading,),
        )
        # Keyed, and kept on the server: the fold stays open while the cards are redrawn around it.
        with st.expander("More", key=f"live_more_{reading.face_id}", on_change="rerun"):
            st.markdown(more_text(explanation, reading.cues, typical=typical))


# --- guess first -----------------------------------------------------------------------------------


def guessed(live: LiveSession, face_id: int | None) -> None:
    """A guess was picked: show this face's reading, and keep the guess in the journal (a live guess, unscored)."""
    guess = st.session_state.pop(ui.drawn_key("live_guess_pick", face_id), None)
    if guess is None or not live.asking(face_id):  # answered already: the same press again (`ui.drawn_key`)
        return
    if (made := live.guess(face_id, guess)) is None:
        return
    if (journal := ui.journal()) is None:
        return
    try:
        st.session_state.live_guess_session = store_guess(journal, st.session_state.get("live_guess_session"), made)
    except (ValueError, JournalError) as error:
        st.session_state.live_guess_error = f"Your guess could not be saved in the journal: {error}"


def guess_card(live: LiveSession, reading: FaceReading, explanation: Explanation) -> None:
    """Guess first: no label until the person says what they see, and again for each new expression; once
    revealed, the face's current reading beside the guess."""
    face_id = reading.face_id
    with st.container(border=True):
        if live.asking(face_id):
            st.markdown(f"#### Face {face_id}: what do you see?")
            st.pills(
                f"Your guess for face {face_id}",
                EMOTIONS,
                format_func=emotion_word,
                key=ui.drawn_key("live_guess_pick", face_id),
                on_change=guessed,
                args=(live, face_id),
            )
            return
        made = live.last_guess(face_id)
        st.markdown(f"#### {headline(face_id, card_line(explanation, reading.cues, reading.cues_against_typical))}")
        if made is not None:
            st.markdown(
                f"You said **{emotion_word(made.guess)}** when Xface read {emotion_word(made.reading)}. "
                f"{cue_contrast(made.reading, made.guess, reading.cues, typical=reading.cues_against_typical)}"
            )
        st.caption(accuracy_statement())
        st.button("Guess again", key=f"live_guess_again_{face_id}", on_click=live.ask_again, args=(face_id,))


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
    """The cards, and under them the face frozen by "Why?": redrawn every half second while the camera runs.

    The Why panel is part of this fragment, so that "Why?" and "Close" redraw only the fragment: a whole-page
    rerun started from inside it now and then stopped halfway, and the page below it stayed blank."""
    face_cards(live, playing)
    widgets.why_panel()


def face_cards(live: LiveSession, playing: bool) -> None:
    """One card for each of the largest faces, from the latest snapshot; or what to do to get a reading."""
    snap = live.snapshot()
    if snap.recording is not None:
        rec = snap.recording
        line = f"● Recording: {rec.written} reading{'s' if rec.written != 1 else ''} saved (no pictures)."
        if rec.error:
            st.error(rec.error)
        else:
            st.markdown(f"**{line}**")
    if not playing and st.session_state.get("live_reading_screen"):
        st.info("Press **Start reading the screen** under the video area to begin.")
        return
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
        explanation = snap.explanations.get(reading.face_id) or reading_explanation(reading)
        if guessing:
            guess_card(live, reading, explanation)
        else:
            face_card(reading, explanation)
    if len(snap.readings) > MAX_CARDS:
        st.caption(f"{len(snap.readings) - MAX_CARDS} more face(s) in the picture: cards show the largest {MAX_CARDS}.")
    with st.expander("Details", key="live_details", on_change="rerun"):
        st.caption(status_line(snap))


# --- the page --------------------------------------------------------------------------------------


st.title("Live practice", anchor=False)  # no heading link: Start camera comes first
st.markdown(
    "Point the camera at a face: yours, or someone's on a screen. Each face gets a box and a few words, and the "
    "cards explain what the face is doing. **A face is not a feeling:** treat the words as a hint to check, "
    "not an answer."
)

live = ui.models_or_stop(live_session, "live practice")


def guess_first_changed(live: LiveSession) -> None:
    """Guess first on: hide every label until a guess; off: show labels again and close the guessing session."""
    live.hide_labels = bool(st.session_state.live_guess_first)
    live.reset_guesses()
    if not live.hide_labels:
        end_guessing(ui.journal(), st.session_state.pop("live_guess_session", None))


# The video and the cards side by side (on a phone: the video, then the cards right under it), so the
# headline is in view while watching the face; everything else, the settings too, comes after both.
video, cards = st.columns([3, 2], gap="medium")
with video:
    video_area = st.container()
with cards:
    cards_area = st.container()  # the cards, then the Why panel under them (above, it pushed them below the fold)
source_area = st.container()
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
recording_area = st.container()  # filled once the camera's state is known: Start recording waits for it
if error := st.session_state.pop("live_guess_error", None):
    st.error(error)
widgets.camera_troubleshooting()
servers = widgets.connection_settings()
with video_area:
    ctx = sources.video_source("live", live, servers, choice_area=source_area)
with recording_area:
    widgets.recording_controls(live, camera_on=bool(ctx.state.playing))
    if (session_id := ui.checkin_session(widgets.RECORDING_CHECKIN)) is not None:
        widgets.recording_checkin(session_id)

playing = bool(ctx.state.playing or ctx.state.signalling)
with cards_area:
    st.fragment(run_every=0.5 if playing else None)(readings_panel)(live, bool(ctx.state.playing))
