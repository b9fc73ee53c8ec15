"""The mirror-practice page in Streamlit's AppTest (no camera there: the browser test drives the camera)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from xface.journal.store import Journal


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "journal.db"
    monkeypatch.setenv("XFACE_DB", str(path))
    # AppTest's runtime has no session manager, which streamlit-webrtc asks for; without session info
    # it carries on as outside a server, which is what a page test needs.
    import streamlit_webrtc.component

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    return path


def test_the_page_is_in_the_menu_and_starts_with_the_resting_face(db):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.switch_page("pages/mirror_practice.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Mirror practice"
    assert any("Press **Start camera**" in alert.value for alert in at.info)
    assert at.subheader[0].value == "First, let your face rest"
    assert not at.get("progress"), "nothing is being learned before the camera runs"
    assert at.button(key="mirror_end")

    at.button(key="mirror_end").click()  # ending before anything was tried stores nothing
    at.run()
    assert at.subheader[0].value == "Round done"
    with Journal(db) as journal:
        assert journal.sessions() == []
