"""Xface: the Streamlit entry point. Navigation and the passcode gate, nothing else."""

import streamlit as st

from xface import ui

st.set_page_config(page_title="Xface", page_icon="🙂", layout="wide")

pages = [
    st.Page("pages/live_practice.py", title="Live practice", icon="🎥", url_path="live", default=True),
    st.Page("pages/photo_quiz.py", title="Photo quiz", icon="🖼️", url_path="quiz"),
    st.Page("pages/journal.py", title="Journal", icon="📓", url_path="journal"),
    st.Page("pages/help.py", title="Help", icon="❓", url_path="help"),
]
page = st.navigation(pages)
if ui.unlocked():
    page.run()
