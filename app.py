"""Xface: the Streamlit entry point. Navigation and the passcode gate, nothing else."""

import streamlit as st

from xface import ui

st.set_page_config(page_title="Xface", page_icon="🙂", layout="wide")

# URL paths equal the file names: Streamlit's router then knows each page even on the very first
# visit to a fresh server (before st.navigation has run once), and never shows "Page not found".
pages = [
    st.Page("pages/live_practice.py", title="Live practice", icon=":material/videocam:", default=True),
    st.Page("pages/photo_quiz.py", title="Photo quiz", icon=":material/photo_library:"),
    st.Page("pages/mirror_practice.py", title="Mirror practice", icon=":material/face:"),
    st.Page("pages/journal.py", title="Journal", icon=":material/menu_book:"),
    st.Page("pages/help.py", title="Help", icon=":material/help:"),
]
page = st.navigation(pages)
if ui.unlocked():
    page.run()
