"""Photo quiz: name the emotion on each face in your own photos first, then see Xface's reading and why.

Photos stay in memory (the face crops in this browser session only); the journal keeps the answers,
never pixels. A guess is scored against the photo's label when its name gives one, else against the
model's reading, and the feedback says which. Order adapts to what this person tends to miss. After a
round, the summary invites a "How did you feel?" check-in, linked in the journal to the round's session.
"""

from __future__ import annotations

from random import Random

import streamlit as st

from xface import ui
from xface.emotions import EMOTIONS
from xface.explain import describe, texts
from xface.journal import JournalError
from xface.quiz import CUES, Feedback, Question, order_questions, round_summary, score, top_confusions
from xface.uploads import MAX_PHOTOS, UPLOAD_TYPES, quiz_batch

ui.enter_page()

ROUND = "quiz_round"
"""Session-state key of the round in progress: a dict (a class defined here would be redefined every run)."""
CHECKIN = "quiz_checkin_"
"""Prefix of every session-state key of the check-in after a round (its session, widgets and saved text)."""


def label(emotion: str) -> str:
    """The everyday word for an emotion ("afraid" for fear), as the explanations use it."""
    return texts()["emotions"][emotion]["label"]


def history() -> list[dict]:
    journal = ui.journal()
    return journal.quiz_answers() if journal is not None else []


def new_round(files: list, signature: tuple[str, ...]) -> None:
    """Find every face in the uploads and order the questions by what this person tends to miss."""
    finish_round()
    ui.forget_checkin(CHECKIN)
    shown = st.empty()
    with st.spinner("Looking for faces in your photos…"):
        batch = quiz_batch(
            ((file.name, file.getvalue()) for file in files),
            ui.analyzer(),
            progress=lambda done: shown.caption(f"Looked at {done} photo{'s' * (done != 1)}…"),
        )
    shown.empty()
    st.session_state[ROUND] = {
        "signature": signature,
        "questions": order_questions(batch.questions, history(), Random()),
        "crops": batch.crops,
        "problems": [str(problem) for problem in batch.problems],
        "no_faces": batch.no_faces,
        "photos": batch.photos,
        "position": 0,
        "feedbacks": [],
        "revealed": None,
        "session_id": None,
        "saved": True,
    }


def finish_round() -> None:
    """Close the round's journal session with its summary (only a round with answers has one)."""
    state = st.session_state.get(ROUND)
    journal = ui.journal()
    if not state or state["session_id"] is None or journal is None:
        return
    summary = round_summary(state["feedbacks"])
    try:
        journal.end_session(state["session_id"], {k: summary[k] for k in ("asked", "correct", "per_emotion")})
    except (ValueError, JournalError):
        pass  # the session was deleted on the journal page meanwhile: nothing to close
    state["session_id"] = None


def store(feedback: Feedback) -> bool:
    """Write one answer to the journal, opening the round's quiz session on the first one."""
    state = st.session_state[ROUND]
    journal = ui.journal()
    if journal is None:
        return False
    for _ in range(2):
        try:
            if state["session_id"] is None:
                state["session_id"] = journal.start_session("quiz")
            journal.add_quiz_answer(state["session_id"], **feedback.journal_fields())
            return True
        except ValueError:
            state["session_id"] = None  # deleted meanwhile on the journal page: start a fresh session once
        except JournalError:
            return False
    return False


def guess(emotion: str) -> None:
    state = st.session_state[ROUND]
    if state["revealed"] is not None:  # a double click: the first guess counts
        return
    question: Question = state["questions"][state["position"]]
    feedback = score(question, emotion)
    state["feedbacks"].append(feedback)
    state["revealed"] = feedback
    state["saved"] = store(feedback)


def next_face() -> None:
    state = st.session_state[ROUND]
    state["position"] += 1
    state["revealed"] = None
    if state["position"] >= len(state["questions"]):
        ui.open_checkin(CHECKIN, state["session_id"])  # the check-in on the summary goes with this round's session
        finish_round()


def again() -> None:
    """The same faces once more, reordered with the answers just given."""
    state = st.session_state[ROUND]
    finish_round()
    ui.forget_checkin(CHECKIN)
    state.update(
        questions=order_questions(state["questions"], history(), Random()), position=0, feedbacks=[], revealed=None
    )


def new_photos() -> None:
    finish_round()
    ui.forget_checkin(CHECKIN)
    st.session_state.pop(ROUND, None)
    st.session_state["quiz_uploader"] = st.session_state.get("quiz_uploader", 0) + 1  # a fresh, empty uploader


def show_batch_notes(state: dict) -> None:
    """Files that could not be used and photos without faces, each in one calm line."""
    if state["problems"]:
        lines = "\n".join(f"- {ui.escape_markdown(text)}" for text in state["problems"])
        st.warning(
            f"Some files could not be used; the others are in the quiz.\n\n{lines}", icon=":material/description:"
        )
    if state["no_faces"]:
        names = ", ".join(ui.escape_markdown(name) for name in state["no_faces"])
        st.info(
            f"No face found in: {names}. Faces that are small, turned away or in shadow can be missed; "
            "a clearer photo may work.",
            icon=":material/search:",
        )


