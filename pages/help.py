"""Help: what Xface can and cannot tell, how each page works, privacy, and camera troubleshooting.

Plain, short sentences, because the people this is for asked for words they can act on; the honest
limits come first, before the how-to, so nobody mistakes a label for a fact about someone's inside.
"""

from __future__ import annotations

import streamlit as st

from xface.app import ui
from xface.teach.explain import ACCURACY_MEASURED_ON, accuracy_statement

ui.enter_page()

st.title("Help")
st.markdown(
    "Xface helps you practise reading faces. It looks at a face and says which of seven expressions it "
    "looks most like: **angry, disgusted, afraid, happy, sad, surprised** or **neutral**. "
    "Then it explains what the face is doing, what that often means, and what you could say."
)

st.header("What Xface can and cannot tell you")
st.markdown(
    f"""
- **A face is not a feeling.** Xface reads the *outside* of a face: brows, eyes, mouth. It cannot see what a
  person feels inside. A frown can mean anger, worry, focus, or a headache.
- **People hide and mask.** Many people smile when they are sad, or keep a still face when they are upset.
  Autistic people, and many others, may show feelings differently. Xface cannot tell.
- **Context and culture matter.** The same face means different things at a funeral and at a party, and in
  different families and cultures. What just happened, and what the person says, often tell you more.
- **The model is often wrong.** {accuracy_statement()} It is less sure with poor light, glasses, turned heads, beards,
  or faces unlike the ones it learned from. (Measured on {ACCURACY_MEASURED_ON}.)
- **It says when it is unsure.** "Looks happy" means at least 60 % sure. "Might be happy" means less sure.
  "Not sure: sad or neutral" means it can't decide between two. Trust these words, not only the top label.
- **Use it as a hint, then check.** The kindest check is often a question: *"You look a bit down. Are you OK?"*
"""
)

st.header("Your privacy")
st.markdown(
    """
- **Nothing leaves this computer.** The camera picture goes from your browser to Xface running on this same
  computer, and the model runs here. No cloud service is used and nothing is sent to anyone.
- **No pictures are stored** unless you ask. Live practice never saves pictures: when you record, it saves only
  which expression was seen, once a second, as numbers. The "Why?" picture stays in memory only, unless you
  turn on **Allow saving face pictures** there and press **Save this picture**.
- **Your journal is one file on this computer.** You can export it or delete it, all of it or one entry, on the
  Journal page, and restore an export there too. Notes are shown exactly as you wrote them.
- If Xface is opened from another computer, it asks for a passcode first.
"""
)

st.header("How to use each page")
st.subheader("Live practice")
st.markdown(
    """
1. Press **Start camera** and allow the camera when the browser asks.
2. Each face gets a box with a number (**#1**, **#2**) and a word. The box shape shows how sure the model is:
   a **solid** box is clear, **long dashes** mean likely, **short dashes** mean unsure. A **?** after the word
   also means it is not sure.
3. The cards beside the video explain each face in plain words. Labels change only when the new expression
   holds for a moment, so they do not flicker.
4. Press **Why?** on a card to freeze that face and see where the model looked (a heat map: brighter means
   more attention).
5. Press **Start recording** to save what was seen to your journal, and **Stop recording** when done. You will
   be asked how *you* felt. Naming it, even roughly, is the practice.
6. Turn on **Guess first** to hide the labels until you pick what you think each face shows. Xface asks again
   when its expression changes.
7. To read the faces of a video call, choose **Screen** under *Video source*, then the whole screen or one
   window. Tell the others in the call that you use a tool that reads faces: they should know, and may say no.
"""
)
st.subheader("Photo quiz")
st.markdown(
    "You see a face and guess the expression. Then you see the answer and an explanation. Practise with Xface's "
    "own faces in three levels (from faces almost everyone reads the same way to faces people disagree on), or "
    "upload your own photos. The quiz gives you more of the expressions you find hard. Your answers go in your "
    "journal, so you can see what gets easier."
)
st.subheader("Mirror practice")
st.markdown(
    "Press **Start camera** and rest your face for a few seconds: Xface learns how your face looks at rest. Then "
    "it asks for each expression in turn and says what to move, from what it measures on your face. Hold the "
    "expression for a second once Xface reads it clearly, or press **Skip this one**. Only the results go into "
    "your journal, never a picture."
)
st.subheader("Watch")
st.markdown(
    "Upload a video clip, or type where it is on this computer, and press **Read this clip**. Xface follows each "
    "face. Under **Guess the moment**, you guess a face at moments where its expression changes, then see how "
    "people would read it. **Timeline** shows every face's readings over the clip. Your guesses go to your "
    "journal; the clip is not saved."
)
st.subheader("Journal")
st.markdown(
    "Your check-ins (how you felt), live sessions and quiz results, over time. You can add a check-in at any "
    "time, see which expressions you mix up, export everything, or delete it."
)

st.header("Camera troubleshooting")
st.markdown(
    """
- **"Access denied" or the camera is blocked:** click the camera or lock icon next to the address bar, allow the
  camera for this page, then reload the page.
- **"Device not available":** another program is using the camera (a video call, another browser tab), or no
  camera is connected. Close the other program or plug the camera in, then press Start camera again.
- **Some laptops have a camera switch or key.** Check it is on.
- **It keeps spinning after Start camera:** the browser can't connect to Xface. On this computer that should not
  happen; try reloading. From another computer on a network, a STUN/TURN server may be needed: see
  *Connection settings* on the Live practice page.
- **"Media API not available":** the browser only allows cameras on secure pages. Open Xface as
  `http://localhost:8501` on this computer, in a recent Chrome, Edge or Firefox.
- **No face found:** face the camera, with light in front of you (not behind), about an arm's length away.
- **Labels are slow:** the model runs on this computer's processor. Close heavy programs; one face is faster
  than many.
"""
)

st.header("Where to get support")
st.markdown(
    "Xface is a practice tool, not a diagnosis or therapy. If reading feelings, yours or other people's, is "
    "causing you distress, a doctor, psychologist or a local autism or mental-health organisation can help."
)
