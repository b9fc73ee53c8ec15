"""Photo quiz: name the emotion on a face first, then see how people and Xface read it, and why.

Two ways to play: Xface's own practice faces (no upload; a level and, if wanted, some emotions),
or your own photos. Photos stay in memory (the face crops in this browser session only); the
journal keeps the answers, never pixels. Nothing on screen names the answer before the guess:
no file name in a caption or alt text until the answer is shown. Scoring rules are in
`xface.teach.quiz`. The round lives in session state under a plain key (not a widget's), so it survives
going to another page and coming back. After each step, focus moves to what comes next (the
"Next face" button, then the next face's question), so a keyboard user goes on with one key.
"""

from __future__ import annotations

from random import Random

import streamlit as st

from xface.app import ui
from xface.app.uploads import MAX_PHOTOS, UPLOAD_TYPES, quiz_batch
from xface.emotions import EMOTIONS, emotion_word
from xface.teach.explain import texts
from xface.teach.practice import LEVELS
from xface.teach.quiz import (
    Feedback,
    Question,
    bank_questions,
    feedback_lines,
    order_questions,
    round_summary,
    top_confusions,
)
from xface.teach.rounds import QuizRound

ui.enter_page()

ROUND = "quiz_round"
"""Session-state key of the round in progress (a ``QuizRound``)."""
CHECKIN = "quiz_checkin_"
"""Prefix of every session-state key of the check-in after a round (its session, widgets and saved text)."""
FACE_WIDTH = 220
"""Pixels: big enough to read a face, small enough that it and all seven choices fit a 390 x 844 phone screen."""
BANK_SOURCE = "Xface's practice faces (FER2013, labelled by 10 people each through FER+)"


def word(emotion: str) -> str:
    return emotion_word(emotion)


def history() -> list[dict]:
    journal = ui.journal()
    return journal.quiz_answers() if journal is not None else []


def the_round() -> QuizRound | None:
    return st.session_state.get(ROUND)


def start_bank_round() -> None:
    """The "Practise with Xface's faces" button: ten faces of the chosen level, no upload needed."""
    leave_round()
    level = st.session_state.get("quiz_level") or 1
    emotions = st.session_state.get("quiz_emotions") or None
    questions = bank_questions(level, emotions, history(), Random())
    crops = {question.key: question.crowd.display_image() for question in questions}
    st.session_state[ROUND] = QuizRound("bank", questions, crops)


def start_upload_round(files: list) -> None:
    """Find every face in the uploads and order the questions by what this person tends to miss."""
    leave_round()
    shown = st.empty()
    with st.spinner("Looking for faces in your photos…"):
        batch = quiz_batch(
            ((file.name, file.getvalue()) for file in files),
            ui.analyzer(),
            progress=lambda done: shown.caption(f"Looked at {done} photo{'s' * (done != 1)}…"),
        )
    shown.empty()
    st.session_state[ROUND] = QuizRound(
        "upload",
        order_questions(batch.questions, history(), Random()),
        batch.crops,
        problems=[str(problem) for problem in batch.problems],
        no_faces=batch.no_faces,
    )
    st.session_state["quiz_uploader"] = st.session_state.get("quiz_uploader", 0) + 1  # the files are in the round


def guess(emotion: str) -> None:
    st.session_state[ROUND].answer(emotion, ui.analyzer(), ui.journal())


def next_face(position: int) -> None:
    """On from the face Next was drawn for, once (`ui.drawn_key`)."""
    if st.session_state[ROUND].position != position:
        return
    if (session_id := st.session_state[ROUND].next_face(ui.journal())) is not None:
        ui.open_checkin(CHECKIN, session_id)  # the check-in on the summary goes with this round's session


def end_early() -> None:
    """Stop the round here and see how it went."""
    quiz = st.session_state[ROUND]
    if not quiz.feedbacks:
        leave_round()
        return
    ui.open_checkin(CHECKIN, quiz.end_early(ui.journal()))


def again() -> None:
    """The same faces once more, reordered with the answers just given."""
    ui.forget_checkin(CHECKIN)
    st.session_state[ROUND].again(history(), Random(), ui.journal())


def leave_round() -> None:
    if (quiz := the_round()) is not None:
        quiz.finish(ui.journal())
    ui.forget_checkin(CHECKIN)
    st.session_state.pop(ROUND, None)


def show_batch_notes(state: QuizRound) -> None:
    """Files that could not be used and photos without faces, each in one calm line."""
    if state.problems:
        lines = "\n".join(f"- {ui.escape_markdown(text)}" for text in state.problems)
        st.warning(
            f"Some files could not be used; the others are in the quiz.\n\n{lines}", icon=":material/description:"
        )
    if state.no_faces:
        names = ", ".join(ui.escape_markdown(name) for name in state.no_faces)
        st.info(
            f"No face found in: {names}. Faces that are small, turned away or in shadow can be missed; "
            "a clearer photo may work.",
            icon=":material/search:",
        )


