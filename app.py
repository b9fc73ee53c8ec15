"""Xface: the Streamlit entry point. Navigation and the passcode gates, nothing else.

`streamlit run app.py` imports this file once as the server (`app`, an `st.App` with the host check and the
passcode gate in front of every HTTP and WebSocket request: see xface/app/gate.py), then runs it as the page script for
each browser session (`__name__ == "__main__"`): the navigation below.
"""

import streamlit as st

from xface.app import ui
from xface.app.ui.frame import app_frame

if __name__ != "__main__":  # imported by `streamlit run` as the web server, not run as a page script
    from pathlib import Path

    from starlette.middleware import Middleware

    from xface.app.gate import HostGate, PasscodeGate

    ui.keep_streamlit_offline()
    ui.answer_to_localhost_too()
    try:
        ui.configured_passcode()
    except ValueError as error:  # said once, at start, instead of failing every unlock
        raise SystemExit(f"Xface can't start: {error}") from None
    app = st.App(
        Path(__file__),
        middleware=[  # outermost first: a request for another host never reaches the passcode gate
            Middleware(HostGate, allowed_hosts=ui.allowed_hosts, allowed_origins=ui.allowed_origins),
            Middleware(PasscodeGate, passcode=ui.configured_passcode, beyond_localhost=ui.served_beyond_localhost),
        ],
    )
else:
    st.set_page_config(page_title="Xface", page_icon="🙂", layout="wide")
    app_frame()
    # URL paths equal the file names: Streamlit's router then knows each page even on the very first
    # visit to a fresh server (before st.navigation has run once), and never shows "Page not found".
    pages = [
        st.Page("pages/start.py", title="Start here", icon=":material/home:", default=True),
        st.Page("pages/live_practice.py", title="Live practice", icon=":material/videocam:"),
        st.Page("pages/photo_quiz.py", title="Photo quiz", icon=":material/photo_library:"),
        st.Page("pages/mirror_practice.py", title="Mirror practice", icon=":material/face:"),
        st.Page("pages/watch.py", title="Watch", icon=":material/movie:"),
        st.Page("pages/journal.py", title="Journal", icon=":material/menu_book:"),
        st.Page("pages/help.py", title="Help", icon=":material/help:"),
    ]
    # At the top on a desk (the page keeps its whole width); on a phone Streamlit turns it into the menu
    # behind the Menu button, which closes by itself once a page is chosen.
    page = st.navigation(pages, position="top")
    if ui.unlocked():
        page.run()
