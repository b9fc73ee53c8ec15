"""Journal: check in on how you feel, look back over sessions and check-ins, export or delete everything.

All of it comes from `xface.journal.Journal` (no SQL here) and the charts from `xface.charts`. What
the person wrote (notes, own words) is shown with `st.text`, so it can never format, link or run.
Deleting always takes a second, explicit step.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import streamlit as st

from xface import charts, journal_io, ui
from xface.feelings import BODY_PLACES, FEELINGS_WHEEL
from xface.journal import Journal, JournalError

ui.enter_page()

INTENSITY = {1: "1 · barely", 2: "2 · a little", 3: "3 · clearly", 4: "4 · strongly", 5: "5 · very strongly"}
TIMELINE_LIMIT = 100
"""Newest items shown in the timeline; the export always holds everything."""
CHECKIN_KEYS = {
    "journal_ci_core": None,
    "journal_ci_word": None,
    "journal_ci_own": "",
    "journal_ci_intensity": 3,
    "journal_ci_body": [],
    "journal_ci_note": "",
}
"""The check-in widgets and the values they return to after a save."""


def when(at: str) -> str:
    """A stored UTC time as the person's local date and time."""
    return datetime.fromisoformat(at).astimezone().strftime("%a %d %b %Y, %H:%M")


def save_checkin(journal: Journal) -> None:
    state = st.session_state
    core, word, own = (
        state.get("journal_ci_core"),
        state.get("journal_ci_word"),
        (state.get("journal_ci_own") or "").strip(),
    )
    try:
        journal.add_checkin(
            feeling=word or core,
            core=core,
            intensity=int(state.get("journal_ci_intensity", 3)),
            body=state.get("journal_ci_body") or [],
            note=state.get("journal_ci_note") or "",
            own_words=own,
        )
    except (ValueError, JournalError) as error:
        state["journal_ci_message"] = ("warning", str(error))
        return
    state["journal_ci_message"] = ("success", "Saved. Noticing how you feel is the practice itself.")
    for key, value in CHECKIN_KEYS.items():
        state[key] = value


def checkin_form(journal: Journal) -> None:
    st.subheader("How do I feel?")
    st.session_state.setdefault(
        "journal_ci_intensity", CHECKIN_KEYS["journal_ci_intensity"]
    )  # the middle, not the first option
    with st.container(border=True):
        left, right = st.columns(2)
        core = left.selectbox(
            "Core feeling",
            list(FEELINGS_WHEEL),
            index=None,
            placeholder="Choose one…",
            key="journal_ci_core",
            format_func=str.capitalize,
        )
        right.selectbox(
            "A more exact word (optional)",
            FEELINGS_WHEEL.get(core or "", []),
            index=None,
            placeholder="Choose a word…" if core else "Choose a core feeling first",
            key="journal_ci_word",
            disabled=core is None,
        )
        st.text_input("Or say it in your own words", key="journal_ci_own", max_chars=200)
        st.select_slider(
            "How strong is it?", options=list(INTENSITY), format_func=INTENSITY.get, key="journal_ci_intensity"
        )
        st.multiselect("Where do you notice it in your body?", list(BODY_PLACES), key="journal_ci_body")
        st.text_area(
            "Note (optional)", key="journal_ci_note", max_chars=2000, placeholder="What happened, what helped…"
        )
        st.button("Save check-in", type="primary", on_click=save_checkin, args=(journal,), key="journal_ci_save")
        message = st.session_state.pop("journal_ci_message", None)
        if message:
            (st.success if message[0] == "success" else st.warning)(message[1])


def date_range() -> tuple[date, date]:
    today = date.today()
    picked = st.date_input(
        "Show from … to", value=(today - timedelta(days=29), today), key="journal_range", format="YYYY-MM-DD"
    )
    if isinstance(picked, date):
        return picked, picked
    if len(picked) == 1:  # the second date is still being picked
        return picked[0], picked[0]
    if len(picked) == 0:
        return today - timedelta(days=29), today
    return picked[0], picked[1]


