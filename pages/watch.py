"""Watch: read the faces in a video clip, see each face's readings over time, and guess the moments that change.

The clip is read through the stream path (as the live page reads a camera) by `xface.app.watch`; the
moments to guess come from `xface.teach.scenes`. The clip stays in this browser session's memory (an
upload) or where it is on this computer (a path); only its readings are kept while the page is open.
Guesses go to the journal as "clip" answers, with the clip's name only when the person allows it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from xface.app import ui
from xface.app.watch import (
    Clip,
    analyse,
    moment_picture,
    moment_rows,
    readings_csv,
    rows_at,
    save_guess,
    timeline_chart,
)
from xface.emotions import EMOTIONS, emotion_word
from xface.journal.store import JournalError
from xface.teach.explain import accuracy_statement, cue_contrast, describe, face_doing
from xface.teach.scenes import changes_sentence, choose_moments, people_would_read
from xface.vision.video import VIDEO_SUFFIXES, VideoError, clock

ui.enter_page()

STATE = "watch"
"""Session-state key: the clip, its readings, the moments and the guesses (a plain dict)."""


def state() -> dict:
    return st.session_state.setdefault(STATE, {})


def forget_clip() -> None:
    """Drop the clip and everything read from it (the upload's bytes go with it)."""
    st.session_state.pop(STATE, None)
    st.session_state.pop("watch_time", None)


# --- choosing and reading a clip -------------------------------------------------------------------


def choose_clip() -> Clip | None:
    upload = st.file_uploader(
        "A video clip",
        type=sorted(suffix.lstrip(".") for suffix in VIDEO_SUFFIXES),
        key="watch_upload",
        help="A film scene, a recorded conversation, a video call you recorded with everyone's agreement.",
    )
    if upload is not None:
        return Clip(upload.name, data=upload.getvalue())
    if ui.served_beyond_localhost():
        return None
    typed = st.text_input(
        "Or a file on this computer", key="watch_path", placeholder="/home/me/Videos/scene.mp4"
    ).strip()
    if not typed:
        return None
    path = Path(typed).expanduser()
    return Clip(path.name, path=path)


def read_clip(clip: Clip) -> None:
    # Any press starts the page again, which ends this reading: the button only has to be there.
    st.button("Stop reading", icon=":material/stop:", help="Stop reading this clip; nothing is kept")
    bar = st.progress(0.0, text="Reading the clip…")
    try:
        readings = analyse(ui.analyzer(), clip, lambda share, words: bar.progress(share, text=words))
    except VideoError as error:
        bar.empty()
        st.error(str(error))
        return
    bar.empty()
    st.session_state[STATE] = {
        "clip": clip,
        "readings": readings,
        "moments": choose_moments(readings.rows),
        "guesses": {},
    }
    st.rerun()  # drawn again without the Read and Stop buttons, which belong to the reading just done


# --- the timeline and one moment -------------------------------------------------------------------

MOST_PICTURES = 8
"""Frames kept drawn in memory while the page is open (each rerun would otherwise seek and decode again)."""


def picture_of(done: dict, rows: list, hidden: tuple[int, ...] = ()):
    """The drawn frame of these rows, from memory when it was drawn before."""
    pictures = done.setdefault("pictures", {})
    key = (rows[0]["frame"], hidden)
    if key not in pictures:
        if len(pictures) >= MOST_PICTURES:
            pictures.clear()
        pictures[key] = moment_picture(ui.analyzer(), done["clip"], rows, hidden=hidden)
    return pictures[key]


def chart_clicked() -> None:
    """A click on the timeline moves the moment slider to the clicked point."""
    selection = st.session_state.get("watch_chart", {}).get("selection", {}).get("moment") or []
    if selection and "time" in selection[0]:
        st.session_state.watch_time = float(selection[0]["time"])


def timeline(done: dict) -> None:
    readings = done["readings"]
    rows, duration = readings.rows, readings.seconds
    faces = len({row["face_id"] for row in rows})
    if not rows:
        st.info(
            "No face was found in this clip. Faces need to be at least about 24 pixels wide and turned to the camera."
        )
        return
    st.caption(
        f"{faces} face{'s' if faces != 1 else ''} in {clock(duration)}. Each dot is a reading: its colour is the "
        "expression, its height how sure Xface is. Point at a dot for the strongest cues; click one to see that moment."
    )
    st.altair_chart(
        timeline_chart(rows, duration), key="watch_chart", on_select=chart_clicked, use_container_width=True
    )
    last = max(float(duration), 0.1)  # a clip read only at 0:00.0 still gets a slider (its ends must differ)
    at = st.slider("Moment (seconds into the clip)", 0.0, last, key="watch_time", step=0.1, format="%.1f s")
    here = rows_at(rows, at)
    picture = picture_of(done, here)
    left, right = st.columns([3, 2])
    left.image(picture.frame, caption=f"The clip at {clock(picture.time)}: each face's box, number and reading")
    with right:
        for row in here:
            words = describe(row["probs"], top=row["emotion"])
            st.markdown(f"**Face {row['face_id']}: {words.headline.lower()}**")
            if (cues := picture.cue_pictures.get(row["face_id"])) is not None:
                st.image(cues, caption="Thick amber lines: the parts that moved", width=160)
            typical = row.get("cues_against_typical", True)
            st.markdown(face_doing(row["emotion"], row.get("cues"), typical=typical, confidence=row["confidence"]))
    st.download_button(
        "Export the readings (CSV)",
        readings_csv(rows, done["clip"].name),
        file_name=f"{Path(done['clip'].name).stem}-readings.csv",
        mime="text/csv",
        icon=":material/download:",
        help="Numbers only: times, boxes, readings and cues. No pictures.",
    )


# --- guess the moment ------------------------------------------------------------------------------


def guessed(done: dict, index: int) -> None:
    """Keep the guess of the moment the pills were drawn for, once: a second call finds it answered (`ui.drawn_key`)."""
    guess = st.session_state.get(ui.drawn_key("watch_guess", index))
    if guess is None or index in done["guesses"]:
        return
    moment = done["moments"][index]
    done["guesses"][index] = guess
    journal = ui.journal()
    if journal is None:
        return
    name = done["clip"].name if st.session_state.get("watch_keep_name") else None
    try:
        done["session_id"] = save_guess(journal, done.get("session_id"), moment, guess, name)
    except (ValueError, JournalError) as error:
        st.session_state.watch_guess_error = f"Your guess could not be saved in the journal: {error}"


def guess_moments(done: dict) -> None:
    moments = done["moments"]
    if not moments:
        st.info(
            "Xface found no moment where a face's reading changes and then holds clearly, so there is nothing to "
            "guess in this clip. Try a clip where faces change expression and hold it for a second or two."
        )
        return
    st.caption(
        f"Xface chose {len(moments)} moment{'s' if len(moments) != 1 else ''} where a face changes and holds it. "
        "Say what you see before the reading is shown."
    )
    st.toggle(
        "Keep the clip's name with my guesses in the journal",
        key="watch_keep_name",
        help="Off: the journal says only 'a clip' and the time.",
    )
    step = min(done.setdefault("step", 0), len(moments) - 1)
    moment = moments[step]
    guess = done["guesses"].get(step)
    hidden = () if guess else (moment.face_id,)
    picture = picture_of(done, moment_rows(done["readings"].rows, moment), hidden)
    st.markdown(f"**Moment {step + 1} of {len(moments)}: face {moment.face_id} at {clock(moment.time)}**")
    st.image(picture.frame, caption=f"Face {moment.face_id} at {clock(moment.time)}")
    if guess is None:
        st.pills(
            f"What does face {moment.face_id} show?",
            EMOTIONS,
            format_func=emotion_word,
            key=ui.drawn_key("watch_guess", step),
            on_change=guessed,
            args=(done, step),
        )
    else:
        reveal(moment, guess, picture.cue_pictures.get(moment.face_id))
    if error := st.session_state.pop("watch_guess_error", None):
        st.error(error)
    with st.container(horizontal=True):
        st.button("Previous moment", disabled=step == 0, on_click=done.update, kwargs={"step": step - 1})
        st.button("Next moment", disabled=step >= len(moments) - 1, on_click=done.update, kwargs={"step": step + 1})


def reveal(moment, guess: str, cues_picture) -> None:
    words = describe(moment.probs, top=moment.emotion)
    same = "Same as Xface's reading." if guess == moment.emotion else "Xface reads it another way."
    text, picture = st.columns([3, 1])
    with text:
        st.markdown(f"You said **{emotion_word(guess)}**. Xface: **{words.headline.lower()}**. {same}")
        st.markdown(f"**What people would read:** {people_would_read(moment.probs)}")
        before = moment.before
        st.markdown(f"**What changed:** {changes_sentence(moment, clock(before.time) if before else '')}")
        if before is not None:
            st.caption(f"At {clock(before.time)} this face looked {emotion_word(before.emotion)}.")
        st.markdown(cue_contrast(moment.emotion, guess, moment.cues, typical=moment.cues_against_typical))
        st.caption(accuracy_statement())
    if cues_picture is not None:
        picture.image(cues_picture, caption="Thick amber lines: the parts that moved")


# --- the page --------------------------------------------------------------------------------------

st.title("Watch")
st.markdown(
    "Read the faces in a video clip: a film scene, or a conversation you recorded. Xface follows each face, "
    "shows its readings over time, and picks moments for you to guess. **A face is not a feeling:** the readings "
    "are hints to check."
)
st.caption(
    "The clip is read on this computer and kept in memory only while this page is open. Nothing is saved unless you "
    "export the readings or guess a moment (then your guess goes to your journal)."
)
clip = choose_clip()
done = st.session_state.get(STATE)
if clip is not None and (done is None or done["clip"] != clip):
    if st.button("Read this clip", type="primary", icon=":material/play_arrow:"):
        read_clip(clip)
if done:
    st.button("Forget this clip", on_click=forget_clip, icon=":material/delete:")
    if done["readings"].stopped_early:
        st.warning(done["readings"].stopped_early, icon=":material/warning:")
    # Guessing first; the timeline on its own, as it shows every reading, the answers included.
    view = st.segmented_control("Show", ["Guess the moment", "Timeline"], default="Guess the moment", key="watch_view")
    if view == "Timeline":
        timeline(done)
    else:
        guess_moments(done)