def show_question(state: dict) -> None:
    questions: list[Question] = state["questions"]
    question = questions[state["position"]]
    st.subheader(f"Face {state['position'] + 1} of {len(questions)}")
    picture, side = st.columns([1, 2], gap="large")
    picture.image(
        state["crops"][question.key],
        caption=f"From {ui.escape_markdown(question.photo)}",
        width=240,
        alt=f"A face from the photo {question.photo}",
    )
    feedback: Feedback | None = state["revealed"]
    with side:
        if feedback is None:
            st.markdown("**Which emotion do you see?** Take your time; choose one.")
            rows = (EMOTIONS[:4], EMOTIONS[4:])
            for row in rows:
                for column, emotion in zip(st.columns(4), row, strict=False):
                    column.button(
                        label(emotion).capitalize(),
                        key=f"quiz_guess_{emotion}",
                        on_click=guess,
                        args=(emotion,),
                        width="stretch",
                    )
            return
        show_feedback(question, feedback, saved=state["saved"])
        last = state["position"] + 1 == len(questions)
        st.button(
            "See how the round went" if last else "Next face", on_click=next_face, type="primary", key="quiz_next"
        )


def show_feedback(question: Question, feedback: Feedback, saved: bool) -> None:
    (st.success if feedback.correct else st.info)(feedback.message)
    if feedback.answer_source == "label":
        st.caption(f"Scored against the photo's name, which says {label(feedback.answer)}. Xface's own reading:")
    else:
        st.caption("The photo's name gives no emotion, so Xface's reading was used as the answer.")
    explanation = describe(question.probs)
    with st.container(border=True):
        st.markdown(f"**Xface's reading: {explanation.headline}** ({explanation.confidence:.0%} sure)")
        st.write(explanation.summary)
        st.markdown(f"**What the face is doing.** {explanation.face}")
        st.markdown(f"**What it often means.** {explanation.meaning}")
        st.markdown(f"**Easily mixed up with.** {explanation.look_alikes}")
        st.caption(explanation.caution)
    if not saved:
        st.caption("This answer was not saved: the journal can't be opened right now.")


def checkin(session_id: int) -> None:
    """After a round: an invitation to name what the person felt, saved with the round's quiz session."""
    journal = ui.journal()
    if journal is None:
        return
    with st.container(border=True):
        ui.session_checkin(journal, session_id, CHECKIN)


def show_summary(state: dict) -> None:
    summary = round_summary(state["feedbacks"])
    st.subheader("How the round went")
    st.write(summary["message"])
    for emotion, counts in summary["per_emotion"].items():
        st.write(f"- {label(emotion).capitalize()}: {counts['correct']} of {counts['asked']}")
    from_labels = sum(feedback.answer_source == "label" for feedback in state["feedbacks"])
    from_model = len(state["feedbacks"]) - from_labels
    st.caption(f"Answers from photo names: {from_labels}. Answers from Xface's reading: {from_model}.")
    mixups = top_confusions(history())
    if mixups:
        st.markdown("**Across your quizzes so far**")
        for answer, chosen, count in mixups:
            st.write(
                f"You often mix up {label(answer)} and {label(chosen)}: {count} time{'s' * (count != 1)} you chose "
                f"{label(chosen)} where the answer was {label(answer)}. For {label(answer)}, look for: {CUES[answer]}."
            )
        st.caption("Emotions you often mix up come up a little more often in your next rounds.")
    st.write("Reading faces is a skill that grows with practice; every round counts, whatever the score.")
    if (session_id := ui.checkin_session(CHECKIN)) is not None:
        checkin(session_id)
    left, right = st.columns(2)
    left.button("Go through these faces again", on_click=again, key="quiz_again")
    right.button("Use new photos", on_click=new_photos, key="quiz_new_photos", type="primary")


st.title("Photo quiz")
st.write(
    "Upload photos with faces. For each face, choose the emotion you see; then Xface shows its reading and what "
    "to look for. Photos stay in this browser session and are never saved; your answers go into your journal."
)
uploaded = st.file_uploader(
    "Photos, or a zip of photos",
    type=list(UPLOAD_TYPES),
    accept_multiple_files=True,
    key=f"quiz_upload_{st.session_state.get('quiz_uploader', 0)}",
    help=(
        "A name like happy/img1.jpg or img_sad.jpg gives the answer; otherwise Xface's reading is the answer. "
        f"Up to {MAX_PHOTOS} photos at a time."
    ),
)
if not uploaded:
    if st.session_state.get(ROUND):
        finish_round()
        ui.forget_checkin(CHECKIN)
        st.session_state.pop(ROUND)
    st.caption("Tip: a zip with folders named after emotions (happy/, sad/, …) gives every photo a known answer.")
    st.stop()

signature = tuple(file.file_id for file in uploaded)
round_state = st.session_state.get(ROUND)
if round_state is None or round_state["signature"] != signature:
    new_round(uploaded, signature)
    round_state = st.session_state[ROUND]

show_batch_notes(round_state)
if not round_state["questions"]:
    st.info("There are no faces to ask about in these files. Try other photos.", icon=":material/sentiment_neutral:")
elif round_state["position"] < len(round_state["questions"]):
    show_question(round_state)
else:
    show_summary(round_state)