def charts_section(sessions: list[dict], observations: list[dict], answers: list[dict], checkins: list[dict]) -> None:
    st.subheader("Over time")
    period = st.segmented_control(
        "Group by", list(charts.PERIODS), default="day", format_func=str.capitalize, key="journal_period", required=True
    )
    period = period or "day"
    live = [row for row in sessions if row["kind"] == "live"]
    mood, practice, quiz = st.tabs(["Mood", "Live practice", "Photo quiz"])
    with mood:
        st.caption("How strong each feeling was in your check-ins (mean per day or week).")
        st.altair_chart(charts.mood_trend(checkins, period), width="stretch")
    with practice:
        st.caption("Which expressions Xface read on faces during live practice.")
        st.altair_chart(charts.expressions_per_session(live, observations), width="stretch")
        st.altair_chart(charts.expressions_over_time(observations, period), width="stretch")
    with quiz:
        st.caption("How often you read a face the same way as its answer, per emotion.")
        st.altair_chart(charts.quiz_accuracy_over_time(answers, period), width="stretch")
        st.caption("Which answer you read as which emotion. The diagonal is where they matched.")
        st.altair_chart(charts.confusion_matrix(answers), width="stretch")


def ask_delete(session_id: int | None) -> None:
    st.session_state["journal_pending_delete"] = session_id


def delete_session(journal: Journal, session_id: int) -> None:
    journal.delete_session(session_id)
    st.session_state["journal_pending_delete"] = None
    st.session_state["journal_deleted_message"] = "The session was deleted."


def session_line(session: dict) -> str:
    """One line per session, from the summary stored when it ended (no recounting on every rerun)."""
    summary = session["summary"] or {}
    started = when(session["started_at"])
    if session["kind"] == "quiz":
        scored, right = summary.get("scored", 0), summary.get("right", 0)
        faces = (
            f"{scored} face{'s' * (scored != 1)} scored, {right} read as their answer" if summary else "not finished"
        )
        return f":material/photo_library: **Photo quiz** · {started} · {faces}"
    if session["kind"] == "mirror":
        tries, succeeded = summary.get("tries", 0), summary.get("succeeded", 0)
        done = f"{succeeded} of {tries} tries showed the asked face" if summary else "not finished"
        return f":material/face: **Mirror practice** · {started} · {done}"
    if not summary:
        return f":material/videocam: **Live practice** · {started} · not finished"
    shares = summary.get("emotion_share") or {}
    mostly = f"mostly {max(shares, key=shares.get)}" if shares else "no faces recorded"
    return f":material/videocam: **Live practice** · {started} · {summary['duration_s'] / 60:.0f} min · {mostly}"


def checkin_entry(row: dict) -> None:
    words = [part for part in dict.fromkeys((row["core"], row["feeling"])) if part]
    feeling = " → ".join(ui.escape_markdown(word) for word in words) if words else "in my own words"
    st.markdown(f":material/edit_note: **Check-in** · {when(row['at'])} · {feeling} · {INTENSITY[row['intensity']]}")
    if row["own_words"]:
        st.text(f"In my own words: {row['own_words']}")
    if row["body"]:
        st.caption("Felt in: " + ", ".join(row["body"]))
    if row["note"]:
        st.text(row["note"])


