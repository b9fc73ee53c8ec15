"""Start here: what Xface is, what you can do with it, how far to trust it, and privacy in one line.

The first page a person sees, so it is short. The honest limit comes before any label is shown:
the people this is for asked for words they can act on, not a verdict about someone's inside.
"""

from __future__ import annotations

import streamlit as st

from xface.app import ui
from xface.teach.explain import accuracy_statement

ui.enter_page()

st.title("Start here")
st.markdown(
    "Xface helps you practise reading faces. It looks at a face and says which expression it shows most: "
    "**angry, disgusted, afraid, happy, sad, surprised** or **neutral**. Then it tells you in plain words "
    "what the face is doing and what that often means."
)

st.subheader("What you can do")
st.markdown(
    """
- **Live practice**: turn on your webcam, or read the faces of a video call on your screen. Each face gets a box
  and a word, with a short note on what it may mean.
- **Photo quiz**: guess the expression on faces in photos, then see the answer and why.
- **Mirror practice**: make a face yourself and see if Xface reads it the way you meant.
- **Watch**: read the faces in a video clip, such as a film scene or a recorded talk, and guess them at moments
  Xface picks.
- **Journal**: note how you feel, and see your practice and your moods over days and weeks.

Pick a page in the menu at the top. On a phone, open it with the **Menu** button.
"""
)
st.markdown("New here? Begin with the quiz. It needs no camera: you guess the faces that come with Xface.")
st.page_link("pages/photo_quiz.py", label="Begin with the photo quiz", icon=":material/arrow_forward:")

st.subheader("How far to trust it")
st.markdown(
    "Xface reads what most people would see in a face. It cannot see what someone feels inside. "
    f"{accuracy_statement()} Asking the person is often the kindest way to check."
)

st.subheader("Your privacy")
st.markdown(
    "Everything stays on this computer. No pictures are kept unless you ask, and your journal is one file "
    "you can save or delete."
)