def show_question(state: QuizRound) -> None:
    questions: list[Question] = state.questions
    position = state.position
    question = questions[position]
    feedback: Feedback | None = state.revealed
    with st.container(key=f"quiz_face_{position}"):
        st.subheader(f"Face {position + 1} of {len(questions)}", anchor=False)  # no link between it and the choices
        picture, side = st.columns([1, 2], gap="medium")  # stacked on a phone: the choices close under the face
        if feedback is None:  # nothing may name the answer yet: no file name, no folder
            picture.image(state.crops[question.key], width=FACE_WIDTH, alt="A face. Which emotion do you see?")
        else:
            source = BANK_SOURCE if question.crowd is not None else question.photo
            picture.image(
                state.crops[question.key],
                caption=f"From {ui.escape_markdown(source)}",
                width=FACE_WIDTH,
                alt=f"The face you just named, from {source}",
            )
        with side:
            if feedback is None:
                with st.container(key=f"quiz_prompt_{position}"):
                    st.markdown("**Which emotion do you see?** Take your time; choose one.")
                with st.container(horizontal=True, gap="small"):  # wraps: on a phone all seven fit on one screen
                    for emotion in EMOTIONS:
                        st.button(
                            word(emotion).capitalize(), key=f"quiz_guess_{emotion}", on_click=guess, args=(emotion,)
                        )
            else:
                with st.container(key=f"quiz_feedback_{position}"):
                    show_feedback(question, feedback, saved=state.saved)
                last = position + 1 == len(questions)
                st.button(
                    "See how the round went" if last else "Next face",
                    on_click=next_face,
                    args=(position,),
                    type="primary",
                    key=ui.drawn_key("quiz_next", position),
                )
    st.button("End this round", key="quiz_end", on_click=end_early, help="See how the round went so far.")
    if feedback is None:  # the question itself: one Tab on, the first choice (the picture's tools come before it)
        ui.move_focus(f".st-key-quiz_prompt_{position} p", state.steps, show=f".st-key-quiz_face_{position}")
    else:  # Enter goes on; the face stays in view, its feedback beside it (on a phone: right under it)
        next_key = ui.drawn_key("quiz_next", position)
        ui.move_focus(f".st-key-{next_key} button", state.steps, show=f".st-key-quiz_face_{position}")


def show_feedback(question: Question, feedback: Feedback, saved: bool) -> None:
    """A few short lines, the crowd's split first (`xface.teach.quiz.feedback_lines`); the verdict line stands out."""
    alert = st.success if feedback.verdict == "right" else st.info
    for line in feedback_lines(feedback):
        if line == feedback.message:
            alert(line)
        else:
            st.markdown(line)  # our own words only: no file name, no note
    if not saved:
        st.caption("This answer was not saved: the journal can't be opened right now.")


def checkin(session_id: int) -> None:
    """After a round: an invitation to name what the person felt, saved with the round's quiz session."""
    journal = ui.journal()
    if journal is None:
        return
    with st.container(border=True):
        ui.session_checkin(journal, session_id, CHECKIN)


def pair_text(answer: str, chosen: str) -> str:
    pairs = texts()["pairs"]
    return pairs.get(f"{answer}|{chosen}") or pairs.get(f"{chosen}|{answer}", "")


def show_summary(state: QuizRound) -> None:
    summary = round_summary(state.feedbacks)
    st.subheader("How the round went")
    st.write(summary.message)
    for emotion, counts in summary.per_emotion.items():
        st.write(f"- {word(emotion).capitalize()}: {counts['right']} of {counts['asked']}")
    mixups = top_confusions(history())
    if mixups:
        st.markdown("**Across your quizzes so far**")
        for mixup in mixups:
            st.write(
                f"You have read {word(mixup.answer)} faces as {word(mixup.guess)} {mixup.count} times. "
                f"{pair_text(mixup.answer, mixup.guess)}"
            )
        st.caption("Emotions you often mix up come up a little more often in your next rounds.")
    st.write("Reading faces is a skill that grows with practice; every round counts, whatever the score.")
    if (session_id := ui.checkin_session(CHECKIN)) is not None:
        checkin(session_id)
    left, right = st.columns(2)
    left.button("Go through these faces again", on_click=again, key="quiz_again")
    right.button("Start a new round", on_click=leave_round, key="quiz_new_round", type="primary")


def start_choices() -> None:
    """No round yet: practise with Xface's faces, or upload photos."""
    with st.container(border=True):
        st.subheader("Practise with Xface's faces")
        st.write("No upload needed. Each face was read by 10 people; you see how they read it after your guess.")
        st.radio("Level", list(LEVELS), format_func=LEVELS.get, key="quiz_level")
        st.multiselect(
            "Only some emotions (optional)",
            EMOTIONS,
            format_func=lambda emotion: word(emotion).capitalize(),
            key="quiz_emotions",
            placeholder="All seven",
        )
        st.button("Practise with Xface's faces", type="primary", on_click=start_bank_round, key="quiz_bank_start")
    with st.container(border=True):
        st.subheader("Or use your own photos")
        uploaded = st.file_uploader(
            "Photos, or a zip of photos",
            type=list(UPLOAD_TYPES),
            accept_multiple_files=True,
            key=f"quiz_upload_{st.session_state.get('quiz_uploader', 0)}",
            help=(
                "A name like happy/img1.jpg or img_sad.jpg gives the answer. Without one, a guess is not scored: "
                f"you see Xface's reading, for information. Up to {MAX_PHOTOS} photos at a time."
            ),
        )
        st.caption("Tip: a zip with folders named after emotions (happy/, sad/, …) gives every photo a known answer.")
    if uploaded:
        start_upload_round(uploaded)
        st.rerun()


st.title("Photo quiz")
st.write(
    "For each face, choose the emotion you see; then Xface shows how people read it, what to look for, and its own "
    "reading. Photos stay in this browser session and are never saved; your answers go into your journal."
)
round_state = st.session_state.get(ROUND)
if round_state is None:
    start_choices()
    st.stop()

show_batch_notes(round_state)
if not round_state.questions:
    st.info("There are no faces to ask about in these files. Try other photos.", icon=":material/sentiment_neutral:")
    st.button("Start again", on_click=leave_round, key="quiz_new_round", type="primary")
elif not round_state.over:
    show_question(round_state)
else:
    show_summary(round_state)
