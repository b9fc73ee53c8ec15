"""Journal: check in on how you feel, look back over sessions and check-ins, correct them, export, restore or delete.

All of it comes from `xface.journal.store.Journal` and `xface.journal.files` (no SQL here) and the charts from
`xface.journal.charts`. What the person wrote (notes, feeling words, own words, file names) is shown with `st.text`, so
it can never format, link, load or run anything. Deleting always takes a second, explicit step. Journal failures (disk
full, file held, damaged) show as a sentence, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import streamlit as st

from xface.app import ui
from xface.journal import charts, files
from xface.journal.schema import JournalError
from xface.journal.store import Journal
from xface.journal.timeline import checkin_lines, local_time, session_line, timeline_entries

ui.enter_page()

TIMELINE_LIMIT = 100
"""Newest items shown in the timeline; the export always holds everything."""
NEW = "journal_ci_"
"""Prefix of the new check-in form's keys; FORM counts its saves, so its Save button's key names the next one."""
FORM = "journal_ci_form"
WAL_KEPT = (
    "Deleted. Another Xface window was still reading the journal, so a copy may stay on the disk for now. "
    "Close other Xface tabs, then press Delete again to wipe it."
)


# --- checking in -------------------------------------------------------------------------------


def save_checkin(journal: Journal, form: int) -> None:
    """Save the form the button was drawn with, once (`ui.drawn_key`), and empty it for the next one."""
    if form != st.session_state.get(FORM, 0):
        return
    try:
        journal.add_checkin(**ui.checkin_values(NEW))
    except (ValueError, JournalError) as error:
        ui.say("journal_ci", "warning", str(error))
        return
    ui.clear_checkin(NEW)
    st.session_state[FORM] = form + 1
    ui.say("journal_ci", "success", "Saved. Noticing how you feel is the practice itself.")


def checkin_form(journal: Journal) -> None:
    st.subheader("How do I feel?")
    form = st.session_state.get(FORM, 0)
    with st.container(border=True):
        ui.checkin_fields(NEW, with_time=True)
        save = ui.drawn_key("journal_ci_save", form)
        st.button("Save check-in", type="primary", on_click=save_checkin, args=(journal, form), key=save)
        ui.show_said("journal_ci")


# --- charts ------------------------------------------------------------------------------------


def charts_section(
    sessions: list[dict], observations: list[dict], answers: list[dict], tries: list[dict], checkins: list[dict]
) -> None:
    st.subheader("Over time")
    period = st.segmented_control(
        "Group by", list(charts.PERIODS), default="day", format_func=str.capitalize, key="journal_period", required=True
    )
    period = period or "day"
    live = [row for row in sessions if row["kind"] == "live"]
    mood, faces, mirror = st.tabs(["Mood", "Faces you read", "Your own face"])
    with mood:
        st.caption("How pleasant each check-in felt, and how much energy you had. Each dot is one check-in.")
        for axis in charts.MOOD_AXES:
            st.altair_chart(charts.mood_over_time(checkins, axis, period), width="stretch")
        st.caption(charts.SMOOTH_RULE)
        st.caption("Each day's mean pleasantness, one square per day.")
        st.altair_chart(charts.mood_calendar(checkins), width="content")
    with faces:
        st.caption("Photo quiz: how often you read a face the same way as its answer. Each dot says how many.")
        st.altair_chart(charts.quiz_accuracy_over_time(answers, period), width="stretch")
        st.altair_chart(charts.quiz_accuracy_by_emotion(answers), width="stretch")
        st.caption("Which answer you read as which emotion. The diagonal is where they matched.")
        st.altair_chart(charts.confusion_matrix(answers), width="stretch")
        st.altair_chart(charts.live_guesses(answers), width="stretch")
        st.caption("Live practice: which expressions Xface read on faces.")
        st.altair_chart(charts.expressions_per_session(live, observations), width="stretch")
        st.altair_chart(charts.expressions_over_time(observations, period), width="stretch")
    with mirror:
        st.caption("Mirror practice: how often your own face showed the expression you were asked for.")
        st.altair_chart(charts.mirror_practice(tries), width="stretch")


# --- the timeline ------------------------------------------------------------------------------


def pend(what: str | None) -> None:
    """Which entry asks 'are you sure?' or is being edited ('delete-session-3', 'edit-checkin-7'); None: none."""
    st.session_state["journal_pending"] = what


def delete(action: Callable[[], bool], done: str, place: str) -> None:
    """Run one delete and say how it went: ``action`` returns False when a copy may stay on the disk for now."""
    pend(None)
    try:
        wiped = action()
    except (ValueError, JournalError) as error:
        ui.say(place, "error", f"Nothing was deleted: {error}")
        return
    ui.say(place, "success", done if wiped else WAL_KEPT)


def start_edit(row: dict) -> None:
    ui.fill_checkin(f"journal_edit_{row['id']}_", row)
    pend(f"edit-checkin-{row['id']}")


def save_edit(journal: Journal, checkin_id: int) -> None:
    prefix = f"journal_edit_{checkin_id}_"
    values = ui.checkin_values(prefix)
    values.pop("core")
    try:
        journal.update_checkin(checkin_id, **values)
    except (ValueError, JournalError) as error:
        st.session_state[f"{prefix}error"] = str(error)
        return
    ui.forget_checkin(prefix)
    pend(None)
    ui.say("journal_timeline", "success", "The check-in was changed.")


def cancel_edit(checkin_id: int) -> None:
    ui.forget_checkin(f"journal_edit_{checkin_id}_")
    pend(None)


def checkin_entry(journal: Journal, row: dict, pending: str | None) -> None:
    text, buttons = st.columns([4, 2], vertical_alignment="top")
    text.markdown(f":material/edit_note: **Check-in** · {local_time(row['at'])}")
    for line in checkin_lines(row):
        text.text(line)
    key = row["id"]
    if pending == f"edit-checkin-{key}":
        prefix = f"journal_edit_{key}_"
        with st.container(border=True):
            ui.checkin_fields(prefix, with_time=True)
            if error := st.session_state.pop(f"{prefix}error", None):
                st.warning(error)
            with st.container(horizontal=True):
                st.button("Save changes", key=f"{prefix}save", type="primary", on_click=save_edit, args=(journal, key))
                st.button("Cancel", key=f"{prefix}cancel", on_click=cancel_edit, args=(key,))
        return
    if pending == f"delete-checkin-{key}":
        confirm_delete(
            "Delete this check-in? This can't be undone.",
            "Yes, delete it",
            f"checkin_{key}",
            lambda: journal.delete_checkin(key),
            "The check-in was deleted.",
        )
        return
    with buttons.container(horizontal=True):
        st.button("Edit", key=f"journal_edit_checkin_{key}", on_click=start_edit, args=(row,), icon=":material/edit:")
        st.button("Delete…", key=f"journal_delete_checkin_{key}", on_click=pend, args=(f"delete-checkin-{key}",))


def session_entry(journal: Journal, row: dict, pending: str | None) -> None:
    text, button = st.columns([5, 1], vertical_alignment="center")
    text.markdown(session_line(row))
    key = row["id"]
    if pending != f"delete-session-{key}":
        button.button("Delete…", key=f"journal_delete_{key}", on_click=pend, args=(f"delete-session-{key}",))
        return
    confirm_delete(
        "Delete this session and everything recorded in it? Check-ins made during it stay. This can't be undone.",
        "Yes, delete this session",
        str(key),
        lambda: journal.delete_session(key),
        "The session was deleted.",
    )


def confirm_delete(question: str, yes_label: str, key: str, action: Callable[[], bool], done: str) -> None:
    """Ask before deleting: on yes run ``action`` (see ``delete``); "Keep it" leaves everything as it is."""
    st.warning(question, icon=":material/delete:")
    yes, no = st.columns(2)
    yes.button(
        yes_label,
        key=f"journal_confirm_delete_{key}",
        type="primary",
        on_click=delete,
        args=(action, done, "journal_data" if key == "all" else "journal_timeline"),
    )
    no.button("Keep it", key=f"journal_keep_{key}", on_click=pend, args=(None,))


def timeline(journal: Journal, sessions: list[dict], checkins: list[dict]) -> None:
    st.subheader("Timeline")
    st.caption("Edit or delete a check-in here, or move it to the day it happened.")
    ui.show_said("journal_timeline")
    items = timeline_entries(sessions, checkins)
    if not items:
        st.info(
            "Nothing in these dates yet. Practise live, take a photo quiz, or check in above.", icon=":material/eco:"
        )
        return
    if len(items) > TIMELINE_LIMIT:
        st.caption(f"The newest {TIMELINE_LIMIT} of {len(items)} entries; narrow the dates to see older ones.")
    pending = st.session_state.get("journal_pending")
    for entry in items[:TIMELINE_LIMIT]:
        with st.container(border=True):
            (checkin_entry if entry.kind == "checkin" else session_entry)(journal, entry.row, pending)


# --- your data ---------------------------------------------------------------------------------


def restore(journal: Journal) -> None:
    """Bring back an export (after deleting something by mistake, or on a new computer)."""
    with st.expander("Restore from an export"):
        st.caption("Choose a zip from *Export everything*. Missing entries come back; the others stay as they are.")
        upload = st.file_uploader("Export zip", type=["zip"], key="journal_import_file")
        if upload is None or not st.button("Restore", key="journal_import", icon=":material/upload:"):
            return
        try:
            result = files.restore_zip(journal, upload.getvalue())
        except (ValueError, JournalError) as error:
            st.error(str(error))
            return
        ui.say("journal_data", "success", result.message)
        st.rerun()  # so the charts and timeline above show the restored entries


def your_data(journal: Journal, start: date, end: date) -> None:
    st.subheader("Your data")
    st.write("Your journal lives only on this computer. The export holds every entry, whatever dates are shown.")
    names = st.checkbox(
        "Include quiz photo names in the export",
        key="journal_export_names",
        help="File names often hold people's names, so they are left out unless you tick this.",
    )
    st.download_button(
        "Export everything (zip with CSV and JSON)",
        data=lambda: files.export_zip(journal, include_photo_names=names),  # built when clicked
        file_name=f"xface-journal-{date.today().isoformat()}.zip",
        mime="application/zip",
        on_click="ignore",
        icon=":material/download:",
        key="journal_export",
    )
    notes = st.checkbox("Include my notes in the summary", key="journal_summary_notes")
    st.download_button(
        f"One-page summary of {start:%d %b} to {end:%d %b} (to print or share)",
        data=lambda: files.summary_html(journal, start, end, include_notes=notes),
        file_name=f"xface-summary-{start.isoformat()}-to-{end.isoformat()}.html",
        mime="text/html",
        on_click="ignore",
        icon=":material/description:",
        key="journal_summary",
    )
    restore(journal)
    ui.show_said("journal_data")
    if st.session_state.get("journal_pending") != "delete-all":
        st.button("Delete all my journal data…", key="journal_delete_all", on_click=pend, args=("delete-all",))
        return
    confirm_delete(
        "This deletes every session, reading, quiz answer, mirror try and check-in. Export first if you want a "
        "copy. This can't be undone.",
        "Yes, delete everything",
        "all",
        journal.delete_all,
        "Everything in your journal was deleted.",
    )


st.title("Journal")
st.write("Check in on how you feel, and look back at your practice. Nothing here leaves this computer.")
if (journal := ui.journal()) is None:
    st.stop()

checkin_form(journal)
span = ui.date_span("journal_range")
start, end = span.start, span.end
try:
    sessions = journal.sessions(start, end)
    observations = journal.observations(start=start, end=end)
    answers = journal.quiz_answers(start, end)
    tries = journal.mirror_results(start, end)
    checkins = journal.checkins(start, end)
except JournalError as error:
    st.error(f"The journal can't be read: {error}")
else:
    if note := journal.unreadable_note():  # rows an older Xface let in: left out, never a crash
        st.warning(note)
    charts_section(sessions, observations, answers, tries, checkins)
    timeline(journal, sessions, checkins)
your_data(journal, start, end)