def timeline(journal: Journal, sessions: list[dict], answers: list[dict], checkins: list[dict]) -> None:
    st.subheader("Timeline")
    message = st.session_state.pop("journal_deleted_message", None)
    if message:
        st.success(message)
    items = [(row["started_at"], "session", row) for row in sessions]
    items += [(row["at"], "checkin", row) for row in checkins]
    items.sort(key=lambda item: item[0], reverse=True)
    if not items:
        st.info(
            "Nothing in these dates yet. Practise live, take a photo quiz, or check in above.", icon=":material/eco:"
        )
        return
    if len(items) > TIMELINE_LIMIT:
        st.caption(f"The newest {TIMELINE_LIMIT} of {len(items)} entries; narrow the dates to see older ones.")
    pending = st.session_state.get("journal_pending_delete")
    for _, kind, row in items[:TIMELINE_LIMIT]:
        with st.container(border=True):
            if kind == "checkin":
                checkin_entry(row)
                continue
            text, button = st.columns([5, 1], vertical_alignment="center")
            text.markdown(session_line(row))
            if pending != row["id"]:
                button.button("Delete…", key=f"journal_delete_{row['id']}", on_click=ask_delete, args=(row["id"],))
                continue
            st.warning(
                "Delete this session and everything recorded in it? Check-ins made during it stay. "
                "This can't be undone.",
                icon=":material/delete:",
            )
            yes, no = st.columns(2)
            yes.button(
                "Yes, delete this session",
                key=f"journal_confirm_delete_{row['id']}",
                type="primary",
                on_click=delete_session,
                args=(journal, row["id"]),
            )
            no.button("Keep it", key=f"journal_keep_{row['id']}", on_click=ask_delete, args=(None,))


def ask_delete_all(ask: bool) -> None:
    st.session_state["journal_pending_delete_all"] = ask


def delete_everything(journal: Journal) -> None:
    journal.delete_all()
    st.session_state["journal_pending_delete_all"] = False
    st.session_state["journal_deleted_all_message"] = "Everything in your journal was deleted."


def restore(journal: Journal) -> None:
    """Bring back an export (for example after deleting everything, or on a new computer)."""
    with st.expander("Restore from an export"):
        st.caption("Choose a zip made by *Export everything*. Its entries are added back; nothing else changes.")
        upload = st.file_uploader("Export zip", type=["zip"], key="journal_import_file")
        if upload is None or not st.button("Restore", key="journal_import", icon=":material/upload:"):
            return
        try:
            result = journal_io.restore_zip(journal, upload.getvalue())
        except (ValueError, JournalError) as error:
            st.error(str(error))
            return
        st.session_state["journal_restored_message"] = result.message
        st.rerun()  # so the charts and timeline above show the restored entries


def your_data(journal: Journal) -> None:
    st.subheader("Your data")
    st.write("Your journal lives only on this computer. The export holds every entry, whatever dates are shown.")
    st.download_button(
        "Export everything (zip with CSV and JSON)",
        data=lambda: journal_io.export_zip(journal),  # built when clicked, so it holds every entry up to then
        file_name=f"xface-journal-{date.today().isoformat()}.zip",
        mime="application/zip",
        on_click="ignore",
        icon=":material/download:",
        key="journal_export",
    )
    restore(journal)
    message = st.session_state.pop("journal_deleted_all_message", None) or st.session_state.pop(
        "journal_restored_message", None
    )
    if message:
        st.success(message)
    if not st.session_state.get("journal_pending_delete_all"):
        st.button("Delete all my journal data…", key="journal_delete_all", on_click=ask_delete_all, args=(True,))
        return
    st.warning(
        "This deletes every session, reading, quiz answer and check-in. Export first if you want a copy. "
        "This can't be undone.",
        icon=":material/delete:",
    )
    yes, no = st.columns(2)
    yes.button(
        "Yes, delete everything",
        key="journal_confirm_delete_all",
        type="primary",
        on_click=delete_everything,
        args=(journal,),
    )
    no.button("Cancel", key="journal_cancel_delete_all", on_click=ask_delete_all, args=(False,))


st.title("Journal")
st.write("Check in on how you feel, and look back at your practice. Nothing here leaves this computer.")
journal = ui.journal()
if journal is None:
    st.stop()

checkin_form(journal)
start, end = date_range()
sessions = journal.sessions(start, end)
observations = journal.observations(start=start, end=end)
answers = journal.quiz_answers(start, end)
checkins = journal.checkins(start, end)
charts_section(sessions, observations, answers, checkins)
timeline(journal, sessions, answers, checkins)
your_data(journal)
