"""Every page renders through the real app (navigation included) with Streamlit's AppTest.

AppTest can't run the webrtc component's media, so the live page is checked for what it shows
around the video: the not-playing guidance, recording start/stop with the check-in, and the "Why?"
panel. The quiz and journal interactions are tested in their own files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from xface.app.cards import why_pictures
from xface.journal.store import Journal
from xface.teach.explain import accuracy_statement

ROOT = Path(__file__).resolve().parents[2]
LIVE = "pages/live_practice.py"
PAGES = {
    "pages/start.py": "Start here",
    "pages/live_practice.py": "Live practice",
    "pages/photo_quiz.py": None,
    "pages/mirror_practice.py": None,
    "pages/journal.py": None,
    "pages/help.py": "Help",
    "pages/watch.py": "Watch",
}


@pytest.fixture
def db_path(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "journal.db"
    monkeypatch.setenv("XFACE_DB", str(path))
    monkeypatch.delenv("XFACE_PASSCODE", raising=False)
    # AppTest's runtime is a stand-in without a session manager, which streamlit-webrtc asks for; it
    # treats "no session info" as "not running in a server" and carries on, which is what we want here.
    import streamlit_webrtc.component

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    return path


def app(page: str | None = LIVE) -> AppTest:
    """The app on `page` (the live page unless told; None: the page it opens on)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if page is not None:
        at.switch_page(page)
    return at.run()


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders(db_path, page):
    at = app(page)
    assert not at.exception, at.exception
    assert at.title, "every page has a title"
    if PAGES[page]:
        assert at.title[0].value == PAGES[page]


def test_the_start_page_is_the_default_and_says_what_trust_and_privacy_mean(db_path):
    import textstat

    at = app(None)
    assert not at.exception
    assert at.title[0].value == "Start here"
    assert [s.value for s in at.subheader] == ["What you can do", "How far to trust it", "Your privacy"]
    text = " ".join(m.value for m in at.markdown)
    for choice in ("Live practice", "Mirror practice", "Photo quiz", "Journal", "Menu"):
        assert f"**{choice}**" in text
    assert accuracy_statement() in text and "cannot see what someone feels inside" in text
    assert "stays on this computer" in text
    listed = re.findall(r"^- \*\*([^*]+)\*\*", text.replace(" - ", "\n- "), re.M)
    assert listed == practice_pages()  # every page a newcomer can go to, in menu order
    (first_step,) = at.get("page_link")
    assert first_step.proto.page == "photo_quiz" and first_step.proto.label == "Begin with the photo quiz"
    for block in at.markdown:
        if not block.value.startswith("<style>"):
            assert textstat.flesch_reading_ease(block.value.replace("*", "")) >= 70, block.value


def test_the_live_page_explains_how_to_start(db_path):
    at = app(LIVE)
    assert not at.exception
    assert at.title[0].value == "Live practice"
    assert any("Start camera" in info.value for info in at.info)
    assert [b.label for b in at.button] == ["Start recording", "Stop recording"]
    assert [b.disabled for b in at.button] == [True, True]  # nothing to record before the camera runs
    assert "Start the camera first." in at.button[0].help


def start_recording(at: AppTest) -> AppTest:
    """What Start recording does once the camera runs (AppTest has no camera, so the button stays disabled):
    the page's own LiveSession starts recording into the page's journal."""
    at.session_state["live_session"].start_recording(at.session_state["journal"])
    return at.run()


def a_face_was_seen(db_path) -> None:
    """What the camera would have recorded (AppTest has no camera): one reading in the open session."""
    with Journal(db_path) as journal:
        (session,) = journal.sessions()
        probs = {emotion: 0.1 for emotion in ("angry", "disgust", "fear", "happy", "surprise", "neutral")}
        journal.add_observations(
            session["id"], [{"t": 0.0, "face_id": 1, "probs": probs | {"sad": 0.4}, "emotion": "sad"}]
        )


def test_a_recording_in_which_no_face_was_seen_says_so_and_stores_nothing(db_path):
    at = start_recording(app(LIVE))
    at.button[1].click().run()
    assert not at.exception
    assert any("No face was seen while recording, so nothing was saved." in w.value for w in at.warning)
    assert Journal(db_path).sessions() == []


