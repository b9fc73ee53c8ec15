"""Mirror practice: make each of the seven expressions with your own face, coached by what Xface measures.

The camera runs through streamlit-webrtc as on the live page: the frame callback only hands frames
to a `xface.app.live.LiveSession` (analysis off the video thread, never any st.* there). The coach
(`xface.teach.mirror.MirrorPractice`) reads the session's latest analysis from a fragment a few times a
second. Results go to the journal as a "mirror" session (numbers only, never a picture).
"""

from __future__ import annotations

import streamlit as st

from xface.app import ui
from xface.app.live import LiveSession
from xface.emotions import emotion_word
from xface.journal.schema import JournalError
from xface.teach.mirror import MirrorPractice, MirrorStatus, store_results

ui.enter_page()

PRACTICE = "mirror_practice"
"""Session-state key of this person's round (a plain key, so it survives a visit to another page)."""
SESSION = "mirror_session_id"
"""Session-state key of the round's journal session, once something is stored."""


def practice() -> MirrorPractice:
    if PRACTICE not in st.session_state:
        st.session_state[PRACTICE] = MirrorPractice(LiveSession(ui.analyzer()))
    return st.session_state[PRACTICE]


def save(mirror: MirrorPractice) -> None:
    """Write new results to the journal; close the journal session when the round is done."""
    journal = ui.journal()
    if journal is None:
        return
    try:
        st.session_state[SESSION] = store_results(journal, st.session_state.get(SESSION), mirror.coach.take_results())
        if mirror.coach.phase == "done" and st.session_state.get(SESSION) is not None:
            journal.end_session(st.session_state.pop(SESSION))  # the journal sums the round up from its results
    except (ValueError, JournalError) as error:
        st.session_state.pop(SESSION, None)  # e.g. the session was deleted on the Journal page: start a fresh one
        st.caption(f"This result was not saved: {error}")


def skip(mirror: MirrorPractice, position: int) -> None:
    """Skip the expression Skip was drawn for, once (`ui.drawn_key`)."""
    if mirror.coach.position != position:
        return
    mirror.coach.skip(mirror.live.clock())
    save(mirror)


def end(mirror: MirrorPractice) -> None:
    mirror.coach.end()
    save(mirror)


def new_round() -> None:
    old = st.session_state.pop(PRACTICE, None)
    st.session_state[PRACTICE] = MirrorPractice(old.live if old is not None else LiveSession(ui.analyzer()))


def results_list(status: MirrorStatus) -> None:
    for result in status.results:
        word = emotion_word(result.target).capitalize()
        if result.succeeded:
            st.write(f"- {word}: yes, in {result.seconds:.1f} s")
        else:
            st.write(f"- {word}: not this time (best {result.best_confidence:.0%})")


def coach_panel(mirror: MirrorPractice, playing: bool) -> None:
    """Redrawn a few times a second while the camera runs: what to do now, and how it goes."""
    status = mirror.update()
    save(mirror)
    if status.phase == "done":
        st.subheader("Round done")
        if status.results:
            reached = sum(r.succeeded for r in status.results)
            st.write(f"Xface read {reached} of the {len(status.results)} expressions you tried clearly.")
            results_list(status)
        else:
            st.write("Nothing was tried this time, so nothing went into your journal.")
        st.write("Every try counts: making a face helps you see it on others.")
        st.button("Start a new round", type="primary", on_click=new_round, key="mirror_new_round")
        return
    if not playing:
        st.info(
            "Press **Start camera** to begin. The first time, your browser asks to use the camera: choose "
            "**Allow**. The picture is read on this computer and never saved."
        )
    elif not status.face_seen:
        st.info("No face yet. Face the camera, with light on your face, about an arm's length away.")
    if status.phase == "baseline":
        st.subheader("First, let your face rest", anchor=False)
        st.write("Look at the camera with a relaxed face for a few seconds. Xface learns how your face looks at rest.")
        if playing:  # before the camera runs there is nothing to learn from yet
            st.progress(status.progress, text="Learning your resting face")
    else:
        st.subheader(f"{status.position + 1} of {status.total}: {status.prompt}", anchor=False)
        if status.phase == "success":
            st.success(f"Yes. Xface reads {emotion_word(status.target)} clearly.")
        else:
            for tip in status.tips:
                st.markdown(f"- **{tip}**")
            st.progress(status.progress, text="Hold it for a second once Xface reads it clearly")
        if status.reads:
            st.caption(f"Xface reads: {status.reads}")
        left, right = st.columns(2)
        left.button(
            "Skip this one",
            on_click=skip,
            args=(mirror, status.position),
            key=ui.drawn_key("mirror_skip", status.position),
            disabled=status.phase != "coaching",
        )
        right.button("Relearn resting face", on_click=mirror.coach.restart_baseline, key="mirror_rebase")
    if status.results:
        st.markdown("**So far**")
        results_list(status)
    st.button("End the round", on_click=end, args=(mirror,), key="mirror_end")


st.title("Mirror practice", anchor=False)  # no heading link: Start camera comes first
st.markdown(
    "Make each expression with your own face. Xface first learns your face at rest, then says what to move, "
    "from what it measures on your face. Only the results go into your journal, never a picture."
)
mirror = ui.models_or_stop(practice, "mirror practice")


servers = ui.env_ice_servers()
video, panel = st.columns([3, 2], gap="medium")
with video:
    ctx = ui.camera("mirror", mirror.live, servers)
playing = bool(ctx.state.playing)
with panel:  # twice a second, as on the live page: at 0.3 s the camera's connection dropped in 3 tries of 3 here
    st.fragment(run_every=0.5 if playing or ctx.state.signalling else None)(coach_panel)(mirror, playing)
