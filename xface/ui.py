"""The thin Streamlit layer: cached resources and the passcode gate. Pages import from here.

This is the only module in `xface` that imports Streamlit.
"""

from __future__ import annotations

import hmac
import os
import re

import streamlit as st

from xface.journal import Journal, JournalError

LOCAL_ADDRESSES = {"localhost", "127.0.0.1", "::1"}
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:&])")


@st.cache_resource(show_spinner="Loading the expression model…")
def analyzer():
    """One Analyzer per server process: the model loads once and is shared by every page."""
    from xface.live import APP_TORCH_THREADS
    from xface.pipeline import Analyzer

    return Analyzer(threads=APP_TORCH_THREADS)


def journal() -> Journal | None:
    """The journal for this browser session, or None after showing why it can't be opened.

    The passcode gate is checked here too, at the only door to journal data, so a page reached
    any way at all (even without the navigation in app.py) shows nothing private while locked.
    """
    if not unlocked():
        st.stop()
    if "journal" not in st.session_state:
        try:
            st.session_state.journal = Journal()
        except JournalError as error:
            st.error(f"The journal can't be opened: {error}")
            return None
    return st.session_state.journal


def escape_markdown(text: object) -> str:
    """Text that Streamlit's Markdown shows literally: a file name or note can't format, link or embed anything."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text))


def served_beyond_localhost() -> bool:
    """True when other computers can reach this server (an empty address means every interface)."""
    return (st.get_option("server.address") or "") not in LOCAL_ADDRESSES


def configured_passcode() -> str | None:
    if os.environ.get("XFACE_PASSCODE"):
        return os.environ["XFACE_PASSCODE"]
    try:
        return st.secrets.get("passcode") or None
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return None


def unlocked() -> bool:
    """On localhost: always. Beyond it: only after the right passcode; without one set, never."""
    if not served_beyond_localhost() or st.session_state.get("unlocked"):
        return True
    expected = configured_passcode()
    st.title("Xface")
    if expected is None:
        st.error(
            "Xface is being served beyond this computer, but no passcode is set. Journal data stays "
            "hidden. Set XFACE_PASSCODE (or `passcode` in .streamlit/secrets.toml) and restart."
        )
        return False
    given = st.text_input("Passcode", type="password", help="Ask the person who runs this Xface.")
    if given and hmac.compare_digest(given.encode(), expected.encode()):
        st.session_state.unlocked = True
        st.rerun()
    elif given:
        st.error("That passcode is not right.")
    return False