def test_recording_then_check_in_is_saved_for_that_session(db_path):
    at = start_recording(app(LIVE))
    assert not at.exception
    assert any("Recording: 0 readings saved" in m.value for m in at.markdown)
    assert [b.disabled for b in at.button] == [True, False]
    a_face_was_seen(db_path)
    at.button[1].click().run()
    assert not at.exception
    assert any("You practised for" in m.value for m in at.markdown)
    at.select_slider(key="live_checkin_pleasantness").set_value(-1)
    at.select_slider(key="live_checkin_energy").set_value(-1).run()
    at.button_group(key="live_checkin_word_-1_-1").set_value("lonely")
    at.select_slider(key="live_checkin_intensity").set_value(2)
    at.button_group(key="live_checkin_body").set_value(["chest", "throat"])
    at.text_area(key="live_checkin_note").set_value("**not bold** <i>plain</i>")
    at.button(key="live_checkin_save").click().run()
    assert not at.exception
    assert at.success and "saved" in at.success[0].value
    assert any("Note: **not bold** <i>plain</i>" in t.value for t in at.text), [t.value for t in at.text]

    journal = Journal(db_path)
    (session,) = journal.sessions()
    assert session["kind"] == "live" and session["ended_at"] is not None
    (checkin,) = journal.checkins()
    assert (checkin["session_id"], checkin["core"], checkin["feeling"]) == (session["id"], "sad", "lonely")
    assert (checkin["intensity"], checkin["body"]) == (2, ["chest", "throat"])
    assert checkin["note"] == "**not bold** <i>plain</i>"

    at.button(key="live_checkin_done").click().run()  # the next check-in starts empty
    assert not at.exception and not at.success
    at = start_recording(at)
    Journal(db_path).add_observations(2, [{"t": 0.0, "face_id": 1, "probs": {"sad": 0.9}, "emotion": "sad"}])
    at.button[1].click().run()
    assert at.text_area(key="live_checkin_note").value == ""
    assert at.select_slider(key="live_checkin_pleasantness").value == 0


def test_check_in_in_own_words_needs_no_wheel_word(db_path):
    at = start_recording(app(LIVE))
    a_face_was_seen(db_path)
    at.button[1].click().run()
    at.text_input(key="live_checkin_own_words").set_value("like a storm cloud")
    at.button(key="live_checkin_save").click().run()
    assert not at.exception and at.success
    (checkin,) = Journal(db_path).checkins()
    assert checkin["own_words"] == "like a storm cloud"


def why_app(analyzer, portrait) -> tuple[AppTest, str]:
    """The live page with a face frozen in the "Why?" panel, as after pressing Why?, and its region sentence."""
    reading = analyzer.stream().process(portrait)[0]
    why = why_pictures(analyzer, reading)  # what the Why? button stores (xface/app/ui/widgets.py: freeze)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page(LIVE)
    at.session_state["live_why"] = why
    return at.run(), why.sentence


def test_the_why_panel_shows_the_frozen_face_and_where_the_model_looked(db_path, analyzer, portrait):
    at, sentence = why_app(analyzer, portrait)
    assert not at.exception
    assert any(s.value.startswith("Why? Face 1:") for s in at.subheader)
    assert any(sentence in m.value for m in at.markdown)
    at.button(key="live_why_close").click().run()
    assert not any(s.value.startswith("Why?") for s in at.subheader)


def test_saving_a_face_picture_is_opt_in(db_path, analyzer, portrait):
    snapshots = db_path.parent / "snapshots"
    at, _ = why_app(analyzer, portrait)
    assert not at.exception
    toggle = at.toggle(key="live_allow_snapshots")
    assert toggle.value is False  # off by default
    assert not [b for b in at.button if b.key == "live_save_snapshot"]  # nothing to press while off
    assert not snapshots.exists()

    toggle.set_value(True).run()
    at.button(key="live_save_snapshot").click().run()
    assert not at.exception
    (saved,) = snapshots.iterdir()
    assert saved.suffix == ".png" and saved.read_bytes().startswith(b"\x89PNG")
    assert str(saved) in " ".join(s.value for s in at.success)


def test_help_page_states_the_limits_and_privacy(db_path):
    at = app("pages/help.py")
    text = " ".join(m.value for m in at.markdown)
    phrases = (
        "A face is not a feeling",
        accuracy_statement(),
        "Nothing leaves this computer",
        "No pictures are stored",
    )
    for phrase in phrases:
        assert phrase in text
    assert set(practice_pages()) <= {s.value for s in at.subheader}
    assert "Camera troubleshooting" in [h.value for h in at.header]


def practice_pages() -> list[str]:
    """The titles of the menu's pages between Start here and Help, read from the app's navigation."""
    titles = re.findall(r'st\.Page\("pages/\w+\.py", title="([^"]+)"', (ROOT / "app.py").read_text())
    assert titles[0] == "Start here" and titles[-1] == "Help", titles
    return titles[1:-1]


def test_the_readme_names_every_page_of_the_menu():
    """A newcomer learns of a page from Start here, Help and the README; a page left out is a page nobody finds."""
    assert "Watch" in practice_pages() and "Mirror practice" in practice_pages()
    listed = re.findall(r"^- \*\*([^*]+)\*\*:", (ROOT / "README.md").read_text(), re.M)
    assert listed == ["Start here", *practice_pages(), "Help"]
